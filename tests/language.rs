//! The officer's language everywhere (issue 12, defect 1): every message an officer reads —
//! `loa check` over the broken-post corpus and over broken configs, every short command's
//! errors through the binary, every transport failure and platform error class a client stores
//! for `status` — is run in `vi` and must hold no English library wording; the same paths in
//! `en` must name the exact key.
//!
//! The detector is honest: it first strips what is legitimately not prose (backticked keys and
//! values, quoted text, paths, URLs, commands, the platform's own words that a message quotes),
//! then fails on the phrases that library errors use ("invalid type", "unknown field",
//! "expected", "error sending request", "No such file" …).

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use chrono::Utc;
use loa::facebook::errors::{self as graph, CallKind};
use loa::i18n::{Language, set_language};
use loa::platform::transport::{self, Transport};
use loa::zalo::errors::{self as zalo, ZaloCall, ZaloError};

/// Phrases of English library errors (serde, saphyr, toml, std::io, reqwest, SQLite, loa's old
/// English-only errors). Lower case; matched as words against the stripped text.
const ENGLISH: &[&str] = &[
    "invalid type",
    "invalid value",
    "unknown field",
    "unknown variant",
    "expected",
    "missing field",
    "error sending request",
    "connection",
    "timed out",
    "timeout",
    "no such file",
    "permission denied",
    "is known",
    "already running",
    "not found",
    "failed to",
    "os error",
    "while parsing",
    "did not find",
    "invalid",
    "unexpected",
    "the file",
    "is not",
    "must be",
    "cannot",
    "could not",
    "database",
    "delivery",
    "problem(s)",
    "error:",
    "warning:",
];

/// `text` without what is not prose: backticked and quoted spans, the quoted `platform` words,
/// URLs, paths and the `path:line:col:` prefix of a diagnostic.
fn prose(text: &str, platform: &[&str]) -> String {
    let mut text = text.to_string();
    for words in platform {
        text = text.replace(words, " ");
    }
    let mut out = String::new();
    let mut skip: Option<char> = None;
    for c in text.chars() {
        match skip {
            Some(end) if c == end => skip = None,
            Some(_) => {}
            None if c == '`' => skip = Some('`'),
            None if c == '"' => skip = Some('"'),
            None if c == '“' => skip = Some('”'),
            None => out.push(c),
        }
    }
    out.split_whitespace()
        .filter(|w| !(w.contains('/') || w.contains("://") || w.contains('\\') || w.contains('=')))
        .filter(|w| !w.starts_with("--") && !w.starts_with("LOA_"))
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The English phrases in `text` once stripped; the Vietnamese "lỗi:"/"cảnh báo:" prefixes and
/// `error:` of a `path:line:col: error:` line (the contract's, fixed in both languages) aside.
fn english_in(text: &str, platform: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines() {
        // `path:line:col: error: message — fix: …` keeps its English severity by contract.
        let line = match line.find(": error: ").or_else(|| line.find(": warning: ")) {
            Some(i) => line[i + 2..].split_once(": ").map_or("", |(_, m)| m),
            None => line,
        };
        let words = format!(" {} ", prose(line, platform));
        for phrase in ENGLISH {
            let padded = format!(" {phrase} ");
            let bare = phrase.trim_end_matches(':');
            if words.contains(&padded)
                || words.contains(&format!(" {bare}:"))
                || words.contains(&format!(" {bare},"))
                || words.contains(&format!(" {bare};"))
            {
                found.push(format!("{phrase:?} in {line:?}"));
            }
        }
    }
    found
}

fn assert_vietnamese(what: &str, text: &str, platform: &[&str]) {
    assert!(!text.trim().is_empty(), "{what}: nothing was said");
    let found = english_in(text, platform);
    assert!(
        found.is_empty(),
        "{what}: English left:\n{}\n---\n{text}",
        found.join("\n")
    );
}

#[test]
fn the_detector_catches_library_english_and_spares_keys_paths_and_quotes() {
    let leaks = [
        "YAML: invalid type: integer `42`, expected a list such as [facebook, zalo]",
        "a.md:4:1: error: YAML: unknown field `colour`, expected one of title — fix: x",
        "lỗi: no post `x` is known; give its file",
        "Facebook không trả lời: connection lost",
        "config/loa.toml: không đọc được tệp cấu hình: No such file or directory (os error 2)",
    ];
    for leak in leaks {
        assert!(!english_in(leak, &[]).is_empty(), "{leak}");
    }
    let fine = "a.md:4:1: error: khóa `zalo.colour` không có — fix: các khóa: title, cover \
                (xem https://example.gov.vn/a, posts/x.md, \"Access token is invalid\")";
    assert!(
        english_in(fine, &[]).is_empty(),
        "{:?}",
        english_in(fine, &[])
    );
}

// ---- The binary ----------------------------------------------------------------------------

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn loa() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_loa"));
    cmd.current_dir(crate_dir())
        .env_remove("LOA_CONFIG")
        .env_remove("LOA_LOG")
        .env_remove("LOA_FACEBOOK_APP_ID")
        .env_remove("LOA_FACEBOOK_APP_SECRET")
        .env_remove("LOA_FACEBOOK_PAGE_TOKEN")
        .env_remove("LOA_ZALO_APP_SECRET")
        .env_remove("LOA_ZALO_REFRESH_TOKEN");
    cmd
}

