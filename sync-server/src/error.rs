//! The server core's errors; each maps to one HTTP status and stable code in the API layer.

/// Why a request was refused.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("not found")]
    NotFound,
    #[error("the upload was terminated or has expired")]
    Gone,
    #[error("wrong offset: the upload is at {expected}")]
    WrongOffset { expected: u64 },
    #[error("the chunk's checksum does not match; it was discarded")]
    ChecksumMismatch,
    #[error("unsupported checksum algorithm {0}")]
    UnsupportedChecksum(String),
    #[error("the upload would exceed its declared length or the server's maximum")]
    TooLarge,
    #[error("a client certificate issued at enrollment is required")]
    Unauthenticated,
    #[error("the enrollment code is unknown, used or expired")]
    InvalidEnrollCode,
    #[error("the Tus-Resumable header must be 1.0.0")]
    TusVersion,
    #[error("PATCH needs Content-Type: application/offset+octet-stream")]
    WrongContentType,
    #[error(
        "the tablet's audit chain is behind what it reported before (at event {anchored}): its vault was rolled back or cut"
    )]
    AuditRollback { anchored: u64 },
    #[error("device {0} is revoked")]
    Revoked(String),
    #[error("unknown device {0}")]
    UnknownDevice(String),
    #[error("the envelope is not valid: {0}")]
    BadEnvelope(#[from] fieldkit_protocol::EnvelopeError),
    #[error("part {index} (sha256 {sha256}) has not been uploaded")]
    MissingPart { index: u32, sha256: String },
    #[error(
        "case number {case_number} does not belong to device {device_id}: a case's first envelope comes from the device its number names, in this centre"
    )]
    ForeignCaseNumber {
        case_number: String,
        device_id: String,
    },
    #[error("no case {0} has arrived here: a supplement must name an existing case")]
    UnknownCase(String),
    #[error("envelope {0} was already committed with a different manifest")]
    Conflict(String),
    #[error("the request cannot be read: {0}")]
    Malformed(String),
    #[error("the request does not match the manifest: {0}")]
    Mismatch(&'static str),
    #[error("too many attempts from this address: try again in {retry_after} s")]
    TooManyAttempts { retry_after: i64 },
    #[error("this device already has {limit} uploads in flight: finish or end one first")]
    TooManyUploads { limit: u64 },
    #[error(
        "this device already has {limit} bytes uploaded and not yet committed: commit or end uploads first"
    )]
    PendingBytesQuota { limit: u64 },
    #[error("storage error: {0}")]
    Storage(String),
}

impl ServerError {
    /// The stable code of the JSON error body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::Gone => "gone",
            Self::WrongOffset { .. } => "wrong_offset",
            Self::ChecksumMismatch => "checksum_mismatch",
            Self::UnsupportedChecksum(_) => "unsupported_checksum",
            Self::TooLarge => "too_large",
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidEnrollCode => "invalid_enroll_code",
            Self::TusVersion => "tus_version",
            Self::WrongContentType => "wrong_content_type",
            Self::AuditRollback { .. } => "audit_rollback",
            Self::Revoked(_) => "device_revoked",
            Self::UnknownDevice(_) => "unknown_device",
            Self::BadEnvelope(_) => "bad_envelope",
            Self::MissingPart { .. } => "missing_part",
            Self::Conflict(_) => "conflict",
            Self::ForeignCaseNumber { .. } => "case_number_not_yours",
            Self::UnknownCase(_) => "unknown_case",
            Self::Mismatch(_) => "mismatch",
            Self::Malformed(_) => "malformed_request",
            Self::TooManyAttempts { .. } => "too_many_attempts",
            Self::TooManyUploads { .. } => "too_many_uploads",
            Self::PendingBytesQuota { .. } => "pending_bytes_quota",
            Self::Storage(_) => "storage",
        }
    }

    /// The HTTP status, as tus 1.0.0 and DESIGN.md fix them.
    pub fn status(&self) -> u16 {
        match self {
            Self::NotFound | Self::UnknownDevice(_) => 404,
            Self::Gone => 410,
            Self::WrongOffset { .. } | Self::Conflict(_) | Self::AuditRollback { .. } => 409,
            Self::ChecksumMismatch => 460,
            Self::UnsupportedChecksum(_)
            | Self::BadEnvelope(_)
            | Self::Mismatch(_)
            | Self::Malformed(_) => 400,
            Self::TooLarge => 413,
            Self::Revoked(_) | Self::InvalidEnrollCode | Self::ForeignCaseNumber { .. } => 403,
            Self::Unauthenticated => 401,
            Self::TusVersion => 412,
            Self::WrongContentType => 415,
            Self::MissingPart { .. } | Self::UnknownCase(_) => 422,
            Self::TooManyAttempts { .. } | Self::TooManyUploads { .. } => 429,
            // Insufficient Storage: this device's share is full until it commits.
            Self::PendingBytesQuota { .. } => 507,
            Self::Storage(_) => 500,
        }
    }
}

impl From<rusqlite::Error> for ServerError {
    fn from(error: rusqlite::Error) -> Self {
        ServerError::Storage(error.to_string())
    }
}

impl From<std::io::Error> for ServerError {
    fn from(error: std::io::Error) -> Self {
        ServerError::Storage(error.to_string())
    }
}
