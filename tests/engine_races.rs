//! What the officer decides while a request is in flight is what the platform gets. Each test
//! holds one platform call open (the request is "on the wire"), races a cancel, a deletion or
//! an edit against it, then lets the platform answer, and checks both the delivery's final
//! state and every call the platform received. Tokio's paused clock makes each race exact.

mod common;

use std::time::Duration;

use common::fake::{Call, FakeChannel, Hold, Script};
use common::world::{Running, World, boot, native_engine};
use loa::channel::Channel;
use loa::engine::Engine;
use loa::engine::commands;
use loa::publisher::{Outcome, Reconciled};
use loa::store::{BroadcastState, CancelReason, Delivery, State};

/// The only delivery in the store.
async fn the_delivery(engine: &Engine) -> Delivery {
    engine
        .with_store(|s| Ok(s.deliveries()?.remove(0)))
        .await
        .unwrap()
}

fn not_yet() -> Outcome {
    Outcome::Transient {
        message: "not published yet".into(),
        retry_after: None,
    }
}

fn count(calls: &[Call], wanted: fn(&Call) -> bool) -> usize {
    calls.iter().filter(|c| wanted(c)).count()
}

/// A post Facebook holds for 07:00 tomorrow (11 hours after the clock's start).
fn held_post(w: &World) {
    w.write("a.md", "title: \"A\"\npublish_at: 27/11/2026 07:00", "x");
}

#[tokio::test(start_paused = true)]
async fn a_cancel_during_a_confirm_withdraws_the_held_post() {
    let w = World::new("");
    held_post(&w);
    let (engine, fb) = native_engine(&w);
    boot(&engine).await;
    let gate = fb.hold(Hold::Confirm);
    fb.script_confirm([not_yet()]);
    let run = Running::start(&engine);
    gate.arrived().await;

    assert_eq!(
        commands::cancel(&engine, "a.md", None).await.unwrap(),
        1,
        "the officer's cancel is taken while Facebook is being asked"
    );
    gate.release();
    run.stop_after(Duration::from_secs(3600)).await;

    let d = the_delivery(&engine).await;
    assert_eq!(
        (d.state, d.cancel_reason, d.platform_scheduled),
        (State::Cancelled, Some(CancelReason::Officer), false)
    );
    let calls = fb.calls();
    assert_eq!(
        count(
            &calls,
            |c| matches!(c, Call::Delete(id) if id == "facebook-1")
        ),
        1,
        "withdrawn once: {calls:?}"
    );
    assert!(fb.titles().is_empty(), "Facebook keeps nothing to publish");
}

