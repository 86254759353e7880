#![allow(clippy::unwrap_used)]
//! Consultations without a case (regulation 2.36) on the back-office's reconciliation page,
//! over HTTPS: a tablet reports its counts over mutual TLS, a supervisor signs in and sees
//! them beside the tablet's cases, per day and service; a report with a day that is no date
//! is refused whole; another day shows none.

use std::sync::Arc;

use fieldkit_e2e::office::{PASSWORD, SUPERVISOR, office_fixture};
use fieldkit_protocol::{ConsultationCount, DeviceReport};
use fieldkit_sync_server::store::MetadataStore;
use reqwest::StatusCode;
use reqwest::redirect::Policy;

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
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Sign in as `user` through the login form (its CSRF token and cookie); the session cookie.
async fn sign_in(client: &reqwest::Client, base: &str, user: &str) -> String {
    let form = client
        .get(format!("{base}/office/login"))
        .send()
        .await
        .unwrap();
    let cookie = form.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let text = form.text().await.unwrap();
    let at = text.find("name=\"csrf\" value=\"").unwrap() + 19;
    let token = text[at..at + 64].to_owned();
    let response = client
        .post(format!("{base}/office/login"))
        .header("cookie", cookie)
        .form(&[("username", user), ("password", PASSWORD), ("csrf", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

fn counts(list: &[(&str, Option<&str>, u64)]) -> Vec<ConsultationCount> {
    list.iter()
        .map(|(day, service, count)| ConsultationCount {
            day: (*day).into(),
            service_code: service.map(str::to_owned),
            count: *count,
        })
        .collect()
}

fn report(consultations: Vec<ConsultationCount>) -> DeviceReport {
    DeviceReport {
        cases_sealed: 1,
        envelopes_waiting: 0,
        last_case_number: None,
        audit_seq: 1_000_000,
        audit_hash: "ab".repeat(32),
        waiting_cases: vec![],
        consultations,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reconciliation_page_shows_each_tablets_consultations_beside_its_cases() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = office_fixture(dir.path()).await.unwrap();
    let base = fixture.server.url.clone();
    let tablet = &fixture.tablets[0];

    // A day that is no date: the whole report is refused, nothing is counted.
    let refused = tablet
        .report(&report(counts(&[("04.12.2026", None, 1)])))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &refused,
            fieldkit_sync_client::SyncError::Refused { status: 400, .. }
        ),
        "{refused}"
    );
    assert!(fixture.server.meta.consultations(None).unwrap().is_empty());

    tablet
        .report(&report(counts(&[
            ("2026-12-03", Some("00004"), 1),
            ("2026-12-04", None, 1),
            ("2026-12-04", Some("00001"), 2),
        ])))
        .await
        .unwrap();
    let device = fixture.server.meta.consultations(None).unwrap()[0]
        .device_id
        .clone();

    let client = browser(&fixture.server.server_ca);
    let cookie = sign_in(&client, &base, SUPERVISOR).await;
    let page = |query: &'static str| {
        let (client, cookie, base) = (client.clone(), cookie.clone(), base.clone());
        async move {
            let response = client
                .get(format!("{base}/office/reconciliation{query}"))
                .header("Cookie", cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.text().await.unwrap()
        }
    };

    let day = page("?day=2026-12-04").await;
    assert!(day.contains("<th>Консультації (п. 2.36)</th>"), "{day}");
    assert!(
        day.contains("Консультації без звернення (п. 2.36) (3)"),
        "{day}"
    );
    assert!(
        day.contains(&format!(
            "<tr><td>{device}</td><td>2026-12-04</td><td>00001 Декларування місця проживання</td><td>2</td></tr>"
        )),
        "{day}"
    );
    assert!(
        day.contains(&format!(
            "<tr><td>{device}</td><td>2026-12-04</td><td>інше питання</td><td>1</td></tr>"
        )),
        "{day}"
    );
    assert!(!day.contains("2026-12-03"), "another day is not shown");

    let every_day = page("").await;
    assert!(
        every_day.contains("Консультації без звернення (п. 2.36) (4)"),
        "{every_day}"
    );
    assert!(every_day.contains("00004 Призначення житлової субсидії"));

    let quiet = page("?day=2026-12-05").await;
    assert!(
        quiet.contains("Консультації без звернення (п. 2.36) (0)"),
        "{quiet}"
    );
    fixture.server.stop();
}
