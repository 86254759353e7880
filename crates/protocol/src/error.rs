//! The one error type of the crate: each way an envelope can be wrong has its own variant, so
//! the server can answer precisely and a test can tell one tampering from another.

/// Why an envelope could not be sealed, verified or opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    #[error("the manifest's signature does not verify with the device's public key")]
    BadSignature,
    #[error("the manifest is signed by device {signed_by} but names device {named}")]
    WrongDevice { signed_by: String, named: String },
    #[error("the manifest cannot be read: {0}")]
    MalformedManifest(String),
    #[error("manifest format {0} is not supported by this version")]
    UnsupportedFormat(u32),
    #[error("the envelope is sealed to key {key_id}, which this server does not hold")]
    UnknownSealingKey { key_id: String },
    #[error("the content key cannot be opened: wrong recipient key or altered encapsulation")]
    ContentKeyUnopenable,
    #[error("part {index} listed in the manifest is missing")]
    PartMissing { index: u32 },
    #[error("{count} part(s) arrived that the manifest does not list")]
    ExtraParts { count: usize },
    #[error("part {index} is in the wrong place: it is part {belongs_at} of this envelope")]
    PartOutOfPlace { index: u32, belongs_at: u32 },
    #[error("part {index} does not match the size in the manifest")]
    PartSizeMismatch { index: u32 },
    #[error("part {index} does not match the SHA-256 in the manifest")]
    PartHashMismatch { index: u32 },
    #[error("part {index} fails authentication: it was altered or belongs to another envelope")]
    PartAuthentication { index: u32 },
    #[error("a key could not be read: {0}")]
    BadKey(&'static str),
    #[error("the system random number generator failed")]
    Random,
    #[error("encryption failed")]
    Encryption,
}
