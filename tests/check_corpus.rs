//! `loa check` against a corpus of broken posts (tests/fixtures/bad/, one kind of breakage per
//! file), Windows-style posts that must pass (tests/fixtures/windows/), the repo's own posts, and
//! bad configs.
//!
//! The corpus is copied into a temporary folder laid out like the crate:
//!
//! ```text
//! <tmp>/tests/fixtures/bad.toml
//! <tmp>/tests/fixtures/bad/…          (plus bad/huge.md, generated here: no 6 MB file in git)
//! <tmp>/posts/images/wifi-nha-van-hoa.png
//! ```
//!
//! so that every relative path means what it means in the repo: `bad/local-image-outside.md`
//! points at `../../../posts/images/wifi-nha-van-hoa.png` (a real image outside `posts_dir`), and
//! `data_dir = "../../target/test-data"` stays inside the temporary folder, where the "check
//! writes nothing" test can see it.
//!
//! Fixture recipes (the non-text ones were written with Python):
//! - `bad/non-utf8.md`: line 2 is `title: "Thông báo hành chính"` in Windows-1258 bytes
//!   (`Th\xf4ng b\xe1o h\xe0nh ch\xednh`).
//! - `bad/binary-junk.md`: `random.seed(1); bytes(0 if random.random() < 0.05 else
//!   random.randrange(1, 256) for _ in range(300))`.
//! - `bad/empty.md`: 0 bytes. `bad/images/fake.png`: a line of text.
//! - `windows/crlf-bom.md`: UTF-8 BOM + CRLF; `windows/nfd.md`: NFD text, LF, no BOM;
//!   `windows/crlf-nfd-bom.md`: all three.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

/// The expected output for the broken corpus: one row per line `loa check` must print, with the
/// temporary folder's `<tmp>/tests/fixtures/` prefix removed (everywhere in the line, so the
/// "looked for" path of a missing image reads `bad/images/…` too).
const EXPECTED: &[&str] = &[
    "bad/bad-date.md:3:13: error: publish_at `2026-13-45 07:00` is not a date and time — fix: write it as 2026-12-01 07:00, as 01/12/2026 07:00 (day/month/year) or as now",
    // The first NUL is byte 7 of line 1 (the bytes before it are not UTF-8 either; NUL wins).
    "bad/binary-junk.md:1:7: error: this is not a text file (it contains binary data) — fix: posts are Markdown text files ending in .md",
    "bad/empty.md:1:1: error: the file is empty — fix: start the post with a line `---`, then `title: \"…\"`, then `---` and the text",
    "bad/fake-image.md:3:8: error: image `images/fake.png` is not a JPEG or PNG image (it is a text file) — fix: save or export the picture as JPEG or PNG",
    "bad/huge.md:1:1: error: the file is 6.0 MB, a post can be at most 1 MB — fix: keep only the text in the .md file, and put images in an images/ folder beside it",
    "bad/invalid-yaml.md:3:7: error: the list of `tags` is not closed — fix: close the list with `]` on the same line, e.g. tags: [a, b]",
    "bad/local-image-outside.md:7:1: error: image `../../../posts/images/wifi-nha-van-hoa.png` is outside the posts folder, so it has no public address for Zalo — fix: move the image into the posts folder, e.g. bad/images/",
    "bad/long-title.md:2:8: error: the title is 400 characters; Zalo allows at most 150 — fix: shorten the title, or add a shorter one for Zalo: zalo: { title: \"…\" }",
    "bad/missing-image.md:7:1: error: image `images/khong-co.png` not found (looked for bad/images/khong-co.png) — fix: check the file name (capital letters count) and that the path is relative to the post",
    "bad/missing-title.md:1:1: error: the post has no title — fix: add a line title: \"…\" to the front matter",
    "bad/no-front-matter.md:1:1: error: the post has no front matter — fix: start the file with a line `---`, then `title: \"…\"`, then a line `---`, then the text",
    // `title: "Th` is 10 characters: the first non-UTF-8 byte (ô = 0xF4) is column 11.
    "bad/non-utf8.md:2:11: error: the file is not UTF-8 (byte 0xF4) — fix: save it as UTF-8; old Vietnamese encodings (TCVN3, VNI, Windows-1258) must be converted first, e.g. with Unikey's converter",
    "bad/tabs-in-yaml.md:4:1: error: a tab is used for indentation; YAML allows only spaces — fix: replace the tab with spaces",
    "bad/unclosed-front-matter.md:1:1: error: the front matter is never closed — fix: add a line with only `---` after the last front-matter line (title, tags, …)",
    "bad/unknown-channel.md:3:11: error: unknown channel `tiktok` — fix: the channels are: facebook, zalo",
    "bad/unknown-key.md:4:1: error: unknown key `autor` — fix: did you mean `zalo.author`? write it under zalo: zalo: { author: … }",
    "bad/us-date.md:3:13: error: `12/25/2026` has month 25: dates are day/month/year, not month/day/year — fix: write 25/12/2026 07:00",
];

