//! Handing a finished receipt to the print system: `lp` reads the PDF from its standard input,
//! so no copy of the applicant's document is left in a temporary file by us.

use std::io::Write;
use std::process::{Command, Stdio};

/// Why a receipt could not be handed to the printer.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    #[error("the print system (lp) is not installed")]
    NoPrintSystem,
    #[error("the printer refused the job: {0}")]
    Refused(String),
    #[error("the print system failed: {0}")]
    Failed(String),
}

impl PrintError {
    pub fn message_uk(&self) -> &'static str {
        match self {
            Self::NoPrintSystem => "Друк недоступний на цьому планшеті",
            Self::Refused(_) => {
                "Принтер не прийняв документ: перевірте, чи він увімкнений і підключений"
            }
            Self::Failed(_) => "Не вдалося надрукувати: спробуємо ще раз пізніше",
        }
    }
}

/// Send `pdf` to `printer` (a CUPS queue name) under `title`; returns CUPS's request id.
pub fn print_pdf(printer: &str, title: &str, pdf: &[u8]) -> Result<String, PrintError> {
    let mut child = Command::new("lp")
        .args([
            "-d",
            printer,
            "-t",
            title,
            "-o",
            "document-format=application/pdf",
            "--",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => PrintError::NoPrintSystem,
            _ => PrintError::Failed(e.to_string()),
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(pdf)
            .map_err(|e| PrintError::Failed(e.to_string()))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|e| PrintError::Failed(e.to_string()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(PrintError::Refused(
            String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        ));
    }
    // "request id is fieldkit-test-12 (1 file(s))"
    let id = stdout
        .split_whitespace()
        .nth(3)
        .unwrap_or_default()
        .to_owned();
    Ok(id)
}
