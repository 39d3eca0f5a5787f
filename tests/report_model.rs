//! The report model over a fixture store with known figures: exact totals, periods, targets,
//! follower growth, top posts, tags and attention; and the JSON's contract keys.

mod common;

use chrono::NaiveDate;
use common::metrics::{at, fb, published, snapshot, zalo};
use loa::channel::Channel;
use loa::config::Config;
use loa::metrics::RetiredMetric;
use loa::report::model::{AttentionKind, PeriodStatus};
use loa::report::{By, Options, Report};
use loa::store::{State, Store};

const CONFIG: &str = r#"
timezone = "Asia/Ho_Chi_Minh"
posts_dir = "posts"
language = "en"
[facebook]
page_id = "123456789012345"
[zalo]
app_id = "1234567890"
author = "UBND xã Thanh Kỳ"
default_cover_url = "https://example.gov.vn/logo.jpg"
[targets]
facebook = "2/week"
zalo = "1/week"
"#;

fn day(s: &str) -> NaiveDate {
    s.parse().expect("a date")
}

/// Thursday 3 December 2026, 10:00 in Vietnam.
const NOW: &str = "2026-12-03T03:00:00Z";

fn fixture() -> Store {
    let mut s = Store::open_in_memory().expect("store");
    // a.md: Tuesday 10 Nov 07:00 (00:00Z) on both channels; two snapshots, the newest counts.
    let a_fb = published(
        &mut s,
        "a.md",
        "Chuyển đổi số là gì?",
        &["cds"],
        Channel::Facebook,
        "1_1",
        at("2026-11-10T00:00:00Z"),
    );
    snapshot(
        &mut s,
        a_fb,
        at("2026-11-10T01:00:00Z"),
        Some(0),
        fb(100, 70, 8, 1, 0, Some(5)),
    );
    snapshot(
        &mut s,
        a_fb,
        at("2026-11-13T00:00:00Z"),
        Some(3),
        fb(1200, 800, 90, 12, 7, Some(30)),
    );
    let a_z = published(
        &mut s,
        "a.md",
        "Chuyển đổi số là gì?",
        &["cds"],
        Channel::Zalo,
        "z1",
        at("2026-11-10T00:00:00Z"),
    );
    snapshot(
        &mut s,
        a_z,
        at("2026-11-11T00:00:00Z"),
        Some(2),
        zalo(300, 4),
    );
    // b.md: Thursday 12 Nov on Facebook, clicks retired; its Zalo delivery failed.
    let b_fb = published(
        &mut s,
        "b.md",
        "Dịch vụ công trực tuyến",
        &["cds", "dvc"],
        Channel::Facebook,
        "1_2",
        at("2026-11-12T00:00:00Z"),
    );
    snapshot(
        &mut s,
        b_fb,
        at("2026-11-15T00:00:00Z"),
        Some(3),
        fb(500, 300, 20, 2, 1, None),
    );
    let b_z = s
        .insert_delivery(
            "id-b.md",
            Channel::Zalo,
            Some(at("2026-11-12T00:00:00Z")),
            false,
        )
        .unwrap();
    let mut d = s.delivery(b_z).unwrap().unwrap();
    d.state = State::Failed;
    d.last_error = Some("Zalo: -201 title is invalid!".into());
    s.save_delivery(&d).unwrap();
    // c.md: 24 Nov, never collected, a hostile title.
    published(
        &mut s,
        "c.md",
        "<script>alert(1)</script>",
        &[],
        Channel::Facebook,
        "1_3",
        at("2026-11-24T00:00:00Z"),
    );
    // d.md: before the range.
    let d_fb = published(
        &mut s,
        "d.md",
        "Cũ",
        &["cds"],
        Channel::Facebook,
        "1_4",
        at("2026-11-01T00:00:00Z"),
    );
    snapshot(
        &mut s,
        d_fb,
        at("2026-11-02T00:00:00Z"),
        Some(2),
        fb(9999, 1, 1, 1, 1, Some(1)),
    );
    // e.md: Tuesday 1 Dec, this week.
    let e_fb = published(
        &mut s,
        "e.md",
        "Tuần này",
        &[],
        Channel::Facebook,
        "1_5",
        at("2026-12-01T00:00:00Z"),
    );
    snapshot(
        &mut s,
        e_fb,
        at("2026-12-02T00:00:00Z"),
        Some(2),
        fb(50, 40, 2, 0, 0, Some(1)),
    );
    // Followers.
    s.record_account(
        Channel::Facebook,
        day("2026-11-01"),
        at("2026-11-01T01:00:00Z"),
        Some(900),
        &serde_json::json!({}),
    )
    .unwrap();
    s.record_account(
        Channel::Facebook,
        day("2026-11-09"),
        at("2026-11-09T01:00:00Z"),
        Some(1000),
        &serde_json::json!({}),
    )
    .unwrap();
    s.record_account(
        Channel::Facebook,
        day("2026-12-03"),
        at("2026-12-03T01:00:00Z"),
        Some(1040),
        &serde_json::json!({}),
    )
    .unwrap();
    s.record_account(
        Channel::Zalo,
        day("2026-11-20"),
        at("2026-11-20T01:00:00Z"),
        Some(500),
        &serde_json::json!({}),
    )
    .unwrap();
    // Facebook retired post_clicks; the channel is paused until tomorrow.
    s.record_retired(
        Channel::Facebook,
        &RetiredMetric {
            metric: "post_clicks".into(),
            figure: "clicks".into(),
            message: "(#100) The value must be a valid insights metric".into(),
        },
        at("2026-11-14T00:00:00Z"),
    )
    .unwrap();
    s.amend_channel(Channel::Facebook, |c| {
        c.health = loa::store::Health::RateLimited;
        c.paused_until = Some(at("2026-12-04T00:00:00Z"));
        c.reason = Some("(#80001) There have been too many calls to this Page account".into());
    })
    .unwrap();
    s
}

