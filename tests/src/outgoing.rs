//! Draining the vault's outgoing queue: each due document is printed (e-mail comes with the
//! mail sender); what fails stays queued, encrypted, and is tried again later. The tablet app
//! runs this whenever a printer or network may have come back.

use fieldkit_receipt::printing::print_pdf;
use fieldkit_vault::{UnlockedVault, VaultError};

/// What one pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DrainReport {
    pub sent: usize,
    pub failed: usize,
    pub waiting: u64,
}

pub fn drain(vault: &mut UnlockedVault) -> Result<DrainReport, VaultError> {
    let due = vault.transaction(|tx| tx.due_outgoing())?;
    let mut report = DrainReport::default();
    for item in due {
        let outcome = match item.kind.as_str() {
            "print" => print_pdf(&item.destination, &item.title, &item.payload)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            other => Err(format!("no sender for {other} yet")),
        };
        match outcome {
            Ok(()) => {
                vault.transaction(|tx| tx.mark_outgoing_sent(&item.id))?;
                report.sent += 1;
            }
            Err(error) => {
                vault.transaction(|tx| tx.mark_outgoing_failed(&item.id, &error))?;
                report.failed += 1;
            }
        }
    }
    report.waiting = vault.transaction(|tx| tx.outgoing_count())?;
    Ok(report)
}