#[tokio::test(start_paused = true)]
async fn deleting_the_file_during_a_confirm_withdraws_the_held_post() {
    let w = World::new("");
    held_post(&w);
    let (engine, fb) = native_engine(&w);
    boot(&engine).await;
    let gate = fb.hold(Hold::Confirm);
    fb.script_confirm([not_yet()]);
    let run = Running::start(&engine);
    gate.arrived().await;

    std::fs::remove_file(w.posts.join("a.md")).unwrap();
    engine.sync().await.unwrap();
    gate.release();
    run.stop_after(Duration::from_secs(3600)).await;

    let d = the_delivery(&engine).await;
    assert_eq!(
        (d.state, d.cancel_reason),
        (State::Cancelled, Some(CancelReason::Deleted))
    );
    assert_eq!(
        count(&fb.calls(), |c| matches!(c, Call::Delete(_))),
        1,
        "{:?}",
        fb.calls()
    );
    assert!(fb.titles().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_cancel_during_the_look_up_after_a_lost_answer_sends_nothing_more() {
    let w = World::new("");
    w.write("a.md", "title: \"A\"\npublish_at: now", "x");
    let fb = FakeChannel::new(Channel::Facebook);
    // The create never reached Facebook, but its answer was lost: loa must look first.
    fb.script([Script::Lost]);
    let engine = w.engine(&[&fb]);
    boot(&engine).await;
    let gate = fb.hold(Hold::Reconcile);
    let run = Running::start(&engine);
    gate.arrived().await;

    assert_eq!(commands::cancel(&engine, "a.md", None).await.unwrap(), 1);
    gate.release();
    run.stop_after(Duration::from_secs(86_400)).await;

    let calls = fb.calls();
    assert_eq!(
        count(&calls, |c| matches!(c, Call::Publish(_))),
        1,
        "nothing is created after the cancel: {calls:?}"
    );
    assert!(fb.titles().is_empty());
    let d = the_delivery(&engine).await;
    assert_eq!((d.state, d.needs_reconcile), (State::Cancelled, false));
}

#[tokio::test(start_paused = true)]
async fn a_cancel_during_the_look_up_before_a_fresh_create_stops_the_create() {
    let w = World::new("");
    w.write("a.md", "title: \"A\"\npublish_at: now", "x");
    let fb = FakeChannel::new(Channel::Facebook);
    fb.script([Script::Lost]);
    // The first look-up cannot tell; the next one (made before a fresh create) is raced.
    fb.script_reconcile([Reconciled::Unknown {
        message: "(#2) Service temporarily unavailable".into(),
    }]);
    let engine = w.engine(&[&fb]);
    boot(&engine).await;
    let run = Running::start(&engine);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let gate = fb.hold(Hold::Reconcile);
    gate.arrived().await;
    assert_eq!(
        the_delivery(&engine).await.state,
        State::Publishing,
        "the look-up before a create holds the delivery"
    );

    assert_eq!(commands::cancel(&engine, "a.md", None).await.unwrap(), 1);
    gate.release();
    run.stop_after(Duration::from_secs(86_400)).await;

    assert_eq!(
        count(&fb.calls(), |c| matches!(c, Call::Publish(_))),
        1,
        "{:?}",
        fb.calls()
    );
    assert!(fb.titles().is_empty());
    assert_eq!(the_delivery(&engine).await.state, State::Cancelled);
}

#[tokio::test(start_paused = true)]
async fn a_cancel_during_a_create_that_lands_says_it_came_too_late() {
    let w = World::new("");
    w.write("a.md", "title: \"A\"\npublish_at: now", "x");
    let fb = FakeChannel::new(Channel::Facebook);
    let engine = w.engine(&[&fb]);
    boot(&engine).await;
    let gate = fb.hold(Hold::Publish);
    let run = Running::start(&engine);
    gate.arrived().await;

    assert_eq!(commands::cancel(&engine, "a.md", None).await.unwrap(), 1);
    gate.release();
    run.stop_after(Duration::from_secs(3600)).await;

    // The request was already on its way: the post is out, and the officer is told how to
    // take it down; nothing else is sent.
    let d = the_delivery(&engine).await;
    assert_eq!(
        (d.state, d.remote_id.as_deref()),
        (State::Published, Some("facebook-1"))
    );
    assert!(d.last_error.unwrap().contains("loa unpublish"));
    assert_eq!(fb.calls(), [Call::Publish("A".into())]);
}

#[tokio::test(start_paused = true)]
async fn an_edit_during_a_create_is_sent_as_an_update_right_after() {
    let w = World::new("");
    w.write("a.md", "title: \"A\"\npublish_at: now", "x");
    let fb = FakeChannel::new(Channel::Facebook);
    let engine = w.engine(&[&fb]);
    boot(&engine).await;
    let gate = fb.hold(Hold::Publish);
    let run = Running::start(&engine);
    gate.arrived().await;

    w.write("a.md", "title: \"A (sửa)\"\npublish_at: now", "x");
    engine.sync().await.unwrap();
    gate.release();
    run.stop_after(Duration::from_secs(60)).await;

    assert_eq!(
        fb.calls(),
        [
            Call::Publish("A".into()),
            Call::Update("facebook-1".into(), "A (sửa)".into())
        ]
    );
    assert_eq!(fb.titles(), ["A (sửa)"]);
    let d = the_delivery(&engine).await;
    let hash = engine
        .with_store(|s| Ok(s.all_posts()?.remove(0).content_hash))
        .await
        .unwrap();
    assert_eq!(
        (d.state, d.update_state, d.published_hash),
        (State::Published, None, Some(hash))
    );
}

#[tokio::test(start_paused = true)]
async fn an_edit_during_an_update_is_sent_too() {
    let w = World::new("");
    w.write("a.md", "title: \"A\"\npublish_at: now", "x");
    let fb = FakeChannel::new(Channel::Facebook);
    let engine = w.engine(&[&fb]);
    boot(&engine).await;
    let run = Running::start(&engine);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(fb.titles(), ["A"]);

    let gate = fb.hold(Hold::Update);
    w.write("a.md", "title: \"A2\"\npublish_at: now", "x");
    engine.sync().await.unwrap();
    gate.arrived().await;
    w.write("a.md", "title: \"A3\"\npublish_at: now", "x");
    engine.sync().await.unwrap();
    gate.release();
    run.stop_after(Duration::from_secs(60)).await;

    assert_eq!(
        fb.calls(),
        [
            Call::Publish("A".into()),
            Call::Update("facebook-1".into(), "A2".into()),
            Call::Update("facebook-1".into(), "A3".into()),
        ]
    );
    assert_eq!(fb.titles(), ["A3"]);
    assert_eq!(the_delivery(&engine).await.update_state, None);
}

#[tokio::test(start_paused = true)]
async fn a_cancel_during_a_broadcast_stops_any_further_try() {
    let w = World::new(
        "[zalo]\napp_id = \"2\"\ndefault_cover_url = \"https://x.gov.vn/c.jpg\"\nbroadcast = true\n",
    );
    w.write(
        "a.md",
        "title: \"A\"\npublish_at: now\nchannels: [zalo]",
        "x",
    );
    let zalo = FakeChannel::new(Channel::Zalo);
    // The broadcast in flight fails for a passing reason: without the cancel it would be tried
    // again.
    zalo.script_broadcast([Outcome::Transient {
        message: "Zalo is busy".into(),
        retry_after: None,
    }]);
    let engine = w.engine(&[&zalo]);
    boot(&engine).await;
    let gate = zalo.hold(Hold::Broadcast);
    let run = Running::start(&engine);
    gate.arrived().await;

    assert_eq!(
        commands::cancel(&engine, "a.md", None).await.unwrap(),
        1,
        "a broadcast not yet done can be cancelled"
    );
    gate.release();
    run.stop_after(Duration::from_secs(86_400)).await;

    assert_eq!(
        count(&zalo.calls(), |c| matches!(c, Call::Broadcast(_))),
        1,
        "{:?}",
        zalo.calls()
    );
    let d = the_delivery(&engine).await;
    assert_eq!(
        (d.state, d.broadcast_state),
        (State::Published, Some(BroadcastState::Cancelled)),
        "the post stays published; only the broadcast is cancelled"
    );
}

#[tokio::test(start_paused = true)]
async fn a_cancel_of_a_waiting_broadcast_keeps_it_from_followers() {
    let w = World::new(
        "[zalo]\napp_id = \"2\"\ndefault_cover_url = \"https://x.gov.vn/c.jpg\"\nbroadcast = true\n",
    );
    w.write(
        "a.md",
        "title: \"A\"\npublish_at: now\nchannels: [zalo]",
        "x",
    );
    let zalo = FakeChannel::new(Channel::Zalo);
    // Zalo's night window: the broadcast waits for the morning.
    zalo.script_broadcast([Outcome::RateLimited {
        message: "-234 broadcasts are not allowed at night".into(),
        until: common::world::at("2026-11-27T06:00:00+07:00"),
    }]);
    let engine = w.engine(&[&zalo]);
    boot(&engine).await;
    let run = Running::start(&engine);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(commands::cancel(&engine, "a.md", None).await.unwrap(), 1);
    run.stop_after(Duration::from_secs(86_400)).await;

    assert_eq!(
        count(&zalo.calls(), |c| matches!(c, Call::Broadcast(_))),
        1,
        "not sent in the morning: {:?}",
        zalo.calls()
    );
    assert_eq!(
        the_delivery(&engine).await.broadcast_state,
        Some(BroadcastState::Cancelled)
    );
}

#[tokio::test(start_paused = true)]
async fn a_cancel_during_an_update_of_a_held_post_withdraws_it() {
    let w = World::new("");
    held_post(&w);
    let (engine, fb) = native_engine(&w);
    boot(&engine).await;
    let run = Running::start(&engine);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(fb.held(), ["A"]);

    // The officer edits the held post (an update goes to Facebook) and cancels it meanwhile.
    let gate = fb.hold(Hold::Update);
    w.write(
        "a.md",
        "title: \"A (sửa)\"\npublish_at: 27/11/2026 07:00",
        "x",
    );
    engine.sync().await.unwrap();
    gate.arrived().await;
    assert_eq!(commands::cancel(&engine, "a.md", None).await.unwrap(), 1);
    gate.release();
    run.stop_after(Duration::from_secs(3600)).await;

    let calls = fb.calls();
    assert_eq!(
        count(
            &calls,
            |c| matches!(c, Call::Delete(id) if id == "facebook-1")
        ),
        1,
        "{calls:?}"
    );
    assert!(fb.titles().is_empty());
    let d = the_delivery(&engine).await;
    assert_eq!(
        (d.state, d.platform_scheduled, d.update_state),
        (State::Cancelled, false, None)
    );
}
