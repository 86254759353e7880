#![allow(clippy::unwrap_used)]
//! A full vault (or disk) is a clear error, the failed write leaves nothing behind, and every
//! earlier record is intact; once space is freed, writing works again.

mod common;
use common::*;

use fieldkit_vault::{Vault, VaultError, VaultOptions};

#[test]
fn full_vault_refuses_the_write_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let options = VaultOptions {
        max_size_bytes: Some(2 * 1024 * 1024),
        ..VaultOptions::default()
    };
    let clock = ManualClock::at(0);
    let mut vault =
        Vault::create(&vault_path(dir.path()), ADMIN, PASSPHRASE, options, clock).unwrap();
    vault.put_draft("case-1", "draft", b"first case").unwrap();
    let page = vec![0x5Au8; 300 * 1024];
    let mut stored = Vec::new();
    let error = loop {
        match vault.put_blob("case-1", "page", stored.len() as i64, &page) {
            Ok(id) => stored.push(id),
            Err(error) => break error,
        }
        assert!(stored.len() < 100, "the size limit was never reached");
    };
    assert!(matches!(error, VaultError::DiskFull), "{error}");
    assert!(error.to_string().contains("nothing was saved"));
    assert!(!stored.is_empty());

    // Everything written before is intact; the failed page left no row and no audit event.
    assert_eq!(&vault.get_draft("case-1").unwrap()[..], b"first case");
    assert_eq!(vault.list_blobs("case-1").unwrap().len(), stored.len());
    for id in &stored {
        assert_eq!(&vault.get_blob(id).unwrap()[..], &page[..]);
    }
    vault.verify_audit_chain().unwrap();

    // Freeing space lets the administrator carry on.
    vault.transaction(|tx| tx.delete_blob(&stored[0])).unwrap();
    vault
        .put_blob("case-1", "page", 99, &page[..100 * 1024])
        .unwrap();
}
