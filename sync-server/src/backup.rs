//! Online backup and restore of a server's data directory, consistent while tablets sync:
//! the metadata database is copied with SQLite's online backup, then the blobs. Blobs are
//! written before the commit that refers to them and never removed, so every envelope in the
//! copied database has its blobs in the copy. Unfinished uploads are not carried over: the
//! restore terminates them and tablets start those parts again.

use std::fs;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::backup::Backup;

use crate::ServerError;
use crate::setup::Layout;

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    pub blobs: usize,
    pub key_files: usize,
}

fn copy_file(from: &Path, to: &Path, mode: u32) -> Result<(), ServerError> {
    let bytes = fs::read(from)?;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(to)?;
    std::io::Write::write_all(&mut file, &bytes)?;
    file.sync_all()?;
    Ok(())
}

fn copy_tree(from: &Path, to: &Path, skip: &[&str]) -> Result<(usize, usize), ServerError> {
    fs::create_dir_all(to)?;
    fs::set_permissions(to, fs::Permissions::from_mode(0o700))?;
    let (mut files, mut keys) = (0, 0);
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if skip.iter().any(|s| name == *s) {
            continue;
        }
        let (source, target) = (entry.path(), to.join(&name));
        if entry.file_type()?.is_dir() {
            let (f, k) = copy_tree(&source, &target, &[])?;
            files += f;
            keys += k;
        } else {
            let mode = entry.metadata()?.permissions().mode() & 0o777;
            copy_file(&source, &target, mode)?;
            if source.extension().is_some_and(|e| e == "key") {
                keys += 1;
            } else {
                files += 1;
            }
        }
    }
    fs::File::open(to)?.sync_all()?;
    Ok((files, keys))
}

/// Copy the data directory `data` to the new directory `to`, while the server runs.
pub fn backup(data: &Path, to: &Path) -> Result<BackupReport, ServerError> {
    if to.exists() {
        return Err(ServerError::Conflict(format!(
            "{} exists already",
            to.display()
        )));
    }
    let (source, target) = (Layout::new(data), Layout::new(to));
    fs::create_dir_all(to)?;
    fs::set_permissions(to, fs::Permissions::from_mode(0o700))?;
    let (_, key_files) = copy_tree(&data.join("keys"), &to.join("keys"), &[])?;
    {
        let from = Connection::open(source.database())?;
        let mut into = Connection::open(target.database())?;
        let backup = Backup::new(&from, &mut into)?;
        // Small steps with pauses let the server keep writing during the copy.
        backup.run_to_completion(256, Duration::from_millis(5), None)?;
    }
    fs::set_permissions(target.database(), fs::Permissions::from_mode(0o600))?;
    let (blobs, _) = copy_tree(&source.blobs(), &target.blobs(), &["partial"])?;
    fs::create_dir_all(target.blobs().join("partial"))?;
    Ok(BackupReport { blobs, key_files })
}

/// Make the data directory `data` from the backup `from`; unfinished uploads are terminated.
pub fn restore(from: &Path, data: &Path) -> Result<BackupReport, ServerError> {
    if data.exists() {
        return Err(ServerError::Conflict(format!(
            "{} exists already",
            data.display()
        )));
    }
    let (_, key_files) = copy_tree(&from.join("keys"), &data.join("keys"), &[])?;
    fs::set_permissions(data, fs::Permissions::from_mode(0o700))?;
    let layout = Layout::new(data);
    copy_file(&Layout::new(from).database(), &layout.database(), 0o600)?;
    let (blobs, _) = copy_tree(&Layout::new(from).blobs(), &layout.blobs(), &[])?;
    Connection::open(layout.database())?
        .execute("UPDATE uploads SET terminated = 1 WHERE blob IS NULL", [])?;
    Ok(BackupReport { blobs, key_files })
}
