//! The tablet's sync pass, as the app runs it in the background: push every sealed envelope in
//! the vault's outbox, keep only a tracking stub once a verified receipt is back, then pull the
//! status feed into the stubs. Nothing is dropped before its receipt checked.

use std::collections::BTreeMap;

use fieldkit_domain::workflow::{CaseState, StateName};
use fieldkit_sync_client::{SyncClient, SyncError};
use fieldkit_vault::{UnlockedVault, VaultError};

#[derive(Debug, thiserror::Error)]
pub enum SyncPassError {
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The command-only credential beside the vault could not be read or written.
    #[error("the tablet's command credential: {0}")]
    Credential(String),
}

/// Upload addresses per envelope and part, kept between passes so uploads resume.
pub type Resume = BTreeMap<String, BTreeMap<usize, String>>;

/// Push the outbox; returns how many envelopes were delivered.
pub async fn push_outbox(
    vault: &mut UnlockedVault,
    client: &SyncClient,
    resume: &mut Resume,
) -> Result<usize, SyncPassError> {
    push_outbox_until(vault, client, resume, &|| false).await
}

/// As [`push_outbox`], asking `stop` before every chunk: once it says yes (the tablet locked)
/// it ends with `SyncError::Stopped`, and `resume` holds where each upload is.
pub async fn push_outbox_until(
    vault: &mut UnlockedVault,
    client: &SyncClient,
    resume: &mut Resume,
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<usize, SyncPassError> {
    let mut delivered = 0;
    let outbox = vault.outbox()?;
    // Uploads of envelopes no longer waiting (delivered, or wiped) have nothing to resume.
    resume.retain(|id, _| outbox.iter().any(|entry| &entry.envelope_id == id));
    for entry in outbox {
        let envelope = vault.sealed_envelope(&entry.envelope_id)?;
        let locations = resume.entry(entry.envelope_id.clone()).or_default();
        let (signed, _receipt) = client
            .upload_envelope_until(&entry.envelope_id, &envelope, locations, &mut |_| {}, stop)
            .await?;
        let receipt =
            serde_json::to_string(&signed).map_err(|e| SyncError::BadAnswer(e.to_string()))?;
        vault.transaction(|tx| tx.mark_delivered(&entry.envelope_id, &receipt))?;
        resume.remove(&entry.envelope_id);
        delivered += 1;
    }
    Ok(delivered)
}

/// The uploads a stopped or failed pass left, kept in the vault so a pass after unlock (or a
/// restart) resumes them from the server's offset instead of sending every chunk again.
pub fn stored_uploads(vault: &mut UnlockedVault) -> Result<Resume, VaultError> {
    Ok(vault
        .get_setting(UPLOADS)?
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default())
}

/// Keep `uploads` for [`stored_uploads`]; nothing is written when nothing is left to resume and
/// nothing was kept, so a quiet pass adds no audit event.
pub fn keep_uploads(vault: &mut UnlockedVault, uploads: &Resume) -> Result<(), VaultError> {
    let unfinished: Resume = uploads
        .iter()
        .filter(|(_, parts)| !parts.is_empty())
        .map(|(id, parts)| (id.clone(), parts.clone()))
        .collect();
    if unfinished == stored_uploads(vault)? {
        return Ok(());
    }
    if unfinished.is_empty() {
        return vault.transaction(|tx| tx.delete_setting(UPLOADS));
    }
    let bytes = serde_json::to_vec(&unfinished).map_err(|e| VaultError::Encoding(e.to_string()))?;
    vault.put_setting(UPLOADS, &bytes)
}

/// Pull status changes after `since` into the tracking stubs; returns the next cursor.
pub async fn pull_status(
    vault: &mut UnlockedVault,
    client: &SyncClient,
    since: i64,
) -> Result<i64, SyncPassError> {
    let (events, next) = client.status(since).await?;
    for event in events {
        vault.transaction(|tx| {
            tx.update_status(&event.case_number, &event.status)?;
            // A returned case carries the back-office's reason (what to correct or add), a
            // refused one the provider's reasons: both are shown in «Справи».
            let state = StateName::parse(&event.status).known();
            match (&event.detail, state) {
                (Some(reason), Some(CaseState::ReturnedForCorrection | CaseState::Refused)) => tx
                    .put_setting(
                        &format!("{RETURN_REASON}{}", event.case_number),
                        reason.as_bytes(),
                    ),
                _ => tx.delete_setting(&format!("{RETURN_REASON}{}", event.case_number)),
            }
        })?;
    }
    Ok(next)
}

/// What the server's commands did to the tablet.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CommandsApplied {
    /// Set when a wipe ran: the tablet is no longer enrolled.
    pub wiped: bool,
    pub drafts_wiped: usize,
}

