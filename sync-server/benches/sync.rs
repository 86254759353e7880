//! Sync benchmarks on loopback TLS (figures only, no assertions about time):
//! - a 20-page envelope (about 60 MB) uploaded and committed by the tablet's client, beside
//!   `curl` uploading the same bytes to the same server with the same client certificate;
//! - 200 simulated tablets committing envelopes at once: envelopes/s, p50/p99, and loss.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Instant;

use base64::Engine;
use fieldkit_protocol::{DeviceSigningKey, PartKind, PlainPart, SealRequest, seal};
use fieldkit_sync_client::{SyncClient, enroll};
use fieldkit_sync_server::local::LocalServer;
use fieldkit_sync_server::store::MetadataStore;
use ring::rand::SystemRandom;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

fn page(seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..3 * 1024 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(&dir.path().join("data"), now)
        .await
        .unwrap();
    let rng = SystemRandom::new();

    // One large envelope.
    server.enroll_code("BENCH-0000", now()).unwrap();
    let enrollment = enroll(&server.url, &server.server_ca, "BENCH-0000", "B0")
        .await
        .unwrap();
    let device = DeviceSigningKey::from_pkcs8("B0", &enrollment.signing_key_pkcs8).unwrap();
    let mut parts = vec![PlainPart::new(PartKind::CaseRecord, b"{}".to_vec())];
    parts.extend((0..20).map(|i| PlainPart::new(PartKind::Page, page(i))));
    let request = SealRequest {
        envelope_id: "big",
        case_number: "LV01/B0/2026/000001-0",
        created_at: 0,
        parts: &parts,
    };
    let envelope = seal(&request, &enrollment.sealing_key, &device, &rng).unwrap();
    let total: usize = envelope.parts.iter().map(Vec::len).sum();
    let mut client = SyncClient::new(
        &server.url,
        &server.server_ca,
        &enrollment.client_certificate,
        &enrollment.tls_key_pkcs8,
        &enrollment.receipt_public_key,
    )
    .unwrap();
    client.chunk_size = 4 * 1024 * 1024;
    let start = Instant::now();
    client
        .upload_envelope("big", &envelope, &mut BTreeMap::new(), &mut |_| {})
        .await
        .unwrap();
    let ours = start.elapsed().as_secs_f64();

    // curl: create each upload and PATCH the same bytes, with the same certificate.
    let files = dir.path();
    std::fs::write(files.join("ca.pem"), pem("CERTIFICATE", &server.server_ca)).unwrap();
    std::fs::write(
        files.join("cert.pem"),
        pem("CERTIFICATE", &enrollment.client_certificate),
    )
    .unwrap();
    std::fs::write(
        files.join("key.pem"),
        pem("PRIVATE KEY", &enrollment.tls_key_pkcs8),
    )
    .unwrap();
    let curl = |args: &[&str]| {
        Command::new("curl")
            .args([
                "-sS",
                "--cacert",
                files.join("ca.pem").to_str().unwrap(),
                "--cert",
                files.join("cert.pem").to_str().unwrap(),
                "--key",
                files.join("key.pem").to_str().unwrap(),
                "-H",
                "Tus-Resumable: 1.0.0",
            ])
            .args(args)
            .output()
    };
    let mut curl_time = None;
    let start = Instant::now();
    for (i, part) in envelope.parts.iter().enumerate() {
        let path = files.join(format!("part-{i}"));
        std::fs::write(&path, part).unwrap();
        let Ok(created) = curl(&[
            "-i",
            "-X",
            "POST",
            "-H",
            &format!("Upload-Length: {}", part.len()),
            &format!("{}/v1/uploads", server.url),
        ]) else {
            break;
        };
        let headers = String::from_utf8_lossy(&created.stdout).to_string();
        let Some(location) = headers.lines().find_map(|l| {
            l.strip_prefix("location: ")
                .or_else(|| l.strip_prefix("Location: "))
        }) else {
            break;
        };
        let url = format!("{}{}", server.url, location.trim());
        curl(&[
            "-X",
            "PATCH",
            "-H",
            "Content-Type: application/offset+octet-stream",
            "-H",
            "Upload-Offset: 0",
            "--data-binary",
            &format!("@{}", path.display()),
            &url,
        ])
        .unwrap();
        if i + 1 == envelope.parts.len() {
            curl_time = Some(start.elapsed().as_secs_f64());
        }
    }
    let mb = total as f64 / 1e6;
    println!("upload of a 20-page envelope ({mb:.1} MB) over loopback TLS 1.3:");
    println!(
        "  fieldkit sync-client (upload + commit + receipt check): {:7.1} MB/s ({ours:.2} s)",
        mb / ours
    );
    match curl_time {
        Some(t) => println!(
            "  curl, same bytes, one process per request:             {:7.1} MB/s ({t:.2} s)   ratio ours/curl: {:.2}",
            mb / t,
            t / ours
        ),
        None => println!("  curl not available: install curl for the comparison"),
    }

    // 200 tablets at once.
    let tablets = 200;
    let mut clients = Vec::new();
    for i in 0..tablets {
        let code = format!("T{i:04}-CODE");
        server.enroll_code(&code, now()).unwrap();
        let enrollment = enroll(&server.url, &server.server_ca, &code, &format!("D{i}"))
            .await
            .unwrap();
        let device =
            DeviceSigningKey::from_pkcs8(&format!("D{i}"), &enrollment.signing_key_pkcs8).unwrap();
        let parts = [
            PlainPart::new(PartKind::CaseRecord, vec![i as u8; 2000]),
            PlainPart::new(PartKind::Page, vec![i as u8; 20_000]),
        ];
        let id = format!("many-{i}");
        let request = SealRequest {
            envelope_id: &id,
            case_number: "LV01/D/2026/000001-0",
            created_at: 0,
            parts: &parts,
        };
        let envelope = seal(&request, &enrollment.sealing_key, &device, &rng).unwrap();
        let client = SyncClient::new(
            &server.url,
            &server.server_ca,
            &enrollment.client_certificate,
            &enrollment.tls_key_pkcs8,
            &enrollment.receipt_public_key,
        )
        .unwrap();
        clients.push((id, envelope, client));
    }
    let start = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|(id, envelope, client)| {
            tokio::spawn(async move {
                let began = Instant::now();
                let result = client
                    .upload_envelope(&id, &envelope, &mut BTreeMap::new(), &mut |_| {})
                    .await;
                (id, result.is_ok(), began.elapsed().as_secs_f64())
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut failed = 0;
    for task in tasks {
        let (id, ok, latency) = task.await.unwrap();
        if !ok || server.meta.envelope(&id).unwrap().is_none() {
            failed += 1;
        }
        latencies.push(latency);
    }
    let elapsed = start.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let p = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q) as usize] * 1000.0;
    println!("{tablets} tablets committing at once (new TLS connection each, 2 parts, 22 KB):");
    println!(
        "  {:.0} envelopes/s, p50 {:.0} ms, p99 {:.0} ms, lost {failed}",
        tablets as f64 / elapsed,
        p(0.5),
        p(0.99)
    );
    server.stop();
}
