#![allow(clippy::unwrap_used)]
//! The API over real mutual TLS on loopback, with certificates made for the test: enrollment
//! with a one-time code, tus uploads with their status codes, commit and receipt, revocation.

use std::sync::Arc;

use base64::Engine;
use fieldkit_protocol::{
    DeviceSigningKey, PartKind, PlainPart, SealRequest, SealingKeyPair, SignedReceipt, seal,
};
use fieldkit_sync_server::commit::ServerSigningKey;
use fieldkit_sync_server::http::{AppState, CommitBody, EnrollResponse, router, serve};
use fieldkit_sync_server::metrics::Metrics;
use fieldkit_sync_server::store::{FileBlobStore, MetadataStore, SqliteMetadata};
use fieldkit_sync_server::tls::{CertificateAuthority, certificate_fingerprint, server_config};
use fieldkit_sync_server::tus::TusLimits;
use ring::digest::{SHA256, digest};
use ring::rand::SystemRandom;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

const CODE: &str = "K7Q2-99XA";

/// The bearer token this test server's /metrics asks for.
const METRICS_TOKEN: &str = "test-metrics-token-0123456789abcdef";

fn now() -> i64 {
    1_795_000_000
}

fn client(
    server_ca: &CertificateDer<'static>,
    identity: Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>,
) -> reqwest::Client {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(server_ca.clone()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots);
    let config = match identity {
        Some((cert, key)) => builder.with_client_auth_cert(vec![cert], key).unwrap(),
        None => builder.with_no_client_auth(),
    };
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .build()
        .unwrap()
}

struct Running {
    base: String,
    server_ca: CertificateDer<'static>,
    meta: Arc<SqliteMetadata>,
    receipt_public_key: Vec<u8>,
    _dir: tempfile::TempDir,
}

