#![allow(clippy::unwrap_used)]
//! A flipped byte in any stored ciphertext, or a ciphertext moved to another row, gives an
//! integrity error naming the record: never a panic, never wrong data.

mod common;
use common::*;

use fieldkit_vault::{BlobId, Vault, VaultError, VaultOptions};
use rusqlite::Connection;

struct Planted {
    dir: tempfile::TempDir,
    blob: BlobId,
}

fn planted() -> Planted {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = create(dir.path(), ManualClock::at(100));
    vault
        .put_draft("case-a", "draft", b"record of case a")
        .unwrap();
    vault
        .put_draft("case-b", "draft", b"record of case b")
        .unwrap();
    let blob = vault.put_blob("case-a", "page", 0, &[7u8; 4096]).unwrap();
    vault.put_setting("printer", b"cups-pdf").unwrap();
    drop(vault.lock());
    Planted { dir, blob }
}

/// Edit the raw file behind the vault's back, as someone with the file would.
fn raw(p: &Planted) -> Connection {
    Connection::open(vault_path(p.dir.path())).unwrap()
}

fn flip_byte(p: &Planted, table: &str, column: &str, key_column: &str, key: &str) {
    let conn = raw(p);
    let mut bytes: Vec<u8> = conn
        .query_row(
            &format!("SELECT {column} FROM {table} WHERE {key_column} = ?1"),
            [key],
            |r| r.get(0),
        )
        .unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    conn.execute(
        &format!("UPDATE {table} SET {column} = ?1 WHERE {key_column} = ?2"),
        rusqlite::params![bytes, key],
    )
    .unwrap();
}

fn assert_integrity(err: VaultError, table: &str, row: &str) {
    match err {
        VaultError::Integrity { table: t, row: r } => {
            assert_eq!((t, r.as_str()), (table, row));
        }
        other => panic!("expected an integrity error on {table}/{row}, got {other}"),
    }
}

#[test]
fn flipped_draft_byte_names_the_draft() {
    let p = planted();
    flip_byte(&p, "drafts", "record_ct", "case_id", "case-a");
    let mut vault = reopen(p.dir.path(), ManualClock::at(200));
    assert_integrity(vault.get_draft("case-a").unwrap_err(), "drafts", "case-a");
    // The other case is untouched and still readable.
    assert_eq!(&vault.get_draft("case-b").unwrap()[..], b"record of case b");
}

#[test]
fn flipped_blob_byte_names_the_blob() {
    let p = planted();
    flip_byte(&p, "blobs", "content_ct", "blob_id", &p.blob.0);
    let mut vault = reopen(p.dir.path(), ManualClock::at(200));
    assert_integrity(vault.get_blob(&p.blob).unwrap_err(), "blobs", &p.blob.0);
}

#[test]
fn flipped_setting_byte_names_the_setting() {
    let p = planted();
    flip_byte(&p, "settings", "value_ct", "key", "printer");
    let mut vault = reopen(p.dir.path(), ManualClock::at(200));
    assert_integrity(
        vault.get_setting("printer").unwrap_err(),
        "settings",
        "printer",
    );
}

#[test]
fn flipped_key_slot_byte_names_the_slot_not_the_passphrase() {
    let p = planted();
    let vault = Vault::open(
        &vault_path(p.dir.path()),
        VaultOptions::default(),
        ManualClock::at(200),
    )
    .unwrap();
    let slot = vault.slots().unwrap()[0].slot_id.clone();
    flip_byte(&p, "key_slots", "wrapped_vmk", "slot_id", &slot.0);
    assert_integrity(
        vault.unlock(&slot, PASSPHRASE).unwrap_err(),
        "key_slots",
        &slot.0,
    );
}

#[test]
fn flipped_audit_event_byte_is_named_by_its_seq() {
    let p = planted();
    flip_byte(&p, "audit_events", "details_ct", "seq", "2");
    let vault = reopen(p.dir.path(), ManualClock::at(200));
    let err = vault.verify_audit_chain().unwrap_err();
    assert!(
        matches!(err, VaultError::AuditChainBroken { seq: 2, .. }),
        "{err}"
    );
}

#[test]
fn ciphertext_moved_to_another_row_is_refused() {
    let p = planted();
    let conn = raw(&p);
    conn.execute(
        "UPDATE drafts SET record_ct = (SELECT record_ct FROM drafts WHERE case_id = 'case-a') WHERE case_id = 'case-b'",
        [],
    )
    .unwrap();
    drop(conn);
    let mut vault = reopen(p.dir.path(), ManualClock::at(200));
    assert_integrity(vault.get_draft("case-b").unwrap_err(), "drafts", "case-b");
}

#[test]
fn ciphertext_moved_to_another_table_is_refused() {
    let p = planted();
    let conn = raw(&p);
    conn.execute(
        "UPDATE settings SET value_ct = (SELECT record_ct FROM drafts WHERE case_id = 'case-a') WHERE key = 'printer'",
        [],
    )
    .unwrap();
    drop(conn);
    let mut vault = reopen(p.dir.path(), ManualClock::at(200));
    assert_integrity(
        vault.get_setting("printer").unwrap_err(),
        "settings",
        "printer",
    );
}

/// Two cases with pages, as someone with the file (and no passphrase) finds them.
struct TwoCases {
    dir: tempfile::TempDir,
    first_page_a: BlobId,
    second_page_a: BlobId,
    page_b: BlobId,
}

