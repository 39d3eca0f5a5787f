//! The delivery state machine: how each outcome moves a delivery. Pure functions over
//! [`Delivery`], so every transition is tested without a store, a clock or a network.

use chrono::{DateTime, Utc};

use crate::config::RetryConfig;
use crate::engine::retry::backoff;
use crate::i18n::tr;
use crate::publisher::{Outcome, Reconciled};
use crate::store::{Delivery, State};

/// Reconciliations that cannot decide before a delivery becomes `unconfirmed`.
pub const MAX_RECONCILE_TRIES: u32 = 3;

/// What an outcome does to the whole channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelEffect {
    /// Nothing.
    None,
    /// No request on the channel before `until`.
    Pause {
        /// End of the pause.
        until: DateTime<Utc>,
        /// The platform's words.
        reason: String,
    },
    /// The channel needs a new token before anything else is sent.
    NeedsReauth {
        /// The platform's words.
        reason: String,
    },
}

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

/// The platform holds the post and will publish it itself at `at`.
fn held_by_platform(d: &mut Delivery, remote_id: &str, at: DateTime<Utc>, hash: &str) {
    d.state = State::Scheduled;
    d.platform_scheduled = true;
    d.remote_id = Some(remote_id.to_string());
    d.due_at = Some(at);
    d.published_hash = Some(hash.to_string());
    d.progress = None;
    d.needs_reconcile = false;
    d.reconcile_tries = 0;
    d.next_attempt_at = None;
    d.last_error = None;
    d.update_state = None;
}

fn publish(d: &mut Delivery, remote_id: &str, now: DateTime<Utc>, hash: &str) {
    d.platform_scheduled = false;
    d.failures = 0;
    // A broadcast waits for the post to be published; now it may go.
    if d.broadcast_state.as_deref() == Some("wanted") {
        d.broadcast_state = Some("pending".into());
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
    d.last_error = None;
    d.update_state = None;
}

/// Counts a failed try: back to `retry_wait`, or `failed` once the budget is spent.
fn fail_once(
    d: &mut Delivery,
    message: &str,
    now: DateTime<Utc>,
    policy: &RetryConfig,
    retry_after: Option<std::time::Duration>,
    random: f64,
) {
    d.failures += 1;
    d.last_error = Some(message.to_string());
    if d.failures >= policy.max_attempts {
        d.state = State::Failed;
        d.next_attempt_at = None;
    } else {
        d.state = State::RetryWait;
        d.next_attempt_at = Some(retry_at(d, now, policy, retry_after, random));
    }
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
            fail_once(d, message, now, policy, *retry_after, random);
            ChannelEffect::None
        }
        Outcome::RateLimited { message, until } => {
            // Not this post's fault: no failure counted, the whole channel waits.
            d.state = State::RetryWait;
            d.next_attempt_at = Some(*until);
            d.last_error = Some(message.clone());
            ChannelEffect::Pause {
                until: *until,
                reason: message.clone(),
            }
        }
        Outcome::AuthExpired { message } => {
            d.state = State::RetryWait;
            d.next_attempt_at = Some(now);
            d.last_error = Some(message.clone());
            ChannelEffect::NeedsReauth {
                reason: message.clone(),
            }
        }
        Outcome::Permanent { message } => {
            d.state = State::Failed;
            d.next_attempt_at = None;
            d.last_error = Some(message.clone());
            ChannelEffect::None
        }
        Outcome::Ambiguous { message } => {
            // The post may exist: nothing is sent again before the platform has been asked.
            d.state = State::RetryWait;
            d.needs_reconcile = true;
            d.next_attempt_at = Some(now);
            d.last_error = Some(message.clone());
            ChannelEffect::None
        }
    }
}

