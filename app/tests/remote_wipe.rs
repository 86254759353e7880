//! A lost tablet, locked as lost tablets are: the centre revokes it and orders a wipe; the
//! locked app picks the wipe up with its command-only credential, shreds its vault and starts
//! again from enrollment, saying why. Nothing of the visit in progress is left on the tablet.

mod common;

use std::time::Duration;

use common::*;
use fieldkit_app::command_credential::path_beside;
use fieldkit_app::ui::{App, Screen};
use fieldkit_sync_server::local::LocalServer;
use fieldkit_sync_server::store::MetadataStore;
use slint::ComponentHandle;

const SURNAME: &str = "Шевченко";
const PASSPHRASE: &str = "довга-парольна-фраза";

fn screen(app: &fieldkit_app::RunningApp) -> Screen {
    app.window.global::<App>().get_screen()
}

fn enroll(app: &fieldkit_app::RunningApp, server: &str, code: &str, name: &str) {
    type_into(app, "Адреса сервера", server);
    type_into(app, "Одноразовий код", code);
    type_into(app, "Назва планшета", name);
    type_into(app, "ПІБ адміністратора", "Коваленко Олена Петрівна");
    type_into(app, "Ім'я на екрані входу", "Олена К.");
    type_into(app, "Нова парольна фраза", PASSPHRASE);
    type_into(app, "Парольна фраза ще раз", PASSPHRASE);
    tap(app, "Зареєструвати планшет");
    wait_for(app, "enrollment", |app| screen(app) == Screen::Today);
}

#[test]
fn a_locked_lost_tablet_is_wiped_and_starts_again_from_enrollment() {
    init_headless();
    let folder = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime
        .block_on(LocalServer::start(&folder.path().join("server"), now))
        .unwrap();
    server.enroll_code("CODE-0001", now()).unwrap();
    server.enroll_code("CODE-0002", now()).unwrap();

    let data = folder.path().join("tablet");
    let mut config = config(&data);
    config.server_ca = Some(server.server_ca.clone());
    config.sync_interval = Duration::from_millis(200);
    let vault_path = config.vault_path();
    let credential = path_beside(&vault_path);
    let app = open(config, 1920.0, 1200.0);
    fieldkit_app::i18n::apply(fieldkit_app::i18n::Lang::Uk);
    enroll(&app, &server.url, "CODE-0001", "T07");
    // The first sync leaves the command-only credential beside the vault.
    wait_for(&app, "the command credential", |_| credential.exists());

    // A visit in progress, then the tablet is locked (and lost).
    tap(&app, "Новий виїзд");
    tap(&app, "Пошук");
    type_into(&app, "Слова з назви послуги", "декларування");
    tap(&app, "Декларування місця проживання");
    tap(&app, "Подати заяву на цю послугу");
    type_into(&app, "Прізвище", SURNAME);
    type_into(&app, "Ім'я", "Марія");
    tap(&app, "Заблокувати");
    assert_eq!(screen(&app), Screen::Unlock);
    assert!(vault_path.exists());

    // The centre: revoke, wipe. The locked tablet picks it up by itself.
    server.meta.revoke_device("T07").unwrap();
    server.meta.add_command("T07", "wipe", now()).unwrap();
    wait_for(&app, "the remote wipe", |app| screen(app) == Screen::Enroll);
    assert!(
        has_containing(&app, "Центр стер дані цього планшета"),
        "{:?}",
        labels(&app)
    );
    assert!(!vault_path.exists(), "the vault is gone");
    assert!(!credential.exists(), "the credential is gone");
    let mut display_key = vault_path.clone().into_os_string();
    display_key.push("-display-key");
    assert!(
        !std::path::Path::new(&display_key).exists(),
        "the unlock screen's names are gone"
    );
    for (path, bytes) in raw_bytes(&data) {
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(SURNAME),
            "{path:?} still holds the applicant"
        );
    }
    assert!(!has_containing(&app, SURNAME));

    // Enrolled anew, it is a tablet of the centre again.
    enroll(&app, &server.url, "CODE-0002", "T08");
    wait_for(&app, "the new command credential", |_| credential.exists());
    server.stop();
}
