//! Counters for Prometheus at `/metrics`: requests by route and status, bytes received,
//! envelopes committed. Labels are route templates, never ids or anything personal.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The server's counters.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    bytes_received: AtomicU64,
    envelopes_committed: AtomicU64,
    /// The bearer token `/metrics` asks for; without one `/metrics` is off.
    token: Option<zeroize::Zeroizing<String>>,
}

/// Whether a request may read the counters.
#[derive(Debug, PartialEq, Eq)]
pub enum MetricsAccess {
    /// No token is configured: `/metrics` does not exist on this server.
    Off,
    /// A token is configured and the request did not carry it.
    Refused,
    Allowed,
}

/// A token shorter than this is refused at start-up: it must not be guessable.
pub const MIN_TOKEN_CHARS: usize = 32;

impl Metrics {
    /// Counters served at `/metrics` to requests that carry `Authorization: Bearer <token>`.
    pub fn with_token(token: &str) -> Result<Self, String> {
        let token = token.trim();
        if token.chars().count() < MIN_TOKEN_CHARS {
            return Err(format!(
                "the metrics token must be at least {MIN_TOKEN_CHARS} characters (openssl rand -hex 32)"
            ));
        }
        Ok(Metrics {
            token: Some(zeroize::Zeroizing::new(token.to_owned())),
            ..Metrics::default()
        })
    }

    /// Check an `Authorization` header value against the token, in constant time.
    pub fn access(&self, authorization: Option<&str>) -> MetricsAccess {
        let Some(token) = &self.token else {
            return MetricsAccess::Off;
        };
        let presented = authorization
            .and_then(|value| value.strip_prefix("Bearer "))
            .unwrap_or("");
        if crate::office::auth::same_token(presented.trim(), token) {
            MetricsAccess::Allowed
        } else {
            MetricsAccess::Refused
        }
    }

    pub fn record_request(&self, method: &str, route: &str, status: u16, body_bytes: u64) {
        if let Ok(mut requests) = self.requests.lock() {
            *requests
                .entry((method.to_owned(), route.to_owned(), status))
                .or_default() += 1;
        }
        self.bytes_received.fetch_add(body_bytes, Ordering::Relaxed);
    }

    pub fn record_commit(&self) {
        self.envelopes_committed.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP fieldkit_requests_total HTTP requests by method, route and status.\n");
        out.push_str("# TYPE fieldkit_requests_total counter\n");
        let mut errors = 0;
        if let Ok(requests) = self.requests.lock() {
            for ((method, route, status), count) in requests.iter() {
                let _ = writeln!(
                    out,
                    "fieldkit_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {count}"
                );
                if *status >= 400 {
                    errors += count;
                }
            }
        }
        let _ = writeln!(
            out,
            "# HELP fieldkit_request_errors_total Requests answered with 4xx or 5xx.\n# TYPE fieldkit_request_errors_total counter\nfieldkit_request_errors_total {errors}"
        );
        let _ = writeln!(
            out,
            "# HELP fieldkit_received_bytes_total Request body bytes received.\n# TYPE fieldkit_received_bytes_total counter\nfieldkit_received_bytes_total {}",
            self.bytes_received.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP fieldkit_envelopes_committed_total Envelopes stored (first commit only).\n# TYPE fieldkit_envelopes_committed_total counter\nfieldkit_envelopes_committed_total {}",
            self.envelopes_committed.load(Ordering::Relaxed)
        );
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn metrics_are_off_without_a_token_and_need_it_with_one() {
        assert_eq!(Metrics::default().access(None), MetricsAccess::Off);
        let token = "0123456789abcdef0123456789abcdef";
        let metrics = Metrics::with_token(&format!("{token}\n")).unwrap();
        assert_eq!(metrics.access(None), MetricsAccess::Refused);
        assert_eq!(
            metrics.access(Some("Bearer 0123456789abcdef0123456789abcdeX")),
            MetricsAccess::Refused
        );
        assert_eq!(metrics.access(Some(token)), MetricsAccess::Refused);
        assert_eq!(
            metrics.access(Some(&format!("Bearer {token}"))),
            MetricsAccess::Allowed
        );
        assert!(Metrics::with_token("short").is_err());
    }
}
