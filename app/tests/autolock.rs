//! Auto-lock as the administrator meets it, headless, with the tablet's idle clock moved by
//! hand (no sleeping): idle past the limit locks with nothing of the visit left to see, and
//! unlocking returns to the same visit as typed; a touch or a keystroke starts the count again;
//! the minutes chosen in Settings decide when; a scan on the progress overlay is stored before
//! any lock; a note half written for an override is kept; and a lock in applicant mode needs an
//! administrator's passphrase to come back, to the administrator's side of the visit with the
//! applicant's signature kept. Use the controllers hear nothing of counts too: an applicant
//! scrolling the inventory, keys of a hardware keyboard in a field that reports no edits. And a
//! receipt on screen when the tablet locks is not lost: Cases opens it again from the vault,
//! with the same QR, and prints the same signed copy through a real CUPS queue.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use fieldkit_app::RunningApp;
use fieldkit_app::config::AppConfig;
use fieldkit_app::demo::{DEMO_PASSPHRASE, Demo};
use fieldkit_app::ui::{App, ApplicantPage, FormPage, Screen, SignPage, TodayPage};
use i_slint_backend_testing::{AccessibleRole, ElementQuery};
use slint::ComponentHandle;
use slint::platform::{PointerEventButton, WindowEvent};

const SURNAME: &str = "Шевченко";
const GIVEN_NAME: &str = "Марія";
const RNOKPP: &str = "1687545620";

fn minutes(m: u64) -> Duration {
    Duration::from_secs(m * 60)
}

/// The demo tablet, unlocked on Today, with its idle clock in the test's hand.
struct Tablet {
    app: RunningApp,
    clock: HandClock,
    data: std::path::PathBuf,
    _demo: Demo,
    _folder: tempfile::TempDir,
}

impl Tablet {
    fn unlocked() -> Self {
        Self::unlocked_with(|_| {})
    }

    /// As `unlocked`, with the app's configuration changed first (the printer).
    fn unlocked_with(adjust: impl FnOnce(&mut AppConfig)) -> Self {
        init_headless();
        let folder = tempfile::tempdir().unwrap();
        let data = folder.path().to_owned();
        let mut demo_config = config(&data);
        let demo = fieldkit_app::demo::prepare(&mut demo_config).unwrap();
        let clock = HandClock::new();
        let mut config = config(&data);
        config.monotonic_clock = clock.source();
        adjust(&mut config);
        let app = open(config, 1920.0, 1200.0);
        fieldkit_app::i18n::apply(fieldkit_app::i18n::Lang::Uk);
        unlock(&app);
        assert_eq!(screen(&app), Screen::Today);
        Self {
            app,
            clock,
            data,
            _demo: demo,
            _folder: folder,
        }
    }

    /// Nobody touches the tablet for `time`; then the UI thread runs its usual tick.
    fn idle(&self, time: Duration) {
        self.clock.advance(time);
        self.app.pump();
    }
}

fn screen(app: &RunningApp) -> Screen {
    app.window.global::<App>().get_screen()
}

fn unlock(app: &RunningApp) {
    type_into(app, "Парольна фраза", DEMO_PASSPHRASE);
    tap(app, "Розблокувати");
}

fn buttons(app: &RunningApp) -> Vec<String> {
    ElementQuery::from_root(&app.window)
        .match_accessible_role(AccessibleRole::Button)
        .find_all()
        .iter()
        .filter_map(|e| e.accessible_label().map(|l| l.to_string()))
        .collect()
}

fn field_value(app: &RunningApp, label: &str) -> String {
    find_all(app, label)
        .iter()
        .find_map(|e| e.accessible_value())
        .map(|v| v.to_string())
        .unwrap_or_default()
}

/// A finger on the screen: press and release over the middle of the control.
fn touch(app: &RunningApp, label: &str) {
    press_middle_of(app, &find(app, label));
}

/// Press and release over the middle of `element`, as a finger does.
fn press_middle_of(app: &RunningApp, element: &i_slint_backend_testing::ElementHandle) {
    let at = element.absolute_position();
    let size = element.size();
    let position = slint::LogicalPosition::new(at.x + size.width / 2.0, at.y + size.height / 2.0);
    let window = app.window.window();
    window.dispatch_event(WindowEvent::PointerPressed {
        position,
        button: PointerEventButton::Left,
    });
    window.dispatch_event(WindowEvent::PointerReleased {
        position,
        button: PointerEventButton::Left,
    });
    app.pump();
}

