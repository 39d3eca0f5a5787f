//! The store: schema, durability settings, atomic claims.

use super::*;
use chrono::Duration;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn post(id: &str, path: &str) -> PostRecord {
    PostRecord {
        id: id.into(),
        path: path.into(),
        content_hash: format!("h-{id}"),
        content: "---\ntitle: x\n---\n".into(),
        title: "x".into(),
        meta: serde_json::json!({"channels": ["facebook"]}),
        problems: None,
        present: true,
        first_seen_at: now(),
    }
}

#[test]
fn a_file_store_uses_wal_full_sync_and_foreign_keys() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("loa.db")).unwrap();
    let mode: String = store
        .conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    let sync: i64 = store
        .conn
        .pragma_query_value(None, "synchronous", |r| r.get(0))
        .unwrap();
    let fk: i64 = store
        .conn
        .pragma_query_value(None, "foreign_keys", |r| r.get(0))
        .unwrap();
    assert_eq!((mode.as_str(), sync, fk), ("wal", 2, 1));
    assert!(store.integrity_ok().unwrap());
}

#[test]
fn migrations_apply_once_and_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loa.db");
    drop(Store::open(&path).unwrap());
    let store = Store::open(&path).unwrap();
    let v: i64 = store
        .conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v as usize, MIGRATIONS.len());
    store.conn.pragma_update(None, "user_version", 99).unwrap();
    drop(store);
    assert!(matches!(
        Store::open(&path),
        Err(StoreError::TooNew { found: 99, .. })
    ));
}

#[test]
fn a_delivery_is_claimed_once_and_its_attempt_recorded() {
    let mut s = Store::open_in_memory().unwrap();
    s.insert_post(&post("p1", "a.md"), now()).unwrap();
    let id = s
        .insert_delivery("p1", Channel::Facebook, Some(now()), false)
        .unwrap();
    let taken = s
        .take_step(id, Step::Publish, now())
        .unwrap()
        .expect("first claim wins");
    let (d, attempt) = (taken.delivery, taken.attempt);
    assert_eq!((d.state, d.attempts), (State::Publishing, 1));
    assert_eq!(taken.post.map(|p| p.content_hash), Some("h-p1".into()));
    assert!(
        s.take_step(id, Step::Publish, now()).unwrap().is_none(),
        "a second claim finds it taken"
    );
    let attempts = s.attempts_of(id).unwrap();
    assert_eq!(
        (attempts.len(), attempts[0].outcome.clone()),
        (1, None),
        "the attempt is on disk before any request"
    );

    let closing = Closing {
        class: "published".into(),
        remote_id: Some("1_2".into()),
        message: None,
    };
    s.close_attempt(id, attempt, &closing, now(), |d, _| {
        d.state = State::Published;
        d.remote_id = Some("1_2".into());
        (ChannelEffect::None, ())
    })
    .unwrap();
    assert_eq!(
        s.delivery(id).unwrap().unwrap().remote_id.as_deref(),
        Some("1_2")
    );
    assert_eq!(
        s.attempts_of(id).unwrap()[0].outcome.as_deref(),
        Some("published")
    );
}

#[test]
fn a_reconciliation_is_not_counted_as_a_publish_attempt() {
    let mut s = Store::open_in_memory().unwrap();
    s.insert_post(&post("p1", "a.md"), now()).unwrap();
    let id = s
        .insert_delivery("p1", Channel::Zalo, Some(now()), false)
        .unwrap();
    s.amend_all(|d| {
        d.needs_reconcile = true;
        true
    })
    .unwrap();
    let taken = s.take_step(id, Step::Publish, now()).unwrap().unwrap();
    assert_eq!(
        (taken.kind, taken.delivery.attempts),
        (AttemptKind::Reconcile, 0)
    );
}

