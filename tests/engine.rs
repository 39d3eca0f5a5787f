//! The delivery engine with a fake channel and tokio's paused clock: schedules, every outcome
//! class, reconciliation, crashes, and the posts folder's edits, deletions and renames.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use common::fake::{Call, FakeChannel, Script};
use common::world::{World, at, boot, native_engine, run_for, start, states};
use loa::channel::Channel;
use loa::engine::{Clock, Engine};
use loa::publisher::{Outcome, Publisher, Reconciled};
use loa::store::{BroadcastState, State, Store};

#[tokio::test(start_paused = true)]
async fn a_post_for_now_goes_out_within_two_seconds() {
    let w = World::new("");
    w.write("a.md", "title: \"Tin khẩn\"\npublish_at: now", "Nội dung.");
    let fb = FakeChannel::new(Channel::Facebook);
    let engine = w.engine(&[&fb]);
    boot(&engine).await;
    run_for(&engine, Duration::from_secs(2)).await;
    assert_eq!(fb.titles(), ["Tin khẩn"]);
    assert_eq!(
        states(&engine).await,
        [("a.md".into(), Channel::Facebook, State::Published)]
    );
}

#[tokio::test(start_paused = true)]
async fn slots_are_tuesday_and_thursday_at_seven_one_post_each() {
    let w = World::new("");
    w.write("1-first.md", "title: \"Một\"", "x");
    w.write("2-second.md", "title: \"Hai\"", "x");
    w.write(
        "3-exact.md",
        "title: \"Ba\"\npublish_at: 02/12/2026 09:30",
        "x",
    );
    let fb = FakeChannel::new(Channel::Facebook);
    let engine = w.engine(&[&fb]);
    boot(&engine).await;
    let due: Vec<Option<DateTime<Utc>>> = engine
        .with_store(|s| Ok(s.deliveries()?.into_iter().map(|d| d.due_at).collect()))
        .await
        .unwrap();
    let mut due: Vec<String> = due
        .into_iter()
        .map(|t| {
            t.unwrap()
                .with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
                .to_rfc3339()
        })
        .collect();
    due.sort();
    assert_eq!(
        due,
        [
            "2026-12-01T07:00:00+07:00",
            "2026-12-02T09:30:00+07:00",
            "2026-12-03T07:00:00+07:00"
        ]
    );

    // Nothing before Tuesday 07:00; the first post at 07:00, the exact one Wednesday, the second Thursday.
    run_for(
        &engine,
        (at("2026-12-01T06:59:00+07:00") - start())
            .to_std()
            .unwrap(),
    )
    .await;
    assert!(fb.titles().is_empty());
    run_for(&engine, Duration::from_secs(120)).await;
    assert_eq!(fb.titles(), ["Một"]);
    run_for(&engine, Duration::from_secs(3 * 86_400)).await;
    assert_eq!(fb.titles(), ["Một", "Ba", "Hai"]);
}

#[tokio::test(start_paused = true)]
async fn drafts_and_invalid_posts_are_not_scheduled_until_fixed() {
    let w = World::new("");
    w.write(
        "draft.md",
        "title: \"Nháp\"\npublish_at: now\ndraft: true",
        "x",
    );
    w.write(
        "broken.md",
        "title: \"Hỏng\"\npublish_at: 31/02/2026 07:00",
        "x",
    );
    let fb = FakeChannel::new(Channel::Facebook);
    let engine = w.engine(&[&fb]);
    boot(&engine).await;
    assert!(states(&engine).await.is_empty());
    let problems = engine
        .with_store(|s| {
            Ok(s.all_posts()?
                .into_iter()
                .find(|p| p.path == "broken.md")
                .unwrap()
                .problems)
        })
        .await
        .unwrap();
    assert!(problems.unwrap()[0].contains("31/02/2026"));

    w.write("broken.md", "title: \"Hỏng\"\npublish_at: now", "x");
    w.write("draft.md", "title: \"Nháp\"\npublish_at: now", "x");
    engine.sync().await.unwrap();
    run_for(&engine, Duration::from_secs(2)).await;
    let mut titles = fb.titles();
    titles.sort();
    assert_eq!(titles, ["Hỏng", "Nháp"]);
}

