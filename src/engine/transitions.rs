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

fn publish(d: &mut Delivery, remote_id: &str, now: DateTime<Utc>, hash: &str) {
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
    d.state = State::Published;
    match outcome {
        Outcome::Published { remote_id } => {
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

#[cfg(test)]
mod tests;
