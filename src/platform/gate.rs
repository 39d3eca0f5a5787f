//! A channel's pause gate: closed while a platform has asked for no calls (Facebook's usage
//! headers at 90 %, Zalo's `-32` or `X-RateLimit-Remain: 0`).
//!
//! Calling a throttled platform extends its block, so a client checks the gate before every
//! call and does not even try while it is closed. The engine pauses the channel too, from the
//! outcome; the gate covers the calls already under way when the pause begins.

use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};

use crate::publisher::Outcome;

/// When the channel may call again; open until something closes it.
#[derive(Debug, Default)]
pub struct PauseGate {
    until: Mutex<Option<DateTime<Utc>>>,
}

impl PauseGate {
    /// An open gate.
    pub fn new() -> PauseGate {
        PauseGate::default()
    }

    /// Closes the gate until `until`, replacing any earlier pause: the platform's latest word
    /// on when it takes calls again is the one that counts.
    pub fn close_until(&self, until: DateTime<Utc>) {
        *self.until.lock().unwrap_or_else(PoisonError::into_inner) = Some(until);
    }

    /// When the gate opens again, if it is closed at `now`.
    pub fn closed_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .filter(|until| *until > now)
    }

    /// The outcome of a call refused at `now` because the gate is closed (a rate limit until the
    /// gate opens, with `message`), or `None` when the call may go.
    pub fn refusal(&self, now: DateTime<Utc>, message: impl FnOnce() -> String) -> Option<Outcome> {
        self.closed_until(now).map(|until| Outcome::RateLimited {
            message: message(),
            until,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap()
    }

    #[test]
    fn an_open_gate_lets_calls_through() {
        let gate = PauseGate::new();
        assert_eq!(gate.closed_until(now()), None);
        assert_eq!(gate.refusal(now(), || "wait".into()), None);
    }

    #[test]
    fn a_closed_gate_refuses_until_it_opens() {
        let gate = PauseGate::new();
        let until = now() + Duration::minutes(12);
        gate.close_until(until);
        assert_eq!(gate.closed_until(now()), Some(until));
        assert_eq!(
            gate.refusal(now(), || "wait".into()),
            Some(Outcome::RateLimited {
                message: "wait".into(),
                until
            })
        );
        // At the very instant it opens, calls go again.
        assert_eq!(gate.closed_until(until), None);
        assert_eq!(gate.closed_until(until + Duration::seconds(1)), None);
    }

    #[test]
    fn the_latest_pause_counts() {
        let gate = PauseGate::new();
        gate.close_until(now() + Duration::hours(1));
        gate.close_until(now() + Duration::minutes(1));
        assert_eq!(gate.closed_until(now()), Some(now() + Duration::minutes(1)));
    }
}
