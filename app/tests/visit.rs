//! A whole visit through the screens, headless, against real parts: enrollment on a real
//! sync-server on loopback (mutual TLS), unlock with a wrong passphrase first, a planned visit
//! from the centre, the service found by search, the applicant with a wrong РНОКПП corrected,
//! pages from SANE's test scanner and from a folder with a corrupt file, the form and the
//! conformity conclusion, applicant mode (only the inventory and the pad reachable), both
//! signatures, sealing, the receipt (its tracking code, and a QR to the server's public side as
//! the server told it), sync, and a status change from the centre. At the end no file of the
//! tablet holds the applicant's name or РНОКПП in clear.

mod common;

use common::*;
use fieldkit_app::ui::{App, Screen};
use fieldkit_sync_server::local::LocalServer;
use fieldkit_sync_server::store::MetadataStore;
use i_slint_backend_testing::{AccessibleRole, ElementQuery};
use slint::ComponentHandle;

const SURNAME: &str = "Шевченко";
const RNOKPP: &str = "1687545620";

fn screen(app: &fieldkit_app::RunningApp) -> Screen {
    app.window.global::<App>().get_screen()
}

/// A swipe (wheel) over the element whose label contains `part`, its animation run to the end.
fn swipe_up_at(app: &fieldkit_app::RunningApp, part: &str, delta_y: f32) {
    let element = find_containing(app, part);
    let (at, size) = (element.absolute_position(), element.size());
    app.window
        .window()
        .dispatch_event(slint::platform::WindowEvent::PointerScrolled {
            position: slint::LogicalPosition::new(
                at.x + size.width / 2.0,
                at.y + size.height / 2.0,
            ),
            delta_x: 0.0,
            delta_y,
        });
    std::thread::sleep(std::time::Duration::from_millis(400));
    slint::platform::update_timers_and_animations();
    app.pump();
}

