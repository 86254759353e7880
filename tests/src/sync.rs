//! The tablet's sync pass, as the app runs it in the background: push every sealed envelope in
//! the vault's outbox, keep only a tracking stub once a verified receipt is back, then pull the
//! status feed into the stubs. Nothing is dropped before its receipt checked.

use std::collections::BTreeMap;

use fieldkit_sync_client::{SyncClient, SyncError};
use fieldkit_vault::{UnlockedVault, VaultError};

#[derive(Debug, thiserror::Error)]
pub enum SyncPassError {
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Vault(#[from] VaultError),
}

/// Upload addresses per envelope and part, kept between passes so uploads resume.
pub type Resume = BTreeMap<String, BTreeMap<usize, String>>;

/// Push the outbox; returns how many envelopes were delivered.
pub async fn push_outbox(
    vault: &mut UnlockedVault,
    client: &SyncClient,
    resume: &mut Resume,
) -> Result<usize, SyncPassError> {
    let mut delivered = 0;
    for entry in vault.outbox()? {
        let envelope = vault.sealed_envelope(&entry.envelope_id)?;
        let locations = resume.entry(entry.envelope_id.clone()).or_default();
        let (signed, _receipt) = client
            .upload_envelope(&entry.envelope_id, &envelope, locations, &mut |_| {})
            .await?;
        let receipt =
            serde_json::to_string(&signed).map_err(|e| SyncError::BadAnswer(e.to_string()))?;
        vault.transaction(|tx| tx.mark_delivered(&entry.envelope_id, &receipt))?;
        resume.remove(&entry.envelope_id);
        delivered += 1;
    }
    Ok(delivered)
}

/// Pull status changes after `since` into the tracking stubs; returns the next cursor.
pub async fn pull_status(
    vault: &mut UnlockedVault,
    client: &SyncClient,
    since: i64,
) -> Result<i64, SyncPassError> {
    let (events, next) = client.status(since).await?;
    for event in events {
        vault.transaction(|tx| tx.update_status(&event.case_number, &event.status))?;
    }
    Ok(next)
}

/// Report the tablet's counts and audit-chain head (after a push, so the counts are current).
pub async fn report(
    vault: &mut UnlockedVault,
    client: &SyncClient,
) -> Result<fieldkit_protocol::DeviceReport, SyncPassError> {
    let waiting = vault.outbox()?;
    let delivered = vault.transaction(|tx| tx.tracking())?;
    let head = vault.audit_head()?;
    let last_case_number = waiting
        .iter()
        .map(|e| e.case_number.clone())
        .chain(delivered.iter().map(|s| s.case_number.clone()))
        .max();
    let report = fieldkit_protocol::DeviceReport {
        cases_sealed: (waiting.len() + delivered.len()) as u64,
        envelopes_waiting: waiting.len() as u64,
        last_case_number,
        audit_seq: head.seq,
        audit_hash: hex::encode(head.hash),
    };
    client.report(&report).await?;
    Ok(report)
}
