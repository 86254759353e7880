#![allow(clippy::unwrap_used)]
//! Home-visit requests through a real local server over real TLS: the public form posted as a
//! phone would, the confirmation code read from a real SMTP server (aiosmtpd) or a real HTTP
//! SMS gateway, the back-office signed in over HTTPS planning the request for an enrolled
//! tablet (which pulls the visit over the mutual-TLS sync API) or declining it, and the
//! requester told the date or the reason the way they asked. Then every refusal: bad and
//! expired codes, an unknown request, flooding from one address and at one contact, an
//! oversized body, a malformed form, a request never confirmed. Nothing planted in a request
//! is in the database's files (main, WAL, shm) or in any log line.

use std::net::{IpAddr, TcpListener as StdListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI64, AtomicU16, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode as AxumStatus;
use axum::routing::post;
use axum::{Json, Router};
use fieldkit_sync_client::{SyncClient, enroll};
use fieldkit_sync_server::central::{CentralConfig, CentralState, NotifyConfig};
use fieldkit_sync_server::local::LocalServer;
use fieldkit_sync_server::office::auth::{Role, set_user};
use fieldkit_sync_server::office::db::{OfficeDb, audit_of, verify_audit_chain};
use fieldkit_sync_server::personal_data::PersonalDataKey;
use fieldkit_sync_server::setup::Layout;
use fieldkit_sync_server::store::{MetadataStore, RequestCounts, VisitRequestStore};
use fieldkit_sync_server::visit_requests::Notices;
use reqwest::StatusCode;
use rustls::pki_types::CertificateDer;

const PASSWORD: &str = "довгий-тестовий-пароль";
const OPERATOR: &str = "olena.operator";
const SUPERVISOR: &str = "petro.supervisor";

fn wall() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

// ---------------------------------------------------------------------------------------------
// Every log line of this test binary, to search for what must never be logged.

#[derive(Clone)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logs() -> &'static LogBuffer {
    static LOGS: OnceLock<LogBuffer> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = LogBuffer(Arc::new(Mutex::new(Vec::new())));
        let writer = buffer.clone();
        tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .init();
        buffer
    })
}

fn logged() -> String {
    String::from_utf8_lossy(&logs().0.lock().unwrap()).into_owned()
}

// ---------------------------------------------------------------------------------------------
// The real receivers: aiosmtpd and an HTTP SMS gateway.

struct Smtp(Child);

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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
        assert!(Instant::now() < deadline, "aiosmtpd did not start");
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
for m in box:
    m = email.message_from_bytes(m.as_bytes(), policy=email.policy.default)
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

