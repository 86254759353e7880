//! The enrolled tablet's client: mutual TLS to the pinned server CA, tus uploads that resume
//! from the server's offset, and the commit whose receipt is verified before it is returned.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use fieldkit_protocol::{CommitReceipt, SealedEnvelope, SignedReceipt};
use reqwest::StatusCode;
use ring::digest::{SHA256, digest};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::SyncError;

/// TLS 1.3 on ring, trusting only the server CA pinned at enrollment, with the tablet's
/// client certificate when it has one.
pub(crate) fn tls_config(
    server_ca: &[u8],
    identity: Option<(&[u8], &[u8])>,
) -> Result<rustls::ClientConfig, SyncError> {
    let setup = |e: &dyn std::fmt::Display| SyncError::Setup(e.to_string());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(server_ca.to_vec()))
        .map_err(|e| setup(&e))?;
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| setup(&e))?
        .with_root_certificates(roots);
    match identity {
        Some((certificate, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from(certificate.to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.to_vec())),
            )
            .map_err(|e| setup(&e)),
        None => Ok(builder.with_no_client_auth()),
    }
}

/// Turn a refusal into an error that carries the server's stable code.
pub(crate) async fn refused(response: reqwest::Response) -> SyncError {
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    SyncError::Refused {
        status,
        code: body["code"].as_str().unwrap_or("").to_owned(),
        message: body["message"].as_str().unwrap_or("").to_owned(),
    }
}

/// How far an envelope's upload is, for the progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadProgress {
    pub bytes_done: u64,
    pub bytes_total: u64,
}

/// An enrolled tablet's connection to its server.
pub struct SyncClient {
    http: reqwest::Client,
    server: String,
    server_ca: Vec<u8>,
    receipt_public_key: Vec<u8>,
    /// Bytes per PATCH: what a cut connection can cost at most.
    pub chunk_size: usize,
}

fn header_u64(response: &reqwest::Response, name: &str) -> Option<u64> {
    response.headers().get(name)?.to_str().ok()?.parse().ok()
}

