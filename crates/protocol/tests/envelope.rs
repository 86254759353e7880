#![allow(clippy::unwrap_used)]
//! Sealed envelopes: a round trip, and each kind of tampering refused with its own error.

use fieldkit_protocol::{
    DeviceSigningKey, EnvelopeError, Manifest, PartKind, PlainPart, SealRequest, SealedEnvelope,
    SealingKeyPair, check_parts, open, seal, verify_manifest,
};
use ring::rand::SystemRandom;

const RECORD: &str = r#"{"applicant":"Шевченко Тарас Григорович","rnokpp":"3012345678"}"#;

struct Fixture {
    rng: SystemRandom,
    server: SealingKeyPair,
    device: DeviceSigningKey,
}

fn fixture() -> Fixture {
    let rng = SystemRandom::new();
    let server = SealingKeyPair::generate("seal-2026-1", &rng).unwrap();
    let device = DeviceSigningKey::generate("device-7", &rng).unwrap();
    Fixture {
        rng,
        server,
        device,
    }
}

fn case_parts() -> Vec<PlainPart> {
    vec![
        PlainPart::new(PartKind::CaseRecord, RECORD.as_bytes().to_vec()),
        PlainPart::new(PartKind::Page, vec![0xAB; 5000]),
        PlainPart::new(PartKind::Page, vec![0xCD; 7000]),
        PlainPart::new(PartKind::Signature, b"strokes of the applicant".to_vec()),
    ]
}

fn sealed(f: &Fixture, envelope_id: &str) -> SealedEnvelope {
    let parts = case_parts();
    let request = SealRequest {
        envelope_id,
        case_number: "LV01/T07/2026/000123-5",
        created_at: 1_795_000_000,
        parts: &parts,
    };
    seal(&request, &f.server.public_key(), &f.device, &f.rng).unwrap()
}

fn manifest_of(envelope: &SealedEnvelope) -> Manifest {
    serde_json::from_slice(&envelope.manifest_bytes).unwrap()
}

/// Re-sign an edited manifest with `device`, as a device (or someone holding its key) would.
fn resign(envelope: &mut SealedEnvelope, manifest: &Manifest, device: &DeviceSigningKey) {
    envelope.manifest_bytes = serde_json::to_vec(manifest).unwrap();
    envelope.signature = sign_with(device, &envelope.manifest_bytes);
}

fn sign_with(device: &DeviceSigningKey, message: &[u8]) -> Vec<u8> {
    let pair = ring::signature::Ed25519KeyPair::from_pkcs8(device.pkcs8()).unwrap();
    pair.sign(message).as_ref().to_vec()
}

fn open_err(f: &Fixture, envelope: &SealedEnvelope) -> EnvelopeError {
    open(envelope, &f.server, &f.device.public_key()).unwrap_err()
}

#[test]
fn round_trip_gives_back_every_part_in_order() {
    let f = fixture();
    let envelope = sealed(&f, "env-1");
    let opened = open(&envelope, &f.server, &f.device.public_key()).unwrap();
    let expected = case_parts();
    assert_eq!(opened.len(), expected.len());
    for (got, want) in opened.iter().zip(&expected) {
        assert_eq!(got.kind, want.kind);
        assert_eq!(got.bytes, want.bytes);
    }
    let manifest = verify_manifest(
        &envelope.manifest_bytes,
        &envelope.signature,
        &f.device.public_key(),
    )
    .unwrap();
    assert_eq!(manifest.parts.len(), 4);
    check_parts(&manifest, &envelope.parts).unwrap();
}

#[test]
fn manifest_holds_no_personal_data() {
    let f = fixture();
    let envelope = sealed(&f, "env-pd");
    let text = String::from_utf8(envelope.manifest_bytes.clone()).unwrap();
    for planted in ["Шевченко", "Тарас", "3012345678", "strokes"] {
        assert!(!text.contains(planted), "manifest leaks {planted}");
    }
    for part in &envelope.parts {
        assert!(
            !part
                .windows(8)
                .any(|w| w == "3012345678".as_bytes()[..8].as_ref())
        );
    }
}

#[test]
fn swapped_parts_are_refused_as_out_of_place() {
    let f = fixture();
    let mut envelope = sealed(&f, "env-swap");
    envelope.parts.swap(1, 2);
    assert_eq!(
        open_err(&f, &envelope),
        EnvelopeError::PartOutOfPlace {
            index: 1,
            belongs_at: 2
        }
    );
}

#[test]
fn reordered_parts_are_refused_as_out_of_place() {
    let f = fixture();
    let mut envelope = sealed(&f, "env-order");
    envelope.parts.rotate_left(1);
    assert_eq!(
        open_err(&f, &envelope),
        EnvelopeError::PartOutOfPlace {
            index: 0,
            belongs_at: 1
        }
    );
}

#[test]
fn truncated_part_is_refused_by_size() {
    let f = fixture();
    let mut envelope = sealed(&f, "env-trunc");
    envelope.parts[2].truncate(100);
    assert_eq!(
        open_err(&f, &envelope),
        EnvelopeError::PartSizeMismatch { index: 2 }
    );
}

#[test]
fn flipped_byte_in_part_is_refused_by_hash() {
    let f = fixture();
    let mut envelope = sealed(&f, "env-flip");
    envelope.parts[3][5] ^= 0x01;
    assert_eq!(
        open_err(&f, &envelope),
        EnvelopeError::PartHashMismatch { index: 3 }
    );
}

