//! Where the app keeps its data and finds its assets, scanner, printer and mail server.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fieldkit_receipt::mail::MailSettings;
use fieldkit_vault::Clock;

/// The SANE scanner to use.
#[derive(Debug, Clone)]
pub struct ScannerConfig {
    pub program: String,
    /// A SANE device name; `None` takes the first one found.
    pub device: Option<String>,
    /// Extra environment for `scanimage` (e.g. `SANE_CONFIG_DIR` for the test backend).
    pub env: Vec<(String, String)>,
    pub resolution_dpi: u32,
    /// Backend-specific `scanimage` options (e.g. the test backend's `--test-picture=Grid`).
    pub options: Vec<String>,
    /// At most this many pages from the feeder at a time.
    pub max_pages: Option<u32>,
}

impl Default for ScannerConfig {
    fn default() -> Self {
        Self {
            program: "scanimage".into(),
            device: None,
            env: Vec::new(),
            resolution_dpi: 300,
            options: Vec::new(),
            max_pages: Some(50),
        }
    }
}

pub use fieldkit_vault::SystemClock;

/// The monotonic clock that measures idle time for auto-lock and the wait after wrong
/// passphrases: `Instant::now` on the tablet; a test passes a clock it moves by hand.
pub type MonotonicClock = Arc<dyn Fn() -> Instant + Send + Sync>;

pub struct AppConfig {
    /// The vault and the screen preferences live here (on the encrypted partition).
    pub data_dir: PathBuf,
    /// Catalog, calendar and fonts.
    pub assets_dir: PathBuf,
    pub scanner: ScannerConfig,
    /// The CUPS queue for receipts.
    pub printer: String,
    pub mail: Option<MailSettings>,
    /// The server CA the tablet pins at enrollment (DER), when provisioned with the image.
    pub server_ca: Option<Vec<u8>>,
    /// How often the background sync runs when nothing asks for it sooner.
    pub sync_interval: Duration,
    pub clock: Arc<dyn Clock>,
    pub monotonic_clock: MonotonicClock,
}

impl AppConfig {
    pub fn new(data_dir: PathBuf, assets_dir: PathBuf) -> Self {
        Self {
            data_dir,
            assets_dir,
            scanner: ScannerConfig::default(),
            printer: "fieldkit".into(),
            mail: None,
            server_ca: None,
            sync_interval: Duration::from_secs(60),
            clock: Arc::new(SystemClock),
            monotonic_clock: Arc::new(Instant::now),
        }
    }

    pub fn vault_path(&self) -> PathBuf {
        self.data_dir.join("vault.sqlite")
    }
}

/// The assets folder: beside the binary when installed, the repository's in development.
pub fn default_assets_dir() -> PathBuf {
    let installed = PathBuf::from("/usr/share/fieldkit");
    if installed.join("catalog/catalog.toml").exists() {
        return installed;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets")
}