fn report(store: &Store, options: &Options) -> Report {
    loa::i18n::set_language(loa::i18n::Language::En);
    let config = Config::parse(CONFIG).expect("config");
    loa::report::load(store, &config, options, at(NOW), None).expect("report")
}

#[test]
fn totals_periods_targets_and_attention_are_exact() {
    let store = fixture();
    let r = report(&store, &Options::default());
    assert_eq!((r.since, r.until), (day("2026-11-09"), day("2026-12-03")));
    assert_eq!(r.timezone, "Asia/Ho_Chi_Minh");

    let fbt = &r.channels[0];
    assert_eq!(fbt.channel, Channel::Facebook);
    assert_eq!(fbt.posts, 4);
    assert_eq!(fb(1750, 1140, 112, 14, 8, Some(31)), fbt.figures);
    let zt = &r.channels[1];
    assert_eq!((zt.channel, zt.posts), (Channel::Zalo, 1));
    assert_eq!(zt.figures, zalo(300, 4));

    let fb_periods: Vec<_> = r
        .periods
        .iter()
        .filter(|p| p.channel == Channel::Facebook)
        .collect();
    let starts: Vec<NaiveDate> = fb_periods.iter().map(|p| p.start).collect();
    assert_eq!(
        starts,
        [
            day("2026-11-09"),
            day("2026-11-16"),
            day("2026-11-23"),
            day("2026-11-30")
        ]
    );
    assert_eq!(fb_periods[0].posts, 2);
    assert_eq!(fb_periods[0].figures, fb(1700, 1100, 110, 14, 8, Some(30)));
    assert_eq!(fb_periods[1].posts, 0);
    assert_eq!(fb_periods[1].figures, fb(0, 0, 0, 0, 0, Some(0)));
    assert_eq!(fb_periods[2].posts, 1);
    assert_eq!(
        fb_periods[2].figures.views, None,
        "a post never collected has no figure"
    );
    assert_eq!(fb_periods[3].figures.views, Some(50));

    let t = &r.targets[0];
    assert_eq!(
        (t.channel, t.target.as_str()),
        (Channel::Facebook, "2/week")
    );
    // 4 posts over 3 whole weeks and 4 days of this one.
    assert_eq!(t.achieved, 1.12);
    assert!(!t.met);
    let statuses: Vec<_> = t.periods.iter().map(|p| (p.posts, p.status)).collect();
    assert_eq!(
        statuses,
        [
            (2, PeriodStatus::Met),
            (0, PeriodStatus::Missed),
            (1, PeriodStatus::Missed),
            (1, PeriodStatus::Open)
        ]
    );
    let z = &r.targets[1];
    assert_eq!((z.channel, z.achieved, z.met), (Channel::Zalo, 0.28, false));

    let growth: Vec<_> = r
        .followers
        .iter()
        .map(|f| (f.channel, f.first, f.last, f.change))
        .collect();
    assert_eq!(
        growth,
        [
            (Channel::Facebook, 1000, 1040, 40),
            (Channel::Zalo, 500, 500, 0)
        ]
    );

    let top: Vec<_> = r
        .top_posts
        .iter()
        .map(|p| (p.file.as_str(), p.channel, p.metrics.views))
        .collect();
    assert_eq!(
        top,
        [
            ("a.md", Channel::Facebook, Some(1200)),
            ("b.md", Channel::Facebook, Some(500)),
            ("a.md", Channel::Zalo, Some(300)),
            ("e.md", Channel::Facebook, Some(50)),
        ]
    );
    let tags: Vec<_> = r
        .tags
        .iter()
        .map(|t| (t.tag.as_str(), t.posts, t.figures.views))
        .collect();
    assert_eq!(tags, [("cds", 3, Some(2000)), ("dvc", 1, Some(500))]);

    let attention: Vec<_> = r
        .attention
        .iter()
        .map(|a| (a.kind, a.file.as_deref(), a.channel, a.state.as_str()))
        .collect();
    assert_eq!(
        attention,
        [
            (
                AttentionKind::Delivery,
                Some("b.md"),
                Channel::Zalo,
                "failed"
            ),
            (
                AttentionKind::Channel,
                None,
                Channel::Facebook,
                "rate_limited"
            ),
            (
                AttentionKind::Channel,
                None,
                Channel::Facebook,
                "metric_retired"
            ),
        ]
    );
    assert!(
        r.attention[0].reason.contains("-201 title is invalid!"),
        "{}",
        r.attention[0].reason
    );
    assert!(
        r.attention[0]
            .fix
            .as_deref()
            .unwrap()
            .contains("loa retry b.md")
    );
    assert!(r.attention[2].reason.contains("post_clicks"));

    // Links: Facebook's post address when the platform gave none.
    assert_eq!(
        r.posts[0].link.as_deref(),
        Some("https://www.facebook.com/1_1")
    );
}