#[test]
fn dropped_part_is_refused_as_missing() {
    let f = fixture();
    let mut envelope = sealed(&f, "env-drop");
    envelope.parts.pop();
    assert_eq!(
        open_err(&f, &envelope),
        EnvelopeError::PartMissing { index: 3 }
    );
}

#[test]
fn added_part_is_refused_as_extra() {
    let f = fixture();
    let mut envelope = sealed(&f, "env-extra");
    envelope.parts.push(vec![1, 2, 3]);
    assert_eq!(
        open_err(&f, &envelope),
        EnvelopeError::ExtraParts { count: 1 }
    );
}

#[test]
fn changed_manifest_field_breaks_the_signature() {
    let f = fixture();
    let mut envelope = sealed(&f, "env-field");
    let text = String::from_utf8(envelope.manifest_bytes.clone()).unwrap();
    envelope.manifest_bytes = text.replace("000123-5", "000124-3").into_bytes();
    assert_eq!(open_err(&f, &envelope), EnvelopeError::BadSignature);
}

#[test]
fn wrong_signer_key_is_refused() {
    let f = fixture();
    let envelope = sealed(&f, "env-signer");
    let stranger = DeviceSigningKey::generate("device-7", &f.rng).unwrap();
    let err = open(&envelope, &f.server, &stranger.public_key()).unwrap_err();
    assert_eq!(err, EnvelopeError::BadSignature);
}

#[test]
fn manifest_resigned_by_another_device_names_the_wrong_device() {
    let f = fixture();
    let mut envelope = sealed(&f, "env-resign");
    let other = DeviceSigningKey::generate("device-9", &f.rng).unwrap();
    let manifest = manifest_of(&envelope);
    resign(&mut envelope, &manifest, &other);
    let err = open(&envelope, &f.server, &other.public_key()).unwrap_err();
    assert_eq!(
        err,
        EnvelopeError::WrongDevice {
            signed_by: "device-9".into(),
            named: "device-7".into()
        }
    );
}

#[test]
fn wrong_recipient_key_with_same_id_cannot_open_the_content_key() {
    let f = fixture();
    let envelope = sealed(&f, "env-recipient");
    let impostor = SealingKeyPair::generate("seal-2026-1", &f.rng).unwrap();
    let err = open(&envelope, &impostor, &f.device.public_key()).unwrap_err();
    assert_eq!(err, EnvelopeError::ContentKeyUnopenable);
}

#[test]
fn unknown_key_id_is_named() {
    let f = fixture();
    let envelope = sealed(&f, "env-keyid");
    let rotated = SealingKeyPair::generate("seal-2027-1", &f.rng).unwrap();
    let err = open(&envelope, &rotated, &f.device.public_key()).unwrap_err();
    assert_eq!(
        err,
        EnvelopeError::UnknownSealingKey {
            key_id: "seal-2026-1".into()
        }
    );
}

#[test]
fn part_moved_in_from_another_envelope_fails_authentication() {
    // Even a device that re-signs a manifest listing a part of another envelope cannot make it
    // open here: the part's associated data binds its envelope id.
    let f = fixture();
    let mut target = sealed(&f, "env-target");
    let donor = sealed(&f, "env-donor");
    let mut manifest = manifest_of(&target);
    let donor_manifest = manifest_of(&donor);
    target.parts[1] = donor.parts[1].clone();
    manifest.parts[1].sha256 = donor_manifest.parts[1].sha256.clone();
    manifest.parts[1].size = donor_manifest.parts[1].size;
    let device = DeviceSigningKey::from_pkcs8("device-7", f.device.pkcs8()).unwrap();
    resign(&mut target, &manifest, &device);
    assert_eq!(
        open_err(&f, &target),
        EnvelopeError::PartAuthentication { index: 1 }
    );
}

#[test]
fn altered_encapsulation_cannot_open_the_content_key() {
    let f = fixture();
    let mut envelope = sealed(&f, "env-enc");
    let mut manifest = manifest_of(&envelope);
    let mut sealed_key = hex::decode(&manifest.sealed_content_key).unwrap();
    sealed_key[0] ^= 0x80;
    manifest.sealed_content_key = hex::encode(sealed_key);
    let device = DeviceSigningKey::from_pkcs8("device-7", f.device.pkcs8()).unwrap();
    resign(&mut envelope, &manifest, &device);
    assert_eq!(open_err(&f, &envelope), EnvelopeError::ContentKeyUnopenable);
}

#[test]
fn newer_manifest_format_is_refused_by_version() {
    let f = fixture();
    let mut envelope = sealed(&f, "env-format");
    let mut manifest = manifest_of(&envelope);
    manifest.format = 2;
    let device = DeviceSigningKey::from_pkcs8("device-7", f.device.pkcs8()).unwrap();
    resign(&mut envelope, &manifest, &device);
    assert_eq!(open_err(&f, &envelope), EnvelopeError::UnsupportedFormat(2));
}

#[test]
fn secret_keys_print_no_key_bytes() {
    let f = fixture();
    let secret = f.server.secret_bytes();
    let debug = format!("{:?} {:?}", f.server, f.device);
    assert!(debug.contains("redacted"));
    assert!(!debug.contains(&hex::encode(secret.as_ref())));
    assert!(!debug.contains(&format!("{:?}", secret.as_ref())));
    let restored = SealingKeyPair::from_secret_bytes("seal-2026-1", secret.as_ref()).unwrap();
    assert_eq!(restored.public_key(), f.server.public_key());
}
