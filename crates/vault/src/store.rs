//! Drafts, blobs, settings and counters, read and written inside one transaction. Every write
//! also appends an audit event in the same transaction, so state and audit never disagree.

use ring::digest::{SHA256, digest};
use ring::rand::SystemRandom;
use rusqlite::{OptionalExtension, Transaction, params};
use zeroize::Zeroizing;

use crate::audit;
use crate::crypto::{Cipher, MasterKey, bound_aad, random_bytes, row_aad};
use crate::error::{Result, VaultError};
use crate::schema::{BOUND_RECORD_FORMAT, RECORD_FORMAT};

/// The keys of an unlocked vault. Dropping them is locking.
pub(crate) struct Keys {
    pub(crate) master: MasterKey,
    pub(crate) rows: Cipher,
    pub(crate) audit: Zeroizing<[u8; 32]>,
}

impl Keys {
    pub(crate) fn from_master(master: MasterKey) -> Result<Self> {
        let rows = Cipher::new(&*master.derive("rows")?)?;
        let audit = master.derive("audit")?;
        Ok(Self {
            master,
            rows,
            audit,
        })
    }
}

/// A draft's record is bound to its case and its state: the state is kept in clear for listing,
/// and an edit of it in the file makes the record fail authentication.
pub(crate) fn draft_aad(case_id: &str, state: &str) -> Vec<u8> {
    bound_aad(
        "drafts",
        &[case_id.as_bytes(), state.as_bytes()],
        BOUND_RECORD_FORMAT,
    )
}

/// A blob is bound to its id, its case, its kind and its position in the case, so a page moved
/// to another case, turned into a signature or put in another place no longer authenticates.
pub(crate) fn blob_aad(blob_id: &str, case_id: &str, kind: &str, position: i64) -> Vec<u8> {
    bound_aad(
        "blobs",
        &[
            blob_id.as_bytes(),
            case_id.as_bytes(),
            kind.as_bytes(),
            &position.to_be_bytes(),
        ],
        BOUND_RECORD_FORMAT,
    )
}

/// An opaque, random identifier of a stored page image or signature.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobId(pub String);

/// A draft as listed without decrypting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftSummary {
    pub case_id: String,
    pub state: String,
    pub updated_at: i64,
}

/// A blob as listed without decrypting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    pub blob_id: BlobId,
    pub case_id: String,
    pub kind: String,
    pub position: i64,
    pub size: u64,
}

/// One transaction on an unlocked vault. Nothing is visible to others, or on disk, until the
/// closure given to `UnlockedVault::transaction` returns `Ok` and COMMIT returns.
pub struct VaultTx<'a> {
    pub(crate) tx: Transaction<'a>,
    pub(crate) keys: &'a Keys,
    pub(crate) rng: &'a SystemRandom,
    pub(crate) now: i64,
}

