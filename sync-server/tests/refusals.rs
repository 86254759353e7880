#![allow(clippy::unwrap_used)]
//! Every refusal over real TLS, each with its status and stable error code.

use std::sync::Arc;

use base64::Engine;
use fieldkit_protocol::{DeviceSigningKey, PartKind, PlainPart, SealRequest, seal};
use fieldkit_sync_client::enroll;
use fieldkit_sync_server::local::LocalServer;
use fieldkit_sync_server::store::MetadataStore;
use ring::rand::SystemRandom;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

fn now() -> i64 {
    1_795_000_000
}

fn client(server_ca: &[u8], identity: Option<(Vec<u8>, Vec<u8>)>) -> reqwest::Client {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(server_ca.to_vec())).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots);
    let config = match identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from(cert)],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .build()
        .unwrap()
}

async fn code_of(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    (status, body["code"].as_str().unwrap_or("").to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_has_its_status_and_code() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(&dir.path().join("data"), now)
        .await
        .unwrap();
    let base = server.url.clone();
    server.enroll_code("CODE-0001", now()).unwrap();
    let enrollment = enroll(&base, &server.server_ca, "CODE-0001", "T07")
        .await
        .unwrap();
    let tablet = client(
        &server.server_ca,
        Some((
            enrollment.client_certificate.clone(),
            enrollment.tls_key_pkcs8.to_vec(),
        )),
    );
    let anonymous = client(&server.server_ca, None);
    let tus = |request: reqwest::RequestBuilder| request.header("Tus-Resumable", "1.0.0");

    // No client certificate.
    let response = tus(anonymous.post(format!("{base}/v1/uploads")))
        .header("Upload-Length", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(code_of(response).await, (401, "unauthenticated".into()));

    // A certificate from another CA: the TLS handshake itself fails.
    let stranger_ca =
        fieldkit_sync_server::tls::CertificateAuthority::generate("another CA").unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = stranger_ca
        .issue_device("T07", key.public_key_raw())
        .unwrap();
    let stranger = client(
        &server.server_ca,
        Some((cert.to_vec(), key.serialize_der())),
    );
    assert!(
        tus(stranger.post(format!("{base}/v1/uploads")))
            .header("Upload-Length", "10")
            .send()
            .await
            .is_err()
    );

    // A replayed enrollment code.
    let replay = enroll(&base, &server.server_ca, "CODE-0001", "T08")
        .await
        .unwrap_err();
    assert!(
        matches!(&replay, fieldkit_sync_client::SyncError::Refused { status: 403, code, .. } if code == "invalid_enroll_code"),
        "{replay}"
    );

    // Malformed JSON and an oversized JSON body.
    let response = tablet
        .put(format!("{base}/v1/envelopes/env-1"))
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(code_of(response).await, (400, "malformed_request".into()));
    // A feed's cursor that is not a number, or is given twice: the same JSON refusal.
    for query in ["since=soon", "since=1&since=2", "since=-1"] {
        let feed = if query == "since=-1" {
            "catalog"
        } else {
            "status"
        };
        let response = tablet
            .get(format!("{base}/v1/{feed}?{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            code_of(response).await,
            (400, "malformed_request".into()),
            "{feed}?{query}"
        );
    }
    let huge = format!("{{\"code\":\"{}\"}}", "x".repeat(300 * 1024));
    let response = anonymous
        .post(format!("{base}/v1/enroll"))
        .header("Content-Type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(code_of(response).await, (413, "too_large".into()));

    // A chunk whose checksum does not match, and a chunk larger than the server takes.
    let created = tus(tablet.post(format!("{base}/v1/uploads")))
        .header("Upload-Length", "10")
        .send()
        .await
        .unwrap();
    let location = format!("{base}{}", created.headers()["Location"].to_str().unwrap());
    let patch = |body: Vec<u8>, checksum: &str| {
        tus(tablet.patch(&location))
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", "0")
            .header("Upload-Checksum", checksum.to_owned())
            .body(body)
            .send()
    };
    let wrong = format!(
        "sha256 {}",
        base64::engine::general_purpose::STANDARD.encode([0u8; 32])
    );
    assert_eq!(
        code_of(patch(vec![1; 10], &wrong).await.unwrap()).await,
        (460, "checksum_mismatch".into())
    );
    // Over the chunk limit: refused with 413 — or, when the server answers and closes before
    // the client has finished writing 9 MiB, the client sees the connection close instead.
    // Either way nothing was stored: the upload is still at offset 0.
    match patch(vec![1; 9 * 1024 * 1024], &wrong).await {
        Ok(response) => assert_eq!(code_of(response).await, (413, "too_large".into())),
        Err(error) => assert!(error.is_request() || error.is_body(), "{error:?}"),
    }
    // The client may pick the connection the server is closing after that 413 from its pool
    // (hyper: IncompleteMessage); a second try goes over a fresh one.
    let offset = match tus(tablet.head(&location)).send().await {
        Ok(response) => response,
        Err(error) if error.is_request() => tus(tablet.head(&location)).send().await.unwrap(),
        Err(error) => panic!("{error:?}"),
    };
    assert_eq!(offset.headers()["Upload-Offset"], "0");

    // A path-traversal upload id never reaches the disk.
    let response = tus(tablet.head(format!("{base}/v1/uploads/..%2F..%2Fkeys%2Fserver.key")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let response = tus(tablet.delete(format!("{base}/v1/uploads/..%2F..%2Fkeys%2Fserver.key")))
        .send()
        .await
        .unwrap();
    assert_eq!(code_of(response).await, (404, "not_found".into()));

    // A manifest signed by another device, and one whose parts were never uploaded.
    let commit = |envelope: &fieldkit_protocol::SealedEnvelope| {
        let b64 = base64::engine::general_purpose::STANDARD;
        tablet
            .put(format!("{base}/v1/envelopes/env-1"))
            .json(&serde_json::json!({ "manifest": b64.encode(&envelope.manifest_bytes), "signature": b64.encode(&envelope.signature) }))
            .send()
    };
    let parts = [PlainPart::new(PartKind::CaseRecord, b"{}".to_vec())];
    let request = SealRequest {
        envelope_id: "env-1",
        case_number: "LV01/T07/2026/000001-5",
        created_at: 0,
        parts: &parts,
    };
    let other = DeviceSigningKey::generate("T07", &SystemRandom::new()).unwrap();
    let forged = seal(
        &request,
        &enrollment.sealing_key,
        &other,
        &SystemRandom::new(),
    )
    .unwrap();
    assert_eq!(
        code_of(commit(&forged).await.unwrap()).await,
        (400, "bad_envelope".into())
    );
    let own = DeviceSigningKey::from_pkcs8("T07", &enrollment.signing_key_pkcs8).unwrap();
    let unuploaded = seal(
        &request,
        &enrollment.sealing_key,
        &own,
        &SystemRandom::new(),
    )
    .unwrap();
    assert_eq!(
        code_of(commit(&unuploaded).await.unwrap()).await,
        (422, "missing_part".into())
    );

    // Oversized headers: the connection is refused before any handler runs.
    let big_header = "x".repeat(64 * 1024);
    let oversized = anonymous
        .get(format!("{base}/healthz"))
        .header("X-Padding", big_header)
        .send()
        .await;
    assert!(
        oversized
            .map(|r| r.status().is_client_error())
            .unwrap_or(true),
        "a 64 KiB header was accepted"
    );

    // A revoked device.
    server.meta.revoke_device("T07").unwrap();
    let response = tus(tablet.post(format!("{base}/v1/uploads")))
        .header("Upload-Length", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(code_of(response).await, (403, "device_revoked".into()));
}
