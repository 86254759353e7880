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
    /// The applicants' pages, on a port of their own, with a certificate for `localhost` from
    /// the server CA (tests trust it as a browser trusts a public CA).
    pub public_url: String,
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
        let personal = Arc::new(crate::personal_data::PersonalDataKey::load_or_create(
            &layout.keys(),
        )?);
        // The public side's port first: tablets are told its address at every sync.
        let public_listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        public_listener.set_nonblocking(true)?;
        let public_url = format!("https://localhost:{}", public_listener.local_addr()?.port());
        let state = AppState {
            meta: meta.clone(),
            blobs: blobs.clone(),
            limits: TusLimits::default(),
            receipt_key: files.receipt_key,
            sealing_key: sealing.public_key(),
            device_ca: files.device_ca,
            clock,
            metrics: Default::default(),
            personal: personal.clone(),
            public_tracking_url: Some(public_url.clone()),
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
        office.personal = personal.clone();
        let notices = Arc::new(crate::visit_requests::Notices::new(
            meta.clone(),
            central.clone(),
            personal.clone(),
            clock,
        ));
        let app = router(Arc::new(state))
            .merge(crate::office::router(Arc::new(office)))
            .merge(crate::central::events::router(central.clone()));
        let public_tls = {
            let server_ca = crate::tls::CertificateAuthority::load(
                crate::setup::SERVER_CA_NAME,
                &zeroize::Zeroizing::new(std::fs::read(layout.key("server-ca.key"))?),
                std::fs::read(layout.server_ca_certificate())?,
            )?;
            let (cert, key) = server_ca.issue_server(&["localhost".to_owned()])?;
            crate::tls::public_server_config(vec![cert], key)?
        };
        let public = crate::public::PublicState::new(
            meta.clone(),
            central.clone(),
            personal,
            clock,
            public_url.clone(),
        )?;
        let public = Arc::new(public);
        let public_app = crate::public::router(public.clone());
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
                let Ok(public_listener) = tokio::net::TcpListener::from_std(public_listener) else {
                    return;
                };
                let _outbox = crate::central::outbox::spawn(central);
                let _requests = crate::visit_requests::spawn(notices);
                let _notices = crate::public::notices::spawn(public);
                tokio::select! {
                    _ = serve(listener, Arc::new(tls), app) => {}
                    _ = serve(public_listener, Arc::new(public_tls), public_app) => {}
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
            public_url,
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
