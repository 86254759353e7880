//! Seal a signed case into an envelope, and verify, check and open it on the server.

use ring::digest::{SHA256, digest};
use ring::rand::SecureRandom;
use zeroize::Zeroizing;

use crate::hpke_step::{open_content_key, seal_content_key};
use crate::part_cipher::{PartCipher, TAG_LEN};
use crate::{
    DevicePublicKey, DeviceSigningKey, EnvelopeError, FORMAT_VERSION, HPKE_SUITE, Manifest,
    PartEntry, PlainPart, SealingKeyPair, SealingPublicKey, SupplementKind,
};

/// A sealed case as it travels: the signed manifest and the encrypted parts, in manifest order.
/// Each part is uploaded as a blob addressed by its SHA-256.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedEnvelope {
    pub manifest_bytes: Vec<u8>,
    pub signature: Vec<u8>,
    pub parts: Vec<Vec<u8>>,
}

impl std::fmt::Debug for SealedEnvelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SealedEnvelope({} manifest bytes, {} parts)",
            self.manifest_bytes.len(),
            self.parts.len()
        )
    }
}

/// What the device knows when it seals a case.
pub struct SealRequest<'a> {
    pub envelope_id: &'a str,
    pub case_number: &'a str,
    /// Unix seconds (the caller owns the clock).
    pub created_at: i64,
    pub parts: &'a [PlainPart],
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(digest(&SHA256, bytes))
}

/// Encrypt every part under a fresh content key, seal that key to the server, and sign the
/// manifest with the device key.
pub fn seal(
    request: &SealRequest<'_>,
    recipient: &SealingPublicKey,
    device: &DeviceSigningKey,
    rng: &dyn SecureRandom,
) -> Result<SealedEnvelope, EnvelopeError> {
    seal_as(request, None, recipient, device, rng)
}

/// Seal a supplement to the case `request.case_number` names: sealed and signed like a case,
/// its manifest says what it records.
pub fn seal_supplement(
    request: &SealRequest<'_>,
    kind: SupplementKind,
    recipient: &SealingPublicKey,
    device: &DeviceSigningKey,
    rng: &dyn SecureRandom,
) -> Result<SealedEnvelope, EnvelopeError> {
    seal_as(request, Some(kind), recipient, device, rng)
}

fn seal_as(
    request: &SealRequest<'_>,
    supplement: Option<SupplementKind>,
    recipient: &SealingPublicKey,
    device: &DeviceSigningKey,
    rng: &dyn SecureRandom,
) -> Result<SealedEnvelope, EnvelopeError> {
    let mut content_key = Zeroizing::new([0u8; 32]);
    rng.fill(content_key.as_mut())
        .map_err(|_| EnvelopeError::Random)?;
    let (enc, sealed_content_key) =
        seal_content_key(recipient, request.envelope_id, &content_key, rng)?;
    let cipher = PartCipher::new(&content_key)?;

    let mut parts = Vec::with_capacity(request.parts.len());
    let mut entries = Vec::with_capacity(request.parts.len());
    for (position, part) in request.parts.iter().enumerate() {
        let index = u32::try_from(position)
            .map_err(|_| EnvelopeError::MalformedManifest("too many parts".into()))?;
        let ciphertext = cipher.seal(request.envelope_id, index, part.kind, &part.bytes)?;
        entries.push(PartEntry {
            index,
            kind: part.kind,
            sha256: sha256_hex(&ciphertext),
            size: ciphertext.len() as u64,
            plain_size: part.bytes.len() as u64,
        });
        parts.push(ciphertext);
    }

    let manifest = Manifest {
        format: FORMAT_VERSION,
        envelope_id: request.envelope_id.to_owned(),
        device_id: device.device_id().to_owned(),
        case_number: request.case_number.to_owned(),
        created_at: request.created_at,
        sealing_key_id: recipient.key_id.clone(),
        hpke_suite: HPKE_SUITE.to_owned(),
        enc: hex::encode(enc),
        sealed_content_key: hex::encode(sealed_content_key),
        parts: entries,
        supplement,
    };
    let manifest_bytes = manifest.to_bytes()?;
    let signature = device.sign(&manifest_bytes);
    Ok(SealedEnvelope {
        manifest_bytes,
        signature,
        parts,
    })
}