/// The settings that make the tablet a device of the server; a wipe removes them all.
const ENROLLMENT: [&str; 11] = [
    DEVICE_CA,
    PUBLIC_URL,
    SERVER,
    SERVER_CA,
    DEVICE_ID,
    SIGNING_KEY,
    TLS_KEY,
    CERTIFICATE,
    SEALING_KEY_ID,
    SEALING_KEY,
    RECEIPT_KEY,
];

/// Run the server's pending commands. A wipe (a lost or stolen tablet) deletes every draft,
/// every planned visit and the enrollment keys in one transaction, so the tablet can neither
/// show an applicant's data nor speak for the centre again until it is enrolled anew. Sealed
/// envelopes stay: only the server's key opens them. Called first in a pass, because a
/// revoked tablet is refused everything but this.
pub async fn apply_commands(
    vault: &mut UnlockedVault,
    client: &SyncClient,
) -> Result<CommandsApplied, SyncPassError> {
    let mut applied = CommandsApplied::default();
    for command in client.commands().await? {
        if command != "wipe" || applied.wiped {
            continue;
        }
        let drafts = vault.list_drafts()?;
        vault.transaction(|tx| {
            for draft in &drafts {
                tx.delete_draft(&draft.case_id)?;
            }
            for (key, _) in tx.settings_with_prefix("visit.")? {
                tx.delete_setting(&key)?;
            }
            tx.delete_setting("ui.open_draft")?;
            crate::consultations::wipe(tx)?;
            for key in ENROLLMENT {
                tx.delete_setting(key)?;
            }
            tx.audit("device.wiped", "by server command")
        })?;
        crate::command_credential::CommandCredential::remove(
            &crate::command_credential::path_beside(vault.path()),
        )?;
        applied.wiped = true;
        applied.drafts_wiped += drafts.len();
    }
    Ok(applied)
}

/// Report the tablet's counts and audit-chain head (after a push, so the counts are current),
/// with its consultations counted per day and service (their text stays here).
pub async fn report(
    vault: &mut UnlockedVault,
    client: &SyncClient,
) -> Result<fieldkit_protocol::DeviceReport, SyncPassError> {
    let waiting = vault.outbox()?;
    let delivered = vault.transaction(|tx| tx.tracking())?;
    let consultations = vault.transaction(crate::consultations::counts)?;
    let head = vault.audit_head()?;
    let last_case_number = waiting
        .iter()
        .map(|e| e.case_number.clone())
        .chain(delivered.iter().map(|s| s.case_number.clone()))
        .max();
    let report = fieldkit_protocol::DeviceReport {
        cases_sealed: (waiting.len() + delivered.len()) as u64,
        envelopes_waiting: waiting.len() as u64,
        last_case_number,
        audit_seq: head.seq,
        audit_hash: hex::encode(head.hash),
        waiting_cases: waiting.iter().map(|e| e.case_number.clone()).collect(),
        consultations,
    };
    client.report(&report).await?;
    Ok(report)
}

use fieldkit_protocol::{DeviceSigningKey, SealingPublicKey};
use fieldkit_sync_client::Enrollment;

const SERVER: &str = "sync.server";
const SERVER_CA: &str = "sync.server_ca";
const DEVICE_ID: &str = "sync.device_id";
const SIGNING_KEY: &str = "sync.signing_key";
const TLS_KEY: &str = "sync.tls_key";
const CERTIFICATE: &str = "sync.client_certificate";
const SEALING_KEY_ID: &str = "sync.sealing_key_id";
const SEALING_KEY: &str = "sync.sealing_key";
const RECEIPT_KEY: &str = "sync.receipt_key";
const DEVICE_CA: &str = "sync.device_ca";
/// Settings `reason.<case number>`: why the back-office returned a case.
pub const RETURN_REASON: &str = "reason.";
const CATALOG: &str = "catalog.toml";
const CATALOG_VERSION: &str = "catalog.version";
const VISITS_CURSOR: &str = "visits.cursor";
/// Where each unfinished upload is on the server (upload paths only, no content).
const UPLOADS: &str = "sync.uploads";
/// The base address of the server's public side, as the server last said at a sync: the
/// receipts' tracking QR points to `{it}/t/{tracking code}`.
const PUBLIC_URL: &str = "sync.public_url";
/// Longer than this, the address would crowd the receipt's QR: not taken.
const MAX_PUBLIC_URL: usize = 200;

