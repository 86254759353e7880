#![allow(clippy::unwrap_used)]
//! The real `fieldkit-sync-server` binary is SIGKILLed at random moments while a tablet
//! uploads and commits, and started again on the same data: no envelope is lost, none is
//! stored twice, and every receipt the tablet got is the one the server keeps.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fieldkit_protocol::{DeviceSigningKey, PartKind, PlainPart, SealRequest, SealedEnvelope, seal};
use fieldkit_sync_client::{SyncClient, enroll};
use fieldkit_sync_server::store::{MetadataStore, SqliteMetadata};
use ring::rand::SystemRandom;

const BIN: &str = env!("CARGO_BIN_EXE_fieldkit-sync-server");

fn start(config: &Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--config", config.to_str().unwrap()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().rsplit(':').next().unwrap().to_owned();
    (child, format!("https://localhost:{port}"))
}

fn sealed(
    id: &str,
    device: &DeviceSigningKey,
    sealing: &fieldkit_protocol::SealingPublicKey,
    seed: u8,
) -> SealedEnvelope {
    let mut parts = vec![PlainPart::new(
        PartKind::CaseRecord,
        format!("{{\"case\":\"{id}\"}}").into_bytes(),
    )];
    parts.extend(
        (0..3u8).map(|i| PlainPart::new(PartKind::Page, vec![seed.wrapping_add(i); 120_000])),
    );
    let number = format!("LV01/T09/2026/{:06}-0", seed);
    let request = SealRequest {
        envelope_id: id,
        case_number: &number,
        created_at: 0,
        parts: &parts,
    };
    seal(&request, sealing, device, &SystemRandom::new()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_server_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_str = data.to_str().unwrap();
    assert!(
        Command::new(BIN)
            .args(["init", "--data", data_str, "--hostname", "localhost"])
            .status()
            .unwrap()
            .success()
    );
    let code = String::from_utf8(
        Command::new(BIN)
            .args(["enroll-code", "--data", data_str])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        format!("listen = \"127.0.0.1:0\"\ndata = \"{data_str}\"\n"),
    )
    .unwrap();
    let server_ca = std::fs::read(data.join("keys/server-ca.der")).unwrap();

    let (mut server, mut url) = start(&config);
    let enrollment = enroll(&url, &server_ca, code.trim(), "T09").await.unwrap();
    let device = DeviceSigningKey::from_pkcs8("T09", &enrollment.signing_key_pkcs8).unwrap();
    let envelopes: Vec<(String, SealedEnvelope)> = (0..6u8)
        .map(|i| {
            (
                format!("env-k{i}"),
                sealed(&format!("env-k{i}"), &device, &enrollment.sealing_key, i),
            )
        })
        .collect();

    let mut receipts = BTreeMap::new();
    let mut resume: BTreeMap<String, BTreeMap<usize, String>> = BTreeMap::new();
    let mut kills = 0;
    let mut state = 0x5eed_2026u64;
    while receipts.len() < envelopes.len() {
        let mut client = SyncClient::new(
            &url,
            &server_ca,
            &enrollment.client_certificate,
            &enrollment.tls_key_pkcs8,
            &enrollment.receipt_public_key,
        )
        .unwrap();
        client.chunk_size = 24 * 1024;
        let work = async {
            for (id, envelope) in &envelopes {
                if receipts.contains_key(id) {
                    continue;
                }
                let locations = resume.entry(id.clone()).or_default();
                match client
                    .upload_envelope(id, envelope, locations, &mut |_| {})
                    .await
                {
                    Ok((signed, _)) => {
                        receipts.insert(id.clone(), signed);
                    }
                    Err(error) => {
                        assert!(error.is_retryable(), "{error}");
                        return;
                    }
                }
            }
        };
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        if kills < 8 {
            tokio::select! {
                _ = work => {}
                _ = tokio::time::sleep(Duration::from_millis(5 + state % 45)) => {
                    server.kill().unwrap(); // SIGKILL
                    server.wait().unwrap();
                    kills += 1;
                    (server, url) = start(&config);
                }
            }
        } else {
            work.await;
        }
    }
    server.kill().unwrap();
    server.wait().unwrap();
    println!("6 envelopes committed across {kills} SIGKILLs of the server");

    let meta = SqliteMetadata::open(&data.join("metadata.sqlite")).unwrap();
    for (id, signed) in &receipts {
        let stored = meta.envelope(id).unwrap().unwrap();
        assert_eq!(
            stored.receipt, signed.receipt,
            "{id}: the tablet's receipt is the server's"
        );
    }
    // Exactly one "received" event per envelope: nothing stored twice.
    assert_eq!(
        meta.status_events("T09", 0, 100).unwrap().len(),
        envelopes.len()
    );
}
