#![allow(clippy::unwrap_used)]
//! The application (заява) on the tablet, by touch: in applicant mode at 1280×800 the applicant
//! reads the application first — the case number, who applies, the form's answers as a table,
//! the delivery and notification choices — and then the inventory, page by page, both before
//! signing (screenshots are written to the test output folder); one signature signs both, the
//! case seals and syncs, and the server opens an envelope that carries the application's PDF,
//! the one the case states, with the signatures bound to the pair, and files the case for the
//! public tracking page under its tracking code's hash: the receipt's QR opens the case's page
//! on the server's public side, its number does not. Its text is read back with `pdftotext`.
//!
//! Then the applicant's side of the same case, end to end (issue #13): the printed receipt (the
//! PDF the tablet prints and e-mails) is drawn at 150 dpi with `pdftoppm` and its QR read with
//! `zbarimg`, and that address is opened in Chromium at a phone's size (tests/browser/track_case.py):
//! the page shows the case received; after the back-office accepts it and the central system
//! reports it forwarded to the provider, decided and ready (signed events over HTTPS), the same
//! address shows each step. The applicant's name, tax number, address and phone are searched
//! in every page the browser and a plain client got, in both languages.

mod common;

use std::path::Path;

use common::*;
use fieldkit_app::ui::{App, Screen, SignPage};
use fieldkit_capture::signature::signed_set_sha256;
use fieldkit_sync_server::central::CentralConfig;
use fieldkit_sync_server::local::LocalServer;
use fieldkit_sync_server::office::db::OfficeDb;
use fieldkit_sync_server::office::{actions, register};
use fieldkit_sync_server::setup::Layout;
use fieldkit_sync_server::store::{FileBlobStore, MetadataStore, TrackingStore};
use slint::{ComponentHandle, Model};

/// One row on screen: (kind, label, value, cells). Kinds: 0 title, 1 field, 3 table header,
/// 4 table row, 5 signature slot.
type Row = (i32, String, String, Vec<String>);

fn screen(app: &fieldkit_app::RunningApp) -> Screen {
    app.window.global::<App>().get_screen()
}

fn page_rows(app: &fieldkit_app::RunningApp) -> Vec<Row> {
    let rows = app.window.global::<SignPage>().get_rows();
    rows.iter()
        .map(|r| {
            (
                r.kind,
                r.label.to_string(),
                r.value.to_string(),
                r.cells.iter().map(|c| c.to_string()).collect(),
            )
        })
        .collect()
}

fn save_screenshot(app: &fieldkit_app::RunningApp, name: &str) {
    let shot = app.window.window().take_snapshot().unwrap();
    assert_eq!((shot.width(), shot.height()), (1280, 800));
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    image::RgbaImage::from_raw(shot.width(), shot.height(), shot.as_bytes().to_vec())
        .unwrap()
        .save(&path)
        .unwrap();
    println!("screenshot: {}", path.display());
}

/// A phone's browser: trusts the server CA as it would a public CA, follows no redirect.
fn phone(server_ca: &[u8]) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(server_ca.to_vec()))
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
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

fn field<'r>(rows: &'r [Row], label: &str) -> Option<&'r str> {
    rows.iter()
        .find(|r| r.0 == 1 && r.1 == label)
        .map(|r| r.2.as_str())
}

