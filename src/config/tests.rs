//! Config parsing and validation: every mistake reported with its line and the fix.

use super::*;

const EXAMPLE: &str = include_str!("../../config/loa.toml");

fn errors(text: &str) -> Vec<Diagnostic> {
    Config::parse(text).expect_err("the config should be refused")
}

#[test]
fn the_shipped_example_is_valid() {
    let c = Config::parse(EXAMPLE).unwrap();
    assert_eq!(c.timezone, chrono_tz::Asia::Ho_Chi_Minh);
    assert_eq!(c.language, Language::Vi);
    assert_eq!(c.schedule.slots.len(), 2);
    assert_eq!(c.schedule.max_lateness, Duration::from_secs(2 * 86_400));
    assert_eq!(c.schedule.on_edit, OnEdit::Update);
    assert_eq!(
        (c.retry.base_delay, c.retry.max_delay, c.retry.max_attempts),
        (Duration::from_secs(30), Duration::from_secs(3600), 8)
    );
    assert!(c.facebook.enabled && c.zalo.enabled);
    assert_eq!(c.facebook.api_version, "v25.0");
    assert_eq!(c.zalo.author, "UBND xã Thanh Kỳ");
    assert_eq!(
        c.media.public_base_url.as_deref(),
        Some("https://example.gov.vn/loa-media/")
    );
    assert_eq!(
        c.targets.facebook,
        Some(Target {
            count: 2,
            per: Per::Week
        })
    );
    assert!(c.warnings.is_empty());
}

#[test]
fn an_empty_config_has_defaults_and_no_channel() {
    let c = Config::parse("").unwrap();
    assert!(c.enabled_channels().is_empty());
    assert_eq!(c.posts_dir, PathBuf::from("../posts"));
}

#[test]
fn unknown_keys_are_refused_with_their_line() {
    let e = errors("timezone = \"Asia/Ho_Chi_Minh\"\n[schedule]\nslot = [\"Tue 07:00\"]\n");
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].line, 3);
    assert_eq!(e[0].message, "unknown key `schedule.slot`");
    assert!(
        e[0].fix
            .as_deref()
            .unwrap()
            .starts_with("did you mean `schedule.slots`?"),
        "{:?}",
        e[0].fix
    );
}

#[test]
fn shape_problems_name_the_dotted_key_all_at_once() {
    let e = errors(
        "language = 42\n[schedule]\nslots = [\"Tue 07:00\", 7]\n[retry]\nmax_attempts = \"8\"\n[facebook]\nenabled = \"yes\"\npage_id = 123\n[radio]\noutbox = \"r\"\n[colour]\n",
    );
    let messages: Vec<(usize, &str)> = e.iter().map(|d| (d.line, d.message.as_str())).collect();
    assert_eq!(
        messages,
        [
            (1, "`language` must be text in quotes, not a number"),
            (
                3,
                "`schedule.slots[2]` must be text in quotes, not a number"
            ),
            (
                5,
                "`retry.max_attempts` must be a whole number, not the text \"8\""
            ),
            (
                7,
                "`facebook.enabled` must be true or false, not the text \"yes\""
            ),
            (8, "`facebook.page_id` must be text in quotes, not a number"),
            (
                9,
                "section `[radio]` is not available in this version of loa (it is planned)"
            ),
            (11, "unknown section `[colour]`"),
        ]
    );
}

#[test]
fn syntax_errors_are_in_loas_words() {
    let e = errors("timezone = \"Asia/Ho_Chi_Minh\"\ntimezone = \"UTC\"\n");
    assert_eq!(e[0].message, "`timezone` is written twice");
    let e = errors("posts_dir = \"C:\\posts\n");
    assert!(e[0].message.contains("`posts_dir`"), "{}", e[0].message);
    let e = errors("[schedule\n");
    assert_eq!(e[0].message, "this line is not valid TOML");
}

