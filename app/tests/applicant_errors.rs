//! Each problem the applicant screen finds is shown under its own field: an empty address
//! under «Адреса» (it used to fall to «Прізвище»), a missing surname under «Прізвище», a legal
//! entity's missing name under its name. Checked by touch and by where the messages are drawn.

mod common;

use common::*;
use fieldkit_app::RunningApp;
use fieldkit_app::ui::{App, Screen};
use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use slint::ComponentHandle;

fn field(app: &RunningApp, label: &str) -> ElementHandle {
    find_all(app, label)
        .into_iter()
        .find(|e| e.accessible_role() == Some(AccessibleRole::TextInput))
        .unwrap_or_else(|| panic!("no field {label:?}"))
}

/// The message is drawn right under the field's input, in the same column.
fn assert_under(app: &RunningApp, message: &str, label: &str) {
    let input = field(app, label);
    let shown = find(app, message);
    let (below, at) = (input.absolute_position(), shown.absolute_position());
    let gap = at.y - (below.y + input.size().height);
    assert!(
        (at.x - below.x).abs() < 1.0 && (0.0..=8.0).contains(&gap),
        "{message:?} is not under {label:?} (field at {below:?}, message at {at:?})"
    );
}

fn next(app: &RunningApp) {
    tap(app, "Далі: документи");
    assert_eq!(app.window.global::<App>().get_screen(), Screen::Applicant);
    assert!(has(app, "Перевірте позначені поля."));
}

#[test]
fn each_problem_is_shown_under_its_own_field() {
    init_headless();
    let folder = tempfile::tempdir().unwrap();
    let mut config = config(folder.path());
    let _demo = fieldkit_app::demo::prepare(&mut config).unwrap();
    let app = open(config, 1920.0, 1200.0);
    fieldkit_app::i18n::apply(fieldkit_app::i18n::Lang::Uk);
    type_into(&app, "Парольна фраза", fieldkit_app::demo::DEMO_PASSPHRASE);
    tap(&app, "Розблокувати");
    tap(&app, "Новий виїзд");
    tap(&app, "Пошук");
    type_into(&app, "Слова з назви послуги", "декларування");
    tap(&app, "Декларування місця проживання");
    tap(&app, "Подати заяву на цю послугу");

    // A person with a name and a birth date but no address.
    type_into(&app, "Прізвище", "Шевченко");
    type_into(&app, "Ім'я", "Марія");
    type_into(&app, "Дата народження (ДД.ММ.РРРР)", "15.03.1946");
    next(&app);
    assert_under(&app, "Вкажіть адресу.", "Адреса");
    assert!(!has(&app, "Вкажіть прізвище та ім'я."));

    // Now the name is missing and the address is there: each message moves to its field.
    type_into(&app, "Адреса", "м. Львів, вул. Зелена, 12, кв. 3");
    type_into(&app, "Прізвище", "");
    next(&app);
    assert_under(&app, "Вкажіть прізвище та ім'я.", "Прізвище");
    assert!(!has(&app, "Вкажіть адресу."), "the address message is gone");

    // A legal entity without its name: under the entity's name, not the acting person's.
    tap(&app, "Юридична особа");
    type_into(&app, "Прізвище", "Шевченко");
    next(&app);
    assert_under(
        &app,
        "Вкажіть назву юридичної особи.",
        "Найменування юридичної особи",
    );
}
