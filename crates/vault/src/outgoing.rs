//! The outgoing queue: receipts to print or e-mail, kept encrypted until they have gone, so a
//! visit without a printer or a network loses nothing and leaves nothing readable.

use rusqlite::params;
use zeroize::Zeroizing;

use crate::crypto::{random_bytes, row_aad};
use crate::error::{Result, VaultError};
use crate::redact::redact_personal_data;
use crate::schema::RECORD_FORMAT;
use crate::store::VaultTx;

/// A document waiting to go out.
pub struct OutgoingItem {
    pub id: String,
    /// "print" or "email".
    pub kind: String,
    /// Printer queue name or e-mail address.
    pub destination: String,
    pub title: String,
    pub payload: Zeroizing<Vec<u8>>,
    pub attempts: u32,
}

impl std::fmt::Debug for OutgoingItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "OutgoingItem({}, {}, {} bytes, attempt {})",
            self.id,
            self.kind,
            self.payload.len(),
            self.attempts
        )
    }
}

/// Seconds to wait before trying again after `attempts` failures: 30 s doubling, at most an hour.
pub fn retry_delay(attempts: u32) -> i64 {
    (30i64 << attempts.min(7)).min(3600)
}

fn meta_aad(id: &str) -> Vec<u8> {
    row_aad("outgoing", &format!("{id}/meta"), RECORD_FORMAT)
}

fn payload_aad(id: &str) -> Vec<u8> {
    row_aad("outgoing", &format!("{id}/payload"), RECORD_FORMAT)
}

impl VaultTx<'_> {
    /// Queue a document to print or e-mail; returns its id.
    pub fn enqueue_outgoing(
        &self,
        kind: &str,
        destination: &str,
        title: &str,
        payload: &[u8],
    ) -> Result<String> {
        let id = hex::encode(random_bytes::<12>(self.rng)?);
        let meta = format!("{destination}\n{title}");
        let meta_ct = self.keys.rows.seal(&meta_aad(&id), meta.as_bytes())?;
        let payload_ct = self.keys.rows.seal(&payload_aad(&id), payload)?;
        self.tx.execute(
            "INSERT INTO outgoing (outgoing_id, kind, created_at, next_attempt_at, meta_ct, payload_ct)
             VALUES (?1, ?2, ?3, ?3, ?4, ?5)",
            params![id, kind, self.now, meta_ct, payload_ct],
        )?;
        self.audit("outgoing.queued", &format!("id={id} kind={kind}"))?;
        Ok(id)
    }

    /// Everything due to be tried now, oldest first; items queued in the same second go in the
    /// order they were queued (the implicit rowid grows with each insert), so the applicant's
    /// application is printed or mailed before the inventory queued right after it.
    pub fn due_outgoing(&self) -> Result<Vec<OutgoingItem>> {
        let mut statement = self.tx.prepare(
            "SELECT outgoing_id, kind, attempts, meta_ct, payload_ct FROM outgoing
             WHERE next_attempt_at <= ?1 ORDER BY created_at, rowid",
        )?;
        let rows = statement.query_map([self.now], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, u32>(2)?,
                r.get::<_, Vec<u8>>(3)?,
                r.get::<_, Vec<u8>>(4)?,
            ))
        })?;
        let mut items = Vec::new();
        for row in rows {
            let (id, kind, attempts, meta_ct, payload_ct) = row?;
            let integrity = || VaultError::Integrity {
                table: "outgoing",
                row: id.clone(),
            };
            let meta = self
                .keys
                .rows
                .open(&meta_aad(&id), &meta_ct)
                .ok_or_else(integrity)?;
            let payload = self
                .keys
                .rows
                .open(&payload_aad(&id), &payload_ct)
                .ok_or_else(integrity)?;
            let meta = String::from_utf8_lossy(&meta).into_owned();
            let (destination, title) = meta.split_once('\n').unwrap_or((meta.as_str(), ""));
            items.push(OutgoingItem {
                id: id.clone(),
                kind,
                destination: destination.to_owned(),
                title: title.to_owned(),
                payload,
                attempts,
            });
        }
        Ok(items)
    }

    /// It went out: forget it (secure_delete overwrites the freed pages).
    pub fn mark_outgoing_sent(&self, id: &str) -> Result<()> {
        if self
            .tx
            .execute("DELETE FROM outgoing WHERE outgoing_id = ?1", [id])?
            == 0
        {
            return Err(VaultError::NotFound {
                what: "outgoing document",
                id: id.into(),
            });
        }
        self.audit("outgoing.sent", &format!("id={id}"))
    }

    /// It did not go: keep it and try again later. `error` goes to a column kept in clear, so
    /// personal data it quotes (a rejected recipient's address) is redacted first, and only then
    /// shortened: cutting first could leave half an address that no rule recognises.
    pub fn mark_outgoing_failed(&self, id: &str, error: &str) -> Result<i64> {
        let attempts: u32 = self.tx.query_row(
            "SELECT attempts FROM outgoing WHERE outgoing_id = ?1",
            [id],
            |r| r.get(0),
        )?;
        let retry_at = self.now + retry_delay(attempts);
        self.tx.execute(
            "UPDATE outgoing SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3 WHERE outgoing_id = ?1",
            params![
                id,
                retry_at,
                redact_personal_data(error)
                    .chars()
                    .take(200)
                    .collect::<String>()
            ],
        )?;
        self.audit("outgoing.failed", &format!("id={id}"))?;
        Ok(retry_at)
    }

    /// How many documents wait to go out.
    pub fn outgoing_count(&self) -> Result<u64> {
        Ok(self
            .tx
            .query_row("SELECT COUNT(*) FROM outgoing", [], |r| r.get::<_, i64>(0))?
            as u64)
    }
}
