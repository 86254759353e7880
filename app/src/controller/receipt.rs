//! The receipt screen (квитанція): the case number, the tracking QR with the tracking code in
//! large type (to type on the tracking page) and the decision deadline, and the applicant's
//! copy of the signed inventory to print or e-mail.
//!
//! Sealing destroys the case's plaintext, so the receipt is kept apart, in the sealing
//! transaction itself: the draft `receipt:<case number>` holds what the screen shows and its one
//! blob is the applicant's copy, the same PDF that went into the envelope. Encrypted like every
//! draft, and deleted with the drafts when the server wipes the tablet. It stays until the
//! administrator finishes the visit on this screen, so a lock or a closed app on the way loses
//! nothing: Cases → the case → Receipt opens it again from the vault — or, if the visit was
//! never finished, for `KEEP_DAYS` after sealing (then the next unlock lets it go).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use fieldkit_vault::{UnlockedVault, VaultError, VaultTx};
use serde::{Deserialize, Serialize};
use slint::ComponentHandle;
use zeroize::Zeroizing;

use super::{Controller, act};
use crate::error::{AppError, Result};
use crate::i18n::Message;
use crate::images;
use crate::ui::{AppWindow, ReceiptPage, Screen};

/// Kept receipts are drafts named `receipt:<case number>` in this state.
const KEPT_PREFIX: &str = "receipt:";
const KEPT_STATE: &str = "receipt";
/// The kind of the blob that is the applicant's copy.
const COPY_KIND: &str = "applicant-copy";

/// What the receipt screen shows of a sealed case, kept until its visit is finished.
#[derive(Serialize, Deserialize)]
pub struct KeptReceipt {
    pub case_number: String,
    pub tracking_url: String,
    /// The tracking code as printed (groups of four); empty in receipts kept before codes.
    #[serde(default)]
    pub tracking_code: String,
    /// The decision deadline as shown (ДД.ММ.РРРР), fixed when the case was registered.
    pub deadline: String,
    /// Where the applicant asked to be told (empty unless by e-mail).
    pub email: String,
}

/// How long an unfinished visit's receipt stays on the tablet: long enough to hand it over
/// again at a later visit the same week, short enough that applicants' copies do not pile up.
pub const KEEP_DAYS: i64 = 7;

/// Let go of receipts kept longer than [`KEEP_DAYS`] (their visits were never finished);
/// returns how many. The vault's clock dates them.
pub fn forget_old(vault: &mut UnlockedVault, now: i64) -> Result<usize> {
    let oldest_kept = now - KEEP_DAYS * 86_400;
    let old: Vec<String> = vault
        .list_drafts()?
        .into_iter()
        .filter(|d| d.state == KEPT_STATE && d.updated_at < oldest_kept)
        .map(|d| d.case_id)
        .collect();
    for id in &old {
        vault.delete_draft(id)?;
    }
    Ok(old.len())
}

fn kept_id(number: &str) -> String {
    format!("{KEPT_PREFIX}{number}")
}

fn no_longer_kept() -> AppError {
    AppError::user(
        "Квитанції цієї справи на планшеті вже немає: виїзд завершено.",
        "This case's receipt is no longer on the tablet: its visit was finished.",
    )
}

/// Keep the receipt and the applicant's copies (the application, then the inventory), in
/// order; called inside the transaction that seals.
pub fn keep(
    tx: &VaultTx<'_>,
    receipt: &KeptReceipt,
    copies: &[&[u8]],
) -> std::result::Result<(), VaultError> {
    let id = kept_id(&receipt.case_number);
    let record = Zeroizing::new(
        serde_json::to_vec(receipt).map_err(|e| VaultError::Encoding(e.to_string()))?,
    );
    tx.put_draft(&id, KEPT_STATE, &record)?;
    for (position, copy) in (0..).zip(copies) {
        tx.put_blob(&id, COPY_KIND, position, copy)?;
    }
    Ok(())
}

/// The case numbers whose receipt is still kept (listed without decrypting anything).
pub fn kept_numbers(vault: &mut UnlockedVault) -> Result<BTreeSet<String>> {
    Ok(vault
        .list_drafts()?
        .into_iter()
        .filter(|d| d.state == KEPT_STATE)
        .filter_map(|d| d.case_id.strip_prefix(KEPT_PREFIX).map(str::to_owned))
        .collect())
}

pub fn attach(window: &AppWindow, controller: &Rc<RefCell<Controller>>) {
    let receipt = window.global::<ReceiptPage>();
    {
        let (c, w) = (controller.clone(), window.as_weak());
        receipt.on_print(move || {
            act(&c, &w, |ctl, win| {
                ctl.queue_receipt(win, crate::outgoing::PRINT)
            })
        });
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        receipt.on_send_email(move || {
            act(&c, &w, |ctl, win| {
                ctl.queue_receipt(win, crate::outgoing::EMAIL)
            })
        });
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        receipt.on_done(move || act(&c, &w, |ctl, win| ctl.finish_receipt(win)));
    }
}

