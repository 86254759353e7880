//! A consultation-only visit (regulation 2.36) by touch, on the demo tablet with its real
//! sync-server on loopback: one given ad hoc from Today (first refused while question and
//! answer are empty), one for a planned visit from Today, one from the Service screen of a
//! visit just begun (that visit's draft goes, the visit is done). A sync later the server's
//! store counts them per day and service; the question is nowhere in clear on the tablet, and
//! the server never got it.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use fieldkit_app::RunningApp;
use fieldkit_app::demo::{DEMO_PASSPHRASE, Demo};
use fieldkit_app::ui::{App, Screen};
use fieldkit_sync_server::store::MetadataStore;
use slint::ComponentHandle;

const QUESTION_AD_HOC: &str = "Де отримати довідку про склад сім'ї?";
const QUESTION_SUBSIDY: &str = "Чи можна оформити субсидію, якщо син живе окремо?";
const QUESTION_RESIDENCE: &str = "Чи треба знімати з реєстрації старе місце проживання?";

fn screen(app: &RunningApp) -> Screen {
    app.window.global::<App>().get_screen()
}

fn sync(app: &RunningApp) {
    tap(app, "Налаштування");
    tap(app, "Синхронізувати зараз");
    tap(app, "Назад");
}

/// What the screen shows now, as a PNG in the test output (to look at, and for the record).
fn save_screen(app: &RunningApp, name: &str) {
    let shot = app.window.window().take_snapshot().unwrap();
    let rgba =
        image::RgbaImage::from_raw(shot.width(), shot.height(), shot.as_bytes().to_vec()).unwrap();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    rgba.save(&path).unwrap();
}

fn write_and_save(app: &RunningApp, question: &str, answer: &str) {
    type_into(app, "Питання, коротко", question);
    type_into(app, "Надана відповідь, коротко", answer);
    tap(app, "Зберегти консультацію");
}

#[test]
fn consultations_by_touch_are_kept_encrypted_and_counted_on_the_server() {
    init_headless();
    let folder = tempfile::tempdir().unwrap();
    let data = folder.path().to_owned();
    let mut demo_config = config(&data);
    let demo: Demo = fieldkit_app::demo::prepare(&mut demo_config).unwrap();
    let app = open(config(&data), 1280.0, 800.0);
    fieldkit_app::i18n::apply(fieldkit_app::i18n::Lang::Uk);
    type_into(&app, "Парольна фраза", DEMO_PASSPHRASE);
    tap(&app, "Розблокувати");
    assert_eq!(screen(&app), Screen::Today);
    let today = time::OffsetDateTime::now_utc().date().to_string();
    sync(&app);
    wait_for(&app, "the planned visits", |app| {
        has(app, &format!("Почати виїзд {today} 13:30"))
    });
    save_screen(&app, "consultation-today-uk-1280x800.png");

    // Ad hoc, from Today. Saving with nothing written is refused under each field.
    tap(&app, "Лише консультація");
    assert_eq!(screen(&app), Screen::Consultation);
    assert!(has(&app, "Щодо: інше питання"), "{:?}", labels(&app));
    tap(&app, "Зберегти консультацію");
    assert_eq!(screen(&app), Screen::Consultation);
    assert!(has(&app, "Запишіть коротко, про що питали."));
    assert!(has(&app, "Запишіть коротко, що ви відповіли."));
    tap(&app, "Лікарня");
    write_and_save(
        &app,
        QUESTION_AD_HOC,
        "У ЦНАП або в застосунку Дія; на виїзді не видається.",
    );
    assert_eq!(screen(&app), Screen::Today);
    assert!(
        has_containing(&app, "Консультацію збережено"),
        "{:?}",
        labels(&app)
    );

    // For the planned hospital visit, from Today: its service is preset, no name is shown.
    tap(&app, &format!("Лише консультація {today} 13:30"));
    assert_eq!(screen(&app), Screen::Consultation);
    assert!(has(&app, &format!("Запланований виїзд: {today} 13:30")));
    assert!(has(&app, "Щодо: Призначення житлової субсидії"));
    assert!(
        !has_containing(&app, "Бондар"),
        "the planned name is not shown"
    );
    type_into(&app, "Питання, коротко", QUESTION_SUBSIDY);
    save_screen(&app, "consultation-uk-1280x800.png");
    tap(&app, "Клавіатура");
    save_screen(&app, "consultation-keyboard-uk-1280x800.png");
    tap(&app, "Клавіатура");
    write_and_save(
        &app,
        QUESTION_SUBSIDY,
        "Так, якщо він не зареєстрований за цією адресою.",
    );
    assert_eq!(screen(&app), Screen::Today);
    assert!(
        !has(&app, &format!("Почати виїзд {today} 13:30")),
        "the planned visit is done"
    );

    // A visit begun for the 10:00 applicant needs advice only: from the Service screen.
    tap(&app, &format!("Почати виїзд {today} 10:00"));
    assert_eq!(screen(&app), Screen::Service);
    assert!(app.window.global::<App>().get_visit_open());
    save_screen(&app, "consultation-service-uk-1280x800.png");
    tap(&app, "Лише консультація");
    assert_eq!(screen(&app), Screen::Consultation);
    assert!(has(&app, "Щодо: Декларування місця проживання"));
    write_and_save(
        &app,
        QUESTION_RESIDENCE,
        "Ні, зняття відбувається разом із декларуванням нового місця.",
    );
    assert_eq!(screen(&app), Screen::Today);
    assert!(!app.window.global::<App>().get_visit_open());
    assert!(
        !has_containing(&app, "Продовжити"),
        "no visit left open: {:?}",
        labels(&app)
    );
    assert!(!has(&app, &format!("Почати виїзд {today} 10:00")));
    assert!(!has_containing(&app, "Шевченко"));

    // The next sync reports the counts; the server's store has them per day and service.
    sync(&app);
    let counted = |meta: &dyn MetadataStore| -> Vec<(String, Option<String>, u64)> {
        meta.consultations(Some(&today))
            .unwrap()
            .into_iter()
            .map(|t| (t.device_id, t.service_code, t.count))
            .collect()
    };
    wait_for(&app, "the counts on the server", |_| {
        counted(demo.server.meta.as_ref()).len() == 3
    });
    assert_eq!(
        counted(demo.server.meta.as_ref()),
        vec![
            ("T01".to_owned(), None, 1),
            ("T01".to_owned(), Some("00001".to_owned()), 1),
            ("T01".to_owned(), Some("00004".to_owned()), 1),
        ]
    );

    // A sync again counts the same day again: the same numbers, not double. Reports are
    // stamped in whole seconds: the second one is told apart by a later second.
    let last_report = |meta: &dyn MetadataStore| meta.devices().unwrap()[0].last_report_at;
    let first_report = last_report(demo.server.meta.as_ref()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    sync(&app);
    wait_for(&app, "the second report", |_| {
        last_report(demo.server.meta.as_ref()) > Some(first_report)
    });
    assert_eq!(counted(demo.server.meta.as_ref()).len(), 3);
    assert!(
        counted(demo.server.meta.as_ref())
            .iter()
            .all(|(_, _, n)| *n == 1)
    );

    // Nothing of what was asked is in clear on the tablet, or anywhere on the server.
    tap(&app, "Заблокувати");
    drop(app);
    for (path, bytes) in raw_bytes(&data) {
        for secret in [
            QUESTION_AD_HOC,
            QUESTION_SUBSIDY,
            QUESTION_RESIDENCE,
            "субсидію",
        ] {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "{secret:?} in clear in {}", path.display());
        }
    }
    demo.server.stop();
}
