//! Issue 12, point 7: bad input, live. `loa run` (the built binary) publishes good posts to the
//! sandbox while the whole broken-post corpus (tests/fixtures/bad/) and the breakages only a
//! live folder has are dropped into the watched folder: a directory named `x.md`, a file
//! removed while being read, a post written slowly in pieces, a symlink loop, a 6 MB file, a
//! name that is not UTF-8. The good posts go out once on each platform, each bad file is in
//! `loa status` (text and JSON) with its problem, the service stays up and stops cleanly on
//! SIGTERM, and not a byte or an mtime under posts/ changes, nor does a file appear there.

#![cfg(unix)]

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant, SystemTime};

use chrono::Utc;
use common::served::{World, text};
use loa::engine::Clock;
use loa::sandbox::{self, Faults, Sandbox};
use serde_json::Value;

/// What a path under posts/ is: a file's bytes, a link's target, or a folder; with its mtime.
#[derive(Debug, PartialEq)]
enum Entry {
    File(Vec<u8>, SystemTime),
    Link(PathBuf),
    Dir(SystemTime),
}

/// Every path under `dir`, not following links.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Entry> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let entry = if meta.file_type().is_symlink() {
                Entry::Link(std::fs::read_link(&path).unwrap())
            } else if meta.is_dir() {
                stack.push(path.clone());
                Entry::Dir(meta.modified().unwrap())
            } else {
                Entry::File(std::fs::read(&path).unwrap(), meta.modified().unwrap())
            };
            out.insert(path, entry);
        }
    }
    out
}

fn alive(run: &mut Child) {
    assert!(
        run.try_wait().unwrap().is_none(),
        "loa run stopped: {:?}",
        run.try_wait()
    );
}