/// Runs `loa` and returns (exit code, stdout + stderr).
fn run(cmd: &mut Command) -> (i32, String) {
    let out = cmd.output().expect("loa runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
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

/// The broken-post corpus in a temporary folder, with its config set to `language`.
fn corpus(language: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("tests/fixtures");
    copy_dir(&crate_dir().join("tests/fixtures/bad"), &root.join("bad"));
    let config = fs::read_to_string(crate_dir().join("tests/fixtures/bad.toml"))
        .unwrap()
        .replace("language = \"en\"", &format!("language = \"{language}\""));
    fs::write(root.join("bad.toml"), config).unwrap();
    let images = tmp.path().join("posts/images");
    fs::create_dir_all(&images).unwrap();
    fs::copy(
        crate_dir().join("posts/images/wifi-nha-van-hoa.png"),
        images.join("wifi-nha-van-hoa.png"),
    )
    .unwrap();
    // Too big to be a post (the limit is 1 MB), generated rather than kept in git.
    let mut huge = b"---\ntitle: \"x\"\n---\n".to_vec();
    huge.resize(2 * 1024 * 1024, b'.');
    fs::write(root.join("bad/huge.md"), huge).unwrap();
    let config = root.join("bad.toml");
    (tmp, config)
}

/// Front matters that break each key in its own way, beside the corpus.
const BROKEN_FRONT_MATTERS: &[(&str, &str)] = &[
    ("channels-number.md", "title: x\nchannels: { a: 1 }\n"),
    ("colour.md", "title: x\ncolour: red\n"),
    (
        "zalo-broadcast.md",
        "title: x\nzalo: { broadcast: \"có\" }\n",
    ),
    ("zalo-unknown.md", "title: x\nzalo:\n  colour: red\n"),
    ("facebook-list.md", "title: x\nfacebook: [a]\n"),
    ("title-list.md", "title: [a, b]\n"),
    ("tags-nested.md", "title: x\ntags: [a, [b]]\n"),
    ("draft-text.md", "title: x\ndraft: \"không\"\n"),
    ("duplicate.md", "title: x\ntitle: y\n"),
    ("bad-syntax.md", "title: x\n: y: z\n"),
    ("anchor.md", "title: *nothing\n"),
    ("list-at-top.md", "- a\n- b\n"),
];

/// The dotted key each broken front matter must name in English.
const FRONT_MATTER_KEYS: &[(&str, &str)] = &[
    ("channels-number.md", "`channels`"),
    ("colour.md", "`colour`"),
    ("zalo-broadcast.md", "`zalo.broadcast`"),
    ("zalo-unknown.md", "`zalo.colour`"),
    ("facebook-list.md", "`facebook`"),
    ("title-list.md", "`title`"),
    ("tags-nested.md", "`tags[2]`"),
    ("draft-text.md", "`draft`"),
    ("duplicate.md", "`title`"),
];

fn add_broken_front_matters(config: &Path) {
    let bad = config.parent().unwrap().join("bad");
    for (name, yaml) in BROKEN_FRONT_MATTERS {
        fs::write(bad.join(name), format!("---\n{yaml}---\nNội dung.\n")).unwrap();
    }
}

#[test]
fn check_over_every_broken_post_speaks_vietnamese() {
    let (_tmp, config) = corpus("vi");
    add_broken_front_matters(&config);
    let (code, text) = run(loa().arg("--config").arg(&config).arg("check"));
    assert_eq!(code, 1, "{text}");
    let corpus_files = fs::read_dir(config.parent().unwrap().join("bad"))
        .unwrap()
        .count();
    assert!(text.lines().count() >= corpus_files - 1, "{text}");
    assert_vietnamese("loa check (vi)", &text, &[]);
}

#[test]
fn check_names_the_dotted_key_of_each_broken_front_matter_in_english() {
    let (_tmp, config) = corpus("en");
    add_broken_front_matters(&config);
    let (_, text) = run(loa().arg("--config").arg(&config).arg("check"));
    for (file, key) in FRONT_MATTER_KEYS {
        let line = text
            .lines()
            .find(|l| l.contains(file))
            .unwrap_or_else(|| panic!("no problem for {file}:\n{text}"));
        assert!(line.contains(key), "{file} must name {key}: {line}");
        assert!(!line.contains("YAML:"), "{line}");
    }
}

/// Broken configs: (name, text, the dotted key the English message must name).
const BROKEN_CONFIGS: &[(&str, &str, &str)] = &[
    ("unknown section", "[colour]\nx = 1\n", "`[colour]`"),
    (
        "planned section",
        "[radio]\noutbox = \"../radio\"\n",
        "`[radio]`",
    ),
    (
        "alerts email not a list of sections",
        "[alerts]\nemail = \"a@b.vn\"\n",
        "`alerts.email`",
    ),
    (
        "alerts email key",
        "[alerts]\n[[alerts.email]]\nsmtp_hots = \"smtp.example.gov.vn\"\n",
        "`alerts.email[1].smtp_hots`",
    ),
    (
        "alerts security none off this machine",
        "[alerts]\n[[alerts.email]]\nsmtp_host = \"smtp.example.gov.vn\"\nsecurity = \"none\"\nfrom = \"loa@example.gov.vn\"\nto = [\"vanhoa@example.gov.vn\"]\n",
        "`alerts.email[1].security`",
    ),
    (
        "alerts webhook http",
        "[alerts]\n[[alerts.webhook]]\nurl = \"http://example.gov.vn/hooks/loa\"\n",
        "`alerts.webhook[1].url`",
    ),
    ("web key", "[web]\nport = 8080\n", "`web.port`"),
    (
        "unknown top key",
        "timezon = \"Asia/Ho_Chi_Minh\"\n",
        "`timezon`",
    ),
    (
        "unknown key",
        "[facebook]\npageid = \"1\"\n",
        "`facebook.pageid`",
    ),
    ("timezone type", "timezone = 7\n", "`timezone`"),
    ("language type", "language = true\n", "`language`"),
    ("schedule type", "schedule = 3\n", "`schedule`"),
    (
        "slots type",
        "[schedule]\nslots = \"Tue 07:00\"\n",
        "`schedule.slots`",
    ),
    (
        "slot item type",
        "[schedule]\nslots = [7]\n",
        "`schedule.slots[1]`",
    ),
    (
        "bad slot",
        "[schedule]\nslots = [\"Xyz 07:00\"]\n",
        "`schedule.slots`",
    ),
    (
        "bad slot time",
        "[schedule]\nslots = [\"Tue 25:99\"]\n",
        "`schedule.slots`",
    ),
    (
        "max_lateness",
        "[schedule]\nmax_lateness = \"soon\"\n",
        "`schedule.max_lateness`",
    ),
    (
        "on_edit",
        "[schedule]\non_edit = \"sometimes\"\n",
        "`schedule.on_edit`",
    ),
    (
        "attempts type",
        "[retry]\nmax_attempts = \"8\"\n",
        "`retry.max_attempts`",
    ),
    (
        "attempts range",
        "[retry]\nmax_attempts = 0\n",
        "`retry.max_attempts`",
    ),
    (
        "delays",
        "[retry]\nbase_delay = \"2h\"\nmax_delay = \"1h\"\n",
        "`retry.base_delay`",
    ),
    (
        "zero delay",
        "[retry]\nbase_delay = \"0s\"\n",
        "`retry.base_delay`",
    ),
    (
        "enabled type",
        "[facebook]\nenabled = \"yes\"\npage_id = \"1\"\n",
        "`facebook.enabled`",
    ),
    (
        "page_id type",
        "[facebook]\npage_id = 123\n",
        "`facebook.page_id`",
    ),
    (
        "page_id value",
        "[facebook]\npage_id = \"abc\"\n",
        "`facebook.page_id`",
    ),
    (
        "no page_id",
        "[facebook]\nenabled = true\n",
        "`facebook.page_id`",
    ),
    (
        "graph_url",
        "[facebook]\npage_id = \"1\"\ngraph_url = \"graph\"\n",
        "`facebook.graph_url`",
    ),
    (
        "api_version",
        "[facebook]\npage_id = \"1\"\napi_version = \"25\"\n",
        "`facebook.api_version`",
    ),
    ("no app_id", "[zalo]\nenabled = true\n", "`zalo.app_id`"),
    ("app_id value", "[zalo]\napp_id = \"x1\"\n", "`zalo.app_id`"),
    (
        "author",
        "[zalo]\napp_id = \"1\"\nauthor = \"ỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦỦ\"\n",
        "`zalo.author`",
    ),
    (
        "cover url",
        "[zalo]\napp_id = \"1\"\ndefault_cover_url = \"logo.jpg\"\n",
        "`zalo.default_cover_url`",
    ),
    (
        "broadcast type",
        "[zalo]\napp_id = \"1\"\nbroadcast = \"có\"\n",
        "`zalo.broadcast`",
    ),
    (
        "listing_delay",
        "[zalo]\napp_id = \"1\"\nlisting_delay = \"30\"\n",
        "`zalo.listing_delay`",
    ),
    (
        "media url",
        "[media]\npublic_base_url = \"ftp://x\"\n",
        "`media.public_base_url`",
    ),
    (
        "target",
        "[targets]\nfacebook = \"two a week\"\n",
        "`targets.facebook`",
    ),
    ("target type", "[targets]\nzalo = 2\n", "`targets.zalo`"),
    ("bad timezone", "timezone = \"Hanoi\"\n", "`timezone`"),
    ("bad language", "language = \"fr\"\n", "`language`"),
    (
        "duplicate",
        "timezone = \"UTC\"\ntimezone = \"UTC\"\n",
        "`timezone`",
    ),
    (
        "unclosed string",
        "posts_dir = \"C:\\posts\n",
        "`posts_dir`",
    ),
    ("syntax", "[schedule\n", "TOML"),
    (
        "secret",
        "[facebook]\npage_token = \"EAAG\"\n",
        "`facebook.page_token`",
    ),
];

fn check_config(dir: &Path, text: &str) -> (i32, String) {
    let config = dir.join("loa.toml");
    fs::write(&config, text).unwrap();
    run(loa().arg("--config").arg(&config).arg("check"))
}

#[test]
fn broken_configs_speak_vietnamese() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text, _) in BROKEN_CONFIGS {
        // No `language` line (or a broken one): Vietnamese is the default.
        let text = format!("posts_dir = \"p\"\ndata_dir = \"d\"\n{text}");
        let (code, out) = check_config(dir.path(), &text);
        assert_eq!(code, 2, "{name}: {out}");
        assert_vietnamese(name, &out, &[]);
    }
}

