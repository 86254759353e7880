#![allow(clippy::unwrap_used)]
//! The tablet's client against the real server on loopback with real TLS: enroll with a code,
//! upload and commit sealed cases, verify receipts — and through a proxy that cuts the
//! connection at random byte offsets at least 100 times (CI; the soak, `tests/soak.sh`, sets
//! `FIELDKIT_SOAK_CONNECTION_CUTS=1000` or more), every envelope still arrives exactly once,
//! resuming from the server's offset, with at most about one chunk re-sent per cut. That test
//! prints its figures as one line (`figures: cuts=… envelopes=… lost=0 duplicates=0 …`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use fieldkit_domain::workflow::CaseState;
use fieldkit_protocol::{DeviceSigningKey, PartKind, PlainPart, SealRequest, SealingKeyPair, seal};
use fieldkit_sync_client::{SyncClient, SyncError, enroll};
use fieldkit_sync_server::commit::ServerSigningKey;
use fieldkit_sync_server::http::{AppState, router, serve};
use fieldkit_sync_server::store::{BlobStore, FileBlobStore, MetadataStore, SqliteMetadata};
use fieldkit_sync_server::tls::{CertificateAuthority, certificate_fingerprint, server_config};
use fieldkit_sync_server::tus::TusLimits;
use ring::digest::{SHA256, digest};
use ring::rand::SystemRandom;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn now() -> i64 {
    1_795_000_000
}

struct Harness {
    port: u16,
    server_ca: Vec<u8>,
    meta: Arc<SqliteMetadata>,
    sealing: SealingKeyPair,
    dir: tempfile::TempDir,
}

async fn start_server(codes: &[&str]) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let meta = Arc::new(SqliteMetadata::open(&dir.path().join("meta.sqlite")).unwrap());
    for code in codes {
        meta.add_enroll_code(&certificate_fingerprint(code.as_bytes()), now() + 600)
            .unwrap();
    }
    let server_ca = CertificateAuthority::generate("test server CA").unwrap();
    let device_ca = CertificateAuthority::generate("test device CA").unwrap();
    let (cert, key) = server_ca.issue_server(&["localhost".to_owned()]).unwrap();
    let tls = server_config(&[device_ca.certificate_der().clone()], vec![cert], key).unwrap();
    let sealing = SealingKeyPair::generate("seal-1", &SystemRandom::new()).unwrap();
    let state = AppState {
        meta: meta.clone(),
        blobs: Arc::new(FileBlobStore::open(&dir.path().join("blobs")).unwrap()),
        limits: TusLimits {
            max_size: 4 * 1024 * 1024,
            expiry_seconds: 3600,
            ..TusLimits::default()
        },
        receipt_key: ServerSigningKey::generate("receipt-1").unwrap(),
        sealing_key: sealing.public_key(),
        device_ca,
        clock: now,
        metrics: Default::default(),
        personal: Arc::new(
            fieldkit_sync_server::personal_data::PersonalDataKey::generate().unwrap(),
        ),
        public_tracking_url: None,
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(serve(listener, Arc::new(tls), router(Arc::new(state))));
    Harness {
        port,
        server_ca: server_ca.certificate_der().to_vec(),
        meta,
        sealing,
        dir,
    }
}