/// The server's public address as last told, if it ever told one (and still does).
pub fn stored_public_url(vault: &mut UnlockedVault) -> Result<Option<String>, VaultError> {
    Ok(vault
        .get_setting(PUBLIC_URL)?
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
}

/// Keep what the server says now: a new address replaces the old, none removes it (the server
/// no longer has a public side, so receipts fall back to the centre's website). An address
/// that is not http(s), has spaces or is too long for a QR is not taken. Nothing is written
/// when nothing changed, so a quiet pass adds no audit event.
fn keep_public_url(vault: &mut UnlockedVault, told: Option<&str>) -> Result<(), VaultError> {
    let usable = told.filter(|url| {
        (url.starts_with("https://") || url.starts_with("http://"))
            && url.len() <= MAX_PUBLIC_URL
            && !url.chars().any(char::is_whitespace)
    });
    let usable = usable.map(|url| url.trim_end_matches('/'));
    if usable.map(str::to_owned) == stored_public_url(vault)? {
        return Ok(());
    }
    match usable {
        Some(url) => vault.put_setting(PUBLIC_URL, url.as_bytes()),
        None => vault.transaction(|tx| tx.delete_setting(PUBLIC_URL)),
    }
}

/// The catalog text the feed kept in the vault, if it ever sent one. It outlives restarts, and
/// the version kept beside it stops the feed from sending it again.
pub fn stored_catalog(vault: &mut UnlockedVault) -> Result<Option<String>, VaultError> {
    Ok(vault
        .get_setting(CATALOG)?
        .map(|text| String::from_utf8_lossy(&text).into_owned()))
}

/// Keep what enrollment returned in the vault (every setting is encrypted there).
pub fn save_enrollment(
    vault: &mut UnlockedVault,
    server: &str,
    server_ca: &[u8],
    enrollment: &Enrollment,
) -> Result<(), VaultError> {
    vault.transaction(|tx| {
        tx.put_setting(SERVER, server.as_bytes())?;
        tx.put_setting(SERVER_CA, server_ca)?;
        tx.put_setting(DEVICE_ID, enrollment.device_id.as_bytes())?;
        tx.put_setting(SIGNING_KEY, &enrollment.signing_key_pkcs8)?;
        tx.put_setting(TLS_KEY, &enrollment.tls_key_pkcs8)?;
        tx.put_setting(CERTIFICATE, &enrollment.client_certificate)?;
        tx.put_setting(SEALING_KEY_ID, enrollment.sealing_key.key_id.as_bytes())?;
        tx.put_setting(SEALING_KEY, &enrollment.sealing_key.bytes)?;
        tx.put_setting(RECEIPT_KEY, &enrollment.receipt_public_key)?;
        tx.put_setting(DEVICE_CA, enrollment.device_ca.as_bytes())
    })
}

fn setting(vault: &mut UnlockedVault, key: &str) -> Result<Vec<u8>, SyncPassError> {
    vault.get_setting(key)?.map(|v| v.to_vec()).ok_or_else(|| {
        SyncPassError::Sync(SyncError::Setup(format!(
            "the tablet is not enrolled ({key} missing)"
        )))
    })
}

/// What an enrolled tablet needs to sync and seal, read back from its vault.
pub struct Enrolled {
    pub client: SyncClient,
    pub device: DeviceSigningKey,
    pub sealing_key: SealingPublicKey,
}

pub fn enrolled_from_vault(vault: &mut UnlockedVault) -> Result<Enrolled, SyncPassError> {
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    let server = text(setting(vault, SERVER)?);
    let device_id = text(setting(vault, DEVICE_ID)?);
    let bad = |what: &str| SyncPassError::Sync(SyncError::Setup(what.to_owned()));
    let device = DeviceSigningKey::from_pkcs8(&device_id, &setting(vault, SIGNING_KEY)?)
        .map_err(|e| bad(&e.to_string()))?;
    let sealing: [u8; 32] = setting(vault, SEALING_KEY)?
        .try_into()
        .map_err(|_| bad("sealing key"))?;
    let sealing_key = SealingPublicKey {
        key_id: text(setting(vault, SEALING_KEY_ID)?),
        bytes: sealing,
    };
    let client = SyncClient::new(
        &server,
        &setting(vault, SERVER_CA)?,
        &setting(vault, CERTIFICATE)?,
        &setting(vault, TLS_KEY)?,
        &setting(vault, RECEIPT_KEY)?,
    )?;
    Ok(Enrolled {
        client,
        device,
        sealing_key,
    })
}

/// What pulling the feeds changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FeedsApplied {
    /// Set when the server's sealing key changed (rotation): new cases seal to this key id.
    pub sealing_key_rotated: Option<String>,
    pub catalog_version: Option<u64>,
    pub new_visits: usize,
    pub drafts_wiped: usize,
    /// Set when the server's device CA changed and the tablet renewed its certificate.
    pub certificate_renewed: bool,
}