#[test]
fn broken_configs_name_their_key_in_english() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text, key) in BROKEN_CONFIGS {
        let text = if text.starts_with("language") {
            text.to_string()
        } else {
            format!("language = \"en\"\nposts_dir = \"p\"\ndata_dir = \"d\"\n{text}")
        };
        let (code, out) = check_config(dir.path(), &text);
        assert_eq!(code, 2, "{name}: {out}");
        assert!(out.contains(key), "{name} must name {key}: {out}");
        for library in [
            "unknown field",
            "invalid type",
            "expected one of",
            "TOML parse error",
        ] {
            assert!(!out.contains(library), "{name}: {out}");
        }
    }
}

/// A working config in a temporary folder, with an empty posts folder, in `language`.
fn world(language: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("posts")).unwrap();
    let config = dir.path().join("loa.toml");
    fs::write(
        &config,
        format!(
            "language = \"{language}\"\nposts_dir = \"posts\"\ndata_dir = \"data\"\n\
             [facebook]\npage_id = \"123\"\ngraph_url = \"http://127.0.0.1:9\"\n\
             [zalo]\napp_id = \"456\"\nopenapi_url = \"http://127.0.0.1:9\"\noauth_url = \"http://127.0.0.1:9\"\n"
        ),
    )
    .unwrap();
    (dir, config)
}

