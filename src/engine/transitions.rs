//! The delivery state machine: how each outcome moves a delivery. Pure functions over
//! [`Delivery`], so every transition is tested without a store, a clock or a network.

use chrono::{DateTime, Utc};

use crate::config::{OnEdit, RetryConfig};
use crate::engine::retry::backoff;
use crate::i18n::tr;
use crate::publisher::{Outcome, Reconciled};
pub use crate::store::ChannelEffect;
use crate::store::{BroadcastState, CancelReason, Delivery, State, UpdateState};

fn retry_at(
    d: &Delivery,
    now: DateTime<Utc>,
    policy: &RetryConfig,
    retry_after: Option<std::time::Duration>,
    random: f64,
) -> DateTime<Utc> {
    let wait = backoff(
        d.failures.max(1),
        policy.base_delay,
        policy.max_delay,
        retry_after,
        random,
    );
    now + chrono::Duration::from_std(wait).unwrap_or_default()
}

/// The message kept on a delivery the officer cancelled while its request was already on its
/// way, and that request put the post out.
fn too_late() -> String {
    tr(
        "cancelled too late: the request was already on its way and the post went out; `loa unpublish POST` removes it",
        "hủy quá muộn: yêu cầu đã được gửi đi và bài đã lên; `loa unpublish BÀI` để gỡ bài",
    )
    .to_string()
}

/// The platform holds the post and will publish it itself at `at`. A cancelled delivery stays
/// cancelled: with the platform's id recorded, the engine withdraws it.
fn held_by_platform(d: &mut Delivery, remote_id: &str, at: DateTime<Utc>, hash: &str) {
    if d.state != State::Cancelled {
        d.state = State::Scheduled;
        d.due_at = Some(at);
        d.last_error = None;
    }
    d.platform_scheduled = true;
    d.remote_id = Some(remote_id.to_string());
    d.published_hash = Some(hash.to_string());
    d.progress = None;
    d.needs_reconcile = false;
    d.reconcile_tries = 0;
    d.next_attempt_at = None;
    d.update_state = None;
}

/// The post is out. It stays out even when a cancel came while its request was in flight: the
/// delivery says what is true (published), and why that cancel could not hold.
fn publish(d: &mut Delivery, remote_id: &str, now: DateTime<Utc>, hash: &str) {
    let cancelled_meanwhile = d.state == State::Cancelled;
    d.platform_scheduled = false;
    d.failures = 0;
    // A broadcast waits for the post to be published; now it may go.
    if d.broadcast_state == Some(BroadcastState::Wanted) {
        d.broadcast_state = Some(if cancelled_meanwhile {
            BroadcastState::Cancelled
        } else {
            BroadcastState::Pending
        });
        d.broadcast_next = None;
    }
    d.state = State::Published;
    d.remote_id = Some(remote_id.to_string());
    d.published_at = Some(now);
    d.published_hash = Some(hash.to_string());
    d.progress = None;
    d.needs_reconcile = false;
    d.reconcile_tries = 0;
    d.next_attempt_at = None;
    d.update_state = None;
    d.last_error = cancelled_meanwhile.then(too_late);
}

/// Counts a failed try: back to `retry_wait`, or `failed` once the budget is spent. A delivery
/// cancelled meanwhile stays cancelled (nothing is tried again).
fn fail_once(
    d: &mut Delivery,
    message: &str,
    now: DateTime<Utc>,
    policy: &RetryConfig,
    retry_after: Option<std::time::Duration>,
    random: f64,
) {
    d.last_error = Some(message.to_string());
    if d.state == State::Cancelled {
        d.next_attempt_at = None;
        return;
    }
    d.failures += 1;
    if d.failures >= policy.max_attempts {
        d.state = State::Failed;
        d.next_attempt_at = None;
    } else {
        d.state = State::RetryWait;
        d.next_attempt_at = Some(retry_at(d, now, policy, retry_after, random));
    }
}

/// Waits without counting a try (the channel is paused or needs a token): back to `retry_wait`
/// unless cancelled meanwhile.
fn wait_for_channel(d: &mut Delivery, at: DateTime<Utc>, message: &str) {
    if d.state != State::Cancelled {
        d.state = State::RetryWait;
        d.next_attempt_at = Some(at);
    }
    d.last_error = Some(message.to_string());
}

