#![allow(clippy::unwrap_used)]
//! One tablet cannot fill the disk: uploads in flight and bytes pending commit are capped per
//! device (checked with the insert, so parallel creations cannot slip past), refused with their
//! own codes over HTTPS, and a sweep deletes expired partial uploads, files and rows.

use std::sync::Arc;

use fieldkit_sync_server::ServerError;
use fieldkit_sync_server::local::LocalServer;
use fieldkit_sync_server::store::{
    BlobStore, Device, DeviceState, FileBlobStore, MetadataStore, SqliteMetadata,
};
use fieldkit_sync_server::tls::certificate_fingerprint;
use fieldkit_sync_server::tus::{DeviceQuota, Swept, TusLimits, Uploads, sweep_expired};

struct Stores {
    dir: tempfile::TempDir,
    meta: Arc<SqliteMetadata>,
    blobs: FileBlobStore,
}

fn stores(devices: &[&str]) -> Stores {
    let dir = tempfile::tempdir().unwrap();
    let meta = Arc::new(SqliteMetadata::open(&dir.path().join("meta.sqlite")).unwrap());
    let blobs = FileBlobStore::open(&dir.path().join("blobs")).unwrap();
    for (i, device_id) in devices.iter().enumerate() {
        let device = Device {
            device_id: (*device_id).to_owned(),
            public_key: [i as u8; 32],
            state: DeviceState::Active,
        };
        meta.add_device(&device, 0).unwrap();
    }
    Stores { dir, meta, blobs }
}

const QUOTA: DeviceQuota = DeviceQuota {
    uploads_in_flight: 2,
    pending_bytes: 100,
};

fn uploads(s: &Stores) -> Uploads<'_> {
    Uploads {
        meta: s.meta.as_ref(),
        blobs: &s.blobs,
        limits: TusLimits {
            max_size: 1000,
            expiry_seconds: 3600,
            quota: QUOTA,
        },
    }
}

fn code(result: Result<impl Sized, ServerError>) -> &'static str {
    match result {
        Ok(_) => "created",
        Err(error) => error.code(),
    }
}

#[test]
fn a_device_is_held_to_its_uploads_in_flight_and_pending_bytes() {
    let s = stores(&["T50", "T51"]);
    let u = uploads(&s);
    let first = u.create("T50", 40, 0).unwrap();
    u.create("T50", 40, 0).unwrap();
    let busy = u.create("T50", 10, 0).unwrap_err();
    assert_eq!((busy.status(), busy.code()), (429, "too_many_uploads"));
    // Another tablet has its own share.
    assert_eq!(code(u.create("T51", 90, 0)), "created");

    // Finished but not committed: no longer in flight, still pending.
    u.append(&first.upload_id, "T50", 0, &[1; 40], None, 1)
        .unwrap();
    assert_eq!(code(u.create("T50", 30, 1)), "pending_bytes_quota");
    let last = u.create("T50", 20, 1).unwrap();
    // Ended uploads give their share back.
    u.terminate(&last.upload_id, "T50", 2).unwrap();
    assert_eq!(code(u.create("T50", 20, 2)), "created");
    // So do expired ones.
    assert_eq!(code(u.create("T50", 100, 3700)), "created");

    let full = u.create("T50", 1, 3700).unwrap_err();
    assert_eq!((full.status(), full.code()), (507, "pending_bytes_quota"));
}

#[test]
fn the_same_part_uploaded_again_counts_once() {
    let s = stores(&["T56"]);
    let u = uploads(&s);
    // A tablet that lost its upload addresses (restarted mid-sync) uploads a part again: the
    // server keeps one blob, and the quota counts it once.
    for _ in 0..3 {
        let again = u.create("T56", 40, 0).unwrap();
        u.append(&again.upload_id, "T56", 0, &[9; 40], None, 1)
            .unwrap();
    }
    assert_eq!(code(u.create("T56", 60, 1)), "created");
    assert_eq!(code(u.create("T56", 1, 1)), "pending_bytes_quota");
}