/// The first mail to `to` whose subject contains `subject`, waited for.
fn wait_for_mail(maildir: &Path, to: &str, subject: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(mail) = mails(maildir)
            .into_iter()
            .find(|m| m["to"] == to && m["subject"].as_str().unwrap().contains(subject))
        {
            return mail;
        }
        assert!(
            Instant::now() < deadline,
            "no mail to {to} about {subject:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[derive(Default)]
struct Gateway {
    messages: Mutex<Vec<serde_json::Value>>,
    /// The status the gateway answers with (202 unless a test makes it refuse).
    status: AtomicU16,
}

async fn receive_sms(
    State(gateway): State<Arc<Gateway>>,
    Json(body): Json<serde_json::Value>,
) -> AxumStatus {
    let status = gateway.status.load(Ordering::SeqCst);
    if status == 202 {
        gateway.messages.lock().unwrap().push(body);
    }
    AxumStatus::from_u16(status).unwrap()
}

impl Gateway {
    fn texts_to(&self, to: &str) -> Vec<String> {
        self.messages
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m["to"] == to)
            .map(|m| m["text"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// The six-digit code in a message.
fn code_in(text: &str) -> String {
    let digits: Vec<char> = text.chars().collect();
    for start in 0..digits.len() {
        let run: String = digits[start..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        let before_is_digit = start > 0 && digits[start - 1].is_ascii_digit();
        if run.len() == 6 && !before_is_digit {
            return run;
        }
    }
    panic!("no code in {text:?}")
}

// ---------------------------------------------------------------------------------------------
// The server, a phone and the back-office.

struct Harness {
    dir: tempfile::TempDir,
    server: LocalServer,
    maildir: PathBuf,
    gateway: Arc<Gateway>,
    smtp: Option<Smtp>,
    smtp_port: u16,
    central: CentralConfig,
    clock: fn() -> i64,
}

fn secret_file(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, "9f3c0a61d2b84e7f9a5c3e1d0b7f6a2c9e8d7c6b5a4f3e2d\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

async fn harness(clock: fn() -> i64) -> Harness {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let smtp_port = free_port();
    let maildir = dir.path().join("maildir");
    let smtp = start_smtp(smtp_port, &maildir);
    let gateway = Arc::new(Gateway::default());
    gateway.status.store(202, Ordering::SeqCst);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway_url = format!("http://{}/sms", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/sms", post(receive_sms))
        .with_state(gateway.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let token = secret_file(dir.path(), "sms-token");
    let notify: NotifyConfig = toml::from_str(&format!(
        r#"
        smtp_host = "127.0.0.1"
        smtp_port = {smtp_port}
        smtp_security = "none"
        from = "ЦНАП <cnap@example.lviv.ua>"
        sms_gateway_url = "{gateway_url}"
        sms_gateway_token_file = "{}"
        "#,
        token.display()
    ))
    .unwrap();
    let central = CentralConfig {
        notify: Some(notify),
        ..CentralConfig::default()
    };
    let server = LocalServer::start_with(&dir.path().join("server"), clock, 0, central.clone())
        .await
        .unwrap();
    let catalog = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/catalog/catalog.toml"
    ))
    .unwrap();
    server.meta.publish_catalog(1, &catalog, clock()).unwrap();
    let db = OfficeDb::open(&Layout::new(&server.data).database()).unwrap();
    set_user(&db, OPERATOR, Role::Operator, PASSWORD, "test", clock()).unwrap();
    set_user(&db, SUPERVISOR, Role::Supervisor, PASSWORD, "test", clock()).unwrap();
    Harness {
        dir,
        server,
        maildir,
        gateway,
        smtp: Some(smtp),
        smtp_port,
        central,
        clock,
    }
}

/// A browser trusting the server CA, its connections from `source`, following no redirect.
fn browser(server_ca: &[u8], source: &str) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(server_ca.to_vec())).unwrap();
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

struct Answer {
    status: StatusCode,
    location: Option<String>,
    retry_after: Option<String>,
    connection: Option<String>,
    text: String,
}

fn encode(pairs: &[(&str, &str)]) -> String {
    let escape = |text: &str| {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(n, v)| format!("{}={}", escape(n), escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

async fn answer(response: reqwest::Response) -> Answer {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (location, retry_after) = (header("location"), header("retry-after"));
    let connection = header("connection");
    Answer {
        status: response.status(),
        location,
        retry_after,
        connection,
        text: response.text().await.unwrap(),
    }
}

async fn post_form(client: &reqwest::Client, url: &str, pairs: &[(&str, &str)]) -> Answer {
    answer(
        client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(pairs))
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn get(client: &reqwest::Client, url: &str) -> Answer {
    answer(client.get(url).send().await.unwrap()).await
}

/// What a person types into the form.
struct Person<'a> {
    name: &'a str,
    phone: &'a str,
    street: &'a str,
    directions: &'a str,
    /// `None`: tell by SMS.
    email: Option<&'a str>,
}

/// The form's fields for `person`, asking for service 00001 on `day`.
fn form<'a>(person: &'a Person<'a>, day: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut pairs = vec![
        ("person", person.name),
        ("phone", person.phone),
        ("asker", "relative"),
        ("asked_by", "Ґудзевич Тарас Остапович"),
        ("place", "home"),
        ("settlement", "с. Ямпіль"),
        ("street", person.street),
        ("house", "17"),
        ("flat", "4"),
        ("directions", person.directions),
        ("service", "00001"),
        ("reason", "age"),
        ("reason", "disability"),
        ("day", day),
        ("time", "morning"),
        ("consent", "yes"),
    ];
    match person.email {
        Some(email) => pairs.extend([("notify", "email"), ("email", email)]),
        None => pairs.push(("notify", "sms")),
    }
    pairs
}

/// The first preferred day the form offers.
async fn first_offered_day(phone: &reqwest::Client, public: &str) -> String {
    let page = get(phone, &format!("{public}/visit")).await;
    assert_eq!(page.status, 200);
    let at = page.text.find("name=\"day\" value=\"").unwrap() + 18;
    page.text[at..at + 10].to_owned()
}

/// Post the form and return the request id the code page is at.
async fn submit(phone: &reqwest::Client, public: &str, pairs: &[(&str, &str)]) -> String {
    let answer = post_form(phone, &format!("{public}/visit"), pairs).await;
    assert_eq!(answer.status, 303, "{}", answer.text);
    let location = answer.location.unwrap();
    let id = location.strip_prefix("/visit/").unwrap().to_owned();
    assert_eq!(id.len(), 32, "{location}");
    id
}

struct Office {
    client: reqwest::Client,
    base: String,
    cookie: String,
    csrf: String,
}

impl Office {
    async fn sign_in(server: &LocalServer, user: &str) -> Self {
        let client = browser(&server.server_ca, "127.0.0.1");
        let base = server.url.clone();
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
        let response = client
            .post(format!("{base}/office/login"))
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(&[
                ("username", user),
                ("password", PASSWORD),
                ("csrf", &token),
            ]))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
        let cookie = response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let mut office = Office {
            client,
            base,
            cookie,
            csrf: String::new(),
        };
        // Every signed-in page carries the token (the sign-out form); this one any role sees.
        let page = office.get("/office/inbox").await;
        let at = page.text.find("name=\"csrf\" value=\"").unwrap() + 19;
        office.csrf = page.text[at..at + 64].to_owned();
        office
    }

    async fn get(&self, path: &str) -> Answer {
        answer(
            self.client
                .get(format!("{}{path}", self.base))
                .header("cookie", &self.cookie)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    async fn post(&self, path: &str, pairs: &[(&str, &str)]) -> Answer {
        let mut pairs = pairs.to_vec();
        pairs.push(("csrf", &self.csrf));
        answer(
            self.client
                .post(format!("{}{path}", self.base))
                .header("cookie", &self.cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(encode(&pairs))
                .send()
                .await
                .unwrap(),
        )
        .await
    }
}

fn counts(server: &LocalServer) -> RequestCounts {
    server.meta.visit_request_counts().unwrap()
}

/// Every file of the database (main, WAL, shm) as bytes.
fn database_bytes(server: &LocalServer) -> Vec<(PathBuf, Vec<u8>)> {
    let main = Layout::new(&server.data).database();
    let mut files = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let path = PathBuf::from(format!("{}{suffix}", main.display()));
        if let Ok(bytes) = std::fs::read(&path) {
            files.push((path, bytes));
        }
    }
    assert!(files.len() >= 2, "the database and its WAL");
    files
}

fn assert_nowhere(files: &[(PathBuf, Vec<u8>)], planted: &[&str]) {
    for (path, bytes) in files {
        for text in planted {
            let needle = text.as_bytes();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{text:?} is in clear in {}",
                path.display()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------

const MARIA: Person<'static> = Person {
    name: "Ґудзь-Тестова Орися Северинівна",
    phone: "067 123 98 76",
    street: "вул. Вербова-Неймовірна",
    directions: "під’їзд 2, код домофону 7731К",
    email: Some("orysia.gudz@example.org"),
};

const PETRO: Person<'static> = Person {
    name: "Кривоніс-Пробний Устим Гаврилович",
    phone: "+380501112299",
    street: "вул. Яблунева-Небувала",
    directions: "",
    email: None,
};

const DECLINED_BECAUSE: &str =
    "Адреса поза межами громади; зверніться до ЦНАП Чорноострівської громади";

static PATH_CLOCK: AtomicI64 = AtomicI64::new(0);
fn path_clock() -> i64 {
    wall() + PATH_CLOCK.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_confirmed_planned_for_a_tablet_and_the_requester_is_told() {
    let h = harness(path_clock).await;
    let public = h.server.public_url.clone();
    let phone = browser(&h.server.server_ca, "127.0.0.1");

    // The tablet enrolls; the form offers the next working days.
    h.server.enroll_code("VISIT-REQ-1", wall()).unwrap();
    let enrollment = enroll(&h.server.url, &h.server.server_ca, "VISIT-REQ-1", "T07")
        .await
        .unwrap();
    let tablet = SyncClient::new(
        &h.server.url,
        &h.server.server_ca,
        &enrollment.client_certificate,
        &enrollment.tls_key_pkcs8,
        &enrollment.receipt_public_key,
    )
    .unwrap();
    let form_page = get(&phone, &format!("{public}/visit")).await;
    assert!(form_page.text.contains("Декларування місця проживання"));
    assert!(form_page.text.contains("Не знаю — порадьте"));
    let day = first_offered_day(&phone, &public).await;

    // A relative asks for Maria, by e-mail; the code comes by mail.
    let id = submit(&phone, &public, &form(&MARIA, &day)).await;
    assert_eq!(counts(&h.server).unconfirmed, 1);
    let code_page = get(&phone, &format!("{public}/visit/{id}")).await;
    assert_eq!(code_page.status, 200);
    assert!(code_page.text.contains("Ми надіслали лист із кодом"));
    let mail = wait_for_mail(&h.maildir, MARIA.email.unwrap(), "код підтвердження");
    let code = code_in(mail["body"].as_str().unwrap());
    let accepted = post_form(&phone, &format!("{public}/visit/{id}"), &[("code", &code)]).await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    assert!(accepted.text.contains("Запит прийнято."));
    assert!(accepted.text.contains("Що далі"));
    assert!(
        accepted
            .text
            .contains("зателефонуйте до центру (+380 32 297 57 95)."),
        "{}",
        accepted.text
    );
    let counts_now = counts(&h.server);
    assert_eq!((counts_now.unconfirmed, counts_now.new), (0, 1));

    // The back-office lists it without personal data; its page opens it, audited.
    let office = Office::sign_in(&h.server, OPERATOR).await;
    let list = office.get("/office/visit-requests").await;
    assert_eq!(list.status, 200);
    assert!(
        list.text
            .contains(&format!("/office/visit-request?id={id}"))
    );
    assert!(list.text.contains("Запити на виїзд"));
    assert!(!list.text.contains("Ґудзь"), "{}", list.text);
    let request = office.get(&format!("/office/visit-request?id={id}")).await;
    assert_eq!(request.status, 200);
    for shown in [
        MARIA.name,
        "+380671239876",
        "с. Ямпіль, вул. Вербова-Неймовірна, 17, кв. 4",
        "код домофону 7731К",
        "Ґудзевич Тарас Остапович",
        "похилий вік, інвалідність",
        &day,
        "orysia.gudz@example.org",
    ] {
        assert!(
            request.text.contains(shown),
            "{shown:?} on the request's page"
        );
    }
    let supervisor = Office::sign_in(&h.server, SUPERVISOR).await;
    assert_eq!(
        supervisor
            .get(&format!("/office/visit-request?id={id}"))
            .await
            .status,
        403
    );

    // Planned for T07; the tablet pulls it over mutual TLS in the visits.md format.
    let refused = office
        .client
        .post(format!("{}/office/visit-request/plan", office.base))
        .header("cookie", &office.cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[("id", &id), ("device", "T07"), ("date", &day)]))
        .send()
        .await
        .unwrap();
    assert!(refused.status().is_client_error(), "no CSRF token: refused");
    let planned = office
        .post(
            "/office/visit-request/plan",
            &[
                ("id", &id),
                ("device", "T07"),
                ("date", &day),
                ("time", "10:30"),
                ("place", "home"),
                ("service", "00001"),
            ],
        )
        .await;
    assert_eq!(planned.status, 303, "{}", planned.text);
    let (visits, _) = tablet.visits(0).await.unwrap();
    assert_eq!(visits.len(), 1);
    let visit = &visits[0];
    assert_eq!(visit["time"], format!("{day} 10:30"));
    assert_eq!(visit["place"], "home");
    assert_eq!(visit["applicant"], MARIA.name);
    assert_eq!(visit["phone"], "+380671239876");
    assert_eq!(
        visit["address"],
        "с. Ямпіль, вул. Вербова-Неймовірна, 17, кв. 4"
    );
    assert_eq!(visit["services"], serde_json::json!(["00001"]));
    assert_eq!(visit["note"], MARIA.directions);

    // The requester's mail says the date and time, and nothing of the request.
    let told = wait_for_mail(&h.maildir, MARIA.email.unwrap(), "виїзд адміністратора");
    let (dd, mm, yyyy) = (&day[8..10], &day[5..7], &day[0..4]);
    let body = told["body"].as_str().unwrap();
    assert!(
        body.contains(&format!("{dd}.{mm}.{yyyy} о 10:30")),
        "{body}"
    );
    assert!(body.contains(&format!("{day} at 10:30")), "{body}");
    for private in [MARIA.name, "Вербова", "7731", "671239876"] {
        assert!(!body.contains(private), "{private:?} in the notice");
    }
    let request = office.get(&format!("/office/visit-request?id={id}")).await;
    assert!(
        request.text.contains("<td>повідомлено</td>"),
        "{}",
        request.text
    );
    assert!(!request.text.contains("Запланувати й повідомити"));
    let again = office
        .post(
            "/office/visit-request/plan",
            &[
                ("id", &id),
                ("device", "T07"),
                ("date", &day),
                ("time", "11:00"),
                ("place", "home"),
                ("service", "00001"),
            ],
        )
        .await;
    assert_eq!(again.status, 422, "a planned request is not planned twice");
    assert_eq!(tablet.visits(0).await.unwrap().0.len(), 1);

    // Petro asks by SMS; the gateway refuses the decline's notice at first: the page says
    // so, an operator sends it again, and the reason arrives.
    let id2 = submit(&phone, &public, &form(&PETRO, &day)).await;
    let sms = h.gateway.texts_to("+380501112299");
    assert_eq!(sms.len(), 1, "{sms:?}");
    let code2 = code_in(&sms[0]);
    let accepted = post_form(
        &phone,
        &format!("{public}/visit/{id2}"),
        &[("code", &code2)],
    )
    .await;
    assert_eq!(accepted.status, 200);
    let empty = office
        .post(
            "/office/visit-request/decline",
            &[("id", &id2), ("reason", "  ")],
        )
        .await;
    assert_eq!(empty.status, 422, "a decline needs its reason");
    h.gateway.status.store(400, Ordering::SeqCst);
    let declined = office
        .post(
            "/office/visit-request/decline",
            &[("id", &id2), ("reason", DECLINED_BECAUSE)],
        )
        .await;
    assert_eq!(declined.status, 303, "{}", declined.text);
    let page = office.get(&format!("/office/visit-request?id={id2}")).await;
    assert!(page.text.contains("не вдалося повідомити"), "{}", page.text);
    assert!(page.text.contains("Надіслати повідомлення знову"));
    assert_eq!(counts(&h.server).notices_failed, 1);
    let reconciliation = supervisor.get("/office/reconciliation").await;
    assert!(
        reconciliation.text.contains("Запити на виїзд"),
        "{}",
        reconciliation.text
    );
    assert!(reconciliation.text.contains("<td>0</td><td>0</td><td>1</td><td>1</td><td>0</td><td><span class=\"bad\">1</span></td>"), "{}", reconciliation.text);
    h.gateway.status.store(202, Ordering::SeqCst);
    let retried = office
        .post("/office/visit-request/notify", &[("id", &id2)])
        .await;
    assert_eq!(retried.status, 303);
    let sms = h.gateway.texts_to("+380501112299");
    assert_eq!(sms.len(), 2, "{sms:?}");
    assert!(sms[1].contains(DECLINED_BECAUSE), "{}", sms[1]);
    assert!(!sms[1].contains("Кривоніс"));
    let page = office.get(&format!("/office/visit-request?id={id2}")).await;
    assert!(page.text.contains("<td>повідомлено</td>"), "{}", page.text);
    assert!(page.text.contains(DECLINED_BECAUSE));
    let declined_list = office.get("/office/visit-requests?state=declined").await;
    assert!(declined_list.text.contains(&id2));

    // The audit trail has each step, and no personal data in it.
    let db = OfficeDb::open(&Layout::new(&h.server.data).database()).unwrap();
    let (actions, chain) = db
        .transaction(|tx| Ok((audit_of(tx, &id)?, verify_audit_chain(tx)?)))
        .unwrap();
    assert_eq!(chain, None);
    let names: Vec<&str> = actions.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        names,
        [
            "visit_request.confirmed",
            "visit_request.opened",
            "visit_request.opened",
            "visit_request.planned",
            "visit_request.notice_sent",
            "visit_request.opened",
        ],
        "{actions:?}"
    );
    let actions2 = db.transaction(|tx| audit_of(tx, &id2)).unwrap();
    let names2: Vec<&str> = actions2.iter().map(|a| a.action.as_str()).collect();
    assert!(
        names2.contains(&"visit_request.notice_failed"),
        "{names2:?}"
    );
    assert!(names2.contains(&"visit_request.notice_retried"));
    for event in actions.iter().chain(&actions2) {
        for private in [
            MARIA.name,
            PETRO.name,
            "Вербова",
            "Яблунева",
            DECLINED_BECAUSE,
        ] {
            assert!(!event.detail.contains(private), "{event:?}");
        }
    }

    // Nothing planted is in the database's files or in the log.
    let planted = [
        MARIA.name,
        "Ґудзь",
        "671239876",
        MARIA.street,
        "7731К",
        "orysia.gudz@example.org",
        "Ґудзевич",
        PETRO.name,
        "501112299",
        PETRO.street,
        "Чорноострівської",
    ];
    assert_nowhere(&database_bytes(&h.server), &planted);
    let log = logged();
    assert!(
        log.contains("a visit request's notice was not sent"),
        "the server's lines are captured"
    );
    for text in planted {
        assert!(!log.contains(text), "{text:?} in the log");
    }
    drop(h.smtp);
    h.server.stop();
    drop(h.dir);
}

static REFUSAL_CLOCK: AtomicI64 = AtomicI64::new(0);
fn refusal_clock() -> i64 {
    wall() + REFUSAL_CLOCK.load(Ordering::SeqCst)
}

fn sms_person(phone: &str) -> Person<'_> {
    Person {
        name: "Пробна Людина Тестівна",
        phone,
        street: "вул. Тестова",
        directions: "",
        email: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_codes_floods_oversized_and_malformed_forms_are_refused() {
    let h = harness(refusal_clock).await;
    let public = h.server.public_url.clone();
    let phone = browser(&h.server.server_ca, "127.0.0.1");
    let day = first_offered_day(&phone, &public).await;
    let zero = RequestCounts::default();

    // A malformed form: the form again, each mistake beside its field; nothing stored or sent.
    let mut pairs = form(&MARIA, &day);
    pairs.retain(|(n, _)| *n != "consent");
    for (n, v) in pairs.iter_mut() {
        if *n == "phone" {
            *v = "12-34";
        }
    }
    let refused = post_form(&phone, &format!("{public}/visit"), &pairs).await;
    assert_eq!(refused.status, 422);
    assert!(refused.text.contains("Перевірте форму"));
    assert!(refused.text.contains("id=\"e-phone\""));
    assert!(refused.text.contains("Це не український мобільний номер"));
    assert!(refused.text.contains("id=\"e-consent\""));
    assert!(
        refused
            .text
            .contains("Без згоди на обробку персональних даних")
    );
    assert!(
        refused
            .text
            .contains("value=\"Ґудзь-Тестова Орися Северинівна\""),
        "kept to fix"
    );
    let mut missing = form(&MARIA, &day);
    missing.retain(|(n, _)| *n != "phone");
    assert_eq!(
        post_form(&phone, &format!("{public}/visit"), &missing)
            .await
            .status,
        422
    );
    let english = post_form(&phone, &format!("{public}/visit?lang=en"), &missing).await;
    assert!(
        english.text.contains("Please check the form"),
        "{}",
        english.text
    );
    assert_eq!(counts(&h.server), zero);

    // An oversized body: 413, nothing stored.
    let big = "я".repeat(12 * 1024);
    let mut oversized = form(&MARIA, &day);
    oversized.push(("directions", &big));
    let too_large = post_form(&phone, &format!("{public}/visit"), &oversized).await;
    assert_eq!(too_large.status, 413);
    assert_eq!(too_large.connection.as_deref(), Some("close"));
    assert!(
        too_large.text.contains("Форма завелика"),
        "{}",
        too_large.text
    );
    // A field over its limit, inside the body limit: refused beside the field.
    let long_name = format!("{} Орися", "Ґ".repeat(130));
    let mut long = form(&MARIA, &day);
    long.retain(|(n, _)| *n != "person");
    long.push(("person", &long_name));
    let refused = post_form(&phone, &format!("{public}/visit"), &long).await;
    assert_eq!(refused.status, 422);
    assert!(refused.text.contains("не більше 120 символів"));
    assert_eq!(counts(&h.server), zero);
    assert!(mails(&h.maildir).is_empty());
    assert!(h.gateway.messages.lock().unwrap().is_empty());

    // Wrong codes: four say how many tries are left, the fifth drops the request.
    let id = submit(&phone, &public, &form(&sms_person("0931110001"), &day)).await;
    let code = code_in(&h.gateway.texts_to("+380931110001")[0]);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in (1..=4).rev() {
        let answer = post_form(&phone, &format!("{public}/visit/{id}"), &[("code", wrong)]).await;
        assert_eq!(answer.status, 422);
        assert!(
            answer.text.contains(&format!("Залишилося спроб: {left}.")),
            "{}",
            answer.text
        );
    }
    let not_a_code = post_form(&phone, &format!("{public}/visit/{id}"), &[("code", "12ab")]).await;
    assert_eq!(not_a_code.status, 422, "not a code: not counted");
    let dropped = post_form(&phone, &format!("{public}/visit/{id}"), &[("code", wrong)]).await;
    assert_eq!(dropped.status, 410);
    assert!(dropped.text.contains("Запит скасовано"));
    let after = post_form(&phone, &format!("{public}/visit/{id}"), &[("code", &code)]).await;
    assert_eq!(
        after.status, 404,
        "the right code no longer confirms anything"
    );
    assert_eq!(
        get(&phone, &format!("{public}/visit/{id}")).await.status,
        404
    );
    assert_eq!(counts(&h.server), zero);

    // An expired code: 31 minutes later the right code is refused, the request gone.
    let id = submit(&phone, &public, &form(&sms_person("0931110002"), &day)).await;
    let code = code_in(&h.gateway.texts_to("+380931110002")[0]);
    REFUSAL_CLOCK.store(31 * 60, Ordering::SeqCst);
    let expired = post_form(&phone, &format!("{public}/visit/{id}"), &[("code", &code)]).await;
    assert_eq!(expired.status, 410);
    assert!(expired.text.contains("Код застарів"));
    assert_eq!(counts(&h.server), zero);

    // An unknown or malformed request id.
    let unknown = "0123456789abcdef0123456789abcdef";
    let answer = post_form(
        &phone,
        &format!("{public}/visit/{unknown}"),
        &[("code", "123456")],
    )
    .await;
    assert_eq!(answer.status, 404);
    assert!(answer.text.contains("Запит не знайдено"));
    assert_eq!(
        post_form(&phone, &format!("{public}/visit/1"), &[("code", "123456")])
            .await
            .status,
        404
    );
    assert_eq!(
        get(&phone, &format!("{public}/visit/..%2Fx")).await.status,
        404
    );

    // Missing confirmation: a request never confirmed is not in the back-office's list, is
    // counted as unconfirmed, and is forgotten after a day.
    let id = submit(&phone, &public, &form(&sms_person("0931110003"), &day)).await;
    let office = Office::sign_in(&h.server, OPERATOR).await;
    let list = office.get("/office/visit-requests").await;
    assert!(!list.text.contains(&id));
    assert!(
        list.text.contains("Очікують підтвердження коду: 1."),
        "{}",
        list.text
    );
    assert_eq!(
        office
            .get(&format!("/office/visit-request?id={id}"))
            .await
            .status,
        404
    );
    let central = CentralState::open(&h.server.data, h.central.clone(), h.clock).unwrap();
    let key = PersonalDataKey::load_or_create(&Layout::new(&h.server.data).keys()).unwrap();
    let notices = Notices::new(h.server.meta.clone(), central, Arc::new(key), h.clock);
    assert_eq!(
        notices.run_once().await.unwrap().swept,
        0,
        "not before a day"
    );
    assert_eq!(counts(&h.server).unconfirmed, 1);
    REFUSAL_CLOCK.store(31 * 60 + 86_400 + 60, Ordering::SeqCst);
    // The server's own worker may sweep it first: what counts is that it is gone.
    notices.run_once().await.unwrap();
    assert_eq!(counts(&h.server), zero);

    // Flooding from one address: five requests an hour, then 429 with Retry-After.
    let flooder = browser(&h.server.server_ca, "127.0.0.2");
    for n in 0..5 {
        let number = format!("093222000{n}");
        submit(&flooder, &public, &form(&sms_person(&number), &day)).await;
    }
    let flood = post_form(
        &flooder,
        &format!("{public}/visit"),
        &form(&sms_person("0932220009"), &day),
    )
    .await;
    assert_eq!(flood.status, 429);
    assert!(
        flood
            .text
            .contains("З вашої адреси вже надіслано кілька запитів")
    );
    let wait: i64 = flood.retry_after.unwrap().parse().unwrap();
    assert!(wait > 0 && wait <= 3600, "{wait}");
    assert!(
        h.gateway.texts_to("+380932220009").is_empty(),
        "no code sent"
    );
    // Another address is not held by it.
    let neighbour = browser(&h.server.server_ca, "127.0.0.3");
    submit(&neighbour, &public, &form(&sms_person("0932220009"), &day)).await;

    // Flooding one phone from many addresses: three codes an hour reach it.
    for n in 4..7 {
        let client = browser(&h.server.server_ca, &format!("127.0.0.{n}"));
        submit(&client, &public, &form(&sms_person("0673330000"), &day)).await;
    }
    let client = browser(&h.server.server_ca, "127.0.0.7");
    let flood = post_form(
        &client,
        &format!("{public}/visit"),
        &form(&sms_person("0673330000"), &day),
    )
    .await;
    assert_eq!(flood.status, 429);
    assert!(
        flood
            .text
            .contains("На цей телефон чи адресу вже надіслано кілька кодів")
    );
    assert_eq!(h.gateway.texts_to("+380673330000").len(), 3);

    // A code that cannot be sent (the mail server is down): nothing kept, the form again.
    let mut down = h;
    drop(down.smtp.take());
    let answer = post_form(
        &browser(&down.server.server_ca, "127.0.0.8"),
        &format!("{public}/visit"),
        &form(&MARIA, &day),
    )
    .await;
    assert_eq!(answer.status, 503, "{}", answer.text);
    assert!(answer.text.contains("не вдалося надіслати код"));
    let before = counts(&down.server).unconfirmed;
    assert_eq!(before, 5 + 1 + 3, "the earlier unconfirmed ones only");
    let _ = down.smtp_port;

    // No log line holds what was typed.
    let log = logged();
    for text in [
        MARIA.name,
        "Тестівна",
        "931110001",
        "orysia.gudz@example.org",
        "Вербова",
    ] {
        assert!(!log.contains(text), "{text:?} in the log");
    }
    down.server.stop();
}

#[test]
fn the_log_buffer_records() {
    // The log searches above rest on this: a line written through tracing lands in the buffer.
    logs();
    tracing::warn!(marker = "visit-requests-log-check", "checking the capture");
    assert!(logged().contains("visit-requests-log-check"));
}
