//! Key slots: the VMK wrapped once per administrator under a key derived from their passphrase.
//!
//! PBKDF2 gives the key-encryption key (KEK); from it, HMAC derives a *verifier* (stored) and a
//! *wrapping key*. A wrong passphrase is told apart from a damaged slot by the verifier, and the
//! verifier gives an attacker nothing the GCM tag would not: both cost one PBKDF2 per guess.

use ring::rand::SystemRandom;
use rusqlite::{Connection, OptionalExtension, params};
use zeroize::Zeroizing;

use crate::crypto::{Cipher, MasterKey, derive_kek, keyed_hash, random_bytes, row_aad};
use crate::error::{Result, VaultError};
use crate::schema::RECORD_FORMAT;

/// An opaque, random identifier of an administrator's slot (no personal data).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SlotId(pub String);

impl std::fmt::Display for SlotId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

struct SlotSecrets {
    verifier: [u8; 32],
    wrapping: Cipher,
}

fn slot_secrets(passphrase: &str, salt: &[u8], iterations: u32) -> Result<SlotSecrets> {
    let kek = derive_kek(passphrase, salt, iterations);
    let verifier = keyed_hash(kek.as_ref(), &[b"fieldkit-vault/verifier"]);
    let wrapping_key = Zeroizing::new(keyed_hash(kek.as_ref(), &[b"fieldkit-vault/wrap"]));
    Ok(SlotSecrets {
        verifier,
        wrapping: Cipher::new(&wrapping_key)?,
    })
}

fn wrap_aad(slot: &SlotId) -> Vec<u8> {
    row_aad("key_slots", &format!("{}/vmk", slot.0), RECORD_FORMAT)
}

/// Write a new slot (or replace the slot's passphrase) wrapping `vmk`.
pub(crate) fn write_slot(
    conn: &Connection,
    rng: &SystemRandom,
    slot: &SlotId,
    vmk: &MasterKey,
    passphrase: &str,
    iterations: u32,
) -> Result<()> {
    let salt: [u8; 16] = random_bytes(rng)?;
    let secrets = slot_secrets(passphrase, &salt, iterations)?;
    let wrapped = secrets.wrapping.seal(&wrap_aad(slot), vmk.expose())?;
    conn.execute(
        "UPDATE key_slots SET salt = ?2, iterations = ?3, verifier = ?4, wrapped_vmk = ?5
         WHERE slot_id = ?1",
        params![
            slot.0,
            salt.as_slice(),
            iterations,
            secrets.verifier.as_slice(),
            wrapped
        ],
    )?;
    Ok(())
}

pub(crate) fn new_slot_id(rng: &SystemRandom) -> Result<SlotId> {
    let bytes: [u8; 16] = random_bytes(rng)?;
    Ok(SlotId(hex::encode(bytes)))
}

/// Salt, rounds, verifier and wrapped VMK of a slot, as stored.
type StoredSlot = (Vec<u8>, u32, Vec<u8>, Vec<u8>);

/// Try a passphrase on a slot: `Ok(None)` when it is wrong.
pub(crate) fn try_unwrap(
    conn: &Connection,
    slot: &SlotId,
    passphrase: &str,
) -> Result<Option<MasterKey>> {
    let row: Option<StoredSlot> = conn
        .query_row(
            "SELECT salt, iterations, verifier, wrapped_vmk FROM key_slots WHERE slot_id = ?1",
            [&slot.0],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((salt, iterations, verifier, wrapped)) = row else {
        return Err(VaultError::UnknownSlot(slot.0.clone()));
    };
    let secrets = slot_secrets(passphrase, &salt, iterations)?;
    if !crate::crypto::hashes_equal(&secrets.verifier, &verifier) {
        return Ok(None);
    }
    let integrity = || VaultError::Integrity {
        table: "key_slots",
        row: slot.0.clone(),
    };
    let vmk = secrets
        .wrapping
        .open(&wrap_aad(slot), &wrapped)
        .ok_or_else(integrity)?;
    MasterKey::from_bytes(&vmk).map(Some).ok_or_else(integrity)
}