#[test]
fn every_commands_errors_speak_vietnamese() {
    let (dir, config) = world("vi");
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("retry", vec!["retry", "posts/khong-co.md"]),
        (
            "retry --force",
            vec!["retry", "posts/khong-co.md", "--force"],
        ),
        ("cancel", vec!["cancel", "posts/khong-co.md"]),
        ("unpublish", vec!["unpublish", "posts/khong-co.md"]),
        ("preview", vec!["preview", "posts/khong-co.md"]),
        ("check missing", vec!["check", "posts/khong-co.md"]),
        ("report dates", vec!["report", "--since", "2026-13-45"]),
        (
            "auth facebook",
            vec!["auth", "facebook", "--user-token", "x"],
        ),
        (
            "auth zalo",
            vec!["auth", "zalo", "--url", "--redirect-uri", " "],
        ),
        ("auth zalo code", vec!["auth", "zalo", "--code", "abc"]),
    ];
    for (name, args) in cases {
        let (code, out) = run(loa().arg("--config").arg(&config).args(&args));
        assert_ne!(code, 0, "{name}: {out}");
        assert_vietnamese(name, &out, &[]);
    }
    // A config that is not there (Vietnamese is the default).
    let (code, out) = run(loa()
        .arg("--config")
        .arg(dir.path().join("khong-co.toml"))
        .arg("status"));
    assert_eq!(code, 2, "{out}");
    assert_vietnamese("missing config", &out, &[]);
    // A data folder loa may not use: a file where the folder should be.
    let blocked = dir.path().join("blocked.toml");
    fs::write(dir.path().join("data-file"), "x").unwrap();
    fs::write(
        &blocked,
        "posts_dir = \"posts\"\ndata_dir = \"data-file\"\n",
    )
    .unwrap();
    for args in [vec!["status"], vec!["retry", "x"], vec!["report"]] {
        let (code, out) = run(loa().arg("--config").arg(&blocked).args(&args));
        assert_ne!(code, 0, "{args:?}: {out}");
        assert_vietnamese(&format!("{args:?} with a blocked data_dir"), &out, &[]);
    }
}

