#![allow(clippy::unwrap_used)]
//! The server core on a real SQLite file and real blob files: tus rules with their status
//! codes, durability across reopening, envelope commits with signed receipts, and the papers a
//! sealed case carries (the application signed with the inventory) checked when it is opened.

use base64::Engine;
use fieldkit_capture::signature::{Point, Stroke, Strokes, sign, signed_set_sha256};
use fieldkit_domain::case::{
    Address, Applicant, Case, Contact, IdentityDocument, IdentityDocumentKind, NaturalPerson,
    Notification, PersonName, ResultDelivery, SignatureRef, SignerRole, VisitPlace, VisitPlaceKind,
};
use fieldkit_domain::catalog::Catalog;
use fieldkit_domain::common::ServiceCode;
use fieldkit_protocol::{
    DeviceSigningKey, PartKind, PlainPart, SealRequest, SealedEnvelope, SealingKeyPair, seal,
};
use fieldkit_receipt::{
    ApplicationInput, InventoryInput, SignedBy, application, inventory, render_pdf,
};
use fieldkit_sync_server::ServerError;
use fieldkit_sync_server::commit::{CommitRequest, ServerSigningKey, commit};
use fieldkit_sync_server::opened::{OpenedCase, open_stored};
use fieldkit_sync_server::store::{
    BlobStore, Device, DeviceState, FileBlobStore, MetadataStore, SqliteMetadata,
};
use fieldkit_sync_server::tus::{TusLimits, Uploads};
use ring::digest::{SHA1_FOR_LEGACY_USE_ONLY, SHA256, digest};
use ring::rand::SystemRandom;

struct Server {
    dir: tempfile::TempDir,
    meta: SqliteMetadata,
    blobs: FileBlobStore,
}

fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let meta = SqliteMetadata::open(&dir.path().join("meta.sqlite")).unwrap();
    let blobs = FileBlobStore::open(&dir.path().join("blobs")).unwrap();
    Server { dir, meta, blobs }
}

fn uploads(s: &Server) -> Uploads<'_> {
    Uploads {
        meta: &s.meta,
        blobs: &s.blobs,
        limits: TusLimits {
            max_size: 1024 * 1024,
            expiry_seconds: 3600,
            ..TusLimits::default()
        },
    }
}

fn enroll(s: &Server, device: &DeviceSigningKey) {
    let public = device.public_key();
    s.meta
        .add_device(
            &Device {
                device_id: public.device_id,
                public_key: public.bytes,
                state: DeviceState::Active,
            },
            0,
        )
        .unwrap();
}

