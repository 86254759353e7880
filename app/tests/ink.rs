//! Ink on paper, end to end on the demo tablet: the application and the inventory are printed
//! through a real CUPS queue (tests/cups/setup.sh), the printed PDFs become sheet images with
//! `pdftoppm` as a scan would, a signature is inked on the last sheet of each, and the sheets
//! come back through the folder import. Sheets of another case, of a changed inventory and with no code are refused with
//! their reasons and bind nothing; the real sheets bind, the applicant counts as signed, the
//! administrator signs on the pad and the case seals.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use fieldkit_app::RunningApp;
use fieldkit_app::demo::{DEMO_PASSPHRASE, Demo};
use fieldkit_app::ui::{App, Screen};
use fieldkit_capture::qr::generate_qr;
use fieldkit_domain::ink::{InkDocument, InkMark};
use slint::ComponentHandle;

/// The CUPS queue of the workspace's tests and where its jobs land.
const TEST_PRINTER: &str = "fieldkit-test";
const TEST_SPOOL: &str = "/var/tmp/fieldkit-print";

fn screen(app: &RunningApp) -> Screen {
    app.window.global::<App>().get_screen()
}

fn spooled_jobs() -> Vec<PathBuf> {
    std::fs::read_dir(TEST_SPOOL)
        .unwrap_or_else(|e| {
            panic!("{TEST_SPOOL}: {e}: is the CUPS test queue set up (tests/cups/setup.sh)?")
        })
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "job"))
        .collect()
}

