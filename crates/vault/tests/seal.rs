#![allow(clippy::unwrap_used)]
//! Sealing a signed case: the envelope goes to the outbox, the draft's plaintext is destroyed,
//! the server opens what the tablet no longer can.

mod common;
use common::*;

use fieldkit_protocol::{DeviceSigningKey, PartKind, SealingKeyPair, open};
use fieldkit_vault::{SealCase, VaultError};
use ring::rand::SystemRandom;

const NAME: &str = "Бойко Ганна Степанівна";

#[test]
fn sealed_case_leaves_only_the_envelope_and_the_server_opens_it() {
    let rng = SystemRandom::new();
    let server = SealingKeyPair::generate("seal-1", &rng).unwrap();
    let device = DeviceSigningKey::generate("T07", &rng).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut vault = create(dir.path(), ManualClock::at(1_795_000_000));
    let record = format!(r#"{{"applicant":"{NAME}"}}"#);
    let page: Vec<u8> = (0..50_000u32).map(|i| (i % 241) as u8).collect();
    vault
        .put_draft("case-1", "registered", record.as_bytes())
        .unwrap();
    vault.put_blob("case-1", "page", 0, &page).unwrap();
    vault
        .put_blob("case-1", "signature", 1, b"strokes")
        .unwrap();

    let request = SealCase {
        case_id: "case-1",
        envelope_id: "env-1",
        case_number: "LV01/T07/2026/000001-7",
        recipient: &server.public_key(),
        device: &device,
    };
    let envelope = vault.seal_case(&request).unwrap();

    // The draft and its blobs are gone; the envelope waits in the outbox.
    assert!(matches!(
        vault.get_draft("case-1"),
        Err(VaultError::NotFound { .. })
    ));
    assert!(vault.list_blobs("case-1").unwrap().is_empty());
    let outbox = vault.outbox().unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].case_number, "LV01/T07/2026/000001-7");
    assert_eq!(vault.sealed_envelope("env-1").unwrap(), envelope);
    assert!(
        vault
            .verify_audit_chain()
            .unwrap()
            .iter()
            .any(|e| e.kind == "case.sealed")
    );

    // The server opens it: record first, then the pages and signature in order.
    let parts = open(&envelope, &server, &device.public_key()).unwrap();
    assert_eq!(
        parts.iter().map(|p| p.kind).collect::<Vec<_>>(),
        [PartKind::CaseRecord, PartKind::Page, PartKind::Signature]
    );
    assert_eq!(parts[0].bytes, record.as_bytes());
    assert_eq!(parts[1].bytes, page);

    // Nothing of the case is in clear in any file of the vault.
    drop(vault.lock());
    for (path, bytes) in all_files_bytes(dir.path()) {
        assert!(
            !contains(&bytes, NAME.as_bytes()),
            "name in {}",
            path.display()
        );
        assert!(
            !contains(&bytes, &page[1000..1032]),
            "page in {}",
            path.display()
        );
    }
}

#[test]
fn sealing_a_missing_draft_changes_nothing() {
    let rng = SystemRandom::new();
    let server = SealingKeyPair::generate("seal-1", &rng).unwrap();
    let device = DeviceSigningKey::generate("T07", &rng).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut vault = create(dir.path(), ManualClock::at(0));
    let head = vault.audit_head().unwrap();
    let request = SealCase {
        case_id: "nope",
        envelope_id: "env-x",
        case_number: "LV01/T07/2026/000002-5",
        recipient: &server.public_key(),
        device: &device,
    };
    assert!(matches!(
        vault.seal_case(&request),
        Err(VaultError::NotFound { .. })
    ));
    assert!(vault.outbox().unwrap().is_empty());
    assert_eq!(vault.audit_head().unwrap(), head);
}
