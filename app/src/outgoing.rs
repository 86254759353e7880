//! Draining the vault's outgoing queue: each due document is printed or e-mailed; what fails
//! stays queued, encrypted, and is tried again later. The tablet app runs this whenever a
//! printer or network may have come back.

use fieldkit_receipt::mail::{MailSettings, send_receipt};
use fieldkit_receipt::printing::print_pdf;
use fieldkit_vault::{UnlockedVault, VaultError};

/// What one pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DrainReport {
    pub sent: usize,
    pub failed: usize,
    pub waiting: u64,
}

/// Queue kinds: a print job goes to a CUPS queue; an e-mail carries the case number as its
/// title and goes to the applicant's address.
pub const PRINT: &str = "print";
pub const EMAIL: &str = "email";

/// One pass over what is due. Without mail settings e-mails simply wait.
pub fn drain(
    vault: &mut UnlockedVault,
    mail: Option<&MailSettings>,
) -> Result<DrainReport, VaultError> {
    let due = vault.transaction(|tx| tx.due_outgoing())?;
    let mut report = DrainReport::default();
    for item in due {
        let outcome = match item.kind.as_str() {
            PRINT => print_pdf(&item.destination, &item.title, &item.payload)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            EMAIL => match mail {
                Some(settings) => {
                    let filename = format!("opys-{}.pdf", item.title.replace('/', "-"));
                    send_receipt(
                        settings,
                        &item.destination,
                        &item.title,
                        &filename,
                        &item.payload,
                    )
                    .map_err(|e| e.to_string())
                }
                None => Err("no mail server configured".to_owned()),
            },
            other => Err(format!("unknown outgoing kind {other}")),
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