#[test]
fn progress_tokens_and_dangling_attempts_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loa.db");
    let id = {
        let mut s = Store::open(&path).unwrap();
        s.insert_post(&post("p1", "a.md"), now()).unwrap();
        let id = s
            .insert_delivery("p1", Channel::Zalo, Some(now()), false)
            .unwrap();
        s.take_step(id, Step::Publish, now()).unwrap().unwrap();
        s.save_progress(id, "tk_01").unwrap();
        id
        // Dropped without finishing: as if the process died here.
    };
    let mut s = Store::open(&path).unwrap();
    let d = s.delivery(id).unwrap().unwrap();
    assert_eq!(
        (d.state, d.progress.as_deref()),
        (State::Publishing, Some("tk_01"))
    );
    assert_eq!(s.close_dangling_attempts(now()).unwrap(), 1);
    assert_eq!(
        s.attempts_of(id).unwrap()[0].outcome.as_deref(),
        Some("interrupted")
    );
}

#[test]
fn only_one_present_post_per_path() {
    let mut s = Store::open_in_memory().unwrap();
    s.insert_post(&post("p1", "a.md"), now()).unwrap();
    assert!(s.insert_post(&post("p2", "a.md"), now()).is_err());
    s.mark_absent("p1", now()).unwrap();
    s.insert_post(&post("p2", "a.md"), now()).unwrap();
}

#[test]
fn channel_pauses_are_kept() {
    let mut s = Store::open_in_memory().unwrap();
    let rec = ChannelRecord {
        channel: Channel::Facebook,
        health: Health::RateLimited,
        paused_until: Some(now()),
        reason: Some("(#4)".into()),
        token_expires_at: None,
    };
    s.set_channel(&rec).unwrap();
    s.set_channel(&rec).unwrap();
    assert_eq!(s.channels().unwrap(), vec![rec]);
}

#[test]
fn two_processes_opening_a_new_database_at_once_both_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loa.db");
    let opened: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || Store::open(&path).map(|_| ()))
        })
        .collect();
    for t in opened {
        t.join()
            .unwrap()
            .expect("every opener sees one migrated schema");
    }
}

#[test]
fn the_schema_refuses_values_loa_does_not_know_and_takes_every_one_it_does() {
    let mut s = Store::open_in_memory().unwrap();
    s.insert_post(&post("p1", "a.md"), now()).unwrap();
    let id = s
        .insert_delivery("p1", Channel::Facebook, Some(now()), false)
        .unwrap();
    let set = |s: &Store, column: &str, value: &str| {
        s.conn.execute(
            &format!("UPDATE deliveries SET {column} = ?1 WHERE id = ?2"),
            params![value, id],
        )
    };
    for st in State::ALL {
        set(&s, "state", st.as_str()).unwrap();
    }
    for u in UpdateState::ALL {
        set(&s, "update_state", u.as_str()).unwrap();
    }
    for b in BroadcastState::ALL {
        set(&s, "broadcast_state", b.as_str()).unwrap();
    }
    for r in CancelReason::ALL {
        set(&s, "cancel_reason", r.as_str()).unwrap();
    }
    for c in Channel::ALL {
        set(&s, "channel", c.name()).unwrap();
    }
    for (column, bad) in [
        ("state", "on_hold"),
        ("update_state", "later"),
        ("broadcast_state", "maybe"),
        ("cancel_reason", "why"),
        ("channel", "tiktok"),
    ] {
        assert!(set(&s, column, bad).is_err(), "{column} = {bad}");
    }
    for h in Health::ALL {
        s.conn
            .execute(
                "INSERT INTO channels (channel, health) VALUES ('zalo', ?1)
                 ON CONFLICT (channel) DO UPDATE SET health = ?1",
                [h.as_str()],
            )
            .unwrap();
    }
    assert!(
        s.conn
            .execute("UPDATE channels SET health = 'sleepy'", [])
            .is_err()
    );
    for k in AttemptKind::ALL {
        s.conn
            .execute(
                "INSERT INTO attempts (delivery_id, kind, started_at) VALUES (?1, ?2, '')",
                params![id, k.as_str()],
            )
            .unwrap();
    }
    assert!(
        s.conn
            .execute(
                "INSERT INTO attempts (delivery_id, kind, started_at) VALUES (?1, 'guess', '')",
                params![id],
            )
            .is_err()
    );
}

