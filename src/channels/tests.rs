//! The registry: every channel once, its checks, broadcast and metrics asked of its spec, and
//! one client and one Zalo token manager per build.

use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::clock::Clock;
use crate::post::tests::{config, places};

fn read(text: &str) -> Loaded {
    load_bytes(Path::new("bai.md"), text.as_bytes(), &config())
}

#[test]
fn every_channel_has_exactly_one_spec() {
    for channel in Channel::ALL {
        let n = SPECS.iter().filter(|s| s.channel() == channel).count();
        assert_eq!(n, 1, "{channel}");
    }
    assert_eq!(SPECS.len(), Channel::ALL.len());
    let order: Vec<Channel> = SPECS.iter().map(|s| s.channel()).collect();
    assert_eq!(
        order,
        Channel::ALL,
        "listed in the order loa lists channels"
    );
}

#[test]
fn metrics_are_the_channels_own_in_the_contracts_order() {
    assert_eq!(metrics(Channel::Facebook), METRICS);
    assert_eq!(metrics(Channel::Zalo), ["views", "shares"]);
    for spec in SPECS {
        let at: Vec<usize> = spec
            .metrics()
            .iter()
            .map(|m| {
                METRICS
                    .iter()
                    .position(|n| n == m)
                    .expect("a contract name")
            })
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{}", spec.channel());
    }
}

#[test]
fn broadcast_is_asked_of_the_channel() {
    let post = |fm: &str| {
        read(&format!("---\ntitle: x\n{fm}---\nBody\n"))
            .post
            .unwrap()
    };
    let asks = post("zalo: { broadcast: true }\n");
    assert!(wants_broadcast(Channel::Zalo, &asks, &config()));
    assert!(!wants_broadcast(Channel::Facebook, &asks, &config()));
    let plain = post("");
    assert!(!wants_broadcast(Channel::Zalo, &plain, &config()));
    let mut cfg = config();
    cfg.zalo.broadcast = true;
    assert!(
        wants_broadcast(Channel::Zalo, &plain, &cfg),
        "the config's default"
    );
    assert!(!wants_broadcast(Channel::Facebook, &plain, &cfg));
}

#[test]
fn reading_a_post_alone_knows_no_platform_limit() {
    let text = format!("---\ntitle: \"{}\"\n---\nBody\n", "Tin ".repeat(40));
    let bare = crate::post::load_bytes(Path::new("bai.md"), text.as_bytes(), &config());
    assert!(bare.problems.is_empty(), "{:#?}", bare.problems);
    assert!(bare.post.is_some());
    let checked = read(&text);
    assert_eq!(places(&checked), vec![(2, 8, "Error".into())]);
    assert!(checked.post.is_none(), "a channel's error stops the post");
}

#[test]
fn only_the_posts_channels_are_checked() {
    let text = format!(
        "---\ntitle: \"{}\"\nchannels: [facebook]\n---\nBody\n",
        "Tin ".repeat(40)
    );
    assert!(read(&text).problems.is_empty());
}

#[test]
fn zalo_limits_point_at_the_front_matter() {
    let long = "Tin ".repeat(40);
    let l = read(&format!(
        "---\ntitle: \"{long}\"\nzalo:\n  description: \"{}\"\n---\nBody\n",
        "mô tả ".repeat(60)
    ));
    let p = places(&l);
    assert_eq!(
        p,
        vec![(2, 8, "Error".into()), (4, 16, "Error".into())],
        "{:#?}",
        l.problems
    );
    // A shorter Zalo title fixes the first.
    let l = read(&format!(
        "---\ntitle: \"{long}\"\nzalo: {{ title: \"Tin ngắn\" }}\n---\nBody\n"
    ));
    assert!(l.problems.is_empty(), "{:#?}", l.problems);
}

#[test]
fn long_titles_warn_before_they_fail() {
    let l = read(&format!("---\ntitle: \"{}\"\n---\nBody\n", "a".repeat(145)));
    assert_eq!(places(&l), vec![(2, 8, "Warning".into())]);
    assert!(l.post.is_some(), "a warning does not stop the post");
}

#[test]
fn derived_description_is_cut_near_250_on_a_word() {
    let para = "Người dân xã Thanh Kỳ ".repeat(30);
    let l = read(&format!("---\ntitle: x\n---\n{para}\n"));
    let post = l.post.unwrap();
    let article = crate::render::zalo::render(&post, &config());
    let n = crate::text::char_len(&article.description);
    assert!((230..=251).contains(&n), "{n}: {}", article.description);
    assert!(article.description.ends_with('…'));
    assert!(!article.description.ends_with(" …"));
}