/// A new visit for declaring residence, on the applicant screen with name and РНОКПП typed.
fn visit_with_applicant_typed(app: &RunningApp) {
    tap(app, "Новий виїзд");
    tap(app, "Пошук");
    type_into(app, "Слова з назви послуги", "декларування");
    tap(app, "Декларування місця проживання");
    tap(app, "Подати заяву на цю послугу");
    assert_eq!(screen(app), Screen::Applicant);
    type_into(app, "Прізвище", SURNAME);
    type_into(app, "Ім'я", GIVEN_NAME);
    type_into(app, "РНОКПП (податковий номер)", RNOKPP);
}

/// The rest of the applicant, valid, and on to the documents.
fn applicant_complete(app: &RunningApp) {
    type_into(app, "Дата народження (ДД.ММ.РРРР)", "15.03.1946");
    type_into(app, "Адреса", "м. Львів, вул. Зелена, 12, кв. 3");
    type_into(app, "Мобільний телефон", "067 123 45 67");
    tap(app, "Далі: документи");
    assert_eq!(screen(app), Screen::Documents);
}

/// The form's required answers, the default choices, and on to the inventory to sign.
fn form_and_choices_to_the_inventory(app: &RunningApp) {
    tap(app, "Пізніше");
    tap(app, "Далі: заява");
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
    tap(app, "власник");
    tap(app, "Далі: повідомлення і отримання");
    tap(app, "Далі: опис і підписи");
    assert_eq!(screen(app), Screen::Sign);
}

/// Keys of a hardware keyboard, as the platform delivers them to the focused field.
fn press_keys(app: &RunningApp, text: &str) {
    let window = app.window.window();
    for character in text.chars() {
        let key: slint::SharedString = character.to_string().into();
        window.dispatch_event(WindowEvent::KeyPressed { text: key.clone() });
        window.dispatch_event(WindowEvent::KeyReleased { text: key });
    }
    app.pump();
}

/// A finger on a text field: the field takes the focus (and the press), nothing else hears it.
fn touch_field(app: &RunningApp, label: &str) {
    let field = find_all(app, label)
        .into_iter()
        .find(|e| e.accessible_role() == Some(AccessibleRole::TextInput))
        .unwrap_or_else(|| panic!("no field labelled {label:?}"));
    press_middle_of(app, &field);
}

/// Where on the window the first element whose label contains `part` is now.
fn where_is(app: &RunningApp, part: &str) -> slint::LogicalPosition {
    find_containing(app, part).absolute_position()
}

/// The wheel (or a two-finger swipe) over the element whose label contains `part`, then the
/// short scrolling animation run to its end.
fn scroll_at(app: &RunningApp, part: &str, delta_y: f32) {
    let element = find_containing(app, part);
    let at = element.absolute_position();
    let size = element.size();
    app.window
        .window()
        .dispatch_event(WindowEvent::PointerScrolled {
            position: slint::LogicalPosition::new(
                at.x + size.width / 2.0,
                at.y + size.height / 2.0,
            ),
            delta_x: 0.0,
            delta_y,
        });
    std::thread::sleep(Duration::from_millis(400));
    slint::platform::update_timers_and_animations();
    app.pump();
}

/// Locked, and nothing of the visit can be seen or reached: only the administrators and the
/// passphrase; the visit screens' data is gone from behind the screen too.
fn assert_locked_with_nothing_of_the_visit(app: &RunningApp) {
    assert_eq!(screen(app), Screen::Unlock);
    assert!(!app.window.global::<App>().get_applicant_mode());
    for button in buttons(app) {
        assert!(
            button == "Розблокувати"
                || button == fieldkit_app::demo::DEMO_DISPLAY_NAME
                || button.starts_with("Адміністратор "),
            "{button:?} must not be reachable while locked"
        );
    }
    for personal in [SURNAME, GIVEN_NAME, RNOKPP] {
        assert!(
            !has_containing(app, personal),
            "{personal} is on the locked screen"
        );
    }
    assert_eq!(app.window.global::<ApplicantPage>().get_surname(), "");
    assert_eq!(app.window.global::<TodayPage>().get_draft_title(), "");
    assert_eq!(app.window.global::<SignPage>().get_leave_passphrase(), "");
    // Even a request for a visit screen leaves the unlock screen where it is.
    app.window
        .global::<App>()
        .invoke_navigate(Screen::Applicant);
    app.pump();
    assert_eq!(screen(app), Screen::Unlock);
}

