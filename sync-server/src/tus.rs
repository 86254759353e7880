//! Resumable uploads with the rules of tus 1.0.0 (core, creation, checksum, termination,
//! expiration): a chunk is accepted only at the upload's current offset, only if its checksum
//! matches (otherwise it is discarded and the offset stays), never past the declared length; the
//! new offset is durable before the caller answers 204. A finished upload becomes a
//! content-addressed blob.

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
}

impl Default for TusLimits {
    fn default() -> Self {
        Self {
            max_size: 64 * 1024 * 1024,
            expiry_seconds: 7 * 24 * 3600,
        }
    }
}

/// The checksum algorithms advertised in `Tus-Checksum-Algorithm`.
pub const CHECKSUM_ALGORITHMS: &str = "sha1,sha256";

/// Uploads over the two stores.
pub struct Uploads<'a> {
    pub meta: &'a dyn MetadataStore,
    pub blobs: &'a dyn BlobStore,
    pub limits: TusLimits,
}

/// Check an `Upload-Checksum` header value ("sha256 <base64>") against a chunk.
fn check_checksum(header: &str, chunk: &[u8]) -> Result<(), ServerError> {
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
        self.meta.create_upload(&upload, now)?;
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
