//! Sealing a signed case: the draft and its blobs become a sealed envelope (HPKE to the
//! server's key, signed by the device) in the outbox, and the draft's plaintext is destroyed —
//! all in one transaction, so a crash leaves either the draft or the envelope, never both or
//! neither. After this the tablet cannot read the case any more, even unlocked.

use fieldkit_protocol::{
    DeviceSigningKey, PartKind, PlainPart, SealRequest, SealedEnvelope, SealingPublicKey,
    SupplementKind, seal, seal_supplement,
};
use rusqlite::{OptionalExtension, params};

use crate::error::{Result, VaultError};
use crate::store::VaultTx;

/// What sealing a case needs besides the draft itself.
pub struct SealCase<'a> {
    pub case_id: &'a str,
    pub envelope_id: &'a str,
    pub case_number: &'a str,
    pub recipient: &'a SealingPublicKey,
    pub device: &'a DeviceSigningKey,
}

/// A sealed envelope waiting in the outbox, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub envelope_id: String,
    pub case_id: String,
    pub case_number: String,
    pub sealed_at: i64,
}

fn part_kind(blob_kind: &str) -> PartKind {
    match blob_kind {
        "page" => PartKind::Page,
        "signature" => PartKind::Signature,
        _ => PartKind::Other,
    }
}

impl VaultTx<'_> {
    /// Seal the draft `case_id` into the outbox and delete the draft and its blobs.
    pub fn seal_case(&self, request: &SealCase<'_>) -> Result<SealedEnvelope> {
        self.seal_draft(request, None)
    }

    /// Seal the draft `case_id` as a supplement (a hand-over, a withdrawal, a correction) to
    /// the case `request.case_number` names, like a case otherwise.
    pub fn seal_supplement(
        &self,
        request: &SealCase<'_>,
        kind: SupplementKind,
    ) -> Result<SealedEnvelope> {
        self.seal_draft(request, Some(kind))
    }

    fn seal_draft(
        &self,
        request: &SealCase<'_>,
        supplement: Option<SupplementKind>,
    ) -> Result<SealedEnvelope> {
        let record = self.get_draft(request.case_id)?;
        let mut parts = vec![PlainPart::new(PartKind::CaseRecord, record.to_vec())];
        for blob in self.list_blobs(request.case_id)? {
            parts.push(PlainPart::new(
                part_kind(&blob.kind),
                self.get_blob(&blob.blob_id)?.to_vec(),
            ));
        }
        let seal_request = SealRequest {
            envelope_id: request.envelope_id,
            case_number: request.case_number,
            created_at: self.now,
            parts: &parts,
        };
        let envelope = match supplement {
            None => seal(&seal_request, request.recipient, request.device, self.rng)?,
            Some(kind) => seal_supplement(
                &seal_request,
                kind,
                request.recipient,
                request.device,
                self.rng,
            )?,
        };
        drop(parts);

        self.tx.execute(
            "INSERT INTO outbox (envelope_id, case_id, case_number, manifest, signature, sealed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                request.envelope_id,
                request.case_id,
                request.case_number,
                envelope.manifest_bytes,
                envelope.signature,
                self.now
            ],
        )?;
        for (index, part) in envelope.parts.iter().enumerate() {
            self.tx.execute(
                "INSERT INTO outbox_parts (envelope_id, idx, content) VALUES (?1, ?2, ?3)",
                params![request.envelope_id, index as i64, part],
            )?;
        }
        self.delete_draft(request.case_id)?;
        self.audit(
            "case.sealed",
            &format!(
                "case={} envelope={} number={}",
                request.case_id, request.envelope_id, request.case_number
            ),
        )?;
        Ok(envelope)
    }

    /// The envelopes waiting to be synced, oldest first.
    pub fn outbox(&self) -> Result<Vec<OutboxEntry>> {
        let mut statement = self.tx.prepare(
            "SELECT envelope_id, case_id, case_number, sealed_at FROM outbox ORDER BY sealed_at, envelope_id",
        )?;
        let rows = statement.query_map([], |r| {
            Ok(OutboxEntry {
                envelope_id: r.get(0)?,
                case_id: r.get(1)?,
                case_number: r.get(2)?,
                sealed_at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A sealed envelope from the outbox, as it will be uploaded.
    pub fn sealed_envelope(&self, envelope_id: &str) -> Result<SealedEnvelope> {
        let head: Option<(Vec<u8>, Vec<u8>)> = self
            .tx
            .query_row(
                "SELECT manifest, signature FROM outbox WHERE envelope_id = ?1",
                [envelope_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (manifest_bytes, signature) = head.ok_or_else(|| VaultError::NotFound {
            what: "envelope",
            id: envelope_id.into(),
        })?;
        let mut statement = self
            .tx
            .prepare("SELECT content FROM outbox_parts WHERE envelope_id = ?1 ORDER BY idx")?;
        let parts = statement
            .query_map([envelope_id], |r| r.get::<_, Vec<u8>>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(SealedEnvelope {
            manifest_bytes,
            signature,
            parts,
        })
    }
}

/// What the tablet keeps of a delivered case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingStub {
    pub envelope_id: String,
    pub case_number: String,
    pub delivered_at: i64,
    pub receipt: String,
    pub status: String,
}

impl VaultTx<'_> {
    /// The server's receipt (already verified by the caller) arrived: drop the envelope and keep
    /// only a tracking stub, in one transaction.
    pub fn mark_delivered(&self, envelope_id: &str, receipt: &str) -> Result<()> {
        let case_number: Option<String> = self
            .tx
            .query_row(
                "SELECT case_number FROM outbox WHERE envelope_id = ?1",
                [envelope_id],
                |r| r.get(0),
            )
            .optional()?;
        let case_number = case_number.ok_or_else(|| VaultError::NotFound {
            what: "envelope",
            id: envelope_id.into(),
        })?;
        self.tx
            .execute("DELETE FROM outbox WHERE envelope_id = ?1", [envelope_id])?;
        self.tx.execute(
            "INSERT INTO tracking (envelope_id, case_number, delivered_at, receipt) VALUES (?1, ?2, ?3, ?4)",
            params![envelope_id, case_number, self.now, receipt],
        )?;
        self.audit(
            "envelope.delivered",
            &format!("envelope={envelope_id} number={case_number}"),
        )
    }

    /// Record a status the server reported for a delivered case.
    pub fn update_status(&self, case_number: &str, status: &str) -> Result<bool> {
        let changed = self.tx.execute(
            "UPDATE tracking SET status = ?2, status_at = ?3 WHERE case_number = ?1",
            params![case_number, status, self.now],
        )?;
        if changed > 0 {
            self.audit(
                "case.status",
                &format!("number={case_number} status={status}"),
            )?;
        }
        Ok(changed > 0)
    }

    pub fn tracking(&self) -> Result<Vec<TrackingStub>> {
        let mut statement = self.tx.prepare(
            "SELECT envelope_id, case_number, delivered_at, receipt, status FROM tracking ORDER BY delivered_at, envelope_id",
        )?;
        let rows = statement.query_map([], |r| {
            Ok(TrackingStub {
                envelope_id: r.get(0)?,
                case_number: r.get(1)?,
                delivered_at: r.get(2)?,
                receipt: r.get(3)?,
                status: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