impl SyncClient {
    pub fn new(
        server: &str,
        server_ca: &[u8],
        client_certificate: &[u8],
        tls_key_pkcs8: &[u8],
        receipt_public_key: &[u8],
    ) -> Result<Self, SyncError> {
        let config = tls_config(server_ca, Some((client_certificate, tls_key_pkcs8)))?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(config)
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(60))
            .build()?;
        Ok(Self {
            http,
            server: server.trim_end_matches('/').to_owned(),
            server_ca: server_ca.to_vec(),
            receipt_public_key: receipt_public_key.to_vec(),
            chunk_size: 1024 * 1024,
        })
    }

    async fn create_upload(&self, length: usize) -> Result<String, SyncError> {
        let response = self
            .http
            .post(format!("{}/v1/uploads", self.server))
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", length.to_string())
            .send()
            .await?;
        if response.status() != StatusCode::CREATED {
            return Err(refused(response).await);
        }
        let location = response
            .headers()
            .get("Location")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| SyncError::BadAnswer("no Location".into()))?;
        // Keep the path only: the server may come back on another address.
        Ok(location.to_owned())
    }

    /// The server's offset for an upload; `None` if it is gone (expired, terminated, unknown).
    async fn offset(&self, location: &str) -> Result<Option<u64>, SyncError> {
        let response = self
            .http
            .head(format!("{}{location}", self.server))
            .header("Tus-Resumable", "1.0.0")
            .send()
            .await?;
        match response.status() {
            StatusCode::OK => Ok(header_u64(&response, "Upload-Offset")),
            StatusCode::NOT_FOUND | StatusCode::GONE => Ok(None),
            _ => Err(refused(response).await),
        }
    }

    /// Upload one part, resuming at the server's offset if `location` holds an earlier upload.
    async fn upload_part(
        &self,
        part: &[u8],
        location: &mut Option<String>,
        done_before: u64,
        total: u64,
        progress: &mut (dyn FnMut(UploadProgress) + Send),
        stop: &(dyn Fn() -> bool + Sync),
    ) -> Result<(), SyncError> {
        if stop() {
            return Err(SyncError::Stopped);
        }
        let mut offset = match location.as_deref() {
            Some(url) => self.offset(url).await?,
            None => None,
        };
        if offset.is_none() {
            *location = Some(self.create_upload(part.len()).await?);
            offset = Some(0);
        }
        let path = location.clone().unwrap_or_default();
        let url = format!("{}{path}", self.server);
        let mut offset = offset.unwrap_or(0) as usize;
        while offset < part.len() {
            // Between chunks, never within one: what the server acknowledged stays acknowledged.
            if stop() {
                return Err(SyncError::Stopped);
            }
            let chunk = &part[offset..(offset + self.chunk_size).min(part.len())];
            let checksum = format!(
                "sha256 {}",
                base64::engine::general_purpose::STANDARD.encode(digest(&SHA256, chunk))
            );
            let response = self
                .http
                .patch(&url)
                .header("Tus-Resumable", "1.0.0")
                .header("Content-Type", "application/offset+octet-stream")
                .header("Upload-Offset", offset.to_string())
                .header("Upload-Checksum", checksum)
                .body(chunk.to_vec())
                .send()
                .await?;
            match response.status() {
                StatusCode::NO_CONTENT => {
                    offset = header_u64(&response, "Upload-Offset")
                        .ok_or_else(|| SyncError::BadAnswer("no Upload-Offset".into()))?
                        as usize;
                }
                // The server has more (or less) than we thought: ask where it is.
                StatusCode::CONFLICT => {
                    offset = self
                        .offset(&path)
                        .await?
                        .ok_or_else(|| SyncError::Offline("upload gone".into()))?
                        as usize;
                }
                // Damaged on the way: the server discarded it; send it again.
                status if status.as_u16() == 460 => continue,
                _ => return Err(refused(response).await),
            }
            progress(UploadProgress {
                bytes_done: done_before + offset as u64,
                bytes_total: total,
            });
        }
        Ok(())
    }

    /// Upload every part of `envelope` and commit it. `locations` keeps each part's upload path
    /// between calls (persist it), so a later call resumes instead of starting over.
    /// Returns the receipt only after its signature and content have been checked.
    pub async fn upload_envelope(
        &self,
        envelope_id: &str,
        envelope: &SealedEnvelope,
        locations: &mut BTreeMap<usize, String>,
        progress: &mut (dyn FnMut(UploadProgress) + Send),
    ) -> Result<(SignedReceipt, CommitReceipt), SyncError> {
        self.upload_envelope_until(envelope_id, envelope, locations, progress, &|| false)
            .await
    }

    /// As [`SyncClient::upload_envelope`], asking `stop` before each chunk and before the
    /// commit: once it says yes the upload ends with [`SyncError::Stopped`], `locations` keeps
    /// where each part's upload is, and a later call resumes from the server's offset. The
    /// tablet stops this way when it locks, so its background sync lets go of the vault.
    pub async fn upload_envelope_until(
        &self,
        envelope_id: &str,
        envelope: &SealedEnvelope,
        locations: &mut BTreeMap<usize, String>,
        progress: &mut (dyn FnMut(UploadProgress) + Send),
        stop: &(dyn Fn() -> bool + Sync),
    ) -> Result<(SignedReceipt, CommitReceipt), SyncError> {
        let total: u64 = envelope.parts.iter().map(|p| p.len() as u64).sum();
        let mut done = 0u64;
        for (index, part) in envelope.parts.iter().enumerate() {
            let mut location = locations.get(&index).cloned();
            let result = self
                .upload_part(part, &mut location, done, total, progress, stop)
                .await;
            if let Some(url) = location {
                locations.insert(index, url);
            }
            result?;
            done += part.len() as u64;
        }
        if stop() {
            return Err(SyncError::Stopped);
        }
        let body = serde_json::json!({
            "manifest": base64::engine::general_purpose::STANDARD.encode(&envelope.manifest_bytes),
            "signature": base64::engine::general_purpose::STANDARD.encode(&envelope.signature),
        });
        let response = self
            .http
            .put(format!("{}/v1/envelopes/{envelope_id}", self.server))
            .json(&body)
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(refused(response).await);
        }
        let signed: SignedReceipt = response
            .json()
            .await
            .map_err(|e| SyncError::BadAnswer(e.to_string()))?;
        let receipt = signed
            .verify(&self.receipt_public_key)
            .map_err(|e| SyncError::BadAnswer(e.to_string()))?;
        let manifest_sha256 = hex::encode(digest(&SHA256, &envelope.manifest_bytes));
        if receipt.envelope_id != envelope_id || receipt.manifest_sha256 != manifest_sha256 {
            return Err(SyncError::BadAnswer(
                "the receipt is for another envelope".into(),
            ));
        }
        Ok((signed, receipt))
    }
}

