#![allow(clippy::unwrap_used)]
//! The back-office over real HTTPS against a server holding real synced cases: sign-in with
//! back-off, cookies that scripts cannot read, CSRF and role checks that refuse, the inbox with
//! its counts and filters, a case opened with its pages, checked signatures and the application
//! signed with the inventory (its PDF downloaded and read with pdftotext), accept (queued
//! for the central system in the same transaction), return with a reason the tablet receives,
//! duplicates, and every action in the server's audit chain; an applicant's notification that
//! failed, shown on the case page and sent again by an operator.

use std::sync::Arc;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::sync::mpsc;

use fieldkit_e2e::office::{
    DEVICE_ADMIN, OPERATOR, PASSWORD, SUPERVISOR, office_fixture, office_fixture_configured,
};
use fieldkit_sync_server::central::notify::{NotificationEntry, notifications_of};
use fieldkit_sync_server::central::{NotificationState, NotifyConfig};
use fieldkit_sync_server::office::db::{OfficeDb, audit_of, verify_audit_chain};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

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

struct Session {
    client: reqwest::Client,
    base: String,
    cookie: String,
}

impl Session {
    async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("Cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("Cookie", &self.cookie)
            .form(form)
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// The CSRF token of this session, as the pages carry it.
    async fn csrf(&self) -> String {
        let (_, page) = self.get("/office/inbox").await;
        let (_, page) = if page.contains("name=\"csrf\"") {
            (StatusCode::OK, page)
        } else {
            self.get("/office/devices").await
        };
        let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
        page[at..at + 64].to_owned()
    }
}

/// The sign-in page's form token, as its cookie and as the form's hidden field.
async fn login_form_token(client: &reqwest::Client, base: &str) -> (String, String) {
    let page = client
        .get(format!("{base}/office/login"))
        .send()
        .await
        .unwrap();
    let set_cookie = page.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let text = page.text().await.unwrap();
    let at = text.find("name=\"csrf\" value=\"").unwrap() + 19;
    (cookie, text[at..at + 64].to_owned())
}

async fn sign_in(
    client: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
) -> reqwest::Response {
    let (cookie, token) = login_form_token(client, base).await;
    client
        .post(format!("{base}/office/login"))
        .header("cookie", cookie)
        .form(&[("username", user), ("password", password), ("csrf", &token)])
        .send()
        .await
        .unwrap()
}

async fn session(client: &reqwest::Client, base: &str, user: &str) -> Session {
    let response = sign_in(client, base, user, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/office"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    Session {
        client: client.clone(),
        base: base.to_owned(),
        cookie: set_cookie.split(';').next().unwrap().to_owned(),
    }
}

async fn csrf_supervisor(session: &Session) -> String {
    let (_, page) = session.get("/office/catalog").await;
    let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    page[at..at + 64].to_owned()
}

fn url(text: &str) -> String {
    text.replace('/', "%2F")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_reconcile_cases_and_every_refusal_holds() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = office_fixture(dir.path()).await.unwrap();
    let base = fixture.server.url.clone();
    let client = browser(&fixture.server.server_ca);
    let (first, second) = (&fixture.cases[0], &fixture.cases[1]);

    // Without a session every page sends the browser to sign in.
    let response = client
        .get(format!("{base}/office/inbox"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/office/login");

    // A sign-in form without its own token, or with another page's, is refused before the
    // password is looked at (a cross-site form cannot sign staff in as someone else).
    let (_, token) = login_form_token(&client, &base).await;
    let (other_cookie, _) = login_form_token(&client, &base).await;
    let attempts = [
        (None, token.clone()),
        (Some(other_cookie.clone()), token.clone()),
        (Some(other_cookie), String::new()),
    ];
    for (cookie, token) in attempts {
        let mut request = client.post(format!("{base}/office/login")).form(&[
            ("username", OPERATOR),
            ("password", PASSWORD),
            ("csrf", token.as_str()),
        ]);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let refused = request.send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        let cookies: Vec<_> = refused.headers().get_all("set-cookie").iter().collect();
        assert!(
            cookies
                .iter()
                .all(|c| !c.to_str().unwrap().starts_with("fk_session=")),
            "{cookies:?}"
        );
        assert!(
            refused
                .text()
                .await
                .unwrap()
                .contains("Форму входу відхилено")
        );
    }

    // Wrong passwords: the same answer for an unknown user, then a wait.
    for _ in 0..2 {
        let wrong = sign_in(&client, &base, OPERATOR, "не-той-пароль-зовсім").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        assert!(
            wrong
                .text()
                .await
                .unwrap()
                .contains("Невірне ім’я користувача або пароль")
        );
    }
    let unknown = sign_in(&client, &base, "nobody", "не-той-пароль-зовсім").await;
    assert!(
        unknown
            .text()
            .await
            .unwrap()
            .contains("Невірне ім’я користувача або пароль")
    );
    let third = sign_in(&client, &base, OPERATOR, "не-той-пароль-зовсім").await;
    assert!(
        third
            .text()
            .await
            .unwrap()
            .contains("Забагато невдалих спроб")
    );
    let even_right = sign_in(&client, &base, OPERATOR, PASSWORD).await;
    assert_eq!(
        even_right.status(),
        StatusCode::UNAUTHORIZED,
        "locked for a while"
    );

    let supervisor = session(&client, &base, SUPERVISOR).await;
    let (status, inbox) = supervisor.get("/office/inbox").await;
    assert_eq!(status, StatusCode::OK);
    assert!(inbox.contains("Отримано (2)"), "{inbox}");
    assert!(inbox.contains(first) && inbox.contains(second));
    assert!(inbox.contains("Декларування місця проживання"));
    // Filtered by tablet's administrator: the demo administrator's name, one case per tablet.
    let (_, filtered) = supervisor
        .get(&format!(
            "/office/inbox?state=received&centre={}",
            first.split('/').next().unwrap()
        ))
        .await;
    assert!(filtered.contains(first));
    let (_, none) = supervisor.get("/office/inbox?state=accepted").await;
    assert!(!none.contains(first), "filter by state");

    // The case, opened in memory: applicant, checked signatures, pages, inventory.
    let (status, case) = supervisor
        .get(&format!("/office/case?n={}", url(first)))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(case.contains(fieldkit_e2e::DEMO_APPLICANT), "{case}");
    assert!(case.contains("штрихи відповідають зображенню"), "{case}");
    assert!(
        !case.contains("class=\"bad\""),
        "a signature failed its check: {case}"
    );
    let page = supervisor
        .client
        .get(format!("{base}/office/case/page?n={}&i=0", url(first)))
        .header("Cookie", &supervisor.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let bytes = page.bytes().await.unwrap();
    assert!(image::load_from_memory(&bytes).is_ok(), "a real page image");
    // The inventory PDF a tablet wrote is downloaded, never rendered on the back-office's origin.
    let pdf = supervisor
        .client
        .get(format!("{base}/office/case/inventory?n={}", url(first)))
        .header("Cookie", &supervisor.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), StatusCode::OK);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(
        pdf.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment"),
        "{:?}",
        pdf.headers()
    );
    assert_eq!(pdf.headers()["x-content-type-options"], "nosniff");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));
    // The application signed with the inventory: the check, the answers under their labels,
    // and its PDF as a download.
    assert!(
        case.contains("заява, підписана разом з описом, відповідає зазначеній у справі"),
        "{case}"
    );
    assert!(case.contains("Підстава проживання"), "{case}");
    let application = supervisor
        .client
        .get(format!("{base}/office/case/application?n={}", url(first)))
        .header("Cookie", &supervisor.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(application.status(), StatusCode::OK);
    assert_eq!(application.headers()["content-type"], "application/pdf");
    assert_eq!(
        application.headers()["content-disposition"],
        "attachment; filename=\"application.pdf\""
    );
    assert_eq!(application.headers()["x-content-type-options"], "nosniff");
    let pdf = application.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    let pdf_path = dir.path().join("application.pdf");
    std::fs::write(&pdf_path, &pdf).unwrap();
    let text = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&pdf_path)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("Заява"), "{text}");
    assert!(text.contains(&format!("Справа №: {first}")), "{text}");
    // A supervisor reads but does not act.
    let csrf = supervisor.csrf().await;
    let (status, refused) = supervisor
        .post("/office/case/accept", &[("csrf", &csrf), ("n", first)])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(refused.contains("Ваша роль не дозволяє"));

