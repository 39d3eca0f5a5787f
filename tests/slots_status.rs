//! One post per slot per channel, as `loa status` shows it: a slot taken by a dated post (at its
//! time or within the hour) is not given to a slotted post, and each channel's line shows that
//! channel's own time.

use std::path::Path;

use assert_cmd::Command;
use chrono::{DateTime, Duration, Utc};
use loa::config::Slot;

const TZ: chrono_tz::Tz = chrono_tz::Asia::Ho_Chi_Minh;

fn post(dir: &Path, name: &str, front: &str) {
    std::fs::write(
        dir.join(name),
        format!("---\ntitle: \"{name}\"\n{front}---\nBà con lưu ý.\n"),
    )
    .unwrap();
}

#[test]
fn a_dated_post_within_the_hour_of_a_slot_takes_it_on_its_channel() {
    one_post_per_slot(false);
}

#[test]
fn a_dated_post_added_later_moves_the_slotted_post_that_had_its_slot() {
    one_post_per_slot(true);
}

/// Four slotted posts and a Facebook-only post dated half an hour after the third slot, there
/// from the start or added after the slots were given.
fn one_post_per_slot(dated_later: bool) {
    let dir = tempfile::tempdir().unwrap();
    let posts = dir.path().join("posts");
    std::fs::create_dir(&posts).unwrap();
    let plan = [
        Slot::parse("Tue 07:00").unwrap(),
        Slot::parse("Thu 07:00").unwrap(),
    ];
    // The third slot from tomorrow on; a Facebook-only post dated half an hour after it.
    let third = loa::engine::slots::upcoming(&plan, TZ, Utc::now() + Duration::days(1))
        .nth(2)
        .unwrap();
    let dated = (third + Duration::minutes(30)).with_timezone(&TZ);
    for name in ["a.md", "b.md", "c.md", "d.md"] {
        post(&posts, name, "");
    }
    let write_dated = || {
        post(
            &posts,
            "e.md",
            &format!(
                "publish_at: {}\nchannels: [facebook]\n",
                dated.format("%d/%m/%Y %H:%M")
            ),
        )
    };
    if !dated_later {
        write_dated();
    }
    let config = dir.path().join("loa.toml");
    std::fs::write(
        &config,
        "timezone = \"Asia/Ho_Chi_Minh\"\nposts_dir = \"posts\"\ndata_dir = \"data\"\n\
         language = \"en\"\n[schedule]\nslots = [\"Tue 07:00\", \"Thu 07:00\"]\n\
         [facebook]\nenabled = true\npage_id = \"123456789012345\"\n\
         [zalo]\nenabled = true\napp_id = \"1234567890\"\ndefault_cover_url = \"https://example.org/cover.jpg\"\n",
    )
    .unwrap();
    let status = |json: bool| {
        let mut cmd = Command::cargo_bin("loa").unwrap();
        cmd.arg("--config").arg(&config).arg("status");
        if json {
            cmd.arg("--json");
        }
        let out = cmd.env_remove("LOA_CONFIG").output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    if dated_later {
        // The slots are given (c.md has the third on both channels), then the dated post comes.
        status(false);
        write_dated();
    }
    let doc: serde_json::Value = serde_json::from_str(&status(true)).unwrap();
    for channel in ["facebook", "zalo"] {
        let mut times: Vec<DateTime<Utc>> = doc["posts"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["deliveries"].as_array().unwrap().iter())
            .filter(|d| d["channel"] == channel)
            .map(|d| {
                DateTime::parse_from_rfc3339(
                    d["due_at"].as_str().expect("each delivery has due_at"),
                )
                .unwrap()
                .with_timezone(&Utc)
            })
            .collect();
        times.sort();
        for pair in times.windows(2) {
            assert!(
                pair[1] - pair[0] >= Duration::hours(1),
                "two {channel} posts within the hour: {pair:?}\n{doc:#}"
            );
        }
    }
    // c.md takes the third slot on Zalo, but on Facebook the dated post has it: the text shows
    // each channel's own day.
    let text = status(false);
    let c = text
        .split("\n\n")
        .find(|block| block.contains("c.md"))
        .unwrap_or_else(|| panic!("c.md in status:\n{text}"));
    let third_local = third
        .with_timezone(&TZ)
        .format("%d/%m/%Y %H:%M")
        .to_string();
    let line = |channel: &str| {
        c.lines()
            .find(|l| l.trim_start().starts_with(channel))
            .unwrap_or_else(|| panic!("{channel} line in:\n{c}"))
            .to_string()
    };
    assert!(line("zalo").contains(&third_local), "{c}");
    assert!(!line("facebook").contains(&third_local), "{c}");
}

#[test]
fn a_slotted_post_the_platform_holds_is_moved_there_too() {
    use loa::channel::Channel;
    use loa::store::{PostRecord, Store, UpdateState};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loa.toml");
    std::fs::write(
        &path,
        "timezone = \"Asia/Ho_Chi_Minh\"\nposts_dir = \"posts\"\ndata_dir = \"data\"\n\
         [schedule]\nslots = [\"Tue 07:00\", \"Thu 07:00\"]\n",
    )
    .unwrap();
    let config = loa::config::Config::from_file(&path).unwrap();
    let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    let now = at("2026-12-06T00:00:00Z");
    let tuesday = at("2026-12-08T00:00:00Z"); // Tue 08/12 07:00 in Vietnam
    let record = |id: &str| PostRecord {
        id: id.into(),
        path: format!("{id}.md"),
        content_hash: format!("h-{id}"),
        content: "---\ntitle: x\n---\n".into(),
        title: "x".into(),
        meta: serde_json::json!({"channels": ["facebook"]}),
        problems: None,
        present: true,
        first_seen_at: now,
    };
    let mut s = Store::open_in_memory().unwrap();
    s.insert_post(&record("a"), now).unwrap();
    s.insert_post(&record("e"), now).unwrap();
    let slotted = s
        .insert_delivery("a", Channel::Facebook, Some(tuesday), true)
        .unwrap();
    let mut d = s.delivery(slotted).unwrap().unwrap();
    d.platform_scheduled = true;
    d.remote_id = Some("1_2".into());
    s.save_delivery(&d).unwrap();
    // Dated Tuesday 07:45: within the hour of the slot.
    s.insert_delivery(
        "e",
        Channel::Facebook,
        Some(tuesday + Duration::minutes(45)),
        false,
    )
    .unwrap();
    s.in_transaction(|s| loa::engine::bookkeeping(s, &config, now))
        .unwrap();
    let d = s.delivery(slotted).unwrap().unwrap();
    assert_eq!(
        d.due_at,
        Some(at("2026-12-10T00:00:00Z")),
        "Thursday's slot: {d:?}"
    );
    assert_eq!(
        d.update_state,
        Some(UpdateState::Pending),
        "Facebook is told the new time"
    );
}
