//! The central case system connector: accepted cases go out through a transactional outbox to
//! the centre's case system (an HTTP endpoint or a drop folder), delivered at least once under
//! an idempotency key (the envelope id), retried with back-off and parked as dead letters for
//! the back-office; status events come back signed (`POST /central/v1/events`), update the case
//! register and the tablets' status feed, and notify the applicant the way they chose.
//!
//! It opens a sealed case only in memory, only to send it or to find the applicant's contact;
//! it must never write an opened case anywhere but the configured drop folder, never log
//! personal data, and never tell the applicant more than the case number and its status.
//! Protocol and formats: sync-server/docs/central.md.

pub mod config;
pub mod connector;
pub mod events;
pub mod notify;
pub mod outbox;
pub mod package;
pub mod signing;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use fieldkit_protocol::SealingKeyPair;

use crate::ServerError;
use crate::office::db::OfficeDb;
use crate::setup::{Layout, ServerFiles};
use crate::store::{BlobStore, FileBlobStore, MetadataStore, SqliteMetadata};

pub use config::{CentralConfig, ConnectorKind, NotifyConfig, SmtpSecurity};
pub use notify::{NotificationEntry, NotificationState, NotifyReport};
pub use outbox::{DeadLetter, OutboxCounts, OutboxEntry, RunReport};

/// What went wrong in the connector; each variant says what the operator can do.
#[derive(Debug, thiserror::Error)]
pub enum CentralError {
    #[error("[central] in the config: {0}")]
    Config(String),
    #[error("key file {path}: {reason}")]
    KeyFile { path: PathBuf, reason: String },
    #[error("the HTTP client could not be set up: {0}")]
    Client(String),
    #[error("the case could not be packed for the central system: {0}")]
    Package(String),
    #[error("a background task failed: {0}")]
    Task(String),
    #[error(transparent)]
    Server(#[from] ServerError),
}

/// For callers that speak `ServerError` (`LocalServer`, the back-office): set-up problems become
/// storage errors with the connector's message.
impl From<CentralError> for ServerError {
    fn from(error: CentralError) -> Self {
        match error {
            CentralError::Server(e) => e,
            other => ServerError::Storage(other.to_string()),
        }
    }
}

impl From<rusqlite::Error> for CentralError {
    fn from(error: rusqlite::Error) -> Self {
        CentralError::Server(error.into())
    }
}

/// Tables only the connector uses: the events received from the central system (their ids
/// refuse a replay). The applicants' notifications they queue (`notify_outbox`) live with the
/// back-office's tables: the back-office's own steps (hand-over, withdrawal, archive) queue
/// them too.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS central_events (
    event_id TEXT PRIMARY KEY, case_number TEXT NOT NULL, type TEXT NOT NULL,
    status TEXT NOT NULL, central_number TEXT, at INTEGER NOT NULL,
    received_at INTEGER NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS central_events_by_case ON central_events(case_number);
";

/// Everything the outbox workers and the events endpoint share.
pub struct CentralState {
    pub config: CentralConfig,
    pub db: Arc<OfficeDb>,
    pub meta: Arc<dyn MetadataStore>,
    pub blobs: Arc<dyn BlobStore>,
    /// Every sealing key ever used, to open older envelopes too.
    pub sealing_keys: Arc<Vec<SealingKeyPair>>,
    /// Unix seconds; a function so tests can move time past the back-off.
    pub clock: fn() -> i64,
    connector: Option<Box<dyn connector::Connector>>,
    events_key: Option<ring::hmac::Key>,
    notifier: notify::Notifier,
    /// Rung by the events endpoint after it queued a notification, so the worker sends it now
    /// rather than at its next poll.
    notify_wake: tokio::sync::Notify,
    /// Set once the notification worker runs: one worker per state, so a row is never sent by
    /// two at once.
    notify_worker: AtomicBool,
}

impl CentralState {
    /// Open the stores of data directory `data` (made by `init`) and set up the connector.
    pub fn open(
        data: &Path,
        config: CentralConfig,
        clock: fn() -> i64,
    ) -> Result<Arc<Self>, CentralError> {
        let layout = Layout::new(data);
        let db = Arc::new(OfficeDb::open(&layout.database())?);
        let meta: Arc<dyn MetadataStore> = Arc::new(SqliteMetadata::open(&layout.database())?);
        let blobs: Arc<dyn BlobStore> = Arc::new(FileBlobStore::open(&layout.blobs())?);
        let sealing_keys = Arc::new(ServerFiles::load(data)?.sealing_keys);
        Self::with_stores(config, db, meta, blobs, sealing_keys, clock)
    }

    /// Set up on stores the caller already holds (the back-office shares its `OfficeDb`).
    pub fn with_stores(
        config: CentralConfig,
        db: Arc<OfficeDb>,
        meta: Arc<dyn MetadataStore>,
        blobs: Arc<dyn BlobStore>,
        sealing_keys: Arc<Vec<SealingKeyPair>>,
        clock: fn() -> i64,
    ) -> Result<Arc<Self>, CentralError> {
        config.validate()?;
        db.transaction(|tx| Ok(tx.execute_batch(SCHEMA)?))?;
        let connector = connector::from_config(&config)?;
        let events_key = match &config.events_hmac_key_file {
            Some(path) => Some(signing::key_from_file(path)?),
            None => None,
        };
        let notifier = notify::Notifier::from_config(config.notify.as_ref())?;
        Ok(Arc::new(Self {
            config,
            db,
            meta,
            blobs,
            sealing_keys,
            clock,
            connector,
            events_key,
            notifier,
            notify_wake: tokio::sync::Notify::new(),
            notify_worker: AtomicBool::new(false),
        }))
    }

    pub fn now(&self) -> i64 {
        (self.clock)()
    }
}
