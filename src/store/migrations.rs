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
];

/// Brings the database up to the newest schema, one transaction per migration.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let current = usize::try_from(current).unwrap_or(0);
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(i + 1).unwrap_or(i64::MAX),
        )?;
        tx.commit()?;
    }
    Ok(())
}
