#![allow(clippy::unwrap_used)]
//! A home-visit request from the public form to the tablet's «Сьогодні», headless, against real
//! parts: a local sync-server over real TLS with its public side, a real SMTP server (Python's
//! aiosmtpd) for the confirmation code and the requester's notice, the back-office signed in
//! over HTTPS, and the tablet enrolled and synced through its own screens. A relative asks
//! for a visit to Марія by e-mail; the code from the mail confirms it; an operator plans it
//! for the tablet; after «Синхронізувати зараз» the tablet's Today lists the visit with her
//! name and address; the mail with the date and time is in aiosmtpd.

mod common;

use std::net::{TcpListener as StdListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use fieldkit_app::ui::{App, Screen};
use fieldkit_sync_server::central::{CentralConfig, NotifyConfig, SmtpSecurity};
use fieldkit_sync_server::local::LocalServer;
use fieldkit_sync_server::office::auth::{Role, set_user};
use fieldkit_sync_server::office::db::OfficeDb;
use fieldkit_sync_server::setup::Layout;
use fieldkit_sync_server::store::MetadataStore;
use slint::ComponentHandle;

const PERSON: &str = "Ґудзь-Тестова Орися Северинівна";
const EMAIL: &str = "orysia.gudz@example.org";
const PASSWORD: &str = "довгий-тестовий-пароль";

fn screen(app: &fieldkit_app::RunningApp) -> Screen {
    app.window.global::<App>().get_screen()
}

struct Smtp(Child);

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_smtp(maildir: &Path) -> (Smtp, u16) {
    let port = StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 with aiosmtpd (tests/run.sh installs it)");
    let smtp = Smtp(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "aiosmtpd did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    (smtp, port)
}

/// The body of the first mail to `to` whose subject contains `subject` (Python's parser),
/// waited for.
fn wait_for_mail(maildir: &Path, to: &str, subject: &str) -> String {
    let script = r#"
import email, email.policy, json, mailbox, sys
box = mailbox.Maildir(sys.argv[1], create=False)
out = []
for m in box:
    m = email.message_from_bytes(m.as_bytes(), policy=email.policy.default)
    out.append({"to": str(m["to"]), "subject": str(m["subject"]), "body": m.get_content()})
print(json.dumps(out, ensure_ascii=False))
"#;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if maildir.join("new").exists() {
            let output = Command::new("python3")
                .args(["-c", script])
                .arg(maildir)
                .output()
                .unwrap();
            assert!(output.status.success());
            let mails: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
            if let Some(mail) = mails
                .iter()
                .find(|m| m["to"] == to && m["subject"].as_str().unwrap().contains(subject))
            {
                return mail["body"].as_str().unwrap().to_owned();
            }
        }
        assert!(
            Instant::now() < deadline,
            "no mail to {to} about {subject:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A browser trusting the server CA, following no redirect.
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

fn encode(pairs: &[(&str, &str)]) -> String {
    let escape = |text: &str| {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
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

/// POST a form, with a cookie if given: status, Location, body.
async fn post(
    client: &reqwest::Client,
    url: &str,
    cookie: Option<&str>,
    pairs: &[(&str, &str)],
) -> (u16, Option<String>, String) {
    let mut request = client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(pairs));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.unwrap();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        response.status().as_u16(),
        location,
        response.text().await.unwrap(),
    )
}

fn token_after(text: &str, marker: &str, len: usize) -> String {
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("{marker:?} in {text}"))
        + marker.len();
    text[at..at + len].to_owned()
}

/// The requester's side and the operator's, over HTTPS: returns the visit's day.
async fn request_and_plan(server: &LocalServer, maildir: &Path) -> String {
    let phone = browser(&server.server_ca);
    let public = &server.public_url;
    let form = phone
        .get(format!("{public}/visit"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let day = token_after(&form, "name=\"day\" value=\"", 10);
    let (status, location, text) = post(
        &phone,
        &format!("{public}/visit"),
        None,
        &[
            ("person", PERSON),
            ("phone", "0671239876"),
            ("asker", "relative"),
            ("asked_by", "Ґудзевич Тарас"),
            ("place", "home"),
            ("settlement", "с. Ямпіль"),
            ("street", "вул. Вербова-Неймовірна"),
            ("house", "17"),
            ("flat", "4"),
            ("service", "00001"),
            ("reason", "age"),
            ("day", &day),
            ("time", "morning"),
            ("notify", "email"),
            ("email", EMAIL),
            ("consent", "yes"),
        ],
    )
    .await;
    assert_eq!(status, 303, "{text}");
    let location = location.unwrap();
    let body = wait_for_mail(maildir, EMAIL, "код підтвердження");
    let code = token_after(&body, "адміністратора: ", 6);
    let (status, _, text) = post(
        &phone,
        &format!("{public}{location}"),
        None,
        &[("code", &code)],
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("Запит прийнято."));
    let id = location.trim_start_matches("/visit/");

    // The operator signs in and plans it for the tablet T07.
    let office = browser(&server.server_ca);
    let base = &server.url;
    let login = office
        .get(format!("{base}/office/login"))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let token = token_after(&login.text().await.unwrap(), "name=\"csrf\" value=\"", 64);
    let signed_in = office
        .post(format!("{base}/office/login"))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[
            ("username", "olena.operator"),
            ("password", PASSWORD),
            ("csrf", &token),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let session = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let list = office
        .get(format!("{base}/office/visit-requests"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains(id), "the request is listed: {list}");
    let csrf = token_after(&list, "name=\"csrf\" value=\"", 64);
    let (status, _, text) = post(
        &office,
        &format!("{base}/office/visit-request/plan"),
        Some(&session),
        &[
            ("csrf", &csrf),
            ("id", id),
            ("device", "T07"),
            ("date", &day),
            ("time", "10:30"),
            ("place", "home"),
            ("service", "00001"),
        ],
    )
    .await;
    assert_eq!(status, 303, "{text}");
    day
}

#[test]
fn a_requested_visit_reaches_today_and_the_requester_hears_the_date() {
    init_headless();
    let folder = tempfile::tempdir().unwrap();
    let maildir = folder.path().join("maildir");
    let (_smtp, port) = start_smtp(&maildir);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let central = CentralConfig {
        notify: Some(NotifyConfig {
            smtp_host: Some("127.0.0.1".into()),
            smtp_port: port,
            smtp_security: SmtpSecurity::None,
            smtp_username: None,
            smtp_password_file: None,
            from: Some("ЦНАП <cnap@example.lviv.ua>".into()),
            sms_gateway_url: None,
            sms_gateway_token_file: None,
        }),
        ..CentralConfig::default()
    };
    let server = runtime
        .block_on(LocalServer::start_with(
            &folder.path().join("server"),
            now,
            0,
            central,
        ))
        .unwrap();
    let catalog = std::fs::read_to_string(assets().join("catalog/catalog.toml")).unwrap();
    server.meta.publish_catalog(1, &catalog, now()).unwrap();
    let db = OfficeDb::open(&Layout::new(&server.data).database()).unwrap();
    set_user(
        &db,
        "olena.operator",
        Role::Operator,
        PASSWORD,
        "test",
        now(),
    )
    .unwrap();
    server.enroll_code("CODE-0002", now()).unwrap();

    // The tablet enrolls through its first screen.
    let data = folder.path().join("tablet");
    let mut config = config(&data);
    config.server_ca = Some(server.server_ca.clone());
    let app = open(config, 1920.0, 1200.0);
    fieldkit_app::i18n::apply(fieldkit_app::i18n::Lang::Uk);
    assert_eq!(screen(&app), Screen::Enroll);
    type_into(&app, "Адреса сервера", &server.url);
    type_into(&app, "Одноразовий код", "CODE-0002");
    type_into(&app, "Назва планшета", "T07");
    type_into(&app, "ПІБ адміністратора", "Коваленко Олена Петрівна");
    type_into(&app, "Ім'я на екрані входу", "Олена К.");
    type_into(&app, "Нова парольна фраза", "довга-парольна-фраза");
    type_into(&app, "Парольна фраза ще раз", "довга-парольна-фраза");
    tap(&app, "Зареєструвати планшет");
    wait_for(&app, "enrollment", |app| screen(app) == Screen::Today);
    assert!(!has_containing(&app, PERSON));

    // The request: the form, the mail with the code, the back-office's plan.
    let day = runtime.block_on(request_and_plan(&server, &maildir));

    // The tablet syncs: Today lists the visit, with the person and the address.
    tap(&app, "Налаштування");
    tap(&app, "Синхронізувати зараз");
    tap(&app, "Назад");
    let start = format!("Почати виїзд {day} 10:30");
    wait_for(&app, "the requested visit on Today", |app| has(app, &start));
    assert_eq!(screen(&app), Screen::Today);
    assert!(
        has_containing(&app, &format!("{day} 10:30 · вдома")),
        "{:?}",
        labels(&app)
    );
    assert!(
        has_containing(&app, "с. Ямпіль, вул. Вербова-Неймовірна, 17, кв. 4"),
        "{:?}",
        labels(&app)
    );
    assert!(
        has_containing(&app, &format!("{PERSON} — 00001")),
        "{:?}",
        labels(&app)
    );

    // The requester's mail says when.
    let body = wait_for_mail(&maildir, EMAIL, "виїзд адміністратора");
    let uk_date = format!("{}.{}.{} о 10:30", &day[8..10], &day[5..7], &day[0..4]);
    assert!(body.contains(&uk_date), "{body}");
    assert!(body.contains(&format!("{day} at 10:30")), "{body}");
    assert!(!body.contains("Ґудзь"), "{body}");

    // The server kept the request and the visit sealed: none of it in its database's files.
    for (path, bytes) in raw_bytes(&server.data) {
        for planted in [PERSON, "Вербова-Неймовірна", "671239876", EMAIL] {
            let needle = planted.as_bytes();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{planted:?} in clear in {}",
                path.display()
            );
        }
    }
    server.stop();
}
