//! Keys and ciphers of the vault: the master key, the key-encryption key from a passphrase,
//! AES-256-GCM for rows, and the keyed hash of the audit chain. All on ring.

use std::num::NonZeroU32;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use ring::{hkdf, hmac, pbkdf2};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{Result, VaultError};

/// OWASP's 2023 figure for PBKDF2-HMAC-SHA256; DESIGN.md makes it the floor.
pub const MIN_KDF_ITERATIONS: u32 = 600_000;

const TAG_LEN: usize = 16;

/// The vault master key. Wiped on drop; no `Debug`, no `Clone`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct MasterKey([u8; 32]);

impl MasterKey {
    pub(crate) fn generate(rng: &SystemRandom) -> Result<Self> {
        let mut key = MasterKey([0u8; 32]);
        rng.fill(&mut key.0).map_err(|_| VaultError::Random)?;
        Ok(key)
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let array: [u8; 32] = bytes.try_into().ok()?;
        Some(MasterKey(array))
    }

    pub(crate) fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    /// Separate keys for separate jobs, so the row cipher and the audit chain never share one.
    pub(crate) fn derive(&self, purpose: &'static str) -> Result<Zeroizing<[u8; 32]>> {
        let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, b"fieldkit-vault");
        let prk = salt.extract(&self.0);
        let info = [purpose.as_bytes()];
        let okm = prk
            .expand(&info, hkdf::HKDF_SHA256)
            .map_err(|_| VaultError::Random)?;
        let mut out = Zeroizing::new([0u8; 32]);
        okm.fill(out.as_mut()).map_err(|_| VaultError::Random)?;
        Ok(out)
    }
}

/// PBKDF2-HMAC-SHA256 of a passphrase: the key-encryption key of one slot.
pub(crate) fn derive_kek(passphrase: &str, salt: &[u8], iterations: u32) -> Zeroizing<[u8; 32]> {
    let mut kek = Zeroizing::new([0u8; 32]);
    let rounds = NonZeroU32::new(iterations.max(1)).unwrap_or(NonZeroU32::MIN);
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        rounds,
        salt,
        passphrase.as_bytes(),
        kek.as_mut(),
    );
    kek
}

/// HMAC-SHA256 with a key, used for passphrase verifiers and audit links.
pub(crate) fn keyed_hash(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut context = hmac::Context::with_key(&key);
    for part in parts {
        // Length-prefix each part so that ("ab","c") and ("a","bc") differ.
        context.update(&(part.len() as u64).to_be_bytes());
        context.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(context.sign().as_ref());
    out
}

/// Compare two hashes without an early exit, so timing does not tell how much matched.
pub(crate) fn hashes_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// AES-256-GCM with random nonces (stored in front of the ciphertext). A random 96-bit nonce is
/// safe for the number of writes one tablet makes under one key (far below 2^32).
///
/// Only the raw key bytes live as long as the cipher, in `Zeroizing`, so they are wiped when the
/// vault locks (the cipher is dropped with the other keys). ring's `LessSafeKey` holds the
/// expanded key schedule and offers no way to wipe it, so none is kept: one is built for each
/// seal or open and dropped when it returns (building it costs far less than the AES-GCM pass
/// over a record). What is left of it is a stack frame that later calls overwrite, never a
/// schedule that outlives the lock in a long-lived object.
pub(crate) struct Cipher {
    key: Zeroizing<[u8; 32]>,
    rng: SystemRandom,
}

impl Cipher {
    pub(crate) fn new(key: &[u8; 32]) -> Result<Self> {
        let cipher = Self {
            key: Zeroizing::new(*key),
            rng: SystemRandom::new(),
        };
        // Refuse a key ring would not take now, rather than at the first record.
        cipher.schedule()?;
        Ok(cipher)
    }

    /// The key schedule for one operation (see the type's comment for why it is not kept).
    fn schedule(&self) -> Result<LessSafeKey> {
        let unbound =
            UnboundKey::new(&AES_256_GCM, self.key.as_ref()).map_err(|_| VaultError::Random)?;
        Ok(LessSafeKey::new(unbound))
    }

    /// Wipe the key now (dropping the cipher does the same).
    #[cfg(test)]
    pub(crate) fn wipe(&mut self) {
        self.key.zeroize();
    }

    #[cfg(test)]
    pub(crate) fn key_bytes(&self) -> &[u8; 32] {
        &self.key
    }

    pub(crate) fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| VaultError::Random)?;
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let (_, body) = out.split_at_mut(NONCE_LEN);
        let tag = self
            .schedule()?
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), body)
            .map_err(|_| VaultError::Random)?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    /// `None` when the ciphertext does not authenticate; the caller names the record.
    pub(crate) fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return None;
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = Zeroizing::new(body.to_vec());
        let len = self
            .schedule()
            .ok()?
            .open_in_place(nonce, Aad::from(aad), buffer.as_mut_slice())
            .ok()?
            .len();
        buffer.truncate(len);
        Some(buffer)
    }
}