#[test]
fn a_whole_visit_by_touch() {
    init_headless();
    let folder = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime
        .block_on(LocalServer::start(&folder.path().join("server"), now))
        .unwrap();
    server.enroll_code("CODE-0001", now()).unwrap();

    let data = folder.path().join("tablet");
    let mut config = config(&data);
    config.server_ca = Some(server.server_ca.clone());
    let app = open(config, 1920.0, 1200.0);
    fieldkit_app::i18n::apply(fieldkit_app::i18n::Lang::Uk);

    // First run: enrollment, in Ukrainian.
    assert_eq!(screen(&app), Screen::Enroll);
    type_into(&app, "Адреса сервера", &server.url);
    type_into(&app, "Одноразовий код", "CODE-0001");
    type_into(&app, "Назва планшета", "T07");
    type_into(&app, "ПІБ адміністратора", "Коваленко Олена Петрівна");
    type_into(&app, "Ім'я на екрані входу", "Олена К.");
    type_into(&app, "Нова парольна фраза", "довга-парольна-фраза");
    type_into(&app, "Парольна фраза ще раз", "інша-фраза-зовсім");
    tap(&app, "Зареєструвати планшет");
    assert!(
        has(&app, "Парольні фрази не збігаються."),
        "mismatched passphrases are refused: {:?}",
        labels(&app)
    );
    type_into(&app, "Парольна фраза ще раз", "довга-парольна-фраза");
    tap(&app, "Зареєструвати планшет");
    wait_for(&app, "enrollment", |app| screen(app) == Screen::Today);

    // Lock, a wrong passphrase (clear error, still locked), then the right one.
    tap(&app, "Заблокувати");
    assert_eq!(screen(&app), Screen::Unlock);
    type_into(&app, "Парольна фраза", "не-та-фраза");
    tap(&app, "Розблокувати");
    assert!(
        has_containing(&app, "Неправильна парольна фраза"),
        "{:?}",
        labels(&app)
    );
    assert_eq!(screen(&app), Screen::Unlock);
    type_into(&app, "Парольна фраза", "довга-парольна-фраза");
    tap(&app, "Розблокувати");
    assert_eq!(screen(&app), Screen::Today);

    // The centre plans a visit; it reaches Today with the next sync.
    let visit = serde_json::json!({"time": "2026-11-25 10:00", "place": "home", "address": "м. Львів, вул. Зелена, 12, кв. 3", "applicant": "Шевченко Марія Іванівна", "services": ["00001"]});
    server
        .meta
        .plan_visit("T07", &visit.to_string(), now())
        .unwrap();
    tap(&app, "Налаштування");
    tap(&app, "Синхронізувати зараз");
    tap(&app, "Назад");
    wait_for(&app, "the planned visit", |app| {
        has(app, "Почати виїзд 2026-11-25 10:00")
    });

    // A new visit; the service found by search, its card read, chosen.
    tap(&app, "Новий виїзд");
    assert_eq!(screen(&app), Screen::Service);
    tap(&app, "Пошук");
    type_into(&app, "Слова з назви послуги", "декларування");
    tap(&app, "Декларування місця проживання");
    assert!(
        has_containing(&app, "Строк:"),
        "the information card is shown"
    );
    // The fee's payment details, and (after a swipe down the card) whom to contact, when: the
    // provider and the centre.
    for line in [
        "Платіжні реквізити",
        "Отримувач: Демо-отримувач адміністративних зборів (демо, вигаданий рахунок)",
        "IBAN: UA989999990000026007233566001",
        "Код отримувача (ЄДРПОУ/РНОКПП): 12345678",
        "Призначення платежу: Адміністративний збір за декларування місця проживання (демо)",
    ] {
        assert!(
            has_containing(&app, line),
            "{line:?} on the card: {:?}",
            labels(&app)
        );
    }
    swipe_up_at(&app, "Плата: 34,00 грн", -3000.0);
    for line in [
        "Суб'єкт надання: контакти й графік роботи",
        "Графік роботи: Пн–Чт 09:00–18:00, Пт 09:00–16:45, обідня перерва 13:00–13:45",
        "Ел. пошта: residence@example.lviv.ua",
        "ЦНАП: контакти й графік роботи",
        "Вебсайт: https://example.lviv.ua/cnap",
    ] {
        assert!(
            has_containing(&app, line),
            "{line:?} on the card: {:?}",
            labels(&app)
        );
    }
    tap(&app, "Подати заяву на цю послугу");
    assert_eq!(screen(&app), Screen::Applicant);

    // The applicant: a mistyped РНОКПП is caught and shown under its field.
    type_into(&app, "Прізвище", SURNAME);
    type_into(&app, "Ім'я", "Марія");
    type_into(&app, "По батькові", "Іванівна");
    type_into(&app, "РНОКПП (податковий номер)", "1687545621");
    type_into(&app, "Дата народження (ДД.ММ.РРРР)", "15.03.1946");
    type_into(&app, "Адреса", "м. Львів, вул. Зелена, 12, кв. 3");
    type_into(&app, "Мобільний телефон", "067 123 45 67");
    tap(&app, "Далі: документи");
    assert_eq!(
        screen(&app),
        Screen::Applicant,
        "a wrong РНОКПП stops the visit here"
    );
    assert!(has(&app, "Перевірте позначені поля."));
    type_into(&app, "РНОКПП (податковий номер)", RNOKPP);
    tap(&app, "Далі: документи");
    assert_eq!(screen(&app), Screen::Documents);
    // The fee is asked before anything is counted; paid later, no payment document is due.
    assert!(has(&app, "Дайте відповідь щодо умов: 1"));
    tap(&app, "Пізніше");
    assert!(has_containing(&app, "Бракує документів: 2"));

    // Pages: the declaration from SANE's test scanner (feeder, 3 pages), the passport from a
    // folder that also holds a corrupt file.
    tap_containing(&app, "Декларація про місце проживання");
    tap(&app, "Подавач: вимк.");
    tap(&app, "Сканувати");
    wait_for(&app, "the scan", |app| {
        has_containing(
            app,
            "Декларація про місце проживання (за формою, встановленою КМУ) — 3 арк.",
        )
    });
    let import = folder.path().join("import");
    std::fs::create_dir_all(&import).unwrap();
    let page = image::GrayImage::from_fn(1240, 1754, |x, y| {
        image::Luma([if (x / 40 + y / 40) % 7 == 0 { 30 } else { 240 }])
    });
    page.save(import.join("a-passport.png")).unwrap();
    std::fs::write(import.join("b-broken.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    tap_containing(&app, "Паспорт громадянина України");
    type_into(&app, "Тека для імпорту", import.to_str().unwrap());
    tap(&app, "Імпорт із теки");
    wait_for(&app, "the import", |app| {
        has_containing(
            app,
            "Паспорт громадянина України або інший документ, що посвідчує особу — 1 арк.",
        )
    });
    assert!(
        has_containing(&app, "Файл b-broken.png не прийнято"),
        "the corrupt file is named: {:?}",
        labels(&app)
    );
    assert!(has(&app, "Документи є; ще вирішиться в заяві умов: 1"));

    // The form: required fields, then the conformity conclusion computed from the checklist.
    tap(&app, "Далі: заява");
    assert_eq!(screen(&app), Screen::Form);
    tap(&app, "Далі: повідомлення і отримання");
    assert!(
        has_containing(&app, "Заповніть:"),
        "required form fields are enforced"
    );
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
    assert!(has(
        &app,
        "Обчислено: пакет відповідає інформаційній картці."
    ));
    tap(&app, "Далі: повідомлення і отримання");
    assert_eq!(screen(&app), Screen::Choices);
    tap(&app, "Далі: опис і підписи");
    assert_eq!(screen(&app), Screen::Sign);
    assert!(
        has_containing(&app, SURNAME),
        "the inventory names the applicant"
    );

    // Applicant mode: nothing but the inventory and the pad.
    tap(&app, "Передати планшет заявнику на підпис");
    let buttons: Vec<String> = ElementQuery::from_root(&app.window)
        .match_accessible_role(AccessibleRole::Button)
        .find_all()
        .iter()
        .filter_map(|e| e.accessible_label().map(|l| l.to_string()))
        .collect();
    assert_eq!(
        buttons,
        [
            "Назад",
            "Далі",
            "Менше",
            "Більше",
            "Очистити",
            "Підписати",
            "Адміністратор"
        ],
        "applicant mode offers only the pages, the text size, the pad and the way back"
    );
    for hidden in [
        "Заблокувати",
        "Сьогодні",
        "Клавіатура",
        "Запечатати справу",
        "Справи",
    ] {
        assert!(
            !has(&app, hidden),
            "{hidden} must not be reachable in applicant mode"
        );
    }
    tap(&app, "Підписати");
    assert!(
        has_containing(&app, "Підпис порожній"),
        "an empty pad is refused"
    );
    draw_signature(&app, "Підпис заявника");
    tap(&app, "Підписати");
    assert!(has(
        &app,
        "Дякуємо! Поверніть, будь ласка, планшет адміністратору."
    ));
    tap(&app, "Адміністратор");
    type_into(&app, "Парольна фраза адміністратора", "вгадую-пароль");
    tap(&app, "Повернути адміністратору");
    assert!(
        app.window.global::<App>().get_applicant_mode(),
        "a wrong passphrase keeps applicant mode"
    );
    type_into(
        &app,
        "Парольна фраза адміністратора",
        "довга-парольна-фраза",
    );
    tap(&app, "Повернути адміністратору");
    assert!(!app.window.global::<App>().get_applicant_mode());
    draw_signature(&app, "Підпис адміністратора");
    tap(&app, "Підписати як адміністратор");
    tap(&app, "Запечатати справу");
    assert_eq!(screen(&app), Screen::Receipt);
    let number = find_containing(&app, "Номер справи ")
        .accessible_label()
        .unwrap()
        .replace("Номер справи ", "");
    assert!(has(&app, "QR-код відстеження"));
    // The receipt's tracking code in large type, and its QR: the server's public address and
    // the code in its canonical form (no hyphens); the case number opens nothing.
    let code = tracking_code_on_screen(&app);
    assert!(
        has_containing(&app, &format!("Код відстеження {code}")),
        "shown in groups of four: {:?}",
        labels(&app)
    );
    // The server has a public side and tells the tablet its address at every sync.
    let qr = qr_codes_on_screen(&app);
    assert_eq!(
        qr,
        [format!("{}/t/{}", server.public_url, code.canonical())]
    );
    assert!(!qr[0].contains(&number), "{qr:?}");

    // Sync: the envelope reaches the server; then the centre's decision comes back.
    tap(&app, "Завершити виїзд");
    wait_for(&app, "delivery", |app| has(app, "Усе доставлено"));
    server
        .meta
        .add_status_event(
            &number,
            fieldkit_domain::workflow::CaseState::Issued,
            None,
            now(),
        )
        .unwrap();
    tap(&app, "Налаштування");
    tap(&app, "Синхронізувати зараз");
    wait_for(&app, "the status change", |app| {
        has_containing(app, "нових статусів: 1")
    });
    tap(&app, "Назад");
    tap(&app, "Справи");
    assert!(
        has_containing(
            &app,
            &format!("{number} · 00001 · доставлено · Рішення прийнято: видано")
        ),
        "{:?}",
        labels(&app)
    );
    // A decided case: its result can be handed over, the application no longer withdrawn.
    tap_containing(&app, &format!("{number} · 00001"));
    assert!(has(&app, "Видати результат"), "{:?}", labels(&app));
    assert!(!has(&app, "Записати відкликання"), "{:?}", labels(&app));

    // The decision corrected to a refusal: the provider's reasons reach «Справи».
    server
        .meta
        .add_status_event(
            &number,
            fieldkit_domain::workflow::CaseState::Refused,
            Some("Не подано згоду власника житла"),
            now(),
        )
        .unwrap();
    tap(&app, "Назад");
    tap(&app, "Налаштування");
    tap(&app, "Синхронізувати зараз");
    wait_for(&app, "the refusal", |app| {
        has_containing(app, "нових статусів: 1")
    });
    tap(&app, "Назад");
    tap(&app, "Справи");
    assert!(
        has_containing(
            &app,
            "Рішення прийнято: відмовлено: Не подано згоду власника житла"
        ),
        "{:?}",
        labels(&app)
    );

    // The refusal handed over under the applicant's signature: the hand-over travels as an
    // envelope of its own under the case's number, and the case is still one row, before and
    // after it syncs.
    let rows_of_the_case = |app: &fieldkit_app::RunningApp| {
        labels(app)
            .iter()
            .filter(|l| l.starts_with(&format!("{number} · ")))
            .count()
    };
    // Each row is read twice (the row and its text): what one row counts here.
    let one_row = rows_of_the_case(&app);
    assert!(one_row > 0, "{:?}", labels(&app));
    tap_containing(&app, &format!("{number} · 00001"));
    tap(&app, "Видати результат");
    draw_signature(&app, "Підпис заявника");
    tap(&app, "Підтвердити");
    assert!(
        has_containing(&app, "доповнення чекає на надсилання"),
        "{:?}",
        labels(&app)
    );
    assert_eq!(rows_of_the_case(&app), one_row, "{:?}", labels(&app));
    tap(&app, "Гаразд");
    tap(&app, "Назад");
    tap(&app, "Налаштування");
    tap(&app, "Синхронізувати зараз");
    wait_for(&app, "the hand-over delivered", |app| {
        has(app, "Усе доставлено")
    });
    tap(&app, "Назад");
    tap(&app, "Справи");
    assert!(!has_containing(&app, "доповнення чекає на надсилання"));
    assert_eq!(rows_of_the_case(&app), one_row, "{:?}", labels(&app));

    // Lock: nothing personal on screen, nothing in clear on disk.
    tap(&app, "Заблокувати");
    assert!(!has_containing(&app, SURNAME));
    drop(app);
    for (path, bytes) in raw_bytes(&data) {
        for secret in [SURNAME, RNOKPP, "067 123 45 67", "0671234567"] {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "{secret} in clear in {}", path.display());
        }
    }
    server.stop();
}
