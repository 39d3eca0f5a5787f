//! Numbered schema migrations, applied in order at start-up and recorded in `PRAGMA user_version`.
//!
//! A migration that has landed is never edited: a change to the schema is a new migration at the
//! end of [`MIGRATIONS`].

use rusqlite::Connection;

/// Migration N (1-based) is `MIGRATIONS[N - 1]`.
pub const MIGRATIONS: &[&str] = &[
    // 1: posts, deliveries, attempts, channel state.
    r#"
    CREATE TABLE posts (
        id            TEXT PRIMARY KEY,            -- stable id, kept across renames and edits
        path          TEXT NOT NULL,               -- relative to posts_dir, '/'-separated
        content_hash  TEXT NOT NULL,               -- sha256 of the normalized file text
        content       TEXT NOT NULL,               -- the normalized file text, what gets published
        title         TEXT NOT NULL,
        meta          TEXT NOT NULL,               -- parsed front matter as JSON
        problems      TEXT,                        -- JSON array of problems; NULL when valid
        present       INTEGER NOT NULL DEFAULT 1,  -- 0 once the file is gone
        first_seen_at TEXT NOT NULL,
        updated_at    TEXT NOT NULL
    );
    CREATE INDEX posts_by_hash ON posts(content_hash);
    CREATE UNIQUE INDEX posts_present_path ON posts(path) WHERE present = 1;

    CREATE TABLE deliveries (
        id              INTEGER PRIMARY KEY,
        post_id         TEXT NOT NULL REFERENCES posts(id),
        channel         TEXT NOT NULL,
        state           TEXT NOT NULL,
        due_at          TEXT,                      -- UTC; NULL while waiting for a slot
        slotted         INTEGER NOT NULL DEFAULT 0,-- due_at came from a weekly slot
        attempts        INTEGER NOT NULL DEFAULT 0,-- requests made
        failures        INTEGER NOT NULL DEFAULT 0,-- attempts counted against retry.max_attempts
        next_attempt_at TEXT,
        remote_id       TEXT,
        platform_scheduled INTEGER NOT NULL DEFAULT 0, -- the platform holds it for due_at (native scheduling)
        published_at    TEXT,
        published_hash  TEXT,                      -- content_hash that is on the platform
        progress        TEXT,                      -- a platform's in-flight token (Zalo create)
        needs_reconcile INTEGER NOT NULL DEFAULT 0,-- look on the platform before any new create
        reconcile_tries INTEGER NOT NULL DEFAULT 0,
        update_state    TEXT,                      -- NULL | pending | sending | failed
        broadcast_state TEXT,                      -- NULL | wanted | pending | sending | sent | failed | unconfirmed
        broadcast_next  TEXT,                      -- no broadcast try before this
        broadcast_id    TEXT,                      -- the platform's message id
        broadcast_error TEXT,
        last_error      TEXT,
        cancel_reason   TEXT,                      -- deleted | officer | draft | channel
        UNIQUE (post_id, channel)
    );
    CREATE INDEX deliveries_by_state ON deliveries(state);

    CREATE TABLE attempts (
        id           INTEGER PRIMARY KEY,
        delivery_id  INTEGER NOT NULL REFERENCES deliveries(id),
        kind         TEXT NOT NULL,                -- create | update | reconcile
        started_at   TEXT NOT NULL,
        finished_at  TEXT,
        outcome      TEXT,                         -- NULL while in flight
        remote_id    TEXT,
        message      TEXT                          -- the platform's own words
    );
    CREATE INDEX attempts_by_delivery ON attempts(delivery_id);

    CREATE TABLE channels (
        channel      TEXT PRIMARY KEY,
        health       TEXT NOT NULL DEFAULT 'ok',   -- ok | rate_limited | needs_reauth
        paused_until TEXT,
        reason       TEXT,
        token_expires_at TEXT                      -- when the channel's token dies, if known
    );
    "#,
    // 2: every state column refuses values loa does not know (CHECK), and a delivery carries a
    // version that every write bumps, so a write that did not see the row as it is now fails.
    // SQLite cannot add a CHECK to a table: each table is rebuilt and its rows copied.
    r#"
    CREATE TABLE deliveries_v2 (
        id              INTEGER PRIMARY KEY,
        post_id         TEXT NOT NULL REFERENCES posts(id),
        channel         TEXT NOT NULL CHECK (channel IN ('facebook', 'zalo')),
        state           TEXT NOT NULL CHECK (state IN ('scheduled', 'publishing', 'retry_wait',
                            'published', 'unconfirmed', 'failed', 'missed', 'cancelled')),
        due_at          TEXT,
        slotted         INTEGER NOT NULL DEFAULT 0 CHECK (slotted IN (0, 1)),
        attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        failures        INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
        next_attempt_at TEXT,
        remote_id       TEXT,
        platform_scheduled INTEGER NOT NULL DEFAULT 0 CHECK (platform_scheduled IN (0, 1)),
        published_at    TEXT,
        published_hash  TEXT,
        progress        TEXT,
        needs_reconcile INTEGER NOT NULL DEFAULT 0 CHECK (needs_reconcile IN (0, 1)),
        reconcile_tries INTEGER NOT NULL DEFAULT 0 CHECK (reconcile_tries >= 0),
        update_state    TEXT CHECK (update_state IS NULL OR update_state IN ('pending', 'sending', 'failed')),
        broadcast_state TEXT CHECK (broadcast_state IS NULL OR broadcast_state IN ('wanted', 'pending',
                            'sending', 'sent', 'failed', 'unconfirmed', 'cancelled')),
        broadcast_next  TEXT,
        broadcast_id    TEXT,
        broadcast_error TEXT,
        last_error      TEXT,
        cancel_reason   TEXT CHECK (cancel_reason IS NULL OR cancel_reason IN ('deleted', 'officer',
                            'draft', 'channel', 'invalid', 'unpublished')),
        version         INTEGER NOT NULL DEFAULT 0,  -- bumped by every write of the row
        UNIQUE (post_id, channel)
    );
    INSERT INTO deliveries_v2 (id, post_id, channel, state, due_at, slotted, attempts, failures,
        next_attempt_at, remote_id, platform_scheduled, published_at, published_hash, progress,
        needs_reconcile, reconcile_tries, update_state, broadcast_state, broadcast_next, broadcast_id,
        broadcast_error, last_error, cancel_reason)
    SELECT id, post_id, channel, state, due_at, slotted, attempts, failures, next_attempt_at,
        remote_id, platform_scheduled, published_at, published_hash, progress, needs_reconcile,
        reconcile_tries, update_state, broadcast_state, broadcast_next, broadcast_id, broadcast_error,
        last_error, cancel_reason
    FROM deliveries;
    DROP TABLE deliveries;
    ALTER TABLE deliveries_v2 RENAME TO deliveries;
    CREATE INDEX deliveries_by_state ON deliveries(state);

    CREATE TABLE attempts_v2 (
        id           INTEGER PRIMARY KEY,
        delivery_id  INTEGER NOT NULL REFERENCES deliveries(id),
        kind         TEXT NOT NULL CHECK (kind IN ('create', 'update', 'reconcile', 'confirm',
                         'delete', 'broadcast')),
        started_at   TEXT NOT NULL,
        finished_at  TEXT,
        outcome      TEXT,
        remote_id    TEXT,
        message      TEXT
    );
    INSERT INTO attempts_v2 SELECT id, delivery_id, kind, started_at, finished_at, outcome, remote_id,
        message FROM attempts;
    DROP TABLE attempts;
    ALTER TABLE attempts_v2 RENAME TO attempts;
    CREATE INDEX attempts_by_delivery ON attempts(delivery_id);

    CREATE TABLE channels_v2 (
        channel      TEXT PRIMARY KEY CHECK (channel IN ('facebook', 'zalo')),
        health       TEXT NOT NULL DEFAULT 'ok' CHECK (health IN ('ok', 'rate_limited', 'needs_reauth')),
        paused_until TEXT,
        reason       TEXT,
        token_expires_at TEXT
    );
    INSERT INTO channels_v2 SELECT channel, health, paused_until, reason, token_expires_at FROM channels;
    DROP TABLE channels;
    ALTER TABLE channels_v2 RENAME TO channels;
    "#,
    // 3: reach and engagement. Every snapshot is kept, with its figures (NULL = no figure) and
    // the platform's raw answer; `collections` says per delivery which age step was taken last,
    // when the next is due and which snapshot is the newest, so the report reads one row per
    // delivery however many snapshots there are.
    r#"
    CREATE TABLE snapshots (
        id          INTEGER PRIMARY KEY,
        delivery_id INTEGER NOT NULL REFERENCES deliveries(id),
        taken_at    TEXT NOT NULL,                 -- UTC
        step        INTEGER CHECK (step IS NULL OR step BETWEEN 0 AND 6), -- age 1h..30d; NULL: asked for by hand
        views       INTEGER CHECK (views IS NULL OR views >= 0),
        reach       INTEGER CHECK (reach IS NULL OR reach >= 0),
        reactions   INTEGER CHECK (reactions IS NULL OR reactions >= 0),
        comments    INTEGER CHECK (comments IS NULL OR comments >= 0),
        shares      INTEGER CHECK (shares IS NULL OR shares >= 0),
        clicks      INTEGER CHECK (clicks IS NULL OR clicks >= 0),
        missing     TEXT,                          -- JSON array: figures the platform retired
        raw         TEXT NOT NULL                  -- the platform's answers, as received
    );
    CREATE INDEX snapshots_by_delivery ON snapshots(delivery_id, taken_at);

    CREATE TABLE collections (
        delivery_id     INTEGER PRIMARY KEY REFERENCES deliveries(id),
        last_step       INTEGER CHECK (last_step IS NULL OR last_step BETWEEN 0 AND 6),
        next_due_at     TEXT,                      -- UTC; NULL once done or stopped
        stopped         TEXT CHECK (stopped IS NULL OR stopped IN ('gone')),
        stopped_reason  TEXT,
        link            TEXT,                      -- where the post is seen on the platform
        latest_snapshot INTEGER REFERENCES snapshots(id)
    );
    CREATE INDEX collections_due ON collections(next_due_at) WHERE next_due_at IS NOT NULL;
    CREATE INDEX deliveries_by_published_at ON deliveries(published_at);

    CREATE TABLE retired_metrics (
        channel     TEXT NOT NULL,
        metric      TEXT NOT NULL,                 -- the platform's name
        figure      TEXT NOT NULL,                 -- the contract's name of what it filled
        retired_at  TEXT NOT NULL,
        message     TEXT,
        PRIMARY KEY (channel, metric)
    );

    CREATE TABLE account_snapshots (
        id          INTEGER PRIMARY KEY,
        channel     TEXT NOT NULL,
        day         TEXT NOT NULL,                 -- the local date, YYYY-MM-DD
        taken_at    TEXT NOT NULL,
        followers   INTEGER CHECK (followers IS NULL OR followers >= 0),
        raw         TEXT NOT NULL,
        UNIQUE (channel, day)
    );
    "#,
    // 4: alerts, an outbox written by triggers in the transaction of the change that causes
    // them (whatever code path makes it), so a change is never committed without its alert
    // nor an alert without its change. `alert_sends` records each sink's delivery of each
    // alert; `alert_sinks` when a sink was first configured (older alerts are not sent to it);
    // `service_marks` the service's last sign of life (it was off past a slot?). Times here are
    // SQLite's wall time: an alert says when it happened in real time.
    r#"
    CREATE TABLE alerts (
        id          INTEGER PRIMARY KEY,
        kind        TEXT NOT NULL CHECK (kind IN ('delivery_failed', 'delivery_unconfirmed',
                        'delivery_missed', 'needs_reauth', 'channel_paused', 'token_expiring',
                        'post_invalid', 'broadcast_failed', 'service_was_off', 'weekly_digest')),
        key         TEXT UNIQUE,                   -- a condition raised once (NULL: an event)
        at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        post_id     TEXT,
        delivery_id INTEGER,
        channel     TEXT,
        state       TEXT,
        detail      TEXT                           -- the platform's words, the reason, the problems
    );
    CREATE INDEX alerts_by_at ON alerts(at);

    CREATE TABLE alert_sinks (
        sink        TEXT PRIMARY KEY,              -- the sink's id (kind and address, no secret)
        first_seen  TEXT NOT NULL
    );

    CREATE TABLE alert_sends (
        alert_id    INTEGER NOT NULL REFERENCES alerts(id),
        sink        TEXT NOT NULL,
        attempts    INTEGER NOT NULL DEFAULT 0,
        next_at     TEXT,                          -- UTC; no try before this
        sent_at     TEXT,                          -- UTC, once the sink took it
        last_error  TEXT,
        PRIMARY KEY (alert_id, sink)
    );

    CREATE TABLE service_marks (
        name        TEXT PRIMARY KEY,
        at          TEXT NOT NULL
    );

    CREATE TRIGGER alert_delivery AFTER UPDATE OF state ON deliveries
    WHEN NEW.state IN ('failed', 'unconfirmed', 'missed') AND NEW.state <> OLD.state
    BEGIN
        INSERT INTO alerts (kind, post_id, delivery_id, channel, state, detail)
        VALUES ('delivery_' || NEW.state, NEW.post_id, NEW.id, NEW.channel, NEW.state, NEW.last_error);
    END;
    CREATE TRIGGER alert_delivery_new AFTER INSERT ON deliveries
    WHEN NEW.state IN ('failed', 'unconfirmed', 'missed')
    BEGIN
        INSERT INTO alerts (kind, post_id, delivery_id, channel, state, detail)
        VALUES ('delivery_' || NEW.state, NEW.post_id, NEW.id, NEW.channel, NEW.state, NEW.last_error);
    END;
    CREATE TRIGGER alert_broadcast AFTER UPDATE OF broadcast_state ON deliveries
    WHEN NEW.broadcast_state = 'failed' AND OLD.broadcast_state IS NOT 'failed'
    BEGIN
        INSERT INTO alerts (kind, post_id, delivery_id, channel, state, detail)
        VALUES ('broadcast_failed', NEW.post_id, NEW.id, NEW.channel, 'broadcast_failed', NEW.broadcast_error);
    END;
    -- (Not INSERT OR IGNORE: inside an upsert's trigger SQLite aborts on the conflict anyway.)
    -- A channel's condition is raised once (by its key) and cleared when the channel works
    -- again (a delivery on it is published) or the officer connects it anew (`loa auth`): a
    -- service restarted every few minutes by cron does not alert each time.
    CREATE TRIGGER alert_reauth AFTER UPDATE OF health ON channels
    WHEN NEW.health = 'needs_reauth' AND OLD.health <> 'needs_reauth'
    BEGIN
        INSERT INTO alerts (kind, key, channel, state, detail)
        SELECT 'needs_reauth', 'needs_reauth:' || NEW.channel, NEW.channel, 'needs_reauth', NEW.reason
        WHERE NOT EXISTS (SELECT 1 FROM alerts WHERE key = 'needs_reauth:' || NEW.channel);
    END;
    CREATE TRIGGER alert_reauth_new AFTER INSERT ON channels
    WHEN NEW.health = 'needs_reauth'
    BEGIN
        INSERT INTO alerts (kind, key, channel, state, detail)
        SELECT 'needs_reauth', 'needs_reauth:' || NEW.channel, NEW.channel, 'needs_reauth', NEW.reason
        WHERE NOT EXISTS (SELECT 1 FROM alerts WHERE key = 'needs_reauth:' || NEW.channel);
    END;
    CREATE TRIGGER alert_paused AFTER UPDATE ON channels
    WHEN NEW.health = 'rate_limited'
        AND NEW.paused_until > strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+1 hour')
    BEGIN
        INSERT INTO alerts (kind, key, channel, state, detail)
        SELECT 'channel_paused', 'channel_paused:' || NEW.channel, NEW.channel, 'rate_limited', NEW.reason
        WHERE NOT EXISTS (SELECT 1 FROM alerts WHERE key = 'channel_paused:' || NEW.channel);
    END;
    CREATE TRIGGER alert_paused_new AFTER INSERT ON channels
    WHEN NEW.health = 'rate_limited'
        AND NEW.paused_until > strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+1 hour')
    BEGIN
        INSERT INTO alerts (kind, key, channel, state, detail)
        SELECT 'channel_paused', 'channel_paused:' || NEW.channel, NEW.channel, 'rate_limited', NEW.reason
        WHERE NOT EXISTS (SELECT 1 FROM alerts WHERE key = 'channel_paused:' || NEW.channel);
    END;
    CREATE TRIGGER alert_channel_works AFTER UPDATE OF state ON deliveries
    WHEN NEW.state = 'published' AND OLD.state <> 'published'
    BEGIN
        UPDATE alerts SET key = NULL
        WHERE key IN ('needs_reauth:' || NEW.channel, 'channel_paused:' || NEW.channel);
    END;
    CREATE TRIGGER alert_post_invalid AFTER INSERT ON posts
    WHEN NEW.problems IS NOT NULL AND NEW.present = 1
    BEGIN
        INSERT INTO alerts (kind, key, post_id, detail)
        SELECT 'post_invalid', 'post_invalid:' || NEW.id || ':' || NEW.content_hash, NEW.id, NEW.problems
        WHERE NOT EXISTS (SELECT 1 FROM alerts WHERE key = 'post_invalid:' || NEW.id || ':' || NEW.content_hash);
    END;
    CREATE TRIGGER alert_post_invalid_edit AFTER UPDATE ON posts
    WHEN NEW.problems IS NOT NULL AND NEW.present = 1
    BEGIN
        INSERT INTO alerts (kind, key, post_id, detail)
        SELECT 'post_invalid', 'post_invalid:' || NEW.id || ':' || NEW.content_hash, NEW.id, NEW.problems
        WHERE NOT EXISTS (SELECT 1 FROM alerts WHERE key = 'post_invalid:' || NEW.id || ':' || NEW.content_hash);
    END;
    "#,
];

/// Brings the database up to the newest schema, one transaction per migration.
///
/// Foreign keys are off while a migration rebuilds a table (SQLite's own recipe: a table that
/// others reference cannot be dropped and renamed otherwise), and checked before each commit.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let current = usize::try_from(current).unwrap_or(0);
    if current >= MIGRATIONS.len() {
        return Ok(());
    }
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    let result = (|| {
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            // Another process opening the same new database may have applied it meanwhile:
            // the version read inside the write transaction is the one that counts.
            let now_at: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
            if usize::try_from(now_at).unwrap_or(0) > i {
                continue;
            }
            tx.execute_batch(sql)?;
            let broken: i64 =
                tx.query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
                    r.get(0)
                })?;
            if broken > 0 {
                return Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
                    Some(format!(
                        "migration {} left {broken} broken references",
                        i + 1
                    )),
                ));
            }
            tx.pragma_update(
                None,
                "user_version",
                i64::try_from(i + 1).unwrap_or(i64::MAX),
            )?;
            tx.commit()?;
        }
        Ok(())
    })();
    conn.pragma_update(None, "foreign_keys", "ON")?;
    result
}
