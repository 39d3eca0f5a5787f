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

/// The weekly digest, once a week at `[alerts] weekly_digest` (checked at start and every hour,
/// so it goes within the hour after its time): last week's posts with their figures against the
/// targets, and this week's plan. Returns whether one was raised now.
pub fn digest(s: &mut Store, config: &Config, now: DateTime<Utc>) -> crate::store::Result<bool> {
    let Some(slot) = config.alerts.as_ref().and_then(|a| a.weekly_digest) else {
        return Ok(false);
    };
    let tz = config.timezone;
    // This week's time of the digest; before it, nothing yet.
    let (monday, week_start) = crate::web::monday_of(now, tz);
    let Some(due) = crate::engine::slots::upcoming(&[slot], tz, week_start).next() else {
        return Ok(false);
    };
    if due > now {
        return Ok(false);
    }
    let key = format!("weekly_digest:{monday}");
    if s.alert_key_exists(&key)? {
        return Ok(false);
    }
    let text = digest_text(s, config, now, monday, week_start)?;
    s.raise_condition("weekly_digest", &key, None, Some(&text), now)
}

fn digest_text(
    s: &Store,
    config: &Config,
    now: DateTime<Utc>,
    monday: chrono::NaiveDate,
    week_start: DateTime<Utc>,
) -> crate::store::Result<String> {
    use crate::i18n::tr;
    use crate::report::format as f;
    let tz = config.timezone;
    let l = crate::i18n::language();
    let options = crate::report::Options {
        since: Some(monday - Duration::days(7)),
        until: Some(monday - Duration::days(1)),
        by: crate::report::By::Week,
    };
    let r = crate::report::load(s, config, &options, now, None)?;
    let mut out = vec![tr(
        format!("Last week ({}):", f::range(l, r.since, r.until)),
        format!("Tuần trước ({}):", f::range(l, r.since, r.until)),
    )];
    if r.posts.is_empty() {
        out.push(tr("  no post went out", "  không có bài nào được đăng").to_string());
    }
    for p in &r.posts {
        out.push(format!(
            "  • {} — {} · {} {} · {} {}",
            p.title,
            f::channel(p.channel),
            f::figure(l, p.metrics.views),
            f::metric(l, "views"),
            f::figure(l, p.metrics.reactions),
            f::metric(l, "reactions"),
        ));
    }
    for t in &r.targets {
        out.push(format!(
            "  {}: {} {} — {}",
            f::channel(t.channel),
            tr("target", "mục tiêu"),
            f::target(l, t.count, t.per),
            f::met(l, t.met)
        ));
    }
    out.push(String::new());
    out.push(tr("This week's plan:", "Kế hoạch tuần này:").to_string());
    let planned = s.deliveries_between(week_start, week_start + Duration::days(7))?;
    let mut lines: Vec<(DateTime<Utc>, String)> = Vec::new();
    for d in planned
        .iter()
        .filter(|d| d.state != crate::store::State::Published)
    {
        let Some(due) = d.due_at else { continue };
        let title = s
            .post_summary(&d.post_id)?
            .map(|p| p.title)
            .unwrap_or_default();
        lines.push((
            due,
            format!(
                "  • {} — {} — {}",
                crate::status::human_time(&due.with_timezone(&tz).to_rfc3339(), tz),
                f::channel(d.channel),
                title
            ),
        ));
    }
    lines.sort();
    if lines.is_empty() {
        out.push(tr("  nothing planned yet", "  chưa có bài nào được lên lịch").to_string());
    }
    out.extend(lines.into_iter().map(|(_, l)| l));
    Ok(out.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    // In English, the language of the library's tests (it is process-wide).
    fn config() -> Config {
        Config::parse(
            "language = \"en\"\n[schedule]\nslots = [\"Tue 07:00\", \"Thu 07:00\"]\n[facebook]\npage_id = \"1\"\n[targets]\nfacebook = \"2/week\"\n[alerts]\nweekly_digest = \"Mon 08:00\"\n",
        )
        .unwrap()
    }

    #[test]
    fn the_digest_goes_once_a_week_after_its_time() {
        let mut s = Store::open_in_memory().unwrap();
        let c = config();
        assert!(!digest(&mut s, &c, at("2026-12-07T07:59:00+07:00")).unwrap());
        assert!(digest(&mut s, &c, at("2026-12-07T08:00:00+07:00")).unwrap());
        assert!(!digest(&mut s, &c, at("2026-12-07T09:00:00+07:00")).unwrap());
        assert!(!digest(&mut s, &c, at("2026-12-10T09:00:00+07:00")).unwrap());
        assert!(digest(&mut s, &c, at("2026-12-14T10:00:00+07:00")).unwrap());
        let text = s.alerts(1).unwrap()[0].detail.clone().unwrap();
        assert!(
            text.contains("Last week (2026-12-07 – 2026-12-13)"),
            "{text}"
        );
        assert!(text.contains("Facebook: target"), "{text}");
        assert!(text.contains("This week's plan"), "{text}");
    }

    #[test]
    fn a_start_after_a_slot_passed_unserved_says_so_once() {
        let mut s = Store::open_in_memory().unwrap();
        let c = config();
        // First start ever: nothing to judge.
        assert!(!started(&mut s, &c, at("2026-12-07T09:00:00+07:00")).unwrap());
        // Alive at 09:00, then started again at 10:00: no slot in between.
        assert!(!started(&mut s, &c, at("2026-12-07T10:00:00+07:00")).unwrap());
        // Off from Monday 10:00 to Wednesday: Tuesday 07:00 passed unserved.
        assert!(started(&mut s, &c, at("2026-12-09T12:00:00+07:00")).unwrap());
        let a = &s.alerts(1).unwrap()[0];
        assert_eq!(a.kind, "service_was_off");
        assert!(
            a.detail.as_deref().unwrap().contains("08/12/2026 07:00"),
            "{a:?}"
        );
        assert!(!started(&mut s, &c, at("2026-12-09T12:05:00+07:00")).unwrap());
    }
}