async fn start() -> Running {
    let dir = tempfile::tempdir().unwrap();
    let meta = Arc::new(SqliteMetadata::open(&dir.path().join("meta.sqlite")).unwrap());
    let blobs = Arc::new(FileBlobStore::open(&dir.path().join("blobs")).unwrap());
    meta.add_enroll_code(&certificate_fingerprint(CODE.as_bytes()), now() + 600)
        .unwrap();
    let server_ca = CertificateAuthority::generate("fieldkit test server CA").unwrap();
    let device_ca = CertificateAuthority::generate("fieldkit test device CA").unwrap();
    let (cert, key) = server_ca.issue_server(&["localhost".to_owned()]).unwrap();
    let tls = server_config(&[device_ca.certificate_der().clone()], vec![cert], key).unwrap();
    let receipt_key = ServerSigningKey::generate("receipt-1").unwrap();
    let receipt_public_key = receipt_key.public_key();
    let sealing = SealingKeyPair::generate("seal-1", &SystemRandom::new()).unwrap();
    let state = AppState {
        meta: meta.clone(),
        blobs,
        limits: TusLimits {
            max_size: 1024 * 1024,
            expiry_seconds: 3600,
            ..TusLimits::default()
        },
        receipt_key,
        sealing_key: sealing.public_key(),
        device_ca,
        clock: now,
        metrics: Metrics::with_token(METRICS_TOKEN).unwrap(),
        personal: Arc::new(
            fieldkit_sync_server::personal_data::PersonalDataKey::generate().unwrap(),
        ),
        public_tracking_url: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(serve(listener, Arc::new(tls), router(Arc::new(state))));
    Running {
        base: format!("https://localhost:{port}"),
        server_ca: server_ca.certificate_der().clone(),
        meta,
        receipt_public_key,
        _dir: dir,
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolled_tablet_uploads_commits_and_is_refused_once_revoked() {
    let server = start().await;
    let anonymous = client(&server.server_ca, None);
    assert_eq!(
        anonymous
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Device endpoints need the client certificate from enrollment.
    let response = anonymous
        .post(format!("{}/v1/uploads", server.base))
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    // Enroll: the tablet makes its keys; the server signs a certificate for the TLS key.
    let device = DeviceSigningKey::generate("T07", &SystemRandom::new()).unwrap();
    let tls_key = rcgen::KeyPair::generate().unwrap();
    let enroll = serde_json::json!({
        "code": CODE,
        "device_id": "T07",
        "signing_public_key": hex::encode(device.public_key().bytes),
        "tls_public_key": b64(tls_key.public_key_raw()),
    });
    let response = anonymous
        .post(format!("{}/v1/enroll", server.base))
        .json(&enroll)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let enrolled: EnrollResponse = response.json().await.unwrap();
    // The code works once.
    let again = anonymous
        .post(format!("{}/v1/enroll", server.base))
        .json(&enroll)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 403);
    assert_eq!(
        again.json::<serde_json::Value>().await.unwrap()["code"],
        "invalid_enroll_code"
    );

    let certificate = CertificateDer::from(
        base64::engine::general_purpose::STANDARD
            .decode(&enrolled.client_certificate)
            .unwrap(),
    );
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(tls_key.serialize_der()));
    let tablet = client(&server.server_ca, Some((certificate, key)));

    // tus: what the server offers, and what it refuses.
    let options = tablet
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/uploads", server.base),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(options.headers()["Tus-Version"], "1.0.0");
    assert_eq!(options.headers()["Tus-Checksum-Algorithm"], "sha1,sha256");
    let no_version = tablet
        .post(format!("{}/v1/uploads", server.base))
        .header("Upload-Length", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(no_version.status(), 412);

    // Seal a case and upload its parts, resuming after a half chunk.
    let sealing_key = SealingKeyPair::generate("seal-1", &SystemRandom::new()).unwrap();
    let parts = vec![
        PlainPart::new(PartKind::CaseRecord, b"{}".to_vec()),
        PlainPart::new(PartKind::Page, vec![9u8; 100_000]),
    ];
    let request = SealRequest {
        envelope_id: "env-1",
        case_number: "LV01/T07/2026/000001-5",
        created_at: 0,
        parts: &parts,
    };
    let envelope = seal(
        &request,
        &sealing_key.public_key(),
        &device,
        &SystemRandom::new(),
    )
    .unwrap();
    for part in &envelope.parts {
        let created = tablet
            .post(format!("{}/v1/uploads", server.base))
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", part.len().to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let location = format!(
            "{}{}",
            server.base,
            created.headers()["Location"].to_str().unwrap()
        );
        let half = part.len() / 2;
        let patch = |offset: usize, bytes: Vec<u8>, content_type: &'static str| {
            let checksum = format!("sha256 {}", b64(digest(&SHA256, &bytes).as_ref()));
            tablet
                .patch(&location)
                .header("Tus-Resumable", "1.0.0")
                .header("Content-Type", content_type)
                .header("Upload-Offset", offset.to_string())
                .header("Upload-Checksum", checksum)
                .body(bytes)
                .send()
        };
        assert_eq!(
            patch(0, part[..half].to_vec(), "text/plain")
                .await
                .unwrap()
                .status(),
            415
        );
        assert_eq!(
            patch(0, part[..half].to_vec(), "application/offset+octet-stream")
                .await
                .unwrap()
                .status(),
            204
        );
        assert_eq!(
            patch(0, part[..half].to_vec(), "application/offset+octet-stream")
                .await
                .unwrap()
                .status(),
            409
        );
        let head = tablet
            .head(&location)
            .header("Tus-Resumable", "1.0.0")
            .send()
            .await
            .unwrap();
        let offset: usize = head.headers()["Upload-Offset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let done = patch(
            offset,
            part[offset..].to_vec(),
            "application/offset+octet-stream",
        )
        .await
        .unwrap();
        assert_eq!(done.status(), 204);
        assert_eq!(
            done.headers()["Upload-Offset"].to_str().unwrap(),
            part.len().to_string()
        );
    }

    // Commit: a receipt signed by the server, the same again for the same envelope.
    let body = CommitBody {
        manifest: b64(&envelope.manifest_bytes),
        signature: b64(&envelope.signature),
    };
    let url = format!("{}/v1/envelopes/env-1", server.base);
    let receipt: SignedReceipt = tablet
        .put(&url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        receipt
            .verify(&server.receipt_public_key)
            .unwrap()
            .envelope_id,
        "env-1"
    );
    assert_eq!(
        hex::encode(&server.receipt_public_key),
        enrolled.receipt_public_key
    );
    let again: SignedReceipt = tablet
        .put(&url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again, receipt);

    // Metrics: counted by route template (no ids in labels), one envelope despite two commits.
    // Only with the configured bearer token.
    for refused in [None, Some("Bearer not-the-token"), Some(METRICS_TOKEN)] {
        let mut request = anonymous.get(format!("{}/metrics", server.base));
        if let Some(value) = refused {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{refused:?}");
        assert!(!response.text().await.unwrap().contains("fieldkit_"));
    }
    let metrics = anonymous
        .get(format!("{}/metrics", server.base))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("fieldkit_envelopes_committed_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            r#"fieldkit_requests_total{method="PATCH",route="/v1/uploads/{id}",status="409"} 2"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"route="/v1/enroll",status="403""#),
        "{metrics}"
    );
    assert!(!metrics.contains("env-1"), "{metrics}");

    // The OpenAPI document describes exactly the routes the server has: probe every operation
    // and find it counted under its own route template.
    let openapi: serde_json::Value = anonymous
        .get(format!("{}/v1/openapi.json", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut documented = Vec::new();
    for (path, operations) in openapi["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            documented.push((method.to_uppercase(), path.clone()));
            let url = format!(
                "{}{}",
                server.base,
                path.replace("{id}", "0123456789abcdef0123456789abcdef")
            );
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            tablet
                .request(method, url)
                .header("Tus-Resumable", "1.0.0")
                .send()
                .await
                .unwrap();
        }
    }
    // Only with the configured bearer token.
    for refused in [None, Some("Bearer not-the-token"), Some(METRICS_TOKEN)] {
        let mut request = anonymous.get(format!("{}/metrics", server.base));
        if let Some(value) = refused {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{refused:?}");
        assert!(!response.text().await.unwrap().contains("fieldkit_"));
    }
    let metrics = anonymous
        .get(format!("{}/metrics", server.base))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (method, path) in &documented {
        assert!(
            metrics.contains(&format!("method=\"{method}\",route=\"{path}\"")),
            "{method} {path} is documented but not served"
        );
    }
    for line in metrics
        .lines()
        .filter(|l| l.starts_with("fieldkit_requests_total{"))
    {
        let method = line
            .split("method=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let route = line
            .split("route=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert!(
            documented.contains(&(method.to_owned(), route.to_owned())),
            "{method} {route} is served but not documented"
        );
    }

    // Revoked: the very next request is refused.
    server.meta.revoke_device("T07").unwrap();
    let refused = tablet.put(&url).json(&body).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.json::<serde_json::Value>().await.unwrap()["code"],
        "device_revoked"
    );
}
