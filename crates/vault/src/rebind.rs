//! Schema 8's second half: drafts and blobs written before it were sealed with associated data
//! naming only their table and id; at the first unlock after the migration (the keys are needed)
//! each one is opened that old way and sealed again bound to its place (`store::draft_aad`,
//! `store::blob_aad`), all in the unlock's transaction.
//!
//! The old way is accepted once per vault and never again: the step ends with an audit event,
//! and a vault whose chain holds that event never opens a row the old way, even if someone
//! with the file puts the pending mark back. (Removing the event breaks the chain, which
//! `verify_audit_chain` and the server's anchor catch.) A row that does not open the old way
//! is left as it is: reading it is then the integrity error naming it, as before.

use rusqlite::{OptionalExtension, params};

use crate::crypto::row_aad;
use crate::error::Result;
use crate::schema::{REBIND_PENDING, RECORD_FORMAT};
use crate::store::{VaultTx, blob_aad, draft_aad};

/// The audit event that says this vault's rows were bound to their place.
pub(crate) const ROWS_BOUND_EVENT: &str = "vault.rows_bound";

/// What the step did, for the audit event.
#[derive(Debug, Default, PartialEq, Eq)]
struct Rebound {
    drafts: usize,
    blobs: usize,
    refused: usize,
}

fn legacy_aad(table: &str, row: &str) -> Vec<u8> {
    row_aad(table, row, RECORD_FORMAT)
}