/// Empty the receipt screen (the e-mail is personal data).
pub fn clear_screen(window: &AppWindow) {
    let page = window.global::<ReceiptPage>();
    page.set_case_number("".into());
    page.set_tracking_url("".into());
    page.set_tracking_code("".into());
    page.set_deadline("".into());
    page.set_email("".into());
    page.set_outgoing("".into());
    page.set_qr(slint::Image::default());
}

impl Controller {
    /// Show the receipt of a sealed case, built from what the vault keeps of it.
    pub fn open_receipt(&mut self, window: &AppWindow, number: &str) -> Result<()> {
        let record = match self.vault()?.get_draft(&kept_id(number)) {
            Ok(record) => record,
            Err(VaultError::NotFound { .. }) => return Err(no_longer_kept()),
            Err(other) => return Err(other.into()),
        };
        let kept: KeptReceipt = serde_json::from_slice(&record)?;
        let qr = fieldkit_capture::qr::generate_qr(&kept.tracking_url, 8).map_err(|_| {
            AppError::user(
                "Адреса відстеження задовга для QR-коду.",
                "The tracking address is too long for a QR code.",
            )
        })?;
        let page = window.global::<ReceiptPage>();
        page.set_case_number(kept.case_number.clone().into());
        page.set_tracking_url(kept.tracking_url.clone().into());
        page.set_tracking_code(kept.tracking_code.clone().into());
        page.set_deadline(kept.deadline.clone().into());
        page.set_email(kept.email.clone().into());
        page.set_outgoing("".into());
        page.set_qr(images::from_grey(&qr));
        self.receipt_number = kept.case_number;
        self.show(window, Screen::Receipt)
    }

    /// The applicant's copies of the receipt on screen (the application, then the
    /// inventory; one inventory for cases sealed before), from the vault.
    pub fn applicant_copies(&mut self) -> Result<Vec<Zeroizing<Vec<u8>>>> {
        if self.receipt_number.is_empty() {
            return Err(AppError::user(
                "Квитанції вже немає на екрані.",
                "The receipt is no longer open.",
            ));
        }
        let id = kept_id(&self.receipt_number);
        let vault = self.vault()?;
        let copies: Vec<_> = vault
            .list_blobs(&id)?
            .into_iter()
            .filter(|b| b.kind == COPY_KIND)
            .collect();
        if copies.is_empty() {
            return Err(no_longer_kept());
        }
        copies
            .iter()
            .map(|copy| Ok(vault.get_blob(&copy.blob_id)?))
            .collect()
    }

    /// The applicant's copies go into the encrypted outgoing queue and are sent or printed
    /// now; if the printer or the network is away they wait and are retried.
    fn queue_receipt(&mut self, window: &AppWindow, kind: &str) -> Result<()> {
        let pdfs = self.applicant_copies()?;
        let number = self.receipt_number.clone();
        let destination = if kind == crate::outgoing::EMAIL {
            let address = window.global::<ReceiptPage>().get_email().trim().to_owned();
            fieldkit_domain::validators::Email::parse(&address)
                .map_err(|e| AppError::User(Message::new(e.message_uk(), e.to_string())))?;
            address
        } else {
            self.config.printer.clone()
        };
        // The vault field itself, not `vault()`: the mail settings are borrowed beside it.
        let vault = self
            .vault
            .as_mut()
            .ok_or_else(|| AppError::user("Планшет заблоковано.", "The tablet is locked."))?;
        vault.transaction(|tx| {
            for pdf in &pdfs {
                tx.enqueue_outgoing(kind, &destination, &number, pdf)?;
            }
            Ok(())
        })?;
        let report = crate::outgoing::drain(vault, self.config.mail.as_ref())?;
        let text = if report.failed == 0 && report.waiting == 0 {
            Message::new("Надіслано.", "Sent.")
        } else {
            Message::new(
                format!(
                    "Не вдалося зараз; у черзі: {}. Спробуємо ще раз автоматично.",
                    report.waiting
                ),
                format!(
                    "Could not send now; waiting: {}. It will be retried automatically.",
                    report.waiting
                ),
            )
        };
        let lang = self.lang();
        window
            .global::<ReceiptPage>()
            .set_outgoing(text.in_lang(lang).into());
        Ok(())
    }

    /// The visit is over: the kept receipt and the applicant's copy leave the tablet (what is
    /// still queued to print or e-mail keeps its own encrypted copy until it has gone).
    fn finish_receipt(&mut self, window: &AppWindow) -> Result<()> {
        let number = std::mem::take(&mut self.receipt_number);
        if !number.is_empty() {
            match self.vault()?.delete_draft(&kept_id(&number)) {
                Ok(()) | Err(VaultError::NotFound { .. }) => {}
                Err(other) => return Err(other.into()),
            }
        }
        clear_screen(window);
        self.show(window, Screen::Today)
    }
}
