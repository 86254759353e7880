//! `fieldkit --demo`: the whole kit on one machine. A real sync-server runs in this process on
//! loopback with the demo catalog; the tablet is enrolled to it, a demo administrator is
//! created and two visits are planned, so a new user unlocks and walks a visit end to end.
//! Scanning uses SANE's `test` backend when `scanimage` is installed.

use std::path::Path;

use fieldkit_sync_server::local::LocalServer;
use fieldkit_sync_server::store::MetadataStore;
use fieldkit_vault::{Vault, VaultOptions};

use crate::config::{AppConfig, ScannerConfig};
use crate::error::{AppError, Result};
use crate::sync_pass::save_enrollment;

pub const DEMO_ADMIN: &str = "Коваленко Олена Петрівна";
pub const DEMO_PASSPHRASE: &str = "демо-пароль";
/// What the demo's unlock screen shows for its administrator.
pub const DEMO_DISPLAY_NAME: &str = "Олена К.";
const DEMO_DEVICE: &str = "T01";

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AppError + '_ {
    move |source| AppError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn server_error(error: fieldkit_sync_server::ServerError) -> AppError {
    AppError::user(
        &format!("Демо-сервер: {error}"),
        &format!("Demo server: {error}"),
    )
}

/// SANE's test scanner: a config folder whose `dll.conf` names only the `test` backend.
pub fn sane_test_scanner(folder: &Path) -> Result<ScannerConfig> {
    std::fs::create_dir_all(folder).map_err(io(folder))?;
    let dll = folder.join("dll.conf");
    std::fs::write(&dll, "test\n").map_err(io(&dll))?;
    Ok(ScannerConfig {
        program: "scanimage".into(),
        device: Some("test:0".into()),
        env: vec![("SANE_CONFIG_DIR".into(), folder.display().to_string())],
        resolution_dpi: 300,
        // A printed-page-like picture rather than the default solid black.
        options: vec!["--test-picture=Grid".into()],
        max_pages: Some(3),
    })
}

/// The demo's server, kept alive as long as the app runs.
pub struct Demo {
    pub server: LocalServer,
    pub runtime: tokio::runtime::Runtime,
}

/// Start the server in `data/server`, enroll the tablet and fill `config` for it.
pub fn prepare(config: &mut AppConfig) -> Result<Demo> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(io(&config.data_dir))?;
    let server_dir = config.data_dir.join("server");
    let server = runtime
        .block_on(LocalServer::start(&server_dir, now))
        .map_err(server_error)?;
    let catalog_path = config.assets_dir.join("catalog/catalog.toml");
    let catalog = std::fs::read_to_string(&catalog_path).map_err(io(&catalog_path))?;
    let version = fieldkit_domain::catalog::Catalog::from_toml_str(&catalog)?.version;
    server
        .meta
        .publish_catalog(version, &catalog, now())
        .map_err(server_error)?;
    config.server_ca = Some(server.server_ca.clone());
    if !config.vault_path().exists() {
        server
            .enroll_code("DEMO-0001", now())
            .map_err(server_error)?;
        let enrollment = runtime.block_on(fieldkit_sync_client::enroll(
            &server.url,
            &server.server_ca,
            "DEMO-0001",
            DEMO_DEVICE,
        ))?;
        let mut vault = Vault::create(
            &config.vault_path(),
            DEMO_ADMIN,
            DEMO_PASSPHRASE,
            VaultOptions::default(),
            config.clock.clone(),
        )?;
        save_enrollment(&mut vault, &server.url, &server.server_ca, &enrollment)?;
        let slot = vault.slot().clone();
        vault.set_display_name(&slot, DEMO_DISPLAY_NAME)?;
        drop(vault.lock());
        let today = time::OffsetDateTime::now_utc().date();
        for (time_of_day, place, address, applicant, phone, service) in [
            (
                "10:00",
                "home",
                "м. Львів, вул. Зелена, 12, кв. 3",
                "Шевченко Марія Іванівна",
                "0671234567",
                "00001",
            ),
            (
                "13:30",
                "hospital",
                "м. Львів, вул. Лікарняна, 1, палата 12",
                "Бондар Петро Олексійович",
                "0509876543",
                "00004",
            ),
        ] {
            let visit = serde_json::json!({
                "time": format!("{today} {time_of_day}"),
                "place": place,
                "address": address,
                "applicant": applicant,
                "phone": phone,
                "services": [service],
            });
            server
                .meta
                .plan_visit(DEMO_DEVICE, &visit.to_string(), now())
                .map_err(server_error)?;
        }
    }
    if which("scanimage") {
        config.scanner = sane_test_scanner(&config.data_dir.join("sane"))?;
    }
    config.sync_interval = std::time::Duration::from_secs(10);
    Ok(Demo { server, runtime })
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}
