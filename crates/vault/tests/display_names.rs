#![allow(clippy::unwrap_used)]
//! Display names for the unlock screen: chosen per slot, read while the vault is locked, kept
//! out of the vault file (sealed under a key beside it), gone with the slots.

mod common;
use common::*;

use fieldkit_vault::{MAX_DISPLAY_NAME_CHARS, Vault, VaultError, VaultOptions};

fn locked(dir: &std::path::Path) -> Vault {
    Vault::open(
        &vault_path(dir),
        VaultOptions::default(),
        ManualClock::at(1_790_000_000),
    )
    .unwrap()
}

fn display_names(dir: &std::path::Path) -> Vec<Option<String>> {
    locked(dir)
        .slots()
        .unwrap()
        .into_iter()
        .map(|s| s.display_name)
        .collect()
}

#[test]
fn each_slot_shows_its_own_display_name_while_locked() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = create(dir.path(), ManualClock::at(1_790_000_000));
    let first = vault.slot().clone();
    vault.set_display_name(&first, "  Олена К.  ").unwrap();
    let second = vault
        .add_admin("Бондар Іван Петрович", "друга-фраза-2026")
        .unwrap();
    drop(vault.lock());
    assert_eq!(display_names(dir.path()), [Some("Олена К.".into()), None]);

    // The second administrator names their own slot after unlocking with their passphrase.
    let mut vault = locked(dir.path())
        .unlock(&second, "друга-фраза-2026")
        .unwrap();
    vault.set_display_name(&second, "Іван Б.").unwrap();
    drop(vault.lock());
    assert_eq!(
        display_names(dir.path()),
        [Some("Олена К.".into()), Some("Іван Б.".into())]
    );
}

#[test]
fn a_display_name_is_one_short_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = create(dir.path(), ManualClock::at(1_790_000_000));
    let slot = vault.slot().clone();
    let too_long = "я".repeat(MAX_DISPLAY_NAME_CHARS + 1);
    for bad in ["", "   ", "Олена\nК.", too_long.as_str()] {
        assert!(
            matches!(
                vault.set_display_name(&slot, bad),
                Err(VaultError::BadDisplayName { .. })
            ),
            "{bad:?} is refused"
        );
    }
    vault
        .set_display_name(&slot, &"я".repeat(MAX_DISPLAY_NAME_CHARS))
        .unwrap();
}

#[test]
fn the_vault_file_alone_gives_no_display_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = create(dir.path(), ManualClock::at(1_790_000_000));
    let slot = vault.slot().clone();
    vault.set_display_name(&slot, "Олена К.").unwrap();
    drop(vault.lock());

    // A copy of the vault file (with its WAL) but not the key beside it: numbered slots only.
    let copy = tempfile::tempdir().unwrap();
    for (path, bytes) in all_files_bytes(dir.path()) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("vault.sqlite") && !name.ends_with("-display-key") {
            std::fs::write(copy.path().join(&name), bytes).unwrap();
        }
    }
    assert_eq!(display_names(copy.path()), [None]);

    // Another vault's key does not open this one's names either.
    let other = tempfile::tempdir().unwrap();
    let mut stranger = create(other.path(), ManualClock::at(1_790_000_000));
    let stranger_slot = stranger.slot().clone();
    stranger.set_display_name(&stranger_slot, "Хтось").unwrap();
    drop(stranger.lock());
    std::fs::copy(
        other.path().join("vault.sqlite-display-key"),
        copy.path().join("vault.sqlite-display-key"),
    )
    .unwrap();
    assert_eq!(display_names(copy.path()), [None]);
}

#[test]
fn destroying_the_vault_removes_its_display_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = create(dir.path(), ManualClock::at(1_790_000_000));
    let slot = vault.slot().clone();
    vault.set_display_name(&slot, "Олена К.").unwrap();
    drop(vault.lock());
    assert!(dir.path().join("vault.sqlite-display-key").exists());
    locked(dir.path()).destroy().unwrap();
    assert!(all_files_bytes(dir.path()).is_empty(), "nothing is left");
}
