//! Consultations given without a case (regulation 2.36): one encrypted record each, under an
//! opaque id, with the time it was saved. The tablet's report sends only their counts.

use rusqlite::params;
use zeroize::Zeroizing;

use crate::crypto::{random_bytes, row_aad};
use crate::error::{Result, VaultError};
use crate::schema::RECORD_FORMAT;
use crate::store::VaultTx;

/// A consultation as stored: the record is the caller's (the app keeps the domain's
/// `Consultation` as JSON), opened only inside an unlocked vault.
pub struct StoredConsultation {
    pub consultation_id: String,
    pub recorded_at: i64,
    pub record: Zeroizing<Vec<u8>>,
}

// The record may tell of the person's circumstances.
impl std::fmt::Debug for StoredConsultation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredConsultation")
            .field("consultation_id", &self.consultation_id)
            .field("recorded_at", &self.recorded_at)
            .finish_non_exhaustive()
    }
}

impl VaultTx<'_> {
    /// Keep a consultation; returns its new id.
    pub fn put_consultation(&self, record: &[u8]) -> Result<String> {
        let id = hex::encode(random_bytes::<16>(self.rng)?);
        let sealed = self
            .keys
            .rows
            .seal(&row_aad("consultations", &id, RECORD_FORMAT), record)?;
        self.tx.execute(
            "INSERT INTO consultations (consultation_id, recorded_at, record_ct) VALUES (?1, ?2, ?3)",
            params![id, self.now, sealed],
        )?;
        self.audit("consultation.recorded", &format!("consultation={id}"))?;
        Ok(id)
    }

    /// Every consultation kept, oldest first, opened.
    pub fn consultations(&self) -> Result<Vec<StoredConsultation>> {
        let mut statement = self.tx.prepare(
            "SELECT consultation_id, recorded_at, record_ct FROM consultations
             ORDER BY recorded_at, consultation_id",
        )?;
        let rows = statement
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(consultation_id, recorded_at, sealed)| {
                let record = self
                    .keys
                    .rows
                    .open(
                        &row_aad("consultations", &consultation_id, RECORD_FORMAT),
                        &sealed,
                    )
                    .ok_or_else(|| VaultError::Integrity {
                        table: "consultations",
                        row: consultation_id.clone(),
                    })?;
                Ok(StoredConsultation {
                    consultation_id,
                    recorded_at,
                    record,
                })
            })
            .collect()
    }

    /// Remove a consultation (a wipe ordered by the centre).
    pub fn delete_consultation(&self, consultation_id: &str) -> Result<()> {
        let deleted = self.tx.execute(
            "DELETE FROM consultations WHERE consultation_id = ?1",
            [consultation_id],
        )?;
        if deleted == 0 {
            return Err(VaultError::NotFound {
                what: "consultation",
                id: consultation_id.into(),
            });
        }
        self.audit(
            "consultation.deleted",
            &format!("consultation={consultation_id}"),
        )
    }
}
