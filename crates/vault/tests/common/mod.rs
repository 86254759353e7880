//! Helpers shared by the vault's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use fieldkit_vault::{Clock, UnlockedVault, Vault, VaultOptions};

pub const PASSPHRASE: &str = "сонях-кавун-2026";
pub const ADMIN: &str = "Коваленко Олена Петрівна";

/// A clock the test moves by hand, so back-off needs no sleeping.
#[derive(Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn at(seconds: i64) -> Arc<Self> {
        Arc::new(Self(AtomicI64::new(seconds)))
    }
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

pub fn vault_path(dir: &Path) -> PathBuf {
    dir.join("vault.sqlite")
}

pub fn create(dir: &Path, clock: Arc<ManualClock>) -> UnlockedVault {
    Vault::create(
        &vault_path(dir),
        ADMIN,
        PASSPHRASE,
        VaultOptions::default(),
        clock,
    )
    .unwrap()
}

pub fn reopen(dir: &Path, clock: Arc<ManualClock>) -> UnlockedVault {
    let vault = Vault::open(&vault_path(dir), VaultOptions::default(), clock).unwrap();
    let slot = vault.slots().unwrap()[0].slot_id.clone();
    vault.unlock(&slot, PASSPHRASE).unwrap()
}

/// Every file the vault wrote: the database, its WAL and shared-memory index, anything else.
pub fn all_files_bytes(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect()
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
