//! The server's receipt for a committed envelope: what the tablet waits for before it drops
//! anything. Signed with the server's Ed25519 key over the exact bytes that travel.

use ring::signature::{ED25519, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

use crate::EnvelopeError;

/// What the server states when it has stored an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitReceipt {
    pub envelope_id: String,
    pub device_id: String,
    /// SHA-256 of the manifest bytes the device signed, hex.
    pub manifest_sha256: String,
    /// Unix seconds, server clock.
    pub received_at: i64,
    pub server_key_id: String,
}

/// A receipt and the server's signature over its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedReceipt {
    /// The receipt as JSON, exactly as signed.
    pub receipt: String,
    /// Ed25519 signature, hex.
    pub signature: String,
}

impl SignedReceipt {
    /// Check the server's signature and read the receipt.
    pub fn verify(&self, server_public_key: &[u8]) -> Result<CommitReceipt, EnvelopeError> {
        let signature = hex::decode(&self.signature).map_err(|_| EnvelopeError::BadSignature)?;
        UnparsedPublicKey::new(&ED25519, server_public_key)
            .verify(self.receipt.as_bytes(), &signature)
            .map_err(|_| EnvelopeError::BadSignature)?;
        serde_json::from_str(&self.receipt)
            .map_err(|e| EnvelopeError::MalformedManifest(e.to_string()))
    }
}