#[test]
fn command_errors_name_what_is_missing_in_english() {
    let (_dir, config) = world("en");
    let (_, out) = run(loa()
        .arg("--config")
        .arg(&config)
        .args(["retry", "posts/khong-co.md"]));
    assert!(out.contains("`posts/khong-co.md`"), "{out}");
    let (_, out) =
        run(loa()
            .arg("--config")
            .arg(&config)
            .args(["auth", "facebook", "--user-token", "x"]));
    assert!(out.contains("LOA_FACEBOOK_APP_ID"), "{out}");
}

// ---- Outcome messages stored for `status` ---------------------------------------------------

/// The `message` of every outcome in a classification's debug form.
fn messages(debug: &str) -> Vec<String> {
    debug
        .split("message: \"")
        .skip(1)
        .map(|rest| {
            rest.split("\", ")
                .next()
                .unwrap_or(rest)
                .replace("\\\"", "\"")
        })
        .collect()
}

#[tokio::test]
async fn transport_failures_are_classified_and_told_in_vietnamese() {
    set_language(Language::Vi);
    // A refused connection, for real.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let http = reqwest::Client::new();
    let failed = transport::exchange(http.get(format!("http://127.0.0.1:{port}/x")))
        .await
        .unwrap_err();
    assert_eq!(failed.kind, Transport::Refused);
    // A timeout, for real: wiremock answers after the client's wait.
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(2)),
        )
        .mount(&server)
        .await;
    let quick = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(200))
        .build()
        .unwrap();
    let slow = transport::exchange(quick.get(server.uri()))
        .await
        .unwrap_err();
    assert_eq!(slow.kind, Transport::Timeout);
    for kind in [
        failed.kind,
        slow.kind,
        Transport::AddressNotFound,
        Transport::Insecure,
        Transport::ConnectFailed,
        Transport::ConnectionLost,
        Transport::AnswerCutOff,
    ] {
        let fb = graph::transport_failure(CallKind::PublishPost, kind.words());
        let za = zalo::transport_failure(ZaloCall::Create, kind.words());
        for text in messages(&format!("{fb:?} {za:?}")) {
            assert_vietnamese(&format!("{kind:?}"), &text, &[]);
        }
        assert_ne!(kind.words_in(Language::En), kind.words_in(Language::Vi));
    }
    for status in [200, 404, 429, 500, 502, 503] {
        assert_vietnamese(
            "bare answer",
            &transport::bare_answer("Facebook", status),
            &[],
        );
        let fb = graph::classify(CallKind::PublishPost, status, None, Utc::now(), None);
        let za = zalo::classify(
            ZaloCall::Create,
            status,
            None,
            Utc::now(),
            chrono_tz::Asia::Ho_Chi_Minh,
        );
        for text in messages(&format!("{fb:?} {za:?}")) {
            assert_vietnamese(&format!("HTTP {status}"), &text, &[]);
        }
    }
}

