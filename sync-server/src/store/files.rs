//! Blobs as files named by their SHA-256, written durably: data is fsynced before a rename makes
//! it visible, and the directory is fsynced after, so a blob either exists whole or not at all.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use ring::digest::{Context, SHA256};

use super::BlobStore;
use crate::ServerError;

/// Blobs under `root/blobs/ab/abcdef…`, uploads in progress under `root/partial/`.
pub struct FileBlobStore {
    root: PathBuf,
}

fn is_hex(id: &str, len: usize) -> bool {
    id.len() == len
        && id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

fn sync_dir(path: &Path) -> Result<(), ServerError> {
    File::open(path)?.sync_all()?;
    Ok(())
}

impl FileBlobStore {
    pub fn open(root: &Path) -> Result<Self, ServerError> {
        fs::create_dir_all(root.join("blobs"))?;
        fs::create_dir_all(root.join("partial"))?;
        Ok(Self {
            root: root.to_owned(),
        })
    }

    fn blob_path(&self, sha256: &str) -> Result<PathBuf, ServerError> {
        if !is_hex(sha256, 64) {
            return Err(ServerError::NotFound);
        }
        Ok(self.root.join("blobs").join(&sha256[..2]).join(sha256))
    }

    fn partial_path(&self, upload_id: &str) -> Result<PathBuf, ServerError> {
        // Upload ids are ours (32 hex characters); anything else never reaches the disk.
        if !is_hex(upload_id, 32) {
            return Err(ServerError::NotFound);
        }
        Ok(self.root.join("partial").join(upload_id))
    }
}

impl BlobStore for FileBlobStore {
    fn partial_uploads(&self) -> Result<Vec<String>, ServerError> {
        let mut ids = Vec::new();
        for entry in fs::read_dir(self.root.join("partial"))? {
            let name = entry?.file_name();
            // Only names an upload could have; anything else is not ours to delete.
            if let Some(name) = name.to_str().filter(|n| is_hex(n, 32)) {
                ids.push(name.to_owned());
            }
        }
        Ok(ids)
    }

    fn contains(&self, sha256: &str) -> Result<bool, ServerError> {
        Ok(self.blob_path(sha256).map(|p| p.exists()).unwrap_or(false))
    }

    fn size(&self, sha256: &str) -> Result<Option<u64>, ServerError> {
        let Ok(path) = self.blob_path(sha256) else {
            return Ok(None);
        };
        match fs::metadata(path) {
            Ok(meta) => Ok(Some(meta.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn get(&self, sha256: &str) -> Result<Vec<u8>, ServerError> {
        fs::read(self.blob_path(sha256)?).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ServerError::NotFound,
            _ => e.into(),
        })
    }

    fn append_partial(
        &self,
        upload_id: &str,
        offset: u64,
        chunk: &[u8],
    ) -> Result<u64, ServerError> {
        let path = self.partial_path(upload_id)?;
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        // Bytes past the recorded offset were written before a crash and never acknowledged.
        file.set_len(offset)?;
        file.seek(SeekFrom::Start(offset))?;
        file.write_all(chunk)?;
        file.sync_data()?;
        if offset == 0 {
            sync_dir(&self.root.join("partial"))?;
        }
        Ok(offset + chunk.len() as u64)
    }

    fn truncate_partial(&self, upload_id: &str, length: u64) -> Result<(), ServerError> {
        let file = OpenOptions::new()
            .write(true)
            .open(self.partial_path(upload_id)?)?;
        file.set_len(length)?;
        file.sync_data()?;
        Ok(())
    }

    fn finish_partial(&self, upload_id: &str) -> Result<String, ServerError> {
        let path = self.partial_path(upload_id)?;
        let mut file = File::open(&path)?;
        let mut context = Context::new(&SHA256);
        let mut buffer = vec![0u8; 1 << 20];
        loop {
            let read = file.read(&mut buffer)?;
            if read == 0 {
                break;
            }
            context.update(&buffer[..read]);
        }
        let sha256 = hex::encode(context.finish());
        let target = self.blob_path(&sha256)?;
        if target.exists() {
            // Content-addressed: the same bytes are already stored.
            fs::remove_file(&path)?;
            return Ok(sha256);
        }
        let folder = target.parent().ok_or(ServerError::NotFound)?;
        fs::create_dir_all(folder)?;
        fs::rename(&path, &target)?;
        sync_dir(folder)?;
        sync_dir(&self.root.join("partial"))?;
        Ok(sha256)
    }

    fn remove_partial(&self, upload_id: &str) -> Result<(), ServerError> {
        match fs::remove_file(self.partial_path(upload_id)?) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
