use std::time::Duration;

use super::*;
use crate::channel::Channel;
use crate::store::UpdateState;

fn policy() -> RetryConfig {
    RetryConfig {
        base_delay: Duration::from_secs(30),
        max_delay: Duration::from_secs(3600),
        max_attempts: 3,
    }
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn delivery() -> Delivery {
    Delivery {
        id: 1,
        post_id: "p".into(),
        channel: Channel::Facebook,
        state: State::Publishing,
        due_at: Some(now()),
        slotted: false,
        attempts: 1,
        failures: 0,
        next_attempt_at: None,
        remote_id: None,
        published_at: None,
        published_hash: None,
        progress: Some("tk".into()),
        needs_reconcile: false,
        reconcile_tries: 0,
        update_state: None,
        last_error: None,
        cancel_reason: None,
        platform_scheduled: false,
        broadcast_state: None,
        broadcast_next: None,
        broadcast_id: None,
        broadcast_error: None,
        version: 0,
    }
}

fn transient() -> Outcome {
    Outcome::Transient {
        message: "busy".into(),
        retry_after: None,
    }
}

#[test]
fn published_records_the_id_and_hash() {
    let mut d = delivery();
    let effect = after_create(
        &mut d,
        &Outcome::Published {
            remote_id: "1_2".into(),
        },
        now(),
        "h",
        &policy(),
        0.5,
    );
    assert_eq!(effect, ChannelEffect::None);
    assert_eq!(
        (
            d.state,
            d.remote_id.as_deref(),
            d.published_hash.as_deref(),
            d.progress.as_deref()
        ),
        (State::Published, Some("1_2"), Some("h"), None)
    );
}

#[test]
fn transient_retries_then_fails_after_the_budget() {
    let mut d = delivery();
    after_create(&mut d, &transient(), now(), "h", &policy(), 1.0);
    assert_eq!(d.state, State::RetryWait);
    assert_eq!(
        d.next_attempt_at,
        Some(now() + chrono::Duration::seconds(30))
    );
    assert_eq!(
        d.progress.as_deref(),
        Some("tk"),
        "a saved token survives a transient failure"
    );
    after_create(&mut d, &transient(), now(), "h", &policy(), 1.0);
    assert_eq!(
        d.next_attempt_at,
        Some(now() + chrono::Duration::seconds(60))
    );
    after_create(&mut d, &transient(), now(), "h", &policy(), 1.0);
    assert_eq!(
        (d.state, d.last_error.as_deref()),
        (State::Failed, Some("busy"))
    );
}

#[test]
fn rate_limits_pause_the_channel_without_counting() {
    let mut d = delivery();
    let until = now() + chrono::Duration::minutes(12);
    let effect = after_create(
        &mut d,
        &Outcome::RateLimited {
            message: "(#80001) too many".into(),
            until,
        },
        now(),
        "h",
        &policy(),
        0.5,
    );
    assert_eq!(
        effect,
        ChannelEffect::Pause {
            until,
            reason: "(#80001) too many".into()
        }
    );
    assert_eq!(
        (d.state, d.failures, d.next_attempt_at),
        (State::RetryWait, 0, Some(until))
    );
}

#[test]
fn expired_tokens_wait_instead_of_failing() {
    let mut d = delivery();
    let effect = after_create(
        &mut d,
        &Outcome::AuthExpired {
            message: "190".into(),
        },
        now(),
        "h",
        &policy(),
        0.5,
    );
    assert!(matches!(effect, ChannelEffect::NeedsReauth { .. }));
    assert_eq!((d.state, d.failures), (State::RetryWait, 0));
}

#[test]
fn permanent_fails_with_the_platforms_words() {
    let mut d = delivery();
    after_create(
        &mut d,
        &Outcome::Permanent {
            message: "(#100) Invalid parameter".into(),
        },
        now(),
        "h",
        &policy(),
        0.5,
    );
    assert_eq!(
        (d.state, d.last_error.as_deref()),
        (State::Failed, Some("(#100) Invalid parameter"))
    );
}

#[test]
fn ambiguous_demands_a_reconciliation() {
    let mut d = delivery();
    after_create(
        &mut d,
        &Outcome::Ambiguous {
            message: "timeout".into(),
        },
        now(),
        "h",
        &policy(),
        0.5,
    );
    assert!(d.needs_reconcile);
    assert_eq!(d.state, State::RetryWait);
}

#[test]
fn reconciliation_found_absent_unknown() {
    let mut d = delivery();
    d.needs_reconcile = true;
    assert!(
        !after_reconcile(
            &mut d,
            &Reconciled::Found {
                remote_id: "9".into()
            },
            now(),
            "h",
            &policy(),
            true,
            0.5
        )
        .1
    );
    assert_eq!(
        (d.state, d.remote_id.as_deref()),
        (State::Published, Some("9"))
    );

    let mut d = delivery();
    d.needs_reconcile = true;
    assert!(
        after_reconcile(
            &mut d,
            &Reconciled::Absent,
            now(),
            "h",
            &policy(),
            true,
            0.5
        )
        .1,
        "absent before a fresh try: create now"
    );
    assert!(!d.needs_reconcile);

    let mut d = delivery();
    d.needs_reconcile = true;
    assert!(
        !after_reconcile(
            &mut d,
            &Reconciled::Absent,
            now(),
            "h",
            &policy(),
            false,
            0.5
        )
        .1,
        "absent right after an ambiguous create: wait"
    );
    assert_eq!((d.state, d.failures), (State::RetryWait, 1));

    let mut d = delivery();
    // As patient as a publish: `max_attempts` undecided look-ups before asking the officer.
    for _ in 0..policy().max_attempts - 1 {
        after_reconcile(
            &mut d,
            &Reconciled::Unknown {
                message: "listing failed".into(),
            },
            now(),
            "h",
            &policy(),
            true,
            0.5,
        );
        assert_eq!(d.state, State::RetryWait);
        assert!(d.needs_reconcile);
    }
    after_reconcile(
        &mut d,
        &Reconciled::Unknown {
            message: "listing failed".into(),
        },
        now(),
        "h",
        &policy(),
        true,
        0.5,
    );
    assert_eq!(d.state, State::Unconfirmed);
    assert!(d.last_error.unwrap().contains("--force"));
}

#[test]
fn updates_keep_the_post_published() {
    let mut d = delivery();
    d.state = State::Published;
    d.remote_id = Some("1_2".into());
    d.update_state = Some(UpdateState::Sending);
    after_update(&mut d, &transient(), now(), "h2", &policy(), 0.5);
    assert_eq!(
        (d.state, d.update_state),
        (State::Published, Some(UpdateState::Pending))
    );
    after_update(
        &mut d,
        &Outcome::Published {
            remote_id: "1_2".into(),
        },
        now(),
        "h2",
        &policy(),
        0.5,
    );
    assert_eq!(
        (d.update_state, d.published_hash.as_deref()),
        (None, Some("h2"))
    );
    after_update(
        &mut d,
        &Outcome::Permanent {
            message: "no".into(),
        },
        now(),
        "h3",
        &policy(),
        0.5,
    );
    assert_eq!(
        (d.state, d.update_state),
        (State::Published, Some(UpdateState::Failed))
    );
}

#[test]
fn a_cancel_takes_what_is_still_to_be_done() {
    use crate::store::{BroadcastState, CancelReason};
    // In flight: cancelled, and looked up if loa stops before the answer.
    let mut d = delivery();
    assert!(cancel(&mut d, Canceller::Officer));
    assert_eq!(
        (d.state, d.cancel_reason, d.needs_reconcile),
        (State::Cancelled, Some(CancelReason::Officer), true)
    );
    // loa's own cancels (a deleted file) leave failed deliveries as they are.
    let mut d = delivery();
    d.state = State::Failed;
    assert!(!cancel(&mut d, Canceller::Sync(CancelReason::Deleted)));
    assert!(cancel(&mut d, Canceller::Officer));
    // Published: only a broadcast not yet sent is taken back; a sent one is history.
    let mut d = delivery();
    d.state = State::Published;
    d.broadcast_state = Some(BroadcastState::Pending);
    assert!(cancel(&mut d, Canceller::Officer));
    assert_eq!(
        (d.state, d.broadcast_state),
        (State::Published, Some(BroadcastState::Cancelled))
    );
    d.broadcast_state = Some(BroadcastState::Sent);
    d.cancel_reason = None;
    assert!(!cancel(&mut d, Canceller::Officer));
}

#[test]
fn answers_that_meet_a_cancelled_delivery_never_bring_it_back() {
    let cancelled = || {
        let mut d = delivery();
        assert!(cancel(&mut d, Canceller::Officer));
        d
    };
    // A create refused for a passing reason: nothing is tried again.
    let mut d = cancelled();
    after_create(&mut d, &transient(), now(), "h", &policy(), 0.5);
    assert_eq!(
        (d.state, d.next_attempt_at, d.needs_reconcile),
        (State::Cancelled, None, false)
    );
    // Held for later by the platform: stays cancelled, with the id to withdraw.
    let mut d = cancelled();
    after_create(
        &mut d,
        &Outcome::ScheduledOnPlatform {
            remote_id: "1_9".into(),
            at: now() + chrono::Duration::days(1),
        },
        now(),
        "h",
        &policy(),
        0.5,
    );
    assert_eq!(
        (d.state, d.platform_scheduled, d.remote_id.as_deref()),
        (State::Cancelled, true, Some("1_9"))
    );
    // A look-up that finds nothing: no create.
    let mut d = cancelled();
    let (_, create) = after_reconcile(
        &mut d,
        &Reconciled::Absent,
        now(),
        "h",
        &policy(),
        true,
        0.5,
    );
    assert!(!create);
    assert_eq!(d.state, State::Cancelled);
    // Out already: published, and the officer is told how to take it down.
    let mut d = cancelled();
    after_create(
        &mut d,
        &Outcome::Published {
            remote_id: "1_9".into(),
        },
        now(),
        "h",
        &policy(),
        0.5,
    );
    assert_eq!(d.state, State::Published);
    assert!(d.last_error.unwrap().contains("loa unpublish"));
}

#[test]
fn a_rate_limited_look_up_is_not_a_try() {
    let mut d = delivery();
    d.needs_reconcile = true;
    let until = now() + chrono::Duration::minutes(30);
    for _ in 0..10 {
        let (effect, create) = after_reconcile(
            &mut d,
            &Reconciled::Paused {
                message: "-32".into(),
                until,
            },
            now(),
            "h",
            &policy(),
            true,
            0.5,
        );
        assert!(!create);
        assert!(matches!(effect, ChannelEffect::Pause { .. }));
    }
    assert_eq!(
        (d.state, d.reconcile_tries, d.next_attempt_at),
        (State::RetryWait, 0, Some(until))
    );
    // A platform that refuses to list cannot say: the officer must look, at once.
    after_reconcile(
        &mut d,
        &Reconciled::Undecidable {
            message: "(#10) permission".into(),
        },
        now(),
        "h",
        &policy(),
        true,
        0.5,
    );
    assert_eq!(d.state, State::Unconfirmed);
}
