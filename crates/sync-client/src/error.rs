//! The sync client's errors, split by what the app should do: wait and retry, or stop.

/// Why a sync step failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// No connection, a cut, a timeout: try again later, nothing is lost.
    #[error("the server cannot be reached: {0}")]
    Offline(String),
    /// The server refused (a revoked tablet, a bad request): retrying will not help.
    #[error("the server refused: {status} {code}: {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    #[error("the server's answer cannot be trusted: {0}")]
    BadAnswer(String),
    #[error("TLS or key setup failed: {0}")]
    Setup(String),
    /// The caller asked the upload to stop (the tablet locked): what the server acknowledged
    /// is kept, and the next upload of the same envelope resumes from there.
    #[error("the upload was stopped between chunks; it resumes from the server's offset")]
    Stopped,
}

impl SyncError {
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Offline(_) | Self::Stopped => true,
            // 429: the server's per-device or per-address limits (uploads in flight, attempts)
            // clear with time, so the case waits on the tablet and the pass is tried again.
            Self::Refused { status, .. } => *status >= 500 || *status == 429,
            Self::BadAnswer(_) | Self::Setup(_) => false,
        }
    }

    pub fn message_uk(&self) -> &'static str {
        match self {
            Self::Offline(_) => {
                "Немає зв'язку з сервером: справи чекають на планшеті й будуть надіслані пізніше"
            }
            Self::Refused { status: 403, .. } => {
                "Сервер відхилив планшет: зверніться до адміністратора пристроїв"
            }
            Self::Refused { status: 429, .. } => {
                "Сервер тимчасово обмежив надсилання: справи чекають на планшеті, спроба повториться пізніше"
            }
            Self::Refused { status: 507, .. } => {
                "На сервері забракло місця для справ цього планшета: вони чекають на планшеті; повідомте адміністратора сервера"
            }
            Self::Refused { .. } => "Сервер не прийняв запит",
            Self::BadAnswer(_) => "Відповідь сервера не пройшла перевірку",
            Self::Setup(_) => "Помилка налаштування захищеного з'єднання",
            Self::Stopped => "Надсилання призупинено: продовжиться після розблокування",
        }
    }
}

impl From<reqwest::Error> for SyncError {
    fn from(error: reqwest::Error) -> Self {
        SyncError::Offline(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::SyncError;

    fn refused(status: u16, code: &str) -> SyncError {
        SyncError::Refused {
            status,
            code: code.into(),
            message: String::new(),
        }
    }

    #[test]
    fn the_servers_limits_are_waited_out_and_named() {
        let too_many = refused(429, "too_many_uploads");
        assert!(too_many.is_retryable());
        assert!(too_many.message_uk().contains("спроба повториться"));
        let quota = refused(507, "pending_bytes_quota");
        assert!(quota.is_retryable());
        assert!(quota.message_uk().contains("забракло місця"));
    }

    #[test]
    fn a_revoked_tablet_or_a_bad_request_is_not_retried() {
        assert!(!refused(403, "device_revoked").is_retryable());
        assert!(!refused(400, "bad_request").is_retryable());
    }
}