#[test]
fn the_applicant_reads_the_application_then_the_inventory_and_signs_both() {
    init_headless();
    let folder = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // The central system reports steps with signed events: the server knows their key.
    let events_key = b"central-events-key-for-this-test".to_vec();
    let events_key_file = folder.path().join("events-hmac.key");
    std::fs::write(&events_key_file, [events_key.as_slice(), b"\n"].concat()).unwrap();
    std::fs::set_permissions(
        &events_key_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let server = runtime
        .block_on(LocalServer::start_with(
            &folder.path().join("server"),
            now,
            0,
            CentralConfig {
                events_hmac_key_file: Some(events_key_file),
                ..CentralConfig::default()
            },
        ))
        .unwrap();
    server.enroll_code("CODE-0003", now()).unwrap();
    // The centre's catalog, published: the public pages name the service and count its term.
    let catalog = std::fs::read_to_string(assets().join("catalog/catalog.toml")).unwrap();
    let version = fieldkit_domain::catalog::Catalog::from_toml_str(&catalog)
        .unwrap()
        .version;
    server
        .meta
        .publish_catalog(version, &catalog, now())
        .unwrap();
    let mut config = config(&folder.path().join("tablet"));
    config.server_ca = Some(server.server_ca.clone());
    let app = open(config, 1920.0, 1200.0);
    fieldkit_app::i18n::apply(fieldkit_app::i18n::Lang::Uk);

    type_into(&app, "Адреса сервера", &server.url);
    type_into(&app, "Одноразовий код", "CODE-0003");
    type_into(&app, "Назва планшета", "T09");
    type_into(&app, "ПІБ адміністратора", "Коваленко Олена Петрівна");
    type_into(&app, "Ім'я на екрані входу", "Олена К.");
    type_into(&app, "Нова парольна фраза", "довга-парольна-фраза");
    type_into(&app, "Парольна фраза ще раз", "довга-парольна-фраза");
    tap(&app, "Зареєструвати планшет");
    wait_for(&app, "enrollment", |app| screen(app) == Screen::Today);

    // A residence declaration with its form answered and the result by post.
    tap(&app, "Новий виїзд");
    tap(&app, "Пошук");
    type_into(&app, "Слова з назви послуги", "декларування");
    tap(&app, "Декларування місця проживання");
    tap(&app, "Подати заяву на цю послугу");
    type_into(&app, "Прізвище", "Шевченко");
    type_into(&app, "Ім'я", "Марія");
    type_into(&app, "По батькові", "Іванівна");
    type_into(&app, "РНОКПП (податковий номер)", "1687545620");
    type_into(&app, "Дата народження (ДД.ММ.РРРР)", "15.03.1946");
    type_into(&app, "Адреса", "м. Львів, вул. Зелена, 12, кв. 3");
    type_into(&app, "Мобільний телефон", "067 123 45 67");
    tap(&app, "Далі: документи");
    tap_containing(&app, "Декларація про місце проживання");
    tap(&app, "Сканувати");
    wait_for(&app, "the scan", |app| {
        has_containing(
            app,
            "Декларація про місце проживання (за формою, встановленою КМУ) — 1 арк.",
        )
    });
    tap(&app, "Звільнено");
    type_into(&app, "Підстава звільнення", "особа з інвалідністю I групи");
    tap(&app, "Далі: заява");
    type_into(
        &app,
        "Попереднє місце проживання *",
        "м. Київ, вул. Садова, 1",
    );
    type_into(
        &app,
        "Адреса житла, яке декларується *",
        "м. Львів, вул. Зелена, 12, кв. 3",
    );
    tap(&app, "власник");
    tap(&app, "Далі: повідомлення і отримання");
    assert_eq!(screen(&app), Screen::Choices);
    tap(&app, "Поштою");
    tap(&app, "Далі: опис і підписи");
    assert_eq!(screen(&app), Screen::Sign, "{:?}", labels(&app));
    let number = app
        .controller
        .borrow()
        .draft
        .as_ref()
        .and_then(|d| d.registration.as_ref())
        .map(|r| r.case_number.clone())
        .unwrap();

    // Applicant mode at the tablet's size: the application first, page by page.
    app.window
        .window()
        .set_size(slint::LogicalSize::new(1280.0, 800.0));
    tap(&app, "Передати планшет заявнику на підпис");
    let sign = app.window.global::<SignPage>();
    assert!(
        sign.get_text_size() >= 20.0,
        "applicant-facing text ≥ 20 px"
    );
    let first = page_rows(&app);
    assert_eq!(first[0].0, 0);
    assert_eq!(first[0].2, "Заява", "the application opens the reading");
    save_screenshot(&app, "application-applicant-mode-1280x800.png");

    let mut application = first;
    let mut inventory = Vec::new();
    let mut turns = 0;
    while sign.get_has_next() {
        tap(&app, "Далі");
        turns += 1;
        let rows = page_rows(&app);
        if inventory.is_empty() && rows[0].2 != "Опис вхідного пакета документів"
        {
            application.extend(rows);
        } else {
            if inventory.is_empty() {
                save_screenshot(&app, "application-then-inventory-1280x800.png");
            }
            inventory.extend(rows);
        }
    }
    assert!(
        !inventory.is_empty(),
        "the inventory follows the application"
    );
    assert_eq!(inventory[0].2, "Опис вхідного пакета документів");
    assert_eq!(field(&application, "Справа №"), Some(number.as_str()));
    assert_eq!(
        field(&application, "Заявник"),
        Some("Шевченко Марія Іванівна")
    );
    assert_eq!(
        field(&application, "Адреса"),
        Some("м. Львів, вул. Зелена, 12, кв. 3")
    );
    let header = application.iter().find(|r| r.0 == 3).expect("the answers");
    assert_eq!(header.3, ["Відомості", "Відповідь заявника"]);
    for answer in [
        ["Попереднє місце проживання", "м. Київ, вул. Садова, 1"],
        ["Підстава проживання", "власник"],
    ] {
        assert!(
            application.iter().any(|r| r.0 == 4 && r.3 == answer),
            "{answer:?} in {application:?}"
        );
    }
    assert_eq!(
        field(&application, "Спосіб отримання результату"),
        Some("поштою: м. Львів, вул. Зелена, 12, кв. 3")
    );
    assert_eq!(
        field(&application, "Повідомлення про результат"),
        Some("SMS на +380671234567")
    );
    assert!(application.iter().any(|r| r.0 == 5 && r.2 == "Заявник"));
    // The inventory names the tracking code the applicant will follow the case with.
    let code = app
        .controller
        .borrow()
        .draft
        .as_ref()
        .and_then(|d| d.registration.as_ref())
        .and_then(|r| r.tracking_code.clone())
        .expect("a tracking code fixed with the case number");
    let code_text = code.to_string();
    assert_eq!(
        field(&inventory, "Код відстеження"),
        Some(code_text.as_str())
    );
    // The inventory's table is there too, and the reading goes back to the application.
    assert!(inventory.iter().any(|r| r.0 == 3 && r.3[1] == "Документ"));
    for _ in 0..turns {
        tap(&app, "Назад");
    }
    assert_eq!(page_rows(&app)[0].2, "Заява");

    // One signature for both papers.
    draw_signature(&app, "Підпис заявника");
    tap(&app, "Підписати");
    assert!(has(
        &app,
        "Дякуємо! Поверніть, будь ласка, планшет адміністратору."
    ));
    tap(&app, "Адміністратор");
    type_into(
        &app,
        "Парольна фраза адміністратора",
        "довга-парольна-фраза",
    );
    tap(&app, "Повернути адміністратору");
    app.window
        .window()
        .set_size(slint::LogicalSize::new(1920.0, 1200.0));
    app.pump();
    let papers = app.controller.borrow().papers().unwrap();
    let signed = papers.signed();
    let pair = signed_set_sha256(
        &papers.inventory.content_sha256(),
        &papers.application.content_sha256(),
    );
    assert_eq!(signed.signed_sha256, pair);
    let draft_signatures = app
        .controller
        .borrow()
        .draft
        .as_ref()
        .unwrap()
        .signatures
        .clone();
    assert!(
        draft_signatures
            .iter()
            .all(|s| s.signed_document_sha256 == pair),
        "the applicant's signature binds the pair"
    );
    draw_signature(&app, "Підпис адміністратора");
    tap(&app, "Підписати як адміністратор");
    tap(&app, "Запечатати справу");
    assert_eq!(screen(&app), Screen::Receipt, "{:?}", labels(&app));
    assert_eq!(tracking_code_on_screen(&app), code);
    let qr = qr_codes_on_screen(&app);
    assert_eq!(
        qr,
        [format!("{}/t/{}", server.public_url, code.canonical())]
    );
    // The paper the applicant takes home: the copies the tablet prints, their QR read as a
    // phone's camera would read the page.
    let copies = app.controller.borrow_mut().applicant_copies().unwrap();
    let printed_qr: Vec<String> = copies
        .iter()
        .enumerate()
        .flat_map(|(i, pdf)| qr_on_paper(folder.path(), &format!("copy-{i}"), pdf))
        .filter(|payload| payload.starts_with(&server.public_url))
        .collect();
    assert!(!printed_qr.is_empty(), "no tracking QR read on the paper");
    assert!(
        printed_qr.iter().all(|payload| payload == &qr[0]),
        "the receipt's QR on paper: {printed_qr:?}"
    );
    tap(&app, "Завершити виїзд");
    wait_for(&app, "delivery", |app| has(app, "Усе доставлено"));

    // The server opens the application the applicant read, bound to the signatures.
    let layout = Layout::new(&server.data);
    let blobs = FileBlobStore::open(&layout.blobs()).unwrap();
    let office = OfficeDb::open(&layout.database()).unwrap();
    let calendar = fieldkit_domain::calendar::WorkCalendar::weekends_only();
    let sources = register::Sources {
        meta: server.meta.as_ref(),
        blobs: &blobs,
        sealing_keys: std::slice::from_ref(&server.sealing),
        catalog: None,
        calendar: &calendar,
    };
    register::index_new(&office, &sources, now()).unwrap();
    let envelope = register::get(&office, &number)
        .unwrap()
        .expect("the case in the back-office register")
        .envelope_id;
    let opened = fieldkit_sync_server::opened::open_stored(
        server.meta.as_ref(),
        &blobs,
        std::slice::from_ref(&server.sealing),
        &envelope,
    )
    .unwrap();
    // The sealed case knows the code by its hash only; the intake filed it under that hash.
    assert_eq!(
        opened.case.tracking_code_sha256.as_deref(),
        Some(code.sha256_hex().as_str())
    );
    let tracked = server
        .meta
        .tracked_case(&code.sha256_hex())
        .unwrap()
        .expect("the case filed for the tracking page");
    assert_eq!(tracked.case_number, number);
    assert_eq!(tracked.service_code, "00001");
    assert_eq!(tracked.centre_code, "LV01");
    // The receipt's QR opens the case on the public side, as does the code typed as printed;
    // the case number opens nothing.
    let phone = phone(&server.server_ca);
    let get = |url: String| {
        runtime.block_on(async {
            let response = phone.get(url).send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        })
    };
    let (status, page) = get(qr[0].clone());
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&number), "{page}");
    let (status, _) = get(format!("{}/t/{}", server.public_url, code));
    assert_eq!(status, 200, "the printed form with hyphens");
    let (status, page) = get(format!(
        "{}/t/{}",
        server.public_url,
        number.replace('/', "")
    ));
    assert_ne!(status, 200, "{page}");
    assert!(!page.contains(&number), "{page}");
    assert!(opened.application_as_stated);
    assert_eq!(
        opened.application_sha256.as_deref(),
        Some(papers.application.content_sha256().as_str())
    );
    assert_eq!(opened.signed_sha256.as_deref(), Some(pair.as_str()));
    assert_eq!(opened.signatures.len(), 2);
    assert!(opened.signatures.iter().all(|s| s.valid()));

    let pdf = folder.path().join("application.pdf");
    std::fs::write(&pdf, opened.application_pdf.as_deref().unwrap()).unwrap();
    let output = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        "Заява",
        &format!("Справа №: {number}"),
        "Заявник: Шевченко Марія Іванівна",
        "Підстава проживання",
        "власник",
        "Спосіб отримання результату: поштою: м. Львів, вул. Зелена, 12, кв. 3",
    ] {
        assert!(flat.contains(expected), "«{expected}» not in:\n{text}");
    }

    // The applicant follows the case from the paper, in a browser.
    let planted = [
        "Шевченко",
        "1687545620",
        "Зелена",
        "+380671234567",
        "067 123 45 67",
    ];
    let url = printed_qr[0].clone();
    let browse = |shot: &str, shown: &[&str]| {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/browser/track_case.py"
        );
        let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join(shot);
        let output = std::process::Command::new("python3")
            .arg(script)
            .arg(&url)
            .arg(&shot)
            .args(shown.iter().map(|t| format!("+{t}")))
            .args(planted.iter().map(|t| format!("-{t}")))
            .output()
            .expect("python3 with selenium (tests/run.sh installs it)");
        let stdout = String::from_utf8_lossy(&output.stdout);
        println!("{stdout}");
        assert!(
            output.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let (width, height) = image::image_dimensions(&shot).unwrap();
        assert_eq!((width, height), (780, 1688), "a phone's first screen");
        println!("screenshot: {}", shot.display());
    };
    browse(
        "tracking-received.png",
        &[&number, "Декларування місця проживання", "Отримано"],
    );

    // The back-office accepts; the central system reports the steps, signed.
    actions::accept(&office, &number, "operator", now())
        .unwrap()
        .unwrap();
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &events_key);
    let at = |minutes: i64| {
        time::OffsetDateTime::from_unix_timestamp(now() + minutes * 60)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    for (id, event) in [
        (
            "ev-fwd",
            serde_json::json!({"type": "forwarded_to_provider", "at": at(1)}),
        ),
        (
            "ev-dec",
            serde_json::json!({"type": "decision", "decision": "issued", "at": at(2)}),
        ),
        (
            "ev-ready",
            serde_json::json!({"type": "result_ready", "at": at(3)}),
        ),
    ] {
        let mut body = event;
        body["event_id"] = id.into();
        body["case_number"] = number.clone().into();
        let body = body.to_string();
        let timestamp = now().to_string();
        let signature = ring::hmac::sign(&key, format!("{timestamp}.{body}").as_bytes());
        let status = runtime.block_on(async {
            phone
                .post(format!("{}/central/v1/events", server.url))
                .header("Content-Type", "application/json")
                .header("X-Fieldkit-Timestamp", timestamp)
                .header(
                    "X-Fieldkit-Signature",
                    format!("sha256={}", hex::encode(signature.as_ref())),
                )
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
        assert_eq!(status, 200, "the central system's {id}");
    }
    browse(
        "tracking-ready.png",
        &[
            &number,
            "Результат готовий",
            "Передано суб’єкту надання",
            "Рішення прийнято: видано",
        ],
    );
    // What a plain client gets from the same addresses carries nothing of the applicant either.
    for address in [
        url.clone(),
        format!("{url}?lang=en"),
        format!("{}/t/{}", server.public_url, code),
    ] {
        let (status, page) = get(address.clone());
        assert_eq!(status, 200, "{address}");
        for secret in planted {
            assert!(!page.contains(secret), "{secret} in {address}");
        }
    }
    drop(app);
    server.stop();
}

/// The QR codes on a printed PDF, as a phone's camera reads the paper: each page drawn at
/// 150 dpi (`pdftoppm`), read by `zbarimg`.
fn qr_on_paper(folder: &Path, name: &str, pdf: &[u8]) -> Vec<String> {
    let path = folder.join(format!("{name}.pdf"));
    std::fs::write(&path, pdf).unwrap();
    let prefix = folder.join(name);
    let drawn = std::process::Command::new("pdftoppm")
        .args(["-r", "150", "-gray", "-png"])
        .arg(&path)
        .arg(&prefix)
        .status()
        .unwrap();
    assert!(drawn.success());
    let mut found = Vec::new();
    let mut pages: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{name}-")) && n.ends_with(".png"))
        })
        .collect();
    pages.sort();
    for page in pages {
        let output = std::process::Command::new("zbarimg")
            .args(["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable"])
            .arg(&page)
            .output()
            .unwrap();
        // zbarimg exits 4 on a page with no code.
        let text = String::from_utf8(output.stdout).unwrap();
        found.extend(text.lines().map(str::to_owned));
    }
    found
}
