//! The catalog the centre published reaches the tablet through the feed and stays after a
//! restart: the server publishes a version newer than the bundled one with a service the
//! bundled one lacks; the tablet's first sync pass keeps it in the vault. The server then goes
//! away (the feed would not send that version again anyway), the app restarts and is
//! unlocked, and the new service is still offered.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use fieldkit_app::ui::{App, Screen};
use fieldkit_sync_server::store::MetadataStore;
use slint::ComponentHandle;

const NEW_TITLE: &str = "Видача довідки про склад сім'ї (нова послуга)";

/// The bundled catalog one version up, with a service of its own: a copy of 00003 under a new
/// code and title.
fn newer_catalog() -> (u64, String) {
    let bundled = std::fs::read_to_string(assets().join("catalog/catalog.toml")).unwrap();
    let version = fieldkit_domain::catalog::Catalog::from_toml_str(&bundled)
        .unwrap()
        .version;
    let start = bundled.find("[[services]]\ncode = \"00003\"").unwrap();
    let length = bundled[start + 1..].find("[[services]]").unwrap() + 1;
    let copy = bundled[start..start + length]
        .replace("code = \"00003\"", "code = \"00099\"")
        .replace(
            "title = \"Видача витягу з реєстру територіальної громади\"",
            &format!("title = \"{NEW_TITLE}\""),
        );
    let newer = bundled.replacen(
        &format!("\nversion = {version}\n"),
        &format!("\nversion = {}\n", version + 1),
        1,
    ) + "\n"
        + &copy;
    let parsed = fieldkit_domain::catalog::Catalog::from_toml_str(&newer).unwrap();
    assert_eq!(parsed.version, version + 1);
    (version + 1, newer)
}

fn unlock(app: &fieldkit_app::RunningApp) {
    type_into(app, "Парольна фраза", fieldkit_app::demo::DEMO_PASSPHRASE);
    tap(app, "Розблокувати");
    assert_eq!(app.window.global::<App>().get_screen(), Screen::Today);
}

fn catalog_version_shown(app: &fieldkit_app::RunningApp, version: u64) -> bool {
    tap(app, "Налаштування");
    let shown = has(app, &format!("Версія каталогу: {version}"));
    tap(app, "Назад");
    shown
}

#[test]
fn the_catalog_from_the_feed_survives_a_restart() {
    init_headless();
    let folder = tempfile::tempdir().unwrap();
    let mut first = config(folder.path());
    let demo = fieldkit_app::demo::prepare(&mut first).unwrap();
    let (version, newer) = newer_catalog();
    demo.server
        .meta
        .publish_catalog(version, &newer, now())
        .unwrap();

    let app = open(first, 1920.0, 1200.0);
    fieldkit_app::i18n::apply(fieldkit_app::i18n::Lang::Uk);
    unlock(&app);
    // The first pass runs at unlock; the bar says so once it is done.
    wait_for(&app, "the first sync pass", |app| {
        has(app, "Усе доставлено")
    });
    assert!(
        catalog_version_shown(&app, version),
        "the feed brought the newer catalog"
    );
    tap(&app, "Заблокувати");
    drop(app);
    demo.server.stop();

    let app = open(config(folder.path()), 1920.0, 1200.0);
    fieldkit_app::i18n::apply(fieldkit_app::i18n::Lang::Uk);
    assert!(
        !has_containing(&app, NEW_TITLE),
        "nothing from the catalog before unlock"
    );
    unlock(&app);
    assert!(
        catalog_version_shown(&app, version),
        "the stored catalog is in use"
    );
    tap(&app, "Новий виїзд");
    tap(&app, "Пошук");
    type_into(&app, "Слова з назви послуги", "склад сім'ї");
    tap(&app, NEW_TITLE);
    tap(&app, "Подати заяву на цю послугу");
    assert_eq!(
        app.window.global::<App>().get_screen(),
        Screen::Applicant,
        "the new service is offered after the restart"
    );
}
