//! fieldkit-receipt: the applicant's papers — the application (заява, regulation 6.3) and the
//! inventory of the input package (опис вхідного пакета, regulation 6.12–6.13), signed together,
//! the receipt for a handed-over result (8.3) and for a withdrawal (8.12) — as one document
//! model that the tablet shows in applicant mode and that renders to a PDF with an embedded
//! Ukrainian font, the signatures drawn from their strokes, the tracking QR, the fee's payment
//! details with the NBU payment QR, the centre's and provider's contacts, and a footer with the
//! SHA-256 of the document's content.
//!
//! What is hashed is each document's content text, exactly; the same text is what the screen
//! shows and what the PDF prints. The signatures of a visit bind the hash of the application
//! and the inventory together (`signed_set_sha256`). Its only I/O is handing a finished PDF to
//! the print system (`lp`) or to the centre's mail server (SMTP); queueing while offline is the
//! vault's outgoing queue, driven by the app.

mod application;
mod decided;
mod document;
mod font;
pub mod mail;
mod payment;
mod pdf;
pub mod printing;

pub use application::{ApplicationInput, application};
pub use decided::{condition_lines, delivery_line, fee_line, notification_line};
pub use document::{
    Block, ConditionLine, DocumentLine, InventoryInput, InventoryItem, Receipt, ReceiptKind,
    SignatureSlot, SignedInstead, TRACKING_CODE_LABEL, handover_receipt, inventory,
    withdrawal_receipt,
};
pub use fieldkit_capture::signature::signed_set_sha256;
pub use font::TextMeasure;
pub use payment::{PAYMENT_QR_CAPTION, hryvnias};
pub use pdf::{ReceiptError, SignedBy, render_pdf, render_pdf_for_ink};