fn checksum(algorithm: &str, bytes: &[u8]) -> String {
    let hash = match algorithm {
        "sha1" => digest(&SHA1_FOR_LEGACY_USE_ONLY, bytes),
        _ => digest(&SHA256, bytes),
    };
    format!(
        "{algorithm} {}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
}

fn status(result: Result<impl Sized, ServerError>) -> u16 {
    result.err().map(|e| e.status()).unwrap_or(200)
}

#[test]
fn upload_follows_the_tus_rules_and_becomes_a_blob() {
    let s = server();
    let device = DeviceSigningKey::generate("T07", &SystemRandom::new()).unwrap();
    enroll(&s, &device);
    let u = uploads(&s);
    let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(status(u.create("T07", 2 * 1024 * 1024, 0)), 413);
    let upload = u.create("T07", data.len() as u64, 0).unwrap();
    let id = upload.upload_id.as_str();

    let first = &data[..4000];
    assert_eq!(
        u.append(id, "T07", 0, first, Some(&checksum("sha1", first)), 1)
            .unwrap()
            .offset,
        4000
    );
    // A chunk at the wrong offset: 409, nothing changes.
    assert_eq!(
        status(u.append(id, "T07", 3000, &data[3000..5000], None, 2)),
        409
    );
    // A chunk whose checksum does not match: 460, discarded, offset unchanged.
    let bad = checksum("sha256", b"something else");
    assert_eq!(
        status(u.append(id, "T07", 4000, &data[4000..6000], Some(&bad), 2)),
        460
    );
    assert_eq!(u.status(id, "T07", 2).unwrap().offset, 4000);
    assert_eq!(
        status(u.append(id, "T07", 4000, &data[4000..6000], Some("md5 AAAA"), 2)),
        400
    );
    // Past the declared length: 413.
    let too_long = vec![0u8; 7000];
    assert_eq!(status(u.append(id, "T07", 4000, &too_long, None, 2)), 413);
    // Another device cannot see it.
    assert_eq!(status(u.status(id, "T99", 2)), 404);

    let rest = &data[4000..];
    let done = u
        .append(id, "T07", 4000, rest, Some(&checksum("sha256", rest)), 3)
        .unwrap();
    let expected = hex::encode(digest(&SHA256, &data));
    assert_eq!(done.blob.as_deref(), Some(expected.as_str()));
    assert_eq!(s.blobs.get(&expected).unwrap(), data);
}

#[test]
fn terminated_and_expired_uploads_are_gone() {
    let s = server();
    let device = DeviceSigningKey::generate("T07", &SystemRandom::new()).unwrap();
    enroll(&s, &device);
    let u = uploads(&s);
    let terminated = u.create("T07", 100, 0).unwrap();
    u.append(&terminated.upload_id, "T07", 0, &[1; 50], None, 1)
        .unwrap();
    u.terminate(&terminated.upload_id, "T07", 2).unwrap();
    assert_eq!(status(u.status(&terminated.upload_id, "T07", 3)), 410);
    assert_eq!(
        status(u.append(&terminated.upload_id, "T07", 50, &[1; 50], None, 3)),
        410
    );
    let expired = u.create("T07", 100, 0).unwrap();
    assert_eq!(status(u.status(&expired.upload_id, "T07", 3600)), 410);
    assert_eq!(
        status(u.status("0123456789abcdef0123456789abcdef", "T07", 1)),
        404
    );
}

#[test]
fn acknowledged_offset_survives_reopening_and_unacknowledged_bytes_are_dropped() {
    let s = server();
    let device = DeviceSigningKey::generate("T07", &SystemRandom::new()).unwrap();
    enroll(&s, &device);
    let data = vec![7u8; 3000];
    let id = {
        let u = uploads(&s);
        let upload = u.create("T07", 3000, 0).unwrap();
        u.append(&upload.upload_id, "T07", 0, &data[..1000], None, 1)
            .unwrap();
        upload.upload_id
    };
    // A crash after writing bytes but before recording the offset leaves them on disk...
    s.blobs.append_partial(&id, 1000, &[9u8; 500]).unwrap();
    // ...and a restart opens the same files.
    let reopened = Server {
        meta: SqliteMetadata::open(&s.dir.path().join("meta.sqlite")).unwrap(),
        blobs: FileBlobStore::open(&s.dir.path().join("blobs")).unwrap(),
        dir: s.dir,
    };
    let u = uploads(&reopened);
    assert_eq!(u.status(&id, "T07", 2).unwrap().offset, 1000);
    let done = u.append(&id, "T07", 1000, &data[1000..], None, 2).unwrap();
    assert_eq!(
        reopened.blobs.get(done.blob.as_deref().unwrap()).unwrap(),
        data
    );
}

fn sealed(envelope_id: &str, device: &DeviceSigningKey, pages: usize) -> SealedEnvelope {
    let rng = SystemRandom::new();
    let server_key = SealingKeyPair::generate("seal-1", &rng).unwrap();
    let mut parts = vec![PlainPart::new(
        PartKind::CaseRecord,
        b"{\"case\":1}".to_vec(),
    )];
    parts.extend((0..pages).map(|i| PlainPart::new(PartKind::Page, vec![i as u8; 5000 + i])));
    let request = SealRequest {
        envelope_id,
        case_number: "LV01/T07/2026/000001-5",
        created_at: 0,
        parts: &parts,
    };
    seal(&request, &server_key.public_key(), device, &rng).unwrap()
}

fn upload_parts(s: &Server, envelope: &SealedEnvelope, device_id: &str) {
    let u = uploads(s);
    for part in &envelope.parts {
        let upload = u.create(device_id, part.len() as u64, 0).unwrap();
        u.append(
            &upload.upload_id,
            device_id,
            0,
            part,
            Some(&checksum("sha256", part)),
            1,
        )
        .unwrap();
    }
}

#[test]
fn commit_stores_once_and_answers_a_signed_receipt() {
    let s = server();
    let key = ServerSigningKey::generate("receipt-1").unwrap();
    let device = DeviceSigningKey::generate("T07", &SystemRandom::new()).unwrap();
    enroll(&s, &device);
    let envelope = sealed("env-1", &device, 3);
    let request = CommitRequest {
        device_id: "T07",
        envelope_id: "env-1",
        manifest: &envelope.manifest_bytes,
        signature: &envelope.signature,
    };

    // Parts not uploaded yet: refused, naming the part.
    assert!(matches!(
        commit(&s.meta, &s.blobs, &key, &request, 10),
        Err(ServerError::MissingPart { index: 0, .. })
    ));

    upload_parts(&s, &envelope, "T07");
    let receipt = commit(&s.meta, &s.blobs, &key, &request, 10).unwrap();
    let verified = receipt.verify(&key.public_key()).unwrap();
    assert_eq!(
        (
            verified.envelope_id.as_str(),
            verified.device_id.as_str(),
            verified.received_at
        ),
        ("env-1", "T07", 10)
    );
    // A receipt edited on the way, or checked with another key, does not verify.
    let mut edited = receipt.clone();
    edited.receipt = edited.receipt.replace("env-1", "env-9");
    assert!(edited.verify(&key.public_key()).is_err());
    assert!(
        receipt
            .verify(&ServerSigningKey::generate("other").unwrap().public_key())
            .is_err()
    );

    // The same envelope again: the same receipt, nothing stored twice.
    assert_eq!(
        commit(&s.meta, &s.blobs, &key, &request, 99).unwrap(),
        receipt
    );

    // A different manifest under the same id: conflict.
    let other = sealed("env-1", &device, 2);
    upload_parts(&s, &other, "T07");
    let conflicting = CommitRequest {
        manifest: &other.manifest_bytes,
        signature: &other.signature,
        ..request
    };
    assert_eq!(
        status(commit(&s.meta, &s.blobs, &key, &conflicting, 11)),
        409
    );
}

#[test]
fn commit_refuses_revoked_devices_bad_signatures_and_wrong_ids() {
    let s = server();
    let key = ServerSigningKey::generate("receipt-1").unwrap();
    let rng = SystemRandom::new();
    let device = DeviceSigningKey::generate("T07", &rng).unwrap();
    enroll(&s, &device);
    let envelope = sealed("env-2", &device, 1);
    upload_parts(&s, &envelope, "T07");
    let request = CommitRequest {
        device_id: "T07",
        envelope_id: "env-2",
        manifest: &envelope.manifest_bytes,
        signature: &envelope.signature,
    };

    let wrong_path = CommitRequest {
        envelope_id: "env-3",
        ..request
    };
    assert_eq!(status(commit(&s.meta, &s.blobs, &key, &wrong_path, 1)), 400);
    let mut bad_signature = envelope.signature.clone();
    bad_signature[0] ^= 1;
    let forged = CommitRequest {
        signature: &bad_signature,
        ..request
    };
    assert!(matches!(
        commit(&s.meta, &s.blobs, &key, &forged, 1),
        Err(ServerError::BadEnvelope(_))
    ));
    assert_eq!(
        status(commit(
            &s.meta,
            &s.blobs,
            &key,
            &CommitRequest {
                device_id: "T99",
                ..request
            },
            1
        )),
        404
    );

    s.meta.revoke_device("T07").unwrap();
    let refused = commit(&s.meta, &s.blobs, &key, &request, 1);
    assert!(matches!(refused, Err(ServerError::Revoked(_))));
    assert_eq!(status(refused), 403);
}

/// A residence case of the demo catalog, its notification and delivery chosen.
fn residence_case() -> Case {
    let person = NaturalPerson {
        name: PersonName {
            surname: "Шевченко".into(),
            given_name: "Марія".into(),
            patronymic: Some("Іванівна".into()),
        },
        rnokpp: Some("1687545620".into()),
        birth_date: time::macros::date!(1946 - 03 - 15),
        identity_document: IdentityDocument {
            kind: IdentityDocumentKind::IdCard,
            number: "001234567".into(),
            issued_by: "4601".into(),
            issued_on: None,
        },
        address: Address("м. Львів, вул. Зелена, 12, кв. 3".into()),
        phone: Some(Contact("+380671234567".into())),
        email: None,
    };
    let mut case = Case::new_draft(
        "case-1",
        ServiceCode("00001".into()),
        Applicant::NaturalPerson(person),
        VisitPlace {
            kind: VisitPlaceKind::Home,
            address: Address("м. Львів, вул. Зелена, 12, кв. 3".into()),
        },
    );
    case.form_answers
        .insert("housing_basis".into(), "власник".into());
    case.notification = Some(Notification::Sms {
        phone: Contact("+380671234567".into()),
    });
    case.delivery = Some(ResultDelivery::AtCentre);
    case
}

/// A plausible signature on the pad.
fn strokes(seed: f32) -> Strokes {
    let points = (0..200u32)
        .map(|i| {
            let t = i as f32 / 200.0;
            Point {
                x: 40.0 + 520.0 * t + 25.0 * (t * 40.0 + seed).sin(),
                y: 100.0 + 40.0 * (t * 13.0).sin() * (t * 3.0 + seed).cos(),
                t_ms: i * 10,
                pressure: None,
            }
        })
        .collect();
    Strokes {
        width: 600,
        height: 200,
        strokes: vec![Stroke { points }],
    }
}

/// The papers of one visit as the tablet seals them: the application and the inventory as
/// real PDFs of the receipt crate, both signatures over the pair's hash. `tamper` edits the
/// case record after signing, as a forged or broken tablet would.
fn sealed_papers(
    envelope_id: &str,
    device: &DeviceSigningKey,
    server_key: &SealingKeyPair,
    application_answer: &str,
    tamper: impl FnOnce(&mut Case),
) -> SealedEnvelope {
    let catalog =
        Catalog::from_toml_str(include_str!("../../assets/catalog/catalog.toml")).unwrap();
    let service = catalog
        .services
        .iter()
        .find(|s| s.code.0 == "00001")
        .unwrap();
    let number = "LV01/T07/2026/000001-5";
    let mut case = residence_case();
    let stated = application(&ApplicationInput {
        centre: "ЦНАП міста Львова",
        provider: "Відділ реєстрації місця проживання",
        case_number: number,
        registered_at: "27.11.2026 10:30",
        service,
        case: &case,
        administrator: "Коваленко Олена Петрівна",
    });
    // What the applicant signed: this answer, possibly not the one the envelope will carry.
    let mut signed_case = case.clone();
    signed_case
        .form_answers
        .insert("housing_basis".into(), application_answer.into());
    let signed_application = application(&ApplicationInput {
        case: &signed_case,
        centre: "ЦНАП міста Львова",
        provider: "Відділ реєстрації місця проживання",
        case_number: number,
        registered_at: "27.11.2026 10:30",
        service,
        administrator: "Коваленко Олена Петрівна",
    });
    let inventory = inventory(&InventoryInput {
        centre: "ЦНАП міста Львова".into(),
        case_number: number.into(),
        registered_at: "27.11.2026 10:30".into(),
        service: "00001 Декларування місця проживання".into(),
        applicant: "Шевченко Марія Іванівна".into(),
        representative: None,
        documents: Vec::new(),
        conditions: Vec::new(),
        fee: None,
        conforms: true,
        missing: Vec::new(),
        override_note: None,
        notification: "SMS на +380671234567".into(),
        delivery: "у ЦНАП".into(),
        administrator: "Коваленко Олена Петрівна".into(),
        tracking_url: format!("https://cnap.example.ua/track/{number}"),
        tracking_code: None,
        applicant_cannot_sign: None,
        payment: None,
        centre_contacts: None,
        provider_contacts: None,
    });
    let signed_sha256 = signed_set_sha256(
        &inventory.content_sha256(),
        &signed_application.content_sha256(),
    );
    let mut records = Vec::new();
    for (role, signer, seed) in [
        (SignerRole::Applicant, "Шевченко Марія Іванівна", 0.0),
        (SignerRole::Administrator, "Коваленко Олена Петрівна", 1.5),
    ] {
        let (record, _) = sign(strokes(seed), role, signer, 10, &signed_sha256).unwrap();
        case.signatures.push(SignatureRef {
            role,
            record_id: format!("sig-{seed}"),
            signed_document_sha256: signed_sha256.clone(),
        });
        records.push(record);
    }
    case.application_sha256 = Some(stated.content_sha256());
    tamper(&mut case);
    let signed: Vec<SignedBy<'_>> = records
        .iter()
        .map(|r| SignedBy {
            role: r.role,
            strokes: &r.strokes,
        })
        .collect();
    let mut parts = vec![PlainPart::new(
        PartKind::CaseRecord,
        serde_json::to_vec(&case).unwrap(),
    )];
    parts.extend(
        records
            .iter()
            .map(|r| PlainPart::new(PartKind::Signature, serde_json::to_vec(r).unwrap())),
    );
    parts.push(PlainPart::new(
        PartKind::Other,
        render_pdf(&inventory, &signed).unwrap(),
    ));
    parts.push(PlainPart::new(
        PartKind::Other,
        render_pdf(&stated, &signed).unwrap(),
    ));
    let request = SealRequest {
        envelope_id,
        case_number: number,
        created_at: 20,
        parts: &parts,
    };
    seal(
        &request,
        &server_key.public_key(),
        device,
        &SystemRandom::new(),
    )
    .unwrap()
}

/// Commit `envelope` through the device API and open it as the back-office does.
fn committed_and_opened(
    s: &Server,
    envelope_id: &str,
    envelope: &SealedEnvelope,
    server_key: SealingKeyPair,
) -> OpenedCase {
    let key = ServerSigningKey::generate("receipt-1").unwrap();
    upload_parts(s, envelope, "T07");
    let request = CommitRequest {
        device_id: "T07",
        envelope_id,
        manifest: &envelope.manifest_bytes,
        signature: &envelope.signature,
    };
    commit(&s.meta, &s.blobs, &key, &request, 30).unwrap();
    open_stored(&s.meta, &s.blobs, &[server_key], envelope_id).unwrap()
}

#[test]
fn a_sealed_case_carries_the_application_signed_with_the_inventory() {
    let s = server();
    let device = DeviceSigningKey::generate("T07", &SystemRandom::new()).unwrap();
    enroll(&s, &device);
    let rng = SystemRandom::new();
    let server_key = SealingKeyPair::generate("seal-1", &rng).unwrap();
    let envelope = sealed_papers("env-app-1", &device, &server_key, "власник", |_| {});
    let opened = committed_and_opened(&s, "env-app-1", &envelope, server_key);

    let pdf = opened.application_pdf.as_deref().unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    assert_ne!(pdf, opened.inventory_pdf.as_deref().unwrap());
    assert!(opened.application_as_stated);
    assert_eq!(opened.application_sha256, opened.case.application_sha256);
    let expected = signed_set_sha256(
        opened.inventory_sha256.as_deref().unwrap(),
        opened.application_sha256.as_deref().unwrap(),
    );
    assert_eq!(opened.signed_sha256.as_deref(), Some(expected.as_str()));
    assert_eq!(opened.signatures.len(), 2);
    assert!(opened.signatures.iter().all(|s| s.valid()));
}

#[test]
fn an_application_other_than_the_signed_one_is_refused() {
    let s = server();
    let device = DeviceSigningKey::generate("T07", &SystemRandom::new()).unwrap();
    enroll(&s, &device);
    let rng = SystemRandom::new();

    // The case record states another application than the one in the envelope.
    let key = SealingKeyPair::generate("seal-1", &rng).unwrap();
    let tampered = sealed_papers("env-app-2", &device, &key, "власник", |case| {
        case.application_sha256 = Some("0".repeat(64))
    });
    let opened = committed_and_opened(&s, "env-app-2", &tampered, key);
    assert!(!opened.application_as_stated);
    assert_eq!(opened.signed_sha256, None);
    assert!(
        opened
            .signatures
            .iter()
            .all(|s| !s.bound_to_papers && !s.valid())
    );

    // The applicant signed «наймач»; the envelope carries an application saying «власник»,
    // and its case record states that one: the signatures do not bind it.
    let key = SealingKeyPair::generate("seal-2", &rng).unwrap();
    let swapped = sealed_papers("env-app-3", &device, &key, "наймач", |_| {});
    let opened = committed_and_opened(&s, "env-app-3", &swapped, key);
    assert!(opened.application_as_stated);
    assert!(opened.signatures.iter().all(|s| s.strokes_match_image));
    assert!(opened.signatures.iter().all(|s| !s.valid()));
}
