#![allow(clippy::unwrap_used)]
//! The back-office's sign-in back-off over real HTTPS: parallel wrong guesses each count, an
//! unknown name is answered exactly as a real one, and the lock holds only the guesser's
//! address — the same member of staff signs in from another address meanwhile.

use std::net::IpAddr;
use std::sync::Arc;

use fieldkit_sync_server::local::LocalServer;
use fieldkit_sync_server::office::auth::{Role, set_user};
use fieldkit_sync_server::office::db::OfficeDb;
use fieldkit_sync_server::setup::Layout;
use fieldkit_sync_server::store::{AttemptKey, AttemptStore};

const PASSWORD: &str = "правильний-пароль-2026";
const GUESSES: usize = 12;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A browser whose connections come from `source` (any 127.0.0.0/8 address is loopback).
fn browser(server_ca: &[u8], source: &str) -> reqwest::Client {
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
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// What a sign-in answered: its status and which of the two refusals the page says.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Answer {
    SignedIn,
    WrongCredentials,
    Wait,
    Other(u16),
}

async fn sign_in(client: &reqwest::Client, base: &str, user: &str, password: &str) -> Answer {
    let page = client
        .get(format!("{base}/office/login"))
        .send()
        .await
        .unwrap();
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let text = page.text().await.unwrap();
    let at = text.find("name=\"csrf\" value=\"").unwrap() + 19;
    let token = text[at..at + 64].to_owned();
    let body = format!(
        "username={}&password={}&csrf={token}",
        form_escape(user),
        form_escape(password)
    );
    let response = client
        .post(format!("{base}/office/login"))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    match status {
        303 => Answer::SignedIn,
        401 if text.contains("Невірне ім’я користувача або пароль") => {
            Answer::WrongCredentials
        }
        401 if text.contains("Забагато невдалих спроб") => Answer::Wait,
        other => Answer::Other(other),
    }
}

fn form_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GUESSES` wrong passwords for `user` from `client`, all at once; their answers, sorted.
async fn parallel_guesses(client: &reqwest::Client, base: &str, user: &str) -> Vec<Answer> {
    let guesses: Vec<_> = (0..GUESSES)
        .map(|i| {
            let (client, base, user) = (client.clone(), base.to_owned(), user.to_owned());
            tokio::spawn(async move {
                sign_in(&client, &base, &user, &format!("вгадую-пароль-{i}")).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for guess in guesses {
        answers.push(guess.await.unwrap());
    }
    answers.sort();
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_guesses_each_count_and_lock_only_the_guessers_address() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(&dir.path().join("data"), now)
        .await
        .unwrap();
    let db = OfficeDb::open(&Layout::new(&server.data).database()).unwrap();
    set_user(&db, "olena", Role::Operator, PASSWORD, "test", now()).unwrap();
    let guesser = browser(&server.server_ca, "127.0.0.1");

    let real = parallel_guesses(&guesser, &server.url, "olena").await;
    // Two free failures, then every other guess waits: none got more checks than that.
    let mut expected = vec![Answer::WrongCredentials; 2];
    expected.extend(vec![Answer::Wait; GUESSES - 2]);
    assert_eq!(real, expected);
    let counted = server
        .meta
        .attempts_counted(&AttemptKey::sign_in("olena", "127.0.0.1"))
        .unwrap();
    assert_eq!(counted, GUESSES as i64, "every parallel guess counts");

    // An unknown name: exactly the same answers.
    let unknown = parallel_guesses(&guesser, &server.url, "nobody").await;
    assert_eq!(unknown, expected, "unknown and real names answer alike");

    // Locked from the guesser's address, even with the right password…
    assert_eq!(
        sign_in(&guesser, &server.url, "olena", PASSWORD).await,
        Answer::Wait
    );
    // …while Olena at her own desk signs in at once.
    let desk = browser(&server.server_ca, "127.0.0.2");
    assert_eq!(
        sign_in(&desk, &server.url, "olena", PASSWORD).await,
        Answer::SignedIn
    );
    // A new password from the operator's console lifts the wait at every address.
    set_user(&db, "olena", Role::Operator, PASSWORD, "test", now()).unwrap();
    assert_eq!(
        server
            .meta
            .attempts_counted(&AttemptKey::sign_in("olena", "127.0.0.1"))
            .unwrap(),
        0
    );
    assert_eq!(
        sign_in(&guesser, &server.url, "olena", PASSWORD).await,
        Answer::SignedIn
    );
}
