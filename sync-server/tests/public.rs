#![allow(clippy::unwrap_used)]
//! The applicants' listener of a real local server over real TLS: its own port and
//! certificate, no client certificate asked, TLS 1.2 for old phones, Ukrainian first with an
//! English switch, the device API and the back-office not reachable through it.

use std::sync::Arc;

use fieldkit_sync_server::local::LocalServer;
use rustls::pki_types::CertificateDer;

fn now() -> i64 {
    1_795_000_000
}

/// A browser-like client: trusts the server CA (as a phone trusts a public CA), presents no
/// certificate, speaks only `version`.
fn phone(server_ca: &[u8], version: &'static rustls::SupportedProtocolVersion) -> reqwest::Client {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(server_ca.to_vec())).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_public_pages_have_their_own_listener_and_language() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(dir.path(), now).await.unwrap();
    assert_ne!(server.public_url, server.url);
    let old_phone = phone(&server.server_ca, &rustls::version::TLS12);
    let home = old_phone
        .get(format!("{}/", server.public_url))
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), 200);
    let headers = home.headers().clone();
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let text = home.text().await.unwrap();
    assert!(text.contains("<html lang=\"uk\">"), "{text}");
    assert!(text.contains("Стан справи"));
    assert!(text.contains("href=\"/?lang=en\""), "{text}");
    assert!(!text.contains("<script"), "{text}");

    let new_phone = phone(&server.server_ca, &rustls::version::TLS13);
    let english = new_phone
        .get(format!("{}/?lang=en", server.public_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(english.contains("<html lang=\"en\">"), "{english}");
    assert!(english.contains("Track a case"));
    assert!(english.contains("href=\"/t?lang=en\""), "{english}");

    // Nothing of the tablets' API or the back-office answers here.
    for path in [
        "/v1/keys",
        "/office/login",
        "/central/v1/events",
        "/metrics",
        "/nothing",
    ] {
        let response = new_phone
            .get(format!("{}{path}", server.public_url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
        let text = response.text().await.unwrap();
        assert!(text.contains("Сторінку не знайдено"), "{path}: {text}");
    }
    server.stop();
}
