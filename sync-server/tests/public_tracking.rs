#![allow(clippy::unwrap_used)]
//! The public tracking page of a real local server over real TLS (issue #13): a case found by
//! the code on its receipt shows its state, dated timeline, deadline and lateness and what
//! comes next; guesses find nothing and the per-address limit bites; notices by e-mail (a real
//! aiosmtpd) and SMS (a real HTTP gateway on loopback) from a confirmation code to the «stop»
//! link, with the contacts never in the database file in clear; bad forms refused with a page.
//!
//! Not here: a case sealed on a tablet with an applicant's name and tax number, searched for
//! in every public response. The tracking store holds no personal data to plant; the tablet's
//! path (a sealed case filed at intake, its receipt's QR opening the page) is
//! `app/tests/application.rs`.

use std::net::{TcpListener as StdListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use fieldkit_domain::calendar::WorkCalendar;
use fieldkit_domain::common::{DayKind, Term};
use fieldkit_domain::workflow::CaseState;
use fieldkit_sync_server::central::{CentralConfig, NotifyConfig};
use fieldkit_sync_server::local::LocalServer;
use fieldkit_sync_server::store::{
    AttemptKey, AttemptStore, MetadataStore, NoticeStore, TrackedCase, TrackingStore,
};
use ring::digest::{SHA256, digest};
use rustls::pki_types::CertificateDer;

/// Monday 2 November 2026, 09:00 in Kyiv (07:00 UTC).
const T0: i64 = 1_793_602_800;
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

const EMAIL: &str = "olena.daughter@example.org";
const PHONE: &str = "+380501234567";

// ---------------------------------------------------------------------------------------------
// Helpers.

/// A browser-like client: trusts the server CA (as a phone trusts a public CA), no client
/// certificate, does not follow redirects (the test reads them).
fn phone(server_ca: &[u8]) -> reqwest::Client {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(server_ca.to_vec())).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Luhn mod 32, as the domain's tracking code computes its check symbol: a code made here is
/// one the tablet could print.
fn check_value(values: &[u8]) -> u8 {
    let mut factor = 2;
    let mut sum = 0usize;
    for &value in values.iter().rev() {
        let addend = factor * usize::from(value);
        sum += addend / 32 + addend % 32;
        factor = if factor == 2 { 1 } else { 2 };
    }
    ((32 - sum % 32) % 32) as u8
}

/// A tracking code in canonical form (27 random symbols and the check symbol).
fn tracking_code(seed: u64) -> String {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut values: Vec<u8> = (0..27)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state & 31) as u8
        })
        .collect();
    values.push(check_value(&values));
    values
        .iter()
        .map(|&v| char::from(ALPHABET[usize::from(v)]))
        .collect()
}

/// As printed on the receipt: groups of four.
fn printed(code: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("-")
}

fn sha256_hex(text: &str) -> String {
    hex::encode(digest(&SHA256, text.as_bytes()))
}

fn track(server: &LocalServer, code: &str, case_number: &str, service: &str, at: i64) {
    server
        .meta
        .record_tracked_case(&TrackedCase {
            code_sha256: sha256_hex(code),
            case_number: case_number.into(),
            service_code: service.into(),
            centre_code: "LV01".into(),
            registered_at: at,
        })
        .unwrap();
}

fn publish_catalog(server: &LocalServer) {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/catalog/catalog.toml"),
    )
    .unwrap();
    let catalog = fieldkit_domain::catalog::Catalog::from_toml_str(&text).unwrap();
    server
        .meta
        .publish_catalog(catalog.version, &text, T0 - DAY)
        .unwrap();
}

async fn get(client: &reqwest::Client, url: &str) -> (u16, String) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn post_form(
    client: &reqwest::Client,
    url: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let body: Vec<String> = fields
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect();
    client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.join("&"))
        .send()
        .await
        .unwrap()
}

/// Percent-encoding for a form or query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// Wait (polling, with a bound so a failure ends the test) until `done` holds.
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// The page.