/// After a create (publish) request answered `outcome`.
pub fn after_create(
    d: &mut Delivery,
    outcome: &Outcome,
    now: DateTime<Utc>,
    hash: &str,
    policy: &RetryConfig,
    random: f64,
) -> ChannelEffect {
    match outcome {
        Outcome::Published { remote_id } => {
            publish(d, remote_id, now, hash);
            ChannelEffect::None
        }
        Outcome::ScheduledOnPlatform { remote_id, at } => {
            held_by_platform(d, remote_id, *at, hash);
            ChannelEffect::None
        }
        Outcome::Transient {
            message,
            retry_after,
        } => {
            d.needs_reconcile = false;
            fail_once(d, message, now, policy, *retry_after, random);
            ChannelEffect::None
        }
        Outcome::RateLimited { message, until } => {
            // Not this post's fault: no failure counted, the whole channel waits.
            d.needs_reconcile = false;
            wait_for_channel(d, *until, message);
            ChannelEffect::Pause {
                until: *until,
                reason: message.clone(),
            }
        }
        Outcome::AuthExpired { message } => {
            d.needs_reconcile = false;
            wait_for_channel(d, now, message);
            ChannelEffect::NeedsReauth {
                reason: message.clone(),
            }
        }
        Outcome::Permanent { message } => {
            d.needs_reconcile = false;
            if d.state != State::Cancelled {
                d.state = State::Failed;
            }
            d.next_attempt_at = None;
            d.last_error = Some(message.clone());
            ChannelEffect::None
        }
        Outcome::Ambiguous { message } => {
            // The post may exist: nothing is sent again before the platform has been asked. A
            // cancelled delivery is looked up too (it may have to be withdrawn or shown as out).
            if d.state != State::Cancelled {
                d.state = State::RetryWait;
            }
            d.needs_reconcile = true;
            d.next_attempt_at = Some(now);
            d.last_error = Some(message.clone());
            ChannelEffect::None
        }
    }
}

/// The message of a delivery loa gave up looking for.
fn unconfirmed(message: &str) -> String {
    tr(
        format!(
            "cannot tell whether the platform has this post ({message}); check the page, then run `loa retry POST --force` to publish it again, or `loa cancel POST`"
        ),
        format!(
            "không xác định được bài đã lên nền tảng chưa ({message}); hãy kiểm tra trang, rồi chạy `loa retry BÀI --force` để đăng lại, hoặc `loa cancel BÀI`"
        ),
    )
    .to_string()
}

/// After looking for the post on the platform. Returns the effect on the channel, and whether
/// a create may be sent now (the look-up found nothing, it was made before a fresh try rather
/// than right after an ambiguous one, and the delivery was not cancelled meanwhile).
pub fn after_reconcile(
    d: &mut Delivery,
    found: &Reconciled,
    now: DateTime<Utc>,
    hash: &str,
    policy: &RetryConfig,
    create_next: bool,
    random: f64,
) -> (ChannelEffect, bool) {
    let cancelled = d.state == State::Cancelled;
    match found {
        Reconciled::Found { remote_id } => {
            publish(d, remote_id, now, hash);
            (ChannelEffect::None, false)
        }
        Reconciled::FoundScheduled { remote_id, at } => {
            held_by_platform(d, remote_id, *at, hash);
            (ChannelEffect::None, false)
        }
        Reconciled::Absent => {
            d.needs_reconcile = false;
            d.reconcile_tries = 0;
            if cancelled {
                d.next_attempt_at = None;
                (ChannelEffect::None, false)
            } else if create_next {
                (ChannelEffect::None, true)
            } else {
                let message = d.last_error.clone().unwrap_or_default();
                fail_once(d, &message, now, policy, None, random);
                (ChannelEffect::None, false)
            }
        }
        Reconciled::NotYet { until } => {
            if !cancelled {
                d.state = State::RetryWait;
            }
            d.needs_reconcile = true;
            d.next_attempt_at = Some(*until);
            (ChannelEffect::None, false)
        }
        // A look-up is read-only: a paused channel or a dead token is the channel's problem,
        // not a try.
        Reconciled::Paused { message, until } => {
            if !cancelled {
                d.state = State::RetryWait;
            }
            d.needs_reconcile = true;
            d.next_attempt_at = Some(*until);
            d.last_error = Some(message.clone());
            (
                ChannelEffect::Pause {
                    until: *until,
                    reason: message.clone(),
                },
                false,
            )
        }
        Reconciled::AuthExpired { message } => {
            if !cancelled {
                d.state = State::RetryWait;
            }
            d.needs_reconcile = true;
            d.next_attempt_at = Some(now);
            d.last_error = Some(message.clone());
            (
                ChannelEffect::NeedsReauth {
                    reason: message.clone(),
                },
                false,
            )
        }
        Reconciled::Unknown { message } => {
            // As patient as a publish: backoff up to `max_attempts` undecided look-ups.
            d.reconcile_tries += 1;
            d.needs_reconcile = true;
            if d.reconcile_tries >= policy.max_attempts {
                give_up_looking(d, message);
            } else {
                if !cancelled {
                    d.state = State::RetryWait;
                }
                let wait = backoff(
                    d.reconcile_tries,
                    policy.base_delay,
                    policy.max_delay,
                    None,
                    random,
                );
                d.next_attempt_at =
                    Some(now + chrono::Duration::from_std(wait).unwrap_or_default());
                d.last_error = Some(message.clone());
            }
            (ChannelEffect::None, false)
        }
        Reconciled::Undecidable { message } => {
            d.reconcile_tries += 1;
            give_up_looking(d, message);
            (ChannelEffect::None, false)
        }
    }
}