#[test]
fn a_range_and_months_can_be_asked_for() {
    let store = fixture();
    let r = report(
        &store,
        &Options {
            since: Some(day("2026-11-01")),
            until: Some(day("2026-11-30")),
            by: By::Month,
        },
    );
    assert_eq!(r.channels[0].posts, 4, "d, a, b and c in November");
    assert_eq!(r.channels[0].figures.views, Some(9999 + 1200 + 500));
    let fb_months: Vec<_> = r
        .periods
        .iter()
        .filter(|p| p.channel == Channel::Facebook)
        .map(|p| (p.start, p.posts))
        .collect();
    assert_eq!(fb_months, [(day("2026-11-01"), 4)]);
    assert_eq!(r.followers[0].first, 900);
}

#[test]
fn json_has_the_contract_keys_and_shapes() {
    let store = fixture();
    let r = report(&store, &Options::default());
    let v = serde_json::to_value(&r).expect("json");
    for key in [
        "since",
        "until",
        "timezone",
        "channels",
        "periods",
        "posts",
        "targets",
        "attention",
    ] {
        assert!(v.get(key).is_some(), "missing key {key}");
    }
    assert_eq!(v["since"], "2026-11-09");
    assert_eq!(
        v["channels"][1],
        serde_json::json!({"channel": "zalo", "posts": 1, "views": 300, "shares": 4})
    );
    let post = &v["posts"][0];
    for key in [
        "file",
        "title",
        "channel",
        "remote_id",
        "published_at",
        "metrics",
    ] {
        assert!(post.get(key).is_some(), "post lacks {key}");
    }
    assert_eq!(post["published_at"], "2026-11-10T07:00:00+07:00");
    assert_eq!(
        v["posts"][1]["metrics"],
        serde_json::json!({"views": 300, "shares": 4})
    );
    let target = &v["targets"][0];
    assert_eq!(target["channel"], "facebook");
    assert_eq!(target["target"], "2/week");
    assert_eq!(target["achieved"], 1.12);
    assert_eq!(target["met"], false);
    let a = &v["attention"][0];
    for key in ["file", "channel", "state", "reason"] {
        assert!(a.get(key).is_some(), "attention lacks {key}");
    }
}