static PAGE_CLOCK: AtomicI64 = AtomicI64::new(T0 + 2 * HOUR);
fn page_clock() -> i64 {
    PAGE_CLOCK.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_case_page_shows_state_timeline_deadline_lateness_and_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(dir.path(), page_clock).await.unwrap();
    publish_catalog(&server);
    let client = phone(&server.server_ca);
    let code = tracking_code(1);
    let case_number = "LV01/T07/2026/000001-K";
    track(&server, &code, case_number, "00011", T0);
    let meta = &server.meta;
    meta.add_status_event(case_number, CaseState::Received, None, T0 + HOUR)
        .unwrap();
    meta.add_status_event(case_number, CaseState::Accepted, None, T0 + 90 * 60)
        .unwrap();
    meta.add_status_event(case_number, CaseState::Forwarded, None, T0 + 2 * HOUR)
        .unwrap();
    meta.add_status_event(
        case_number,
        CaseState::ForwardedToProvider,
        None,
        T0 + DAY + 30 * 60,
    )
    .unwrap();

    let url = format!("{}/t/{code}", server.public_url);
    let (status, page) = get(&client, &url).await;
    assert_eq!(status, 200, "{page}");
    println!(
        "a tracking page: {} bytes (uk), no script: {}",
        page.len(),
        !page.contains("<script")
    );
    assert!(!page.contains("<script"));
    assert!(page.contains(case_number), "{page}");
    assert!(
        page.contains("Оформлення паспорта громадянина України у формі ID-картки"),
        "{page}"
    );
    // The state now, in the workflow's words, and every step dated in Kyiv time, in order.
    assert!(
        page.contains("<p class=\"state\">Передано суб’єкту надання</p>"),
        "{page}"
    );
    let steps = [
        "02.11.2026 09:00</time> — Зареєстровано на планшеті",
        "02.11.2026 10:00</time> — Отримано",
        "02.11.2026 10:30</time> — Прийнято, чекає передачі",
        "02.11.2026 11:00</time> — Передано до центральної системи",
        "03.11.2026 09:30</time> — Передано суб’єкту надання",
    ];
    let mut from = 0;
    for step in steps {
        let at = page[from..]
            .find(step)
            .unwrap_or_else(|| panic!("{step} missing or out of order in {page}"));
        from += at + step.len();
    }
    // The deadline: 20 working days from registration, counted with Ukraine's calendar.
    let calendar =
        WorkCalendar::from_toml_str(include_str!("../../assets/calendar/ua.toml")).unwrap();
    let deadline = calendar.deadline(
        time::macros::date!(2026 - 11 - 02),
        Term {
            days: 20,
            kind: DayKind::Working,
        },
    );
    let deadline_text = format!(
        "{:02}.{:02}.{}",
        deadline.day(),
        u8::from(deadline.month()),
        deadline.year()
    );
    assert!(page.contains("20 робочих днів"), "{page}");
    assert!(page.contains(&deadline_text), "{deadline_text} in {page}");
    assert!(!page.contains("class=\"late\""), "{page}");
    assert!(page.contains("чекаємо на рішення"), "{page}");
    // The centre's hours and phone from the catalog.
    assert!(page.contains("+380 32 297 57 95"), "{page}");
    // Notices are not configured on this server: the page says so plainly.
    assert!(
        page.contains("Сповіщення електронною поштою чи SMS зараз недоступні"),
        "{page}"
    );

    // Past the deadline without a decision: late.
    let after = time::PrimitiveDateTime::new(deadline, time::macros::time!(12:00))
        .assume_utc()
        .unix_timestamp()
        + DAY;
    PAGE_CLOCK.store(after, Ordering::SeqCst);
    let (_, page) = get(&client, &url).await;
    assert!(page.contains("class=\"late\""), "{page}");
    assert!(
        page.contains(&format!("Строк минув {deadline_text}")),
        "{page}"
    );

    // Refused, with the provider's reasons: decided, so no longer late; what to bring.
    meta.add_status_event(
        case_number,
        CaseState::Refused,
        Some("Не подано довідку про місце проживання"),
        after,
    )
    .unwrap();
    let (_, page) = get(&client, &url).await;
    assert!(
        page.contains("<p class=\"state\">Рішення прийнято: відмовлено</p>"),
        "{page}"
    );
    assert!(page.contains("Причини відмови"), "{page}");
    assert!(
        page.contains("Не подано довідку про місце проживання"),
        "{page}"
    );
    assert!(!page.contains("class=\"late\""), "{page}");
    assert!(page.contains("документ, що посвідчує особу"), "{page}");
    assert!(page.contains("через мобільного адміністратора"), "{page}");

    let (status, english) = get(&client, &format!("{url}?lang=en")).await;
    assert_eq!(status, 200);
    assert!(english.contains("<html lang=\"en\">"), "{english}");
    assert!(english.contains("Decision made: refused"), "{english}");
    assert!(english.contains("ID-card passport"), "{english}");
    assert!(english.contains("20 working days"), "{english}");
    println!("the same page in English: {} bytes", english.len());

    // A service the catalog does not have is named by its code.
    let other = tracking_code(2);
    track(&server, &other, "LV01/T07/2026/000002-K", "99999", T0);
    let (status, page) = get(&client, &format!("{}/t/{other}", server.public_url)).await;
    assert_eq!(status, 200);
    assert!(page.contains("послуга 99999"), "{page}");
    assert!(page.contains("<p class=\"state\">Зареєстровано на планшеті</p>"));

    // The form: a typed code (lower case, hyphens, O for 0) goes to the case's address.
    let (status, form) = get(&client, &format!("{}/t", server.public_url)).await;
    assert_eq!(status, 200);
    assert!(
        form.contains("<label for=\"code\">Введіть код відстеження з розписки</label>"),
        "{form}"
    );
    assert!(form.contains("autocomplete=\"off\""));
    let typed = printed(&code).to_lowercase().replace('0', "o");
    let response = client
        .get(format!("{}/t?code={}", server.public_url, encode(&typed)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), format!("/t/{code}"));
    let response = client
        .get(format!(
            "{}/t?code={}&lang=en",
            server.public_url,
            encode(&typed)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), format!("/t/{code}?lang=en"));
    // A code that is not well formed: the form again, with a sentence beside the field.
    let response = client
        .get(format!("{}/t?code=7KQ2-M9XA", server.public_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let form = response.text().await.unwrap();
    assert!(
        form.contains("id=\"code-error\" class=\"error\">Код відстеження має 28"),
        "{form}"
    );
    assert!(form.contains("aria-invalid=\"true\""));
    server.stop();
}

// ---------------------------------------------------------------------------------------------
// Guesses.

static GUESS_CLOCK: AtomicI64 = AtomicI64::new(T0);
fn guess_clock() -> i64 {
    GUESS_CLOCK.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guesses_find_nothing_and_the_limit_bites_until_the_clock_moves() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(dir.path(), guess_clock).await.unwrap();
    let client = phone(&server.server_ca);
    let code = tracking_code(7);
    let case_number = "LV01/T07/2026/000007-K";
    track(&server, &code, case_number, "00011", T0);
    let real = format!("{}/t/{code}", server.public_url);
    let key = AttemptKey::tracking_lookup("127.0.0.1");

    // The real code works, again and again, and costs nothing.
    for _ in 0..30 {
        assert_eq!(get(&client, &real).await.0, 200);
    }
    assert_eq!(server.meta.attempts_counted(&key).unwrap(), 0);

    // Every kind of miss gets the same page: well formed and unknown, mistyped, malformed,
    // a case number (with its slashes, or encoded), the real code's hash.
    let misses: Vec<String> = (0..400)
        .map(|i| match i % 6 {
            0 | 1 => tracking_code(1000 + i),
            2 => {
                // The real code with one symbol changed.
                let mut typo: Vec<u8> = code.clone().into_bytes();
                let at = (i as usize / 6) % 28;
                typo[at] = if typo[at] == b'7' { b'8' } else { b'7' };
                String::from_utf8(typo).unwrap()
            }
            3 => format!("LV01/T07/2026/{:06}-K", i),
            4 => format!("LV01%2FT07%2F2026%2F{:06}-K", i),
            _ => ["x", "%00", "abc", &"Z".repeat(300), &sha256_hex(&code)][i as usize % 5].into(),
        })
        .collect();
    let mut first_miss: Option<String> = None;
    let mut tried = 0;
    let mut waits = Vec::new();
    for (index, guess) in misses.iter().enumerate() {
        let url = format!("{}/t/{guess}", server.public_url);
        let response = client.get(&url).send().await.unwrap();
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().parse::<i64>().unwrap());
        let body = response.text().await.unwrap();
        assert_ne!(status, 200, "guess {index} ({guess}) opened a case");
        match status {
            404 => {
                tried += 1;
                match &first_miss {
                    None => {
                        assert!(body.contains("Справу з таким кодом"), "{body}");
                        first_miss = Some(body);
                    }
                    Some(first) => assert_eq!(&body, first, "guess {index} ({guess})"),
                }
            }
            429 => {
                let seconds = retry_after.expect("Retry-After on 429");
                assert!(body.contains("Забагато спроб"), "{body}");
                if waits.is_empty() {
                    assert_eq!(tried, 20, "twenty free misses, then the lock");
                    // While locked, the real code is refused too: nothing is looked up.
                    let response = client.get(&real).send().await.unwrap();
                    assert_eq!(response.status(), 429);
                }
                waits.push(seconds);
                // Wait it out (the test's clock) and go on guessing.
                GUESS_CLOCK.fetch_add(seconds, Ordering::SeqCst);
            }
            other => panic!("guess {index} ({guess}): HTTP {other}"),
        }
    }
    println!(
        "{} guesses: {tried} looked up (404), {} refused (429); waits {:?}…",
        misses.len(),
        waits.len(),
        &waits[..waits.len().min(10)]
    );
    assert!(tried >= 20 && !waits.is_empty());
    // The waits grow (hammering a lock counts too) and stop at an hour.
    assert!(waits.windows(2).all(|w| w[1] >= w[0]), "{waits:?}");
    assert_eq!(*waits.last().unwrap(), 3600);
    assert!(waits[0] <= 120, "{waits:?}");
    let counted = server.meta.attempts_counted(&key).unwrap();
    assert!(counted >= tried, "{counted} < {tried}");

    // Once the lock is over, the real code opens its page; the count of misses stays.
    let remaining = server
        .meta
        .lock_remaining(&key, guess_clock())
        .unwrap()
        .unwrap_or(0);
    GUESS_CLOCK.fetch_add(remaining, Ordering::SeqCst);
    assert_eq!(get(&client, &real).await.0, 200);
    assert_eq!(server.meta.attempts_counted(&key).unwrap(), counted);
    // The next miss is locked at once for the longest wait.
    let response = client
        .get(format!("{}/t/{}", server.public_url, tracking_code(99)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let response = client.get(&real).send().await.unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "3600");
    server.stop();
}

// ---------------------------------------------------------------------------------------------
// Notices through a real SMTP server and a real SMS gateway.

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Smtp(Child);

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_smtp(port: u16, maildir: &Path) -> Smtp {
    let child = Command::new("python3")
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-c",
            "aiosmtpd.handlers.Mailbox",
        ])
        .arg(maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 with aiosmtpd (tests/run.sh installs it)");
    let server = Smtp(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "aiosmtpd did not start (pip install aiosmtpd)"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

/// Every mail aiosmtpd stored, read with Python's own parser: recipient, subject, body.
fn mails(maildir: &Path) -> Vec<serde_json::Value> {
    if !maildir.join("new").exists() {
        return Vec::new();
    }
    let script = r#"
import email, email.policy, json, mailbox, sys
box = mailbox.Maildir(sys.argv[1], create=False)
out = []
for raw in (m.as_bytes() for m in box):
    m = email.message_from_bytes(raw, policy=email.policy.default)
    out.append({"to": str(m["to"]), "subject": str(m["subject"]), "body": m.get_content()})
print(json.dumps(out, ensure_ascii=False))
"#;
    let output = Command::new("python3")
        .args(["-c", script])
        .arg(maildir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[derive(Default)]
struct Gateway {
    messages: Mutex<Vec<serde_json::Value>>,
}

async fn receive_sms(
    State(gateway): State<Arc<Gateway>>,
    Json(body): Json<serde_json::Value>,
) -> StatusCode {
    gateway.messages.lock().unwrap().push(body);
    StatusCode::ACCEPTED
}

impl Gateway {
    fn texts(&self) -> Vec<String> {
        self.messages
            .lock()
            .unwrap()
            .iter()
            .map(|m| format!("{} {}", m["to"], m["text"]))
            .collect()
    }
}

async fn start_gateway() -> (Arc<Gateway>, String) {
    let gateway = Arc::new(Gateway::default());
    let app = Router::new()
        .route("/sms", post(receive_sms))
        .with_state(gateway.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (gateway, url)
}

/// `[central.notify]` with the mail server on `smtp_port` (if any) and the gateway (if any).
fn notify_config(dir: &Path, smtp_port: Option<u16>, gateway_url: Option<&str>) -> CentralConfig {
    let mut text = String::new();
    if let Some(port) = smtp_port {
        text.push_str(&format!(
            "smtp_host = \"127.0.0.1\"\nsmtp_port = {port}\nsmtp_security = \"none\"\n\
             from = \"ЦНАП м. Львова <cnap@example.lviv.ua>\"\n"
        ));
    }
    if let Some(url) = gateway_url {
        let token: PathBuf = dir.join("sms-token");
        std::fs::write(&token, "0123456789abcdef0123456789abcdef").unwrap();
        std::fs::set_permissions(&token, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        text.push_str(&format!(
            "sms_gateway_url = \"{url}\"\nsms_gateway_token_file = \"{}\"\n",
            token.display()
        ));
    }
    let notify: NotifyConfig = toml::from_str(&text).unwrap();
    CentralConfig {
        notify: Some(notify),
        ..CentralConfig::default()
    }
}

/// The six digits after «сповіщень» in a confirmation message.
fn code_in(text: &str) -> String {
    let start = text
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or_else(|| panic!("no code in {text}"));
    text[start..start + 6].to_owned()
}

/// The hidden subscription id of a confirmation form.
fn subscription_in(page: &str) -> String {
    let marker = "name=\"s\" value=\"";
    let start = page.find(marker).unwrap_or_else(|| panic!("{page}")) + marker.len();
    page[start..start + 32].to_owned()
}

/// The database file and its write-ahead log, as bytes on disk.
fn database_bytes(data: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(data.join("metadata.sqlite")).unwrap();
    if let Ok(wal) = std::fs::read(data.join("metadata.sqlite-wal")) {
        bytes.extend_from_slice(&wal);
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

static NOTICE_CLOCK: AtomicI64 = AtomicI64::new(T0 + HOUR);
fn notice_clock() -> i64 {
    NOTICE_CLOCK.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_go_by_email_and_sms_from_the_confirmation_code_to_the_stop_link() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let maildir = dir.path().join("maildir");
    let _smtp = start_smtp(port, &maildir);
    let (gateway, gateway_url) = start_gateway().await;
    let server = LocalServer::start_with(
        &data,
        notice_clock,
        0,
        notify_config(dir.path(), Some(port), Some(&gateway_url)),
    )
    .await
    .unwrap();
    publish_catalog(&server);
    let client = phone(&server.server_ca);
    let code = tracking_code(21);
    let case_number = "LV01/T07/2026/000021-K";
    track(&server, &code, case_number, "00011", T0);
    server
        .meta
        .add_status_event(case_number, CaseState::Received, None, T0 + HOUR)
        .unwrap();
    let page_url = format!("{}/t/{code}", server.public_url);
    let (_, page) = get(&client, &page_url).await;
    assert!(
        page.contains("value=\"email\" checked>Електронною поштою"),
        "{page}"
    );
    assert!(page.contains("value=\"sms\">SMS на телефон"), "{page}");
    assert!(page.contains(&format!("action=\"/t/{code}/notices\"")));

    // E-mail: the code arrives in aiosmtpd; a wrong one is refused, the right one confirms.
    let response = post_form(
        &client,
        &format!("{page_url}/notices"),
        &[("channel", "email"), ("contact", EMAIL)],
    )
    .await;
    assert_eq!(response.status(), 200);
    let confirm_page = response.text().await.unwrap();
    assert!(!confirm_page.contains(EMAIL), "the page repeats no contact");
    let id = subscription_in(&confirm_page);
    wait_until("the confirmation mail", || mails(&maildir).len() == 1).await;
    let mail = &mails(&maildir)[0];
    assert_eq!(mail["to"], EMAIL);
    let sent_code = code_in(mail["body"].as_str().unwrap());
    assert!(
        !mail["body"].as_str().unwrap().contains(case_number),
        "a code tells nothing of the case"
    );
    let wrong = if sent_code == "000000" {
        "111111"
    } else {
        "000000"
    };
    let response = post_form(
        &client,
        &format!("{page_url}/confirm"),
        &[("s", &id), ("confirm", wrong)],
    )
    .await;
    assert_eq!(response.status(), 400);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("Код не підходить. Залишилося спроб: 4."),
        "{text}"
    );
    let response = post_form(
        &client,
        &format!("{page_url}/confirm"),
        &[("s", &id), ("confirm", &sent_code)],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), format!("/t/{code}?done=subscribed"));
    let (_, page) = get(&client, &format!("{page_url}?done=subscribed")).await;
    assert!(page.contains("Сповіщення увімкнено"), "{page}");
    // The same code again does nothing more.
    let response = post_form(
        &client,
        &format!("{page_url}/confirm"),
        &[("s", &id), ("confirm", &sent_code)],
    )
    .await;
    assert_eq!(response.status(), 400);

    // SMS, typed as people here write a number.
    let response = post_form(
        &client,
        &format!("{page_url}/notices"),
        &[("channel", "sms"), ("contact", "050 123-45-67")],
    )
    .await;
    assert_eq!(response.status(), 200);
    let sms_id = subscription_in(&response.text().await.unwrap());
    wait_until("the confirmation SMS", || gateway.texts().len() == 1).await;
    let first_sms = gateway.messages.lock().unwrap()[0].clone();
    assert_eq!(first_sms["to"], PHONE);
    let sms_code = code_in(first_sms["text"].as_str().unwrap());
    let response = post_form(
        &client,
        &format!("{page_url}/confirm"),
        &[("s", &sms_id), ("confirm", &sms_code), ("lang", "en")],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        format!("/t/{code}?done=subscribed&lang=en")
    );
    let subscriptions = server.meta.case_subscriptions(case_number).unwrap();
    assert_eq!(subscriptions.len(), 2);
    assert!(subscriptions.iter().all(|s| s.confirmed_at.is_some()));

    // Neither contact is in the database file in clear, nor in its log.
    let bytes = database_bytes(&data);
    for clear in [EMAIL, "olena.daughter", PHONE, "0501234567", "501234567"] {
        assert!(!contains(&bytes, clear), "{clear} is in the database file");
    }

    // A status event: exactly one notice on each channel, with the number, the state in words
    // and the stop link; no tracking code, nothing else.
    server
        .meta
        .add_status_event(case_number, CaseState::Forwarded, None, notice_clock())
        .unwrap();
    wait_until("the first notices", || {
        mails(&maildir).len() == 2 && gateway.texts().len() == 2
    })
    .await;
    let notice = mails(&maildir)
        .into_iter()
        .find(|m| m["subject"].as_str().unwrap().contains("Справа"))
        .unwrap();
    let subject = notice["subject"].as_str().unwrap();
    assert_eq!(
        subject,
        format!(
            "Справа {case_number}: Передано до центральної системи / Case {case_number}: Forwarded to the central system"
        )
    );
    let body = notice["body"].as_str().unwrap();
    let stop_marker = format!("{}/stop/", server.public_url);
    let stop_at = body.find(&stop_marker).unwrap_or_else(|| panic!("{body}")) + stop_marker.len();
    let stop_link = format!("{stop_marker}{}", &body[stop_at..stop_at + 32]);
    assert!(!body.contains(&code), "{body}");
    let sms = gateway.messages.lock().unwrap()[1]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        sms.contains(case_number) && sms.contains("Передано до центральної системи"),
        "{sms}"
    );
    assert!(sms.contains(&stop_marker), "{sms}");

    // The next event: one more of each, in order.
    server
        .meta
        .add_status_event(
            case_number,
            CaseState::ForwardedToProvider,
            None,
            notice_clock(),
        )
        .unwrap();
    wait_until("the second notices", || {
        mails(&maildir).len() == 3 && gateway.texts().len() == 3
    })
    .await;
    let subjects: Vec<String> = mails(&maildir)
        .iter()
        .map(|m| m["subject"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        subjects
            .iter()
            .filter(|s| s.contains("Передано суб’єкту надання"))
            .count(),
        1,
        "{subjects:?}"
    );
    assert_eq!(
        subjects
            .iter()
            .filter(|s| s.contains("Передано до центральної системи"))
            .count(),
        1,
        "{subjects:?}"
    );

    // The stop link asks first (a mail scanner opening it stops nothing), then stops.
    let (status, ask) = get(&client, &stop_link).await;
    assert_eq!(status, 200);
    assert!(ask.contains(case_number), "{ask}");
    assert!(ask.contains("Так, зупинити"), "{ask}");
    assert_eq!(
        server.meta.case_subscriptions(case_number).unwrap().len(),
        2
    );
    let response = post_form(&client, &stop_link, &[]).await;
    assert_eq!(response.status(), 200);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("більше не надходитимуть")
    );
    assert_eq!(
        server.meta.case_subscriptions(case_number).unwrap().len(),
        1
    );

    // Two more events: the SMS for each comes (the second only after the pass that handled
    // the first for every subscription ended), and no mail.
    for state in [CaseState::Issued, CaseState::ResultReady] {
        let before = gateway.texts().len();
        server
            .meta
            .add_status_event(case_number, state, None, notice_clock())
            .unwrap();
        wait_until("the SMS notice", || gateway.texts().len() == before + 1).await;
    }
    assert_eq!(mails(&maildir).len(), 3, "no mail after stopping");
    let texts = gateway.texts();
    assert!(texts[3].contains("Рішення прийнято: видано"), "{texts:?}");
    assert!(texts[4].contains("Результат готовий"), "{texts:?}");

    // Stop the SMS by typing the number again on the page.
    let response = post_form(
        &client,
        &format!("{page_url}/stop"),
        &[("channel", "sms"), ("contact", "+38 050 123 45 67")],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), format!("/t/{code}?done=stopped"));
    assert!(
        server
            .meta
            .case_subscriptions(case_number)
            .unwrap()
            .is_empty()
    );
    let bytes = database_bytes(&data);
    for clear in [EMAIL, PHONE, "0501234567"] {
        assert!(!contains(&bytes, clear), "{clear} is in the database file");
    }
    server.stop();
}

static LIMIT_CLOCK: AtomicI64 = AtomicI64::new(T0 + HOUR);
fn limit_clock() -> i64 {
    LIMIT_CLOCK.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_are_rate_limited_expire_and_five_wrong_ones_drop_the_request() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (gateway, gateway_url) = start_gateway().await;
    // SMS only: the page offers only what can be sent.
    let server = LocalServer::start_with(
        &data,
        limit_clock,
        0,
        notify_config(dir.path(), None, Some(&gateway_url)),
    )
    .await
    .unwrap();
    let client = phone(&server.server_ca);
    let code = tracking_code(31);
    let case_number = "LV01/T07/2026/000031-K";
    track(&server, &code, case_number, "00011", T0);
    let page_url = format!("{}/t/{code}", server.public_url);
    let (_, page) = get(&client, &page_url).await;
    let notices_form = &page[page.find("/notices\"").unwrap()..];
    let notices_form = &notices_form[..notices_form.find("</form>").unwrap()];
    assert!(
        notices_form.contains("value=\"sms\" checked>SMS на телефон"),
        "{notices_form}"
    );
    assert!(!notices_form.contains("email"), "{notices_form}");
    let response = post_form(
        &client,
        &format!("{page_url}/notices"),
        &[("channel", "email"), ("contact", EMAIL)],
    )
    .await;
    assert_eq!(response.status(), 400);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Цей спосіб зараз недоступний")
    );

    // Five wrong codes drop the request; the right one then finds nothing.
    let ask = |number: &'static str| {
        let client = client.clone();
        let url = format!("{page_url}/notices");
        async move { post_form(&client, &url, &[("channel", "sms"), ("contact", number)]).await }
    };
    let response = ask("0501111111").await;
    assert_eq!(response.status(), 200);
    let id = subscription_in(&response.text().await.unwrap());
    wait_until("the code", || gateway.texts().len() == 1).await;
    let right = code_in(
        gateway.messages.lock().unwrap()[0]["text"]
            .as_str()
            .unwrap(),
    );
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    for left in (1..5).rev() {
        let response = post_form(
            &client,
            &format!("{page_url}/confirm"),
            &[("s", &id), ("confirm", wrong)],
        )
        .await;
        let text = response.text().await.unwrap();
        assert!(
            text.contains(&format!("Залишилося спроб: {left}.")),
            "{text}"
        );
    }
    let text = post_form(
        &client,
        &format!("{page_url}/confirm"),
        &[("s", &id), ("confirm", wrong)],
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(text.contains("запит скасовано"), "{text}");
    let text = post_form(
        &client,
        &format!("{page_url}/confirm"),
        &[("s", &id), ("confirm", &right)],
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(text.contains("Цей запит уже не діє"), "{text}");
    assert!(
        server
            .meta
            .case_subscriptions(case_number)
            .unwrap()
            .is_empty()
    );

    // Codes expire in 15 minutes.
    let response = ask("0502222222").await;
    let id = subscription_in(&response.text().await.unwrap());
    wait_until("the second code", || gateway.texts().len() == 2).await;
    let right = code_in(
        gateway.messages.lock().unwrap()[1]["text"]
            .as_str()
            .unwrap(),
    );
    LIMIT_CLOCK.fetch_add(15 * 60, Ordering::SeqCst);
    let text = post_form(
        &client,
        &format!("{page_url}/confirm"),
        &[("s", &id), ("confirm", &right)],
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(text.contains("Час дії коду (15 хвилин) минув"), "{text}");

    // Five codes from one address (and for one case) at most; the sixth is refused with
    // Retry-After and nothing is sent.
    for number in ["0503333333", "0504444444", "0505555555"] {
        assert_eq!(ask(number).await.status(), 200);
    }
    assert_eq!(gateway.texts().len(), 5);
    let response = ask("0506666666").await;
    assert_eq!(response.status(), 429);
    let retry: i64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 3600, "{retry}");
    let text = response.text().await.unwrap();
    assert!(text.contains("засипати"), "{text}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(gateway.texts().len(), 5, "no sixth code");
    // After the wait, one more.
    LIMIT_CLOCK.fetch_add(retry, Ordering::SeqCst);
    assert_eq!(ask("0506666666").await.status(), 200);
    wait_until("the sixth code, an hour later", || {
        gateway.texts().len() == 6
    })
    .await;
    server.stop();
}

static FORM_CLOCK: AtomicI64 = AtomicI64::new(T0 + HOUR);
fn form_clock() -> i64 {
    FORM_CLOCK.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_malformed_forms_are_refused_with_a_page() {
    let dir = tempfile::tempdir().unwrap();
    let (_gateway, gateway_url) = start_gateway().await;
    let server = LocalServer::start_with(
        dir.path(),
        form_clock,
        0,
        notify_config(dir.path(), None, Some(&gateway_url)),
    )
    .await
    .unwrap();
    let client = phone(&server.server_ca);
    let code = tracking_code(41);
    track(&server, &code, "LV01/T07/2026/000041-K", "00011", T0);
    let url = format!("{}/t/{code}/notices", server.public_url);

    let huge = "1".repeat(64 * 1024);
    let response = post_form(&client, &url, &[("channel", "sms"), ("contact", &huge)]).await;
    assert_eq!(response.status(), 413);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(response.text().await.unwrap().contains("Форма завелика"));

    let response = client
        .post(&url)
        .header("content-type", "application/json")
        .body("{\"channel\":\"sms\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Форму не вдалося прочитати")
    );

    // A contact that is too long for a phone number: the form again, with a sentence.
    let long = "0".repeat(300);
    let response = post_form(&client, &url, &[("channel", "sms"), ("contact", &long)]).await;
    assert_eq!(response.status(), 400);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("id=\"notices-error\" class=\"error\""),
        "{text}"
    );
    let response = post_form(&client, &url, &[("channel", "pigeon"), ("contact", PHONE)]).await;
    assert_eq!(response.status(), 400);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Оберіть, як вас повідомляти")
    );
    // A form posted to an unknown code gets the one «not found» page.
    let response = post_form(
        &client,
        &format!("{}/t/{}/notices", server.public_url, tracking_code(42)),
        &[("channel", "sms"), ("contact", PHONE)],
    )
    .await;
    assert_eq!(response.status(), 404);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Справу з таким кодом")
    );
    server.stop();
}
