#![allow(clippy::unwrap_used)]
//! The audit chain: removing, editing, reordering or cutting off events is detected and the
//! event named.

mod common;
use common::*;

use fieldkit_vault::VaultError;
use rusqlite::Connection;

fn vault_with_events() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = create(dir.path(), ManualClock::at(10));
    for i in 0..4 {
        vault
            .put_draft(&format!("case-{i}"), "draft", b"record")
            .unwrap();
    }
    let events = vault.verify_audit_chain().unwrap();
    // created, then four saves.
    assert_eq!(events.len(), 5);
    assert_eq!(vault.audit_head().unwrap().seq, 5);
    drop(vault.lock());
    dir
}

fn edit(dir: &tempfile::TempDir, sql: &str) {
    Connection::open(vault_path(dir.path()))
        .unwrap()
        .execute_batch(sql)
        .unwrap();
}

fn broken_at(dir: &tempfile::TempDir) -> u64 {
    let vault = reopen(dir.path(), ManualClock::at(20));
    match vault.verify_audit_chain().unwrap_err() {
        VaultError::AuditChainBroken { seq, .. } => seq,
        other => panic!("expected a broken chain, got {other}"),
    }
}

#[test]
fn intact_chain_verifies_and_grows_with_each_change() {
    let dir = vault_with_events();
    let vault = reopen(dir.path(), ManualClock::at(20));
    let events = vault.verify_audit_chain().unwrap();
    // Reopening and unlocking is itself an event.
    assert_eq!(events.last().unwrap().kind, "vault.unlocked");
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=6).collect::<Vec<_>>()
    );
}

#[test]
fn removed_event_is_detected() {
    let dir = vault_with_events();
    edit(&dir, "DELETE FROM audit_events WHERE seq = 3");
    assert_eq!(broken_at(&dir), 3);
}

#[test]
fn edited_event_is_detected() {
    let dir = vault_with_events();
    edit(
        &dir,
        "UPDATE audit_events SET kind = 'draft.deleted' WHERE seq = 4",
    );
    assert_eq!(broken_at(&dir), 4);
}

#[test]
fn edited_time_is_detected() {
    let dir = vault_with_events();
    edit(&dir, "UPDATE audit_events SET at = at - 3600 WHERE seq = 2");
    assert_eq!(broken_at(&dir), 2);
}

#[test]
fn reordered_events_are_detected() {
    let dir = vault_with_events();
    edit(
        &dir,
        "UPDATE audit_events SET seq = 100 WHERE seq = 2;
         UPDATE audit_events SET seq = 2 WHERE seq = 3;
         UPDATE audit_events SET seq = 3 WHERE seq = 100;",
    );
    assert_eq!(broken_at(&dir), 2);
}

#[test]
fn cut_off_tail_is_detected() {
    let dir = vault_with_events();
    edit(&dir, "DELETE FROM audit_events WHERE seq >= 4");
    // Reopening appends "vault.unlocked" after the cut, so the break is where the tail went.
    assert_eq!(broken_at(&dir), 4);
}
