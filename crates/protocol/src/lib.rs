//! fieldkit-protocol: what travels between the tablet and the sync-server. Today that is the
//! **sealed case envelope**: when the applicant has signed, the case record, its page images and
//! its signatures are encrypted under a fresh content key (AES-256-GCM, ring), the content key is
//! sealed to the server's case-sealing public key (HPKE, RFC 9180), and a manifest describing the
//! parts is signed with the device's Ed25519 key.
//!
//! It must never put personal data in a manifest (only ids, hashes, sizes and kinds), never open a
//! part before the manifest's signature and the part's hash have been checked, and never keep a
//! content key or a secret key in memory after use (they zeroize on drop). It does no I/O.

mod envelope;
mod error;
mod hpke_step;
mod keys;
mod manifest;
mod part_cipher;
mod receipt;
mod report;

pub use envelope::{
    SealRequest, SealedEnvelope, check_parts, open, seal, seal_supplement, verify_manifest,
};
pub use error::EnvelopeError;
pub use hpke_step::{open_content_key, seal_content_key};
pub use keys::{DevicePublicKey, DeviceSigningKey, SealingKeyPair, SealingPublicKey};
pub use manifest::{
    FORMAT_VERSION, HPKE_SUITE, Manifest, PartEntry, PartKind, PlainPart, SupplementKind,
};
pub use receipt::{CommitReceipt, SignedReceipt};
pub use report::{ConsultationCount, DeviceReport, MAX_CONSULTATION_COUNTS};
