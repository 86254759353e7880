//! The HMAC scheme both directions share: `X-Fieldkit-Signature: sha256=<hex>` over
//! `<X-Fieldkit-Timestamp> "." <body>`. The timestamp inside the MAC stops an old request from
//! being replayed with a fresh timestamp; the body's own id (envelope or event) stops a replay
//! inside the time window.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use ring::hmac;
use zeroize::Zeroizing;

use super::CentralError;

pub const TIMESTAMP_HEADER: &str = "X-Fieldkit-Timestamp";
pub const SIGNATURE_HEADER: &str = "X-Fieldkit-Signature";
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// How far a signed timestamp may be from our clock, either way.
pub const MAX_SKEW_SECONDS: i64 = 300;

/// Shorter secrets are refused: 32 bytes is HMAC-SHA256's own strength.
const MIN_SECRET_BYTES: usize = 32;

/// Read a shared secret from `path`: the file's bytes without trailing whitespace (so
/// `echo`-made files work). A file others may read is refused: the secret would not be one.
pub fn read_secret(path: &Path) -> Result<Zeroizing<Vec<u8>>, CentralError> {
    let fail = |reason: String| CentralError::KeyFile {
        path: path.to_owned(),
        reason,
    };
    let mut file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let mode = file
        .metadata()
        .map_err(|e| fail(e.to_string()))?
        .permissions()
        .mode();
    if mode & 0o007 != 0 {
        return Err(fail(format!(
            "readable by everyone (mode {:o}); chmod 600 or 640",
            mode & 0o777
        )));
    }
    let mut bytes = Zeroizing::new(Vec::new());
    file.read_to_end(&mut bytes)
        .map_err(|e| fail(e.to_string()))?;
    let length = bytes.trim_ascii_end().len();
    bytes.truncate(length);
    if bytes.len() < MIN_SECRET_BYTES {
        return Err(fail(format!(
            "the secret has {} bytes; at least {MIN_SECRET_BYTES} are needed",
            bytes.len()
        )));
    }
    Ok(bytes)
}

/// An HMAC-SHA256 key from a secret file.
pub fn key_from_file(path: &Path) -> Result<hmac::Key, CentralError> {
    let secret = read_secret(path)?;
    Ok(hmac::Key::new(hmac::HMAC_SHA256, &secret))
}

fn signed_bytes(timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(timestamp.len() + 1 + body.len());
    message.extend_from_slice(timestamp.as_bytes());
    message.push(b'.');
    message.extend_from_slice(body);
    message
}

/// The `X-Fieldkit-Signature` value for `body` sent at `timestamp` (Unix seconds).
pub fn sign(key: &hmac::Key, timestamp: i64, body: &[u8]) -> String {
    let tag = hmac::sign(key, &signed_bytes(&timestamp.to_string(), body));
    format!("sha256={}", hex::encode(tag.as_ref()))
}

/// Why a signed request was not believed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureProblem {
    #[error("X-Fieldkit-Timestamp is missing or not Unix seconds")]
    BadTimestamp,
    #[error("X-Fieldkit-Timestamp is more than {MAX_SKEW_SECONDS} seconds from the server's clock")]
    StaleTimestamp,
    #[error("X-Fieldkit-Signature is missing or does not match the body")]
    BadSignature,
}

/// Check a request's timestamp against `now` and its signature against `body`, in constant time.
pub fn verify(
    key: &hmac::Key,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureProblem> {
    let timestamp = timestamp.ok_or(SignatureProblem::BadTimestamp)?;
    let seconds: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureProblem::BadTimestamp)?;
    if seconds.abs_diff(now) > MAX_SKEW_SECONDS.unsigned_abs() {
        return Err(SignatureProblem::StaleTimestamp);
    }
    let tag = signature
        .and_then(|s| s.trim().strip_prefix("sha256="))
        .and_then(|h| hex::decode(h).ok())
        .ok_or(SignatureProblem::BadSignature)?;
    hmac::verify(key, &signed_bytes(timestamp.trim(), body), &tag)
        .map_err(|_| SignatureProblem::BadSignature)
}