#[test]
fn facebook_text_over_its_limit_is_refused() {
    let body = "Bà con thân mến. ".repeat(4_000);
    let l = read(&format!(
        "---\ntitle: x\nchannels: [facebook]\n---\n{body}\n"
    ));
    assert_eq!(
        places(&l),
        vec![(1, 1, "Error".into())],
        "{:#?}",
        l.problems
    );
    assert!(l.problems[0].diagnostic.message.contains("63206"));
}

fn sandbox_secrets() -> Secrets {
    Secrets::given([
        ("LOA_FACEBOOK_PAGE_TOKEN", "page-token".to_string()),
        ("LOA_ZALO_APP_SECRET", "app-secret".to_string()),
        ("LOA_ZALO_REFRESH_TOKEN", "refresh-0".to_string()),
    ])
}

#[test]
fn the_registry_builds_each_enabled_channel_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config();
    cfg.data_dir = dir.path().to_path_buf();
    let built = build(&cfg, &Clock::system(), &sandbox_secrets());
    let served: Vec<Channel> = built.publishers.iter().map(|p| p.channel()).collect();
    assert_eq!(served, Channel::ALL);
    assert!(built.unavailable.is_empty(), "{:#?}", built.unavailable);

    cfg.facebook.enabled = false;
    let built = build(&cfg, &Clock::system(), &sandbox_secrets());
    let served: Vec<Channel> = built.publishers.iter().map(|p| p.channel()).collect();
    assert_eq!(served, [Channel::Zalo]);
}

#[test]
fn one_zalo_token_manager_is_shared_by_the_client_and_the_refresh_job() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config();
    cfg.data_dir = dir.path().to_path_buf();
    let built = build(&cfg, &Clock::system(), &sandbox_secrets());
    let auth = built.zalo_auth.expect("Zalo is served");
    // The manager handed to the service (for its refresh job) and the one inside the Zalo client
    // are the same allocation: `Channels` holds one reference, the client the other, and no
    // second manager exists.
    assert_eq!(Arc::strong_count(&auth), 2);
    // The collectors are the same client objects as the publishers: dropping both releases it.
    drop(built.publishers);
    drop(built.collectors);
    assert_eq!(
        Arc::strong_count(&auth),
        1,
        "the client held the same manager"
    );
}

#[test]
fn each_served_channel_collects_metrics_through_its_publishing_client() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config();
    cfg.data_dir = dir.path().to_path_buf();
    let built = build(&cfg, &Clock::system(), &sandbox_secrets());
    let collected: Vec<Channel> = built.collectors.iter().map(|c| c.channel()).collect();
    assert_eq!(collected, Channel::ALL);
    // One object per channel: publishing and metrics share its pause gate and usage figures.
    for (p, c) in built.publishers.iter().zip(&built.collectors) {
        assert_eq!(
            Arc::as_ptr(p).cast::<()>(),
            Arc::as_ptr(c).cast::<()>(),
            "{}",
            p.channel()
        );
    }
}

#[test]
fn a_channel_without_its_secrets_is_unavailable_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config();
    cfg.data_dir = dir.path().to_path_buf();
    let built = build(&cfg, &Clock::system(), &Secrets::given([]));
    assert!(built.publishers.is_empty());
    assert!(built.zalo_auth.is_none());
    let missing: Vec<(Channel, &str)> = built
        .unavailable
        .iter()
        .map(|u| (u.channel, u.health))
        .collect();
    assert_eq!(
        missing,
        [
            (Channel::Facebook, "needs_reauth"),
            (Channel::Zalo, "needs_reauth")
        ]
    );
    assert!(
        built.unavailable[0]
            .reason
            .contains("LOA_FACEBOOK_PAGE_TOKEN")
    );
    assert!(built.unavailable[1].reason.contains("LOA_ZALO_APP_SECRET"));

    // An app secret but no token yet: Zalo waits for `loa auth zalo`.
    let built = build(
        &cfg,
        &Clock::system(),
        &Secrets::given([("LOA_ZALO_APP_SECRET", "app-secret".to_string())]),
    );
    assert!(built.zalo_auth.is_none());
    assert!(built.unavailable[1].reason.contains("loa auth zalo"));
}

#[test]
fn given_secrets_are_trimmed_and_blank_ones_are_none() {
    use secrecy::ExposeSecret;
    let s = Secrets::given([("A", " x \n".to_string()), ("B", "  ".to_string())]);
    assert_eq!(s.get("A").unwrap().expose_secret(), "x");
    assert!(s.get("B").is_none());
    assert!(s.get("PATH").is_none(), "the environment is not read");
}
