//! fieldkit-sync-server: where sealed cases arrive. This part is its core, below HTTP: the
//! metadata store and the content-addressed blob store (behind traits, SQLite and files first),
//! resumable uploads with the rules of tus 1.0.0 (offsets, checksums, limits, expiry,
//! termination), and the envelope commit that verifies a device's signed manifest, checks every
//! part, stores it once and answers a signed receipt.
//!
//! It stores sealed envelopes as received and never opens one here; it must never accept a
//! commit from a revoked device, never make an offset durable after the response, and never log
//! personal data (there is none in what it sees: manifests carry ids, hashes and sizes).

pub mod backup;
pub mod central;
pub mod commit;
pub mod connections;
mod error;
pub mod http;
pub mod local;
pub mod metrics;
pub mod office;
pub mod openapi;
pub mod opened;
pub mod personal_data;
pub mod public;
pub mod sealed_visits;
pub mod setup;
pub mod store;
pub mod tls;
pub mod tus;
pub mod visit_requests;

pub use error::ServerError;