/// The size of the generated `bad/huge.md`.
const HUGE_BYTES: usize = 6 * 1024 * 1024;

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> PathBuf {
    crate_dir().join("tests/fixtures")
}

fn loa() -> Command {
    let mut cmd = Command::cargo_bin("loa").expect("the loa binary");
    cmd.current_dir(crate_dir())
        .env_remove("LOA_CONFIG")
        .env_remove("LOA_LOG");
    cmd
}

/// The broken corpus, copied into a temporary folder laid out like the crate.
struct Corpus {
    _tmp: TempDir,
    /// `<tmp>/tests/fixtures`: holds bad.toml and bad/.
    root: PathBuf,
}

impl Corpus {
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("a temporary folder");
        let root = tmp.path().join("tests/fixtures");
        copy_dir(&fixtures().join("bad"), &root.join("bad"));
        fs::copy(fixtures().join("bad.toml"), root.join("bad.toml")).unwrap();
        let images = tmp.path().join("posts/images");
        fs::create_dir_all(&images).unwrap();
        fs::copy(
            crate_dir().join("posts/images/wifi-nha-van-hoa.png"),
            images.join("wifi-nha-van-hoa.png"),
        )
        .unwrap();
        fs::write(root.join("bad/huge.md"), huge_post()).unwrap();
        Self { _tmp: tmp, root }
    }

    fn config(&self) -> PathBuf {
        self.root.join("bad.toml")
    }

    fn bad_dir(&self) -> PathBuf {
        self.root.join("bad")
    }

    fn top(&self) -> &Path {
        self._tmp.path()
    }

    /// `text` with the corpus root (as loa prints it) removed.
    fn strip(&self, text: &str) -> String {
        let mut prefixes = vec![format!("{}/", self.root.display())];
        // Were the temporary folder under the working folder, loa would print it relative.
        if let Ok(rel) = self.root.strip_prefix(crate_dir()) {
            prefixes.push(format!("{}/", rel.display()));
        }
        prefixes
            .iter()
            .fold(text.to_string(), |t, p| t.replace(p.as_str(), ""))
    }

    /// Every post file of the corpus (huge.md included), sorted.
    fn posts(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = fs::read_dir(self.bad_dir())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
            .collect();
        out.sort();
        out
    }
}

/// A valid front matter followed by plain text, `HUGE_BYTES` long in all.
fn huge_post() -> Vec<u8> {
    let mut out = "---\ntitle: \"Bài viết quá dài\"\n---\n"
        .as_bytes()
        .to_vec();
    let line =
        "Bà con lưu ý lịch tiếp công dân của Ủy ban nhân dân xã trong tháng này.\n".as_bytes();
    while out.len() < HUGE_BYTES {
        out.extend_from_slice(line);
    }
    // Cut at a line end at or before the size, then pad with ASCII to the exact size.
    let end = out[..HUGE_BYTES].iter().rposition(|&b| b == b'\n').unwrap() + 1;
    out.truncate(end);
    out.resize(HUGE_BYTES - 1, b'.');
    out.push(b'\n');
    out
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The file part of a printed line: everything before `:line:col:`.
fn file_of(line: &str) -> &str {
    line.find(".md:").map_or(line, |i| &line[..i + 3])
}

/// Lines grouped by file.
fn by_file<'a>(lines: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for l in lines {
        out.entry(file_of(l).to_string())
            .or_default()
            .push(l.to_string());
    }
    out
}

