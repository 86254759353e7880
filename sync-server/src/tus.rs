//! Resumable uploads with the rules of tus 1.0.0 (core, creation, checksum, termination,
//! expiration): a chunk is accepted only at the upload's current offset, only if its checksum
//! matches (otherwise it is discarded and the offset stays), never past the declared length; the
//! new offset is durable before the caller answers 204. A finished upload becomes a
//! content-addressed blob.

use axum::http::HeaderMap;
use base64::Engine;
use ring::digest::{SHA1_FOR_LEGACY_USE_ONLY, SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};

use crate::ServerError;
use crate::store::{BlobStore, MetadataStore, Upload};

/// What the server allows.
#[derive(Debug, Clone, Copy)]
pub struct TusLimits {
    /// `Tus-Max-Size`.
    pub max_size: u64,
    /// Unfinished uploads expire this long after creation.
    pub expiry_seconds: i64,
    /// What one device may hold at once, so one tablet cannot fill the disk.
    pub quota: DeviceQuota,
}

impl Default for TusLimits {
    fn default() -> Self {
        Self {
            max_size: 64 * 1024 * 1024,
            expiry_seconds: 7 * 24 * 3600,
            quota: DeviceQuota::default(),
        }
    }
}

/// Per-device limits on uploads: checked when an upload is created, against the declared
/// lengths, so the bytes are reserved before any is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceQuota {
    /// Unfinished, unexpired uploads at once.
    pub uploads_in_flight: u64,
    /// Bytes of unexpired uploads (unfinished, or finished but in no committed envelope of
    /// this device) at once.
    pub pending_bytes: u64,
}

impl Default for DeviceQuota {
    fn default() -> Self {
        Self {
            // A case is a record, its pages and signatures, uploaded one after another; a
            // tablet that syncs a whole day's visits still has far fewer open at once.
            uploads_in_flight: 64,
            // Four full-size parts (64 MiB each) waiting for their commit.
            pending_bytes: 256 * 1024 * 1024,
        }
    }
}

/// What one sweep removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Expired or terminated unfinished uploads: their partial files and rows.
    pub expired_uploads: usize,
    /// Partial files no upload row names (left by a crash between the two deletions).
    pub orphaned_partials: usize,
}

/// How often the sweeper looks for expired uploads.
pub const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// Sweep expired uploads now and every [`SWEEP_EVERY`], for as long as the runtime runs.
pub fn spawn_sweeper(
    meta: std::sync::Arc<dyn MetadataStore>,
    blobs: std::sync::Arc<dyn BlobStore>,
    clock: fn() -> i64,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(SWEEP_EVERY);
        loop {
            ticks.tick().await;
            let (meta, blobs) = (meta.clone(), blobs.clone());
            // Files and SQLite block: off the async workers.
            let swept = tokio::task::spawn_blocking(move || {
                sweep_expired(meta.as_ref(), blobs.as_ref(), clock())
            })
            .await;
            match swept {
                Ok(Ok(swept)) if swept != Swept::default() => tracing::info!(
                    expired_uploads = swept.expired_uploads,
                    orphaned_partials = swept.orphaned_partials,
                    "swept expired uploads"
                ),
                Ok(Ok(_)) => {}
                Ok(Err(error)) => tracing::warn!(%error, "sweeping expired uploads failed"),
                Err(error) => tracing::warn!(%error, "the upload sweeper stopped"),
            }
        }
    })
}

/// Delete expired unfinished uploads (partial file, then row) and partial files of uploads
/// that no longer exist.
pub fn sweep_expired(
    meta: &dyn MetadataStore,
    blobs: &dyn BlobStore,
    now: i64,
) -> Result<Swept, ServerError> {
    let mut swept = Swept::default();
    for upload_id in meta.expired_partial_uploads(now)? {
        // The file first: a crash after it leaves a row the next sweep removes.
        blobs.remove_partial(&upload_id)?;
        meta.delete_upload(&upload_id)?;
        swept.expired_uploads += 1;
    }
    for upload_id in blobs.partial_uploads()? {
        if matches!(meta.upload(&upload_id), Err(ServerError::NotFound)) {
            blobs.remove_partial(&upload_id)?;
            swept.orphaned_partials += 1;
        }
    }
    Ok(swept)
}

/// The checksum algorithms advertised in `Tus-Checksum-Algorithm`.
pub const CHECKSUM_ALGORITHMS: &str = "sha1,sha256";

/// Uploads over the two stores.
pub struct Uploads<'a> {
    pub meta: &'a dyn MetadataStore,
    pub blobs: &'a dyn BlobStore,
    pub limits: TusLimits,
}

/// Check the `Tus-Resumable` header of a request: tus 1.0.0 is the one version spoken. Pub so
/// the fuzz targets (tests/fuzz) reach it with headers a client could send.
pub fn require_tus(headers: &HeaderMap) -> Result<(), ServerError> {
    match headers.get("Tus-Resumable").and_then(|v| v.to_str().ok()) {
        Some("1.0.0") => Ok(()),
        _ => Err(ServerError::TusVersion),
    }
}