#[tokio::test(start_paused = true)]
async fn transient_failures_back_off_then_publish() {
    let w = World::new("");
    w.write("a.md", "title: \"A\"\npublish_at: now", "x");
    let fb = FakeChannel::new(Channel::Facebook);
    let busy = || {
        Script::Answer(Outcome::Transient {
            message: "(#2) Service temporarily unavailable".into(),
            retry_after: None,
        })
    };
    fb.script([busy(), busy()]);
    let engine = w.engine(&[&fb]);
    boot(&engine).await;
    run_for(&engine, Duration::from_secs(10)).await;
    assert!(
        fb.titles().is_empty(),
        "the first retry waits at least base_delay"
    );
    run_for(&engine, Duration::from_secs(200)).await;
    assert_eq!(fb.titles(), ["A"]);
    let d = engine
        .with_store(|s| Ok(s.deliveries()?.remove(0)))
        .await
        .unwrap();
    assert_eq!((d.attempts, d.state), (3, State::Published));
}

#[tokio::test(start_paused = true)]
async fn the_retry_budget_ends_in_failed_with_the_platforms_words() {
    let w = World::new("");
    w.write("a.md", "title: \"A\"\npublish_at: now", "x");
    let fb = FakeChannel::new(Channel::Facebook);
    fb.script((0..4).map(|_| {
        Script::Answer(Outcome::Transient {
            message: "(#1) An unknown error occurred".into(),
            retry_after: None,
        })
    }));
    let engine = w.engine(&[&fb]);
    boot(&engine).await;
    run_for(&engine, Duration::from_secs(3600)).await;
    let d = engine
        .with_store(|s| Ok(s.deliveries()?.remove(0)))
        .await
        .unwrap();
    assert_eq!((d.state, d.attempts), (State::Failed, 4));
    assert_eq!(
        d.last_error.as_deref(),
        Some("(#1) An unknown error occurred")
    );
}

#[tokio::test(start_paused = true)]
async fn permanent_refusals_fail_at_once() {
    let w = World::new("");
    w.write("a.md", "title: \"A\"\npublish_at: now", "x");
    let fb = FakeChannel::new(Channel::Facebook);
    fb.script([Script::Answer(Outcome::Permanent {
        message: "(#100) Invalid parameter".into(),
    })]);
    let engine = w.engine(&[&fb]);
    boot(&engine).await;
    run_for(&engine, Duration::from_secs(3600)).await;
    assert_eq!(fb.calls().len(), 1);
    assert_eq!(states(&engine).await[0].2, State::Failed);
}

