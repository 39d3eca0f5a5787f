//! `loa check` over 1,000 posts, and rendering them for both platforms: the officer's "is my
//! folder right?" and the work a full rescan does.
//!
//! The posts are the five samples and the render fixtures (long posts, lists, quotes, emoji,
//! images) copied under 1,000 names, about 3 MB of Vietnamese Markdown with pictures.
//!
//! Run: `cargo bench --bench check_render`. Prints the best of five runs of each; nothing is
//! asserted here: see BENCHMARKS.md.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const POSTS: usize = 1_000;

fn folder(dir: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = Vec::new();
    for src in ["posts", "tests/fixtures/render"] {
        for entry in std::fs::read_dir(root.join(src)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "md") {
                sources.push(std::fs::read(&path).unwrap());
            }
        }
    }
    // The pictures the samples and fixtures point at.
    copy_dir(&root.join("posts/images"), &dir.join("images"));
    copy_dir(
        &root.join("tests/fixtures/render/images"),
        &dir.join("images"),
    );
    for i in 0..POSTS {
        std::fs::write(
            dir.join(format!("{i:04}-bai.md")),
            &sources[i % sources.len()],
        )
        .unwrap();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    let Ok(entries) = std::fs::read_dir(from) else {
        return;
    };
    std::fs::create_dir_all(to).unwrap();
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
}

fn best(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let began = Instant::now();
            f();
            began.elapsed()
        })
        .min()
        .unwrap()
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let posts = dir.path().join("posts");
    std::fs::create_dir_all(&posts).unwrap();
    folder(&posts);
    let bytes: u64 = std::fs::read_dir(&posts)
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config_path = root.join("config/loa.toml");

    // The binary as the officer runs it (the fixtures have warnings; errors would exit 1).
    let check = best(5, || {
        let out = Command::new(env!("CARGO_BIN_EXE_loa"))
            .arg("--config")
            .arg(&config_path)
            .arg("check")
            .arg(&posts)
            .output()
            .unwrap();
        assert!(out.status.code().is_some(), "check ran");
    });

    // Reading, validating and rendering for both platforms, in process.
    let mut config = loa::config::Config::from_file(&config_path).unwrap();
    config.posts_dir = posts.clone();
    let files = loa::post::discover::find_posts(&posts);
    let mut rendered = 0;
    let render = best(5, || {
        rendered = 0;
        for file in &files {
            let loaded = loa::post::load(file, &config);
            if let Some(post) = loaded.post {
                let fb = loa::render::facebook::render(&post);
                let zalo = loa::render::zalo::render(&post, &config);
                std::hint::black_box((fb, zalo));
                rendered += 1;
            }
        }
    });
    println!(
        "{} posts, {:.1} MB of Markdown; {rendered} without errors",
        files.len(),
        bytes as f64 / 1e6
    );
    println!("| what | best of 5 |");
    println!("|---|---|");
    println!(
        "| `loa check DIR` (the release binary) | {:.3} s |",
        check.as_secs_f64()
    );
    println!(
        "| load + validate + render for Facebook and Zalo, in process | {:.3} s |",
        render.as_secs_f64()
    );
}
