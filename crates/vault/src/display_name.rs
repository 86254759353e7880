//! Display names (ім'я на екрані входу): what the unlock screen shows for each administrator's
//! slot before anyone has unlocked, instead of «Адміністратор 1».
//!
//! The screen shows them to whoever holds the locked tablet, so they cannot be a secret from
//! the tablet itself; the administrator chooses a short name for that screen, kept apart from
//! the full name (which stays under the master key). The vault's own rule still holds: its file
//! holds no name in clear. Each display name is sealed (AES-256-GCM, the slot bound as
//! associated data) under a *display key* kept in a file of its own beside the vault, readable
//! by the owner only, so a copy of the vault file alone (a backup, a support dump) shows no
//! name. Shredding the slots takes the names with them; destroying the vault removes the key.

use std::io::Write;
use std::path::{Path, PathBuf};

use ring::rand::SystemRandom;
use zeroize::Zeroizing;

use crate::crypto::{Cipher, random_bytes, row_aad};
use crate::error::{Result, VaultError};
use crate::keyslot::SlotId;
use crate::schema::RECORD_FORMAT;

/// The longest display name: it has to fit on a button of the unlock screen.
pub const MAX_DISPLAY_NAME_CHARS: usize = 40;

/// Appended to the vault file's name for the display key's file.
pub(crate) const KEY_SUFFIX: &str = "-display-key";

fn key_path(vault_path: &Path) -> PathBuf {
    let mut name = vault_path.as_os_str().to_owned();
    name.push(KEY_SUFFIX);
    PathBuf::from(name)
}

fn key_error(path: &Path) -> impl FnOnce(std::io::Error) -> VaultError + '_ {
    move |source| VaultError::DisplayKey {
        path: path.display().to_string(),
        source,
    }
}

fn aad(slot: &SlotId) -> Vec<u8> {
    row_aad("key_slots", &format!("{}/display", slot.0), RECORD_FORMAT)
}

/// A display name as it will be stored: trimmed, one line, not empty, not too long.
pub(crate) fn checked(name: &str) -> Result<&str> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_DISPLAY_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(VaultError::BadDisplayName {
            max: MAX_DISPLAY_NAME_CHARS,
        });
    }
    Ok(name)
}

/// The display key of the vault at `vault_path`; `None` when it has none (made before display
/// names existed, or the key file was lost: the unlock screen then numbers the slots).
pub(crate) fn load_key(vault_path: &Path) -> Result<Option<Cipher>> {
    let path = key_path(vault_path);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => Zeroizing::new(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(key_error(&path)(e)),
    };
    let key: Zeroizing<[u8; 32]> = Zeroizing::new(
        bytes
            .as_slice()
            .try_into()
            .map_err(|_| VaultError::Corrupt(format!("{}: not a key", path.display())))?,
    );
    Cipher::new(&key).map(Some)
}

/// The display key, made on first use: written owner-only to a temporary file that is synced
/// and renamed, so a power cut leaves no half key.
pub(crate) fn load_or_create_key(vault_path: &Path, rng: &SystemRandom) -> Result<Cipher> {
    if let Some(cipher) = load_key(vault_path)? {
        return Ok(cipher);
    }
    let path = key_path(vault_path);
    let key: Zeroizing<[u8; 32]> = Zeroizing::new(random_bytes(rng)?);
    let mut temporary = path.clone().into_os_string();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary).map_err(key_error(&temporary))?;
    file.write_all(key.as_slice())
        .and_then(|()| file.sync_all())
        .map_err(key_error(&temporary))?;
    std::fs::rename(&temporary, &path).map_err(key_error(&path))?;
    if let Some(folder) = path.parent()
        && let Ok(dir) = std::fs::File::open(folder)
    {
        dir.sync_all().map_err(key_error(folder))?;
    }
    Cipher::new(&key)
}

pub(crate) fn seal(cipher: &Cipher, slot: &SlotId, name: &str) -> Result<Vec<u8>> {
    cipher.seal(&aad(slot), name.as_bytes())
}

/// `None` when the name does not open under this key (another vault's key file, tampering):
/// the screen numbers that slot rather than refusing to show the unlock screen.
pub(crate) fn open(cipher: &Cipher, slot: &SlotId, sealed: &[u8]) -> Option<String> {
    let plain = cipher.open(&aad(slot), sealed)?;
    String::from_utf8(plain.to_vec()).ok()
}

/// Remove the display key's file of the vault at `vault_path`, if there is one.
pub(crate) fn remove_key(vault_path: &Path) -> Result<()> {
    let path = key_path(vault_path);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(VaultError::Remove {
            path: path.display().to_string(),
            source: e,
        }),
        _ => Ok(()),
    }
}
