//! The tablet's command-only credential: a TLS key and a certificate that the server takes for
//! its command feed and for nothing else. It is kept beside the vault, not in it (on the
//! encrypted data partition, readable by the app's user only), so that a locked tablet — a lost
//! or stolen one, most likely — still picks up a wipe. It opens no personal data: the server
//! refuses it on every other route, and the tablet's full credential stays in the vault.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use fieldkit_sync_client::SyncClient;
use fieldkit_vault::{UnlockedVault, Vault, VaultOptions};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::sync_pass::SyncPassError;

const FILE_NAME: &str = "command-credential.json";

/// What a locked tablet needs to ask its server for commands. Binary fields are base64.
#[derive(Serialize, Deserialize)]
pub struct CommandCredential {
    pub server: String,
    server_ca: String,
    certificate: String,
    /// The private key (PKCS#8, base64): wiped from memory when the credential is dropped.
    tls_key: String,
    receipt_key: String,
    /// The device CA that issued the certificate: after a rotation the tablet asks again.
    pub device_ca: String,
}

impl Drop for CommandCredential {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.tls_key);
    }
}

/// Where the credential of the vault at `vault_path` is kept.
pub fn path_beside(vault_path: &Path) -> PathBuf {
    vault_path.with_file_name(FILE_NAME)
}

fn io_error(path: &Path, source: std::io::Error) -> SyncPassError {
    SyncPassError::Credential(format!("{}: {source}", path.display()))
}

fn decode(field: &str, text: &str) -> Result<Vec<u8>, SyncPassError> {
    B64.decode(text)
        .map_err(|_| SyncPassError::Credential(format!("{FILE_NAME}: {field} is not base64")))
}

impl CommandCredential {
    /// The credential at `path`; `None` when the tablet has none (not enrolled, or enrolled
    /// before command credentials existed: its next unlocked sync asks for one).
    pub fn load(path: &Path) -> Result<Option<Self>, SyncPassError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => Zeroizing::new(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(path, e)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| SyncPassError::Credential(format!("{FILE_NAME}: {e}")))
    }

    /// Written readable by the owner only, to a temporary file that is synced and renamed, so
    /// a power cut leaves the old credential or the new one.
    pub fn save(&self, path: &Path) -> Result<(), SyncPassError> {
        let json = Zeroizing::new(
            serde_json::to_vec(self).map_err(|e| SyncPassError::Credential(e.to_string()))?,
        );
        let temporary = path.with_extension("json.tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&temporary)
            .map_err(|e| io_error(&temporary, e))?;
        file.write_all(&json)
            .and_then(|()| file.sync_all())
            .map_err(|e| io_error(&temporary, e))?;
        std::fs::rename(&temporary, path).map_err(|e| io_error(path, e))
    }

    /// Forget the credential (a wipe, a new enrollment); no file is fine.
    pub fn remove(path: &Path) -> Result<(), SyncPassError> {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(path, e)),
            _ => Ok(()),
        }
    }

    /// A client that can ask for commands and nothing else.
    pub fn client(&self) -> Result<SyncClient, SyncPassError> {
        let tls_key = Zeroizing::new(decode("tls_key", &self.tls_key)?);
        Ok(SyncClient::new(
            &self.server,
            &decode("server_ca", &self.server_ca)?,
            &decode("certificate", &self.certificate)?,
            &tls_key,
            &decode("receipt_key", &self.receipt_key)?,
        )?)
    }
}

/// In an unlocked pass: make sure the tablet holds a command credential from the server's
/// current device CA, asking for a new one over its full certificate when it has none or an
/// older one. Returns whether a new one was stored.
pub async fn ensure(
    vault: &mut UnlockedVault,
    client: &SyncClient,
    server: &str,
    server_ca: &[u8],
    receipt_key: &[u8],
    device_ca: &str,
) -> Result<bool, SyncPassError> {
    let path = path_beside(vault.path());
    let current = CommandCredential::load(&path)?;
    if current.is_some_and(|c| c.server == server && c.device_ca == device_ca) {
        return Ok(false);
    }
    let issued = client.command_certificate().await?;
    CommandCredential {
        server: server.to_owned(),
        server_ca: B64.encode(server_ca),
        certificate: B64.encode(&issued.client_certificate),
        tls_key: B64.encode(&*issued.tls_key_pkcs8),
        receipt_key: B64.encode(receipt_key),
        device_ca: issued.device_ca,
    }
    .save(&path)?;
    Ok(true)
}

/// While locked: ask the server for this tablet's commands with the command credential. On a
/// wipe, the vault's keys are shredded and its files removed (no passphrase opens it after
/// this, not even the right one), then the credential itself goes. Returns whether a wipe ran.
/// A tablet without a credential, or offline, just waits for its next try.
pub async fn wipe_if_commanded(vault_path: &Path) -> Result<bool, SyncPassError> {
    let path = path_beside(vault_path);
    let Some(credential) = CommandCredential::load(&path)? else {
        return Ok(false);
    };
    let commands = credential.client()?.commands().await?;
    if !commands.iter().any(|c| c == "wipe") {
        return Ok(false);
    }
    match Vault::open(
        vault_path,
        VaultOptions::default(),
        std::sync::Arc::new(fieldkit_vault::SystemClock),
    ) {
        Ok(vault) => vault.destroy()?,
        // Gone already: nothing to shred.
        Err(fieldkit_vault::VaultError::NoVault(_)) => {}
        Err(e) => return Err(e.into()),
    }
    CommandCredential::remove(&path)?;
    Ok(true)
}