#[test]
fn platform_error_classes_are_told_in_vietnamese_quoting_the_platform() {
    set_language(Language::Vi);
    let said = "Platform words here";
    // Each Graph error class of the reference: token, permission, rate limits, duplicates,
    // spam, temporary, unknown.
    for (code, subcode) in [
        (190, None),
        (190, Some(463)),
        (10, None),
        (200, None),
        (4, None),
        (17, None),
        (32, None),
        (613, None),
        (80001, None),
        (506, None),
        (368, None),
        (368, Some(1_404_102)),
        (1, None),
        (2, None),
        (100, None),
        (12345, None),
    ] {
        let error = graph::GraphError {
            code,
            subcode,
            message: said.to_string(),
            ..Default::default()
        };
        for kind in [
            CallKind::PublishPost,
            CallKind::Update,
            CallKind::Delete,
            CallKind::Read,
        ] {
            let outcome = graph::classify(kind, 400, Some(&error), Utc::now(), None);
            for text in messages(&format!("{outcome:?}")) {
                assert_vietnamese(&format!("Graph {code}/{subcode:?}"), &text, &[said]);
            }
        }
    }
    for code in [
        -216, -124, -32, -201, -211, -224, -230, -240, -320, -1, -99999,
    ] {
        let error = ZaloError {
            code,
            message: said.to_string(),
        };
        for call in [
            ZaloCall::Create,
            ZaloCall::Verify,
            ZaloCall::Update,
            ZaloCall::List,
        ] {
            let outcome = zalo::classify(
                call,
                200,
                Some(&error),
                Utc::now(),
                chrono_tz::Asia::Ho_Chi_Minh,
            );
            for text in messages(&format!("{outcome:?}")) {
                assert_vietnamese(&format!("Zalo {code}"), &text, &[said]);
            }
        }
    }
}

#[test]
fn facebook_token_problems_and_auth_errors_are_told_in_vietnamese() {
    use loa::facebook::auth::{AuthError, TokenInfo};
    set_language(Language::Vi);
    let now = Utc::now();
    for (token_type, profile, expires) in [
        (Some("USER"), None, Some(now - chrono::TimeDelta::days(1))),
        (None, None, Some(now + chrono::TimeDelta::days(2))),
        (Some("PAGE"), Some("999"), None),
        (Some("PAGE"), None, None),
    ] {
        let info = TokenInfo {
            token_type: token_type.map(String::from),
            is_valid: false,
            expires_at: expires,
            data_access_expires_at: None,
            scopes: Vec::new(),
            profile_id: profile.map(String::from),
        };
        let problems = info.problems_at("123", now);
        assert!(!problems.is_empty());
        for problem in problems {
            assert_vietnamese("debug_token", &problem, &[]);
        }
    }
    let errors = [
        AuthError::BadResponse {
            endpoint: "oauth/access_token",
            detail: "the reply has no `access_token`".into(),
        },
        AuthError::PageNotFound {
            page_id: "123".into(),
            seen: vec![("1".into(), "UBND xã".into())],
        },
        AuthError::PageNotFound {
            page_id: "123".into(),
            seen: Vec::new(),
        },
    ];
    for e in errors {
        assert_vietnamese("Facebook auth", &e.to_string(), &[]);
    }
}