/// The job number CUPS gave a spooled job (`<job-id>.job`).
fn job_id(path: &Path) -> u64 {
    path.file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// The PDFs that CUPS handed to the printer after `print` ran, `count` jobs in the order
/// they were sent.
fn printed(count: usize, print: impl FnOnce()) -> Vec<Vec<u8>> {
    let before = spooled_jobs();
    print();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut new: Vec<_> = spooled_jobs()
            .into_iter()
            .filter(|p| !before.contains(p))
            .filter(|p| std::fs::read(p).is_ok_and(|b| b.starts_with(b"%PDF")))
            .collect();
        if new.len() >= count {
            new.sort_by_key(|p| job_id(p));
            return new
                .iter()
                .map(|job| {
                    let bytes = std::fs::read(job).unwrap();
                    std::fs::remove_file(job).unwrap();
                    bytes
                })
                .collect();
        }
        assert!(
            Instant::now() < deadline,
            "{count} jobs did not come out of CUPS within 20 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The printed sheets as a 150 dpi grey scan would give them, with a signature inked in
/// the lower part of the last one.
fn scan_printed(pdf: &[u8], folder: &Path, prefix: &str) -> usize {
    std::fs::create_dir_all(folder).unwrap();
    let path = folder.join("printed.pdf");
    std::fs::write(&path, pdf).unwrap();
    let status = std::process::Command::new("pdftoppm")
        .args(["-r", "150", "-gray", "-png"])
        .arg(&path)
        .arg(folder.join(prefix))
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::remove_file(&path).unwrap();
    let mut sheets: Vec<PathBuf> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    sheets.sort();
    let last = sheets.last().unwrap();
    let mut page = image::open(last).unwrap().to_luma8();
    let (w, h) = page.dimensions();
    for x in w / 8..w / 2 {
        let y = (h as f32 * 0.8 + 20.0 * (x as f32 / 9.0).sin()) as u32;
        for dy in 0..3 {
            page.put_pixel(x, y + dy, image::Luma([20]));
        }
    }
    page.save(last).unwrap();
    sheets.len()
}

/// A white A4 sheet at 150 dpi carrying `payload` as a QR code in its top right corner.
fn sheet_with_code(path: &Path, payload: Option<&str>) {
    let mut page = image::GrayImage::from_pixel(1240, 1754, image::Luma([250]));
    for y in (300..1500).step_by(40) {
        for x in 150..1000 {
            page.put_pixel(x, y, image::Luma([40]));
        }
    }
    if let Some(payload) = payload {
        let code = generate_qr(payload, 5).unwrap();
        image::imageops::overlay(&mut page, &code, 1240 - 100 - i64::from(code.width()), 40);
    }
    page.save(path).unwrap();
}

#[test]
fn the_applicant_signs_the_printed_inventory_in_ink() {
    init_headless();
    let folder = tempfile::tempdir().unwrap();
    let mut demo_config = config(folder.path());
    let _demo: Demo = fieldkit_app::demo::prepare(&mut demo_config).unwrap();
    let mut app_config = config(folder.path());
    app_config.printer = TEST_PRINTER.into();
    let app = open(app_config, 1920.0, 1200.0);
    fieldkit_app::i18n::apply(fieldkit_app::i18n::Lang::Uk);
    type_into(&app, "Парольна фраза", DEMO_PASSPHRASE);
    tap(&app, "Розблокувати");

    // A residence declaration up to the inventory.
    tap(&app, "Новий виїзд");
    tap(&app, "Пошук");
    type_into(&app, "Слова з назви послуги", "декларування");
    tap(&app, "Декларування місця проживання");
    tap(&app, "Подати заяву на цю послугу");
    type_into(&app, "Прізвище", "Шевченко");
    type_into(&app, "Ім'я", "Марія");
    type_into(&app, "РНОКПП (податковий номер)", "1687545620");
    type_into(&app, "Дата народження (ДД.ММ.РРРР)", "15.03.1946");
    type_into(&app, "Адреса", "м. Львів, вул. Зелена, 12, кв. 3");
    type_into(&app, "Мобільний телефон", "067 123 45 67");
    tap(&app, "Далі: документи");
    tap(&app, "Пізніше");
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
    let number = app
        .controller
        .borrow()
        .draft
        .as_ref()
        .and_then(|d| d.registration.as_ref())
        .map(|r| r.case_number.clone())
        .unwrap();

    // Ink instead of the pad: print through CUPS.
    tap(&app, "Підписати чорнилом на папері");
    assert_eq!(screen(&app), Screen::Ink);
    assert!(has(&app, "Заява: ще не повернуто"));
    assert!(has(&app, "Опис вхідного пакета: ще не повернуто"));
    // The application and the inventory, one job each, in that order.
    let pdfs = printed(2, || tap(&app, "Надрукувати для підпису"));
    let signed = folder.path().join("signed");
    let application_sheets = scan_printed(&pdfs[0], &signed, "application");
    let sheets = scan_printed(&pdfs[1], &signed, "inventory");

    // Wrong sheets first: another case's, a changed inventory's, one with no code.
    let wrong = folder.path().join("wrong");
    std::fs::create_dir_all(&wrong).unwrap();
    let mark = |case: &str, fill: char| {
        InkMark {
            case_number: case.into(),
            document: InkDocument::Inventory,
            content_sha256: fill.to_string().repeat(64),
            sheet: 1,
            sheets: 1,
        }
        .payload()
    };
    sheet_with_code(
        &wrong.join("a-other-case.png"),
        Some(&mark("LV01/T99/2026/000001-7", 'a')),
    );
    sheet_with_code(&wrong.join("b-changed.png"), Some(&mark(&number, 'c')));
    sheet_with_code(&wrong.join("c-no-code.png"), None);
    type_into(&app, "Тека зі сканами аркушів", wrong.to_str().unwrap());
    tap(&app, "Імпортувати підписані аркуші");
    wait_for(&app, "the refusals", |app| {
        has_containing(app, "Аркуш 3: На аркуші не прочитано QR-код")
    });
    for reason in [
        "Аркуш 1: Аркуш іншої справи (№ LV01/T99/2026/000001-7)",
        "Аркуш 2: Аркуш іншої або зміненої версії документа «опис вхідного пакета»",
    ] {
        assert!(has_containing(&app, reason), "{reason}: {:?}", labels(&app));
    }
    assert!(has(&app, "Опис вхідного пакета: ще не повернуто"));

    // The real signed sheets bind.
    type_into(&app, "Тека зі сканами аркушів", signed.to_str().unwrap());
    tap(&app, "Імпортувати підписані аркуші");
    let done = format!("✓ Опис вхідного пакета: підписано чорнилом, аркушів {sheets}");
    wait_for(&app, "the signed sheets", |app| has(app, &done));
    assert!(has(
        &app,
        &format!("✓ Заява: підписано чорнилом, аркушів {application_sheets}")
    ));
    tap(&app, "Повернутися до опису");
    assert_eq!(screen(&app), Screen::Sign);
    assert!(
        !has(&app, "Передати планшет заявнику на підпис"),
        "the applicant has signed in ink: {:?}",
        labels(&app)
    );
    draw_signature(&app, "Підпис адміністратора");
    tap(&app, "Підписати як адміністратор");
    tap(&app, "Запечатати справу");
    assert_eq!(screen(&app), Screen::Receipt, "{:?}", labels(&app));
    assert!(has(&app, &format!("Номер справи {number}")));
}
