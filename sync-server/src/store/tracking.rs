//! What the public tracking page may know of a case, looked up by the SHA-256 of the tracking
//! code printed on the applicant's receipt (the code itself never reaches the server outside the
//! sealed case, and a case number alone opens nothing).

use crate::ServerError;

use super::StatusEvent;

/// A case as the public side sees it: no name, address, tax number or document, ever.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedCase {
    /// Hex SHA-256 of the tracking code (its canonical form: the code without separators).
    pub code_sha256: String,
    pub case_number: String,
    pub service_code: String,
    /// The centre's code in the catalog (its contacts and hours are the catalog's).
    pub centre_code: String,
    /// When the tablet registered the case (Unix seconds).
    pub registered_at: i64,
}

/// Tracked cases and their public timeline.
pub trait TrackingStore: Send + Sync {
    /// Remember a case under its tracking code's hash; recording it again changes nothing.
    fn record_tracked_case(&self, case: &TrackedCase) -> Result<(), ServerError>;
    /// The case whose tracking code hashes to `code_sha256`.
    fn tracked_case(&self, code_sha256: &str) -> Result<Option<TrackedCase>, ServerError>;
    /// Every status change of the case, oldest first.
    fn case_status_events(&self, case_number: &str) -> Result<Vec<StatusEvent>, ServerError>;
}
