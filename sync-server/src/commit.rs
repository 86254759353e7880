//! Committing an envelope: the device's signed manifest is verified (never opened), every part
//! must be stored with the declared hash and size, the envelope is stored once, and the server
//! answers a receipt signed with its own key. The same envelope again gets the same receipt; a
//! different manifest under the same id is a conflict.
//!
//! A case's first envelope is taken only from the device its case number names, in this
//! centre: case numbers are predictable, so another tablet could otherwise take a number first
//! and the real case would never arrive. A supplement (hand-over, withdrawal, correction) may
//! come from any active device of the centre, but must name a case that arrived.

use fieldkit_protocol::{CommitReceipt, DevicePublicKey, SignedReceipt, verify_manifest};
use ring::digest::{SHA256, digest};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use zeroize::Zeroizing;

use crate::ServerError;
use fieldkit_domain::catalog::Catalog;

use crate::store::{BlobStore, DeviceState, MetadataStore, StoredEnvelope, StoredSupplement};

/// The server's receipt-signing key.
pub struct ServerSigningKey {
    key_id: String,
    pkcs8: Zeroizing<Vec<u8>>,
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for ServerSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ServerSigningKey {{ key_id: {}, key: <redacted> }}",
            self.key_id
        )
    }
}

impl ServerSigningKey {
    pub fn generate(key_id: &str) -> Result<Self, ServerError> {
        let document = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|_| ServerError::Storage("random".into()))?;
        Self::from_pkcs8(key_id, document.as_ref())
    }

    pub fn from_pkcs8(key_id: &str, pkcs8: &[u8]) -> Result<Self, ServerError> {
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8)
            .map_err(|_| ServerError::Storage("bad server signing key".into()))?;
        Ok(Self {
            key_id: key_id.to_owned(),
            pkcs8: Zeroizing::new(pkcs8.to_vec()),
            pair,
        })
    }

    pub fn public_key(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }

    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    fn sign(&self, receipt: &CommitReceipt) -> Result<SignedReceipt, ServerError> {
        let text =
            serde_json::to_string(receipt).map_err(|e| ServerError::Storage(e.to_string()))?;
        let signature = hex::encode(self.pair.sign(text.as_bytes()));
        Ok(SignedReceipt {
            receipt: text,
            signature,
        })
    }
}

/// What a commit needs from the request: who (from the client certificate), which envelope
/// (from the path), and the body.
pub struct CommitRequest<'a> {
    pub device_id: &'a str,
    pub envelope_id: &'a str,
    pub manifest: &'a [u8],
    pub signature: &'a [u8],
}

fn same_envelope(
    stored: &StoredEnvelope,
    request: &CommitRequest<'_>,
) -> Result<SignedReceipt, ServerError> {
    if stored.device_id == request.device_id && stored.manifest == request.manifest {
        Ok(SignedReceipt {
            receipt: stored.receipt.clone(),
            signature: stored.receipt_signature.clone(),
        })
    } else {
        Err(ServerError::Conflict(stored.envelope_id.clone()))
    }
}

/// Verify and store an envelope; answer its signed receipt.
pub fn commit(
    meta: &dyn MetadataStore,
    blobs: &dyn BlobStore,
    key: &ServerSigningKey,
    request: &CommitRequest<'_>,
    now: i64,
) -> Result<SignedReceipt, ServerError> {
    let device = meta.device(request.device_id)?;
    if device.state == DeviceState::Revoked {
        return Err(ServerError::Revoked(device.device_id));
    }
    let public = DevicePublicKey {
        device_id: device.device_id.clone(),
        bytes: device.public_key,
    };
    let manifest = verify_manifest(request.manifest, request.signature, &public)?;
    if manifest.envelope_id != request.envelope_id {
        return Err(ServerError::Mismatch(
            "the manifest names another envelope id",
        ));
    }
    if let Some(stored) = meta.envelope(request.envelope_id)? {
        return same_envelope(&stored, request);
    }
    if let Some(stored) = meta.supplement(request.envelope_id)? {
        return same_envelope(&stored.envelope, request);
    }
    check_case_number(
        meta,
        &manifest.case_number,
        &device.device_id,
        manifest.supplement,
    )?;
    for part in &manifest.parts {
        if blobs.size(&part.sha256)? != Some(part.size) {
            return Err(ServerError::MissingPart {
                index: part.index,
                sha256: part.sha256.clone(),
            });
        }
    }
    let receipt = CommitReceipt {
        envelope_id: manifest.envelope_id.clone(),
        device_id: device.device_id.clone(),
        manifest_sha256: hex::encode(digest(&SHA256, request.manifest)),
        received_at: now,
        server_key_id: key.key_id.clone(),
    };
    let signed = key.sign(&receipt)?;
    let envelope = StoredEnvelope {
        envelope_id: manifest.envelope_id.clone(),
        device_id: device.device_id,
        case_number: manifest.case_number.clone(),
        manifest: request.manifest.to_vec(),
        signature: request.signature.to_vec(),
        receipt: signed.receipt.clone(),
        receipt_signature: signed.signature.clone(),
    };
    let hashes: Vec<String> = manifest.parts.iter().map(|p| p.sha256.clone()).collect();
    // If another request stored the same id first, answer as that one did (or conflict).
    let stored = match manifest.supplement {
        None => meta.insert_envelope(&envelope, &hashes, now)?,
        Some(kind) => {
            let supplement = StoredSupplement {
                envelope,
                kind,
                applied_at: None,
                refused: None,
            };
            meta.insert_supplement(&supplement, &hashes, now)?.envelope
        }
    };
    same_envelope(&stored, request)
}

/// A first envelope's number names the committing device and this centre; a supplement's
/// names a case that arrived.
fn check_case_number(
    meta: &dyn MetadataStore,
    case_number: &str,
    device_id: &str,
    supplement: Option<fieldkit_protocol::SupplementKind>,
) -> Result<(), ServerError> {
    let foreign = || ServerError::ForeignCaseNumber {
        case_number: case_number.to_owned(),
        device_id: device_id.to_owned(),
    };
    if supplement.is_some() {
        return match meta.case_envelope(case_number)? {
            Some(_) => Ok(()),
            None => Err(ServerError::UnknownCase(case_number.to_owned())),
        };
    }
    // The codes are compared, not the check character: that one guards against typing, and
    // the number here was made by a tablet, not typed.
    let mut codes = case_number.split('/');
    let (Some(centre), Some(device)) = (codes.next(), codes.next()) else {
        return Err(foreign());
    };
    if device != device_id {
        return Err(foreign());
    }
    // The centre is the published catalog's; before one is published there is nothing to
    // compare with, and the device check above still holds.
    if let Some((_, text)) = meta.catalog_since(0)? {
        let catalog = Catalog::from_toml_str(&text)
            .map_err(|e| ServerError::Storage(format!("published catalog: {e}")))?;
        if centre != catalog.centre.code {
            return Err(foreign());
        }
    }
    Ok(())
}
