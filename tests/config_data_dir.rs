//! A data folder inside the posts folder is refused by `loa check` and by `loa run`, with the
//! line and the fix: loa's database, tokens and lock must never land among the officer's posts.

use std::process::Command;

fn loa(dir: &std::path::Path, args: &[&str]) -> (String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_loa"))
        .arg("--config")
        .arg(dir.join("loa.toml"))
        .args(args)
        .env_remove("LOA_CONFIG")
        .env("LOA_LOG", "warn")
        .output()
        .expect("loa runs");
    (
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn config(dir: &std::path::Path, posts: &str, data: &str) {
    std::fs::create_dir_all(dir.join("posts")).unwrap();
    std::fs::write(
        dir.join("loa.toml"),
        format!(
            "language = \"vi\"\nposts_dir = \"{posts}\"\ndata_dir = \"{data}\"\n[facebook]\npage_id = \"123456789012345\"\n"
        ),
    )
    .unwrap();
}

#[test]
fn a_data_folder_inside_the_posts_folder_is_refused_by_check_and_run() {
    for data in ["posts/data", "posts", "./posts/../posts/.loa"] {
        let dir = tempfile::tempdir().unwrap();
        config(dir.path(), "posts", data);
        for args in [&["check"][..], &["run", "--once"][..]] {
            let (err, code) = loa(dir.path(), args);
            assert_eq!(code, 2, "{args:?} with data_dir {data}: {err}");
            assert!(err.contains("loa.toml:3:1: "), "{err}");
            assert!(err.contains("nằm trong posts_dir"), "{err}");
            assert!(err.contains("ngoài posts_dir"), "the fix: {err}");
        }
        // Nothing of loa's was made among the posts.
        let made: Vec<_> = std::fs::read_dir(dir.path().join("posts"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(made.is_empty(), "{made:?}");
    }
}

#[test]
fn a_data_folder_beside_the_posts_folder_is_fine() {
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), "posts", "data");
    let (err, code) = loa(dir.path(), &["check"]);
    assert_eq!(code, 0, "{err}");
    // A name that only starts like the posts folder is not inside it.
    config(dir.path(), "posts", "posts-data");
    let (err, code) = loa(dir.path(), &["check"]);
    assert_eq!(code, 0, "{err}");
}
