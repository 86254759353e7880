//! The card's conditional documents as the administrator meets them, by touch on the demo
//! tablet: for declaring residence the fee receipt follows «Сплачено» and the owner's consent
//! follows the «Підстава проживання» answer, and the conclusion follows both; a representative
//! makes the authority document required; for a housing subsidy, whose conditions no rule
//! decides, the administrator answers «Так / Ні», the form refuses to conclude before, and the
//! answers are printed on the inventory.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use fieldkit_app::RunningApp;
use fieldkit_app::demo::{DEMO_PASSPHRASE, Demo};
use fieldkit_app::ui::{App, Screen};
use slint::ComponentHandle;

const CONSENT: &str = "Згода власника (співвласників) житла";
const FEE_RECEIPT: &str = "Документ про сплату адміністративного збору";

struct Tablet {
    app: RunningApp,
    folder: tempfile::TempDir,
    _demo: Demo,
}

/// The demo tablet, unlocked on Today, on a screen tall enough for the whole applicant form.
fn tablet() -> Tablet {
    init_headless();
    let folder = tempfile::tempdir().unwrap();
    let mut demo_config = config(folder.path());
    let demo = fieldkit_app::demo::prepare(&mut demo_config).unwrap();
    let app = open(config(folder.path()), 1920.0, 2000.0);
    fieldkit_app::i18n::apply(fieldkit_app::i18n::Lang::Uk);
    type_into(&app, "Парольна фраза", DEMO_PASSPHRASE);
    tap(&app, "Розблокувати");
    assert_eq!(screen(&app), Screen::Today);
    Tablet {
        app,
        folder,
        _demo: demo,
    }
}

/// The inventory on the Sign screen as the applicant reads it and signs it (every page).
fn inventory_text(app: &RunningApp) -> String {
    let (receipt, _) = app.controller.borrow().inventory_receipt().unwrap();
    receipt
        .content_lines()
        .into_iter()
        .map(|line| line.0)
        .collect::<Vec<_>>()
        .join("\n")
}

fn screen(app: &RunningApp) -> Screen {
    app.window.global::<App>().get_screen()
}

/// A new visit for the service found by these words, the applicant typed, on to Documents.
fn visit(app: &RunningApp, search: &str, service: &str, representative: bool) {
    tap(app, "Новий виїзд");
    tap(app, "Пошук");
    type_into(app, "Слова з назви послуги", search);
    tap(app, service);
    tap(app, "Подати заяву на цю послугу");
    type_into(app, "Прізвище", "Шевченко");
    type_into(app, "Ім'я", "Марія");
    type_into(app, "РНОКПП (податковий номер)", "1687545620");
    type_into(app, "Дата народження (ДД.ММ.РРРР)", "15.03.1946");
    type_into(app, "Адреса", "м. Львів, вул. Зелена, 12, кв. 3");
    type_into(app, "Мобільний телефон", "067 123 45 67");
    if representative {
        tap(app, "Додати представника");
        type_into(app, "Прізвище представника", "Шевченко");
        type_into(app, "Ім'я представника", "Олег");
        type_into(app, "Дата народження представника", "20.05.1975");
        type_into(app, "Номер документа представника", "004567890");
        type_into(app, "Номер довіреності", "ННМ 123456");
        type_into(app, "Дата довіреності", "10.01.2026");
        type_into(app, "Ким посвідчена", "Приватний нотаріус Львівського МНО");
    }
    tap(app, "Далі: документи");
    assert_eq!(screen(app), Screen::Documents, "{:?}", labels(app));
}

/// One page from a folder for the document whose row starts with `title`.
fn import_page(tablet: &Tablet, title: &str) {
    let import = tablet.folder.path().join("import");
    if !import.exists() {
        std::fs::create_dir_all(&import).unwrap();
        let page = image::GrayImage::from_fn(1240, 1754, |x, y| {
            image::Luma([if (x / 40 + y / 40) % 7 == 0 { 30 } else { 240 }])
        });
        page.save(import.join("page.png")).unwrap();
    }
    let app = &tablet.app;
    tap_containing(app, title);
    type_into(app, "Тека для імпорту", import.to_str().unwrap());
    tap(app, "Імпорт із теки");
    wait_for(app, title, |app| has_containing(app, &format!("✓ {title}")));
}

