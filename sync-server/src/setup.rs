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
    pub fn keys(&self) -> PathBuf {
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

/// A one-time enrollment code as staff read it out or type it: 8 characters of Crockford's
/// base 32 (no I, L, O, U to confuse), in two groups, e.g. `K7Q2-99XA`.
pub fn new_enroll_code() -> Result<String, ServerError> {
    use ring::rand::SecureRandom;
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut bytes = [0u8; 8];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| ServerError::Storage("random number generator failed".into()))?;
    let chars: String = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b % 32)]))
        .collect();
    Ok(format!("{}-{}", &chars[..4], &chars[4..]))
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
    /// The device CA that issues certificates now (enrollment and renewal).
    pub device_ca: CertificateAuthority,
    /// Every device CA not retired, current included: the server accepts certificates from
    /// any of them, so tablets keep working while they renew after a rotation.
    pub trusted_device_cas: Vec<CertificateDer<'static>>,
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

const CURRENT_DEVICE_CA: &str = "device-ca-current";

/// The device CA that issues now: `device-ca` as `init` made it, or the latest `device-ca-N`.
fn current_device_ca_stem(layout: &Layout) -> Result<String, ServerError> {
    match fs::read_to_string(layout.key(CURRENT_DEVICE_CA)) {
        Ok(stem) => Ok(stem.trim().to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok("device-ca".to_owned()),
        Err(e) => Err(e.into()),
    }
}

/// The subject of a device CA generation: the first keeps the name `init` gave it.
fn device_ca_name(stem: &str) -> String {
    match stem.strip_prefix("device-ca-") {
        Some(generation) => format!("{DEVICE_CA_NAME} {generation}"),
        None => DEVICE_CA_NAME.to_owned(),
    }
}

/// Every device CA still trusted (its certificate not renamed `.retired`), oldest first.
pub fn device_ca_stems(root_layout: &Layout) -> Result<Vec<String>, ServerError> {
    let mut stems: Vec<(u32, String)> = Vec::new();
    for entry in fs::read_dir(root_layout.key(""))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if let Some(stem) = name
            .strip_suffix(".der")
            .filter(|s| s.starts_with("device-ca"))
        {
            let generation = stem
                .strip_prefix("device-ca-")
                .and_then(|g| g.parse().ok())
                .unwrap_or(1);
            stems.push((generation, stem.to_owned()));
        }
    }
    stems.sort();
    Ok(stems.into_iter().map(|(_, stem)| stem).collect())
}

/// A device CA and the SHA-256 of its certificate, as the keys feed names it.
pub struct DeviceCaInfo {
    pub stem: String,
    pub sha256: String,
    pub current: bool,
}

/// The device CAs still trusted, for the operator.
pub fn trusted_device_cas(root: &Path) -> Result<Vec<DeviceCaInfo>, ServerError> {
    let layout = Layout::new(root);
    let current = current_device_ca_stem(&layout)?;
    device_ca_stems(&layout)?
        .into_iter()
        .map(|stem| {
            let der = read(&layout.key(&format!("{stem}.der")))?;
            Ok(DeviceCaInfo {
                sha256: crate::tls::certificate_fingerprint(&der),
                current: stem == current,
                stem,
            })
        })
        .collect()
}

/// Make a new device CA and make it the one that issues. The old ones stay trusted, so every
/// tablet keeps syncing; each renews its certificate from the new CA at its next sync (the
/// keys feed names the current CA). Restart the service afterwards. Returns the new CA's stem.
pub fn rotate_device_ca(root: &Path) -> Result<String, ServerError> {
    let layout = Layout::new(root);
    let generation = (2..)
        .find(|n| {
            !layout.key(&format!("device-ca-{n}.der")).exists()
                && !layout.key(&format!("device-ca-{n}.der.retired")).exists()
        })
        .unwrap_or(2);
    let stem = format!("device-ca-{generation}");
    let ca = CertificateAuthority::generate(&device_ca_name(&stem))?;
    write_secret(&layout.key(&format!("{stem}.key")), &ca.key_pkcs8())?;
    write_public(&layout.key(&format!("{stem}.der")), ca.certificate_der())?;
    switch_pointer(&layout, CURRENT_DEVICE_CA, &stem)?;
    Ok(stem)
}

/// Stop trusting an old device CA. Refused for the current one, and while any active tablet
/// has no certificate from the current CA (`still_on_old`: their ids, from the metadata), since
/// those tablets would be cut off. The files are renamed `.retired`, not deleted.
pub fn retire_device_ca(
    root: &Path,
    stem: &str,
    still_on_old: &[String],
) -> Result<(), ServerError> {
    let layout = Layout::new(root);
    if stem == current_device_ca_stem(&layout)? {
        return Err(ServerError::Conflict(format!(
            "{stem} is the current device CA"
        )));
    }
    if !device_ca_stems(&layout)?.iter().any(|s| s == stem) {
        return Err(ServerError::Conflict(format!(
            "no trusted device CA {stem}"
        )));
    }
    if !still_on_old.is_empty() {
        return Err(ServerError::Conflict(format!(
            "these tablets have not renewed their certificate yet: {}",
            still_on_old.join(", ")
        )));
    }
    for extension in ["der", "key"] {
        let path = layout.key(&format!("{stem}.{extension}"));
        if path.exists() {
            fs::rename(&path, layout.key(&format!("{stem}.{extension}.retired")))?;
        }
    }
    fs::File::open(layout.key(""))?.sync_all()?;
    Ok(())
}

fn read(path: &Path) -> Result<Zeroizing<Vec<u8>>, ServerError> {
    fs::read(path)
        .map(Zeroizing::new)
        .map_err(|e| ServerError::Storage(format!("{}: {e}", path.display())))
}

impl ServerFiles {
    pub fn load(root: &Path) -> Result<Self, ServerError> {
        let layout = Layout::new(root);
        let current_ca = current_device_ca_stem(&layout)?;
        let device_ca = CertificateAuthority::load(
            &device_ca_name(&current_ca),
            &read(&layout.key(&format!("{current_ca}.key")))?,
            read(&layout.key(&format!("{current_ca}.der")))?.to_vec(),
        )?;
        let mut trusted_device_cas = Vec::new();
        for stem in device_ca_stems(&layout)? {
            trusted_device_cas.push(CertificateDer::from(
                read(&layout.key(&format!("{stem}.der")))?.to_vec(),
            ));
        }
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
            trusted_device_cas,
            server_chain,
            server_key,
            sealing,
            sealing_keys,
            receipt_key,
        })
    }
}
