//! The manifest: what an envelope holds, described without personal data, in the exact bytes the
//! device signs. Field order is fixed by the struct, so serialisation is canonical.

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::EnvelopeError;

/// The manifest format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The HPKE suite of RFC 9180 used for the content key.
pub const HPKE_SUITE: &str = "DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/AES-256-GCM";

/// What a part of a case is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartKind {
    CaseRecord,
    Page,
    Signature,
    Other,
}

impl PartKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PartKind::CaseRecord => "case_record",
            PartKind::Page => "page",
            PartKind::Signature => "signature",
            PartKind::Other => "other",
        }
    }
}

/// A part in clear: the bytes are wiped when the part is dropped.
pub struct PlainPart {
    pub kind: PartKind,
    pub bytes: Vec<u8>,
}

impl PlainPart {
    pub fn new(kind: PartKind, bytes: Vec<u8>) -> Self {
        Self { kind, bytes }
    }
}

impl Drop for PlainPart {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl std::fmt::Debug for PlainPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The bytes are personal data: show only their kind and size.
        write!(f, "PlainPart({:?}, {} bytes)", self.kind, self.bytes.len())
    }
}

/// One encrypted part as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartEntry {
    pub index: u32,
    pub kind: PartKind,
    /// SHA-256 of the ciphertext, hex: the blob's content address on the server.
    pub sha256: String,
    pub size: u64,
    pub plain_size: u64,
}

/// What a supplement to a registered case records (regulation 8.3–8.4, 8.12–8.14, and the
/// answer to a return for correction). A supplement carries the case's own number and is
/// stored beside the case, never as a second case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupplementKind {
    /// The result handed over under the applicant's signature.
    Handover,
    /// The application withdrawn under the applicant's signature.
    Withdrawal,
    /// New pages or a corrected form for a case returned for correction.
    Correction,
}

impl SupplementKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Handover => "handover",
            Self::Withdrawal => "withdrawal",
            Self::Correction => "correction",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Handover, Self::Withdrawal, Self::Correction]
            .into_iter()
            .find(|kind| kind.name() == name)
    }
}

/// The signed description of an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub envelope_id: String,
    pub device_id: String,
    pub case_number: String,
    /// Unix seconds, as given by the sealing device.
    pub created_at: i64,
    pub sealing_key_id: String,
    pub hpke_suite: String,
    /// HPKE encapsulated key, hex.
    pub enc: String,
    /// The content key sealed with HPKE, hex.
    pub sealed_content_key: String,
    pub parts: Vec<PartEntry>,
    /// Set when the envelope is a supplement to the case `case_number` names, not the case.
    /// Absent (and so unchanged bytes) for a case's first envelope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplement: Option<SupplementKind>,
}

impl Manifest {
    pub(crate) fn to_bytes(&self) -> Result<Vec<u8>, EnvelopeError> {
        serde_json::to_vec(self).map_err(|e| EnvelopeError::MalformedManifest(e.to_string()))
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        // Read the version first so a newer format gets a precise error, not a parse failure.
        #[derive(Deserialize)]
        struct Version {
            format: u32,
        }
        let version: Version = serde_json::from_slice(bytes)
            .map_err(|e| EnvelopeError::MalformedManifest(e.to_string()))?;
        if version.format != FORMAT_VERSION {
            return Err(EnvelopeError::UnsupportedFormat(version.format));
        }
        serde_json::from_slice(bytes).map_err(|e| EnvelopeError::MalformedManifest(e.to_string()))
    }
}
