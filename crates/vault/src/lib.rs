//! fieldkit-vault: the tablet's encrypted store for visits in progress. One SQLite file per
//! device (WAL, `synchronous=FULL`); a random vault master key (VMK) wrapped in one key slot per
//! administrator (PBKDF2-HMAC-SHA256, ≥ 600,000 rounds); every row, page image and signature
//! sealed with AES-256-GCM under keys derived from the VMK, with associated data binding table,
//! row id and record format, and for drafts and blobs also where they belong (a draft's state; a
//! blob's case, kind and position), so nothing can be moved in the file unnoticed; an audit chain of keyed hashes; back-off on wrong passphrases;
//! and sealing: a signed case leaves the vault as an envelope only the server can open. It also
//! keeps the consultations given without a case (regulation 2.36), encrypted like drafts.
//!
//! It must never write personal data, an image or a signature in clear (only opaque ids, times,
//! states and counters are stored unencrypted; the administrators' display names, which the
//! locked screen shows, are sealed under a key kept beside the file), never keep the VMK after `lock`, and never
//! return data whose authentication failed: that is an integrity error naming the record.

mod audit;
mod backoff;
mod clock;
mod consultations;
mod crypto;
mod display_name;
mod error;
mod keyslot;
mod outgoing;
mod rebind;
mod redact;
mod schema;
mod seal;
mod store;
mod vault;

pub use audit::{AuditEvent, AuditHead};
pub use backoff::BackoffPolicy;
pub use clock::{Clock, SystemClock};
pub use consultations::StoredConsultation;
pub use crypto::{MIN_KDF_ITERATIONS, MasterKey};
pub use display_name::MAX_DISPLAY_NAME_CHARS;
pub use error::VaultError;
pub use keyslot::SlotId;
pub use outgoing::{OutgoingItem, retry_delay};
pub use redact::redact_personal_data;
pub use schema::SCHEMA_VERSION;
pub use seal::{OutboxEntry, SealCase, TrackingStub};
pub use store::{BlobId, BlobInfo, DraftSummary, VaultTx};
pub use vault::{AdminInfo, SlotInfo, UnlockedVault, Vault, VaultOptions};