#[test]
fn a_database_from_before_the_checks_is_migrated_with_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loa.db");
    {
        let mut conn = Connection::open(&path).unwrap();
        let tx = conn.transaction().unwrap();
        tx.execute_batch(MIGRATIONS[0]).unwrap();
        tx.pragma_update(None, "user_version", 1).unwrap();
        tx.execute_batch(
            "INSERT INTO posts VALUES ('p1', 'a.md', 'h', 'x', 'A', '{}', NULL, 1, '2026-12-01T00:00:00.000Z', '2026-12-01T00:00:00.000Z');
             INSERT INTO deliveries (id, post_id, channel, state, remote_id, broadcast_state, cancel_reason)
                 VALUES (7, 'p1', 'zalo', 'published', 'z1', 'sent', NULL);
             INSERT INTO attempts (delivery_id, kind, started_at, outcome) VALUES (7, 'create', '2026-12-01T00:00:00.000Z', 'published');
             INSERT INTO channels (channel, health) VALUES ('zalo', 'ok');",
        )
        .unwrap();
        tx.commit().unwrap();
    }
    let s = Store::open(&path).unwrap();
    let d = s.delivery(7).unwrap().unwrap();
    assert_eq!(
        (
            d.channel,
            d.state,
            d.remote_id.as_deref(),
            d.broadcast_state
        ),
        (
            Channel::Zalo,
            State::Published,
            Some("z1"),
            Some(BroadcastState::Sent)
        )
    );
    assert_eq!(s.attempts_of(7).unwrap()[0].kind, AttemptKind::Create);
    assert!(s.integrity_ok().unwrap());
    let fk: i64 = s
        .conn
        .pragma_query_value(None, "foreign_keys", |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1, "foreign keys are back on after the rebuild");
}

