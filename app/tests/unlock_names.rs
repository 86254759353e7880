//! Each administrator's slot carries the name its administrator chose for the unlock screen:
//! chosen at enrollment and when a colleague is added in Settings, both by touch; the locked
//! tablet offers those names (not «Адміністратор 1»), also after a restart, and each unlocks
//! with its own passphrase. No file of the tablet holds a name in clear.

mod common;

use common::*;
use fieldkit_app::ui::{App, Screen};
use fieldkit_sync_server::local::LocalServer;
use slint::ComponentHandle;

const FIRST: &str = "Олена К.";
const SECOND: &str = "Іван Б.";
const FIRST_PASSPHRASE: &str = "довга-парольна-фраза";
const SECOND_PASSPHRASE: &str = "інша-довга-фраза";

fn screen(app: &fieldkit_app::RunningApp) -> Screen {
    app.window.global::<App>().get_screen()
}

fn unlock_as(app: &fieldkit_app::RunningApp, name: &str, passphrase: &str) {
    tap(app, name);
    type_into(app, "Парольна фраза", passphrase);
    tap(app, "Розблокувати");
    assert_eq!(screen(app), Screen::Today, "{name} unlocks");
}

#[test]
fn the_unlock_screen_offers_the_names_chosen_for_it() {
    init_headless();
    let folder = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime
        .block_on(LocalServer::start(&folder.path().join("server"), now))
        .unwrap();
    server.enroll_code("CODE-0001", now()).unwrap();
    let data = folder.path().join("tablet");
    let mut first_config = config(&data);
    first_config.server_ca = Some(server.server_ca.clone());
    let app = open(first_config, 1920.0, 1200.0);
    fieldkit_app::i18n::apply(fieldkit_app::i18n::Lang::Uk);

    // Enrollment asks for the name on the unlock screen, and holds it to one button's length.
    type_into(&app, "Адреса сервера", &server.url);
    type_into(&app, "Одноразовий код", "CODE-0001");
    type_into(&app, "Назва планшета", "T07");
    type_into(&app, "ПІБ адміністратора", "Коваленко Олена Петрівна");
    type_into(&app, "Нова парольна фраза", FIRST_PASSPHRASE);
    type_into(&app, "Парольна фраза ще раз", FIRST_PASSPHRASE);
    tap(&app, "Зареєструвати планшет");
    assert!(
        has_containing(&app, "ім'я на екрані входу"),
        "the name is required: {:?}",
        labels(&app)
    );
    type_into(&app, "Ім'я на екрані входу", &"О".repeat(41));
    tap(&app, "Зареєструвати планшет");
    assert!(has(&app, "Ім'я на екрані входу: від 1 до 40 символів."));
    type_into(&app, "Ім'я на екрані входу", FIRST);
    tap(&app, "Зареєструвати планшет");
    wait_for(&app, "enrollment", |app| screen(app) == Screen::Today);

    // A colleague is added in Settings with a name of their own.
    tap(&app, "Налаштування");
    type_into(&app, "Ім'я нового адміністратора", "Бондар Іван Петрович");
    type_into(&app, "Ім'я на екрані входу", SECOND);
    type_into(&app, "Його парольна фраза", SECOND_PASSPHRASE);
    tap(&app, "Додати адміністратора");
    assert!(
        has_containing(&app, "Бондар Іван Петрович"),
        "{:?}",
        labels(&app)
    );
    tap(&app, "Назад");

    tap(&app, "Заблокувати");
    assert_eq!(screen(&app), Screen::Unlock);
    assert!(has(&app, FIRST) && has(&app, SECOND), "{:?}", labels(&app));
    assert!(!has_containing(&app, "Адміністратор 1"));
    assert!(
        !has_containing(&app, "Коваленко"),
        "the full name waits for the unlock"
    );
    unlock_as(&app, SECOND, SECOND_PASSPHRASE);
    tap(&app, "Заблокувати");
    drop(app);
    server.stop();

    // After a restart the locked tablet still offers both names.
    let app = open(config(&data), 1920.0, 1200.0);
    fieldkit_app::i18n::apply(fieldkit_app::i18n::Lang::Uk);
    assert_eq!(screen(&app), Screen::Unlock);
    assert!(has(&app, FIRST) && has(&app, SECOND), "{:?}", labels(&app));
    unlock_as(&app, FIRST, FIRST_PASSPHRASE);
    tap(&app, "Заблокувати");
    drop(app);

    for (path, bytes) in raw_bytes(&data) {
        for name in [FIRST, SECOND, "Коваленко", "Бондар"] {
            let found = bytes.windows(name.len()).any(|w| w == name.as_bytes());
            assert!(!found, "{name} in clear in {}", path.display());
        }
    }
}