/// Place, severity and message: the line without ` — fix: …`.
fn without_fix(line: &str) -> &str {
    line.split(" — fix: ").next().unwrap()
}

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("loa runs");
    let o = Output {
        code: out
            .status
            .code()
            .expect("loa exits with a code, not a signal"),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    };
    assert!(
        !o.stderr.contains("panicked"),
        "loa panicked:\n{}",
        o.stderr
    );
    o
}

fn check_corpus(corpus: &Corpus) -> Output {
    run(loa().arg("--config").arg(corpus.config()).arg("check"))
}

#[test]
fn every_broken_post_gets_exactly_its_line() {
    let corpus = Corpus::new();
    let out = check_corpus(&corpus);
    assert_eq!(
        out.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );

    let stdout = corpus.strip(&out.stdout);
    let actual = by_file(stdout.lines());
    let expected = by_file(EXPECTED.iter().copied());

    // Every file in the corpus has rows, and loa speaks of no other file.
    let corpus_files: BTreeSet<String> = corpus
        .posts()
        .iter()
        .map(|p| format!("bad/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    let expected_files: BTreeSet<String> = expected.keys().cloned().collect();
    assert_eq!(
        corpus_files, expected_files,
        "every corpus file needs rows in EXPECTED, and only those"
    );
    let actual_files: BTreeSet<String> = actual.keys().cloned().collect();
    assert_eq!(
        actual_files, expected_files,
        "files loa printed problems for:\n{stdout}"
    );

    let mut mismatches = Vec::new();
    for (file, want) in &expected {
        let got = &actual[file];
        if got != want {
            mismatches.push(format!(
                "{file}\n  expected: {want:#?}\n  actual:   {got:#?}"
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));

    let summary = format!(
        "Checked {n} post(s): {n} error(s), 0 warning(s)",
        n = corpus_files.len()
    );
    assert!(out.stderr.contains(&summary), "stderr:\n{}", out.stderr);
}

#[test]
fn each_broken_post_alone_fails_and_is_named() {
    let corpus = Corpus::new();
    let posts = corpus.posts();
    assert_eq!(posts.len(), EXPECTED.len());
    for post in posts {
        let out = run(loa()
            .arg("--config")
            .arg(corpus.config())
            .arg("check")
            .arg(&post));
        let shown = post.display().to_string();
        assert_eq!(
            out.code, 1,
            "{shown}: stdout:\n{}\nstderr:\n{}",
            out.stdout, out.stderr
        );
        assert!(!out.stdout.is_empty(), "{shown}: nothing printed");
        for line in out.stdout.lines() {
            assert!(
                line.starts_with(&format!("{shown}:")),
                "{shown}: a line about something else: {line}"
            );
            assert!(line.contains(": error: "), "{shown}: {line}");
        }
        assert!(
            out.stderr.contains("Checked 1 post(s): 1 error(s)"),
            "{shown}: stderr:\n{}",
            out.stderr
        );
        // The line is the same as in the whole-corpus run.
        let name = format!("bad/{}", post.file_name().unwrap().to_string_lossy());
        let want: Vec<&str> = EXPECTED
            .iter()
            .filter(|r| file_of(r) == name)
            .map(|r| without_fix(r))
            .collect();
        let stdout = corpus.strip(&out.stdout);
        let got: Vec<&str> = stdout.lines().map(without_fix).collect();
        assert_eq!(got, want, "{shown}");
    }
}

/// Every file under `dir` (recursively) with its bytes and modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path.clone());
                out.insert(path, (Vec::new(), meta.modified().unwrap()));
            } else {
                out.insert(
                    path.clone(),
                    (fs::read(&path).unwrap(), meta.modified().unwrap()),
                );
            }
        }
    }
    out
}

