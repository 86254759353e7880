#![allow(clippy::unwrap_used)]
//! Consultations (regulation 2.36) are kept encrypted across a restart, each bound to its own
//! row: a ciphertext moved to another consultation's row is an integrity error, not its data.

mod common;
use common::*;

use fieldkit_vault::VaultError;
use rusqlite::Connection;

#[test]
fn consultations_survive_a_restart_in_the_order_they_were_given() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_790_000_000);
    let mut vault = create(dir.path(), clock.clone());
    let first = vault
        .transaction(|tx| tx.put_consultation(b"first"))
        .unwrap();
    clock.advance(60);
    let second = vault
        .transaction(|tx| tx.put_consultation(b"second"))
        .unwrap();
    assert_ne!(first, second);
    drop(vault.lock());

    let mut vault = reopen(dir.path(), clock);
    let kept = vault.transaction(|tx| tx.consultations()).unwrap();
    let seen: Vec<(&str, i64, &[u8])> = kept
        .iter()
        .map(|c| (c.consultation_id.as_str(), c.recorded_at, &c.record[..]))
        .collect();
    assert_eq!(
        seen,
        vec![
            (first.as_str(), 1_790_000_000, &b"first"[..]),
            (second.as_str(), 1_790_000_060, &b"second"[..]),
        ]
    );
    let audit: Vec<String> = vault
        .verify_audit_chain()
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        audit
            .iter()
            .filter(|k| *k == "consultation.recorded")
            .count(),
        2
    );

    vault
        .transaction(|tx| tx.delete_consultation(&first))
        .unwrap();
    assert_eq!(vault.transaction(|tx| tx.consultations()).unwrap().len(), 1);
    assert!(matches!(
        vault.transaction(|tx| tx.delete_consultation(&first)),
        Err(VaultError::NotFound { .. })
    ));
}

#[test]
fn a_consultation_moved_to_another_row_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_790_000_000);
    let mut vault = create(dir.path(), clock.clone());
    let a = vault.transaction(|tx| tx.put_consultation(b"a")).unwrap();
    let b = vault.transaction(|tx| tx.put_consultation(b"b")).unwrap();
    drop(vault.lock());

    let conn = Connection::open(vault_path(dir.path())).unwrap();
    conn.execute(
        "UPDATE consultations SET record_ct = (SELECT record_ct FROM consultations WHERE consultation_id = ?1) WHERE consultation_id = ?2",
        [&a, &b],
    )
    .unwrap();
    drop(conn);

    let mut vault = reopen(dir.path(), clock);
    match vault.transaction(|tx| tx.consultations()) {
        Err(VaultError::Integrity { table, row }) => {
            assert_eq!((table, row.as_str()), ("consultations", b.as_str()));
        }
        other => panic!("expected an integrity error, got {other:?}"),
    }
}
