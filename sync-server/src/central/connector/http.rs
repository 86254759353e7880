//! The HTTP connector: one signed POST per case, JSON with the files inside (base64), under an
//! `Idempotency-Key` that is the envelope id. The answer decides what the outbox does: 2xx is
//! delivered, 408/429/5xx and network failures are tried again, any other status is a refusal
//! of the case itself and goes to the dead letters at once.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use ring::hmac;

use super::{Connector, Delivery, DeliveryFuture};
use crate::central::CentralError;
use crate::central::config::CentralConfig;
use crate::central::package::CasePackage;
use crate::central::signing::{
    IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, key_from_file, sign,
};

/// How much of a refusal's `message` is kept for staff.
const MESSAGE_LIMIT: usize = 200;

pub struct HttpConnector {
    client: reqwest::Client,
    url: String,
    key: hmac::Key,
    clock: fn() -> i64,
}

fn system_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A reqwest client on our TLS setup. Redirects are not followed: a redirected POST would be
/// re-sent as a GET, or the case would go somewhere the config does not name.
pub(crate) fn http_client(
    ca_file: Option<&std::path::Path>,
    timeout: Duration,
) -> Result<reqwest::Client, CentralError> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(crate::central::connector::tls_config(ca_file)?)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .timeout(timeout)
        .build()
        .map_err(|e| CentralError::Client(e.to_string()))
}

impl HttpConnector {
    pub fn from_config(config: &CentralConfig) -> Result<Self, CentralError> {
        let (Some(url), Some(key_file)) = (&config.url, &config.hmac_key_file) else {
            return Err(CentralError::Config(
                "connector = \"http\" needs url and hmac_key_file".into(),
            ));
        };
        Ok(Self {
            client: http_client(
                config.ca_file.as_deref(),
                Duration::from_secs(config.timeout_seconds),
            )?,
            url: url.clone(),
            key: key_from_file(key_file)?,
            // The signature's timestamp is checked by the receiver against real time, so it
            // comes from the real clock even when the outbox runs on a test clock.
            clock: system_clock,
        })
    }

    async fn post(&self, package: &CasePackage) -> Delivery {
        let mut body = match package.to_json(true) {
            Ok(body) => body,
            Err(e) => return Delivery::permanent(e.to_string()),
        };
        let timestamp = (self.clock)();
        let signature = sign(&self.key, timestamp, &body);
        // reqwest takes the body by value and frees it unwiped: moved there, not copied, so
        // one buffer of the case exists at a time.
        let response = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(IDEMPOTENCY_HEADER, &package.document.envelope_id)
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature)
            .body(std::mem::take(&mut *body))
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(e) => return Delivery::retry(describe(&e)),
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|s| *s >= 0);
        let text = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(e) if status.is_success() => {
                // The receiver said yes but the body broke off: it has the case; try again to
                // learn its number (the repeat is idempotent).
                return Delivery::retry(format!("answer {status} cut off: {}", describe(&e)));
            }
            Err(_) => Default::default(),
        };
        classify(status, &text, retry_after)
    }
}

fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "connection failed"
    };
    // reqwest's own text names the URL and the cause, never the body.
    format!("{kind}: {error}")
}

#[derive(serde::Deserialize)]
struct Accepted {
    central_number: Option<String>,
}

#[derive(serde::Deserialize)]
struct Refusal {
    code: Option<String>,
    message: Option<String>,
}

/// What an answer means for the outbox.
fn classify(status: StatusCode, body: &[u8], retry_after: Option<i64>) -> Delivery {
    if status.is_success() {
        let central_number = serde_json::from_slice::<Accepted>(body)
            .ok()
            .and_then(|a| a.central_number)
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty() && n.len() <= 64 && !n.chars().any(char::is_control));
        return Delivery::Delivered { central_number };
    }
    // The status and the receiver's `code` (a token) are ours to log; its `message` is free
    // text that may quote the case, kept only on the outbox row.
    let refusal = serde_json::from_slice::<Refusal>(body).ok();
    let code = refusal
        .as_ref()
        .and_then(|r| r.code.as_deref())
        .filter(|c| {
            c.len() <= 64
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        })
        .map(|c| format!(" {c}"))
        .unwrap_or_default();
    let error = format!("HTTP {}{code}", status.as_u16());
    let detail = refusal
        .and_then(|r| r.message)
        .map(|m| {
            m.chars()
                .filter(|c| !c.is_control())
                .take(MESSAGE_LIMIT)
                .collect::<String>()
        })
        .filter(|m| !m.is_empty());
    let transient = status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS;
    if transient {
        Delivery::Retry {
            error,
            detail,
            retry_after,
        }
    } else {
        Delivery::Permanent { error, detail }
    }
}

impl Connector for HttpConnector {
    fn name(&self) -> &'static str {
        "http"
    }

    fn deliver(&self, package: Arc<CasePackage>) -> DeliveryFuture<'_> {
        Box::pin(async move { self.post(&package).await })
    }
}