/// Check the device's signature over the exact manifest bytes, then read them. This is all the
/// server needs to accept a commit without opening anything.
pub fn verify_manifest(
    manifest_bytes: &[u8],
    signature: &[u8],
    device: &DevicePublicKey,
) -> Result<Manifest, EnvelopeError> {
    if !device.verify(manifest_bytes, signature) {
        return Err(EnvelopeError::BadSignature);
    }
    let manifest = Manifest::from_bytes(manifest_bytes)?;
    if manifest.device_id != device.device_id {
        return Err(EnvelopeError::WrongDevice {
            signed_by: device.device_id.clone(),
            named: manifest.device_id,
        });
    }
    for (position, entry) in manifest.parts.iter().enumerate() {
        if entry.index as usize != position {
            return Err(EnvelopeError::MalformedManifest(format!(
                "part entry {position} carries index {}",
                entry.index
            )));
        }
    }
    Ok(manifest)
}

/// Every part the manifest lists is there, in its place, with the declared size and hash.
pub fn check_parts(manifest: &Manifest, parts: &[Vec<u8>]) -> Result<(), EnvelopeError> {
    if parts.len() > manifest.parts.len() {
        return Err(EnvelopeError::ExtraParts {
            count: parts.len() - manifest.parts.len(),
        });
    }
    for entry in &manifest.parts {
        let Some(part) = parts.get(entry.index as usize) else {
            return Err(EnvelopeError::PartMissing { index: entry.index });
        };
        let hash = sha256_hex(part);
        if hash == entry.sha256 {
            continue;
        }
        if let Some(other) = manifest.parts.iter().find(|e| e.sha256 == hash) {
            return Err(EnvelopeError::PartOutOfPlace {
                index: entry.index,
                belongs_at: other.index,
            });
        }
        if part.len() as u64 != entry.size {
            return Err(EnvelopeError::PartSizeMismatch { index: entry.index });
        }
        return Err(EnvelopeError::PartHashMismatch { index: entry.index });
    }
    Ok(())
}

/// Verify, check and decrypt an envelope with the server's sealing key. Nothing is decrypted
/// before the signature and every part's hash have been checked.
pub fn open(
    envelope: &SealedEnvelope,
    key_pair: &SealingKeyPair,
    device: &DevicePublicKey,
) -> Result<Vec<PlainPart>, EnvelopeError> {
    let manifest = verify_manifest(&envelope.manifest_bytes, &envelope.signature, device)?;
    if manifest.sealing_key_id != key_pair.key_id() {
        return Err(EnvelopeError::UnknownSealingKey {
            key_id: manifest.sealing_key_id,
        });
    }
    if manifest.hpke_suite != HPKE_SUITE {
        return Err(EnvelopeError::MalformedManifest(format!(
            "unknown HPKE suite {}",
            manifest.hpke_suite
        )));
    }
    check_parts(&manifest, &envelope.parts)?;

    let enc = hex::decode(&manifest.enc).map_err(|_| EnvelopeError::ContentKeyUnopenable)?;
    let sealed_key = hex::decode(&manifest.sealed_content_key)
        .map_err(|_| EnvelopeError::ContentKeyUnopenable)?;
    let content_key = open_content_key(key_pair, &manifest.envelope_id, &enc, &sealed_key)?;
    let cipher = PartCipher::new(&content_key)?;

    let mut plain = Vec::with_capacity(manifest.parts.len());
    for entry in &manifest.parts {
        let ciphertext = &envelope.parts[entry.index as usize];
        let bytes = cipher.open(&manifest.envelope_id, entry.index, entry.kind, ciphertext)?;
        if bytes.len() as u64 != entry.plain_size || ciphertext.len() < TAG_LEN {
            return Err(EnvelopeError::PartSizeMismatch { index: entry.index });
        }
        plain.push(PlainPart::new(entry.kind, bytes));
    }
    Ok(plain)
}
