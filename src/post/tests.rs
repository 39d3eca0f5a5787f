//! Reading whole posts: every problem found, with the right line, and nothing else.

use super::*;

/// A config with both channels on (shared with the registry's tests).
pub(crate) fn config() -> Config {
    Config::parse(
        "language = \"en\"\n[facebook]\npage_id = \"1\"\n[zalo]\napp_id = \"2\"\nauthor = \"UBND xã\"\ndefault_cover_url = \"https://x.gov.vn/c.jpg\"\n[media]\npublic_base_url = \"https://x.gov.vn/m/\"\n",
    )
    .unwrap()
}

fn read(text: &str) -> Loaded {
    load_bytes(Path::new("bai.md"), text.as_bytes(), &config())
}

/// (line, column, severity) of every problem.
pub(crate) fn places(loaded: &Loaded) -> Vec<(usize, usize, String)> {
    loaded
        .problems
        .iter()
        .map(|p| {
            (
                p.diagnostic.line,
                p.diagnostic.col,
                format!("{:?}", p.diagnostic.severity),
            )
        })
        .collect()
}

#[test]
fn a_good_post_reads_whole() {
    let l = read(
        "---\ntitle: \"Chuyển đổi số là gì?\"\npublish_at: 01/12/2026 07:00\nchannels: [zalo]\ntags: [\"#chinh-quyen-so\"]\nzalo: { description: \"Mô tả ngắn\", broadcast: true }\n---\nXin chào **bà con**.\n",
    );
    assert!(l.problems.is_empty(), "{:#?}", l.problems);
    let p = l.post.unwrap();
    assert_eq!(p.title, "Chuyển đổi số là gì?");
    assert_eq!(p.channels, vec![Channel::Zalo]);
    assert_eq!(p.tags, vec!["chinh-quyen-so"]);
    assert_eq!(p.zalo.broadcast, Some(true));
    assert!(
        matches!(p.publish_at, Some(PublishAt::At(t)) if t.to_rfc3339() == "2026-12-01T07:00:00+07:00")
    );
}

#[test]
fn all_problems_come_at_once_in_line_order() {
    let l = read(
        "---\ntitle: \"\"\npublish_at: 13/13/2026 07:00\nchannels: [facebook, tiktok]\nfacebook: { link: \"javascript:alert(1)\" }\n---\n<div>x</div>\n\n![](nowhere.png)\n",
    );
    let p = places(&l);
    assert_eq!(
        p,
        vec![
            (2, 8, "Error".into()),
            (3, 13, "Error".into()),
            (4, 11, "Error".into()),
            (5, 19, "Error".into()),
            (7, 1, "Warning".into()),
            (9, 1, "Error".into()),
        ],
        "{:#?}",
        l.problems
    );
    assert!(l.post.is_none());
}

#[test]
fn a_local_image_on_zalo_needs_a_public_url() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.png"), b"\x89PNG\r\n\x1a\n0000").unwrap();
    let path = dir.path().join("bai.md");
    let text = "---\ntitle: x\ncover: a.png\n---\nBody\n";
    let mut cfg = config();
    cfg.posts_dir = dir.path().to_path_buf();
    let ok = load_bytes(&path, text.as_bytes(), &cfg);
    assert!(ok.problems.is_empty(), "{:#?}", ok.problems);
    assert_eq!(
        ok.post.unwrap().cover.unwrap().public_url.as_deref(),
        Some("https://x.gov.vn/m/a.png")
    );

    cfg.media.public_base_url = None;
    let l = load_bytes(&path, text.as_bytes(), &cfg);
    assert_eq!(places(&l), vec![(3, 8, "Error".into())]);
    assert!(
        l.problems[0]
            .diagnostic
            .fix
            .as_deref()
            .unwrap()
            .contains("public_base_url")
    );

    // Facebook alone uploads the file and needs no URL.
    let fb_only = "---\ntitle: x\ncover: a.png\nchannels: [facebook]\n---\nBody\n";
    assert!(
        load_bytes(&path, fb_only.as_bytes(), &cfg)
            .problems
            .is_empty()
    );
}

#[test]
fn disabled_channels_warn_and_drafts_read() {
    let mut cfg = config();
    cfg.zalo.enabled = false;
    let l = load_bytes(
        Path::new("b.md"),
        b"---\ntitle: x\nchannels: [zalo, facebook]\ndraft: true\n---\n",
        &cfg,
    );
    assert_eq!(places(&l), vec![(3, 11, "Warning".into())]);
    let p = l.post.unwrap();
    assert!(p.draft);
    assert_eq!(p.channels, vec![Channel::Facebook]);
}

#[test]
fn check_lines_survive_windows_line_endings() {
    let l = read("\u{feff}---\r\ntitle: x\r\nchannels: [myspace]\r\n---\r\nBody\r\n");
    assert_eq!(places(&l), vec![(3, 11, "Error".into())]);
}
