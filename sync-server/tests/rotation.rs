#![allow(clippy::unwrap_used)]
//! Rotating the case-sealing key with the real binary: cases sealed before and after the
//! rotation both arrive and both open, each with the key its manifest names.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use fieldkit_protocol::{
    DeviceSigningKey, PartKind, PlainPart, SealRequest, SealedEnvelope, SealingPublicKey, open,
    seal,
};
use fieldkit_sync_client::{SyncClient, enroll};
use fieldkit_sync_server::setup::ServerFiles;
use fieldkit_sync_server::store::{BlobStore, FileBlobStore, MetadataStore, SqliteMetadata};
use ring::rand::SystemRandom;

const BIN: &str = env!("CARGO_BIN_EXE_fieldkit-sync-server");

fn run(args: &[&str]) -> String {
    let output = Command::new(BIN).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn start(config: &Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--config", config.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (
        child,
        format!(
            "https://localhost:{}",
            line.trim().rsplit(':').next().unwrap()
        ),
    )
}

fn sealed(id: &str, device: &DeviceSigningKey, key: &SealingPublicKey) -> SealedEnvelope {
    let parts = [
        PlainPart::new(PartKind::CaseRecord, id.as_bytes().to_vec()),
        PlainPart::new(PartKind::Page, vec![7; 30_000]),
    ];
    let request = SealRequest {
        envelope_id: id,
        case_number: &format!("LV01/T07/2026/00000{}-0", id.len()),
        created_at: 0,
        parts: &parts,
    };
    seal(&request, key, device, &SystemRandom::new()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_sealed_before_and_after_a_rotation_both_open() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_str = data.to_str().unwrap();
    run(&["init", "--data", data_str, "--hostname", "localhost"]);
    let code = run(&["enroll-code", "--data", data_str]).trim().to_owned();
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        format!("listen = \"127.0.0.1:0\"\ndata = \"{data_str}\"\n"),
    )
    .unwrap();
    let server_ca = std::fs::read(data.join("keys/server-ca.der")).unwrap();

    let (mut server, url) = start(&config);
    let enrollment = enroll(&url, &server_ca, &code, "T07").await.unwrap();
    let device = DeviceSigningKey::from_pkcs8("T07", &enrollment.signing_key_pkcs8).unwrap();
    let client_at = |url: &str| {
        SyncClient::new(
            url,
            &server_ca,
            &enrollment.client_certificate,
            &enrollment.tls_key_pkcs8,
            &enrollment.receipt_public_key,
        )
        .unwrap()
    };
    let before = sealed("env-before", &device, &enrollment.sealing_key);
    client_at(&url)
        .upload_envelope("env-before", &before, &mut BTreeMap::new(), &mut |_| {})
        .await
        .unwrap();
    server.kill().unwrap();
    server.wait().unwrap();

    assert!(run(&["rotate-sealing-key", "--data", data_str]).contains("seal-2"));
    let (mut server, url) = start(&config);
    let client = client_at(&url);
    let current = client.sealing_key().await.unwrap();
    assert_eq!(current.key_id, "seal-2");
    assert_ne!(current.bytes, enrollment.sealing_key.bytes);
    let after = sealed("env-after-rotation", &device, &current);
    client
        .upload_envelope(
            "env-after-rotation",
            &after,
            &mut BTreeMap::new(),
            &mut |_| {},
        )
        .await
        .unwrap();
    server.kill().unwrap();
    server.wait().unwrap();

    let files = ServerFiles::load(&data).unwrap();
    assert_eq!(files.sealing.key_id(), "seal-2");
    let meta = SqliteMetadata::open(&data.join("metadata.sqlite")).unwrap();
    let blobs = FileBlobStore::open(&data.join("blobs")).unwrap();
    let public = fieldkit_protocol::DevicePublicKey {
        device_id: "T07".into(),
        bytes: device.public_key().bytes,
    };
    for (id, key_id) in [("env-before", "seal-1"), ("env-after-rotation", "seal-2")] {
        let stored = meta.envelope(id).unwrap().unwrap();
        let manifest: fieldkit_protocol::Manifest =
            serde_json::from_slice(&stored.manifest).unwrap();
        assert_eq!(manifest.sealing_key_id, key_id);
        let parts = manifest
            .parts
            .iter()
            .map(|p| blobs.get(&p.sha256).unwrap())
            .collect();
        let envelope = SealedEnvelope {
            manifest_bytes: stored.manifest,
            signature: stored.signature,
            parts,
        };
        let opened = open(&envelope, files.sealing_key(key_id).unwrap(), &public).unwrap();
        assert_eq!(opened[0].bytes, id.as_bytes());
    }
}
