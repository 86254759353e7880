//! The keys of sealing: the server's case-sealing key pair (X25519, HPKE) and each device's
//! signing key (Ed25519, ring). Secrets zeroize on drop and never appear in `Debug`.

use hpke::{Deserializable, Kem as _, Serializable, kem::X25519HkdfSha256};
use ring::rand::SecureRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use zeroize::Zeroizing;

use crate::EnvelopeError;

/// The server's case-sealing key pair. The key id travels in every manifest so that keys can
/// rotate and old envelopes still open with the key they were sealed to.
pub struct SealingKeyPair {
    key_id: String,
    secret: Zeroizing<[u8; 32]>,
    public: [u8; 32],
}

/// The public half of [`SealingKeyPair`], as tablets receive it at enrollment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealingPublicKey {
    pub key_id: String,
    pub bytes: [u8; 32],
}

impl SealingKeyPair {
    pub fn generate(key_id: &str, rng: &dyn SecureRandom) -> Result<Self, EnvelopeError> {
        let mut ikm = Zeroizing::new([0u8; 32]);
        rng.fill(ikm.as_mut()).map_err(|_| EnvelopeError::Random)?;
        let (secret, _) = X25519HkdfSha256::derive_keypair(ikm.as_ref());
        Ok(Self::from_private_key(key_id, &secret))
    }

    /// Rebuild a key pair from its stored secret (the server keeps it in a file only it reads).
    pub fn from_secret_bytes(key_id: &str, secret: &[u8]) -> Result<Self, EnvelopeError> {
        let secret = <X25519HkdfSha256 as hpke::Kem>::PrivateKey::from_bytes(secret)
            .map_err(|_| EnvelopeError::BadKey("sealing secret key must be 32 bytes"))?;
        Ok(Self::from_private_key(key_id, &secret))
    }

    fn from_private_key(
        key_id: &str,
        secret: &<X25519HkdfSha256 as hpke::Kem>::PrivateKey,
    ) -> Self {
        let mut secret_bytes = Zeroizing::new([0u8; 32]);
        secret_bytes.copy_from_slice(&secret.to_bytes());
        let mut public_bytes = [0u8; 32];
        public_bytes.copy_from_slice(&X25519HkdfSha256::sk_to_pk(secret).to_bytes());
        Self {
            key_id: key_id.to_owned(),
            secret: secret_bytes,
            public: public_bytes,
        }
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn public_key(&self) -> SealingPublicKey {
        SealingPublicKey {
            key_id: self.key_id.clone(),
            bytes: self.public,
        }
    }

    /// The secret, for writing to the server's key file. Wiped when the returned value drops.
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        self.secret.clone()
    }
}

impl std::fmt::Debug for SealingKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SealingKeyPair {{ key_id: {:?}, secret: <redacted> }}",
            self.key_id
        )
    }
}

/// A device's Ed25519 signing key. The PKCS#8 document is kept (zeroized on drop) so the vault
/// can store it; ring's key pair holds the expanded key for signing.
pub struct DeviceSigningKey {
    device_id: String,
    pkcs8: Zeroizing<Vec<u8>>,
    key_pair: Ed25519KeyPair,
}

/// A device's public key, as the server records it at enrollment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePublicKey {
    pub device_id: String,
    pub bytes: [u8; 32],
}

impl DeviceSigningKey {
    pub fn generate(device_id: &str, rng: &dyn SecureRandom) -> Result<Self, EnvelopeError> {
        let document = Ed25519KeyPair::generate_pkcs8(rng).map_err(|_| EnvelopeError::Random)?;
        Self::from_pkcs8(device_id, document.as_ref())
    }

    pub fn from_pkcs8(device_id: &str, pkcs8: &[u8]) -> Result<Self, EnvelopeError> {
        let key_pair = Ed25519KeyPair::from_pkcs8(pkcs8)
            .map_err(|_| EnvelopeError::BadKey("device key is not an Ed25519 PKCS#8 document"))?;
        Ok(Self {
            device_id: device_id.to_owned(),
            pkcs8: Zeroizing::new(pkcs8.to_vec()),
            key_pair,
        })
    }

    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    pub fn public_key(&self) -> DevicePublicKey {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(self.key_pair.public_key().as_ref());
        DevicePublicKey {
            device_id: self.device_id.clone(),
            bytes,
        }
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.key_pair.sign(message).as_ref().to_vec()
    }
}

impl std::fmt::Debug for DeviceSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DeviceSigningKey {{ device_id: {:?}, key: <redacted> }}",
            self.device_id
        )
    }
}

impl DevicePublicKey {
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.bytes)
            .verify(message, signature)
            .is_ok()
    }
}
