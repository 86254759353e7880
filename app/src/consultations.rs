//! Consultations without a case (regulation 2.36) in the tablet's vault: kept as the domain's
//! record, encrypted; counted per day and service for the device report. The question and the
//! answer stay on the tablet: the centre's count needs neither, and they may tell of the
//! person's circumstances.

use fieldkit_domain::consultation::{Consultation, tally};
use fieldkit_protocol::ConsultationCount;
use fieldkit_vault::{VaultError, VaultTx};
use zeroize::Zeroizing;

/// Keep a consultation inside `tx`; returns its id in the vault.
pub fn save(tx: &VaultTx<'_>, consultation: &Consultation) -> Result<String, VaultError> {
    let record = Zeroizing::new(
        serde_json::to_vec(consultation).map_err(|e| VaultError::Encoding(e.to_string()))?,
    );
    tx.put_consultation(&record)
}

/// Every consultation kept, oldest first.
pub fn all(tx: &VaultTx<'_>) -> Result<Vec<Consultation>, VaultError> {
    tx.consultations()?
        .into_iter()
        .map(|stored| {
            serde_json::from_slice(&stored.record).map_err(|e| {
                VaultError::Encoding(format!("consultation {}: {e}", stored.consultation_id))
            })
        })
        .collect()
}

/// What the device report says of them: counts per day and service, no text.
pub fn counts(tx: &VaultTx<'_>) -> Result<Vec<ConsultationCount>, VaultError> {
    let kept = all(tx)?;
    Ok(tally(&kept)
        .into_iter()
        .map(|t| ConsultationCount {
            day: t.day.to_string(),
            service_code: t.service.map(|s| s.0),
            count: t.count,
        })
        .collect())
}

/// Forget every consultation (a wipe ordered by the centre).
pub fn wipe(tx: &VaultTx<'_>) -> Result<usize, VaultError> {
    let kept = tx.consultations()?;
    for stored in &kept {
        tx.delete_consultation(&stored.consultation_id)?;
    }
    Ok(kept.len())
}