/// loa cannot find out whether the platform has the post: the officer must look.
fn give_up_looking(d: &mut Delivery, message: &str) {
    d.next_attempt_at = None;
    if d.state == State::Cancelled {
        // Nothing will be sent; what remains is to say that the post may be out.
        d.needs_reconcile = false;
        d.last_error = Some(tr(
            format!("cancelled, but loa could not tell whether the platform already had the post ({message}); check the page"),
            format!("đã hủy, nhưng loa không xác định được nền tảng đã có bài chưa ({message}); hãy kiểm tra trang"),
        ).to_string());
    } else {
        d.state = State::Unconfirmed;
        d.last_error = Some(unconfirmed(message));
    }
}

/// After an update of a published (or platform-held) post.
pub fn after_update(
    d: &mut Delivery,
    outcome: &Outcome,
    now: DateTime<Utc>,
    hash: &str,
    policy: &RetryConfig,
    random: f64,
) -> ChannelEffect {
    // An update never changes whether the post is out; a cancel that came meanwhile stays.
    if d.state != State::Cancelled {
        d.state = if d.platform_scheduled {
            State::Scheduled
        } else {
            State::Published
        };
    }
    match outcome {
        Outcome::Published { remote_id } | Outcome::ScheduledOnPlatform { remote_id, .. } => {
            d.remote_id = Some(remote_id.clone());
            d.published_hash = Some(hash.to_string());
            d.update_state = None;
            d.next_attempt_at = None;
            d.failures = 0;
            d.last_error = None;
            ChannelEffect::None
        }
        // An update changes an existing post: repeating it is harmless, so "maybe" is "retry".
        Outcome::Transient { message, .. } | Outcome::Ambiguous { message } => {
            d.failures += 1;
            d.last_error = Some(message.clone());
            if d.failures >= policy.max_attempts {
                d.update_state = Some(UpdateState::Failed);
                d.next_attempt_at = None;
            } else {
                d.update_state = Some(UpdateState::Pending);
                d.next_attempt_at = Some(retry_at(d, now, policy, None, random));
            }
            ChannelEffect::None
        }
        Outcome::RateLimited { message, until } => {
            d.update_state = Some(UpdateState::Pending);
            d.next_attempt_at = Some(*until);
            d.last_error = Some(message.clone());
            ChannelEffect::Pause {
                until: *until,
                reason: message.clone(),
            }
        }
        Outcome::AuthExpired { message } => {
            d.update_state = Some(UpdateState::Pending);
            d.last_error = Some(message.clone());
            ChannelEffect::NeedsReauth {
                reason: message.clone(),
            }
        }
        Outcome::Permanent { message } => {
            d.update_state = Some(UpdateState::Failed);
            d.next_attempt_at = None;
            d.last_error = Some(message.clone());
            ChannelEffect::None
        }
    }
}