fn number(vault: &mut UnlockedVault, key: &str) -> Result<i64, SyncPassError> {
    Ok(vault
        .get_setting(key)?
        .and_then(|v| String::from_utf8_lossy(&v).parse().ok())
        .unwrap_or(0))
}

/// Pull the server's current sealing key and the catalog, visits and commands feeds into the
/// vault. A wipe command removes every draft (sealed envelopes stay: the tablet cannot read
/// them anyway).
pub async fn pull_feeds(
    vault: &mut UnlockedVault,
    client: &SyncClient,
) -> Result<FeedsApplied, SyncPassError> {
    let mut applied = FeedsApplied::default();
    let keys = client.server_keys().await?;
    keep_public_url(vault, keys.public_url.as_deref())?;
    let current = keys.sealing_key;
    let known = String::from_utf8_lossy(&setting(vault, SEALING_KEY_ID)?).into_owned();
    if current.key_id != known {
        vault.transaction(|tx| {
            tx.put_setting(SEALING_KEY_ID, current.key_id.as_bytes())?;
            tx.put_setting(SEALING_KEY, &current.bytes)
        })?;
        applied.sealing_key_rotated = Some(current.key_id);
    }
    // After a device CA rotation: a new key and certificate, stored together, used from the
    // next pass on (the current certificate stays valid until the old CA is retired).
    let device_ca = keys.device_ca;
    let known_ca = vault
        .get_setting(DEVICE_CA)?
        .map(|v| v.to_vec())
        .unwrap_or_default();
    if !device_ca.is_empty() && device_ca.as_bytes() != known_ca.as_slice() {
        let renewed = client.renew_certificate().await?;
        vault.transaction(|tx| {
            tx.put_setting(CERTIFICATE, &renewed.client_certificate)?;
            tx.put_setting(TLS_KEY, &renewed.tls_key_pkcs8)?;
            tx.put_setting(DEVICE_CA, renewed.device_ca.as_bytes())
        })?;
        applied.certificate_renewed = true;
    }
    let since = number(vault, CATALOG_VERSION)? as u64;
    if let Some(update) = client.catalog(since).await? {
        vault.transaction(|tx| {
            tx.put_setting(CATALOG, update.catalog.as_bytes())?;
            tx.put_setting(CATALOG_VERSION, update.version.to_string().as_bytes())
        })?;
        applied.catalog_version = Some(update.version);
    }
    let cursor = number(vault, VISITS_CURSOR)?;
    let (visits, next) = client.visits(cursor).await?;
    vault.transaction(|tx| {
        for visit in &visits {
            let id = visit["visit_id"].as_i64().unwrap_or_default();
            tx.put_setting(&format!("visit.{id}"), visit.to_string().as_bytes())?;
        }
        tx.put_setting(VISITS_CURSOR, next.to_string().as_bytes())
    })?;
    applied.new_visits = visits.len();
    let commands = apply_commands(vault, client).await?;
    applied.drafts_wiped += commands.drafts_wiped;
    if !commands.wiped {
        // Kept up to date while unlocked, so a locked tablet can still be wiped.
        let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
        let server = text(setting(vault, SERVER)?);
        let server_ca = setting(vault, SERVER_CA)?;
        let receipt_key = setting(vault, RECEIPT_KEY)?;
        let device_ca = text(setting(vault, DEVICE_CA)?);
        crate::command_credential::ensure(
            vault,
            client,
            &server,
            &server_ca,
            &receipt_key,
            &device_ca,
        )
        .await?;
    }
    Ok(applied)
}