#[tokio::test(start_paused = true)]
async fn a_rate_limit_pauses_the_whole_channel() {
    let w = World::new("");
    w.write("a.md", "title: \"A\"\npublish_at: now", "x");
    w.write("b.md", "title: \"B\"\npublish_at: 26/11/2026 20:05", "x");
    let fb = FakeChannel::new(Channel::Facebook);
    let until = start() + chrono::Duration::minutes(30);
    fb.script([Script::Answer(Outcome::RateLimited {
        message: "(#80001) too many calls".into(),
        until,
    })]);
    let engine = w.engine(&[&fb]);
    boot(&engine).await;
    run_for(&engine, Duration::from_secs(29 * 60)).await;
    // One request hit the limit; the other post waited with it, nothing failed.
    assert_eq!(fb.calls().len(), 1, "{:?}", fb.calls());
    assert!(
        states(&engine)
            .await
            .iter()
            .all(|s| s.2 == State::RetryWait || s.2 == State::Scheduled)
    );
    run_for(&engine, Duration::from_secs(120)).await;
    assert_eq!(fb.titles().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn an_expired_token_holds_deliveries_without_failing_them() {
    let w = World::new("");
    w.write("a.md", "title: \"A\"\npublish_at: now", "x");
    let fb = FakeChannel::new(Channel::Facebook);
    fb.script([Script::Answer(Outcome::AuthExpired {
        message: "(#190) Session has expired".into(),
    })]);
    let engine = w.engine(&[&fb]);
    boot(&engine).await;
    run_for(&engine, Duration::from_secs(86_400)).await;
    assert_eq!(fb.calls().len(), 1);
    assert_eq!(states(&engine).await[0].2, State::RetryWait);
    let health = engine
        .with_store(|s| Ok(s.channels()?.remove(0).health))
        .await
        .unwrap();
    assert_eq!(health, loa::store::Health::NeedsReauth);

    // A restart (new token in the environment) resumes it.
    drop(engine);
    let engine = w.engine(&[&fb]);
    boot(&engine).await;
    run_for(&engine, Duration::from_secs(2)).await;
    assert_eq!(fb.titles(), ["A"]);
}

#[tokio::test(start_paused = true)]
async fn a_lost_answer_whose_post_exists_is_not_sent_again() {
    let w = World::new("");
    w.write("a.md", "title: \"A\"\npublish_at: now", "x");
    let fb = FakeChannel::new(Channel::Facebook);
    fb.script([Script::Ghost]);
    let engine = w.engine(&[&fb]);
    boot(&engine).await;
    run_for(&engine, Duration::from_secs(3600)).await;
    assert_eq!(fb.titles(), ["A"], "exactly one post on the platform");
    assert_eq!(
        fb.calls(),
        [Call::Publish("A".into()), Call::Reconcile("A".into())]
    );
    let d = engine
        .with_store(|s| Ok(s.deliveries()?.remove(0)))
        .await
        .unwrap();
    assert_eq!(
        (d.state, d.remote_id.as_deref()),
        (State::Published, Some("facebook-1"))
    );
}

#[tokio::test(start_paused = true)]
async fn a_lost_request_is_retried_only_after_the_platform_says_it_is_absent() {
    let w = World::new("");
    w.write("a.md", "title: \"A\"\npublish_at: now", "x");
    let fb = FakeChannel::new(Channel::Facebook);
    fb.script([Script::Lost]);
    let engine = w.engine(&[&fb]);
    boot(&engine).await;
    run_for(&engine, Duration::from_secs(3600)).await;
    assert_eq!(
        fb.calls(),
        [
            Call::Publish("A".into()),
            Call::Reconcile("A".into()),
            Call::Publish("A".into())
        ]
    );
    assert_eq!(fb.titles(), ["A"]);
}

#[tokio::test(start_paused = true)]
async fn an_undecidable_reconciliation_ends_unconfirmed_and_never_resends() {
    let w = World::new("");
    w.write("a.md", "title: \"A\"\npublish_at: now", "x");
    let fb = FakeChannel::new(Channel::Facebook);
    fb.script([Script::Lost]);
    // `max_attempts` is 4 here: as many failed listings as a publish gets tries.
    fb.script_reconcile((0..4).map(|_| Reconciled::Unknown {
        message: "listing failed".into(),
    }));
    let engine = w.engine(&[&fb]);
    boot(&engine).await;
    run_for(&engine, Duration::from_secs(86_400)).await;
    let publishes = fb
        .calls()
        .iter()
        .filter(|c| matches!(c, Call::Publish(_)))
        .count();
    assert_eq!(publishes, 1);
    let d = engine
        .with_store(|s| Ok(s.deliveries()?.remove(0)))
        .await
        .unwrap();
    assert_eq!(d.state, State::Unconfirmed);
    assert!(d.last_error.unwrap().contains("loa retry"));
}

#[tokio::test(start_paused = true)]
async fn a_saved_processing_token_reaches_the_next_attempt() {
    let w = World::new("");
    w.write("a.md", "title: \"A\"\npublish_at: now", "x");
    let fb = FakeChannel::new(Channel::Facebook);
    fb.script([Script::TokenThen(Outcome::Transient {
        message: "still processing".into(),
        retry_after: None,
    })]);
    let engine = w.engine(&[&fb]);
    boot(&engine).await;
    run_for(&engine, Duration::from_secs(120)).await;
    assert_eq!(
        fb.progress_seen(),
        [None, Some("tk_01".to_string())],
        "the retry resumes with the token"
    );
    let d = engine
        .with_store(|s| Ok(s.deliveries()?.remove(0)))
        .await
        .unwrap();
    assert_eq!(
        (d.state, d.progress),
        (State::Published, None),
        "published clears the token"
    );
}

#[tokio::test(start_paused = true)]
async fn a_crash_mid_request_is_reconciled_at_start_up() {
    let w = World::new("");
    w.write("a.md", "title: \"A\"\npublish_at: now", "x");
    let fb = FakeChannel::new(Channel::Facebook);
    fb.script([Script::Slow(Duration::from_secs(60))]);
    let engine = w.engine(&[&fb]);
    boot(&engine).await;
    // Kill the service while the request is in flight (the platform still gets the post).
    let task = tokio::spawn(engine.clone().run(std::future::pending()));
    tokio::time::sleep(Duration::from_secs(1)).await;
    task.abort();
    let _ = task.await;
    tokio::time::sleep(Duration::from_secs(120)).await;
    drop(engine);
    assert_eq!(fb.titles(), ["A"]);

    let engine = w.engine(&[&fb]);
    assert_eq!(
        engine.recover().await.unwrap(),
        1,
        "one delivery was found mid-request"
    );
    engine.sync().await.unwrap();
    run_for(&engine, Duration::from_secs(10)).await;
    assert_eq!(fb.titles(), ["A"], "not published twice");
    assert_eq!(fb.calls().last(), Some(&Call::Reconcile("A".into())));
    assert_eq!(states(&engine).await[0].2, State::Published);
    assert!(engine.with_store(|s| s.integrity_ok()).await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn edits_update_published_posts_and_reschedule_pending_ones() {
    let w = World::new("");
    w.write("a.md", "title: \"A\"\npublish_at: now", "x");
    w.write("b.md", "title: \"B\"\npublish_at: 10/12/2026 07:00", "x");
    let fb = FakeChannel::new(Channel::Facebook);
    let engine = w.engine(&[&fb]);
    boot(&engine).await;
    run_for(&engine, Duration::from_secs(2)).await;
    assert_eq!(fb.titles(), ["A"]);

    w.write("a.md", "title: \"A (đính chính)\"\npublish_at: now", "x");
    w.write("b.md", "title: \"B\"\npublish_at: now", "x");
    engine.sync().await.unwrap();
    run_for(&engine, Duration::from_secs(2)).await;
    assert_eq!(fb.titles(), ["A (đính chính)", "B"]);
    assert!(
        fb.calls()
            .contains(&Call::Update("facebook-1".into(), "A (đính chính)".into()))
    );
}

#[tokio::test(start_paused = true)]
async fn deleting_cancels_unpublished_and_renaming_publishes_nothing_new() {
    let w = World::new("");
    w.write("a.md", "title: \"A\"\npublish_at: now", "x");
    w.write(
        "later.md",
        "title: \"Later\"\npublish_at: 10/12/2026 07:00",
        "x",
    );
    let fb = FakeChannel::new(Channel::Facebook);
    let engine = w.engine(&[&fb]);
    boot(&engine).await;
    run_for(&engine, Duration::from_secs(2)).await;

    std::fs::create_dir_all(w.posts.join("2026")).unwrap();
    std::fs::rename(w.posts.join("a.md"), w.posts.join("2026/a-renamed.md")).unwrap();
    std::fs::remove_file(w.posts.join("later.md")).unwrap();
    let report = engine.sync().await.unwrap();
    assert_eq!(
        report.renamed,
        [("a.md".to_string(), "2026/a-renamed.md".to_string())]
    );
    assert_eq!(report.removed, ["later.md"]);
    run_for(&engine, Duration::from_secs(2)).await;
    assert_eq!(
        states(&engine).await,
        [
            (
                "2026/a-renamed.md".into(),
                Channel::Facebook,
                State::Published
            ),
            ("later.md".into(), Channel::Facebook, State::Cancelled)
        ]
    );

    // Putting the deleted file back brings its delivery back; the renamed one stays published once.
    w.write(
        "later.md",
        "title: \"Later\"\npublish_at: 10/12/2026 07:00",
        "x",
    );
    engine.sync().await.unwrap();
    assert_eq!(states(&engine).await[1].2, State::Scheduled);
    run_for(&engine, Duration::from_secs(30 * 86_400)).await;
    assert_eq!(fb.titles(), ["A", "Later"]);
}

#[tokio::test(start_paused = true)]
async fn a_copy_of_a_post_is_held_back() {
    let w = World::new("");
    w.write("a.md", "title: \"A\"\npublish_at: now", "x");
    std::fs::copy(w.posts.join("a.md"), w.posts.join("a-copy.md")).unwrap();
    let fb = FakeChannel::new(Channel::Facebook);
    let engine = w.engine(&[&fb]);
    boot(&engine).await;
    run_for(&engine, Duration::from_secs(2)).await;
    assert_eq!(fb.titles(), ["A"]);
}

#[tokio::test(start_paused = true)]
async fn overdue_posts_are_missed_not_published_and_retry_brings_them_back() {
    let w = World::new("");
    w.write("old.md", "title: \"Cũ\"\npublish_at: 20/11/2026 07:00", "x");
    w.write(
        "recent.md",
        "title: \"Mới\"\npublish_at: 26/11/2026 08:00",
        "x",
    );
    let fb = FakeChannel::new(Channel::Facebook);
    let engine = w.engine(&[&fb]);
    boot(&engine).await;
    run_for(&engine, Duration::from_secs(2)).await;
    assert_eq!(fb.titles(), ["Mới"], "12 hours late is within max_lateness");
    assert_eq!(states(&engine).await[0].2, State::Missed);

    let n = loa::engine::commands::retry(&engine, "old.md", None, false)
        .await
        .unwrap();
    assert_eq!(n, 1);
    run_for(&engine, Duration::from_secs(2)).await;
    assert_eq!(fb.titles(), ["Mới", "Cũ"]);
}

#[tokio::test(start_paused = true)]
async fn concurrency_is_capped_per_channel() {
    let w = World::new("[zalo]\napp_id = \"2\"\ndefault_cover_url = \"https://x.gov.vn/c.jpg\"\n");
    for i in 0..8 {
        w.write(
            &format!("{i}.md"),
            &format!("title: \"Tin {i}\"\npublish_at: now"),
            "x",
        );
    }
    let fb = FakeChannel::new(Channel::Facebook);
    let zalo = FakeChannel::new(Channel::Zalo);
    fb.script((0..8).map(|_| Script::Slow(Duration::from_secs(5))));
    zalo.script((0..8).map(|_| Script::Slow(Duration::from_secs(5))));
    let engine = w.engine(&[&fb, &zalo]);
    boot(&engine).await;
    run_for(&engine, Duration::from_secs(120)).await;
    assert_eq!((fb.titles().len(), zalo.titles().len()), (8, 8));
    assert_eq!((fb.max_in_flight(), zalo.max_in_flight()), (2, 2));
}

#[tokio::test(start_paused = true)]
async fn shutdown_lets_in_flight_requests_finish() {
    let w = World::new("");
    w.write("a.md", "title: \"A\"\npublish_at: now", "x");
    let fb = FakeChannel::new(Channel::Facebook);
    fb.script([Script::Slow(Duration::from_secs(3))]);
    let engine = w.engine(&[&fb]);
    boot(&engine).await;
    run_for(&engine, Duration::from_millis(500)).await;
    assert_eq!(
        states(&engine).await[0].2,
        State::Published,
        "the request in flight finished before the stop"
    );
}

#[tokio::test(start_paused = true)]
async fn native_scheduling_hands_over_early_and_confirms_after_the_time() {
    let w = World::new("");
    w.write("a.md", "title: \"A\"\npublish_at: 01/12/2026 07:00", "x");
    let (engine, fb) = native_engine(&w);
    boot(&engine).await;
    run_for(&engine, Duration::from_secs(5)).await;
    assert_eq!(
        fb.held(),
        ["A"],
        "handed to the platform's scheduler right away: {:?} {:?}",
        fb.calls(),
        states(&engine).await
    );
    let d = engine
        .with_store(|s| Ok(s.deliveries()?.remove(0)))
        .await
        .unwrap();
    assert_eq!(
        (d.state, d.platform_scheduled, d.remote_id.as_deref()),
        (State::Scheduled, true, Some("facebook-1"))
    );

    // The office PC is off at 07:00; the platform publishes anyway, and loa confirms on return.
    drop(engine);
    tokio::time::sleep(
        (at("2026-12-01T09:00:00+07:00") - start())
            .to_std()
            .unwrap(),
    )
    .await;
    let engine = {
        let publishers: Vec<Arc<dyn Publisher>> = vec![Arc::new(fb.clone())];
        Arc::new(Engine::new(
            Store::open(&w.db).unwrap(),
            w.config.clone(),
            publishers,
            Clock::starting_at(at("2026-12-01T09:00:00+07:00")),
        ))
    };
    boot(&engine).await;
    run_for(&engine, Duration::from_secs(5)).await;
    assert_eq!(
        states(&engine).await[0].2,
        State::Published,
        "not missed: the platform had it"
    );
    assert_eq!(
        fb.calls()
            .iter()
            .filter(|c| matches!(c, Call::Publish(_)))
            .count(),
        1
    );
}

#[tokio::test(start_paused = true)]
async fn a_post_due_within_ten_minutes_is_published_by_loa_on_time() {
    let w = World::new("");
    w.write("a.md", "title: \"A\"\npublish_at: 26/11/2026 20:05", "x");
    let (engine, fb) = native_engine(&w);
    boot(&engine).await;
    run_for(&engine, Duration::from_secs(60)).await;
    assert!(
        fb.calls().is_empty(),
        "too close for the platform's scheduler; not early either"
    );
    run_for(&engine, Duration::from_secs(300)).await;
    assert_eq!(fb.titles(), ["A"]);
    assert!(fb.held().is_empty());
}

#[tokio::test(start_paused = true)]
async fn deleting_or_editing_a_platform_held_post_reaches_the_platform() {
    let w = World::new("");
    w.write("a.md", "title: \"A\"\npublish_at: 01/12/2026 07:00", "x");
    w.write("b.md", "title: \"B\"\npublish_at: 02/12/2026 07:00", "x");
    let (engine, fb) = native_engine(&w);
    boot(&engine).await;
    run_for(&engine, Duration::from_secs(5)).await;
    assert_eq!(fb.held().len(), 2);
    // Both were handed over at once, in either order: find which id each got.
    let ids: Vec<(String, String)> = engine
        .with_store(|s| {
            let posts = s.all_posts()?;
            Ok(s.deliveries()?
                .into_iter()
                .map(|d| {
                    (
                        posts
                            .iter()
                            .find(|p| p.id == d.post_id)
                            .unwrap()
                            .path
                            .clone(),
                        d.remote_id.unwrap(),
                    )
                })
                .collect())
        })
        .await
        .unwrap();
    let id_of = |file: &str| ids.iter().find(|(p, _)| p == file).unwrap().1.clone();

    std::fs::remove_file(w.posts.join("a.md")).unwrap();
    w.write(
        "b.md",
        "title: \"B (sửa)\"\npublish_at: 02/12/2026 08:00",
        "x",
    );
    engine.sync().await.unwrap();
    run_for(&engine, Duration::from_secs(5)).await;
    assert!(
        fb.calls().contains(&Call::Delete(id_of("a.md"))),
        "{:?}",
        fb.calls()
    );
    assert!(
        fb.calls()
            .contains(&Call::Update(id_of("b.md"), "B (sửa)".into())),
        "{:?}",
        fb.calls()
    );
    assert_eq!(fb.held(), ["B (sửa)"]);

    run_for(&engine, Duration::from_secs(7 * 86_400)).await;
    assert_eq!(fb.titles(), ["B (sửa)"]);
    assert_eq!(
        states(&engine).await,
        [
            ("a.md".into(), Channel::Facebook, State::Cancelled),
            ("b.md".into(), Channel::Facebook, State::Published)
        ]
    );
}

fn zalo_world() -> World {
    World::new(
        "[zalo]\napp_id = \"2\"\ndefault_cover_url = \"https://x.gov.vn/c.jpg\"\nbroadcast = false\n",
    )
}

#[tokio::test(start_paused = true)]
async fn a_broadcast_follows_publication_once_and_waits_out_the_night() {
    let w = zalo_world();
    w.write(
        "a.md",
        "title: \"A\"\npublish_at: now\nchannels: [zalo]\nzalo: { broadcast: true }",
        "x",
    );
    w.write(
        "b.md",
        "title: \"B\"\npublish_at: now\nchannels: [zalo]",
        "x",
    );
    let zalo = FakeChannel::new(Channel::Zalo);
    // 20:00 in Vietnam: Zalo refuses broadcasts at night until 06:00.
    let six = at("2026-11-27T06:00:00+07:00");
    zalo.script_broadcast([Outcome::RateLimited {
        message: "(error -234) cannot be sent at night".into(),
        until: six,
    }]);
    let engine = w.engine(&[&zalo]);
    boot(&engine).await;
    run_for(&engine, Duration::from_secs(60)).await;
    let broadcasts = |z: &FakeChannel| {
        z.calls()
            .iter()
            .filter(|c| matches!(c, Call::Broadcast(_)))
            .count()
    };
    assert_eq!(zalo.titles().len(), 2);
    assert_eq!(
        broadcasts(&zalo),
        1,
        "only the post that asked for it, once so far"
    );
    let d = engine
        .with_store(|s| {
            Ok(s.deliveries()?
                .into_iter()
                .find(|d| d.broadcast_state.is_some())
                .unwrap())
        })
        .await
        .unwrap();
    assert_eq!(
        (d.state, d.broadcast_state, d.broadcast_next),
        (State::Published, Some(BroadcastState::Pending), Some(six))
    );

    run_for(&engine, (six - start()).to_std().unwrap()).await;
    assert_eq!(broadcasts(&zalo), 2);
    let d = engine
        .with_store(|s| {
            Ok(s.deliveries()?
                .into_iter()
                .find(|d| d.broadcast_state.is_some())
                .unwrap())
        })
        .await
        .unwrap();
    assert_eq!(
        (d.broadcast_state, d.broadcast_id.is_some()),
        (Some(BroadcastState::Sent), true)
    );
    run_for(&engine, Duration::from_secs(86_400)).await;
    assert_eq!(broadcasts(&zalo), 2, "never sent twice");
}

#[tokio::test(start_paused = true)]
async fn a_lost_broadcast_answer_is_never_sent_again() {
    let w = zalo_world();
    w.write(
        "a.md",
        "title: \"A\"\npublish_at: now\nchannels: [zalo]\nzalo: { broadcast: true }",
        "x",
    );
    let zalo = FakeChannel::new(Channel::Zalo);
    zalo.script_broadcast([Outcome::Ambiguous {
        message: "timeout".into(),
    }]);
    let engine = w.engine(&[&zalo]);
    boot(&engine).await;
    run_for(&engine, Duration::from_secs(86_400)).await;
    assert_eq!(
        zalo.calls()
            .iter()
            .filter(|c| matches!(c, Call::Broadcast(_)))
            .count(),
        1
    );
    let d = engine
        .with_store(|s| Ok(s.deliveries()?.remove(0)))
        .await
        .unwrap();
    assert_eq!(
        (d.state, d.broadcast_state),
        (State::Published, Some(BroadcastState::Unconfirmed)),
        "a failed broadcast never undoes published"
    );
}

#[tokio::test]
async fn run_once_makes_one_attempt_at_each_due_delivery() {
    let w = World::new("");
    w.write("a.md", "title: \"A\"\npublish_at: now", "x");
    w.write("b.md", "title: \"B\"", "x");
    let fb = FakeChannel::new(Channel::Facebook);
    let publishers: Vec<Arc<dyn Publisher>> = vec![Arc::new(fb.clone())];
    let engine = Arc::new(Engine::new(
        Store::open(&w.db).unwrap(),
        w.config.clone(),
        publishers,
        Clock::system(),
    ));
    boot(&engine).await;
    assert_eq!(engine.run_once().await.unwrap(), 1);
    assert_eq!(fb.titles(), ["A"]);
    let _ = Path::new("");
}

#[tokio::test(start_paused = true)]
async fn a_listing_that_fails_for_a_while_is_asked_again_until_it_can_tell() {
    let w = World::new("");
    w.write("a.md", "title: \"A\"\npublish_at: now", "x");
    let fb = FakeChannel::new(Channel::Facebook);
    // Facebook made the post but the answer was lost; its listing then fails three times
    // (max_attempts is 4) before it answers.
    fb.script([Script::Ghost]);
    fb.script_reconcile((0..3).map(|_| Reconciled::Unknown {
        message: "(#2) Service temporarily unavailable".into(),
    }));
    let engine = w.engine(&[&fb]);
    boot(&engine).await;
    run_for(&engine, Duration::from_secs(86_400)).await;
    let calls = fb.calls();
    assert_eq!(
        calls
            .iter()
            .filter(|c| matches!(c, Call::Reconcile(_)))
            .count(),
        4,
        "{calls:?}"
    );
    assert_eq!(fb.titles(), ["A"], "found, never made twice");
    let d = engine
        .with_store(|s| Ok(s.deliveries()?.remove(0)))
        .await
        .unwrap();
    assert_eq!(
        (d.state, d.remote_id.as_deref()),
        (State::Published, Some("facebook-1"))
    );
}

#[tokio::test(start_paused = true)]
async fn a_rate_limited_listing_pauses_the_channel_and_is_not_a_try() {
    let w = World::new("");
    w.write("a.md", "title: \"A\"\npublish_at: now", "x");
    let fb = FakeChannel::new(Channel::Facebook);
    fb.script([Script::Ghost]);
    // More rate limits than max_attempts: none of them counts.
    fb.script_reconcile((1..=6).map(|i| Reconciled::Paused {
        message: "(#4) Application request limit reached".into(),
        until: start() + chrono::Duration::minutes(15 * i),
    }));
    let engine = w.engine(&[&fb]);
    boot(&engine).await;
    run_for(&engine, Duration::from_secs(3 * 3600)).await;
    assert_eq!(fb.titles(), ["A"]);
    let d = engine
        .with_store(|s| Ok(s.deliveries()?.remove(0)))
        .await
        .unwrap();
    assert_eq!((d.state, d.reconcile_tries), (State::Published, 0));
    let paused = engine
        .with_store(|s| Ok(s.channels()?.remove(0)))
        .await
        .unwrap();
    assert_eq!(
        paused.paused_until,
        Some(start() + chrono::Duration::minutes(90)),
        "the listing's rate limit paused the whole channel"
    );
}

#[tokio::test(start_paused = true)]
async fn an_unknown_value_in_the_store_is_never_published() {
    let w = World::new("");
    w.write("a.md", "title: \"A\"\npublish_at: 27/11/2026 09:00", "x");
    w.write("b.md", "title: \"B\"\npublish_at: 27/11/2026 09:00", "x");
    w.write("c.md", "title: \"C\"\npublish_at: 27/11/2026 09:00", "x");
    let fb = FakeChannel::new(Channel::Facebook);
    let engine = w.engine(&[&fb]);
    boot(&engine).await;
    // A newer loa (or a hand edit) wrote values this loa does not know, past the CHECKs.
    let db = rusqlite::Connection::open(&w.db).unwrap();
    db.execute_batch(
        "PRAGMA ignore_check_constraints = ON;
         UPDATE deliveries SET state = 'on_hold' WHERE post_id = (SELECT id FROM posts WHERE path = 'a.md');
         UPDATE deliveries SET channel = 'tiktok' WHERE post_id = (SELECT id FROM posts WHERE path = 'b.md');",
    )
    .unwrap();
    drop(db);
    engine.sync().await.expect("a sync goes on around them");
    run_for(&engine, Duration::from_secs(86_400)).await;

    assert_eq!(fb.titles(), ["C"], "only the readable delivery went out");
    let config = w.config.clone();
    let status = engine
        .with_store(move |s| loa::status::build(s, &config, start(), &[]))
        .await
        .unwrap();
    let problems: Vec<String> = status
        .unreadable
        .iter()
        .map(|u| format!("{} {}", u.file, u.problem))
        .collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems
            .iter()
            .any(|p| p.contains("a.md") && p.contains("`on_hold`")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("b.md") && p.contains("`tiktok`")),
        "{problems:?}"
    );
    assert!(problems.iter().all(|p| p.contains("never published")));
}