/// One status change of a case, as the server's feed reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct StatusEvent {
    pub cursor: i64,
    pub case_number: String,
    pub status: String,
    pub at: i64,
    /// The back-office's reason for a returned case (shown to the administrator).
    #[serde(default)]
    pub detail: Option<String>,
}

#[derive(serde::Deserialize)]
struct StatusFeed {
    events: Vec<StatusEvent>,
    next: i64,
}

impl SyncClient {
    /// Status changes of this tablet's cases after `since`; returns them and the next cursor.
    pub async fn status(&self, since: i64) -> Result<(Vec<StatusEvent>, i64), SyncError> {
        let response = self
            .http
            .get(format!("{}/v1/status?since={since}", self.server))
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(refused(response).await);
        }
        let feed: StatusFeed = response
            .json()
            .await
            .map_err(|e| SyncError::BadAnswer(e.to_string()))?;
        Ok((feed.events, feed.next))
    }
}

impl SyncClient {
    /// Report the tablet's counts and audit-chain head. A 409 `audit_rollback` means the server
    /// saw a later head before: this vault was cut or restored from an old copy.
    pub async fn report(&self, report: &fieldkit_protocol::DeviceReport) -> Result<(), SyncError> {
        let response = self
            .http
            .post(format!("{}/v1/report", self.server))
            .json(report)
            .send()
            .await?;
        if response.status() != StatusCode::NO_CONTENT {
            return Err(refused(response).await);
        }
        Ok(())
    }
}

/// A newer service catalog from the server, with its upload limit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct CatalogUpdate {
    pub version: u64,
    /// The catalog file, to be read with `fieldkit_domain::catalog::Catalog::from_toml_str`.
    pub catalog: String,
    pub max_upload_bytes: u64,
}

#[derive(serde::Deserialize)]
struct CommandFeed {
    commands: Vec<String>,
}

impl SyncClient {
    /// The latest catalog if newer than `since`.
    pub async fn catalog(&self, since: u64) -> Result<Option<CatalogUpdate>, SyncError> {
        let response = self
            .http
            .get(format!("{}/v1/catalog?since={since}", self.server))
            .send()
            .await?;
        match response.status() {
            StatusCode::NO_CONTENT => Ok(None),
            StatusCode::OK => Ok(Some(
                response
                    .json()
                    .await
                    .map_err(|e| SyncError::BadAnswer(e.to_string()))?,
            )),
            _ => Err(refused(response).await),
        }
    }

    /// Commands for this tablet (such as "wipe"); each is handed over once.
    pub async fn commands(&self) -> Result<Vec<String>, SyncError> {
        let response = self
            .http
            .get(format!("{}/v1/commands", self.server))
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(refused(response).await);
        }
        let feed: CommandFeed = response
            .json()
            .await
            .map_err(|e| SyncError::BadAnswer(e.to_string()))?;
        Ok(feed.commands)
    }
}

#[derive(serde::Deserialize)]
struct VisitFeed {
    visits: Vec<serde_json::Value>,
    next: i64,
}

impl SyncClient {
    /// Visits planned for this tablet after `since` (as JSON objects), and the next cursor.
    pub async fn visits(&self, since: i64) -> Result<(Vec<serde_json::Value>, i64), SyncError> {
        let response = self
            .http
            .get(format!("{}/v1/visits?since={since}", self.server))
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(refused(response).await);
        }
        let feed: VisitFeed = response
            .json()
            .await
            .map_err(|e| SyncError::BadAnswer(e.to_string()))?;
        Ok((feed.visits, feed.next))
    }
}

#[derive(serde::Deserialize)]
struct KeysFeed {
    sealing_key_id: String,
    sealing_public_key: String,
    #[serde(default)]
    device_ca: String,
    /// Absent from servers without a public side (and from servers older than it).
    #[serde(default)]
    public_url: Option<String>,
}

