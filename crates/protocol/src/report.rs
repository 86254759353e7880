//! What a tablet reports at every sync: its own counts, so the back-office can reconcile what
//! the tablet holds against what arrived, and the head of its audit chain, which the server
//! anchors so a truncated chain or a vault restored from an older copy shows.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceReport {
    pub cases_sealed: u64,
    pub envelopes_waiting: u64,
    pub last_case_number: Option<String>,
    pub audit_seq: u64,
    /// The keyed hash of the last audit event, hex.
    pub audit_hash: String,
    /// Case numbers sealed on the tablet and not yet delivered: what the centre must take
    /// again if the tablet is lost. Case numbers carry no personal data.
    #[serde(default)]
    pub waiting_cases: Vec<String>,
}
