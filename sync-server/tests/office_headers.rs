#![allow(clippy::unwrap_used)]
//! Every back-office response over real HTTPS carries HSTS, nosniff, a content policy without
//! scripts or framing, and no Referer; a refusal or a redirect as much as a page.

use std::sync::Arc;

use fieldkit_sync_server::local::LocalServer;
use fieldkit_sync_server::office::security_headers::{
    CONTENT_SECURITY_POLICY, STRICT_TRANSPORT_SECURITY,
};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn browser(server_ca: &[u8]) -> reqwest::Client {
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
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_office_responses_carry_the_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(&dir.path().join("data"), now)
        .await
        .unwrap();
    let client = browser(&server.server_ca);
    for (path, status) in [
        ("/office/login", 200),
        // Not signed in: sent to sign in.
        ("/office/inbox", 303),
        ("/office/case/inventory?n=LV01%2FT07%2F2026%2F000001-0", 303),
    ] {
        let response = client
            .get(format!("{}{path}", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{path}");
        let headers = response.headers();
        assert_eq!(
            headers["strict-transport-security"], STRICT_TRANSPORT_SECURITY,
            "{path}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert_eq!(policy, CONTENT_SECURITY_POLICY, "{path}");
        assert!(policy.contains("frame-ancestors 'none'"));
        assert!(policy.starts_with("default-src 'none'"), "no script source");
    }
    // The login page's own markup fits the policy: no script anywhere.
    let page = client
        .get(format!("{}/office/login", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("<script"), "{page}");
    assert!(!page.contains("onclick=") && !page.contains("onsubmit="));
}