#[test]
fn secrets_point_to_the_environment() {
    let e = errors(
        "[facebook]\npage_id = \"1\"\naccess_token = \"EAAB…\"\n[zalo]\napp_id = \"2\"\napp_secret = \"x\"\n",
    );
    assert_eq!(e.len(), 2);
    assert_eq!((e[0].line, e[0].col), (3, 1));
    assert!(
        e[0].fix
            .as_deref()
            .unwrap()
            .contains("LOA_FACEBOOK_PAGE_TOKEN")
    );
    assert_eq!(e[1].line, 6);
    assert!(e[1].fix.as_deref().unwrap().contains("LOA_ZALO_APP_SECRET"));
    // The secret itself is never repeated back.
    assert!(e.iter().all(|d| !d.message.contains("EAAB")));
}

#[test]
fn every_bad_value_is_reported_at_once() {
    let text = "timezone = \"Asia/Hanoi_City\"\nlanguage = \"fr\"\n[schedule]\nslots = [\"Tue 07:00\", \"Funday 9:00\"]\nmax_lateness = \"2 weeks-ish\"\non_edit = \"overwrite\"\n[retry]\nbase_delay = \"2h\"\nmax_delay = \"1h\"\nmax_attempts = 0\n[targets]\nzalo = \"often\"\n";
    let e = errors(text);
    let lines: Vec<usize> = e.iter().map(|d| d.line).collect();
    assert_eq!(lines, vec![1, 2, 4, 5, 6, 8, 10, 12], "{e:#?}");
}

#[test]
fn durations_slots_and_targets_parse() {
    let c = Config::parse("[schedule]\nslots = [\"Thứ 5 19h30\", \"Thứ 3 07:00\"]\nmax_lateness = \"12h\"\n[retry]\nbase_delay = \"10s\"\nmax_delay = \"2d\"\n[targets]\nfacebook = \"8/tháng\"\n").unwrap();
    let slots: Vec<String> = c
        .schedule
        .slots
        .iter()
        .map(|s| format!("{:?} {}", s.weekday, s.time))
        .collect();
    assert_eq!(
        slots,
        vec!["Tue 07:00:00", "Thu 19:30:00"],
        "slots are sorted"
    );
    assert_eq!(c.schedule.max_lateness, Duration::from_secs(12 * 3600));
    assert_eq!(c.retry.max_delay, Duration::from_secs(2 * 86_400));
    assert_eq!(
        c.targets.facebook,
        Some(Target {
            count: 8,
            per: Per::Month
        })
    );
}

#[test]
fn enabled_channels_need_their_ids() {
    let e = errors("[facebook]\nenabled = true\n[zalo]\napp_id = \"abc\"\n");
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(e[0].message.contains("page_id"));
    assert!(e[1].message.contains("app_id"));
    assert_eq!(e[1].line, 4);
}

#[test]
fn long_author_and_bad_urls_are_refused() {
    let author = "Ủy ban nhân dân xã Thanh Kỳ, huyện Như Thanh, tỉnh Thanh Hóa";
    let e = errors(&format!(
        "[zalo]\napp_id = \"1\"\nauthor = \"{author}\"\ndefault_cover_url = \"logo.jpg\"\n[facebook]\npage_id = \"1\"\ngraph_url = \"graph.facebook.com\"\n"
    ));
    let lines: Vec<usize> = e.iter().map(|d| d.line).collect();
    assert_eq!(lines, vec![3, 4, 7], "{e:#?}");
    assert!(e[0].message.contains("at most 50"));
}

#[test]
fn plain_http_media_warns_except_on_this_machine() {
    let c = Config::parse("[media]\npublic_base_url = \"http://example.gov.vn/m\"\n").unwrap();
    assert_eq!(c.warnings.len(), 1);
    assert_eq!(
        c.media.public_base_url.as_deref(),
        Some("http://example.gov.vn/m/"),
        "a slash is added"
    );
    let c = Config::parse("[media]\npublic_base_url = \"http://127.0.0.1:8080/m/\"\n").unwrap();
    assert!(c.warnings.is_empty());
}

