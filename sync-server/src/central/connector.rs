//! The ways a case reaches the central system, behind one trait so the outbox does not care
//! which: `http` (a signed POST) and `dir` (a folder dropped atomically). Each answers what the
//! outbox must do next: done, try again later, or give up (a dead letter for staff to look at).

mod dir;
mod http;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use dir::DirConnector;
pub use http::HttpConnector;
pub(crate) use http::http_client;

use super::CentralError;
use super::config::{CentralConfig, ConnectorKind};
use super::package::CasePackage;

/// The result of one delivery attempt. A failure's `error` is ours (status, kind of network
/// failure) and may be logged; `detail` is the receiver's own words, which may quote the case,
/// so it is kept on the outbox row for staff and never logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The central system has the case; it may have told us its own number for it.
    Delivered { central_number: Option<String> },
    /// Worth trying again: the system is down, slow, overloaded or unreachable. `retry_after`
    /// (seconds) is the receiver's own wish, where it said one.
    Retry {
        error: String,
        detail: Option<String>,
        retry_after: Option<i64>,
    },
    /// Trying again will not help (the receiver refused the case itself): a dead letter.
    Permanent {
        error: String,
        detail: Option<String>,
    },
}

impl Delivery {
    /// A failure in our words (safe to log).
    pub fn retry(error: impl Into<String>) -> Self {
        Self::Retry {
            error: error.into(),
            detail: None,
            retry_after: None,
        }
    }

    pub fn permanent(error: impl Into<String>) -> Self {
        Self::Permanent {
            error: error.into(),
            detail: None,
        }
    }
}

pub type DeliveryFuture<'a> = Pin<Box<dyn Future<Output = Delivery> + Send + 'a>>;

/// One way to hand a case over. Delivery must be idempotent by envelope id: the outbox
/// delivers at least once, so the same case can come again after a lost answer.
pub trait Connector: Send + Sync {
    /// `http` or `dir`, for the audit trail.
    fn name(&self) -> &'static str;
    fn deliver(&self, package: Arc<CasePackage>) -> DeliveryFuture<'_>;
}

/// The connector the config asks for; `None` when it asks for none.
pub fn from_config(config: &CentralConfig) -> Result<Option<Box<dyn Connector>>, CentralError> {
    Ok(match config.connector {
        ConnectorKind::Http => Some(Box::new(HttpConnector::from_config(config)?)),
        ConnectorKind::Dir => Some(Box::new(DirConnector::from_config(config)?)),
        ConnectorKind::None => None,
    })
}

/// A TLS client setup for the central system and the SMS gateway: TLS 1.2+ on ring, trusting
/// `ca_pem` alone when given (a centre's own CA), otherwise the machine's trust store.
pub(crate) fn tls_config(
    ca_pem: Option<&std::path::Path>,
) -> Result<rustls::ClientConfig, CentralError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let setup = |e: &dyn std::fmt::Display| CentralError::Client(e.to_string());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| setup(&e))?;
    let config = match ca_pem {
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            for certificate in
                CertificateDer::pem_file_iter(path).map_err(|e| setup(&format!("{path:?}: {e}")))?
            {
                roots
                    .add(certificate.map_err(|e| setup(&format!("{path:?}: {e}")))?)
                    .map_err(|e| setup(&e))?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(
                rustls_platform_verifier::Verifier::new(provider).map_err(|e| setup(&e))?,
            ))
            .with_no_client_auth(),
    };
    Ok(config)
}