#[test]
fn idle_past_the_limit_locks_and_unlocking_returns_to_the_same_visit() {
    let tablet = Tablet::unlocked();
    let app = &tablet.app;
    visit_with_applicant_typed(app);

    // The default limit is 5 minutes without use.
    tablet.idle(minutes(5) - Duration::from_secs(1));
    assert_eq!(screen(app), Screen::Applicant, "not yet at 4:59");
    tablet.idle(Duration::from_secs(2));
    assert_locked_with_nothing_of_the_visit(app);

    unlock(app);
    assert_eq!(screen(app), Screen::Applicant, "back where the visit was");
    assert_eq!(field_value(app, "Прізвище"), SURNAME);
    assert_eq!(field_value(app, "Ім'я"), GIVEN_NAME);
    assert_eq!(field_value(app, "РНОКПП (податковий номер)"), RNOKPP);
    tap(app, "Сьогодні");
    assert!(
        has_containing(app, &format!("Продовжити: {SURNAME} {GIVEN_NAME}")),
        "{:?}",
        labels(app)
    );
}

#[test]
fn a_keystroke_or_a_touch_before_the_limit_starts_the_count_again() {
    let tablet = Tablet::unlocked();
    let app = &tablet.app;
    visit_with_applicant_typed(app);

    tablet.idle(minutes(4));
    type_into(app, "Дата народження (ДД.ММ.РРРР)", "15.03.1946");
    tablet.idle(minutes(4));
    assert_eq!(screen(app), Screen::Applicant, "typed 4 minutes ago");

    // A finger on the screen (pointer events on the window, not an accessibility action).
    touch(app, "Лікарня");
    assert_eq!(app.window.global::<ApplicantPage>().get_place(), 1);
    tablet.idle(minutes(4));
    assert_eq!(screen(app), Screen::Applicant, "touched 4 minutes ago");

    tablet.idle(minutes(1) + Duration::from_secs(1));
    assert_locked_with_nothing_of_the_visit(app);
    unlock(app);
    assert_eq!(screen(app), Screen::Applicant);
    assert_eq!(
        field_value(app, "Дата народження (ДД.ММ.РРРР)"),
        "15.03.1946"
    );
    assert_eq!(app.window.global::<ApplicantPage>().get_place(), 1);
}

#[test]
fn the_minutes_chosen_in_settings_decide_when_it_locks() {
    let tablet = Tablet::unlocked();
    let app = &tablet.app;

    tap(app, "Налаштування");
    tap(app, "15 хв");
    assert!(has(app, "Блокувати після 15 хв бездіяльності"));
    tap(app, "Назад");
    tablet.idle(minutes(14));
    assert_eq!(screen(app), Screen::Today, "15 minutes chosen: open at 14");
    tablet.idle(minutes(1) + Duration::from_secs(1));
    assert_eq!(screen(app), Screen::Unlock, "locked after 15");

    unlock(app);
    tap(app, "Налаштування");
    assert!(
        has(app, "Блокувати після 15 хв бездіяльності"),
        "the choice survives the lock"
    );
    tap(app, "2 хв");
    tap(app, "Назад");
    tablet.idle(minutes(2) + Duration::from_secs(1));
    assert_eq!(
        screen(app),
        Screen::Unlock,
        "2 minutes chosen: locked after 2"
    );
    assert_eq!(
        fieldkit_app::prefs::Prefs::load(&tablet.data).autolock_minutes,
        2,
        "kept for the next start"
    );
}