/// After checking whether a post the platform held has gone out.
pub fn after_confirm(
    d: &mut Delivery,
    outcome: &Outcome,
    now: DateTime<Utc>,
    hash: &str,
    policy: &RetryConfig,
    random: f64,
) -> ChannelEffect {
    match outcome {
        Outcome::Published { remote_id } => {
            let hash = d.published_hash.clone().unwrap_or_else(|| hash.to_string());
            publish(d, remote_id, now, &hash);
            ChannelEffect::None
        }
        Outcome::ScheduledOnPlatform { at, .. } => {
            // Not out yet (the platform moved it): look again after its new time. A cancelled
            // delivery is withdrawn instead.
            if d.state != State::Cancelled {
                d.due_at = Some(*at);
            }
            d.next_attempt_at = None;
            ChannelEffect::None
        }
        Outcome::Transient { message, .. } | Outcome::Ambiguous { message } => {
            d.reconcile_tries += 1;
            d.last_error = Some(message.clone());
            if d.state == State::Cancelled {
                // Withdraw it now: the platform still holds it.
                d.next_attempt_at = None;
                return ChannelEffect::None;
            }
            let wait = backoff(
                d.reconcile_tries,
                policy.base_delay,
                policy.max_delay,
                None,
                random,
            );
            d.next_attempt_at = Some(now + chrono::Duration::from_std(wait).unwrap_or_default());
            ChannelEffect::None
        }
        Outcome::RateLimited { message, until } => {
            d.next_attempt_at = Some(*until);
            ChannelEffect::Pause {
                until: *until,
                reason: message.clone(),
            }
        }
        Outcome::AuthExpired { message } => ChannelEffect::NeedsReauth {
            reason: message.clone(),
        },
        Outcome::Permanent { message } => {
            // The platform no longer has it (deleted on the website?): it did not go out by loa.
            if d.state != State::Cancelled {
                d.state = State::Failed;
            }
            d.platform_scheduled = false;
            d.next_attempt_at = None;
            d.last_error = Some(message.clone());
            ChannelEffect::None
        }
    }
}

/// After sending a published post to followers. A failed broadcast never undoes `published`,
/// and one whose answer was lost is never sent again (followers would get it twice). A cancel
/// that came while it was in flight stops any further try.
pub fn after_broadcast(
    d: &mut Delivery,
    outcome: &Outcome,
    now: DateTime<Utc>,
    policy: &RetryConfig,
    random: f64,
) -> ChannelEffect {
    let stopped = d.cancel_reason.is_some();
    let again = |d: &mut Delivery, at: Option<DateTime<Utc>>| {
        if stopped {
            d.broadcast_state = Some(BroadcastState::Cancelled);
            d.broadcast_next = None;
        } else {
            d.broadcast_state = Some(BroadcastState::Pending);
            d.broadcast_next = at;
        }
    };
    match outcome {
        Outcome::Published { remote_id } | Outcome::ScheduledOnPlatform { remote_id, .. } => {
            d.broadcast_state = Some(BroadcastState::Sent);
            d.broadcast_id = Some(remote_id.clone());
            d.broadcast_error = None;
            d.broadcast_next = None;
            ChannelEffect::None
        }
        Outcome::Transient {
            message,
            retry_after,
        } => {
            d.failures += 1;
            d.broadcast_error = Some(message.clone());
            if d.failures >= policy.max_attempts {
                d.broadcast_state = Some(BroadcastState::Failed);
                d.broadcast_next = None;
            } else {
                let wait = backoff(
                    d.failures,
                    policy.base_delay,
                    policy.max_delay,
                    *retry_after,
                    random,
                );
                again(
                    d,
                    Some(now + chrono::Duration::from_std(wait).unwrap_or_default()),
                );
            }
            ChannelEffect::None
        }
        // The night window and the broadcast quota stop broadcasting, not the channel.
        Outcome::RateLimited { message, until } => {
            again(d, Some(*until));
            d.broadcast_error = Some(message.clone());
            ChannelEffect::None
        }
        Outcome::AuthExpired { message } => {
            again(d, None);
            d.broadcast_error = Some(message.clone());
            ChannelEffect::NeedsReauth {
                reason: message.clone(),
            }
        }
        Outcome::Permanent { message } => {
            d.broadcast_state = Some(BroadcastState::Failed);
            d.broadcast_error = Some(message.clone());
            d.broadcast_next = None;
            ChannelEffect::None
        }
        Outcome::Ambiguous { message } => {
            d.broadcast_state = Some(BroadcastState::Unconfirmed);
            d.broadcast_error = Some(tr(
                format!(
                    "the broadcast may or may not have gone out ({message}); Zalo offers no way to check, so loa does not send it again"
                ),
                format!(
                    "không rõ tin đã gửi tới người quan tâm chưa ({message}); Zalo không cho kiểm tra nên loa không gửi lại"
                ),
            ).to_string());
            d.broadcast_next = None;
            ChannelEffect::None
        }
    }
}

