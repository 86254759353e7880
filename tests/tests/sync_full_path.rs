#![allow(clippy::unwrap_used)]
//! The whole path with the real parts: a tablet enrolls at a server on loopback (real TLS),
//! seals cases in its vault, pushes them (upload, commit, verified receipt), keeps only
//! tracking stubs, and pulls status changes back. The server is stopped at random moments
//! during the pushes and started again on the same data: no envelope is lost or duplicated.

use std::sync::Arc;
use std::time::Duration;

use fieldkit_e2e::sync::{Resume, pull_status, push_outbox, report};
use fieldkit_protocol::{DeviceSigningKey, open};
use fieldkit_sync_client::{SyncClient, enroll};
use fieldkit_sync_server::local::LocalServer;
use fieldkit_sync_server::store::{BlobStore, FileBlobStore, MetadataStore};
use fieldkit_vault::{Clock, SealCase, Vault, VaultOptions};

fn now() -> i64 {
    1_795_000_000
}

struct Fixed;
impl Clock for Fixed {
    fn now(&self) -> i64 {
        now()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_travel_from_vault_to_server_and_status_comes_back_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let server = LocalServer::start(&data, now).await.unwrap();
    server.enroll_code("FULL-PATH", now()).unwrap();
    let enrollment = enroll(&server.url, &server.server_ca, "FULL-PATH", "T07")
        .await
        .unwrap();
    let device = DeviceSigningKey::from_pkcs8("T07", &enrollment.signing_key_pkcs8).unwrap();
    let server_ca = server.server_ca.clone();
    let client_for = |url: &str| {
        let mut client = SyncClient::new(
            url,
            &server_ca,
            &enrollment.client_certificate,
            &enrollment.tls_key_pkcs8,
            &enrollment.receipt_public_key,
        )
        .unwrap();
        client.chunk_size = 32 * 1024;
        client
    };

    let mut vault = Vault::create(
        &dir.path().join("vault.sqlite"),
        "Адміністратор",
        "пароль-синхронізації",
        VaultOptions::default(),
        Arc::new(Fixed),
    )
    .unwrap();
    let cases = 4;
    for i in 0..cases {
        let case_id = format!("case-{i}");
        vault
            .put_draft(
                &case_id,
                "registered",
                format!("{{\"applicant\":\"Бойко {i}\"}}").as_bytes(),
            )
            .unwrap();
        vault
            .put_blob(&case_id, "page", 0, &vec![i as u8; 300_000])
            .unwrap();
        vault
            .put_blob(&case_id, "signature", 1, b"strokes")
            .unwrap();
        let number = format!("LV01/T07/2026/00000{i}-0");
        vault
            .seal_case(&SealCase {
                case_id: &case_id,
                envelope_id: &format!("env-{i}"),
                case_number: &number,
                recipient: &enrollment.sealing_key,
                device: &device,
            })
            .unwrap();
    }

    // Push while the server is stopped at random moments and started again on the same data.
    let mut server = server;
    let mut resume = Resume::new();
    let mut restarts = 0;
    let mut state = 0x2026_1124u64;
    // Up to ten times the push is cut short at a random moment (3–33 ms in) and the server is
    // stopped and started again; then the push runs to the end.
    while restarts < 10 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let client = client_for(&server.url);
        let push = push_outbox(&mut vault, &client, &mut resume);
        match tokio::time::timeout(Duration::from_millis(3 + state % 30), push).await {
            Ok(result) => {
                result.unwrap();
                break;
            }
            Err(_) => {
                server.stop();
                server = LocalServer::start(&data, now).await.unwrap();
                restarts += 1;
            }
        }
    }
    if !vault.outbox().unwrap().is_empty() {
        push_outbox(&mut vault, &client_for(&server.url), &mut resume)
            .await
            .unwrap();
    }
    println!("delivered {cases} cases across {restarts} server restarts");

    // The tablet keeps only tracking stubs with verified receipts.
    let stubs = vault.transaction(|tx| tx.tracking()).unwrap();
    assert_eq!(stubs.len(), cases);
    assert!(vault.outbox().unwrap().is_empty());