fn good_body(n: usize) -> String {
    format!("Thông báo số {n} của UBND xã: bà con lưu ý lịch tiêm chủng.")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_files_never_stop_the_service_nor_the_good_posts() {
    let sb = Sandbox::new(Clock::compressed(Utc::now(), 600.0), Faults::default());
    let (addr, _server) = sandbox::serve(sb.clone(), 0).await.unwrap();
    let mut w = World::new(&format!("http://{addr}"));
    let posts = w.root.join("posts");
    let good = |w: &World, n: usize| {
        w.post(
            &format!("good-{n}.md"),
            &format!("Tin tốt {n}"),
            "facebook, zalo",
            &good_body(n),
        )
    };
    good(&w, 1);
    good(&w, 2);
    let mut run = w.spawn_run(&[("LOA_FACEBOOK_PAGE_TOKEN", sandbox::PAGE_TOKEN)]);
    std::thread::sleep(Duration::from_millis(300));
    alive(&mut run);

    // A post written slowly, in pieces, while everything else lands.
    let slow_path = posts.join("slow.md");
    let slow = std::thread::spawn(move || {
        use std::io::Write;
        let mut f = std::fs::File::create(&slow_path).unwrap();
        for piece in [
            "---\ntitle: \"Tin viết ",
            "chậm\"\nchannels: [facebook, zalo]\n",
            "publish_at: now\n---\nNội dung ",
            "viết từng phần.\n",
        ] {
            f.write_all(piece.as_bytes()).unwrap();
            f.flush().unwrap();
            std::thread::sleep(Duration::from_millis(400));
        }
    });

    // The corpus, as the officer's file manager would copy it.
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad");
    let mut bad: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(&corpus).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            std::fs::create_dir_all(posts.join(&name)).unwrap();
            for image in std::fs::read_dir(&path).unwrap() {
                let image = image.unwrap().path();
                std::fs::copy(&image, posts.join(&name).join(image.file_name().unwrap())).unwrap();
            }
        } else {
            std::fs::copy(&path, posts.join(&name)).unwrap();
            bad.push(name);
        }
    }
    alive(&mut run);
    // What only a live folder has.
    std::fs::write(posts.join("huge.md"), vec![b'a'; 6 * 1024 * 1024]).unwrap();
    bad.push("huge.md".into());
    std::fs::create_dir(posts.join("x.md")).unwrap();
    std::os::unix::fs::symlink("loop.md", posts.join("loop.md")).unwrap();
    std::os::unix::fs::symlink("ping.md", posts.join("pong.md")).unwrap();
    std::os::unix::fs::symlink("pong.md", posts.join("ping.md")).unwrap();
    let non_utf8 = posts.join(OsStr::from_bytes(b"tin-\xff-moi.md"));
    std::fs::copy(corpus.join("missing-title.md"), &non_utf8).unwrap();
    // Links name no content of their own; the lossy form is how loa shows a non-UTF-8 name.
    let unreadable = ["loop.md", "ping.md", "pong.md"];
    bad.extend(unreadable.iter().map(|s| s.to_string()));
    bad.push("tin-\u{FFFD}-moi.md".into());
    for round in 0..5 {
        let vanish = posts.join(format!("vanish-{round}.md"));
        std::fs::write(&vanish, "---\ntitle: \"Sắp xoá\"\n---\nNội dung.\n").unwrap();
        std::thread::sleep(Duration::from_millis(40 * round));
        std::fs::remove_file(&vanish).unwrap();
    }
    good(&w, 3);
    slow.join().unwrap();
    alive(&mut run);
    let before = snapshot(&posts);

    // Four good posts on two platforms, and every bad file in the status.
    let began = Instant::now();
    let status = loop {
        alive(&mut run);
        let out = w.loa("text", &["status", "--json"], &[], "");
        let status: Value = serde_json::from_slice(&out.stdout).expect("status --json");
        let posts = status["posts"].as_array().unwrap();
        let done = posts
            .iter()
            .filter(|p| {
                p["deliveries"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|d| d["state"] == "published")
                    .count()
                    == 2
            })
            .count();
        let reported = bad
            .iter()
            .filter(|b| {
                posts.iter().any(|p| {
                    p["file"].as_str().unwrap().ends_with(b.as_str()) && p["problems"].is_array()
                })
            })
            .count();
        if done == 4 && reported == bad.len() {
            break status;
        }
        assert!(
            began.elapsed() < Duration::from_secs(40),
            "{done} of 4 good posts out, {reported} of {} bad files reported:\n{status:#}",
            bad.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // Each problem names the file and the line, and says the fix where loa knows one; the
    // text status shows the same lines.
    let out = w.loa("text", &["status"], &[], "");
    let status_text = text(&out.stdout);
    for name in &bad {
        let post = status["posts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["file"].as_str().unwrap().ends_with(name.as_str()))
            .unwrap();
        let problem = post["problems"][0].as_str().unwrap();
        assert!(
            problem.starts_with(&format!("posts/{name}:")) && problem.contains(": error: "),
            "{name}: {problem}"
        );
        if !unreadable.contains(&name.as_str()) {
            assert!(problem.contains(" — fix: "), "{name}: {problem}");
        }
        assert!(status_text.contains(problem), "{name} in the text status");
    }
    // A folder named like a post is not a post.
    assert!(!status_text.contains("posts/x.md"), "{status_text}");

    // Each platform got each good post exactly once.
    let fb = sb.facebook.lock().unwrap().posts();
    let zalo = sb.zalo.lock().unwrap().articles();
    for n in 1..=3 {
        let body = good_body(n);
        assert_eq!(
            fb.iter().filter(|p| p.message.contains(&body)).count(),
            1,
            "good-{n} on Facebook"
        );
        let title = format!("Tin tốt {n}");
        assert_eq!(
            zalo.iter().filter(|a| a.title == title).count(),
            1,
            "good-{n} on Zalo"
        );
    }
    assert_eq!(
        fb.iter()
            .filter(|p| p.message.contains("Nội dung viết từng phần."))
            .count(),
        1,
        "the slowly written post, whole, once"
    );
    assert_eq!(fb.len(), 4, "nothing else on Facebook");
    assert_eq!(zalo.len(), 4, "nothing else on Zalo");

    // The service is still up; SIGTERM stops it cleanly.
    alive(&mut run);
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &run.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let stopping = Instant::now();
    let code = loop {
        if let Some(code) = run.try_wait().unwrap() {
            break code;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(10),
            "loa run did not stop"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let log = std::fs::read_to_string(w.root.join("run.log")).unwrap();
    assert!(code.success(), "{code:?}\n{log}");
    assert!(!log.contains("panicked"), "{log}");

    // Not a byte, an mtime or a file more under posts/.
    assert_eq!(snapshot(&posts), before, "the posts folder changed");
    // And the corpus files are still the fixtures' bytes.
    for name in &bad {
        if corpus.join(name).is_file() {
            assert_eq!(
                std::fs::read(posts.join(name)).unwrap(),
                std::fs::read(corpus.join(name)).unwrap(),
                "{name}"
            );
        }
    }
}
