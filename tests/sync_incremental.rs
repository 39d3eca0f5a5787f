//! A file event reads only the files it names; the periodic rescan parses only files whose text
//! changed. Both must leave the store exactly as reading and parsing every file would: random
//! sequences of file operations are applied to one folder, and after each, three stores are
//! synced (the event's paths, a rescan of changed files, every file) and compared.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use loa::config::Config;
use loa::engine::sync::{Scope, sync_scope};
use loa::store::{Delivery, PostRecord, Store};
use proptest::prelude::*;

/// Paths a post may take: the top, a subfolder, a hidden folder (never a post), and a file that
/// is not a post.
const PLACES: &[&str] = &[
    "a.md",
    "b.md",
    "c.md",
    "sub/d.md",
    "sub/e.md",
    ".hidden/f.md",
    "g.md.txt",
];

/// Texts, few enough that copies happen: valid now, valid later, a draft, a slotted post, an
/// invalid one.
const TEXTS: &[&str] = &[
    "---\ntitle: \"Một\"\npublish_at: now\n---\nNội dung một.\n",
    "---\ntitle: \"Hai\"\npublish_at: 2030-01-02 08:00\n---\nNội dung hai.\n",
    "---\ntitle: \"Ba\"\ndraft: true\n---\nNháp.\n",
    "---\ntitle: \"Bốn\"\n---\nVào lịch tuần.\n",
    "---\ntitle: [không hợp lệ\n---\nHỏng.\n",
];

#[derive(Clone, Debug)]
enum Op {
    /// Write a text at a place (a new file or an edit).
    Write(usize, usize),
    /// Delete what is at a place.
    Delete(usize),
    /// Rename a place to another (a move, or a rename to or from a name that is not a post).
    Rename(usize, usize),
    /// A file written outside the folder, then renamed in.
    RenameIn(usize, usize),
    /// A file renamed out of the folder.
    RenameOut(usize),
    /// The subfolder renamed (and back again next time).
    RenameFolder,
}

fn op() -> impl Strategy<Value = Op> {
    let place = 0..PLACES.len();
    let text = 0..TEXTS.len();
    prop_oneof![
        4 => (place.clone(), text.clone()).prop_map(|(p, t)| Op::Write(p, t)),
        2 => place.clone().prop_map(Op::Delete),
        2 => (place.clone(), place.clone()).prop_map(|(a, b)| Op::Rename(a, b)),
        1 => (place.clone(), text).prop_map(|(p, t)| Op::RenameIn(p, t)),
        1 => place.prop_map(Op::RenameOut),
        1 => Just(Op::RenameFolder),
    ]
}

/// Applies `op` under `root/posts`; returns the paths a watcher names for it.
fn perform(root: &Path, op: &Op) -> Vec<PathBuf> {
    let posts = root.join("posts");
    let at = |i: usize| posts.join(PLACES[i]);
    let outside = root.join("outside.md");
    let parent = |p: &Path| std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    match *op {
        Op::Write(p, t) => {
            parent(&at(p));
            std::fs::write(at(p), TEXTS[t]).unwrap();
            vec![at(p)]
        }
        Op::Delete(p) => {
            let _ = std::fs::remove_file(at(p));
            vec![at(p)]
        }
        Op::Rename(a, b) => {
            if a == b || !at(a).is_file() {
                return Vec::new();
            }
            parent(&at(b));
            std::fs::rename(at(a), at(b)).unwrap();
            vec![at(a), at(b)]
        }
        Op::RenameIn(p, t) => {
            std::fs::write(&outside, TEXTS[t]).unwrap();
            parent(&at(p));
            std::fs::rename(&outside, at(p)).unwrap();
            vec![at(p)]
        }
        Op::RenameOut(p) => {
            if !at(p).is_file() {
                return Vec::new();
            }
            std::fs::rename(at(p), &outside).unwrap();
            vec![at(p)]
        }
        Op::RenameFolder => {
            let (sub, away) = (posts.join("sub"), posts.join("sub-moved"));
            if sub.is_dir() && !away.exists() {
                std::fs::rename(&sub, &away).unwrap();
            } else if away.is_dir() && !sub.exists() {
                std::fs::rename(&away, &sub).unwrap();
            } else {
                return Vec::new();
            }
            vec![sub, away]
        }
    }
}

fn config(root: &Path, data: &str) -> Config {
    let mut config = Config::parse(concat!(
        "language = \"en\"\n[facebook]\npage_id = \"1\"\n",
        "[zalo]\napp_id = \"2\"\ndefault_cover_url = \"https://example.org/c.jpg\"\n"
    ))
    .unwrap();
    config.posts_dir = root.join("posts");
    config.data_dir = root.join(data);
    std::fs::create_dir_all(&config.posts_dir).unwrap();
    std::fs::create_dir_all(&config.data_dir).unwrap();
    config
}

