#![allow(clippy::unwrap_used)]
//! A lost tablet's remote wipe works while the vault is locked: the key slots are deleted and
//! overwritten in the file and the WAL, so not even the right passphrase opens it, and then the
//! files go.

mod common;
use common::*;

use fieldkit_vault::{Vault, VaultError, VaultOptions};

#[test]
fn a_locked_vault_is_shredded_so_no_passphrase_opens_it_then_removed() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_700_000_000);
    let mut vault = create(dir.path(), clock.clone());
    vault
        .put_draft("case-1", "draft", b"{\"applicant\":\"planted\"}")
        .unwrap();
    let second = vault
        .add_admin("Друга Адміністраторка", "інша-фраза-2026")
        .unwrap();
    drop(vault.lock());

    // The wrapped master keys as they sit in the file, to look for them afterwards.
    let wrapped: Vec<Vec<u8>> = {
        let conn = rusqlite::Connection::open(vault_path(dir.path())).unwrap();
        let mut statement = conn.prepare("SELECT wrapped_vmk FROM key_slots").unwrap();
        statement
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    assert_eq!(wrapped.len(), 2);

    let locked = Vault::open(
        &vault_path(dir.path()),
        VaultOptions::default(),
        clock.clone(),
    )
    .unwrap();
    let first = locked.slots().unwrap()[0].slot_id.clone();
    locked.shred_keys().unwrap();
    assert!(locked.slots().unwrap().is_empty());
    for slot in [&first, &second] {
        let refused = locked.unlock(slot, PASSPHRASE);
        assert!(
            matches!(refused, Err(VaultError::UnknownSlot(_))),
            "{refused:?}"
        );
    }
    for (path, bytes) in all_files_bytes(dir.path()) {
        for key in &wrapped {
            assert!(!contains(&bytes, key), "a wrapped key is left in {path:?}");
        }
    }

    locked.destroy().unwrap();
    assert!(all_files_bytes(dir.path()).is_empty());
    assert!(matches!(
        Vault::open(&vault_path(dir.path()), VaultOptions::default(), clock),
        Err(VaultError::NoVault(_))
    ));
}