impl VaultTx<'_> {
    /// Run the pending re-encryption, if the migration left one and it never ran before.
    pub(crate) fn rebind_legacy_rows(&self) -> Result<()> {
        let pending: Option<String> = self
            .tx
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                [REBIND_PENDING],
                |r| r.get(0),
            )
            .optional()?;
        if pending.is_none() {
            return Ok(());
        }
        let already_bound: bool = self.tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM audit_events WHERE kind = ?1)",
            [ROWS_BOUND_EVENT],
            |r| r.get(0),
        )?;
        if !already_bound {
            let mut done = Rebound::default();
            self.rebind_drafts(&mut done)?;
            self.rebind_blobs(&mut done)?;
            self.audit(
                ROWS_BOUND_EVENT,
                &format!(
                    "drafts={} blobs={} refused={}",
                    done.drafts, done.blobs, done.refused
                ),
            )?;
        }
        self.tx
            .execute("DELETE FROM meta WHERE key = ?1", [REBIND_PENDING])?;
        Ok(())
    }

    /// A new vault has no rows of the old format: it only drops the mark its migrations left.
    pub(crate) fn clear_rebind_mark(&self) -> Result<()> {
        self.tx
            .execute("DELETE FROM meta WHERE key = ?1", [REBIND_PENDING])?;
        Ok(())
    }

    fn rebind_drafts(&self, done: &mut Rebound) -> Result<()> {
        let mut statement = self
            .tx
            .prepare("SELECT case_id, state, record_ct FROM drafts ORDER BY case_id")?;
        let rows = statement
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (case_id, state, sealed) in rows {
            let Some(record) = self
                .keys
                .rows
                .open(&legacy_aad("drafts", &case_id), &sealed)
            else {
                done.refused += 1;
                continue;
            };
            let resealed = self.keys.rows.seal(&draft_aad(&case_id, &state), &record)?;
            self.tx.execute(
                "UPDATE drafts SET record_ct = ?2 WHERE case_id = ?1",
                params![case_id, resealed],
            )?;
            done.drafts += 1;
        }
        Ok(())
    }

    /// Blobs are page images of megabytes: listed first, then read and rewritten one at a time.
    fn rebind_blobs(&self, done: &mut Rebound) -> Result<()> {
        let mut statement = self
            .tx
            .prepare("SELECT blob_id, case_id, kind, position FROM blobs ORDER BY blob_id")?;
        let places = statement
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (blob_id, case_id, kind, position) in places {
            let sealed: Vec<u8> = self.tx.query_row(
                "SELECT content_ct FROM blobs WHERE blob_id = ?1",
                [&blob_id],
                |r| r.get(0),
            )?;
            let Some(content) = self.keys.rows.open(&legacy_aad("blobs", &blob_id), &sealed) else {
                done.refused += 1;
                continue;
            };
            let resealed = self
                .keys
                .rows
                .seal(&blob_aad(&blob_id, &case_id, &kind, position), &content)?;
            self.tx.execute(
                "UPDATE blobs SET content_ct = ?2 WHERE blob_id = ?1",
                params![blob_id, resealed],
            )?;
            done.blobs += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::schema::SCHEMA_VERSION;
    use crate::{BlobId, SystemClock, UnlockedVault, Vault, VaultError, VaultOptions};

    const PASSPHRASE: &str = "стара-схема-2026";

    fn unlock(path: &Path) -> UnlockedVault {
        let vault = Vault::open(path, VaultOptions::default(), Arc::new(SystemClock)).unwrap();
        let slot = vault.slots().unwrap()[0].slot_id.clone();
        vault.unlock(&slot, PASSPHRASE).unwrap()
    }

    /// Write a draft and a blob the way schema 7 did (associated data: table and id only).
    fn write_the_old_way(tx: &VaultTx<'_>, case_id: &str, blob_id: &str, page: &[u8]) {
        let record = tx
            .keys
            .rows
            .seal(&legacy_aad("drafts", case_id), b"old record")
            .unwrap();
        tx.tx
            .execute(
                "INSERT INTO drafts (case_id, state, updated_at, record_ct) VALUES (?1, 'draft', 1, ?2)",
                params![case_id, record],
            )
            .unwrap();
        let content = tx
            .keys
            .rows
            .seal(&legacy_aad("blobs", blob_id), page)
            .unwrap();
        tx.tx
            .execute(
                "INSERT INTO blobs (blob_id, case_id, kind, size, created_at, content_ct, position)
                 VALUES (?1, ?2, 'page', ?3, 1, ?4, 3)",
                params![blob_id, case_id, page.len() as i64, content],
            )
            .unwrap();
    }

    fn raw_content(path: &Path, blob_id: &str) -> Vec<u8> {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.query_row(
            "SELECT content_ct FROM blobs WHERE blob_id = ?1",
            [blob_id],
            |r| r.get(0),
        )
        .unwrap()
    }

    /// A schema 7 vault: its rows sealed the old way, its version 7, no pending mark.
    fn schema_7_vault(path: &Path) {
        let mut vault = Vault::create(
            path,
            "Коваленко Олена Петрівна",
            PASSPHRASE,
            VaultOptions::default(),
            Arc::new(SystemClock),
        )
        .unwrap();
        vault
            .transaction(|tx| {
                write_the_old_way(tx, "case-old", "blob-old", b"page from schema 7");
                tx.tx.pragma_update(None, "user_version", 7)?;
                Ok(())
            })
            .unwrap();
        drop(vault.lock());
    }

    #[test]
    fn a_schema_7_vault_is_migrated_and_its_rows_bound_at_the_next_unlock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.sqlite");
        schema_7_vault(&path);
        let before = raw_content(&path, "blob-old");

        let mut vault = unlock(&path);
        let blob = BlobId("blob-old".into());
        assert_eq!(&vault.get_draft("case-old").unwrap()[..], b"old record");
        assert_eq!(&vault.get_blob(&blob).unwrap()[..], b"page from schema 7");
        assert_eq!(vault.list_drafts().unwrap().len(), 1);
        let events = vault.verify_audit_chain().unwrap();
        let bound: Vec<_> = events
            .iter()
            .filter(|e| e.kind == ROWS_BOUND_EVENT)
            .collect();
        assert_eq!(bound.len(), 1);
        assert_eq!(bound[0].details, "drafts=1 blobs=1 refused=0");
        drop(vault.lock());

        // Re-encrypted in the file, version 8, nothing pending; a second unlock changes nothing.
        assert_ne!(raw_content(&path, "blob-old"), before);
        let conn = rusqlite::Connection::open(&path).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let pending: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM meta WHERE key = ?1",
                [REBIND_PENDING],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(pending, 0);
        drop(conn);
        let after = raw_content(&path, "blob-old");
        let mut vault = unlock(&path);
        assert_eq!(&vault.get_blob(&blob).unwrap()[..], b"page from schema 7");
        drop(vault.lock());
        assert_eq!(raw_content(&path, "blob-old"), after);
    }

    #[test]
    fn an_old_format_row_planted_after_the_migration_is_never_opened_the_old_way() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.sqlite");
        schema_7_vault(&path);
        drop(unlock(&path).lock());

        // Someone puts back a row from an old copy of the file and the pending mark.
        let mut vault = unlock(&path);
        vault
            .transaction(|tx| {
                write_the_old_way(tx, "case-copy", "blob-copy", b"page from an old copy");
                tx.tx.execute(
                    "INSERT INTO meta (key, value) VALUES (?1, 'drafts,blobs')",
                    [REBIND_PENDING],
                )?;
                Ok(())
            })
            .unwrap();
        drop(vault.lock());

        let mut vault = unlock(&path);
        let err = vault.get_blob(&BlobId("blob-copy".into())).unwrap_err();
        assert!(
            matches!(&err, VaultError::Integrity { table: "blobs", row } if row == "blob-copy"),
            "{err}"
        );
        assert!(matches!(
            vault.get_draft("case-copy").unwrap_err(),
            VaultError::Integrity {
                table: "drafts",
                ..
            }
        ));
    }

    #[test]
    fn a_tampered_old_row_is_left_for_its_reader_to_refuse() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.sqlite");
        schema_7_vault(&path);
        let mut tampered = raw_content(&path, "blob-old");
        let middle = tampered.len() / 2;
        tampered[middle] ^= 1;
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute(
            "UPDATE blobs SET content_ct = ?1 WHERE blob_id = 'blob-old'",
            [&tampered],
        )
        .unwrap();
        drop(conn);

        let mut vault = unlock(&path);
        assert_eq!(&vault.get_draft("case-old").unwrap()[..], b"old record");
        assert!(matches!(
            vault.get_blob(&BlobId("blob-old".into())).unwrap_err(),
            VaultError::Integrity { table: "blobs", .. }
        ));
    }
}