/// The store's state, without row ids (a delivery is named by its post and channel).
fn state(store: &Store) -> (Vec<PostRecord>, Vec<Delivery>) {
    let posts = store.all_posts().unwrap();
    let mut deliveries = store.deliveries().unwrap();
    for d in &mut deliveries {
        d.id = 0;
    }
    deliveries.sort_by(|a, b| (&a.post_id, a.channel).cmp(&(&b.post_id, b.channel)));
    (posts, deliveries)
}

fn run(ops: &[Op]) {
    let root = tempfile::tempdir().unwrap();
    let (by_event, by_rescan, by_all) = (
        config(root.path(), "event"),
        config(root.path(), "rescan"),
        config(root.path(), "all"),
    );
    let mut stores = [
        Store::open_in_memory().unwrap(),
        Store::open_in_memory().unwrap(),
        Store::open_in_memory().unwrap(),
    ];
    let start: DateTime<Utc> = "2026-12-01T00:00:00Z".parse().unwrap();
    for (i, op) in ops.iter().enumerate() {
        let paths = perform(root.path(), op);
        let now = start + Duration::minutes(i as i64);
        let [event, rescan, all] = &mut stores;
        sync_scope(event, &by_event, &Scope::Paths(paths), now).unwrap();
        sync_scope(rescan, &by_rescan, &Scope::Changed, now).unwrap();
        sync_scope(all, &by_all, &Scope::All, now).unwrap();
        let reference = state(all);
        assert_eq!(
            state(event),
            reference,
            "file events, after {:?}",
            &ops[..=i]
        );
        assert_eq!(state(rescan), reference, "rescan, after {:?}", &ops[..=i]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn event_syncs_and_rescans_equal_a_full_reading(ops in proptest::collection::vec(op(), 1..16)) {
        run(&ops);
    }
}

/// The cases that matter most, spelled out: a copy freed by the owner's edit, a folder moved
/// out and back, an image-less post renamed to a name that is not a post and back.
#[test]
fn copies_folders_and_renames() {
    run(&[
        Op::Write(0, 0),
        Op::Write(1, 0),
        Op::Write(0, 1),
        Op::Write(3, 3),
        Op::Write(4, 3),
        Op::RenameFolder,
        Op::Write(2, 3),
        Op::RenameFolder,
        Op::Rename(2, 6),
        Op::Rename(6, 2),
        Op::RenameOut(1),
        Op::RenameIn(1, 0),
        Op::Delete(0),
    ]);
}

/// The texts are what they claim: the valid ones are valid, so copies and deliveries happen.
#[test]
fn the_texts_make_posts_with_deliveries() {
    let root = tempfile::tempdir().unwrap();
    let config = config(root.path(), "data");
    let mut store = Store::open_in_memory().unwrap();
    for (i, text) in TEXTS.iter().enumerate() {
        std::fs::write(config.posts_dir.join(format!("{i}.md")), text).unwrap();
    }
    std::fs::write(config.posts_dir.join("copy.md"), TEXTS[0]).unwrap();
    let now = "2026-12-01T00:00:00Z".parse().unwrap();
    let report = sync_scope(&mut store, &config, &Scope::All, now).unwrap();
    assert_eq!(report.invalid, ["4.md", "copy.md"]);
    // Two channels each for the now, dated and slotted posts; none for the draft.
    assert_eq!(store.deliveries().unwrap().len(), 6);
}

/// Two copies of one text: the first seen owns it. When the owner is edited away, the copy is
/// free in the same sync (it used to stay held back until the next one).
#[test]
fn an_edit_that_ends_a_copy_frees_it_in_the_same_sync() {
    let root = tempfile::tempdir().unwrap();
    let config = config(root.path(), "data");
    let mut store = Store::open_in_memory().unwrap();
    let t0: DateTime<Utc> = "2026-12-01T00:00:00Z".parse().unwrap();
    std::fs::write(config.posts_dir.join("b.md"), TEXTS[1]).unwrap();
    loa::engine::sync::sync(&mut store, &config, t0).unwrap();
    std::fs::write(config.posts_dir.join("a.md"), TEXTS[1]).unwrap();
    let report = loa::engine::sync::sync(&mut store, &config, t0 + Duration::minutes(1)).unwrap();
    assert_eq!(report.invalid, ["a.md"], "the later copy is held back");
    std::fs::write(config.posts_dir.join("b.md"), TEXTS[0]).unwrap();
    let report = loa::engine::sync::sync(&mut store, &config, t0 + Duration::minutes(2)).unwrap();
    assert!(report.invalid.is_empty(), "{report:?}");
    let a = store
        .all_posts()
        .unwrap()
        .into_iter()
        .find(|p| p.path == "a.md")
        .unwrap();
    assert_eq!(a.problems, None);
}
