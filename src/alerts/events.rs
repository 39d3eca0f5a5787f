//! Conditions that come with time rather than with a change in the store, raised once each
//! (by key) when the service starts and every hour: a token near its end (Zalo's refresh token
//! within 14 days, Facebook's within 7), and the service found to have been off past a slot.
//! The changes themselves (a delivery failed, a channel needing a new token, …) are written by
//! the store's triggers.

use chrono::{DateTime, Duration, Utc};

use crate::channel::Channel;
use crate::config::Config;
use crate::store::{Health, Store};

/// Zalo's refresh token is told about this long before its end.
pub const ZALO_WARNING: Duration = Duration::days(14);
/// Facebook's token is told about this long before its end.
pub const FACEBOOK_WARNING: Duration = Duration::days(7);

/// The name under which the service records its last sign of life.
pub const ALIVE: &str = "alive";

/// How often the service records it is alive: a slot more than this after the last sign of
/// life was certainly missed by a stopped service.
pub const HEARTBEAT: Duration = Duration::hours(1);

/// Raises the time-judged conditions at `now` (wall time). `zalo_refresh_expires` is the stored
/// Zalo refresh token's end. Returns how many alerts were new.
pub fn scan(
    s: &mut Store,
    config: &Config,
    now: DateTime<Utc>,
    zalo_refresh_expires: Option<DateTime<Utc>>,
) -> crate::store::Result<usize> {
    let tz = config.timezone;
    let date = |t: DateTime<Utc>| {
        crate::report::format::date_time(crate::i18n::language(), &t.with_timezone(&tz))
    };
    let mut raised = 0;
    let enabled = config.enabled_channels();
    for rec in s.channels()? {
        if rec.channel != Channel::Facebook || !enabled.contains(&rec.channel) {
            continue;
        }
        if let Some(end) = rec.token_expires_at
            && rec.health != Health::NeedsReauth
            && end > now
            && end - now < FACEBOOK_WARNING
        {
            let key = format!("token_expiring:facebook:{}", crate::store::ts(end));
            raised += usize::from(s.raise_condition(
                "token_expiring",
                &key,
                Some("facebook"),
                Some(&date(end)),
                now,
            )?);
        }
    }
    if enabled.contains(&Channel::Zalo)
        && let Some(end) = zalo_refresh_expires
        && end > now
        && end - now < ZALO_WARNING
    {
        let key = format!("token_expiring:zalo:{}", crate::store::ts(end));
        raised += usize::from(s.raise_condition(
            "token_expiring",
            &key,
            Some("zalo"),
            Some(&date(end)),
            now,
        )?);
    }
    Ok(raised)
}

/// At start: when the last sign of life is more than [`HEARTBEAT`] before a weekly slot that
/// has passed, the service was off at that slot; raised once per stop. Then records `now`.
pub fn started(s: &mut Store, config: &Config, now: DateTime<Utc>) -> crate::store::Result<bool> {
    let last = s.mark(ALIVE)?;
    let mut raised = false;
    if let Some(last) = last {
        let tz = config.timezone;
        let missed: Vec<DateTime<Utc>> =
            crate::engine::slots::upcoming(&config.schedule.slots, tz, last + HEARTBEAT)
                .take_while(|t| *t < now)
                .take(5)
                .collect();
        if !missed.is_empty() {
            let when = missed
                .iter()
                .map(|t| crate::status::human_time(&t.with_timezone(&tz).to_rfc3339(), tz))
                .collect::<Vec<_>>()
                .join(", ");
            let key = format!("service_was_off:{}", crate::store::ts(last));
            raised = s.raise_condition("service_was_off", &key, None, Some(&when), now)?;
        }
    }
    s.set_mark(ALIVE, now)?;
    Ok(raised)
}