fn two_cases() -> TwoCases {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = create(dir.path(), ManualClock::at(100));
    vault.put_draft("case-a", "draft", b"record a").unwrap();
    vault.put_draft("case-b", "draft", b"record b").unwrap();
    let first_page_a = vault
        .put_blob("case-a", "page", 0, b"passport page 1")
        .unwrap();
    let second_page_a = vault
        .put_blob("case-a", "page", 1, b"passport page 2")
        .unwrap();
    let page_b = vault.put_blob("case-b", "page", 0, b"deed page 1").unwrap();
    drop(vault.lock());
    TwoCases {
        dir,
        first_page_a,
        second_page_a,
        page_b,
    }
}

fn edit_raw(dir: &std::path::Path, sql: &str, params: impl rusqlite::Params) {
    let conn = Connection::open(vault_path(dir)).unwrap();
    assert_eq!(conn.execute(sql, params).unwrap(), 1, "{sql}");
}

fn seal_request<'a>(
    case_id: &'a str,
    server: &'a fieldkit_protocol::SealingPublicKey,
    device: &'a fieldkit_protocol::DeviceSigningKey,
) -> fieldkit_vault::SealCase<'a> {
    fieldkit_vault::SealCase {
        case_id,
        envelope_id: "env-1",
        case_number: "LV01/T07/2026/000001-7",
        recipient: server,
        device,
    }
}

#[test]
fn a_page_moved_to_another_case_in_the_file_is_refused_and_not_sealed() {
    let t = two_cases();
    edit_raw(
        t.dir.path(),
        "UPDATE blobs SET case_id = 'case-b', position = 1 WHERE blob_id = ?1",
        [&t.first_page_a.0],
    );
    let mut vault = reopen(t.dir.path(), ManualClock::at(200));
    // The moved page is listed under case-b (the listing is the file's), but never read there.
    assert!(
        vault
            .list_blobs("case-b")
            .unwrap()
            .iter()
            .any(|b| b.blob_id == t.first_page_a)
    );
    assert_integrity(
        vault.get_blob(&t.first_page_a).unwrap_err(),
        "blobs",
        &t.first_page_a.0,
    );

    // Sealing case-b would put another applicant's page in it: refused, nothing changes.
    let rng = ring::rand::SystemRandom::new();
    let server = fieldkit_protocol::SealingKeyPair::generate("seal-1", &rng).unwrap();
    let device = fieldkit_protocol::DeviceSigningKey::generate("T07", &rng).unwrap();
    let err = vault
        .seal_case(&seal_request("case-b", &server.public_key(), &device))
        .unwrap_err();
    assert_integrity(err, "blobs", &t.first_page_a.0);
    assert!(vault.outbox().unwrap().is_empty());
    assert_eq!(&vault.get_draft("case-b").unwrap()[..], b"record b");
    assert_eq!(&vault.get_blob(&t.page_b).unwrap()[..], b"deed page 1");
}

#[test]
fn pages_reordered_in_the_file_are_refused() {
    let t = two_cases();
    let conn = Connection::open(vault_path(t.dir.path())).unwrap();
    conn.execute_batch(&format!(
        "UPDATE blobs SET position = CASE blob_id WHEN '{a}' THEN 1 WHEN '{b}' THEN 0 END
         WHERE blob_id IN ('{a}', '{b}')",
        a = t.first_page_a.0,
        b = t.second_page_a.0
    ))
    .unwrap();
    drop(conn);
    let mut vault = reopen(t.dir.path(), ManualClock::at(200));
    for page in [&t.first_page_a, &t.second_page_a] {
        assert_integrity(vault.get_blob(page).unwrap_err(), "blobs", &page.0);
    }
}

#[test]
fn a_page_relabelled_as_a_signature_in_the_file_is_refused() {
    let t = two_cases();
    edit_raw(
        t.dir.path(),
        "UPDATE blobs SET kind = 'signature' WHERE blob_id = ?1",
        [&t.page_b.0],
    );
    let mut vault = reopen(t.dir.path(), ManualClock::at(200));
    assert_integrity(vault.get_blob(&t.page_b).unwrap_err(), "blobs", &t.page_b.0);
}

#[test]
fn a_page_s_ciphertext_swapped_into_another_case_s_row_is_refused() {
    let t = two_cases();
    edit_raw(
        t.dir.path(),
        "UPDATE blobs SET content_ct = (SELECT content_ct FROM blobs WHERE blob_id = ?1)
         WHERE blob_id = ?2",
        [&t.first_page_a.0, &t.page_b.0],
    );
    let mut vault = reopen(t.dir.path(), ManualClock::at(200));
    assert_integrity(vault.get_blob(&t.page_b).unwrap_err(), "blobs", &t.page_b.0);
    assert_eq!(
        &vault.get_blob(&t.first_page_a).unwrap()[..],
        b"passport page 1"
    );
}

#[test]
fn a_draft_s_state_edited_in_the_file_is_refused_when_listed_and_read() {
    let t = two_cases();
    edit_raw(
        t.dir.path(),
        "UPDATE drafts SET state = 'signed' WHERE case_id = 'case-a'",
        [],
    );
    let mut vault = reopen(t.dir.path(), ManualClock::at(200));
    assert_integrity(vault.list_drafts().unwrap_err(), "drafts", "case-a");
    assert_integrity(vault.get_draft("case-a").unwrap_err(), "drafts", "case-a");
    assert_eq!(&vault.get_draft("case-b").unwrap()[..], b"record b");
}