/// After looking for the post on the platform. Returns true when a create may be sent now (the
/// look-up found nothing and it was made before a fresh try, not right after an ambiguous one).
pub fn after_reconcile(
    d: &mut Delivery,
    found: &Reconciled,
    now: DateTime<Utc>,
    hash: &str,
    policy: &RetryConfig,
    create_next: bool,
    random: f64,
) -> bool {
    match found {
        Reconciled::Found { remote_id } => {
            publish(d, remote_id, now, hash);
            false
        }
        Reconciled::FoundScheduled { remote_id, at } => {
            held_by_platform(d, remote_id, *at, hash);
            false
        }
        Reconciled::Absent => {
            d.needs_reconcile = false;
            d.reconcile_tries = 0;
            if create_next {
                true
            } else {
                let message = d.last_error.clone().unwrap_or_default();
                fail_once(d, &message, now, policy, None, random);
                false
            }
        }
        Reconciled::NotYet { until } => {
            d.state = State::RetryWait;
            d.needs_reconcile = true;
            d.next_attempt_at = Some(*until);
            false
        }
        Reconciled::Unknown { message } => {
            d.reconcile_tries += 1;
            d.needs_reconcile = true;
            if d.reconcile_tries >= MAX_RECONCILE_TRIES {
                d.state = State::Unconfirmed;
                d.next_attempt_at = None;
                d.last_error = Some(tr(
                    format!(
                        "cannot tell whether the platform has this post ({message}); check the page, then run `loa retry POST --force` to publish it again, or `loa cancel POST`"
                    ),
                    format!(
                        "không xác định được bài đã lên nền tảng chưa ({message}); hãy kiểm tra trang, rồi chạy `loa retry BÀI --force` để đăng lại, hoặc `loa cancel BÀI`"
                    ),
                ));
            } else {
                d.state = State::RetryWait;
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
            false
        }
    }
}

/// After an update of a published post.
pub fn after_update(
    d: &mut Delivery,
    outcome: &Outcome,
    now: DateTime<Utc>,
    hash: &str,
    policy: &RetryConfig,
    random: f64,
) -> ChannelEffect {
    // An update never changes whether the post is out: a platform-held post stays scheduled.
    d.state = if d.platform_scheduled {
        State::Scheduled
    } else {
        State::Published
    };
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
                d.update_state = Some("failed".into());
                d.next_attempt_at = None;
            } else {
                d.update_state = Some("pending".into());
                d.next_attempt_at = Some(retry_at(d, now, policy, None, random));
            }
            ChannelEffect::None
        }
        Outcome::RateLimited { message, until } => {
            d.update_state = Some("pending".into());
            d.next_attempt_at = Some(*until);
            d.last_error = Some(message.clone());
            ChannelEffect::Pause {
                until: *until,
                reason: message.clone(),
            }
        }
        Outcome::AuthExpired { message } => {
            d.update_state = Some("pending".into());
            d.last_error = Some(message.clone());
            ChannelEffect::NeedsReauth {
                reason: message.clone(),
            }
        }
        Outcome::Permanent { message } => {
            d.update_state = Some("failed".into());
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
            // Not out yet (the platform moved it): look again after its new time.
            d.due_at = Some(*at);
            d.next_attempt_at = None;
            ChannelEffect::None
        }
        Outcome::Transient { message, .. } | Outcome::Ambiguous { message } => {
            d.reconcile_tries += 1;
            d.last_error = Some(message.clone());
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
            d.state = State::Failed;
            d.platform_scheduled = false;
            d.next_attempt_at = None;
            d.last_error = Some(message.clone());
            ChannelEffect::None
        }
    }
}

/// After sending a published post to followers. A failed broadcast never undoes `published`,
/// and one whose answer was lost is never sent again (followers would get it twice).
pub fn after_broadcast(
    d: &mut Delivery,
    outcome: &Outcome,
    now: DateTime<Utc>,
    policy: &RetryConfig,
    random: f64,
) -> ChannelEffect {
    match outcome {
        Outcome::Published { remote_id } | Outcome::ScheduledOnPlatform { remote_id, .. } => {
            d.broadcast_state = Some("sent".into());
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
                d.broadcast_state = Some("failed".into());
                d.broadcast_next = None;
            } else {
                d.broadcast_state = Some("pending".into());
                let wait = backoff(
                    d.failures,
                    policy.base_delay,
                    policy.max_delay,
                    *retry_after,
                    random,
                );
                d.broadcast_next = Some(now + chrono::Duration::from_std(wait).unwrap_or_default());
            }
            ChannelEffect::None
        }
        // The night window and the broadcast quota stop broadcasting, not the channel.
        Outcome::RateLimited { message, until } => {
            d.broadcast_state = Some("pending".into());
            d.broadcast_next = Some(*until);
            d.broadcast_error = Some(message.clone());
            ChannelEffect::None
        }
        Outcome::AuthExpired { message } => {
            d.broadcast_state = Some("pending".into());
            d.broadcast_error = Some(message.clone());
            ChannelEffect::NeedsReauth {
                reason: message.clone(),
            }
        }
        Outcome::Permanent { message } => {
            d.broadcast_state = Some("failed".into());
            d.broadcast_error = Some(message.clone());
            d.broadcast_next = None;
            ChannelEffect::None
        }
        Outcome::Ambiguous { message } => {
            d.broadcast_state = Some("unconfirmed".into());
            d.broadcast_error = Some(crate::i18n::tr(
                format!(
                    "the broadcast may or may not have gone out ({message}); Zalo offers no way to check, so loa does not send it again"
                ),
                format!(
                    "không rõ tin đã gửi tới người quan tâm chưa ({message}); Zalo không cho kiểm tra nên loa không gửi lại"
                ),
            ));
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
    if !d.platform_scheduled {
        // Taken back: a fresh delivery at its (new) due time.
        d.state = State::Scheduled;
        d.update_state = None;
        d.published_hash = None;
        d.next_attempt_at = None;
        d.failures = 0;
    } else {
        // Not taken back yet: try again (the update stays pending).
        d.state = State::Scheduled;
        d.update_state = Some("pending".into());
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
            d.last_error = Some(crate::i18n::tr(
                format!(
                    "cancelled, but the platform still holds it for later and could not remove it yet: {message}"
                ),
                format!("đã hủy nhưng nền tảng vẫn giữ bài để đăng sau và chưa gỡ được: {message}"),
            ));
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

#[cfg(test)]
mod tests;