/// After taking back a held post whose new time the platform cannot hold: loa schedules it.
pub fn after_requeue(
    d: &mut Delivery,
    outcome: &Outcome,
    now: DateTime<Utc>,
    policy: &RetryConfig,
    random: f64,
) -> ChannelEffect {
    let effect = after_withdraw(d, outcome, now, policy, random);
    if d.state == State::Cancelled {
        // Cancelled meanwhile: taken back is all that was wanted; if not, the withdraw goes on.
        d.update_state = None;
    } else if !d.platform_scheduled {
        // Taken back: a fresh delivery at its (new) due time.
        d.state = State::Scheduled;
        d.update_state = None;
        d.published_hash = None;
        d.next_attempt_at = None;
        d.failures = 0;
    } else {
        // Not taken back yet: try again (the update stays pending).
        d.state = State::Scheduled;
        d.update_state = Some(UpdateState::Pending);
    }
    effect
}

/// After taking back a cancelled post the platform held.
pub fn after_withdraw(
    d: &mut Delivery,
    outcome: &Outcome,
    now: DateTime<Utc>,
    policy: &RetryConfig,
    random: f64,
) -> ChannelEffect {
    match outcome {
        Outcome::Published { .. } | Outcome::ScheduledOnPlatform { .. } => {
            d.platform_scheduled = false;
            d.remote_id = None;
            d.next_attempt_at = None;
            d.last_error = None;
            if d.state == State::Cancelled {
                // Nothing of it is left on the platform: no edit is owed any more.
                d.update_state = None;
            }
            ChannelEffect::None
        }
        Outcome::RateLimited { message, until } => {
            d.next_attempt_at = Some(*until);
            ChannelEffect::Pause {
                until: *until,
                reason: message.clone(),
            }
        }
        Outcome::AuthExpired { message } => ChannelEffect::NeedsReauth {
            reason: message.clone(),
        },
        // Until it is gone the platform will publish it: keep trying, and say so.
        Outcome::Transient { message, .. }
        | Outcome::Ambiguous { message }
        | Outcome::Permanent { message } => {
            d.failures += 1;
            d.last_error = Some(
                tr(
                    format!(
                        "cancelled, but the platform still holds it for later and could not remove it yet: {message}"
                    ),
                    format!(
                        "đã hủy nhưng nền tảng vẫn giữ bài để đăng sau và chưa gỡ được: {message}"
                    ),
                )
                .to_string(),
            );
            let wait = backoff(
                d.failures,
                policy.base_delay,
                policy.max_delay,
                None,
                random,
            );
            d.next_attempt_at = Some(now + chrono::Duration::from_std(wait).unwrap_or_default());
            ChannelEffect::None
        }
    }
}

/// After `loa unpublish` asked the platform to remove the post: once it is gone, the delivery
/// is cancelled and never published again.
pub fn after_unpublish(d: &mut Delivery, outcome: &Outcome) -> ChannelEffect {
    match outcome {
        Outcome::Published { .. } => {
            d.state = State::Cancelled;
            d.cancel_reason = Some(CancelReason::Unpublished);
            d.platform_scheduled = false;
            d.update_state = None;
            d.next_attempt_at = None;
            d.last_error = None;
            if matches!(
                d.broadcast_state,
                Some(BroadcastState::Wanted | BroadcastState::Pending)
            ) {
                d.broadcast_state = Some(BroadcastState::Cancelled);
            }
            ChannelEffect::None
        }
        Outcome::RateLimited { message, until } => ChannelEffect::Pause {
            until: *until,
            reason: message.clone(),
        },
        Outcome::AuthExpired { message } => ChannelEffect::NeedsReauth {
            reason: message.clone(),
        },
        _ => ChannelEffect::None,
    }
}

/// What a metrics round that stopped on `outcome` does to its channel: a rate limit pauses the
/// channel (publishing would meet the same limit), a dead token asks for a new one; anything
/// else only loses this round.
pub fn after_collection(outcome: &Outcome) -> ChannelEffect {
    match outcome {
        Outcome::RateLimited { message, until } => ChannelEffect::Pause {
            until: *until,
            reason: message.clone(),
        },
        Outcome::AuthExpired { message } => ChannelEffect::NeedsReauth {
            reason: message.clone(),
        },
        _ => ChannelEffect::None,
    }
}

/// After any closed attempt: an edit that arrived while the request was in flight (the sync
/// leaves a delivery in flight alone) is owed to the platform now. `hash` is the post's
/// content as stored now.
pub fn owe_update(d: &mut Delivery, hash: Option<&str>, on_edit: OnEdit) {
    let on_platform = d.state == State::Published
        || (d.platform_scheduled && State::CLAIMABLE.contains(&d.state));
    let edited = matches!((d.published_hash.as_deref(), hash), (Some(a), Some(b)) if a != b);
    if on_platform && edited && on_edit == OnEdit::Update && d.update_state.is_none() {
        d.update_state = Some(UpdateState::Pending);
        d.failures = 0;
        d.next_attempt_at = None;
    }
}

