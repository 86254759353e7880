#![allow(clippy::unwrap_used)]
//! An applicant who cannot sign, by touch at 1280×800: the administrator records why and who
//! signs instead, the applicant-mode screen shows the inventory as a document (the title once,
//! a real table, pages, larger and smaller type; a screenshot is written to the test output
//! folder), the witness signs on the pad, the administrator signs, and the case seals. The
//! sealed envelope, opened with the server's key, carries the waiver and the witness's
//! signature bound to the inventory the PDF prints.

mod common;

use std::path::Path;

use common::*;
use fieldkit_app::ui::{App, Screen, SignPage};
use fieldkit_domain::case::{SignerRole, WaiverGround};
use fieldkit_sync_server::local::LocalServer;
use fieldkit_sync_server::office::db::OfficeDb;
use fieldkit_sync_server::office::register;
use fieldkit_sync_server::setup::Layout;
use fieldkit_sync_server::store::FileBlobStore;
use slint::{ComponentHandle, Model};

const WITNESS: &str = "Петренко Іван Миколайович";
const WITNESS_DOCUMENT: &str = "паспорт КА 123456";

fn screen(app: &fieldkit_app::RunningApp) -> Screen {
    app.window.global::<App>().get_screen()
}

/// The rows of the page on screen: (kind, label, value, cells).
fn page_rows(app: &fieldkit_app::RunningApp) -> Vec<(i32, String, String, Vec<String>)> {
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

fn save_screenshot(app: &fieldkit_app::RunningApp, name: &str) -> std::path::PathBuf {
    let shot = app.window.window().take_snapshot().unwrap();
    assert_eq!((shot.width(), shot.height()), (1280, 800));
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    image::RgbaImage::from_raw(shot.width(), shot.height(), shot.as_bytes().to_vec())
        .unwrap()
        .save(&path)
        .unwrap();
    path
}

#[test]
fn a_witness_signs_for_an_applicant_who_cannot_and_the_case_seals() {
    init_headless();
    let folder = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime
        .block_on(LocalServer::start(&folder.path().join("server"), now))
        .unwrap();
    server.enroll_code("CODE-0002", now()).unwrap();
    let data = folder.path().join("tablet");
    let mut config = config(&data);
    config.server_ca = Some(server.server_ca.clone());
    // The administrator's screens at the large size (the headless search skips what is
    // scrolled out of view); the applicant's at the tablet's 1280×800.
    let app = open(config, 1920.0, 1200.0);
    fieldkit_app::i18n::apply(fieldkit_app::i18n::Lang::Uk);

    type_into(&app, "Адреса сервера", &server.url);
    type_into(&app, "Одноразовий код", "CODE-0002");
    type_into(&app, "Назва планшета", "T08");
    type_into(&app, "ПІБ адміністратора", "Коваленко Олена Петрівна");
    type_into(&app, "Ім'я на екрані входу", "Олена К.");
    type_into(&app, "Нова парольна фраза", "довга-парольна-фраза");
    type_into(&app, "Парольна фраза ще раз", "довга-парольна-фраза");
    tap(&app, "Зареєструвати планшет");
    wait_for(&app, "enrollment", |app| screen(app) == Screen::Today);

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
    assert_eq!(screen(&app), Screen::Documents);
    tap_containing(&app, "Декларація про місце проживання");
    tap(&app, "Сканувати");
    wait_for(&app, "the scan", |app| {
        has_containing(
            app,
            "Декларація про місце проживання (за формою, встановленою КМУ) — 1 арк.",
        )
    });
    // Exempt by law: no payment document is due.
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
    tap(&app, "Далі: опис і підписи");
    assert_eq!(screen(&app), Screen::Sign);

    // The applicant cannot sign: a reason and a signer are both required.
    tap(&app, "Заявник не може підписати");
    tap(&app, "Записати");
    assert!(
        has_containing(&app, "Оберіть причину"),
        "a waiver without a reason is refused: {:?}",
        labels(&app)
    );
    tap(&app, "Лежачий хворий");
    tap(&app, "Записати");
    assert!(
        has_containing(&app, "Вкажіть ПІБ того, хто підписує"),
        "a waiver without the signer's name is refused"
    );
    type_into(&app, "ПІБ того, хто підписує", WITNESS);
    type_into(
        &app,
        "Документ, що посвідчує особу свідка",
        WITNESS_DOCUMENT,
    );
    tap(&app, "Записати");
    assert!(has_containing(
        &app,
        &format!("Заявник не може підписати: лежачий хворий. Підписує свідок {WITNESS}.")
    ));

    // Applicant mode: the inventory as a document, page by page, at 1280×800.
    app.window
        .window()
        .set_size(slint::LogicalSize::new(1280.0, 800.0));
    tap(&app, "Передати планшет заявнику на підпис");
    assert!(app.window.global::<App>().get_applicant_mode());
    let sign = app.window.global::<SignPage>();
    assert!(
        sign.get_text_size() >= 20.0,
        "applicant-facing text ≥ 20 px"
    );
    let pages = sign.get_page_label().to_string();
    assert!(pages.starts_with("сторінка 1 з "), "{pages}");
    assert!(has(&app, &pages), "the page count is on screen");
    let first = page_rows(&app);
    assert_eq!(first[0].0, 0, "the page opens with the title");
    // The application comes first, then the inventory: both are read before signing.
    assert_eq!(first[0].2, "Заява");
    let shot = save_screenshot(&app, "sign-applicant-mode-1280x800.png");
    println!("screenshot: {}", shot.display());

    // Every page once, forwards: each title appears once in the whole reading.
    let mut all = first.clone();
    let mut inventory_page = None;
    while sign.get_has_next() {
        tap(&app, "Далі");
        let rows = page_rows(&app);
        if inventory_page.is_none() && rows[0].2 == "Опис вхідного пакета документів"
        {
            inventory_page = Some(rows.clone());
            save_screenshot(&app, "sign-applicant-mode-inventory-1280x800.png");
        }
        all.extend(rows);
    }
    let inventory = inventory_page.expect("the inventory starts on a page of its own");
    let header = inventory
        .iter()
        .find(|r| r.0 == 3)
        .expect("the table's header");
    assert_eq!(header.3, ["№", "Документ", "Форма", "Аркушів"]);
    let row = inventory
        .iter()
        .find(|r| r.0 == 4)
        .expect("a row of the table");
    assert_eq!(
        row.3,
        [
            "1",
            "Декларація про місце проживання (за формою, встановленою КМУ)",
            "оригінал",
            "1"
        ]
    );
    let last = pages.replace("сторінка 1 з ", "");
    assert!(has(&app, &format!("сторінка {last} з {last}")));
    assert_eq!(all.iter().filter(|r| r.0 == 0).count(), 2);
    assert_eq!(
        all.iter()
            .filter(|r| r.2.contains("Опис вхідного пакета"))
            .count(),
        1
    );
    // Both papers say who signs instead of the applicant, and why.
    assert_eq!(
        all.iter()
            .filter(|r| r.1 == "Заявник не може підписати" && r.2 == "лежачий хворий")
            .count(),
        2
    );
    assert!(all.iter().any(|r| r.1 == "Підписує замість заявника"
        && r.2 == format!("свідок {WITNESS}, {WITNESS_DOCUMENT}")));
    assert!(
        all.iter()
            .any(|r| r.0 == 5 && r.2 == "Свідок (за заявника)")
    );
    save_screenshot(&app, "sign-applicant-mode-last-page-1280x800.png");

    // Larger type: more pages, back at the first.
    let pages_before = pages;
    tap(&app, "Більше");
    tap(&app, "Більше");
    assert!(sign.get_text_size() > 30.0);
    assert!(has_containing(&app, "сторінка 1 з"));
    assert_ne!(sign.get_page_label().to_string(), pages_before);
    save_screenshot(&app, "sign-applicant-mode-larger-1280x800.png");
    tap(&app, "Менше");
    tap(&app, "Менше");
    tap(&app, "Назад");

    // The witness signs on the pad in applicant mode.
    draw_signature(&app, "Підпис свідка (за заявника)");
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
    draw_signature(&app, "Підпис адміністратора");
    tap(&app, "Підписати як адміністратор");
    tap(&app, "Запечатати справу");
    assert_eq!(screen(&app), Screen::Receipt, "{:?}", labels(&app));
    let number = find_containing(&app, "Номер справи ")
        .accessible_label()
        .unwrap()
        .replace("Номер справи ", "");
    tap(&app, "Завершити виїзд");
    wait_for(&app, "delivery", |app| has(app, "Усе доставлено"));

    // What reached the server: the waiver, and the witness's signature on this inventory.
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
    let waiver = opened
        .case
        .applicant_cannot_sign
        .clone()
        .expect("the waiver");
    assert_eq!(waiver.ground, WaiverGround::Bedridden);
    assert_eq!(waiver.signed_instead_by, SignerRole::Witness);
    assert_eq!(waiver.signer_name, WITNESS);
    assert_eq!(waiver.signer_document, WITNESS_DOCUMENT);
    let roles: Vec<SignerRole> = opened.signatures.iter().map(|s| s.role).collect();
    assert!(roles.contains(&SignerRole::Witness) && roles.contains(&SignerRole::Administrator));
    assert!(!roles.contains(&SignerRole::Applicant));
    assert!(opened.signatures.iter().all(|s| s.valid()));
    // The witness signed the application with the inventory.
    assert!(opened.application_pdf.is_some() && opened.application_as_stated);
    let witness = opened
        .signatures
        .iter()
        .find(|s| s.role == SignerRole::Witness)
        .unwrap();
    assert_eq!(witness.signer, WITNESS);
    drop(app);
    server.stop();
}