fn sealed_case(
    envelope_id: &str,
    device: &DeviceSigningKey,
    harness: &Harness,
    seed: u8,
) -> fieldkit_protocol::SealedEnvelope {
    let mut parts = vec![PlainPart::new(
        PartKind::CaseRecord,
        format!("{{\"case\":\"{envelope_id}\"}}").into_bytes(),
    )];
    parts.extend((0..3u8).map(|i| {
        PlainPart::new(
            PartKind::Page,
            vec![seed ^ i; 150_000 + usize::from(i) * 1000],
        )
    }));
    // A case's number names the device that seals it; the server refuses any other.
    let case_number = format!("LV01/{}/2026/000001-5", device.device_id());
    let request = SealRequest {
        envelope_id,
        case_number: &case_number,
        created_at: now(),
        parts: &parts,
    };
    seal(
        &request,
        &harness.sealing.public_key(),
        device,
        &SystemRandom::new(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enroll_upload_commit_and_receipt() {
    let harness = start_server(&["AAAA-1111"]).await;
    let base = format!("https://localhost:{}", harness.port);
    let refused = enroll(&base, &harness.server_ca, "WRONG-0000", "T07")
        .await
        .unwrap_err();
    assert!(
        matches!(refused, SyncError::Refused { status: 403, .. }),
        "{refused}"
    );
    let enrollment = enroll(&base, &harness.server_ca, "AAAA-1111", "T07")
        .await
        .unwrap();
    let device = DeviceSigningKey::from_pkcs8("T07", &enrollment.signing_key_pkcs8).unwrap();
    let client = SyncClient::new(
        &base,
        &harness.server_ca,
        &enrollment.client_certificate,
        &enrollment.tls_key_pkcs8,
        &enrollment.receipt_public_key,
    )
    .unwrap();
    let envelope = sealed_case("env-a", &device, &harness, 1);
    let mut seen = Vec::new();
    let (_, receipt) = client
        .upload_envelope("env-a", &envelope, &mut BTreeMap::new(), &mut |p| {
            seen.push(p)
        })
        .await
        .unwrap();
    assert_eq!(receipt.envelope_id, "env-a");
    let last = seen.last().unwrap();
    assert_eq!(last.bytes_done, last.bytes_total);
    assert!(harness.meta.envelope("env-a").unwrap().is_some());

    // Revoked: refused, and not worth retrying.
    harness.meta.revoke_device("T07").unwrap();
    let err = client
        .upload_envelope(
            "env-b",
            &sealed_case("env-b", &device, &harness, 2),
            &mut BTreeMap::new(),
            &mut |_| {},
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, SyncError::Refused { status: 403, .. }) && !err.is_retryable(),
        "{err}"
    );
}

/// Forwards loopback connections to the server, cutting them after a random number of
/// client bytes until `cuts_wanted` cuts have been made.
struct CuttingProxy {
    port: u16,
    cuts: Arc<AtomicU64>,
    client_bytes: Arc<AtomicU64>,
}

async fn cutting_proxy(server_port: u16, cuts_wanted: u64, seed: u64) -> CuttingProxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let cuts = Arc::new(AtomicU64::new(0));
    let client_bytes = Arc::new(AtomicU64::new(0));
    let (cuts_in, bytes_in) = (cuts.clone(), client_bytes.clone());
    tokio::spawn(async move {
        let mut state = seed | 1;
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                return;
            };
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Cut somewhere in the first 1–60 KB the tablet sends on this connection.
            let budget = if cuts_in.load(Ordering::SeqCst) < cuts_wanted {
                Some(1_000 + state % 60_000)
            } else {
                None
            };
            let (cuts, bytes) = (cuts_in.clone(), bytes_in.clone());
            tokio::spawn(async move {
                let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", server_port)).await else {
                    return;
                };
                let (mut in_read, mut in_write) = inbound.split();
                let (mut out_read, mut out_write) = outbound.split();
                let upstream = async {
                    let mut sent = 0u64;
                    let mut buffer = vec![0u8; 16 * 1024];
                    loop {
                        let n = match in_read.read(&mut buffer).await {
                            Ok(0) | Err(_) => return false,
                            Ok(n) => n,
                        };
                        let n = match budget {
                            Some(limit) if sent + n as u64 >= limit => {
                                let allowed = (limit - sent) as usize;
                                let _ = out_write.write_all(&buffer[..allowed]).await;
                                bytes.fetch_add(allowed as u64, Ordering::SeqCst);
                                return true;
                            }
                            _ => n,
                        };
                        if out_write.write_all(&buffer[..n]).await.is_err() {
                            return false;
                        }
                        sent += n as u64;
                        bytes.fetch_add(n as u64, Ordering::SeqCst);
                    }
                };
                let downstream = tokio::io::copy(&mut out_read, &mut in_write);
                let cut = tokio::select! {
                    cut = upstream => cut,
                    _ = downstream => false,
                };
                if cut {
                    cuts.fetch_add(1, Ordering::SeqCst);
                }
                // Dropping both sockets here is the cut.
            });
        }
    });
    CuttingProxy {
        port,
        cuts,
        client_bytes,
    }
}

