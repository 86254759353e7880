//! A complete server on a loopback port, in this process, with a fresh data directory: what the
//! demo and the whole-system tests run against. Uses the same `init` files as a real install.
//! It runs on its own runtime, so `stop` ends every connection and request at once, as a
//! crash would (what SQLite has committed stays committed).

use std::path::Path;
use std::sync::Arc;

use fieldkit_protocol::SealingKeyPair;

use crate::ServerError;
use crate::http::{AppState, router, serve};
use crate::setup::{Layout, ServerFiles, init};
use crate::store::{FileBlobStore, MetadataStore, SqliteMetadata};
use crate::tls::{certificate_fingerprint, server_config};
use crate::tus::TusLimits;

/// A running local server.
pub struct LocalServer {
    pub url: String,
    /// The data directory it serves.
    pub data: std::path::PathBuf,
    /// The server CA certificate a tablet pins (DER).
    pub server_ca: Vec<u8>,
    pub meta: Arc<SqliteMetadata>,
    /// The case-sealing key pair (the back-office opens envelopes with it).
    pub sealing: SealingKeyPair,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LocalServer {
    /// Initialise `data` (if new) and serve it on `127.0.0.1`, clock from `clock`.
    pub async fn start(data: &Path, clock: fn() -> i64) -> Result<Self, ServerError> {
        Self::start_on(data, clock, 0).await
    }

    /// As [`LocalServer::start`], on a given port (0: any), so a restarted server keeps the
    /// address its tablets know.
    pub async fn start_on(data: &Path, clock: fn() -> i64, port: u16) -> Result<Self, ServerError> {
        Self::start_with(data, clock, port, crate::central::CentralConfig::default()).await
    }

    /// As [`LocalServer::start_on`], with a central case system connector.
    pub async fn start_with(
        data: &Path,
        clock: fn() -> i64,
        port: u16,
        central: crate::central::CentralConfig,
    ) -> Result<Self, ServerError> {
        Self::start_with_public_url(data, clock, port, central, None).await
    }

    /// As [`LocalServer::start_with`], telling tablets `public_tracking_url` as the base of
    /// their receipts' tracking address (`AppState::public_tracking_url`).
    pub async fn start_with_public_url(
        data: &Path,
        clock: fn() -> i64,
        port: u16,
        central: crate::central::CentralConfig,
        public_tracking_url: Option<String>,
    ) -> Result<Self, ServerError> {
        let layout = Layout::new(data);
        if !layout.database().exists() {
            init(data, &["localhost".to_owned()])?;
        }
        let files = ServerFiles::load(data)?;
        let tls = server_config(
            &files.trusted_device_cas,
            files.server_chain,
            files.server_key,
        )?;
        let meta = Arc::new(SqliteMetadata::open(&layout.database())?);
        let blobs = Arc::new(FileBlobStore::open(&layout.blobs())?);
        let sealing = files.sealing;
        let state = AppState {
            meta: meta.clone(),
            blobs: blobs.clone(),
            limits: TusLimits::default(),
            receipt_key: files.receipt_key,
            sealing_key: sealing.public_key(),
            device_ca: files.device_ca,
            clock,
            metrics: Default::default(),
            public_tracking_url,
        };
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let url = format!("https://localhost:{port}");
        let mut office = crate::office::load(
            data,
            meta.clone(),
            blobs,
            files.sealing_keys,
            clock,
            url.clone(),
        )?;
        let central = crate::central::CentralState::open(data, central, clock)?;
        office.central = Some(central.clone());
        let app = router(Arc::new(state))
            .merge(crate::office::router(Arc::new(office)))
            .merge(crate::central::events::router(central.clone()));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let _outbox = crate::central::outbox::spawn(central);
                tokio::select! {
                    _ = serve(listener, Arc::new(tls), app) => {}
                    _ = stopped => {}
                }
            });
            // Abort every connection task still running, mid-request or not.
            runtime.shutdown_background();
        });
        let server_ca = std::fs::read(layout.server_ca_certificate())?;
        Ok(Self {
            url,
            data: data.to_owned(),
            server_ca,
            meta,
            sealing,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Issue a one-time enrollment code, valid for ten minutes.
    pub fn enroll_code(&self, code: &str, now: i64) -> Result<(), ServerError> {
        self.meta
            .add_enroll_code(&certificate_fingerprint(code.as_bytes()), now + 600)
    }

    /// Stop serving: every connection and request in flight ends at once, as in a crash.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
