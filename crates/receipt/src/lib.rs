//! fieldkit-receipt: the applicant's papers — the inventory of the input package (опис вхідного
//! пакета, regulation 6.12–6.13), the receipt for a handed-over result (8.3) and for a withdrawal
//! (8.12) — as one document model that the tablet shows in applicant mode and that renders to a
//! PDF with an embedded Ukrainian font, the signatures drawn from their strokes, the tracking QR
//! and a footer with the SHA-256 that the signatures bind to.
//!
//! What is signed is the document's content text, exactly; the same text is what the screen
//! shows and what the PDF prints. Its only I/O is handing a finished PDF to the print system
//! (`lp`) or to the centre's mail server (SMTP); queueing while offline is the vault's outgoing
//! queue, driven by the app.

mod document;
mod font;
pub mod mail;
mod pdf;
pub mod printing;

pub use document::{
    Block, DocumentLine, InventoryInput, InventoryItem, Receipt, ReceiptKind, SignatureSlot,
    SignedInstead, handover_receipt, inventory, withdrawal_receipt,
};
pub use font::TextMeasure;
pub use pdf::{ReceiptError, SignedBy, render_pdf};
