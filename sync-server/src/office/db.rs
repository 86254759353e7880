//! The back-office's own tables, in the same SQLite file as the metadata (one file to back up,
//! and one transaction can change a case and queue it for the central system together): the
//! case register, the central outbox, the applicants' notifications, back-office users and
//! sessions, and the server's audit chain.

use std::path::Path;
use std::sync::Mutex;

use ring::digest::{SHA256, digest};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::ServerError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS office_cases (
    case_number TEXT PRIMARY KEY, envelope_id TEXT NOT NULL UNIQUE, device_id TEXT NOT NULL,
    state TEXT NOT NULL, service_code TEXT NOT NULL, administrator TEXT NOT NULL,
    centre TEXT NOT NULL, registered_on TEXT NOT NULL, deadline TEXT,
    received_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    note TEXT, duplicate_of TEXT, central_number TEXT);
CREATE INDEX IF NOT EXISTS office_cases_by_state ON office_cases(state);
CREATE TABLE IF NOT EXISTS status_details (
    cursor INTEGER PRIMARY KEY REFERENCES status_events(cursor), detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS central_outbox (
    envelope_id TEXT PRIMARY KEY, case_number TEXT NOT NULL, enqueued_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL,
    delivered_at INTEGER, dead_at INTEGER, last_error TEXT);
CREATE TABLE IF NOT EXISTS office_users (
    username TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0, locked_until INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS office_sessions (
    token_sha256 TEXT PRIMARY KEY, username TEXT NOT NULL REFERENCES office_users(username),
    csrf_token TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS catalog_drafts (
    draft_id INTEGER PRIMARY KEY, toml TEXT NOT NULL, uploaded_by TEXT NOT NULL,
    uploaded_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS notify_outbox (
    seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE,
    case_number TEXT NOT NULL, status TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sent', 'skipped', 'dead')),
    enqueued_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL, done_at INTEGER, last_error TEXT);
CREATE INDEX IF NOT EXISTS notify_outbox_pending ON notify_outbox(state, next_attempt_at);
CREATE INDEX IF NOT EXISTS notify_outbox_by_case ON notify_outbox(case_number, seq);
CREATE TABLE IF NOT EXISTS office_migrations (name TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS server_audit (
    seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    subject TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
";

const REGISTERED_CENTRALLY: &str = "state registered_centrally";
const NOTIFY_ANY_STEP: &str = "notify_outbox for every step";

/// The connection the back-office and the central connector share.
pub struct OfficeDb {
    conn: Mutex<Connection>,
}

impl OfficeDb {
    /// Open the metadata file (made by `init`) and add the back-office tables if missing.
    pub fn open(path: &Path) -> Result<Self, ServerError> {
        let conn = crate::store::open_connection(path)?;
        conn.execute_batch(SCHEMA)?;
        let db = Self {
            conn: Mutex::new(conn),
        };
        db.migrate()?;
        Ok(db)
    }

    /// Data written by older builds, brought to today's tables and vocabulary, each once.
    fn migrate(&self) -> Result<(), ServerError> {
        self.migrate_once(REGISTERED_CENTRALLY, registered_centrally)?;
        self.migrate_once(NOTIFY_ANY_STEP, notify_any_step)
    }

    fn migrate_once(
        &self,
        name: &str,
        step: fn(&Transaction<'_>) -> Result<(), ServerError>,
    ) -> Result<(), ServerError> {
        self.transaction(|tx| {
            let done = tx
                .query_row(
                    "SELECT 1 FROM office_migrations WHERE name = ?1",
                    [name],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            if done {
                return Ok(());
            }
            step(tx)?;
            tx.execute(
                "INSERT INTO office_migrations (name, at) VALUES (?1, 0)",
                [name],
            )?;
            Ok(())
        })
    }
    /// Run `work` in one transaction: all of it is stored, or none.
    pub fn transaction<T>(
        &self,
        work: impl FnOnce(&Transaction<'_>) -> Result<T, ServerError>,
    ) -> Result<T, ServerError> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| ServerError::Storage("office database lock poisoned".into()))?;
        let tx = conn.transaction()?;
        let value = work(&tx)?;
        tx.commit()?;
        Ok(value)
    }
}

/// The central system's «registered» was stored as the bare word, which the domain's
/// vocabulary gives to a case registered on the tablet.
fn registered_centrally(tx: &Transaction<'_>) -> Result<(), ServerError> {
    let name = fieldkit_domain::workflow::CaseState::RegisteredCentrally.name();
    for sql in [
        "UPDATE office_cases SET state = ?1 WHERE state = 'registered'",
        "UPDATE status_events SET status = ?1 WHERE status = 'registered'",
        "UPDATE central_events SET status = ?1 WHERE status = 'registered'",
        "UPDATE notify_outbox SET status = ?1 WHERE status = 'registered'",
    ] {
        match tx.execute(sql, [name]) {
            Ok(_) => {}
            // A table the central connector has not made yet holds nothing to move.
            Err(rusqlite::Error::SqliteFailure(_, Some(message)))
                if message.starts_with("no such table") => {}
            Err(other) => return Err(other.into()),
        }
    }
    Ok(())
}

/// Older builds tied each notification to a central event (`REFERENCES central_events`), so
/// only the central system's steps could tell the applicant. A hand-over, a withdrawal and the
/// archive job queue them too now: the table is rebuilt without the reference, rows kept.
fn notify_any_step(tx: &Transaction<'_>) -> Result<(), ServerError> {
    let definition: Option<String> = tx
        .query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'notify_outbox'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if !definition.is_some_and(|sql| sql.contains("REFERENCES central_events")) {
        return Ok(());
    }
    tx.execute_batch(
        "ALTER TABLE notify_outbox RENAME TO notify_outbox_before;
         DROP INDEX IF EXISTS notify_outbox_pending;
         DROP INDEX IF EXISTS notify_outbox_by_case;",
    )?;
    tx.execute_batch(SCHEMA)?;
    tx.execute_batch(
        "INSERT INTO notify_outbox (seq, event_id, case_number, status, state, enqueued_at,
             attempts, next_attempt_at, done_at, last_error)
         SELECT seq, event_id, case_number, status, state, enqueued_at, attempts,
             next_attempt_at, done_at, last_error FROM notify_outbox_before;
         DROP TABLE notify_outbox_before;",
    )?;
    Ok(())
}

/// Append an event to the server's audit chain inside `tx`: each event carries the hash of the
/// one before, so an edited or removed event shows (`verify_audit_chain`).
pub fn audit(
    tx: &Transaction<'_>,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
    now: i64,
) -> Result<(), ServerError> {
    let previous: Option<(i64, String)> = tx
        .query_row(
            "SELECT seq, hash FROM server_audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (seq, prev_hash) = previous.map_or((1, String::new()), |(s, h)| (s + 1, h));
    let hash = event_hash(seq, now, actor, action, subject, detail, &prev_hash);
    tx.execute(
        "INSERT INTO server_audit (seq, at, actor, action, subject, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![seq, now, actor, action, subject, detail, prev_hash, hash],
    )?;
    Ok(())
}

fn event_hash(
    seq: i64,
    at: i64,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
    prev_hash: &str,
) -> String {
    // Length-prefixed fields, so no two different events serialise alike.
    let mut bytes = Vec::new();
    for field in [
        seq.to_string().as_str(),
        at.to_string().as_str(),
        actor,
        action,
        subject,
        detail,
        prev_hash,
    ] {
        bytes.extend_from_slice(&(field.len() as u64).to_be_bytes());
        bytes.extend_from_slice(field.as_bytes());
    }
    hex::encode(digest(&SHA256, &bytes))
}

/// One event of the server's audit chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
}

/// The events about `subject` (a case number, a device, a user), oldest first.
pub fn audit_of(tx: &Transaction<'_>, subject: &str) -> Result<Vec<AuditEvent>, ServerError> {
    let mut statement = tx.prepare(
        "SELECT seq, at, actor, action, subject, detail FROM server_audit WHERE subject = ?1 ORDER BY seq",
    )?;
    let rows = statement
        .query_map([subject], |r| {
            Ok(AuditEvent {
                seq: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                subject: r.get(4)?,
                detail: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Walk the whole chain: the sequence number of the first event that does not hash to what it
/// says or does not point at the one before, if any.
pub fn verify_audit_chain(tx: &Transaction<'_>) -> Result<Option<i64>, ServerError> {
    let mut statement = tx.prepare(
        "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM server_audit ORDER BY seq",
    )?;
    let mut rows = statement.query([])?;
    let mut expected_prev = String::new();
    let mut expected_seq = 1;
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let prev: String = row.get(6)?;
        let hash: String = row.get(7)?;
        let computed = event_hash(
            seq,
            row.get(1)?,
            &row.get::<_, String>(2)?,
            &row.get::<_, String>(3)?,
            &row.get::<_, String>(4)?,
            &row.get::<_, String>(5)?,
            &prev,
        );
        if seq != expected_seq || prev != expected_prev || computed != hash {
            return Ok(Some(seq));
        }
        expected_prev = hash;
        expected_seq += 1;
    }
    Ok(None)
}
