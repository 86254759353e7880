//! Personal data the server keeps itself (an applicant's contact for notices, a home-visit
//! request), encrypted at rest with AES-256-GCM under a key in the data directory
//! (`keys/personal-data.key`, mode 0600, made on first use). A database copied without the
//! keys folder shows none of it. Each value is bound to where it belongs (its associated
//! data), so a ciphertext moved to another row does not open.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::ServerError;

const KEY_LEN: usize = 32;
/// A format byte in front of every value, so a later key or cipher can sit beside this one.
const FORMAT: u8 = 1;

/// The key for personal data at rest. Only raw bytes are kept (zeroized on drop); ring's key
/// schedule is built per use, as it cannot be wiped.
pub struct PersonalDataKey {
    key: Zeroizing<[u8; KEY_LEN]>,
}

impl std::fmt::Debug for PersonalDataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PersonalDataKey(<redacted>)")
    }
}

fn crypto_error(what: &str) -> ServerError {
    ServerError::Storage(format!("personal data: {what}"))
}

impl PersonalDataKey {
    /// The data directory's key, made (durably, 0600) if the directory has none yet.
    pub fn load_or_create(keys_dir: &Path) -> Result<Self, ServerError> {
        let path = keys_dir.join("personal-data.key");
        match std::fs::read(&path) {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                let key: [u8; KEY_LEN] = bytes.as_slice().try_into().map_err(|_| {
                    ServerError::Storage(format!("{}: not a {KEY_LEN}-byte key", path.display()))
                })?;
                Ok(Self {
                    key: Zeroizing::new(key),
                })
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let mut key = Zeroizing::new([0u8; KEY_LEN]);
                SystemRandom::new()
                    .fill(key.as_mut())
                    .map_err(|_| crypto_error("no randomness"))?;
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)?;
                file.write_all(key.as_ref())?;
                file.sync_all()?;
                Ok(Self { key })
            }
            Err(error) => Err(error.into()),
        }
    }

    /// A key for tests and in-memory servers.
    pub fn generate() -> Result<Self, ServerError> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        SystemRandom::new()
            .fill(key.as_mut())
            .map_err(|_| crypto_error("no randomness"))?;
        Ok(Self { key })
    }

    fn cipher(&self) -> Result<LessSafeKey, ServerError> {
        let unbound = UnboundKey::new(&AES_256_GCM, self.key.as_ref())
            .map_err(|_| crypto_error("bad key"))?;
        Ok(LessSafeKey::new(unbound))
    }

    /// Encrypt `plaintext`, bound to `context` (e.g. "subscription:<id>").
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<Vec<u8>, ServerError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| crypto_error("no randomness"))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + 16);
        out.push(FORMAT);
        out.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        self.cipher()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut body,
            )
            .map_err(|_| crypto_error("sealing failed"))?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// A keyed hash (HMAC-SHA256, hex) of `value` for `purpose`, under a key derived from this
    /// one: a store finds equal values (a contact given twice) without keeping them in clear,
    /// and nobody without the key can test guesses against it (a phone number has few).
    pub fn keyed_hash(&self, purpose: &str, value: &[u8]) -> String {
        let root = hmac::Key::new(hmac::HMAC_SHA256, self.key.as_ref());
        let derived = Zeroizing::new(
            hmac::sign(&root, b"fieldkit keyed hash v1")
                .as_ref()
                .to_vec(),
        );
        let key = hmac::Key::new(hmac::HMAC_SHA256, &derived);
        let mut context = hmac::Context::with_key(&key);
        // Length-prefixed, so no purpose and value run into another pair.
        context.update(&(purpose.len() as u64).to_be_bytes());
        context.update(purpose.as_bytes());
        context.update(value);
        hex::encode(context.sign())
    }

    /// Decrypt what [`PersonalDataKey::seal`] made for the same `context`; anything altered,
    /// moved or sealed under another key is refused.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, ServerError> {
        let (format, rest) = sealed
            .split_first()
            .ok_or_else(|| crypto_error("empty value"))?;
        if *format != FORMAT || rest.len() < NONCE_LEN {
            return Err(crypto_error("unknown format"));
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce =
            Nonce::try_assume_unique_for_key(nonce).map_err(|_| crypto_error("bad nonce"))?;
        let mut body = Zeroizing::new(body.to_vec());
        let plain_len = self
            .cipher()?
            .open_in_place(nonce, Aad::from(context.as_bytes()), body.as_mut_slice())
            .map_err(|_| crypto_error("a value does not open (altered, moved or another key)"))?
            .len();
        body.truncate(plain_len);
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_what_it_sealed_for_the_same_place_only() {
        let key = PersonalDataKey::generate().unwrap();
        let sealed = key.seal("subscription:1", b"+380501234567").unwrap();
        assert!(!sealed.windows(13).any(|w| w == b"+380501234567"));
        assert_eq!(
            key.open("subscription:1", &sealed).unwrap().as_slice(),
            b"+380501234567"
        );
        assert!(key.open("subscription:2", &sealed).is_err());
        let mut altered = sealed.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert!(key.open("subscription:1", &altered).is_err());
        let other = PersonalDataKey::generate().unwrap();
        assert!(other.open("subscription:1", &sealed).is_err());
    }

    #[test]
    fn keyed_hashes_match_for_equal_values_only_and_need_the_key() {
        let key = PersonalDataKey::generate().unwrap();
        let a = key.keyed_hash("contact", b"olena@example.ua");
        assert_eq!(a, key.keyed_hash("contact", b"olena@example.ua"));
        assert_ne!(a, key.keyed_hash("contact", b"petro@example.ua"));
        assert_ne!(a, key.keyed_hash("contac", b"tolena@example.ua"));
        let other = PersonalDataKey::generate().unwrap();
        assert_ne!(a, other.keyed_hash("contact", b"olena@example.ua"));
        assert!(!a.contains("olena"));
    }

    #[test]
    fn the_key_file_is_made_once_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let first = PersonalDataKey::load_or_create(dir.path()).unwrap();
        let sealed = first.seal("x", b"secret").unwrap();
        let again = PersonalDataKey::load_or_create(dir.path()).unwrap();
        assert_eq!(again.open("x", &sealed).unwrap().as_slice(), b"secret");
        let mode = std::fs::metadata(dir.path().join("personal-data.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
