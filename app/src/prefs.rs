//! How this tablet's screens look: language, text size, contrast, auto-lock. Kept in a small
//! file beside the vault because the unlock screen needs them before any key is there; they
//! hold no personal data.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::i18n::Lang;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Prefs {
    pub language: Lang,
    /// 0 normal, 1 large, 2 largest.
    pub text_size: u8,
    pub high_contrast: bool,
    pub autolock_minutes: u32,
}

impl Default for Prefs {
    fn default() -> Self {
        Self {
            language: Lang::Uk,
            text_size: 0,
            high_contrast: false,
            autolock_minutes: 5,
        }
    }
}

impl Prefs {
    pub fn text_scale(&self) -> f32 {
        match self.text_size {
            0 => 1.0,
            1 => 1.2,
            _ => 1.4,
        }
    }

    fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("prefs.json")
    }

    /// A missing or unreadable file gives the defaults (Ukrainian, normal text).
    pub fn load(data_dir: &Path) -> Self {
        std::fs::read(Self::path(data_dir))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Written to a temporary file and renamed, so a power cut leaves the old or the new file.
    pub fn save(&self, data_dir: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        let temporary = data_dir.join("prefs.json.tmp");
        std::fs::write(&temporary, bytes)?;
        std::fs::File::open(&temporary)?.sync_all()?;
        std::fs::rename(temporary, Self::path(data_dir))
    }
}