/// How many cuts: `FIELDKIT_SOAK_CONNECTION_CUTS`, or 100 (what CI runs).
const CUTS_ENV: &str = "FIELDKIT_SOAK_CONNECTION_CUTS";
const CI_CUTS: u64 = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_connections_resume_and_every_envelope_arrives_once() {
    let cuts_wanted: u64 = std::env::var(CUTS_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(CI_CUTS);
    let started = std::time::Instant::now();
    let harness = start_server(&["BBBB-2222"]).await;
    let direct = format!("https://localhost:{}", harness.port);
    let enrollment = enroll(&direct, &harness.server_ca, "BBBB-2222", "T08")
        .await
        .unwrap();
    let device = DeviceSigningKey::from_pkcs8("T08", &enrollment.signing_key_pkcs8).unwrap();

    let seed = 20_261_124;
    println!("cutting proxy seed {seed}, {cuts_wanted} cuts wanted ({CUTS_ENV})");
    let proxy = cutting_proxy(harness.port, cuts_wanted, seed).await;
    let through = format!("https://localhost:{}", proxy.port);
    let mut client = SyncClient::new(
        &through,
        &harness.server_ca,
        &enrollment.client_certificate,
        &enrollment.tls_key_pkcs8,
        &enrollment.receipt_public_key,
    )
    .unwrap();
    client.chunk_size = 16 * 1024;

    // Envelopes go through the proxy until it has cut as often as wanted: each one is about
    // 450 KB, some thirty cuts' worth, so a thousand cuts take a few dozen envelopes.
    let mut payload = 0u64;
    let mut attempts = 0u64;
    let mut sent_envelopes = Vec::new();
    while sent_envelopes.len() < 8 || proxy.cuts.load(Ordering::SeqCst) < cuts_wanted {
        let index = sent_envelopes.len();
        let id = format!("env-cut-{index}");
        let envelope = sealed_case(&id, &device, &harness, index as u8);
        payload += envelope.parts.iter().map(|p| p.len() as u64).sum::<u64>();
        let mut locations = BTreeMap::new();
        let mut tries = 0;
        loop {
            attempts += 1;
            tries += 1;
            assert!(tries < 500, "no progress through the proxy with {id}");
            match client
                .upload_envelope(&id, &envelope, &mut locations, &mut |_| {})
                .await
            {
                Ok((_, receipt)) => {
                    assert_eq!(receipt.envelope_id, id);
                    break;
                }
                Err(error) => assert!(error.is_retryable(), "a cut must be retryable, got {error}"),
            }
        }
        sent_envelopes.push((id, envelope));
    }
    let cuts = proxy.cuts.load(Ordering::SeqCst);
    let sent = proxy.client_bytes.load(Ordering::SeqCst);
    println!(
        "{cuts} cuts, {attempts} attempts, {payload} payload bytes, {sent} bytes sent through the proxy"
    );
    assert!(cuts >= cuts_wanted, "only {cuts} cuts");

    // Exactly once: each envelope is stored as it was sealed, with every part in the blob
    // store, and the server recorded its arrival once (a second commit of the same envelope
    // would add a second «received» event to the case).
    let blobs = FileBlobStore::open(&harness.dir.path().join("blobs")).unwrap();
    let mut lost = Vec::new();
    for (id, envelope) in &sent_envelopes {
        let stored = harness.meta.envelope(id).unwrap();
        let whole = stored.is_some_and(|stored| {
            stored.manifest == envelope.manifest_bytes && stored.signature == envelope.signature
        }) && envelope
            .parts
            .iter()
            .all(|part| blobs.contains(&hex::encode(digest(&SHA256, part))).unwrap());
        if !whole {
            lost.push(id.clone());
        }
    }
    let received = harness
        .meta
        .status_events("T08", 0, 100_000)
        .unwrap()
        .iter()
        .filter(|event| event.status.name() == CaseState::Received.name())
        .count();
    let duplicates = received.saturating_sub(sent_envelopes.len());
    println!(
        "figures: cuts={cuts} envelopes={} attempts={attempts} payload_bytes={payload} lost={} duplicates={duplicates} seconds={:.1}",
        sent_envelopes.len(),
        lost.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(lost.is_empty(), "not stored whole: {lost:?}");
    assert_eq!(
        received,
        sent_envelopes.len(),
        "each envelope's arrival recorded exactly once"
    );
    // Everything the tablet sent beyond the payload: at most one chunk per cut, plus TLS
    // handshakes and HTTP headers (generously 6 KiB per attempt and 2 KiB per request).
    let requests = payload / client.chunk_size as u64 + attempts * 6;
    let allowance = cuts * client.chunk_size as u64 + attempts * 6 * 1024 + requests * 2 * 1024;
    assert!(
        sent <= payload + allowance,
        "sent {sent} for {payload} payload with {cuts} cuts"
    );
}

/// The tablet locks in the middle of a page: the upload stops before its next chunk, keeps what
/// the server acknowledged, commits nothing, and the next call resumes from the server's offset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_upload_ends_before_its_next_chunk_and_resumes_from_the_server_offset() {
    use std::sync::atomic::AtomicBool;

    let harness = start_server(&["CCCC-3333"]).await;
    let base = format!("https://localhost:{}", harness.port);
    let enrollment = enroll(&base, &harness.server_ca, "CCCC-3333", "T07")
        .await
        .unwrap();
    let device = DeviceSigningKey::from_pkcs8("T07", &enrollment.signing_key_pkcs8).unwrap();
    let mut client = SyncClient::new(
        &base,
        &harness.server_ca,
        &enrollment.client_certificate,
        &enrollment.tls_key_pkcs8,
        &enrollment.receipt_public_key,
    )
    .unwrap();
    client.chunk_size = 32 * 1024;
    let envelope = sealed_case("env-stop", &device, &harness, 3);
    const LOCK_AFTER: u64 = 100_000;

    let locked = AtomicBool::new(false);
    let mut before_lock = Vec::new();
    let mut locations = BTreeMap::new();
    let stopped = client
        .upload_envelope_until(
            "env-stop",
            &envelope,
            &mut locations,
            &mut |p| {
                before_lock.push(p);
                if p.bytes_done > LOCK_AFTER {
                    locked.store(true, Ordering::SeqCst);
                }
            },
            &|| locked.load(Ordering::SeqCst),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(stopped, SyncError::Stopped) && stopped.is_retryable(),
        "{stopped}"
    );
    // Not one chunk after the lock, and the envelope is not committed.
    let at_lock = *before_lock.last().unwrap();
    assert_eq!(
        before_lock
            .iter()
            .filter(|p| p.bytes_done > LOCK_AFTER)
            .count(),
        1
    );
    assert!(at_lock.bytes_done < at_lock.bytes_total);
    assert!(harness.meta.envelope("env-stop").unwrap().is_none());
    assert!(locations.contains_key(&1), "the page's upload is kept");

    let mut after_unlock = Vec::new();
    let (_, receipt) = client
        .upload_envelope("env-stop", &envelope, &mut locations, &mut |p| {
            after_unlock.push(p)
        })
        .await
        .unwrap();
    assert_eq!(receipt.envelope_id, "env-stop");
    assert!(harness.meta.envelope("env-stop").unwrap().is_some());
    // The first chunk after unlock continues where the server was, not from the start.
    let first = after_unlock[0];
    assert!(
        first.bytes_done > at_lock.bytes_done
            && first.bytes_done <= at_lock.bytes_done + client.chunk_size as u64,
        "resumed at {} after stopping at {}",
        first.bytes_done,
        at_lock.bytes_done
    );
    assert_eq!(after_unlock.last().unwrap().bytes_done, at_lock.bytes_total);
}