#[test]
fn residence_conditions_follow_the_fee_and_the_housing_basis() {
    let tablet = tablet();
    let app = &tablet.app;
    visit(app, "декларування", "Декларування місця проживання", false);

    // Of four conditions: age and representative are decided, the fee is asked, the consent
    // waits for the form.
    assert!(
        has(app, "Дайте відповідь щодо умов: 1"),
        "{:?}",
        labels(app)
    );
    assert!(has_containing(app, &format!("? {FEE_RECEIPT}")));
    assert!(has_containing(app, &format!("? {CONSENT}")));
    assert!(
        has_containing(app, "○ Свідоцтво про народження"),
        "{:?}",
        labels(app)
    );
    tap_containing(app, CONSENT);
    assert!(has(
        app,
        "Вирішить відповідь «Підстава проживання» у заяві."
    ));
    tap_containing(app, "Свідоцтво про народження");
    assert!(has(app, "Не стосується — за датою народження"));

    // «Сплачено»: the payment document is now required.
    tap(app, "Сплачено");
    assert!(has_containing(app, &format!("✗ {FEE_RECEIPT}")));
    assert!(has(app, "Бракує документів: 3"), "{:?}", labels(app));
    for title in [
        "Декларація про місце проживання",
        "Паспорт громадянина України",
        FEE_RECEIPT,
    ] {
        import_page(&tablet, title);
    }
    assert!(has(app, "Документи є; ще вирішиться в заяві умов: 1"));

    // The form: no conclusion before the basis is answered; a family member needs the
    // owner's consent, the owner does not.
    tap(app, "Далі: заява");
    assert_eq!(screen(app), Screen::Form);
    assert!(has(app, "Висновку ще немає: спершу вирішіть умови."));
    type_into(
        app,
        "Попереднє місце проживання *",
        "м. Київ, вул. Садова, 1",
    );
    type_into(
        app,
        "Адреса житла, яке декларується *",
        "м. Львів, вул. Зелена, 12, кв. 3",
    );
    tap(app, "член сім'ї власника");
    assert!(has(app, "Обчислено: пакет не відповідає."));
    assert!(has_containing(app, &format!("Бракує: {CONSENT}")));
    assert!(has_containing(
        app,
        "Стосується — за відповіддю «Підстава проживання»"
    ));
    // Back on the list, the consent is now required; the owner needs none.
    tap(app, "Назад: документи");
    assert!(has_containing(app, &format!("✗ {CONSENT}")));
    assert!(has(app, "Бракує документів: 1"), "{:?}", labels(app));
    tap(app, "Далі: заява");
    tap(app, "власник");
    assert!(has(
        app,
        "Обчислено: пакет відповідає інформаційній картці."
    ));

    // The inventory states the answers, the fee and the conclusion.
    tap(app, "Далі: повідомлення і отримання");
    tap(app, "Далі: опис і підписи");
    assert_eq!(screen(app), Screen::Sign);
    for expected in [
        "Адміністративний збір: 34,00 грн — сплачено",
        "так (за відомостями про сплату збору)",
        "ні (за відповіддю «Підстава проживання»)",
        "ні (за датою народження)",
        "Висновок про відповідність пакета інформаційній картці: відповідає",
    ] {
        let text = inventory_text(app);
        assert!(
            text.contains(expected),
            "the inventory lacks «{expected}»: {text}"
        );
    }
}

#[test]
fn a_representative_makes_the_authority_document_required() {
    let tablet = tablet();
    let app = &tablet.app;
    visit(app, "декларування", "Декларування місця проживання", true);
    assert!(
        has_containing(app, "✗ Документ, що підтверджує повноваження представника"),
        "{:?}",
        labels(app)
    );
    tap_containing(app, "Документ, що підтверджує повноваження представника");
    assert!(has(app, "Стосується — за відомостями про представника"));
}

#[test]
fn the_administrator_answers_conditions_no_rule_decides_and_the_inventory_prints_them() {
    let tablet = tablet();
    let app = &tablet.app;
    visit(app, "субсидія", "Призначення житлової субсидії", false);
    assert!(
        has(app, "Дайте відповідь щодо умов: 3"),
        "{:?}",
        labels(app)
    );
    tap_containing(app, "Договір найму (оренди) житла");
    assert!(has(
        app,
        "Чи стосується: якщо домогосподарство проживає за договором найму?"
    ));
    tap(app, "Так, стосується");
    assert!(has_containing(app, "✗ Договір найму (оренди) житла"));
    tap_containing(app, "Довідка про доходи, які не враховуються");
    tap(app, "Ні, не стосується");
    assert!(has_containing(
        app,
        "○ Довідка про доходи, які не враховуються"
    ));
    assert!(
        has(app, "Дайте відповідь щодо умов: 1"),
        "{:?}",
        labels(app)
    );

    // The form refuses to conclude while one is open.
    tap(app, "Далі: заява");
    type_into(app, "Кількість зареєстрованих (задекларованих) осіб *", "2");
    tap(app, "газ");
    type_into(app, "Загальна площа житла, м² *", "54");
    assert!(has(app, "Висновку ще немає: спершу вирішіть умови."));
    tap(app, "Далі: повідомлення і отримання");
    assert_eq!(screen(app), Screen::Form, "an open condition stops here");
    assert!(has_containing(
        app,
        "Спершу вирішіть умови: Довідка про взяття на облік"
    ));
    tap(app, "Назад: документи");
    tap_containing(
        app,
        "Довідка про взяття на облік внутрішньо переміщеної особи",
    );
    tap(app, "Ні, не стосується");
    assert!(has(app, "Бракує документів: 4"), "{:?}", labels(app));
    tap(app, "Далі: заява");
    assert!(has(app, "Обчислено: пакет не відповідає."));
    tap(app, "Далі: повідомлення і отримання");
    tap(app, "Далі: опис і підписи");
    assert_eq!(screen(app), Screen::Sign);
    for expected in [
        "так (відповідь адміністратора)",
        "ні (відповідь адміністратора)",
        "якщо домогосподарство проживає за договором найму",
    ] {
        let text = inventory_text(app);
        assert!(
            text.contains(expected),
            "the inventory lacks «{expected}»: {text}"
        );
    }
    assert!(
        !inventory_text(app).contains("Адміністративний збір"),
        "a free service prints no fee"
    );
}