#[test]
fn a_scan_running_past_the_limit_is_stored_and_only_then_counts_idle() {
    let tablet = Tablet::unlocked();
    let app = &tablet.app;
    visit_with_applicant_typed(app);
    applicant_complete(app);

    tap_containing(app, "Декларація про місце проживання");
    tap(app, "Сканувати");
    // Whether the scan is still on the progress overlay or has just been stored, ten minutes
    // on the clock do not lock: the idle time starts when the overlay goes.
    tablet.idle(minutes(10));
    assert_eq!(screen(app), Screen::Documents);
    wait_for(app, "the scan to be stored", |app| {
        !app.window.global::<App>().get_busy()
    });
    assert_eq!(
        screen(app),
        Screen::Documents,
        "not locked the moment the scan is stored"
    );
    assert!(has_containing(app, "— 1 арк."), "{:?}", labels(app));
    tablet.idle(minutes(4));
    assert_eq!(screen(app), Screen::Documents);

    tablet.idle(minutes(1) + Duration::from_secs(1));
    assert_locked_with_nothing_of_the_visit(app);
    unlock(app);
    assert_eq!(screen(app), Screen::Documents);
    assert!(
        has_containing(
            app,
            "Декларація про місце проживання (за формою, встановленою КМУ) — 1 арк."
        ),
        "the scanned page is in the visit: {:?}",
        labels(app)
    );
}

#[test]
fn a_note_being_written_for_an_override_survives_the_lock() {
    let tablet = Tablet::unlocked();
    let app = &tablet.app;
    visit_with_applicant_typed(app);
    applicant_complete(app);
    tap(app, "Далі: заява");
    tap(app, "Змінити висновок");
    // The note is kept by "Next" only; the administrator is called away while writing it.
    let note = "Оригінал паспорта показано, копію додадуть у ЦНАП";
    type_into(app, "Чому (обов'язково)", note);
    tablet.idle(minutes(5) + Duration::from_secs(1));
    assert_locked_with_nothing_of_the_visit(app);
    assert!(!has_containing(app, note));

    unlock(app);
    assert_eq!(screen(app), Screen::Form);
    assert!(app.window.global::<FormPage>().get_overridden());
    assert_eq!(field_value(app, "Чому (обов'язково)"), note);
}

#[test]
fn a_lock_in_applicant_mode_needs_the_administrator_to_come_back() {
    let tablet = Tablet::unlocked();
    let app = &tablet.app;
    visit_with_applicant_typed(app);
    applicant_complete(app);
    form_and_choices_to_the_inventory(app);
    tap(app, "Передати планшет заявнику на підпис");
    assert!(app.window.global::<App>().get_applicant_mode());

    // The applicant reads for a while and signs: drawing on the pad is use too.
    tablet.idle(minutes(4));
    draw_signature(app, "Підпис заявника");
    tablet.idle(minutes(4));
    assert!(
        app.window.global::<App>().get_applicant_mode(),
        "still signing"
    );
    tap(app, "Підписати");
    assert!(has(
        app,
        "Дякуємо! Поверніть, будь ласка, планшет адміністратору."
    ));
    // The applicant starts on the administrator's passphrase, then leaves the tablet.
    tap(app, "Адміністратор");
    type_into(app, "Парольна фраза адміністратора", "вгадую");
    tablet.idle(minutes(5) + Duration::from_secs(1));
    assert_locked_with_nothing_of_the_visit(app);

    // A guess does not open it.
    type_into(app, "Парольна фраза", "вгадую-далі");
    tap(app, "Розблокувати");
    assert_eq!(screen(app), Screen::Unlock);
    assert!(has_containing(app, "Неправильна парольна фраза"));

    // The administrator's passphrase: back on the inventory, on the administrator's side,
    // with the applicant's signature kept and the administrator's still to give.
    unlock(app);
    assert_eq!(screen(app), Screen::Sign);
    assert!(!app.window.global::<App>().get_applicant_mode());
    assert!(app.window.global::<SignPage>().get_applicant_signed());
    assert!(has(app, "Підпис адміністратора"), "{:?}", labels(app));
    assert!(!has(app, "Передати планшет заявнику на підпис"));
    assert!(has_containing(app, SURNAME), "the inventory is shown again");
    assert!(
        has(app, "Заблокувати"),
        "the administrator's top bar is back"
    );
}