/// Associated data of a stored ciphertext: which table, which row, which schema.
pub(crate) fn row_aad(table: &str, row: &str, schema_version: i64) -> Vec<u8> {
    format!("fieldkit-vault\0{table}\0{row}\0{schema_version}").into_bytes()
}

/// Associated data that binds a ciphertext to its table and to every field that says where it
/// belongs (each field length-prefixed, so no two field lists give the same bytes).
pub(crate) fn bound_aad(table: &str, fields: &[&[u8]], format: i64) -> Vec<u8> {
    let mut out = format!("fieldkit-vault\0{table}\0{format}").into_bytes();
    for field in fields {
        out.extend_from_slice(&(field.len() as u64).to_be_bytes());
        out.extend_from_slice(field);
    }
    out
}

pub(crate) fn random_bytes<const N: usize>(rng: &SystemRandom) -> Result<[u8; N]> {
    let mut out = [0u8; N];
    rng.fill(&mut out).map_err(|_| VaultError::Random)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wiped_on_drop<T: ZeroizeOnDrop>() {}

    #[test]
    fn master_key_is_wiped_on_drop_and_by_zeroize() {
        wiped_on_drop::<MasterKey>();
        let mut key = MasterKey::generate(&SystemRandom::new()).unwrap();
        assert_ne!(key.expose(), &[0u8; 32]);
        key.zeroize();
        assert_eq!(key.expose(), &[0u8; 32]);
    }

    #[test]
    fn the_row_cipher_keeps_only_key_bytes_that_are_wiped() {
        // Zeroizing wipes on drop; wiping by hand shows the bytes it holds are the key's.
        let mut cipher = Cipher::new(&[7u8; 32]).unwrap();
        assert_eq!(cipher.key_bytes(), &[7u8; 32]);
        let sealed = cipher.seal(b"aad", b"secret").unwrap();
        cipher.wipe();
        assert_eq!(cipher.key_bytes(), &[0u8; 32]);
        assert!(cipher.open(b"aad", &sealed).is_none());
    }

    #[test]
    fn derived_keys_differ_by_purpose() {
        let key = MasterKey::generate(&SystemRandom::new()).unwrap();
        assert_ne!(*key.derive("rows").unwrap(), *key.derive("audit").unwrap());
    }

    #[test]
    fn bound_associated_data_tells_field_boundaries_apart() {
        assert_ne!(
            bound_aad("blobs", &[b"ab", b"c"], 2),
            bound_aad("blobs", &[b"a", b"bc"], 2)
        );
    }

    #[test]
    fn ciphertext_does_not_open_under_other_associated_data() {
        let cipher = Cipher::new(&[9u8; 32]).unwrap();
        let sealed = cipher.seal(b"drafts/a", b"secret").unwrap();
        assert_eq!(&cipher.open(b"drafts/a", &sealed).unwrap()[..], b"secret");
        assert!(cipher.open(b"drafts/b", &sealed).is_none());
        assert!(cipher.open(b"drafts/a", &sealed[..10]).is_none());
    }
}
