//! The vault's SQLite schema and its ordered migrations, tracked in `PRAGMA user_version`.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Result, VaultError};

/// The schema this build writes. A file with a higher version is refused, never downgraded.
pub const SCHEMA_VERSION: i64 = 8;

/// Version of the layout of encrypted records, bound into every ciphertext's associated data.
/// A change of record layout gets a new number and a re-encrypting step on unlock.
pub(crate) const RECORD_FORMAT: i64 = 1;

/// Record format of drafts and blobs from schema 8 on: their associated data also names where
/// the row belongs (a draft's state; a blob's case, kind and position), so a ciphertext moved to
/// another case or place, or a draft's state edited in the file, no longer authenticates.
pub(crate) const BOUND_RECORD_FORMAT: i64 = 2;

/// The `meta` entry that says drafts and blobs written before schema 8 still wait to be
/// re-encrypted with the bound associated data: that needs the keys, so it happens at the next
/// unlock (see `rebind`), not in the migration itself.
pub(crate) const REBIND_PENDING: &str = "rebind_rows_pending";

/// Migration `n` takes the schema from version `n` to `n + 1`.
const MIGRATIONS: &[&str] = &[
    // 0 → 1: the first layout.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE key_slots (
        slot_id TEXT PRIMARY KEY, ordinal INTEGER NOT NULL UNIQUE,
        salt BLOB NOT NULL, iterations INTEGER NOT NULL,
        verifier BLOB NOT NULL, wrapped_vmk BLOB NOT NULL,
        name_ct BLOB, created_at INTEGER NOT NULL);
     CREATE TABLE unlock_attempts (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        failures INTEGER NOT NULL, last_failure_at INTEGER NOT NULL);
     CREATE TABLE drafts (
        case_id TEXT PRIMARY KEY, state TEXT NOT NULL,
        updated_at INTEGER NOT NULL, record_ct BLOB NOT NULL);
     CREATE TABLE blobs (
        blob_id TEXT PRIMARY KEY,
        case_id TEXT NOT NULL REFERENCES drafts(case_id) ON DELETE CASCADE,
        kind TEXT NOT NULL, size INTEGER NOT NULL, created_at INTEGER NOT NULL,
        content_ct BLOB NOT NULL);
     CREATE TABLE settings (key TEXT PRIMARY KEY, value_ct BLOB NOT NULL);
     CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
     CREATE TABLE audit_events (
        seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, kind TEXT NOT NULL,
        details_ct BLOB NOT NULL, prev_hash BLOB NOT NULL, hash BLOB NOT NULL);",
    // 1 → 2: pages keep their order within a case, and are found by case quickly.
    "ALTER TABLE blobs ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
     CREATE INDEX blobs_by_case ON blobs(case_id, position);",
    // 2 → 3: sealed envelopes waiting for sync. Their parts are sealed to the server's key
    // (HPKE), so the tablet keeps them as they are; the case number is an identifier only.
    "CREATE TABLE outbox (
        envelope_id TEXT PRIMARY KEY, case_id TEXT NOT NULL, case_number TEXT NOT NULL,
        manifest BLOB NOT NULL, signature BLOB NOT NULL, sealed_at INTEGER NOT NULL);
     CREATE TABLE outbox_parts (
        envelope_id TEXT NOT NULL REFERENCES outbox(envelope_id) ON DELETE CASCADE,
        idx INTEGER NOT NULL, content BLOB NOT NULL,
        PRIMARY KEY (envelope_id, idx));",
    // 3 → 4: documents waiting to be printed or e-mailed while the printer or network is away.
    // Where they go and what they are is personal data: both encrypted.
    "CREATE TABLE outgoing (
        outgoing_id TEXT PRIMARY KEY, kind TEXT NOT NULL, created_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL,
        last_error TEXT, meta_ct BLOB NOT NULL, payload_ct BLOB NOT NULL);",
    // 4 → 5: what is left of a delivered case on the tablet — a tracking stub with the server's
    // signed receipt and the case's latest status (no personal data in either).
    "CREATE TABLE tracking (
        envelope_id TEXT PRIMARY KEY, case_number TEXT NOT NULL, delivered_at INTEGER NOT NULL,
        receipt TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'received', status_at INTEGER);",
    // 5 → 6: consultations given without a case (regulation 2.36). The question and answer may
    // tell of the person's circumstances, and the service asked about is kept with them: all
    // encrypted; only an opaque id and the time are in clear.
    "CREATE TABLE consultations (
        consultation_id TEXT PRIMARY KEY, recorded_at INTEGER NOT NULL, record_ct BLOB NOT NULL);",
    // 6 → 7: each slot's display name for the unlock screen, sealed under the display key kept
    // beside the vault (see `display_name`); empty until the administrator chooses one.
    "ALTER TABLE key_slots ADD COLUMN display_ct BLOB;",
    // 7 → 8: drafts and blobs are bound to their place (BOUND_RECORD_FORMAT). Re-encrypting them
    // needs the master key, so the migration only records that the next unlock must do it.
    "INSERT OR REPLACE INTO meta (key, value) VALUES ('rebind_rows_pending', 'drafts,blobs');",
];

/// Open the file with the settings every connection needs.
pub(crate) fn connect(path: &Path, create: bool) -> Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // WAL for crash safety with readers; FULL so a commit is on disk when COMMIT returns;
    // secure_delete so deleted ciphertext does not linger in free pages.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    Ok(conn)
}

pub(crate) fn version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |row| row.get(0))?)
}

/// Bring the schema up to `target`, one migration per transaction.
pub(crate) fn migrate_to(conn: &mut Connection, target: i64) -> Result<()> {
    let current = version(conn)?;
    if current > SCHEMA_VERSION {
        return Err(VaultError::SchemaTooNew {
            found: current,
            known: SCHEMA_VERSION,
        });
    }
    for step in current..target {
        let sql = MIGRATIONS
            .get(step as usize)
            .ok_or(VaultError::SchemaTooNew {
                found: target,
                known: SCHEMA_VERSION,
            })?;
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", step + 1)?;
        tx.commit()?;
    }
    Ok(())
}

pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    migrate_to(conn, SCHEMA_VERSION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_one_vault_migrates_and_keeps_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.sqlite");
        let mut conn = connect(&path, true).unwrap();
        migrate_to(&mut conn, 1).unwrap();
        conn.execute("INSERT INTO drafts VALUES ('c1', 'draft', 1, x'00')", [])
            .unwrap();
        conn.execute("INSERT INTO blobs (blob_id, case_id, kind, size, created_at, content_ct) VALUES ('b1', 'c1', 'page', 1, 1, x'00')", []).unwrap();
        drop(conn);

        let mut conn = connect(&path, false).unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn).unwrap(), SCHEMA_VERSION);
        let position: i64 = conn
            .query_row("SELECT position FROM blobs WHERE blob_id = 'b1'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(position, 0);
    }

    #[test]
    fn a_vault_from_a_newer_build_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.sqlite");
        let mut conn = connect(&path, true).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(VaultError::SchemaTooNew { .. })
        ));
    }
}
