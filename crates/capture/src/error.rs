//! The capture crate's errors, each with the message the administrator sees.

/// Why a page, scan or file could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("the file is empty")]
    Empty,
    #[error("not an image this kit reads (JPEG, PNG, TIFF)")]
    NotAnImage,
    #[error("the image is {width}×{height} pixels, more than the {limit}×{limit} this kit accepts")]
    TooLarge { width: u32, height: u32, limit: u32 },
    #[error("the image is damaged or cut short: {0}")]
    Corrupt(String),
    #[error("the image could not be encoded: {0}")]
    Encode(String),
    #[error("no scanner found")]
    NoScanner,
    #[error("the scanner failed: {0}")]
    Scanner(String),
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl CaptureError {
    /// The message shown on the tablet.
    pub fn message_uk(&self) -> String {
        match self {
            Self::Empty => "Файл порожній".into(),
            Self::NotAnImage => "Це не зображення (підтримуються JPEG, PNG, TIFF)".into(),
            Self::TooLarge { width, height, .. } => {
                format!("Зображення завелике ({width}×{height} пікселів): зменште роздільність")
            }
            Self::Corrupt(_) => {
                "Файл пошкоджений або обрізаний: відскануйте чи сфотографуйте ще раз".into()
            }
            Self::Encode(_) => "Не вдалося зберегти сторінку".into(),
            Self::NoScanner => "Сканер не знайдено: перевірте підключення".into(),
            Self::Scanner(_) => "Сканер повідомив про помилку: спробуйте ще раз".into(),
            Self::Io { .. } => "Не вдалося прочитати файл".into(),
        }
    }
}
