//! The vault's errors, each saying what the administrator or the app can do about it.

/// Why a vault operation failed.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("wrong passphrase ({failures} failed attempt(s) in a row)")]
    WrongPassphrase { failures: u32 },
    #[error("too many wrong passphrases: wait {seconds} s before trying again")]
    MustWait { seconds: u64 },
    #[error("too many wrong passphrases: the drafts on this tablet were wiped by policy")]
    DraftsWiped,
    #[error("record {table}/{row} failed its integrity check: it was altered or damaged")]
    Integrity { table: &'static str, row: String },
    #[error("the audit chain is broken at event {seq}: {what}")]
    AuditChainBroken { seq: u64, what: &'static str },
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("no administrator slot {0}")]
    UnknownSlot(String),
    #[error("the last administrator cannot be removed")]
    LastAdministrator,
    #[error("a key slot needs at least {minimum} PBKDF2 rounds, not {requested}")]
    WeakKdf { requested: u32, minimum: u32 },
    #[error("the passphrase must have at least {0} characters")]
    PassphraseTooShort(usize),
    #[error("the vault was made by a newer fieldkit (schema {found}, this build knows {known})")]
    SchemaTooNew { found: i64, known: i64 },
    #[error("there is no vault at {0}")]
    NoVault(String),
    #[error("a vault already exists at {0}")]
    AlreadyExists(String),
    #[error("the disk is full: nothing was saved, free some space and try again")]
    DiskFull,
    #[error("the vault file is damaged: {0}")]
    Corrupt(String),
    #[error("the system random number generator failed")]
    Random,
    #[error("record could not be encoded: {0}")]
    Encoding(String),
    #[error("the case could not be sealed: {0}")]
    Seal(#[from] fieldkit_protocol::EnvelopeError),
    #[error("storage error: {0}")]
    Storage(rusqlite::Error),
    #[error("a display name has 1 to {max} characters on one line")]
    BadDisplayName { max: usize },
    #[error("the display key {path} could not be read or written: {source}")]
    DisplayKey {
        path: String,
        source: std::io::Error,
    },
    #[error("the vault's file {path} could not be removed: {source}")]
    Remove {
        path: String,
        source: std::io::Error,
    },
}

impl From<rusqlite::Error> for VaultError {
    fn from(error: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match error.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => VaultError::DiskFull,
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
                VaultError::Corrupt(error.to_string())
            }
            _ => VaultError::Storage(error),
        }
    }
}

pub type Result<T> = std::result::Result<T, VaultError>;