    // The server has each envelope once, with one "received" event, and can open it.
    let blobs = FileBlobStore::open(&data.join("blobs")).unwrap();
    let client = client_for(&server.url);
    let (events, cursor) = client.status(0).await.unwrap();
    assert_eq!(events.len(), cases, "{events:?}");
    for i in 0..cases {
        let stored = server.meta.envelope(&format!("env-{i}")).unwrap().unwrap();
        let manifest: fieldkit_protocol::Manifest =
            serde_json::from_slice(&stored.manifest).unwrap();
        let parts = manifest
            .parts
            .iter()
            .map(|p| blobs.get(&p.sha256).unwrap())
            .collect();
        let envelope = fieldkit_protocol::SealedEnvelope {
            manifest_bytes: stored.manifest.clone(),
            signature: stored.signature.clone(),
            parts,
        };
        let opened = open(&envelope, &server.sealing, &device.public_key()).unwrap();
        assert_eq!(
            opened[0].bytes,
            format!("{{\"applicant\":\"Бойко {i}\"}}").as_bytes()
        );
    }

    // The tablet reports its counts and audit head; the server anchors the head.
    let reported = report(&mut vault, &client).await.unwrap();
    assert_eq!(
        (reported.cases_sealed, reported.envelopes_waiting),
        (cases as u64, 0)
    );
    // A vault restored from an older copy (an earlier head) or with an edited chain is caught.
    let older = fieldkit_protocol::DeviceReport {
        audit_seq: reported.audit_seq - 3,
        ..reported.clone()
    };
    let rolled_back = client.report(&older).await.unwrap_err();
    assert!(
        matches!(&rolled_back, fieldkit_sync_client::SyncError::Refused { status: 409, code, .. } if code == "audit_rollback"),
        "{rolled_back}"
    );
    let edited = fieldkit_protocol::DeviceReport {
        audit_hash: "00".repeat(32),
        ..reported.clone()
    };
    assert!(client.report(&edited).await.is_err());
    client.report(&reported).await.unwrap();

    // A status change on the server reaches the tablet's stub.
    server
        .meta
        .add_status_event(
            "LV01/T07/2026/000002-0",
            fieldkit_domain::workflow::CaseState::Forwarded,
            None,
            now(),
        )
        .unwrap();
    let next = pull_status(&mut vault, &client, cursor).await.unwrap();
    assert!(next > cursor);
    let stubs = vault.transaction(|tx| tx.tracking()).unwrap();
    let forwarded: Vec<&str> = stubs
        .iter()
        .filter(|s| s.status.as_str() == "forwarded")
        .map(|s| s.case_number.as_str())
        .collect();
    assert_eq!(forwarded, ["LV01/T07/2026/000002-0"]);

    // The catalog feed brings a newer catalog (validated by the domain on the tablet), and a
    // command queued for the tablet arrives once.
    assert!(client.catalog(0).await.unwrap().is_none());
    let demo = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/catalog/catalog.toml"
    ))
    .unwrap();
    server.meta.publish_catalog(1, &demo, now()).unwrap();
    let update = client.catalog(0).await.unwrap().unwrap();
    let catalog = fieldkit_domain::catalog::Catalog::from_toml_str(&update.catalog).unwrap();
    assert_eq!((update.version, catalog.services.len()), (1, 13));
    assert!(client.catalog(1).await.unwrap().is_none());
    let (visits, _) = client.visits(0).await.unwrap();
    assert!(visits.is_empty());
    server
        .meta
        .plan_visit("T07", r#"{"place":"hospital","services":["00004"]}"#, now())
        .unwrap();
    let (visits, next) = client.visits(0).await.unwrap();
    assert_eq!(
        (visits.len(), visits[0]["place"].as_str()),
        (1, Some("hospital"))
    );
    assert!(client.visits(next).await.unwrap().0.is_empty());
    server.meta.add_command("T07", "wipe", now()).unwrap();
    assert_eq!(client.commands().await.unwrap(), ["wipe"]);
    assert!(client.commands().await.unwrap().is_empty());
    server.stop();
}
