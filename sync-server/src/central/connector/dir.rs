//! The folder connector: each case becomes `<drop_dir>/<envelope_id>/` with `case.json` and its
//! files. The folder is written as `.tmp-<envelope_id>`, every file and the folder fsynced, then
//! renamed into place and the drop folder fsynced: an importer sees a whole case or nothing,
//! even across a power cut. A folder already in place means delivered (idempotent).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Connector, Delivery, DeliveryFuture};
use crate::central::CentralError;
use crate::central::config::CentralConfig;
use crate::central::package::CasePackage;

pub struct DirConnector {
    drop_dir: PathBuf,
}

/// Envelope ids come from tablets: only plain names ever become a folder.
fn safe_name(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

fn sync_dir(path: &Path) -> std::io::Result<()> {
    File::open(path)?.sync_all()
}

/// Files readable by the owner and the group (the importer's), no one else: they hold
/// personal data.
fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o640)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

impl DirConnector {
    pub fn from_config(config: &CentralConfig) -> Result<Self, CentralError> {
        let drop_dir = config
            .drop_dir
            .clone()
            .ok_or_else(|| CentralError::Config("connector = \"dir\" needs drop_dir".into()))?;
        if !drop_dir.is_dir() {
            return Err(CentralError::Config(format!(
                "drop_dir {} is not a directory",
                drop_dir.display()
            )));
        }
        Ok(Self { drop_dir })
    }
}

/// Write the case folder; `Ok(false)` when it was already there.
fn write(drop_dir: &Path, package: &CasePackage) -> Result<bool, String> {
    let id = &package.document.envelope_id;
    let target = drop_dir.join(id);
    if target.exists() {
        return Ok(false);
    }
    let temporary = drop_dir.join(format!(".tmp-{id}"));
    // A crash mid-write leaves a partial folder under the temporary name: start again.
    if temporary.exists() {
        fs::remove_dir_all(&temporary).map_err(|e| format!("clearing {id}: {e}"))?;
    }
    let io = |e: std::io::Error| format!("writing {id}: {e}");
    fs::DirBuilder::new()
        .mode(0o750)
        .create(&temporary)
        .map_err(io)?;
    for (file, bytes) in package.files.iter().zip(&package.contents) {
        write_file(&temporary.join(&file.name), bytes).map_err(io)?;
    }
    let json = package.to_json(false).map_err(|e| e.to_string())?;
    write_file(&temporary.join("case.json"), &json).map_err(io)?;
    sync_dir(&temporary).map_err(io)?;
    fs::rename(&temporary, &target).map_err(io)?;
    sync_dir(drop_dir).map_err(io)?;
    Ok(true)
}

impl Connector for DirConnector {
    fn name(&self) -> &'static str {
        "dir"
    }

    fn deliver(&self, package: Arc<CasePackage>) -> DeliveryFuture<'_> {
        let drop_dir = self.drop_dir.clone();
        Box::pin(async move {
            if !safe_name(&package.document.envelope_id) {
                return Delivery::permanent("the envelope id cannot be a folder name");
            }
            // Blocking file I/O and fsyncs: off the async threads.
            let written = tokio::task::spawn_blocking(move || write(&drop_dir, &package)).await;
            match written {
                Ok(Ok(_)) => Delivery::Delivered {
                    central_number: None,
                },
                Ok(Err(error)) => Delivery::retry(error),
                Err(e) => Delivery::retry(format!("the writing task failed: {e}")),
            }
        })
    }
}