#[test]
fn syntax_errors_are_located() {
    let e = errors("timezone = \"Asia/Ho_Chi_Minh\"\n[schedule\n");
    assert_eq!(e[0].line, 2);
}

#[test]
fn relative_paths_resolve_against_the_config_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("config")).unwrap();
    let path = dir.path().join("config/loa.toml");
    std::fs::write(&path, "posts_dir = \"../bai-viet\"\ndata_dir = \"data\"\n").unwrap();
    let c = Config::from_file(&path).unwrap();
    assert_eq!(c.posts_dir, dir.path().join("bai-viet"));
    assert_eq!(c.data_dir, dir.path().join("config/data"));
}

#[test]
fn a_bom_from_notepad_is_fine() {
    assert!(Config::parse("\u{feff}language = \"en\"\n").is_ok());
}

const ALERTS: &str = "[alerts]\nweekly_digest = \"Mon 08:00\"\n[[alerts.email]]\nsmtp_host = \"smtp.example.gov.vn\"\nsmtp_port = 587\nsecurity = \"starttls\"\nusername = \"loa@example.gov.vn\"\nfrom = \"loa <loa@example.gov.vn>\"\nto = [\"vanhoa@example.gov.vn\"]\n[[alerts.email]]\nsmtp_host = \"127.0.0.1\"\nsecurity = \"none\"\nfrom = \"loa@example.gov.vn\"\nto = [\"a@example.gov.vn\", \"Chủ tịch <b@example.gov.vn>\"]\n[[alerts.webhook]]\nurl = \"https://example.gov.vn/hooks/loa\"\n";

#[test]
fn the_contracts_alerts_section_reads_into_sinks() {
    let c = Config::parse(ALERTS).unwrap();
    let alerts = c.alerts.unwrap();
    assert_eq!(
        alerts.weekly_digest,
        Some(Slot::parse("Mon 08:00").unwrap())
    );
    assert_eq!(alerts.email.len(), 2);
    let first = &alerts.email[0];
    assert_eq!(
        (first.smtp_host.as_str(), first.smtp_port, first.security),
        ("smtp.example.gov.vn", 587, SmtpSecurity::StartTls)
    );
    assert_eq!(first.username.as_deref(), Some("loa@example.gov.vn"));
    assert_eq!(first.from, "loa <loa@example.gov.vn>");
    let second = &alerts.email[1];
    assert_eq!(
        (second.smtp_port, second.security),
        (25, SmtpSecurity::None)
    );
    assert_eq!(second.username, None);
    assert_eq!(second.to.len(), 2);
    assert_eq!(alerts.webhook[0].url, "https://example.gov.vn/hooks/loa");
    assert!(c.warnings.is_empty());
    // Without the section, no alerts.
    assert!(Config::parse("").unwrap().alerts.is_none());
}

#[test]
fn the_shipped_examples_alerts_block_is_valid_once_uncommented() {
    let start = EXAMPLE
        .find("# [alerts]")
        .expect("the example has [alerts]");
    let block: String = EXAMPLE[start..]
        .lines()
        .map(|l| l.strip_prefix("# ").unwrap_or(l))
        .filter(|l| l.starts_with('[') || l.contains(" = "))
        .map(|l| format!("{l}\n"))
        .collect();
    let c = Config::parse(&block).unwrap_or_else(|e| panic!("{block}\n{e:#?}"));
    let alerts = c.alerts.unwrap();
    assert_eq!((alerts.email.len(), alerts.webhook.len()), (1, 1));
}