#[test]
fn parallel_creations_cannot_slip_past_the_quota() {
    let s = stores(&["T52"]);
    let quota = DeviceQuota {
        uploads_in_flight: 5,
        pending_bytes: 1_000_000,
    };
    let created: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let meta = s.meta.clone();
                let blobs = &s.blobs;
                scope.spawn(move || {
                    let u = Uploads {
                        meta: meta.as_ref(),
                        blobs,
                        limits: TusLimits {
                            quota,
                            ..TusLimits::default()
                        },
                    };
                    usize::from(u.create("T52", 10, 0).is_ok())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(created, 5);
}

#[test]
fn the_sweeper_deletes_expired_partial_uploads_and_orphans_and_keeps_the_rest() {
    let s = stores(&["T53"]);
    let u = uploads(&s);
    let partial = s.dir.path().join("blobs/partial");
    let expired = u.create("T53", 50, 0).unwrap();
    u.append(&expired.upload_id, "T53", 0, &[2; 20], None, 1)
        .unwrap();
    let finished = u.create("T53", 10, 0).unwrap();
    let blob = u
        .append(&finished.upload_id, "T53", 0, &[3; 10], None, 1)
        .unwrap()
        .blob
        .unwrap();
    let fresh = u.create("T53", 30, 3000).unwrap();
    u.append(&fresh.upload_id, "T53", 0, &[4; 5], None, 3001)
        .unwrap();
    // A partial file whose row is gone (a crash between the two deletions), and a file that
    // is not an upload's.
    let orphan = "0123456789abcdef0123456789abcdef";
    std::fs::write(partial.join(orphan), b"left over").unwrap();
    std::fs::write(partial.join("README"), b"not ours").unwrap();
    assert!(partial.join(&expired.upload_id).exists());

    let swept = sweep_expired(s.meta.as_ref(), &s.blobs, 3600).unwrap();
    assert_eq!(
        swept,
        Swept {
            expired_uploads: 1,
            orphaned_partials: 1
        }
    );
    assert!(!partial.join(&expired.upload_id).exists());
    assert!(matches!(
        s.meta.upload(&expired.upload_id),
        Err(ServerError::NotFound)
    ));
    assert!(!partial.join(orphan).exists());
    assert!(partial.join("README").exists());
    // The finished blob and the upload still in time stay.
    assert_eq!(s.blobs.get(&blob).unwrap(), vec![3; 10]);
    assert!(partial.join(&fresh.upload_id).exists());
    assert_eq!(u.status(&fresh.upload_id, "T53", 3600).unwrap().offset, 5);
    // A second sweep finds nothing more.
    assert_eq!(
        sweep_expired(s.meta.as_ref(), &s.blobs, 3600).unwrap(),
        Swept::default()
    );
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A tablet's HTTPS client with the certificate it got at enrollment.
fn tablet(server: &LocalServer, enrollment: &fieldkit_sync_client::Enrollment) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(
            server.server_ca.clone(),
        ))
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .unwrap()
    .with_root_certificates(roots)
    .with_client_auth_cert(
        vec![rustls::pki_types::CertificateDer::from(
            enrollment.client_certificate.clone(),
        )],
        rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
            enrollment.tls_key_pkcs8.to_vec(),
        )),
    )
    .unwrap();
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_over_https_carry_their_own_codes() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(&dir.path().join("data"), now)
        .await
        .unwrap();
    server
        .meta
        .add_enroll_code(&certificate_fingerprint(b"555444333"), now() + 600)
        .unwrap();
    let enrollment =
        fieldkit_sync_client::enroll(&server.url, &server.server_ca, "555444333", "T54")
            .await
            .unwrap();
    let client = tablet(&server, &enrollment);
    let create = |length: u64| {
        client
            .post(format!("{}/v1/uploads", server.url))
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", length.to_string())
            .send()
    };
    let quota = DeviceQuota::default();
    let full_part = TusLimits::default().max_size;
    // Full-size parts fill the bytes pending commit; one more byte is refused.
    for _ in 0..quota.pending_bytes / full_part {
        assert_eq!(create(full_part).await.unwrap().status(), 201);
    }
    let refused = create(1).await.unwrap();
    assert_eq!(refused.status(), 507);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "pending_bytes_quota");

    // A second tablet fills its uploads in flight with small ones.
    server
        .meta
        .add_enroll_code(&certificate_fingerprint(b"555444222"), now() + 600)
        .unwrap();
    let second = fieldkit_sync_client::enroll(&server.url, &server.server_ca, "555444222", "T55")
        .await
        .unwrap();
    let client = tablet(&server, &second);
    for _ in 0..quota.uploads_in_flight {
        let created = client
            .post(format!("{}/v1/uploads", server.url))
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", "1")
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
    }
    let refused = client
        .post(format!("{}/v1/uploads", server.url))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "too_many_uploads");
}
