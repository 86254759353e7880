//! What can go wrong in the app, each with what the administrator is told in both languages.

use crate::i18n::Message;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("vault: {0}")]
    Vault(#[from] fieldkit_vault::VaultError),
    #[error("catalog: {0}")]
    Catalog(#[from] fieldkit_domain::catalog::CatalogError),
    #[error("calendar: {0}")]
    Calendar(#[from] fieldkit_domain::calendar::CalendarError),
    #[error("case: {0}")]
    Case(#[from] fieldkit_domain::case::CaseError),
    #[error("case number: {0}")]
    CaseNumber(#[from] fieldkit_domain::case_number::CaseNumberError),
    #[error("tracking code: {0}")]
    TrackingCode(#[from] fieldkit_domain::tracking::TrackingCodeError),
    #[error("page: {0}")]
    Capture(#[from] fieldkit_capture::CaptureError),
    #[error("signature: {0}")]
    Signature(#[from] fieldkit_capture::signature::SignatureError),
    #[error("receipt: {0}")]
    Receipt(#[from] fieldkit_receipt::ReceiptError),
    #[error("sync: {0}")]
    Sync(#[from] fieldkit_sync_client::SyncError),
    #[error("sync: {0}")]
    SyncPass(#[from] crate::sync_pass::SyncPassError),
    #[error("record: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{}", .0.en)]
    User(Message),
}

impl AppError {
    pub fn user(uk: &str, en: &str) -> Self {
        AppError::User(Message::new(uk, en))
    }

    /// What the administrator sees.
    pub fn message(&self) -> Message {
        use fieldkit_vault::VaultError as V;
        match self {
            AppError::User(message) => message.clone(),
            AppError::Vault(V::WrongPassphrase { failures }) => Message::new(
                format!("Неправильна парольна фраза (спроба {failures})."),
                format!("Wrong passphrase (attempt {failures})."),
            ),
            AppError::Vault(V::MustWait { seconds }) => Message::new(
                format!("Забагато помилкових спроб: зачекайте {seconds} с."),
                format!("Too many wrong passphrases: wait {seconds} s."),
            ),
            AppError::Vault(V::PassphraseTooShort(n)) => Message::new(
                format!("Парольна фраза має містити щонайменше {n} символів."),
                format!("The passphrase needs at least {n} characters."),
            ),
            AppError::Vault(V::DraftsWiped) => Message::new(
                "Забагато помилкових спроб: чернетки на планшеті знищено за правилами безпеки.",
                "Too many wrong passphrases: the drafts on this tablet were wiped by policy.",
            ),
            AppError::Vault(V::DiskFull) => Message::new(
                "Пам'ять планшета заповнена: нічого не втрачено, але нові сторінки не збережуться. Синхронізуйте справи.",
                "The tablet's storage is full: nothing was lost, but new pages cannot be saved. Sync the cases.",
            ),
            AppError::Signature(e) => Message::new(e.message_uk(), e.to_string()),
            AppError::TrackingCode(e) => Message::new(e.message_uk(), e.to_string()),
            AppError::Sync(e) => Message::new(e.message_uk(), e.to_string()),
            AppError::Capture(fieldkit_capture::CaptureError::NoScanner) => Message::new(
                "Сканер не знайдено: перевірте кабель і живлення.",
                "No scanner found: check its cable and power.",
            ),
            other => Message::new(format!("Помилка: {other}"), format!("Error: {other}")),
        }
    }
}

pub type Result<T> = std::result::Result<T, AppError>;
