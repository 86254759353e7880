//! The server's data directory: `init` makes it (database, blob folder, both CAs, the TLS
//! certificate, the sealing and receipt keys, private keys readable by the service user only);
//! `ServerFiles::load` reads it back for `serve` and the admin commands.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use fieldkit_protocol::SealingKeyPair;
use ring::rand::SystemRandom;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use zeroize::Zeroizing;

use crate::ServerError;
use crate::commit::ServerSigningKey;
use crate::store::{FileBlobStore, SqliteMetadata};
use crate::tls::CertificateAuthority;

pub const DEVICE_CA_NAME: &str = "fieldkit device CA";
pub const SERVER_CA_NAME: &str = "fieldkit server CA";
const SEALING_KEY_ID: &str = "seal-1";
const RECEIPT_KEY_ID: &str = "receipt-1";

/// Where everything lives inside the data directory.
pub struct Layout {
    pub root: PathBuf,
}

impl Layout {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_owned(),
        }
    }
    fn keys(&self) -> PathBuf {
        self.root.join("keys")
    }
    pub fn key(&self, name: &str) -> PathBuf {
        self.keys().join(name)
    }
    pub fn database(&self) -> PathBuf {
        self.root.join("metadata.sqlite")
    }
    pub fn blobs(&self) -> PathBuf {
        self.root.join("blobs")
    }
    /// The server CA certificate tablets pin (DER).
    pub fn server_ca_certificate(&self) -> PathBuf {
        self.key("server-ca.der")
    }
}

/// Write a secret: created with mode 0600, never wider.
fn write_secret(path: &Path, bytes: &[u8]) -> Result<(), ServerError> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

fn write_public(path: &Path, bytes: &[u8]) -> Result<(), ServerError> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// Create the data directory for a server reachable under `hostnames`.
pub fn init(root: &Path, hostnames: &[String]) -> Result<(), ServerError> {
    let layout = Layout::new(root);
    if layout.database().exists() {
        return Err(ServerError::Conflict(format!(
            "{} is already initialised",
            root.display()
        )));
    }
    fs::create_dir_all(layout.keys())?;
    fs::set_permissions(root, fs::Permissions::from_mode(0o700))?;
    fs::set_permissions(layout.keys(), fs::Permissions::from_mode(0o700))?;
    SqliteMetadata::open(&layout.database())?;
    FileBlobStore::open(&layout.blobs())?;

    let device_ca = CertificateAuthority::generate(DEVICE_CA_NAME)?;
    write_secret(&layout.key("device-ca.key"), &device_ca.key_pkcs8())?;
    write_public(&layout.key("device-ca.der"), device_ca.certificate_der())?;
    let server_ca = CertificateAuthority::generate(SERVER_CA_NAME)?;
    write_secret(&layout.key("server-ca.key"), &server_ca.key_pkcs8())?;
    write_public(&layout.server_ca_certificate(), server_ca.certificate_der())?;
    let (cert, key) = server_ca.issue_server(hostnames)?;
    write_public(&layout.key("server.der"), &cert)?;
    write_secret(&layout.key("server.key"), key.secret_der())?;

    let sealing = SealingKeyPair::generate(SEALING_KEY_ID, &SystemRandom::new())?;
    write_secret(
        &layout.key(&format!("sealing-{SEALING_KEY_ID}.key")),
        sealing.secret_bytes().as_ref(),
    )?;
    let receipt = ServerSigningKey::generate(RECEIPT_KEY_ID)?;
    write_secret(
        &layout.key(&format!("receipt-{RECEIPT_KEY_ID}.key")),
        receipt.pkcs8(),
    )?;
    Ok(())
}

/// Everything `serve` needs, read from the data directory.
pub struct ServerFiles {
    pub device_ca: CertificateAuthority,
    pub server_chain: Vec<CertificateDer<'static>>,
    pub server_key: PrivateKeyDer<'static>,
    /// The current case-sealing key: tablets seal new cases to it.
    pub sealing: SealingKeyPair,
    /// Every sealing key ever used, current included, to open older envelopes by key id.
    pub sealing_keys: Vec<SealingKeyPair>,
    pub receipt_key: ServerSigningKey,
}

impl ServerFiles {
    /// The key an envelope was sealed to, by the id in its manifest.
    pub fn sealing_key(&self, key_id: &str) -> Option<&SealingKeyPair> {
        self.sealing_keys.iter().find(|k| k.key_id() == key_id)
    }
}

const CURRENT_SEALING: &str = "sealing-current";

fn current_sealing_id(layout: &Layout) -> Result<String, ServerError> {
    match fs::read_to_string(layout.key(CURRENT_SEALING)) {
        Ok(id) => Ok(id.trim().to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SEALING_KEY_ID.to_owned()),
        Err(e) => Err(e.into()),
    }
}