#[test]
fn a_write_of_a_row_read_before_a_change_is_refused() {
    let mut s = Store::open_in_memory().unwrap();
    s.insert_post(&post("p1", "a.md"), now()).unwrap();
    let id = s
        .insert_delivery("p1", Channel::Facebook, Some(now()), false)
        .unwrap();
    let stale = s.delivery(id).unwrap().unwrap();
    s.amend_all(|d| {
        d.state = State::Cancelled;
        true
    })
    .unwrap();
    assert!(matches!(
        s.save_delivery(&stale),
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.delivery(id).unwrap().unwrap().state, State::Cancelled);
}

#[test]
fn an_alert_is_written_with_the_change_that_causes_it_and_once_per_condition() {
    let mut s = Store::open_in_memory().unwrap();
    s.insert_post(&post("p1", "a.md"), now()).unwrap();
    let id = s
        .insert_delivery("p1", Channel::Facebook, Some(now()), false)
        .unwrap();
    let taken = s.take_step(id, Step::Publish, now()).unwrap().unwrap();
    let closing = Closing {
        class: "permanent".into(),
        remote_id: None,
        message: Some("(#100) Invalid parameter".into()),
    };
    // A change that fails to commit leaves no alert behind.
    let failed = s.in_transaction(|s| {
        let mut d = s.delivery(id)?.unwrap();
        d.state = State::Failed;
        s.save_delivery(&d)?;
        Err::<(), _>(StoreError::Conflict(id))
    });
    assert!(failed.is_err());
    assert!(
        s.alerts(10).unwrap().is_empty(),
        "rolled back with its change"
    );
    s.close_attempt(id, taken.attempt, &closing, now(), |d, _| {
        d.state = State::Failed;
        d.last_error = Some("(#100) Invalid parameter".into());
        (
            ChannelEffect::NeedsReauth {
                reason: "token revoked".into(),
            },
            (),
        )
    })
    .unwrap();
    let alerts = s.alerts(10).unwrap();
    let kinds: Vec<&str> = alerts.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(kinds, ["needs_reauth", "delivery_failed"]);
    assert_eq!(
        alerts[1].detail.as_deref(),
        Some("(#100) Invalid parameter")
    );
    assert_eq!(alerts[1].path.as_deref(), Some("a.md"));
    // Still needing a new token, or needing it again after a restart that gave the channel a
    // new chance without a new token: no second alert. Connected anew, then again: one more.
    s.amend_channel(Channel::Facebook, |c| c.reason = Some("again".into()))
        .unwrap();
    s.amend_channel(Channel::Facebook, |c| c.health = Health::Ok)
        .unwrap();
    s.amend_channel(Channel::Facebook, |c| c.health = Health::NeedsReauth)
        .unwrap();
    assert_eq!(s.alerts(10).unwrap().len(), 2);
    s.clear_condition("needs_reauth:facebook").unwrap();
    s.amend_channel(Channel::Facebook, |c| c.health = Health::Ok)
        .unwrap();
    s.amend_channel(Channel::Facebook, |c| c.health = Health::NeedsReauth)
        .unwrap();
    assert_eq!(s.alerts(10).unwrap().len(), 3);
    // The channel working again clears it too.
    let p3 = s
        .insert_delivery("p1", Channel::Zalo, Some(now()), false)
        .unwrap();
    s.amend_channel(Channel::Zalo, |c| c.health = Health::NeedsReauth)
        .unwrap();
    assert_eq!(s.alerts(10).unwrap().len(), 4);
    let mut d = s.delivery(p3).unwrap().unwrap();
    d.state = State::Published;
    s.save_delivery(&d).unwrap();
    s.amend_channel(Channel::Zalo, |c| c.health = Health::Ok)
        .unwrap();
    s.amend_channel(Channel::Zalo, |c| c.health = Health::NeedsReauth)
        .unwrap();
    assert_eq!(s.alerts(10).unwrap().len(), 5);

    // A post with errors: once per content version.
    let mut bad = post("p2", "b.md");
    bad.problems = Some(vec!["b.md:2:1: title is missing".into()]);
    s.insert_post(&bad, now()).unwrap();
    s.update_post(&bad, now()).unwrap();
    assert_eq!(s.alerts(10).unwrap().len(), 6);
    bad.content_hash = "h-p2-edited".into();
    s.update_post(&bad, now()).unwrap();
    assert_eq!(s.alerts(10).unwrap().len(), 7);

    // A condition judged over time is raised once by its key.
    assert!(
        s.raise_condition("token_expiring", "k", Some("zalo"), Some("x"), now())
            .unwrap()
    );
    assert!(
        !s.raise_condition("token_expiring", "k", Some("zalo"), Some("x"), now())
            .unwrap()
    );
}

#[test]
fn the_outbox_owes_each_sink_what_came_after_it_and_remembers_each_send() {
    let mut s = Store::open_in_memory().unwrap();
    let wall = Utc::now();
    s.raise_condition(
        "token_expiring",
        "old",
        Some("zalo"),
        None,
        wall - Duration::days(30),
    )
    .unwrap();
    let sinks = vec!["webhook:a".to_string(), "email:b".to_string()];
    s.note_sinks(&sinks, wall - Duration::hours(1)).unwrap();
    s.raise_condition("token_expiring", "new", Some("zalo"), None, wall)
        .unwrap();
    let pending = s.pending_sends(&sinks, wall).unwrap();
    assert_eq!(
        pending.len(),
        2,
        "the new alert, once per sink; not the old one"
    );
    let alert = pending[0].alert.id;
    s.record_sent(alert, "webhook:a", wall).unwrap();
    s.record_send_failure(
        alert,
        "email:b",
        "refused",
        Some(wall + Duration::minutes(1)),
    )
    .unwrap();
    assert!(s.pending_sends(&sinks, wall).unwrap().is_empty());
    assert_eq!(
        s.next_send_at(&sinks, wall).unwrap(),
        Some(wall + Duration::minutes(1)).map(|t| parse_ts(Some(ts(t))).unwrap())
    );
    let later = wall + Duration::minutes(2);
    let again = s.pending_sends(&sinks, later).unwrap();
    assert_eq!(
        (again.len(), again[0].sink.as_str(), again[0].attempts),
        (1, "email:b", 1)
    );
    let undelivered = s.undelivered_alerts(&sinks, later).unwrap();
    assert_eq!(undelivered.len(), 1);
    assert_eq!(undelivered[0].last_error.as_deref(), Some("refused"));
    // Refused for good: never tried again, still shown as undelivered.
    s.record_send_failure(alert, "email:b", "address rejected", None)
        .unwrap();
    assert!(
        s.pending_sends(&sinks, later + Duration::days(1))
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.undelivered_alerts(&sinks, later).unwrap().len(), 1);
}
