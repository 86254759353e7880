#![allow(clippy::unwrap_used)]
//! `/v1/enroll` over real TLS: the code is checked before the device CA signs anything, and
//! attempts are counted per address (parallel guesses each count) with a wait after five
//! failures that holds only the guessing address.

use std::net::IpAddr;
use std::sync::Arc;

use base64::Engine;
use fieldkit_sync_server::local::LocalServer;
use fieldkit_sync_server::store::{AttemptKey, AttemptStore, MetadataStore};
use fieldkit_sync_server::tls::certificate_fingerprint;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A client without a certificate whose connections come from `source`.
fn anonymous(server_ca: &[u8], source: &str) -> reqwest::Client {
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
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .local_address(source.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

fn request(code: &str, device_id: &str, tls_public_key: &[u8]) -> serde_json::Value {
    serde_json::json!({
        "code": code,
        "device_id": device_id,
        "signing_public_key": "ab".repeat(32),
        "tls_public_key": base64::engine::general_purpose::STANDARD.encode(tls_public_key),
    })
}

/// Status and error code of one enrollment.
async fn enroll(client: &reqwest::Client, base: &str, body: &serde_json::Value) -> (u16, String) {
    let response = client
        .post(format!("{base}/v1/enroll"))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").cloned();
    let body: serde_json::Value = response.json().await.unwrap();
    if status == 429 {
        assert!(retry_after.is_some(), "a wait says how long");
    }
    (
        status,
        body["code"].as_str().unwrap_or("certificate").to_owned(),
    )
}

async fn started() -> (tempfile::TempDir, LocalServer) {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(&dir.path().join("data"), now)
        .await
        .unwrap();
    (dir, server)
}

fn add_code(server: &LocalServer, code: &str) {
    server
        .meta
        .add_enroll_code(&certificate_fingerprint(code.as_bytes()), now() + 3600)
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_code_is_refused_before_anything_is_signed() {
    let (_dir, server) = started().await;
    let client = anonymous(&server.server_ca, "127.0.0.1");
    // Not a P-256 point: the device CA would refuse it. A wrong code is answered first, so the
    // CA was never asked.
    let not_a_key = [7u8; 65];
    assert_eq!(
        enroll(
            &client,
            &server.url,
            &request("000000000", "T40", &not_a_key)
        )
        .await,
        (403, "invalid_enroll_code".to_owned())
    );
    // With the right code the same key does reach the CA, which refuses it.
    add_code(&server, "123456789");
    let (status, code) = enroll(
        &client,
        &server.url,
        &request("123456789", "T40", &not_a_key),
    )
    .await;
    assert_ne!((status, code.as_str()), (403, "invalid_enroll_code"));
    assert_ne!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_guesses_each_count_and_wait_only_the_guessing_address() {
    let (_dir, server) = started().await;
    add_code(&server, "987654321");
    let guesser = anonymous(&server.server_ca, "127.0.0.2");
    let key = rcgen::KeyPair::generate().unwrap();
    let point = key.public_key_raw().to_vec();
    let guesses: Vec<_> = (0..8)
        .map(|i| {
            let (client, base) = (guesser.clone(), server.url.clone());
            let body = request(&format!("11111111{i}"), "T41", &point);
            tokio::spawn(async move { enroll(&client, &base, &body).await })
        })
        .collect();
    let mut answers = Vec::new();
    for guess in guesses {
        answers.push(guess.await.unwrap());
    }
    answers.sort();
    let mut expected = vec![(403, "invalid_enroll_code".to_owned()); 5];
    expected.extend(vec![(429, "too_many_attempts".to_owned()); 3]);
    assert_eq!(answers, expected);
    assert_eq!(
        server
            .meta
            .attempts_counted(&AttemptKey::enrollment("127.0.0.2"))
            .unwrap(),
        8
    );
    // The guessing address waits even with the right code…
    assert_eq!(
        enroll(&guesser, &server.url, &request("987654321", "T41", &point)).await,
        (429, "too_many_attempts".to_owned())
    );
    // …while a tablet elsewhere enrolls with it.
    let enrolled = fieldkit_sync_client::enroll(&server.url, &server.server_ca, "987654321", "T41")
        .await
        .unwrap();
    assert_eq!(enrolled.device_id, "T41");
}