#[test]
fn check_writes_nothing() {
    let corpus = Corpus::new();
    // Set every file's mtime in the past, so a rewrite is seen even with coarse timestamps.
    let past = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    for path in snapshot(corpus.top()).keys() {
        if path.is_file() {
            fs::File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(past)
                .unwrap();
        }
    }
    let before = snapshot(corpus.top());

    check_corpus(&corpus);
    for post in corpus.posts() {
        run(loa()
            .arg("--config")
            .arg(corpus.config())
            .arg("check")
            .arg(&post));
    }

    let after = snapshot(corpus.top());
    let names = |s: &BTreeMap<PathBuf, _>| s.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&before),
        names(&after),
        "check created or removed files (data_dir is <tmp>/target/test-data)"
    );
    for (path, (bytes, mtime)) in &before {
        let (bytes2, mtime2) = &after[path];
        assert!(bytes == bytes2, "check changed {}", path.display());
        assert_eq!(mtime, mtime2, "check touched {}", path.display());
    }
}

#[test]
fn windows_style_posts_pass_cleanly() {
    // Guard the fixtures themselves: an editor or git's autocrlf must not have "fixed" them.
    let dir = fixtures().join("windows");
    let bytes = |name: &str| fs::read(dir.join(name)).unwrap();
    let has_bom = |b: &[u8]| b.starts_with(b"\xEF\xBB\xBF");
    let all_crlf = |b: &[u8]| {
        b.windows(2).filter(|w| w == b"\r\n").count() == b.iter().filter(|&&c| c == b'\n').count()
    };
    // U+0302 (combining circumflex) in UTF-8: only decomposed Vietnamese has it.
    let is_nfd = |b: &[u8]| b.windows(2).any(|w| w == b"\xCC\x82");
    let crlf_bom = bytes("crlf-bom.md");
    assert!(
        has_bom(&crlf_bom) && all_crlf(&crlf_bom) && !is_nfd(&crlf_bom),
        "crlf-bom.md"
    );
    let nfd = bytes("nfd.md");
    assert!(
        !has_bom(&nfd) && !nfd.contains(&b'\r') && is_nfd(&nfd),
        "nfd.md"
    );
    let all = bytes("crlf-nfd-bom.md");
    assert!(
        has_bom(&all) && all_crlf(&all) && is_nfd(&all),
        "crlf-nfd-bom.md"
    );

    let out = run(loa()
        .arg("--config")
        .arg(fixtures().join("windows.toml"))
        .arg("check"));
    assert_eq!(
        out.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr
            .contains("Checked 3 post(s): 0 error(s), 0 warning(s)"),
        "stderr:\n{}",
        out.stderr
    );
}

#[test]
fn the_repos_own_posts_pass() {
    // The default config, config/loa.toml, from the crate root.
    let out = run(loa().arg("check"));
    assert_eq!(
        out.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    let out = run(loa().args(["--config", "config/loa.toml", "check", "posts/"]));
    assert_eq!(
        out.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
}

#[test]
fn a_missing_config_is_bad_usage() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("khong-co.toml");
    loa()
        .arg("--config")
        .arg(&missing)
        .arg("check")
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            predicate::str::contains(missing.display().to_string())
                .and(predicate::str::contains("panicked").not()),
        );
}

#[test]
fn a_token_in_the_config_is_refused_with_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(fixtures().join("bad.toml")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let page_id = lines
        .iter()
        .position(|l| l.starts_with("page_id ="))
        .expect("bad.toml has [facebook] page_id");
    assert!(lines[..page_id].iter().rev().find(|l| l.starts_with('[')) == Some(&"[facebook]"));
    lines.insert(page_id + 1, "page_token = \"x\"");
    let line = page_id + 2;
    let config = tmp.path().join("loa.toml");
    fs::write(&config, lines.join("\n") + "\n").unwrap();

    let out = run(loa().arg("--config").arg(&config).arg("check"));
    assert_eq!(
        out.code, 2,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    assert_eq!(out.stdout, "");
    let want = format!(
        "{}:{line}:1: error: `facebook.page_token` looks like a secret, and secrets must not be written in the config file — fix: delete this line and set the environment variable LOA_FACEBOOK_PAGE_TOKEN instead",
        config.display()
    );
    assert!(
        out.stderr.lines().any(|l| l == want),
        "expected line:\n{want}\nstderr:\n{}",
        out.stderr
    );
}
