//! fieldkit-sync-client: the tablet's side of sync over mutual TLS (reqwest on rustls/ring).
//! Enrollment (the keys are made here and never leave the tablet), resumable uploads of a
//! sealed envelope's parts with the tus protocol (resuming from the server's offset after a
//! cut), the commit, and the check of the server's signed receipt.
//!
//! It stores nothing: the app keeps what enrollment returns and the receipts in the vault, and
//! must drop an envelope only after `upload_envelope` returned a receipt whose signature checked.

mod backoff;
mod client;
mod enroll;
mod error;

pub use backoff::{Backoff, run_in_background};
pub use client::{
    CatalogUpdate, RenewedCertificate, ServerKeys, StatusEvent, SyncClient, UploadProgress,
};
pub use enroll::{Enrollment, enroll};
pub use error::SyncError;
