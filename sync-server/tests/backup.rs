#![allow(clippy::unwrap_used)]
//! An online backup taken while a tablet uploads and commits, restored into a new directory:
//! every envelope in the restored server opens with the restored keys, and the restored
//! server serves the tablet again.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;

use fieldkit_protocol::{
    DeviceSigningKey, PartKind, PlainPart, SealRequest, SealedEnvelope, open, seal,
};
use fieldkit_sync_client::{SyncClient, enroll};
use fieldkit_sync_server::backup::{backup, restore};
use fieldkit_sync_server::local::LocalServer;
use fieldkit_sync_server::setup::ServerFiles;
use fieldkit_sync_server::store::{BlobStore, FileBlobStore, MetadataStore, SqliteMetadata};
use ring::rand::SystemRandom;

fn now() -> i64 {
    1_795_000_000
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_under_load_restores_and_every_envelope_opens() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = LocalServer::start(&data, now).await.unwrap();
    server.enroll_code("BACKUP-01", now()).unwrap();
    let enrollment = enroll(&server.url, &server.server_ca, "BACKUP-01", "T07")
        .await
        .unwrap();
    let device = DeviceSigningKey::from_pkcs8("T07", &enrollment.signing_key_pkcs8).unwrap();
    let client = SyncClient::new(
        &server.url,
        &server.server_ca,
        &enrollment.client_certificate,
        &enrollment.tls_key_pkcs8,
        &enrollment.receipt_public_key,
    )
    .unwrap();
    let envelopes: Vec<(String, SealedEnvelope)> = (0..12u8)
        .map(|i| {
            let id = format!("env-b{i}");
            let parts = [
                PlainPart::new(PartKind::CaseRecord, vec![i; 100]),
                PlainPart::new(PartKind::Page, vec![i; 200_000]),
            ];
            let request = SealRequest {
                envelope_id: &id,
                case_number: &format!("LV01/T07/2026/{i:06}-0"),
                created_at: 0,
                parts: &parts,
            };
            let envelope = seal(
                &request,
                &enrollment.sealing_key,
                &device,
                &SystemRandom::new(),
            )
            .unwrap();
            (id, envelope)
        })
        .collect();

    // The tablet syncs while the backup runs.
    let uploads = tokio::spawn(async move {
        for (id, envelope) in &envelopes {
            client
                .upload_envelope(id, envelope, &mut BTreeMap::new(), &mut |_| {})
                .await
                .unwrap();
        }
        envelopes
    });
    // Back up once a few envelopes are in, while the rest are still arriving.
    while server.meta.envelope("env-b2").unwrap().is_none() {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let copy = dir.path().join("backup");
    let (from, to) = (data.clone(), copy.clone());
    let report = tokio::task::spawn_blocking(move || backup(&from, &to))
        .await
        .unwrap()
        .unwrap();
    let envelopes = uploads.await.unwrap();
    assert_eq!(report.key_files, 6);
    for key in std::fs::read_dir(copy.join("keys")).unwrap() {
        let key = key.unwrap().path();
        if key.extension().is_some_and(|e| e == "key") {
            assert_eq!(
                std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
                0o600,
                "{}",
                key.display()
            );
        }
    }
    server.stop();

    // Restore into a new directory and open everything the backup holds.
    let restored = dir.path().join("restored");
    restore(&copy, &restored).unwrap();
    let files = ServerFiles::load(&restored).unwrap();
    let meta = SqliteMetadata::open(&restored.join("metadata.sqlite")).unwrap();
    let blobs = FileBlobStore::open(&restored.join("blobs")).unwrap();
    let device_key = meta.device("T07").unwrap();
    let public = fieldkit_protocol::DevicePublicKey {
        device_id: "T07".into(),
        bytes: device_key.public_key,
    };
    let mut present = 0;
    for (id, original) in &envelopes {
        let Some(stored) = meta.envelope(id).unwrap() else {
            continue;
        };
        present += 1;
        let manifest: fieldkit_protocol::Manifest =
            serde_json::from_slice(&stored.manifest).unwrap();
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
        assert_eq!(&envelope, original);
        open(&envelope, &files.sealing, &public).unwrap();
    }
    println!(
        "backup taken under load holds {present} of {} envelopes, all open",
        envelopes.len()
    );
    assert!(present >= 3);

    // The restored server serves the enrolled tablet again.
    let again = LocalServer::start(&restored, now).await.unwrap();
    let client = SyncClient::new(
        &again.url,
        &again.server_ca,
        &enrollment.client_certificate,
        &enrollment.tls_key_pkcs8,
        &enrollment.receipt_public_key,
    )
    .unwrap();
    let (events, _) = client.status(0).await.unwrap();
    assert_eq!(events.len(), present);
    again.stop();
}
