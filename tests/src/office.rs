//! A server with real cases for the back-office tests: two tablets each seal a whole visit and
//! sync it, the demo catalog is published, and there is one user per role.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use fieldkit_protocol::DeviceSigningKey;
use fieldkit_sync_client::{SyncClient, enroll};
use fieldkit_sync_server::central::CentralConfig;
use fieldkit_sync_server::local::LocalServer;
use fieldkit_sync_server::office::auth::{Role, set_user};
use fieldkit_sync_server::office::db::OfficeDb;
use fieldkit_sync_server::store::MetadataStore;
use fieldkit_vault::{Clock, Vault, VaultOptions};

use crate::sync::{Resume, push_outbox};
use crate::{DEMO_PASSPHRASE, DemoError, SealedBy, run_visit_with};

/// The password every test user gets.
pub const PASSWORD: &str = "довгий-тестовий-пароль";
pub const OPERATOR: &str = "olena.operator";
pub const SUPERVISOR: &str = "petro.supervisor";
pub const DEVICE_ADMIN: &str = "ivan.devices";

struct Now(i64);
impl Clock for Now {
    fn now(&self) -> i64 {
        self.0
    }
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A running server with two synced cases (tablets T07 and T08) and the case numbers.
pub struct OfficeFixture {
    pub server: LocalServer,
    pub cases: Vec<String>,
    /// The tablets' clients, to read their status feeds.
    pub tablets: Vec<SyncClient>,
    pub dir: PathBuf,
}

fn error(e: impl std::fmt::Display) -> DemoError {
    DemoError::Setup(e.to_string())
}

pub async fn office_fixture(dir: &Path) -> Result<OfficeFixture, DemoError> {
    office_fixture_with(dir, 1).await
}

/// As [`office_fixture`], with `passport_pages` pages of passport in each case.
pub async fn office_fixture_with(
    dir: &Path,
    passport_pages: u32,
) -> Result<OfficeFixture, DemoError> {
    office_fixture_configured(dir, passport_pages, |_| {}).await
}

/// As [`office_fixture_with`], with the `[central]` settings changed by `configure` before the
/// server starts (an events key, the applicants' notification channels, the attempts).
pub async fn office_fixture_configured(
    dir: &Path,
    passport_pages: u32,
    configure: impl FnOnce(&mut CentralConfig),
) -> Result<OfficeFixture, DemoError> {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets");
    // Accepted cases go to a drop folder (the `dir` connector), as for a system that imports
    // files.
    let mut central = CentralConfig {
        connector: fieldkit_sync_server::central::config::ConnectorKind::Dir,
        drop_dir: Some(dir.join("central-drop")),
        ..Default::default()
    };
    configure(&mut central);
    std::fs::create_dir_all(dir.join("central-drop"))?;
    let server = LocalServer::start_with(&dir.join("server"), now, 0, central)
        .await
        .map_err(error)?;
    let catalog = std::fs::read_to_string(assets.join("catalog/catalog.toml"))?;
    server
        .meta
        .publish_catalog(1, &catalog, now())
        .map_err(error)?;
    let db = OfficeDb::open(&server.data.join("metadata.sqlite")).map_err(error)?;
    for (user, role) in [
        (OPERATOR, Role::Operator),
        (SUPERVISOR, Role::Supervisor),
        (DEVICE_ADMIN, Role::DeviceAdmin),
    ] {
        set_user(&db, user, role, PASSWORD, "test", now()).map_err(error)?;
    }
    let mut cases = Vec::new();
    let mut tablets = Vec::new();
    for device_id in ["T07", "T08"] {
        let code = format!("CODE-{device_id}");
        server.enroll_code(&code, now()).map_err(error)?;
        let enrollment = enroll(&server.url, &server.server_ca, &code, device_id)
            .await
            .map_err(error)?;
        let device = DeviceSigningKey::from_pkcs8(device_id, &enrollment.signing_key_pkcs8)
            .map_err(error)?;
        let vault_dir = dir.join(device_id);
        std::fs::create_dir_all(&vault_dir)?;
        let report = run_visit_with(
            &assets,
            &vault_dir,
            time::OffsetDateTime::now_utc(),
            &mut std::io::sink(),
            &SealedBy {
                server: &server.sealing,
                device: &device,
                envelope_id: &format!("env-{device_id}-1"),
            },
            passport_pages,
        )?;
        let locked = Vault::open(
            &vault_dir.join("vault.sqlite"),
            VaultOptions::default(),
            Arc::new(Now(now())),
        )?;
        let slot = locked.slots()?[0].slot_id.clone();
        let mut vault = locked.unlock(&slot, DEMO_PASSPHRASE)?;
        let client = SyncClient::new(
            &server.url,
            &server.server_ca,
            &enrollment.client_certificate,
            &enrollment.tls_key_pkcs8,
            &enrollment.receipt_public_key,
        )
        .map_err(error)?;
        push_outbox(&mut vault, &client, &mut Resume::new())
            .await
            .map_err(error)?;
        cases.push(report.case_number);
        tablets.push(client);
    }
    Ok(OfficeFixture {
        server,
        cases,
        tablets,
        dir: dir.to_owned(),
    })
}