/// What `GET /v1/keys` says, read once per sync.
#[derive(Debug, Clone)]
pub struct ServerKeys {
    /// Seal new cases to it (it changes when rotated).
    pub sealing_key: fieldkit_protocol::SealingPublicKey,
    /// SHA-256 of the device CA that issues certificates now (empty from older servers).
    pub device_ca: String,
    /// The base address of the server's public side, where applicants follow their cases
    /// (`{it}/t/{tracking code}`); `None` when the server has none.
    pub public_url: Option<String>,
}

/// A certificate renewed from the server's current device CA, with the new key it certifies.
pub struct RenewedCertificate {
    pub client_certificate: Vec<u8>,
    pub tls_key_pkcs8: zeroize::Zeroizing<Vec<u8>>,
    pub device_ca: String,
}

impl std::fmt::Debug for RenewedCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RenewedCertificate {{ device_ca: {}, key: <redacted> }}",
            self.device_ca
        )
    }
}

#[derive(serde::Deserialize)]
struct RenewResponse {
    client_certificate: String,
    device_ca: String,
}

impl SyncClient {
    /// SHA-256 of the device CA that issues certificates now: when it is not the one that
    /// issued this tablet's certificate, the tablet renews (`renew_certificate`).
    pub async fn current_device_ca(&self) -> Result<String, SyncError> {
        Ok(self.keys_feed().await?.device_ca)
    }

    /// Make a new TLS key on the tablet and have the server's current device CA certify it,
    /// asked over the current certificate. The private key never leaves the tablet; the
    /// caller stores both and uses them from the next connection on.
    pub async fn renew_certificate(&self) -> Result<RenewedCertificate, SyncError> {
        self.certify_new_key("/v1/certificate").await
    }

    /// A new key and a certificate for it that the server takes for the command feed only
    /// (and for nothing else): the tablet keeps the pair outside its vault, so that while it is
    /// locked it can still pick up a wipe. It replaces the tablet's earlier one.
    pub async fn command_certificate(&self) -> Result<RenewedCertificate, SyncError> {
        self.certify_new_key("/v1/commands/certificate").await
    }

    async fn certify_new_key(&self, path: &str) -> Result<RenewedCertificate, SyncError> {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let key = rcgen::KeyPair::generate().map_err(|e| SyncError::Setup(e.to_string()))?;
        let response = self
            .http
            .post(format!("{}{path}", self.server))
            .json(&serde_json::json!({ "tls_public_key": b64.encode(key.public_key_raw()) }))
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(refused(response).await);
        }
        let answer: RenewResponse = response
            .json()
            .await
            .map_err(|e| SyncError::BadAnswer(e.to_string()))?;
        let renewed = RenewedCertificate {
            client_certificate: b64
                .decode(&answer.client_certificate)
                .map_err(|_| SyncError::BadAnswer("client certificate".into()))?,
            tls_key_pkcs8: zeroize::Zeroizing::new(key.serialize_der()),
            device_ca: answer.device_ca,
        };
        // The pair must make a working TLS identity before the tablet relies on it.
        tls_config(
            &self.server_ca,
            Some((&renewed.client_certificate, &renewed.tls_key_pkcs8)),
        )?;
        Ok(renewed)
    }

    async fn keys_feed(&self) -> Result<KeysFeed, SyncError> {
        let response = self
            .http
            .get(format!("{}/v1/keys", self.server))
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(refused(response).await);
        }
        response
            .json()
            .await
            .map_err(|e| SyncError::BadAnswer(e.to_string()))
    }

    /// What the server says at every sync, from one request: its current sealing key, its
    /// current device CA and the address of its public side.
    pub async fn server_keys(&self) -> Result<ServerKeys, SyncError> {
        let feed = self.keys_feed().await?;
        let bytes: [u8; 32] = hex::decode(&feed.sealing_public_key)
            .ok()
            .and_then(|k| k.try_into().ok())
            .ok_or_else(|| SyncError::BadAnswer("sealing key".into()))?;
        Ok(ServerKeys {
            sealing_key: fieldkit_protocol::SealingPublicKey {
                key_id: feed.sealing_key_id,
                bytes,
            },
            device_ca: feed.device_ca,
            public_url: feed
                .public_url
                .map(|url| url.trim().to_owned())
                .filter(|url| !url.is_empty()),
        })
    }

    /// The server's current sealing key: seal new cases to it (it changes when rotated).
    pub async fn sealing_key(&self) -> Result<fieldkit_protocol::SealingPublicKey, SyncError> {
        Ok(self.server_keys().await?.sealing_key)
    }
}
