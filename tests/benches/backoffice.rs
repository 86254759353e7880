#![allow(clippy::unwrap_used)]
//! How fast a member of staff sees a case: the case page and every page image, signature and
//! the inventory it links, over real HTTPS, first look (the envelope is opened) and a second
//! look within the keeping time (opened once already), against opening the envelope alone and
//! against opening it once per request (what the server did before it kept opened cases).

use std::sync::Arc;
use std::time::{Duration, Instant};

use fieldkit_e2e::office::{OPERATOR, PASSWORD, office_fixture_with};
use fieldkit_sync_server::office::db::OfficeDb;
use fieldkit_sync_server::office::register;
use fieldkit_sync_server::opened::open_stored;
use fieldkit_sync_server::store::FileBlobStore;
use reqwest::redirect::Policy;

fn client(server_ca: &[u8]) -> reqwest::Client {
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

fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = page.find(&marker).unwrap() + marker.len();
    page[at..at + 64].to_owned()
}

/// Every link of the case page that loads a part of the case.
fn part_links(page: &str) -> Vec<String> {
    page.match_indices("/office/case/")
        .filter_map(|(at, _)| {
            let rest = &page[at..];
            let end = rest.find('"')?;
            let link = rest[..end].replace("&amp;", "&");
            (link.contains("/page?")
                || link.contains("/signature?")
                || link.contains("/inventory?"))
            .then_some(link)
        })
        .collect()
}

async fn look_at_case(
    client: &reqwest::Client,
    base: &str,
    cookie: &str,
    case: &str,
) -> (Duration, usize, usize) {
    let started = Instant::now();
    let page = client
        .get(format!("{base}/office/case?n={}", case.replace('/', "%2F")))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let links = part_links(&page);
    // A browser loads the images in parallel.
    let loads: Vec<_> = links
        .iter()
        .map(|link| {
            let request = client.get(format!("{base}{link}")).header("cookie", cookie);
            tokio::spawn(async move { request.send().await.unwrap().bytes().await.unwrap().len() })
        })
        .collect();
    let mut bytes = page.len();
    for load in loads {
        bytes += load.await.unwrap();
    }
    assert!(!links.is_empty(), "the case page links its pages");
    (started.elapsed(), bytes, links.len() + 1)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    // Cases of 30 pages: a passport of 29 pages and the declaration.
    let fixture = office_fixture_with(dir.path(), 29).await.unwrap();
    let base = fixture.server.url.clone();
    let client = client(&fixture.server.server_ca);

    let login = client
        .get(format!("{base}/office/login"))
        .send()
        .await
        .unwrap();
    let form_cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let token = hidden(&login.text().await.unwrap(), "csrf");
    let signed_in = client
        .post(format!("{base}/office/login"))
        .header("cookie", form_cookie)
        .form(&[
            ("username", OPERATOR),
            ("password", PASSWORD),
            ("csrf", &token),
        ])
        .send()
        .await
        .unwrap();
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();

    // The inbox adds the synced cases to the register.
    client
        .get(format!("{base}/office/inbox"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let layout = fieldkit_sync_server::setup::Layout::new(&fixture.server.data);
    let blobs = FileBlobStore::open(&layout.blobs()).unwrap();
    let register = OfficeDb::open(&layout.database()).unwrap();

    println!(
        "a synced case in the back-office (page, every image, signature and the inventory), HTTPS on loopback:"
    );
    for case in &fixture.cases {
        let (first, bytes, requests) = look_at_case(&client, &base, &cookie, case).await;
        let (again, _, _) = look_at_case(&client, &base, &cookie, case).await;
        let envelope_id = register::get(&register, case).unwrap().unwrap().envelope_id;
        // Before the server kept opened cases, each of these requests opened the envelope
        // again: measured here as that many openings in a row.
        let open = || {
            open_stored(
                fixture.server.meta.as_ref(),
                &blobs,
                std::slice::from_ref(&fixture.server.sealing),
                &envelope_id,
            )
            .unwrap()
        };
        let started = Instant::now();
        let opened = open();
        let open_once = started.elapsed();
        let started = Instant::now();
        for _ in 0..requests {
            drop(open());
        }
        let open_per_request = started.elapsed();
        println!(
            "  {case}: {} pages, {} requests, {:.1} MB: first look {:.0} ms, again {:.0} ms; opening the envelope alone {:.0} ms (first look / one opening: {:.1}); opening it once per request, as before: {:.0} ms (ratio to the first look: {:.1})",
            opened.pages.len(),
            requests,
            bytes as f64 / 1e6,
            first.as_secs_f64() * 1e3,
            again.as_secs_f64() * 1e3,
            open_once.as_secs_f64() * 1e3,
            first.as_secs_f64() / open_once.as_secs_f64(),
            open_per_request.as_secs_f64() * 1e3,
            open_per_request.as_secs_f64() / first.as_secs_f64(),
        );
    }
}