#[test]
fn an_applicant_scrolling_the_inventory_is_not_locked_out_mid_read() {
    let tablet = Tablet::unlocked();
    let app = &tablet.app;
    visit_with_applicant_typed(app);
    applicant_complete(app);
    form_and_choices_to_the_inventory(app);
    // The tablet's own screen: the inventory is longer than the space above the pad.
    app.window
        .window()
        .set_size(slint::LogicalSize::new(1280.0, 800.0));
    tap(app, "Передати планшет заявнику на підпис");
    assert!(app.window.global::<App>().get_applicant_mode());

    // The last tap was the hand-over; then the applicant only reads, scrolling now and then.
    tablet.idle(minutes(4));
    let before = where_is(app, SURNAME);
    scroll_at(app, SURNAME, -240.0);
    let after = where_is(app, SURNAME);
    assert!(
        after.y < before.y,
        "the inventory scrolled: the applicant's line from {} to {}",
        before.y,
        after.y
    );
    tablet.idle(minutes(4));
    assert!(
        app.window.global::<App>().get_applicant_mode(),
        "8 minutes after the last tap, 4 after scrolling: still reading"
    );
    assert_eq!(screen(app), Screen::Sign);

    // The idle time counts from the scroll.
    tablet.idle(minutes(1) + Duration::from_secs(1));
    assert_locked_with_nothing_of_the_visit(app);
}

#[test]
fn hardware_keys_in_a_field_that_reports_no_edits_keep_it_unlocked() {
    let tablet = Tablet::unlocked();
    let app = &tablet.app;
    visit_with_applicant_typed(app);
    applicant_complete(app);
    tap(app, "Далі: заява");
    tap(app, "Змінити висновок");
    // The override note tells the controller nothing until "Next".
    touch_field(app, "Чому (обов'язково)");
    tablet.idle(minutes(4));
    let note = "Оригінал паспорта показано";
    press_keys(app, note);
    assert_eq!(
        field_value(app, "Чому (обов'язково)"),
        note,
        "the keys reach the field: seen on the way, not taken"
    );
    tablet.idle(minutes(4));
    assert_eq!(
        screen(app),
        Screen::Form,
        "8 minutes after the last tap, 4 after typing: open"
    );

    tablet.idle(minutes(1) + Duration::from_secs(1));
    assert_locked_with_nothing_of_the_visit(app);
    unlock(app);
    assert_eq!(screen(app), Screen::Form);
    assert_eq!(field_value(app, "Чому (обов'язково)"), note);
}

#[test]
fn a_touch_on_empty_space_or_the_keyboard_key_starts_the_count_again() {
    let tablet = Tablet::unlocked();
    let app = &tablet.app;

    tablet.idle(minutes(4));
    // The heading is text: no control takes the touch.
    touch(app, "Виїзди на сьогодні");
    tablet.idle(minutes(4));
    assert_eq!(screen(app), Screen::Today, "touched 4 minutes ago");

    tap(app, "Клавіатура");
    assert!(app.window.global::<App>().get_keyboard_open());
    tablet.idle(minutes(4));
    assert_eq!(
        screen(app),
        Screen::Today,
        "the keyboard opened 4 minutes ago"
    );

    tablet.idle(minutes(1) + Duration::from_secs(1));
    assert_eq!(screen(app), Screen::Unlock);
}

/// The CUPS queue of the workspace's tests (tests/cups/setup.sh) and where its jobs land.
const TEST_PRINTER: &str = "fieldkit-test";
const TEST_SPOOL: &str = "/var/tmp/fieldkit-print";

fn spooled_jobs() -> Vec<std::path::PathBuf> {
    std::fs::read_dir(TEST_SPOOL)
        .unwrap_or_else(|e| {
            panic!("{TEST_SPOOL}: {e}: is the CUPS test queue set up (tests/cups/setup.sh)?")
        })
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "job"))
        .collect()
}

