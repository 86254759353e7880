//! Killed mid-visit, reopened where it was: a child process walks half a visit (service,
//! applicant, a scanned page, one form answer) and is killed with SIGKILL — no shutdown code
//! runs. The app then reopens on the same data: after unlock it is on the same screen with
//! everything typed and scanned still there.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;
use fieldkit_app::ui::{App, Screen};
use slint::ComponentHandle;

const CHILD: &str = "FIELDKIT_REOPEN_CHILD";

fn unlock(app: &fieldkit_app::RunningApp) {
    type_into(app, "Парольна фраза", fieldkit_app::demo::DEMO_PASSPHRASE);
    tap(app, "Розблокувати");
}

/// The first half of a visit, then wait to be killed.
fn child(data: &str) {
    init_headless();
    let app = open(config(std::path::Path::new(data)), 1920.0, 1200.0);
    fieldkit_app::i18n::apply(fieldkit_app::i18n::Lang::Uk);
    unlock(&app);
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
    tap(&app, "Далі: документи");
    tap_containing(&app, "Декларація про місце проживання");
    tap(&app, "Сканувати");
    wait_for(&app, "the scan", |app| has_containing(app, "— 1 арк."));
    tap(&app, "Далі: заява");
    type_into(
        &app,
        "Попереднє місце проживання *",
        "м. Київ, вул. Садова, 1",
    );
    println!("READY");
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

#[test]
fn killed_mid_visit_the_app_reopens_where_it_was() {
    if let Ok(data) = std::env::var(CHILD) {
        child(&data);
        return;
    }
    let folder = tempfile::tempdir().unwrap();
    let mut demo_config = config(folder.path());
    let _demo = fieldkit_app::demo::prepare(&mut demo_config).unwrap();

    let mut visit = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "killed_mid_visit_the_app_reopens_where_it_was",
            "--nocapture",
        ])
        .env(CHILD, folder.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = visit.stdout.take().unwrap();
    let ready = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.contains("READY"));
    assert!(ready, "the child walked half a visit");
    visit.kill().unwrap(); // SIGKILL: no destructor, no save-on-exit
    visit.wait().unwrap();

    init_headless();
    let app = open(config(folder.path()), 1920.0, 1200.0);
    fieldkit_app::i18n::apply(fieldkit_app::i18n::Lang::Uk);
    assert_eq!(app.window.global::<App>().get_screen(), Screen::Unlock);
    unlock(&app);
    assert_eq!(
        app.window.global::<App>().get_screen(),
        Screen::Form,
        "back on the form"
    );
    assert_eq!(
        find_all(&app, "Попереднє місце проживання *")
            .iter()
            .find_map(|e| e.accessible_value())
            .unwrap(),
        "м. Київ, вул. Садова, 1"
    );
    tap(&app, "Сьогодні");
    assert!(
        has_containing(&app, "Продовжити: Шевченко Марія"),
        "{:?}",
        labels(&app)
    );
    tap_containing(&app, "Продовжити:");
    assert_eq!(app.window.global::<App>().get_screen(), Screen::Form);
    tap(&app, "Далі: повідомлення і отримання");
    // The form still needs its other required answers: the draft is what was typed, no more.
    assert!(has_containing(&app, "Заповніть:"));
    let documents = app.window.global::<fieldkit_app::ui::DocumentsPage>();
    let declaration = slint::Model::iter(&documents.get_checklist())
        .find(|row| row.id == "declaration")
        .unwrap();
    assert_eq!(
        declaration.pages, 1,
        "the scanned declaration page survived"
    );
    let applicant = app.window.global::<fieldkit_app::ui::ApplicantPage>();
    assert_eq!(applicant.get_surname(), "Шевченко");
    assert_eq!(applicant.get_rnokpp(), "1687545620");
}
