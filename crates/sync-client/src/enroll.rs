//! Enrollment: make the tablet's keys, present the one-time code, receive the client
//! certificate, the server's sealing key and its receipt key.

use std::sync::Arc;

use base64::Engine;
use fieldkit_protocol::{DeviceSigningKey, SealingPublicKey};
use ring::rand::SystemRandom;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::SyncError;
use crate::client::{refused, tls_config};

/// What the tablet keeps (in its vault) after enrolling.
pub struct Enrollment {
    pub device_id: String,
    /// Ed25519 key that signs manifests (PKCS#8).
    pub signing_key_pkcs8: Zeroizing<Vec<u8>>,
    /// P-256 key of the client certificate (PKCS#8).
    pub tls_key_pkcs8: Zeroizing<Vec<u8>>,
    pub client_certificate: Vec<u8>,
    pub sealing_key: SealingPublicKey,
    pub receipt_public_key: Vec<u8>,
    /// SHA-256 of the device CA that issued the certificate (empty from an older server).
    pub device_ca: String,
}

impl std::fmt::Debug for Enrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Enrollment {{ device_id: {}, keys: <redacted> }}",
            self.device_id
        )
    }
}

#[derive(Deserialize)]
struct EnrollResponse {
    device_id: String,
    client_certificate: String,
    sealing_key_id: String,
    sealing_public_key: String,
    receipt_public_key: String,
    #[serde(default)]
    device_ca: String,
}

fn bad(what: &str) -> SyncError {
    SyncError::BadAnswer(what.to_owned())
}

/// Enroll at `server` (e.g. `https://sync.example.ua:8443`), trusting only `server_ca`.
pub async fn enroll(
    server: &str,
    server_ca: &[u8],
    code: &str,
    device_id: &str,
) -> Result<Enrollment, SyncError> {
    let signing = DeviceSigningKey::generate(device_id, &SystemRandom::new())
        .map_err(|e| SyncError::Setup(e.to_string()))?;
    let tls_key = rcgen::KeyPair::generate().map_err(|e| SyncError::Setup(e.to_string()))?;
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config(server_ca, None)?)
        .timeout(std::time::Duration::from_secs(30))
        .build()?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let body = serde_json::json!({
        "code": code,
        "device_id": device_id,
        "signing_public_key": hex::encode(signing.public_key().bytes),
        "tls_public_key": b64.encode(tls_key.public_key_raw()),
    });
    let response = client
        .post(format!("{server}/v1/enroll"))
        .json(&body)
        .send()
        .await?;
    if !response.status().is_success() {
        return Err(refused(response).await);
    }
    let answer: EnrollResponse = response.json().await.map_err(|e| bad(&e.to_string()))?;
    let sealing: [u8; 32] = hex::decode(&answer.sealing_public_key)
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| bad("sealing key"))?;
    let tls_key_pkcs8 = Zeroizing::new(tls_key.serialize_der());
    let enrollment = Enrollment {
        device_id: answer.device_id,
        signing_key_pkcs8: Zeroizing::new(signing.pkcs8().to_vec()),
        tls_key_pkcs8,
        client_certificate: b64
            .decode(&answer.client_certificate)
            .map_err(|_| bad("client certificate"))?,
        sealing_key: SealingPublicKey {
            key_id: answer.sealing_key_id,
            bytes: sealing,
        },
        receipt_public_key: hex::decode(&answer.receipt_public_key)
            .map_err(|_| bad("receipt key"))?,
        device_ca: answer.device_ca,
    };
    // The certificate must work before the tablet relies on it.
    tls_config(
        server_ca,
        Some((&enrollment.client_certificate, &enrollment.tls_key_pkcs8)),
    )
    .map(Arc::new)?;
    Ok(enrollment)
}