/// Who cancels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Canceller {
    /// The officer (`loa cancel`): also failed, missed and unconfirmed deliveries, and a
    /// broadcast not yet sent.
    Officer,
    /// loa itself, because the post's file changed (`reason`): only what may still go out.
    Sync(CancelReason),
}

/// Cancels what is still to be done for `d`. A delivery whose request is in flight is cancelled
/// too: the request's answer is then applied to a cancelled delivery (a post the platform holds
/// is withdrawn; one that went out is shown as out, with how to remove it). Returns whether
/// anything changed.
pub fn cancel(d: &mut Delivery, by: Canceller) -> bool {
    let reason = match by {
        Canceller::Officer => CancelReason::Officer,
        Canceller::Sync(r) => r,
    };
    let cancellable = match by {
        Canceller::Officer => matches!(
            d.state,
            State::Scheduled
                | State::RetryWait
                | State::Publishing
                | State::Missed
                | State::Failed
                | State::Unconfirmed
        ),
        Canceller::Sync(_) => d.state.is_pending(),
    };
    if cancellable {
        if d.state == State::Publishing {
            // The request in flight may land, and loa may stop before its answer: look.
            d.needs_reconcile = true;
        } else if d.state == State::Unconfirmed {
            // The officer decided: loa stops looking.
            d.needs_reconcile = false;
        }
        d.state = State::Cancelled;
        d.cancel_reason = Some(reason);
        d.next_attempt_at = None;
        return true;
    }
    if by == Canceller::Officer && d.state == State::Published {
        match d.broadcast_state {
            Some(BroadcastState::Wanted | BroadcastState::Pending) => {
                d.broadcast_state = Some(BroadcastState::Cancelled);
                d.broadcast_next = None;
                d.cancel_reason = Some(reason);
                return true;
            }
            // In flight: it cannot be called back, but it is not tried again.
            Some(BroadcastState::Sending) if d.cancel_reason.is_none() => {
                d.cancel_reason = Some(reason);
                return true;
            }
            _ => {}
        }
    }
    false
}

/// `loa retry`: puts a failed or missed delivery (with `force`, an unconfirmed one, after the
/// officer checked the platform) back in the queue, or a failed update back to pending.
/// Returns whether anything changed.
pub fn retry(d: &mut Delivery, force: bool, now: DateTime<Utc>) -> bool {
    match d.state {
        State::Failed | State::Missed => {
            if d.state == State::Missed {
                // Due now: an officer asked for it, so it is no longer late.
                d.due_at = Some(now);
                d.slotted = false;
            }
            d.state = State::RetryWait;
        }
        State::Unconfirmed if force => {
            // The officer checked the platform: the post is not there.
            d.state = State::RetryWait;
            d.needs_reconcile = false;
            d.reconcile_tries = 0;
            d.progress = None;
        }
        State::Published if d.update_state == Some(UpdateState::Failed) => {
            d.update_state = Some(UpdateState::Pending);
        }
        _ => return false,
    }
    d.failures = 0;
    d.next_attempt_at = Some(now);
    d.last_error = None;
    true
}

/// Start-up after any stop, clean or not: a request that was in flight may have reached the
/// platform. Returns whether `d` changed.
pub fn recover(d: &mut Delivery, now: DateTime<Utc>) -> bool {
    let mut changed = false;
    if d.state == State::Publishing {
        d.state = State::RetryWait;
        d.needs_reconcile = true;
        d.next_attempt_at = Some(now);
        changed = true;
    }
    if d.broadcast_state == Some(BroadcastState::Sending) {
        // No platform lists sent broadcasts: one that may have gone out is never sent again.
        d.broadcast_state = Some(BroadcastState::Unconfirmed);
        d.broadcast_error = Some(
            tr(
                "loa stopped while sending this to followers; it may have gone out, so it is not sent again",
                "loa dừng khi đang gửi tin tới người quan tâm; tin có thể đã đi nên không gửi lại",
            )
            .to_string(),
        );
        changed = true;
    }
    if d.update_state == Some(UpdateState::Sending) {
        // Updates are idempotent: sending again is safe.
        d.update_state = Some(UpdateState::Pending);
        changed = true;
    }
    changed
}

#[cfg(test)]
mod tests;
