//! AES-256-GCM (ring) for the parts of one envelope, under that envelope's content key.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use crate::{EnvelopeError, PartKind};

/// The content key is fresh for every envelope and each part index occurs once, so the part
/// index is a nonce that never repeats under a key — no random nonces needed.
fn nonce(index: u32) -> Nonce {
    let mut bytes = [0u8; NONCE_LEN];
    bytes[NONCE_LEN - 4..].copy_from_slice(&index.to_be_bytes());
    Nonce::assume_unique_for_key(bytes)
}

/// Associated data: a part only authenticates in its own envelope, at its own index, as its
/// own kind.
fn associated_data(envelope_id: &str, index: u32, kind: PartKind) -> Vec<u8> {
    format!(
        "fieldkit/part/v1\0{envelope_id}\0{index}\0{}",
        kind.as_str()
    )
    .into_bytes()
}

pub(crate) struct PartCipher {
    key: LessSafeKey,
}

impl PartCipher {
    pub(crate) fn new(content_key: &[u8; 32]) -> Result<Self, EnvelopeError> {
        let key = UnboundKey::new(&AES_256_GCM, content_key)
            .map_err(|_| EnvelopeError::BadKey("content key"))?;
        Ok(Self {
            key: LessSafeKey::new(key),
        })
    }

    pub(crate) fn seal(
        &self,
        envelope_id: &str,
        index: u32,
        kind: PartKind,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, EnvelopeError> {
        let mut buffer = Vec::with_capacity(plaintext.len() + AES_256_GCM.tag_len());
        buffer.extend_from_slice(plaintext);
        let aad = associated_data(envelope_id, index, kind);
        self.key
            .seal_in_place_append_tag(nonce(index), Aad::from(&aad), &mut buffer)
            .map_err(|_| EnvelopeError::Encryption)?;
        Ok(buffer)
    }

    pub(crate) fn open(
        &self,
        envelope_id: &str,
        index: u32,
        kind: PartKind,
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, EnvelopeError> {
        let mut buffer = ciphertext.to_vec();
        let aad = associated_data(envelope_id, index, kind);
        let plain_len = self
            .key
            .open_in_place(nonce(index), Aad::from(&aad), &mut buffer)
            .map_err(|_| EnvelopeError::PartAuthentication { index })?
            .len();
        buffer.truncate(plain_len);
        Ok(buffer)
    }
}

pub(crate) const TAG_LEN: usize = 16;