/// Read a numeric tus header (`Upload-Length`, `Upload-Offset`): tus makes them `1*DIGIT`.
/// Rust's `u64::from_str` also takes a leading `+`, which tus (and our OpenAPI document) does
/// not; refused here, so the server answers what it documents. Pub for the fuzz targets.
pub fn header_u64(headers: &HeaderMap, name: &'static str) -> Result<u64, ServerError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse().ok())
        .ok_or(ServerError::Mismatch(
            "a required tus header is missing or not a number",
        ))
}

/// Check an `Upload-Checksum` header value ("sha256 <base64>") against a chunk. Pub for the
/// fuzz targets.
pub fn check_checksum(header: &str, chunk: &[u8]) -> Result<(), ServerError> {
    let (algorithm, encoded) = header
        .trim()
        .split_once(' ')
        .ok_or(ServerError::UnsupportedChecksum(header.into()))?;
    let expected = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| ServerError::ChecksumMismatch)?;
    let actual = match algorithm {
        // tus makes sha1 the one every server must accept; it only guards against transfer
        // errors here, the content address is SHA-256.
        "sha1" => digest(&SHA1_FOR_LEGACY_USE_ONLY, chunk),
        "sha256" => digest(&SHA256, chunk),
        other => return Err(ServerError::UnsupportedChecksum(other.into())),
    };
    if actual.as_ref() == expected.as_slice() {
        Ok(())
    } else {
        Err(ServerError::ChecksumMismatch)
    }
}

impl Uploads<'_> {
    fn live_upload(
        &self,
        upload_id: &str,
        device_id: &str,
        now: i64,
    ) -> Result<Upload, ServerError> {
        let upload = self.meta.upload(upload_id)?;
        // Another device's upload does not exist as far as this one is concerned.
        if upload.device_id != device_id {
            return Err(ServerError::NotFound);
        }
        if upload.terminated || (upload.blob.is_none() && now >= upload.expires_at) {
            return Err(ServerError::Gone);
        }
        Ok(upload)
    }

    /// POST: create an upload of `length` bytes for `device_id`.
    pub fn create(&self, device_id: &str, length: u64, now: i64) -> Result<Upload, ServerError> {
        if length > self.limits.max_size {
            return Err(ServerError::TooLarge);
        }
        let mut id = [0u8; 16];
        SystemRandom::new()
            .fill(&mut id)
            .map_err(|_| ServerError::Storage("random".into()))?;
        let upload = Upload {
            upload_id: hex::encode(id),
            device_id: device_id.to_owned(),
            length,
            offset: 0,
            expires_at: now + self.limits.expiry_seconds,
            terminated: false,
            blob: None,
        };
        self.meta
            .create_upload_within(&upload, &self.limits.quota, now)?;
        Ok(upload)
    }

    /// HEAD: where the upload stands.
    pub fn status(
        &self,
        upload_id: &str,
        device_id: &str,
        now: i64,
    ) -> Result<Upload, ServerError> {
        self.live_upload(upload_id, device_id, now)
    }

    /// PATCH: append `chunk` at `offset`; returns the upload after it.
    pub fn append(
        &self,
        upload_id: &str,
        device_id: &str,
        offset: u64,
        chunk: &[u8],
        checksum: Option<&str>,
        now: i64,
    ) -> Result<Upload, ServerError> {
        let mut upload = self.live_upload(upload_id, device_id, now)?;
        if offset != upload.offset {
            return Err(ServerError::WrongOffset {
                expected: upload.offset,
            });
        }
        let end = offset
            .checked_add(chunk.len() as u64)
            .ok_or(ServerError::TooLarge)?;
        if end > upload.length {
            return Err(ServerError::TooLarge);
        }
        if let Some(header) = checksum {
            check_checksum(header, chunk)?;
        }
        self.blobs.append_partial(upload_id, offset, chunk)?;
        if !self.meta.advance_upload(upload_id, offset, end)? {
            // Someone else moved the offset meanwhile: report where it is now.
            let current = self.meta.upload(upload_id)?.offset;
            return Err(ServerError::WrongOffset { expected: current });
        }
        upload.offset = end;
        if end == upload.length {
            let blob = self.blobs.finish_partial(upload_id)?;
            self.meta.complete_upload(upload_id, &blob)?;
            upload.blob = Some(blob);
        }
        Ok(upload)
    }

    /// DELETE: terminate; later requests get 410.
    pub fn terminate(&self, upload_id: &str, device_id: &str, now: i64) -> Result<(), ServerError> {
        self.live_upload(upload_id, device_id, now)?;
        self.meta.terminate_upload(upload_id)?;
        self.blobs.remove_partial(upload_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn offset(value: &'static str) -> Result<u64, ServerError> {
        let mut headers = HeaderMap::new();
        headers.insert("Upload-Offset", HeaderValue::from_static(value));
        header_u64(&headers, "Upload-Offset")
    }

    /// Found by fuzzing (tests/fuzz, target tus_headers): `+096` was read as 96.
    #[test]
    fn upload_offset_is_digits_only() {
        assert_eq!(offset("1024").ok(), Some(1024));
        assert_eq!(offset("007").ok(), Some(7));
        for refused in [
            "+096",
            "-1",
            "",
            "1e3",
            "0x10",
            "1 024",
            "18446744073709551616",
        ] {
            assert!(offset(refused).is_err(), "{refused:?} was read");
        }
    }
}
