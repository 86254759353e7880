#![allow(clippy::unwrap_used)]
//! Rotating the case-sealing key with the real binary: cases sealed before and after the
//! rotation both arrive and both open, each with the key its manifest names.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
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

/// The certificate the server presents at the TLS handshake, checked against the pinned CA.
async fn served_certificate(url: &str, server_ca: &[u8]) -> Vec<u8> {
    use std::sync::Arc;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(server_ca.to_vec()))
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let port = url.rsplit(':').next().unwrap();
    let tcp = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap();
    tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_tls_certificate_needs_nothing_from_the_tablets() {
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
    let first = served_certificate(&url, &server_ca).await;
    let enrollment = enroll(&url, &server_ca, &code, "T08").await.unwrap();
    server.kill().unwrap();
    server.wait().unwrap();

    let printed = run(&[
        "rotate-tls-cert",
        "--data",
        data_str,
        "--hostname",
        "localhost",
        "--hostname",
        "sync.example.ua",
    ]);
    let (mut server, url) = start(&config);
    let second = served_certificate(&url, &server_ca).await;
    assert_ne!(first, second, "the server presents the new certificate");
    assert!(printed.contains(&fieldkit_sync_server::tls::certificate_fingerprint(&second)));
    // The enrolled tablet, pinning the same CA, syncs as before.
    let client = SyncClient::new(
        &url,
        &server_ca,
        &enrollment.client_certificate,
        &enrollment.tls_key_pkcs8,
        &enrollment.receipt_public_key,
    )
    .unwrap();
    assert_eq!(client.sealing_key().await.unwrap().key_id, "seal-1");
    server.kill().unwrap();
    server.wait().unwrap();

    // A second rotation moves on again; the private keys stay readable by the service alone.
    run(&[
        "rotate-tls-cert",
        "--data",
        data_str,
        "--hostname",
        "localhost",
    ]);
    let current = std::fs::read_to_string(data.join("keys/server-current")).unwrap();
    assert_eq!(current.trim(), "server-3");
    let mode = std::fs::metadata(data.join("keys/server-3.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // Without a host name the command refuses and changes nothing.
    let refused = Command::new(BIN)
        .args(["rotate-tls-cert", "--data", data_str])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert_eq!(
        std::fs::read_to_string(data.join("keys/server-current"))
            .unwrap()
            .trim(),
        "server-3"
    );
}
