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
}

impl Metrics {
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