/// Make a new case-sealing key and make it current. Old keys stay to open old envelopes;
/// restart the service so it seals to the new key, and tablets pick it up at their next sync.
pub fn rotate_sealing_key(root: &Path) -> Result<String, ServerError> {
    let layout = Layout::new(root);
    let count = fs::read_dir(layout.key(""))?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("sealing-seal-"))
        .count();
    let key_id = format!("seal-{}", count + 1);
    let key = SealingKeyPair::generate(&key_id, &SystemRandom::new())?;
    write_secret(
        &layout.key(&format!("sealing-{key_id}.key")),
        key.secret_bytes().as_ref(),
    )?;
    switch_pointer(&layout, CURRENT_SEALING, &key_id)?;
    Ok(key_id)
}

const CURRENT_TLS: &str = "server-current";

/// The file stem of the TLS certificate and key in use: `server` as `init` made them, or the
/// latest `server-N` made by [`rotate_tls_certificate`].
fn current_tls_stem(layout: &Layout) -> Result<String, ServerError> {
    match fs::read_to_string(layout.key(CURRENT_TLS)) {
        Ok(stem) => Ok(stem.trim().to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok("server".to_owned()),
        Err(e) => Err(e.into()),
    }
}

/// Point `pointer` at `value` atomically: a crash leaves the old value, never a torn one.
fn switch_pointer(layout: &Layout, pointer: &str, value: &str) -> Result<(), ServerError> {
    let temporary = layout.key(&format!("{pointer}.tmp"));
    let _ = fs::remove_file(&temporary);
    write_public(&temporary, value.as_bytes())?;
    fs::rename(&temporary, layout.key(pointer))?;
    fs::File::open(layout.key(""))?.sync_all()?;
    Ok(())
}

/// Issue a new TLS certificate (and key) for `hostnames` from the server CA the tablets pin,
/// and make it current. Tablets need nothing: they trust the CA, not the certificate. The old
/// pair stays on disk until the operator removes it; restart the service to serve the new one.
/// Returns the new certificate's SHA-256.
pub fn rotate_tls_certificate(root: &Path, hostnames: &[String]) -> Result<String, ServerError> {
    let layout = Layout::new(root);
    let server_ca = CertificateAuthority::load(
        SERVER_CA_NAME,
        &read(&layout.key("server-ca.key"))?,
        read(&layout.server_ca_certificate())?.to_vec(),
    )?;
    let (cert, key) = server_ca.issue_server(hostnames)?;
    let generation = (2..)
        .find(|n| !layout.key(&format!("server-{n}.der")).exists())
        .unwrap_or(2);
    let stem = format!("server-{generation}");
    write_secret(&layout.key(&format!("{stem}.key")), key.secret_der())?;
    write_public(&layout.key(&format!("{stem}.der")), &cert)?;
    switch_pointer(&layout, CURRENT_TLS, &stem)?;
    Ok(crate::tls::certificate_fingerprint(&cert))
}

fn read(path: &Path) -> Result<Zeroizing<Vec<u8>>, ServerError> {
    fs::read(path)
        .map(Zeroizing::new)
        .map_err(|e| ServerError::Storage(format!("{}: {e}", path.display())))
}

impl ServerFiles {
    pub fn load(root: &Path) -> Result<Self, ServerError> {
        let layout = Layout::new(root);
        let device_ca = CertificateAuthority::load(
            DEVICE_CA_NAME,
            &read(&layout.key("device-ca.key"))?,
            read(&layout.key("device-ca.der"))?.to_vec(),
        )?;
        let tls = current_tls_stem(&layout)?;
        let server_chain = vec![CertificateDer::from(
            read(&layout.key(&format!("{tls}.der")))?.to_vec(),
        )];
        let server_key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            read(&layout.key(&format!("{tls}.key")))?.to_vec(),
        ));
        let mut sealing_keys = Vec::new();
        for entry in fs::read_dir(layout.key(""))? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if let Some(id) = name
                .strip_prefix("sealing-")
                .and_then(|n| n.strip_suffix(".key"))
            {
                sealing_keys.push(SealingKeyPair::from_secret_bytes(
                    id,
                    &read(&layout.key(&name))?,
                )?);
            }
        }
        let current = current_sealing_id(&layout)?;
        let sealing = sealing_keys
            .iter()
            .find(|k| k.key_id() == current)
            .map(|k| SealingKeyPair::from_secret_bytes(k.key_id(), k.secret_bytes().as_ref()))
            .ok_or_else(|| ServerError::Storage(format!("sealing key {current} is missing")))??;
        let receipt_key = ServerSigningKey::from_pkcs8(
            RECEIPT_KEY_ID,
            &read(&layout.key(&format!("receipt-{RECEIPT_KEY_ID}.key")))?,
        )?;
        Ok(Self {
            device_ca,
            server_chain,
            server_key,
            sealing,
            sealing_keys,
            receipt_key,
        })
    }
}
