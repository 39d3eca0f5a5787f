//! Snapshot tests of the Facebook and Zalo renderings over the fixture set in
//! `tests/fixtures/render/`, plus the invariants every rendering must keep.

mod common;

use std::path::{Path, PathBuf};

use loa::post::{self, Post};
use loa::render::{facebook, zalo};

fn load(name: &str) -> Post {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/render")
        .join(name);
    let loaded = post::load(&path, &common::config());
    let errors: Vec<String> = loaded
        .problems
        .iter()
        .filter(|p| p.is_error())
        .map(ToString::to_string)
        .collect();
    assert!(errors.is_empty(), "{name} has errors: {errors:#?}");
    loaded.post.expect("a post without errors")
}

fn assert_facebook_is_plain(name: &str, message: &str) {
    for leftover in [
        "**",
        "__",
        "](",
        "<script",
        "<b>",
        "<div",
        "```",
        "javascript:",
    ] {
        assert!(
            !message.contains(leftover),
            "{name}: Facebook text contains {leftover:?}:\n{message}"
        );
    }
    // Code is shown verbatim: a `# comment` inside it is code, not a Markdown heading.
    let check_lines = name != "code-block.md";
    for line in message.lines().filter(|_| check_lines) {
        let t = line.trim_start();
        assert!(
            !t.starts_with("# ") && !t.starts_with("## ") && !t.starts_with("> "),
            "{name}: Markdown line left: {line:?}"
        );
        assert!(
            !t.starts_with("* ") && !t.starts_with("- ") && !t.starts_with("|"),
            "{name}: Markdown list/table left: {line:?}"
        );
    }
}

fn assert_zalo_html_is_allowed(name: &str, article: &zalo::Article) {
    for item in &article.body {
        if let zalo::BodyItem::Text { content } = item {
            for (tag, attrs) in common::tags(content) {
                assert!(
                    zalo::ALLOWED_TAGS.contains(&tag.as_str()),
                    "{name}: tag <{tag}> is not allowed: {content}"
                );
                if tag == "a" && !attrs.is_empty() {
                    assert!(
                        attrs.starts_with("href=\"http") || attrs.starts_with("href=\"mailto:"),
                        "{name}: odd link {attrs}"
                    );
                } else if tag != "a" {
                    assert!(attrs.is_empty(), "{name}: <{tag}> has attributes {attrs}");
                }
            }
        }
    }
}

fn rendering(name: &str) -> String {
    let config = common::config();
    let post = load(name);
    let fb = facebook::render(&post);
    assert_facebook_is_plain(name, &fb.message);
    let article = zalo::render(&post, &config);
    assert_zalo_html_is_allowed(name, &article);
    let photos: Vec<String> = fb
        .photos
        .iter()
        .map(|p| match p {
            facebook::Photo::Url(u) => u.clone(),
            facebook::Photo::File { path, .. } => {
                path.file_name().unwrap().to_string_lossy().into_owned()
            }
        })
        .collect();
    format!(
        "=== facebook message ===\n{}\n=== facebook photos ===\n{}\n=== facebook link ===\n{}\n=== zalo article ===\n{}\n",
        fb.message,
        photos.join("\n"),
        fb.link.unwrap_or_default(),
        serde_json::to_string_pretty(&article).unwrap()
    )
}

macro_rules! fixture_tests {
    ($($test:ident => $file:literal),* $(,)?) => {$(
        #[test]
        fn $test() {
            insta::assert_snapshot!(stringify!($test), rendering($file));
        }
    )*};
}

fixture_tests! {
    vietnamese => "vietnamese.md",
    vietnamese_nfd => "vietnamese-nfd.md",
    emoji => "emoji.md",
    nested_lists => "nested-lists.md",
    links => "links.md",
    table => "table.md",
    code_block => "code-block.md",
    raw_html => "raw-html.md",
    script => "script.md",
    blockquote_headings => "blockquote-headings.md",
    images => "images.md",
    long_post => "long-post.md",
    commune_plan => "ke-hoach-chuyen-doi-so-2023.md",
}

#[test]
fn nfd_and_nfc_render_identically() {
    let nfd = load("vietnamese-nfd.md");
    let raw = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/render/vietnamese-nfd.md"),
    )
    .unwrap();
    assert_ne!(
        raw,
        loa::text::nfc(&raw),
        "the fixture really is decomposed"
    );
    let fb = facebook::render(&nfd).message;
    assert_eq!(fb, loa::text::nfc(&fb), "what loa sends is NFC");
}

#[test]
fn script_never_reaches_either_platform() {
    let config = common::config();
    let post = load("script.md");
    let fb = facebook::render(&post).message;
    let article = serde_json::to_string(&zalo::render(&post, &config)).unwrap();
    for out in [&fb, &article] {
        assert!(!out.contains("<script"), "{out}");
        assert!(!out.contains("alert("), "{out}");
    }
}

#[test]
fn every_sample_post_renders_cleanly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = loa::config::Config::from_file(&root.join("config/loa.toml")).unwrap();
    let posts = post::discover::find_posts(&root.join("posts"));
    assert!(posts.len() >= 4, "the repo ships sample posts");
    for path in posts {
        let loaded = post::load(&path, &config);
        assert!(
            loaded.problems.is_empty(),
            "{}: {:#?}",
            path.display(),
            loaded.problems
        );
        let post = loaded.post.unwrap();
        let name = path.display().to_string();
        if post.goes_to(loa::channel::Channel::Facebook) {
            assert_facebook_is_plain(&name, &facebook::render(&post).message);
        }
        if post.goes_to(loa::channel::Channel::Zalo) {
            let article = zalo::render(&post, &config);
            assert_zalo_html_is_allowed(&name, &article);
            assert!(!article.cover.photo_url.is_empty());
        }
    }
}

#[test]
fn local_images_map_to_public_urls_and_upload_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = loa::config::Config::from_file(&root.join("config/loa.toml")).unwrap();
    let post = post::load(&root.join("posts/2026-12-08-wifi-nha-van-hoa.md"), &config)
        .post
        .unwrap();
    let fb = facebook::render(&post);
    assert!(
        matches!(
            &fb.photos[..],
            [facebook::Photo::File {
                content_type: "image/png",
                ..
            }]
        ),
        "{:?}",
        fb.photos
    );
    let requests = facebook::requests(&fb, &config, None);
    assert_eq!(requests.len(), 1);
    assert!(requests[0].path.ends_with("/photos"));
    let article = zalo::render(&post, &config);
    assert_eq!(
        article.cover.photo_url,
        "https://example.gov.vn/loa-media/images/wifi-nha-van-hoa.png"
    );
}
