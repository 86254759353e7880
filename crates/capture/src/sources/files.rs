//! Page files imported from a folder or a USB stick: JPEG, PNG and TIFF, in name order, each
//! decoded on its own so one bad file does not stop the others.

use std::path::{Path, PathBuf};

use crate::{CaptureError, DecodeLimits, decode_page};

/// Files larger than this are refused before they are read.
pub const MAX_FILE_BYTES: u64 = 200 * 1024 * 1024;

/// Read a page file, refusing one too large to be a page.
pub fn read_page_file(path: &Path) -> Result<Vec<u8>, CaptureError> {
    let io = |source| CaptureError::Io {
        path: path.display().to_string(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_FILE_BYTES {
        return Err(CaptureError::TooLarge {
            width: 0,
            height: 0,
            limit: DecodeLimits::default().max_side,
        });
    }
    std::fs::read(path).map_err(io)
}

fn is_page_file(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        matches!(
            e.to_ascii_lowercase().as_str(),
            "jpg" | "jpeg" | "png" | "tif" | "tiff"
        )
    })
}

/// One file found in the folder, and whether it can be a page.
#[derive(Debug)]
pub struct ImportedFile {
    pub path: PathBuf,
    pub bytes: Result<Vec<u8>, CaptureError>,
}

/// The page files of a folder in name order, each checked by decoding it.
pub fn import_folder(folder: &Path) -> Result<Vec<ImportedFile>, CaptureError> {
    let io = |source| CaptureError::Io {
        path: folder.display().to_string(),
        source,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(folder)
        .map_err(io)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file() && is_page_file(path))
        .collect();
    paths.sort();
    Ok(paths
        .into_iter()
        .map(|path| {
            let bytes = read_page_file(&path).and_then(|bytes| {
                decode_page(&bytes, DecodeLimits::default())?;
                Ok(bytes)
            });
            ImportedFile { path, bytes }
        })
        .collect())
}