    // A device administrator does not see cases.
    let devices = session(&client, &base, DEVICE_ADMIN).await;
    let (status, _) = devices.get("/office/inbox").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, page) = devices.get("/office/devices").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("T07") && page.contains("T08"));
    let csrf_devices = devices.csrf().await;
    let (status, code_page) = devices
        .post("/office/devices/code", &[("csrf", &csrf_devices)])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        code_page.contains("data:image/png;base64,"),
        "the code as a QR"
    );

    // A new password from the operator's console lifts the lock (and ends old sessions).
    let db = OfficeDb::open(&fixture.server.data.join("metadata.sqlite")).unwrap();
    fieldkit_sync_server::office::auth::set_user(
        &db,
        OPERATOR,
        fieldkit_sync_server::office::auth::Role::Operator,
        PASSWORD,
        "test",
        fieldkit_e2e::office::now(),
    )
    .unwrap();
    let operator = session(&client, &base, OPERATOR).await;
    let csrf = operator.csrf().await;
    // Forms without the session's CSRF token are refused and change nothing.
    let (status, page) = operator.post("/office/case/accept", &[("n", first)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("Форма застаріла"));
    let (status, _) = operator
        .post(
            "/office/case/accept",
            &[("csrf", &csrf_devices), ("n", first)],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another session's token");
    let (_, case) = operator
        .get(&format!("/office/case?n={}", url(first)))
        .await;
    assert!(case.contains("Прийняти й передати"), "still to act on");

    // Accept the first: queued for the central system in the same transaction.
    let (status, _) = operator
        .post("/office/case/accept", &[("csrf", &csrf), ("n", first)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let queued: i64 = db
        .transaction(|tx| {
            Ok(tx.query_row(
                "SELECT count(*) FROM central_outbox o JOIN office_cases c ON c.envelope_id = o.envelope_id
                 WHERE c.case_number = ?1 AND c.state = 'accepted'",
                [first],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(queued, 1);
    // The connector picks it up: the case folder appears in the drop folder, once, and the
    // case moves on to "forwarded" for the back-office and the tablet.
    let envelope: String = db
        .transaction(|tx| {
            Ok(tx.query_row(
                "SELECT envelope_id FROM office_cases WHERE case_number = ?1",
                [first],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    let folder = fixture.dir.join("central-drop").join(&envelope);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !folder.join("case.json").exists() {
        assert!(std::time::Instant::now() < deadline, "never forwarded");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let forwarded = loop {
        let (events, _) = fixture.tablets[0].status(0).await.unwrap();
        if events.iter().any(|e| e.status.as_str() == "forwarded") {
            break events;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "forwarded never reached the feed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert!(forwarded.iter().any(|e| e.status.as_str() == "accepted"));
    // Accepting twice is refused with the reason.
    let (status, page) = operator
        .post("/office/case/accept", &[("csrf", &csrf), ("n", first)])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("не можна прийняти в бек-офісі"), "{page}");

    // Return the second with a reason: the tablet's status feed carries it.
    let (status, page) = operator
        .post(
            "/office/case/return",
            &[("csrf", &csrf), ("n", second), ("reason", " ")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Напишіть причину"));
    let reason = "Бракує другої сторінки паспорта";
    let (status, _) = operator
        .post(
            "/office/case/return",
            &[("csrf", &csrf), ("n", second), ("reason", reason)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (events, _) = fixture.tablets[1].status(0).await.unwrap();
    let returned = events
        .iter()
        .find(|e| e.status.as_str() == "returned")
        .unwrap();
    assert_eq!(returned.detail.as_deref(), Some(reason));
    // The administrator's tablet keeps the reason with the case, to show in «Справи».
    let locked = fieldkit_vault::Vault::open(
        &fixture.dir.join("T08/vault.sqlite"),
        fieldkit_vault::VaultOptions::default(),
        std::sync::Arc::new(fieldkit_vault::SystemClock),
    )
    .unwrap();
    let slot = locked.slots().unwrap()[0].slot_id.clone();
    let mut vault = locked.unlock(&slot, fieldkit_e2e::DEMO_PASSPHRASE).unwrap();
    fieldkit_e2e::sync::pull_status(&mut vault, &fixture.tablets[1], 0)
        .await
        .unwrap();
    let kept = vault
        .get_setting(&format!("reason.{second}"))
        .unwrap()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&kept), reason);
    let (events, _) = fixture.tablets[0].status(0).await.unwrap();
    assert!(events.iter().any(|e| e.status.as_str() == "accepted"));
    assert!(
        events.iter().all(|e| e.status.as_str() != "returned"),
        "each tablet sees its own"
    );

    // Duplicates must name a case that exists and is not itself.
    let (status, _) = operator
        .post(
            "/office/case/duplicate",
            &[("csrf", &csrf), ("n", second), ("original", second)],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Counts follow; the audit chain names the users and verifies.
    let (_, inbox) = operator.get("/office/inbox").await;
    assert!(
        inbox.contains("Передано до центральної системи (1)"),
        "{inbox}"
    );
    assert!(inbox.contains("Повернуто адміністратору (1)"), "{inbox}");
    let (_, case) = operator
        .get(&format!("/office/case?n={}", url(second)))
        .await;
    assert!(case.contains(OPERATOR) && case.contains("case.returned") && case.contains(reason));
    assert_eq!(db.transaction(verify_audit_chain).unwrap(), None);
    db.transaction(|tx| {
        tx.execute(
            "UPDATE server_audit SET detail = 'змінено' WHERE action = 'case.returned'",
            [],
        )?;
        Ok(())
    })
    .unwrap();
    assert!(
        db.transaction(verify_audit_chain).unwrap().is_some(),
        "an edit shows"
    );

    // Nothing opened was written to the server's disk in clear.
    for entry in walk(&fixture.server.data) {
        let bytes = std::fs::read(&entry).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(fieldkit_e2e::DEMO_APPLICANT),
            "{} holds the applicant's name",
            entry.display()
        );
    }

    // Planning: a visit for T07 reaches that tablet's visits feed, and only with good input.
    let (status, page) = operator
        .post(
            "/office/visits",
            &[
                ("csrf", &csrf),
                ("device", "T07"),
                ("date", "2026-12-01"),
                ("time", "10:30"),
                ("place", "hospital"),
                ("address", "м. Львів, вул. Лікарняна, 1, палата 4"),
                ("applicant", "Бондар Петро Олексійович"),
                ("phone", "050 987 65 43"),
                ("services", "00001"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let (visits, _) = fixture.tablets[0].visits(0).await.unwrap();
    assert_eq!(visits.len(), 1);
    assert_eq!(visits[0]["place"], "hospital");
    assert_eq!(visits[0]["time"], "2026-12-01 10:30");
    let (status, page) = operator
        .post(
            "/office/visits",
            &[
                ("csrf", &csrf),
                ("device", "T07"),
                ("date", "2026-12-01"),
                ("time", "10:30"),
                ("place", "hospital"),
                ("address", "вул. Лікарняна"),
                ("applicant", "Бондар"),
                ("services", "99999"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("опублікованого каталогу"));

    // Reconciliation lists the gap: forwarded, not yet acknowledged by the central system.
    let (status, report) = supervisor.get("/office/reconciliation").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        report.contains(&format!(
            "{first}: передано, центральна система не підтвердила"
        )),
        "{report}"
    );

    // Catalog: a new version is checked and compared before it is published.
    let assets = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets");
    let current = std::fs::read_to_string(assets.join("catalog/catalog.toml")).unwrap();
    let changed = current.replacen("version = 1", "version = 2", 1).replacen(
        "term = { days = 0, kind = \"working\" }",
        "term = { days = 3, kind = \"working\" }",
        1,
    );
    let upload = |text: String, token: String| {
        let form = reqwest::multipart::Form::new().text("csrf", token).part(
            "catalog",
            reqwest::multipart::Part::text(text).file_name("catalog.toml"),
        );
        supervisor
            .client
            .post(format!("{base}/office/catalog/preview"))
            .header("Cookie", &supervisor.cookie)
            .multipart(form)
            .send()
    };
    let broken = upload(
        "version = 3\n[centre]\n".to_owned(),
        csrf_supervisor(&supervisor).await,
    )
    .await
    .unwrap();
    assert_eq!(broken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let preview = upload(changed, csrf_supervisor(&supervisor).await)
        .await
        .unwrap();
    assert_eq!(preview.status(), StatusCode::OK);
    let preview = preview.text().await.unwrap();
    assert!(
        preview.contains("1 → 2") && preview.contains("змінено") && preview.contains("term"),
        "{preview}"
    );
    let draft_at = preview.find("name=\"draft\" value=\"").unwrap() + 20;
    let draft: String = preview[draft_at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let token = csrf_supervisor(&supervisor).await;
    let (status, published) = supervisor
        .post(
            "/office/catalog/publish",
            &[("csrf", &token), ("draft", &draft)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{published}");
    let update = fixture.tablets[0].catalog(1).await.unwrap().unwrap();
    assert_eq!(update.version, 2);

    // Revoking a tablet from the devices page: its next request is refused.
    let (status, _) = devices
        .post(
            "/office/devices/revoke",
            &[("csrf", &csrf_devices), ("device", "T08")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(fixture.tablets[1].visits(0).await.is_err());

    // English second: the same pages in English on request.
    let english = Session {
        client: operator.client.clone(),
        base: base.clone(),
        cookie: format!("{}; fk_lang=en", operator.cookie),
    };
    let (_, inbox) = english.get("/office/inbox").await;
    assert!(
        inbox.contains("Inbox") && inbox.contains("Forwarded to the central system (1)"),
        "{inbox}"
    );

    // Signing out ends the session.
    let (status, _) = operator.post("/office/logout", &[("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = operator.get("/office/inbox").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let _ = fixture.dir;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

// ---------------------------------------------------------------------------------------------
// Applicants' notifications.

/// A random secret in a file only its owner reads, as the server wants its key files.
fn secret_file(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, Vec<u8>) {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).unwrap();
    let secret = hex::encode(bytes).into_bytes();
    let path = dir.join(name);
    std::fs::write(&path, &secret).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    (path, secret)
}

/// An SMS gateway on loopback that answers each message with the next status the test gives
/// it, and waits for one: until then the message is in flight and its row stays as it was.
struct SmsGateway {
    url: String,
    /// The JSON body of each message, as it arrives.
    messages: mpsc::Receiver<serde_json::Value>,
    answers: mpsc::Sender<u16>,
}

fn sms_gateway() -> SmsGateway {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    let (arrived, messages) = mpsc::channel();
    let (answers, answer) = mpsc::channel::<u16>();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut reader = BufReader::new(stream);
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let message = serde_json::from_slice(&body).unwrap_or_default();
            let Ok(()) = arrived.send(message) else {
                return;
            };
            let Ok(status) = answer.recv() else { return };
            let _ = write!(
                reader.get_mut(),
                "HTTP/1.1 {status} Answer\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    SmsGateway {
        url,
        messages,
        answers,
    }
}

impl SmsGateway {
    /// The next message the gateway receives.
    async fn next_message(&self) -> serde_json::Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if let Ok(message) = self.messages.try_recv() {
                return message;
            }
            assert!(std::time::Instant::now() < deadline, "no SMS arrived");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

fn notification(db: &OfficeDb, case_number: &str) -> NotificationEntry {
    let mut all = notifications_of(db, case_number).unwrap();
    assert_eq!(all.len(), 1, "{all:?}");
    all.remove(0)
}

async fn wait_for_state(db: &OfficeDb, case_number: &str, state: NotificationState) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let entry = notification(db, case_number);
        if entry.state == state {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never {state:?}: {entry:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The case page's «Сповіщення заявника» section, up to the next heading.
fn notifications_section(page: &str) -> &str {
    let start = page
        .find("<h2>Сповіщення заявника</h2>")
        .unwrap_or_else(|| panic!("no notifications section: {page}"));
    let rest = &page[start + 1..];
    let end = rest.find("<h2>").map_or(page.len(), |at| start + 1 + at);
    &page[start..end]
}

fn audit_actions(db: &OfficeDb, case_number: &str) -> Vec<(String, String)> {
    db.transaction(|tx| audit_of(tx, case_number))
        .unwrap()
        .into_iter()
        .map(|e| (e.actor, e.action))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_notification_is_shown_and_only_an_operator_sends_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let (events_key_file, events_secret) = secret_file(dir.path(), "events-hmac.key");
    let (token_file, _) = secret_file(dir.path(), "sms-token");
    let gateway = sms_gateway();
    let fixture = office_fixture_configured(dir.path(), 1, |central| {
        central.events_hmac_key_file = Some(events_key_file);
        central.notify = Some(NotifyConfig {
            smtp_host: None,
            smtp_port: 587,
            smtp_security: Default::default(),
            smtp_username: None,
            smtp_password_file: None,
            from: None,
            sms_gateway_url: Some(gateway.url.clone()),
            sms_gateway_token_file: Some(token_file),
        });
    })
    .await
    .unwrap();
    let base = fixture.server.url.clone();
    let client = browser(&fixture.server.server_ca);
    let case_number = &fixture.cases[0];
    let case_page = format!("/office/case?n={}", url(case_number));
    let db = OfficeDb::open(&fixture.server.data.join("metadata.sqlite")).unwrap();
    let operator = session(&client, &base, OPERATOR).await;
    let supervisor = session(&client, &base, SUPERVISOR).await;
    let (_, inbox) = operator.get("/office/inbox").await;
    assert!(inbox.contains(case_number.as_str()), "indexed: {inbox}");
    let (_, page) = operator.get(&case_page).await;
    assert!(
        notifications_section(&page).contains("Сповіщень ще не було"),
        "{page}"
    );

    // Staff accept it (the workflow lets the central system report on accepted cases only).
    assert_eq!(
        fieldkit_sync_server::office::actions::accept(
            &db,
            case_number,
            "operator",
            fieldkit_e2e::office::now()
        )
        .unwrap(),
        Ok(())
    );
    // The central system registers the case; the gateway refuses the SMS (400): given up at
    // once, a dead letter.
    gateway.answers.send(400).unwrap();
    let event = serde_json::json!({
        "event_id": "cs-ev-1", "case_number": case_number, "type": "registered",
        "central_number": "CS-2026-00001", "at": "2026-03-02T10:15:00+02:00"
    })
    .to_string();
    let timestamp = fieldkit_e2e::office::now();
    let key = hmac::Key::new(hmac::HMAC_SHA256, &events_secret);
    let mut signed = timestamp.to_string().into_bytes();
    signed.push(b'.');
    signed.extend_from_slice(event.as_bytes());
    let response = client
        .post(format!("{base}/central/v1/events"))
        .header("Content-Type", "application/json")
        .header("X-Fieldkit-Timestamp", timestamp.to_string())
        .header(
            "X-Fieldkit-Signature",
            format!("sha256={}", hex::encode(hmac::sign(&key, &signed).as_ref())),
        )
        .body(event)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let first = gateway.next_message().await;
    let phone = first["to"].as_str().unwrap().to_owned();
    wait_for_state(&db, case_number, NotificationState::Dead).await;
    let dead = notification(&db, case_number);
    assert_eq!(dead.attempts, 1);

    // Both roles see it, with the status it announced, its state and our words for the error,
    // and no contact; only the operator is offered to send it again.
    let (status, page) = supervisor.get(&case_page).await;
    assert_eq!(status, StatusCode::OK);
    let section = notifications_section(&page);
    for words in [
        "Зареєстровано в системі ЦНАП",
        "не вдалося",
        "the SMS gateway answered HTTP 400",
    ] {
        assert!(section.contains(words), "{words}: {section}");
    }
    assert!(!section.contains("Надіслати знову"), "{section}");
    let (_, page) = operator.get(&case_page).await;
    let section = notifications_section(&page).to_owned();
    assert!(
        section.contains("action=\"/office/case/notification/retry\"")
            && section.contains("Надіслати знову"),
        "{section}"
    );
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    assert!(
        !section.contains(&phone) && !section.contains(&digits[digits.len() - 7..]),
        "a contact in the section: {section}"
    );
    let (_, english) = Session {
        client: client.clone(),
        base: base.clone(),
        cookie: format!("{}; fk_lang=en", operator.cookie),
    }
    .get(&case_page)
    .await;
    assert!(
        english.contains("Applicant notifications")
            && english.contains("Registered in the centre&#39;s system")
            && english.contains("failed")
            && english.contains("Send again"),
        "{english}"
    );

    // Refused, each with its page, and nothing changes: a supervisor, a form without the
    // session's token or with another session's, an event with no notification.
    let csrf = operator.csrf().await;
    let supervisor_csrf = supervisor.csrf().await;
    let audited = audit_actions(&db, case_number);
    let retry = "/office/case/notification/retry";
    let (status, page) = supervisor
        .post(retry, &[("csrf", &supervisor_csrf), ("event", "cs-ev-1")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("Ваша роль не дозволяє"), "{page}");
    let (status, page) = operator.post(retry, &[("event", "cs-ev-1")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("Форма застаріла"), "{page}");
    let (status, _) = operator
        .post(retry, &[("csrf", &supervisor_csrf), ("event", "cs-ev-1")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another session's token");
    let (status, page) = operator
        .post(retry, &[("csrf", &csrf), ("event", "cs-ev-404")])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("Не знайдено"), "{page}");
    assert_eq!(notification(&db, case_number), dead);
    assert_eq!(audit_actions(&db, case_number), audited);

    // The operator sends it again: pending, due now, a fresh count, audited under their name.
    // The gateway holds the new attempt unanswered, so the row is seen as the retry left it.
    let (status, _) = operator
        .post(retry, &[("csrf", &csrf), ("event", "cs-ev-1")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let pending = notification(&db, case_number);
    assert_eq!(
        (pending.state, pending.attempts, pending.done_at),
        (NotificationState::Pending, 0, None),
        "{pending:?}"
    );
    assert!(pending.next_attempt_at <= fieldkit_e2e::office::now());
    let audited_now = audit_actions(&db, case_number);
    assert_eq!(
        audited_now.last().unwrap(),
        &(OPERATOR.to_owned(), "notify.dead_letter_retried".to_owned())
    );
    assert_eq!(audited_now.len(), audited.len() + 1);
    let (_, page) = operator.get(&case_page).await;
    assert!(notifications_section(&page).contains("очікує"), "{page}");

    // The worker's next look sends it (the back-office does not wake it); the gateway takes it.
    let again = gateway.next_message().await;
    assert_eq!(again["to"], phone.as_str());
    assert!(
        again["text"]
            .as_str()
            .unwrap()
            .contains(case_number.as_str())
    );
    gateway.answers.send(200).unwrap();
    wait_for_state(&db, case_number, NotificationState::Sent).await;
    let sent = notification(&db, case_number);
    assert_eq!((sent.attempts, sent.last_error.as_deref()), (1, None));
    let (_, page) = operator.get(&case_page).await;
    let section = notifications_section(&page);
    assert!(
        section.contains("надіслано") && !section.contains("Надіслати знову"),
        "{section}"
    );
    assert!(
        audit_actions(&db, case_number)
            .iter()
            .any(|(_, action)| action == "notify.sms_sent")
    );

    // A notification that went out is not sent again.
    let audited = audit_actions(&db, case_number);
    let (status, page) = operator
        .post(retry, &[("csrf", &csrf), ("event", "cs-ev-1")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("надіслано") && page.contains("Нічого не змінено"),
        "{page}"
    );
    assert_eq!(notification(&db, case_number), sent);
    assert_eq!(audit_actions(&db, case_number), audited);
    assert_eq!(db.transaction(verify_audit_chain).unwrap(), None);
}