#[test]
fn an_unknown_key_in_an_email_sink_names_its_place() {
    let e = errors(
        "[alerts]\n[[alerts.webhook]]\nurl = \"https://x.vn/h\"\n[[alerts.email]]\nsmtp_host = \"h\"\n[[alerts.email]]\nsmtp_hots = \"smtp.example.gov.vn\"\n",
    );
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(e[0].line, 7);
    assert_eq!(e[0].message, "unknown key `alerts.email[2].smtp_hots`");
    assert!(
        e[0].fix
            .as_deref()
            .unwrap()
            .starts_with("did you mean `alerts.email[2].smtp_host`?"),
        "{:?}",
        e[0].fix
    );
    let e = errors("[alerts]\nemail = \"a@b.vn\"\n");
    assert!(
        e[0].message.contains("[[alerts.email]]"),
        "{:?}",
        e[0].message
    );
}

#[test]
fn alert_secrets_in_the_file_point_to_the_environment() {
    let e = errors(
        "[alerts]\n[[alerts.email]]\nsmtp_host = \"h\"\npassword = \"hunter2\"\n[[alerts.webhook]]\nurl = \"https://x.vn/h\"\nsecret = \"whsec\"\n",
    );
    assert_eq!(e.len(), 2, "{e:#?}");
    assert_eq!((e[0].line, e[1].line), (4, 7));
    assert!(e[0].fix.as_deref().unwrap().contains("LOA_SMTP_PASSWORD"));
    assert!(e[1].fix.as_deref().unwrap().contains("LOA_WEBHOOK_SECRET"));
    assert!(
        e.iter()
            .all(|d| !format!("{d:?}").contains("hunter2") && !format!("{d:?}").contains("whsec"))
    );
}

#[test]
fn bad_alert_values_are_all_reported_with_their_lines() {
    let text = "[alerts]\nweekly_digest = \"Someday\"\n[[alerts.email]]\nsmtp_host = \"smtp.example.gov.vn\"\nsmtp_port = 70000\nsecurity = \"none\"\nfrom = \"loa at example\"\nto = [\"ok@example.gov.vn\", \"vanhoa\"]\n[[alerts.email]]\nsecurity = \"ssl\"\n[[alerts.webhook]]\nurl = \"http://example.gov.vn/h\"\n[[alerts.webhook]]\nurl = \"example.gov.vn/h\"\n[[alerts.webhook]]\nurl = \"http://127.0.0.1:9/h\"\n";
    let e = errors(text);
    let found: Vec<(usize, &str)> = e.iter().map(|d| (d.line, d.message.as_str())).collect();
    let lines: Vec<usize> = found.iter().map(|(l, _)| *l).collect();
    // The missing keys of the second email sink are told at its header (line 9).
    assert_eq!(
        lines,
        vec![2, 5, 6, 7, 8, 9, 9, 9, 10, 12, 14],
        "{found:#?}"
    );
    assert!(
        found[1].1.contains("`alerts.email[1].smtp_port`"),
        "{found:?}"
    );
    assert!(found[2].1.contains("127.0.0.1"), "{found:?}");
    assert!(found[4].1.contains("`alerts.email[1].to[2]`"), "{found:?}");
    assert!(found[9].1.contains("`alerts.webhook[1].url`"), "{found:?}");
    assert!(e[2].fix.as_deref().unwrap().contains("starttls"));
}

#[test]
fn an_alerts_section_without_sinks_warns() {
    let c = Config::parse("[alerts]\nweekly_digest = \"Thứ 2 08:00\"\n").unwrap();
    assert_eq!(c.warnings.len(), 1);
    assert!(c.alerts.unwrap().email.is_empty());
}

#[test]
fn plain_http_webhooks_only_go_to_this_machine() {
    let e = errors("[alerts]\n[[alerts.webhook]]\nurl = \"http://127.0.0.1.example.com/h\"\n");
    assert!(e[0].message.contains("plain http"), "{e:?}");
    for url in [
        "http://127.0.0.1:9/h",
        "http://localhost:9/h",
        "http://[::1]:9/h",
    ] {
        let c = Config::parse(&format!("[alerts]\n[[alerts.webhook]]\nurl = \"{url}\"\n"));
        assert!(c.is_ok(), "{url}: {c:?}");
    }
}
