//! A scanner through SANE's `scanimage`: list devices, scan one page or a batch from the
//! document feeder, at a resolution and colour mode, as PNG files read back into memory.

use std::path::PathBuf;
use std::process::Command;

use crate::CaptureError;

/// A scanner SANE can see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannerDevice {
    /// SANE's device name, e.g. `test:0` or `epson2:libusb:001:004`.
    pub name: String,
    pub description: String,
}

/// Colour mode of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColourMode {
    Colour,
    Grey,
    BlackAndWhite,
}

impl ColourMode {
    fn sane_name(self) -> &'static str {
        match self {
            Self::Colour => "Color",
            Self::Grey => "Gray",
            Self::BlackAndWhite => "Lineart",
        }
    }
}

/// What to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanSettings {
    pub resolution_dpi: u32,
    pub mode: ColourMode,
    /// Use the automatic document feeder and scan until it is empty (or `max_pages`).
    pub feeder: bool,
    pub max_pages: Option<u32>,
    /// Device-specific options passed as they are (e.g. `--test-picture=Grid`).
    pub device_options: Vec<String>,
}

impl Default for ScanSettings {
    fn default() -> Self {
        Self {
            resolution_dpi: 300,
            mode: ColourMode::Grey,
            feeder: false,
            max_pages: None,
            device_options: Vec::new(),
        }
    }
}

/// The `scanimage` program and the environment it runs in.
#[derive(Debug, Clone)]
pub struct Scanner {
    program: PathBuf,
    env: Vec<(String, String)>,
}

impl Default for Scanner {
    fn default() -> Self {
        Self {
            program: PathBuf::from("scanimage"),
            env: Vec::new(),
        }
    }
}

impl Scanner {
    /// Use another `scanimage` (a full path, or a wrapper).
    pub fn with_program(mut self, program: &str) -> Self {
        self.program = PathBuf::from(program);
        self
    }

    /// Run scanimage with extra environment, e.g. `SANE_CONFIG_DIR` for a chosen backend list.
    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        command
    }

    fn run(&self, command: &mut Command) -> Result<Vec<u8>, CaptureError> {
        let output = command.output().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => CaptureError::NoScanner,
            _ => CaptureError::Scanner(e.to_string()),
        })?;
        if !output.status.success() {
            let message = String::from_utf8_lossy(&output.stderr).trim().to_owned();
            return Err(CaptureError::Scanner(message));
        }
        Ok(output.stdout)
    }

    /// The scanners SANE can reach now.
    pub fn list_devices(&self) -> Result<Vec<ScannerDevice>, CaptureError> {
        let stdout = self.run(self.command().arg("--formatted-device-list=%d\t%v %m %t%n"))?;
        Ok(String::from_utf8_lossy(&stdout)
            .lines()
            .filter_map(|line| line.split_once('\t'))
            .map(|(name, description)| ScannerDevice {
                name: name.to_owned(),
                description: description.trim().to_owned(),
            })
            .collect())
    }

    /// Scan with `settings`; returns the PNG bytes of each page in order.
    pub fn scan(
        &self,
        device: &str,
        settings: &ScanSettings,
    ) -> Result<Vec<Vec<u8>>, CaptureError> {
        let folder = tempfile::tempdir().map_err(|e| CaptureError::Scanner(e.to_string()))?;
        let mut command = self.command();
        command
            .arg(format!("--device-name={device}"))
            .arg(format!("--mode={}", settings.mode.sane_name()))
            .arg(format!("--resolution={}", settings.resolution_dpi))
            .arg("--format=png")
            .args(&settings.device_options);
        if settings.feeder {
            command.arg("--source=Automatic Document Feeder");
            command.arg(format!("--batch={}/page-%04d.png", folder.path().display()));
            if let Some(count) = settings.max_pages {
                command.arg(format!("--batch-count={count}"));
            }
        } else {
            command.arg(format!(
                "--output-file={}/page-0001.png",
                folder.path().display()
            ));
        }
        self.run(&mut command)?;
        let mut pages: Vec<PathBuf> = std::fs::read_dir(folder.path())
            .map_err(|e| CaptureError::Scanner(e.to_string()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|e| e == "png"))
            .collect();
        pages.sort();
        if pages.is_empty() {
            return Err(CaptureError::Scanner(
                "no page came out of the scanner".into(),
            ));
        }
        pages
            .iter()
            .map(|path| {
                std::fs::read(path).map_err(|source| CaptureError::Io {
                    path: path.display().to_string(),
                    source,
                })
            })
            .collect()
    }
}
