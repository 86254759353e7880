#![allow(clippy::unwrap_used)]
//! Wrong passphrases, back-off, and administrators' slots.

mod common;
use common::*;

use fieldkit_vault::{BackoffPolicy, Vault, VaultError, VaultOptions};

#[test]
fn wrong_passphrase_is_refused_and_back_off_grows_then_right_one_works() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000_000);
    let mut vault = create(dir.path(), clock.clone());
    vault.put_draft("case-1", "draft", b"kept").unwrap();
    let locked = vault.lock();
    let slot = locked.slots().unwrap()[0].slot_id.clone();

    // Three free tries, then 2 s, 4 s, 8 s.
    for expected in 1..=3 {
        let err = locked.unlock(&slot, "not-the-passphrase").unwrap_err();
        assert!(
            matches!(err, VaultError::WrongPassphrase { failures } if failures == expected),
            "{err}"
        );
    }
    let mut waits = Vec::new();
    for _ in 0..3 {
        match locked.unlock(&slot, PASSPHRASE).unwrap_err() {
            VaultError::MustWait { seconds } => waits.push(seconds),
            other => panic!("expected a wait, got {other}"),
        }
        clock.advance(waits[waits.len() - 1] as i64);
        locked.unlock(&slot, "still-wrong-passphrase").unwrap_err();
    }
    assert_eq!(waits, vec![2, 4, 8]);

    // The back-off survives closing and reopening the vault.
    drop(locked);
    let reopened = Vault::open(
        &vault_path(dir.path()),
        VaultOptions::default(),
        clock.clone(),
    )
    .unwrap();
    let err = reopened.unlock(&slot, PASSPHRASE).unwrap_err();
    assert!(matches!(err, VaultError::MustWait { seconds: 16 }), "{err}");

    // After the wait the right passphrase works, the data is intact, and the count resets.
    clock.advance(16);
    let mut vault = reopened.unlock(&slot, PASSPHRASE).unwrap();
    assert_eq!(&vault.get_draft("case-1").unwrap()[..], b"kept");
    let locked = vault.lock();
    let err = locked.unlock(&slot, "wrong-again-passphrase").unwrap_err();
    assert!(
        matches!(err, VaultError::WrongPassphrase { failures: 1 }),
        "{err}"
    );
}

#[test]
fn wipe_policy_removes_drafts_after_too_many_failures() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(0);
    let options = VaultOptions {
        backoff: BackoffPolicy {
            wipe_drafts_after: Some(2),
            ..BackoffPolicy::default()
        },
        ..VaultOptions::default()
    };
    let mut vault = Vault::create(
        &vault_path(dir.path()),
        ADMIN,
        PASSPHRASE,
        options.clone(),
        clock.clone(),
    )
    .unwrap();
    vault.put_draft("case-1", "draft", b"draft").unwrap();
    vault.put_blob("case-1", "page", 0, b"page").unwrap();
    let locked = vault.lock();
    let slot = locked.slots().unwrap()[0].slot_id.clone();
    locked.unlock(&slot, "wrong-passphrase-1").unwrap_err();
    assert!(matches!(
        locked.unlock(&slot, "wrong-passphrase-2"),
        Err(VaultError::DraftsWiped)
    ));
    let mut vault = locked.unlock(&slot, PASSPHRASE).unwrap();
    assert!(vault.list_drafts().unwrap().is_empty());
    assert!(vault.list_blobs("case-1").unwrap().is_empty());
}

#[test]
fn administrators_are_added_changed_and_removed_but_never_the_last() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(0);
    let mut vault = create(dir.path(), clock.clone());
    let first = vault.slot().clone();
    let second = vault.add_admin("Бондар Ігор", "друга-фраза-2026").unwrap();
    let names: Vec<String> = vault
        .admins()
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, vec![ADMIN.to_string(), "Бондар Ігор".to_string()]);
    assert!(!format!("{:?}", vault.admins().unwrap()).contains("Бондар"));

    vault
        .change_passphrase(&second, "нова-фраза-ігоря")
        .unwrap();
    let locked = vault.lock();
    assert!(matches!(
        locked.unlock(&second, "друга-фраза-2026"),
        Err(VaultError::WrongPassphrase { .. })
    ));
    let mut vault = locked.unlock(&second, "нова-фраза-ігоря").unwrap();

    vault.remove_admin(&first).unwrap();
    assert!(matches!(
        vault.remove_admin(&second),
        Err(VaultError::LastAdministrator)
    ));
    let locked = vault.lock();
    assert!(matches!(
        locked.unlock(&first, PASSPHRASE),
        Err(VaultError::UnknownSlot(_))
    ));
    assert_eq!(locked.slots().unwrap().len(), 1);
}

#[test]
fn weak_settings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(0);
    let weak = VaultOptions {
        kdf_iterations: 10_000,
        ..VaultOptions::default()
    };
    let err = Vault::create(
        &vault_path(dir.path()),
        ADMIN,
        PASSPHRASE,
        weak,
        clock.clone(),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        VaultError::WeakKdf {
            requested: 10_000,
            minimum: 600_000
        }
    ));
    let err = Vault::create(
        &vault_path(dir.path()),
        ADMIN,
        "short",
        VaultOptions::default(),
        clock,
    )
    .unwrap_err();
    assert!(matches!(err, VaultError::PassphraseTooShort(8)));
}

#[test]
fn unlocked_vault_debug_shows_no_key_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let vault = create(dir.path(), ManualClock::at(0));
    let debug = format!("{vault:?}");
    assert!(debug.contains("<redacted>"), "{debug}");
    assert!(debug.len() < 300, "{debug}");
}