/// Print from the receipt screen and return what CUPS handed to the printer.
/// The applicant's copies as CUPS printed them, the application and the inventory (one job
/// each), sorted by their bytes: the outgoing queue does not promise their order.
fn print_receipt(app: &RunningApp) -> Vec<Vec<u8>> {
    let before = spooled_jobs();
    tap(app, "Надрукувати квитанцію");
    assert!(
        has(app, "Надіслано."),
        "lp did not take the job: is the CUPS test queue {TEST_PRINTER} set up \
         (tests/cups/setup.sh)? {:?}",
        labels(app)
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let new: Vec<_> = spooled_jobs()
            .into_iter()
            .filter(|p| !before.contains(p))
            .filter(|p| std::fs::read(p).is_ok_and(|b| b.starts_with(b"%PDF")))
            .collect();
        if new.len() >= 2 {
            let mut copies: Vec<Vec<u8>> = new
                .iter()
                .map(|job| {
                    let bytes = std::fs::read(job).unwrap();
                    std::fs::remove_file(job).unwrap();
                    bytes
                })
                .collect();
            copies.sort();
            return copies;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the two copies did not come out of CUPS within 20 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_receipt_on_screen_when_the_tablet_locks_opens_again_from_cases() {
    let tablet = Tablet::unlocked_with(|config| config.printer = TEST_PRINTER.into());
    let app = &tablet.app;
    visit_with_applicant_typed(app);
    applicant_complete(app);
    form_and_choices_to_the_inventory(app);
    tap(app, "Передати планшет заявнику на підпис");
    draw_signature(app, "Підпис заявника");
    tap(app, "Підписати");
    tap(app, "Адміністратор");
    type_into(app, "Парольна фраза адміністратора", DEMO_PASSPHRASE);
    tap(app, "Повернути адміністратору");
    draw_signature(app, "Підпис адміністратора");
    tap(app, "Підписати як адміністратор");
    tap(app, "Запечатати справу");
    assert_eq!(screen(app), Screen::Receipt, "{:?}", labels(app));

    // The receipt as first issued: number, deadline, QR; the copies printed (application and
    // inventory).
    let number = find_containing(app, "Номер справи ")
        .accessible_label()
        .unwrap()
        .replace("Номер справи ", "");
    let deadline = find_containing(app, "Рішення до ")
        .accessible_label()
        .unwrap()
        .to_string();
    let qr = qr_codes_on_screen(app);
    assert_eq!(qr.len(), 1, "one QR on the receipt: {qr:?}");
    // The QR opens the case by its tracking code, never by its number.
    let code = tracking_code_on_screen(app);
    assert!(
        qr[0].ends_with(&format!("/t/{}", code.canonical())),
        "{qr:?}"
    );
    assert!(!qr[0].contains(&number), "{qr:?} names {number}");
    let first_copy = print_receipt(app);

    // The administrator is called away before finishing: the tablet locks on the receipt.
    tablet.idle(minutes(5) + Duration::from_secs(1));
    assert_locked_with_nothing_of_the_visit(app);
    assert!(!has_containing(app, &number), "no receipt behind the lock");

    unlock(app);
    assert_eq!(screen(app), Screen::Today, "the visit itself is over");
    tap(app, "Справи");
    tap_containing(app, &number);
    tap(app, "Квитанція");
    assert_eq!(screen(app), Screen::Receipt);
    assert!(
        has(app, &format!("Номер справи {number}")),
        "{:?}",
        labels(app)
    );
    assert!(has(app, &deadline), "{deadline} again: {:?}", labels(app));
    assert_eq!(qr_codes_on_screen(app), qr, "the same tracking QR");
    assert_eq!(tracking_code_on_screen(app), code, "the same tracking code");
    assert!(has(app, "Надіслати квитанцію поштою"));
    assert_eq!(
        print_receipt(app),
        first_copy,
        "the applicant's copies printed again are the signed application and inventory first issued"
    );

    // Finishing the visit takes the applicant's copy off the tablet.
    tap(app, "Завершити виїзд");
    assert_eq!(screen(app), Screen::Today);
    tap(app, "Справи");
    tap_containing(app, &number);
    assert!(!has(app, "Квитанція"), "{:?}", labels(app));
    assert!(has_containing(app, "копії заявника на планшеті вже немає"));
    let mut controller = app.controller.borrow_mut();
    let drafts = controller.vault().unwrap().list_drafts().unwrap();
    assert!(
        drafts.is_empty(),
        "nothing of the case is readable on the tablet: {drafts:?}"
    );
}