impl VaultTx<'_> {
    fn integrity(table: &'static str, row: &str) -> VaultError {
        VaultError::Integrity {
            table,
            row: row.to_owned(),
        }
    }

    /// Record a state change in the audit chain.
    pub fn audit(&self, kind: &str, details: &str) -> Result<()> {
        audit::append(
            &self.tx,
            &self.keys.rows,
            &self.keys.audit,
            self.now,
            kind,
            details,
        )?;
        Ok(())
    }

    /// Save (create or replace) the draft record of a case.
    pub fn put_draft(&self, case_id: &str, state: &str, record: &[u8]) -> Result<()> {
        let sealed = self.keys.rows.seal(&draft_aad(case_id, state), record)?;
        self.tx.execute(
            "INSERT INTO drafts (case_id, state, updated_at, record_ct) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(case_id) DO UPDATE SET state = ?2, updated_at = ?3, record_ct = ?4",
            params![case_id, state, self.now, sealed],
        )?;
        self.audit("draft.saved", &format!("case={case_id} state={state}"))
    }

    pub fn get_draft(&self, case_id: &str) -> Result<Zeroizing<Vec<u8>>> {
        let row: Option<(String, Vec<u8>)> = self
            .tx
            .query_row(
                "SELECT state, record_ct FROM drafts WHERE case_id = ?1",
                [case_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (state, sealed) = row.ok_or_else(|| VaultError::NotFound {
            what: "draft",
            id: case_id.into(),
        })?;
        self.keys
            .rows
            .open(&draft_aad(case_id, &state), &sealed)
            .ok_or_else(|| Self::integrity("drafts", case_id))
    }

    /// The drafts with their states. Each state is checked against its record (they are sealed
    /// together), so a state edited in the file is an integrity error naming the draft, never
    /// a case shown as further along than it is.
    pub fn list_drafts(&self) -> Result<Vec<DraftSummary>> {
        let mut statement = self.tx.prepare(
            "SELECT case_id, state, updated_at, record_ct FROM drafts ORDER BY updated_at, case_id",
        )?;
        let rows = statement.query_map([], |r| {
            Ok((
                DraftSummary {
                    case_id: r.get(0)?,
                    state: r.get(1)?,
                    updated_at: r.get(2)?,
                },
                r.get::<_, Vec<u8>>(3)?,
            ))
        })?;
        let mut drafts = Vec::new();
        for row in rows {
            let (draft, sealed) = row?;
            if self
                .keys
                .rows
                .open(&draft_aad(&draft.case_id, &draft.state), &sealed)
                .is_none()
            {
                return Err(Self::integrity("drafts", &draft.case_id));
            }
            drafts.push(draft);
        }
        Ok(drafts)
    }

    /// Delete a draft and its blobs (secure_delete overwrites the freed pages).
    pub fn delete_draft(&self, case_id: &str) -> Result<()> {
        let deleted = self
            .tx
            .execute("DELETE FROM drafts WHERE case_id = ?1", [case_id])?;
        if deleted == 0 {
            return Err(VaultError::NotFound {
                what: "draft",
                id: case_id.into(),
            });
        }
        self.audit("draft.deleted", &format!("case={case_id}"))
    }

    /// Store a page image or signature of a case; the case's draft must exist.
    pub fn put_blob(
        &self,
        case_id: &str,
        kind: &str,
        position: i64,
        content: &[u8],
    ) -> Result<BlobId> {
        let id = BlobId(hex::encode(random_bytes::<16>(self.rng)?));
        let sealed = self
            .keys
            .rows
            .seal(&blob_aad(&id.0, case_id, kind, position), content)?;
        let inserted = self.tx.execute(
            "INSERT INTO blobs (blob_id, case_id, kind, size, created_at, content_ct, position)
             SELECT ?1, case_id, ?3, ?4, ?5, ?6, ?7 FROM drafts WHERE case_id = ?2",
            params![
                id.0,
                case_id,
                kind,
                content.len() as i64,
                self.now,
                sealed,
                position
            ],
        )?;
        if inserted == 0 {
            return Err(VaultError::NotFound {
                what: "draft",
                id: case_id.into(),
            });
        }
        let sha = hex::encode(digest(&SHA256, content));
        self.audit(
            "blob.added",
            &format!("case={case_id} blob={} kind={kind} sha256={sha}", id.0),
        )?;
        Ok(id)
    }

    /// A blob's content, if it is still where it was stored: in the same case, of the same
    /// kind, at the same position. Anything else is an integrity error naming the blob.
    pub fn get_blob(&self, blob: &BlobId) -> Result<Zeroizing<Vec<u8>>> {
        let row: Option<(String, String, i64, Vec<u8>)> = self
            .tx
            .query_row(
                "SELECT case_id, kind, position, content_ct FROM blobs WHERE blob_id = ?1",
                [&blob.0],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let (case_id, kind, position, sealed) = row.ok_or_else(|| VaultError::NotFound {
            what: "blob",
            id: blob.0.clone(),
        })?;
        self.keys
            .rows
            .open(&blob_aad(&blob.0, &case_id, &kind, position), &sealed)
            .ok_or_else(|| Self::integrity("blobs", &blob.0))
    }

    pub fn delete_blob(&self, blob: &BlobId) -> Result<()> {
        let deleted = self
            .tx
            .execute("DELETE FROM blobs WHERE blob_id = ?1", [&blob.0])?;
        if deleted == 0 {
            return Err(VaultError::NotFound {
                what: "blob",
                id: blob.0.clone(),
            });
        }
        self.audit("blob.deleted", &format!("blob={}", blob.0))
    }

    pub fn list_blobs(&self, case_id: &str) -> Result<Vec<BlobInfo>> {
        let mut statement = self.tx.prepare(
            "SELECT blob_id, case_id, kind, position, size FROM blobs WHERE case_id = ?1
             ORDER BY position, created_at, blob_id",
        )?;
        let rows = statement.query_map([case_id], |r| {
            Ok(BlobInfo {
                blob_id: BlobId(r.get(0)?),
                case_id: r.get(1)?,
                kind: r.get(2)?,
                position: r.get(3)?,
                size: r.get::<_, i64>(4)? as u64,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The next number of this device's case sequence. Committed with the transaction, so a
    /// number handed out is never handed out again, even after a crash.
    pub fn next_case_sequence(&self) -> Result<u64> {
        let value: i64 = self.tx.query_row(
            "INSERT INTO counters (name, value) VALUES ('case_sequence', 1)
             ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value",
            [],
            |r| r.get(0),
        )?;
        self.audit("case_number.issued", &format!("sequence={value}"))?;
        Ok(value as u64)
    }

    /// Store a small encrypted setting. Names starting with `audit.` are the vault's own.
    pub fn put_setting(&self, key: &str, value: &[u8]) -> Result<()> {
        if key.starts_with("audit.") {
            return Err(VaultError::Encoding(format!(
                "setting name {key} is reserved"
            )));
        }
        let sealed = self
            .keys
            .rows
            .seal(&row_aad("settings", key, RECORD_FORMAT), value)?;
        self.tx.execute(
            "INSERT INTO settings (key, value_ct) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value_ct = ?2",
            params![key, sealed],
        )?;
        self.audit("setting.changed", &format!("key={key}"))
    }

    /// Remove a setting (a wiped enrollment, a visit no longer planned).
    pub fn delete_setting(&self, key: &str) -> Result<()> {
        if key.starts_with("audit.") {
            return Err(VaultError::Encoding(format!(
                "setting name {key} is reserved"
            )));
        }
        if self
            .tx
            .execute("DELETE FROM settings WHERE key = ?1", [key])?
            > 0
        {
            self.audit("setting.removed", &format!("key={key}"))?;
        }
        Ok(())
    }

    /// Every setting whose name starts with `prefix` (e.g. the planned visits), by name.
    pub fn settings_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Zeroizing<Vec<u8>>)>> {
        let mut statement = self.tx.prepare(
            "SELECT key FROM settings WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key",
        )?;
        let keys = statement
            .query_map([prefix], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        keys.into_iter()
            .filter_map(|key| match self.get_setting(&key) {
                Ok(Some(value)) => Some(Ok((key, value))),
                Ok(None) => None,
                Err(e) => Some(Err(e)),
            })
            .collect()
    }

    pub fn get_setting(&self, key: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
        let sealed: Option<Vec<u8>> = self
            .tx
            .query_row("SELECT value_ct FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?;
        sealed
            .map(|s| {
                self.keys
                    .rows
                    .open(&row_aad("settings", key, RECORD_FORMAT), &s)
                    .ok_or_else(|| Self::integrity("settings", key))
            })
            .transpose()
    }
}
