//! The two stores the server stands on, as traits speaking the domain (devices, uploads,
//! envelopes, blobs), so that a larger deployment can run on PostgreSQL and an S3-compatible
//! object store. SQLite and files come first.

mod attempts;
mod files;
mod notices;
mod sqlite;
mod sqlite_attempts;
mod sqlite_notices;
mod sqlite_tracking;
mod tracking;
// Home-visit requests from the public form (issue #13).
mod sqlite_visit_requests;
mod visit_requests;

pub use attempts::{Attempt, AttemptKey, AttemptStore, BackOff};
pub use files::FileBlobStore;
pub use notices::{
    Confirmation as NoticeConfirmation, DueNotice, NoticeStore, NoticeSubscription, PendingOutcome,
    PendingSubscription,
};
pub use sqlite::{SqliteMetadata, open_connection};
pub(crate) use sqlite_attempts::forget_sign_in_attempts;
pub use tracking::{TrackedCase, TrackingStore};
pub use visit_requests::{
    AuditNote, ChannelKind, Confirmation as RequestConfirmation, NewVisitRequest, NotNew,
    NoticeOutcome, NoticeState, PlannedFromRequest, RequestCounts, RequestState, VisitRequest,
    VisitRequestStore,
};

use fieldkit_domain::workflow::{CaseState, StateName};
use fieldkit_protocol::SupplementKind;

use crate::ServerError;

/// A device's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceState {
    Active,
    Revoked,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub device_id: String,
    pub public_key: [u8; 32],
    pub state: DeviceState,
}

/// A device as the operator sees it: standing, last contact and what its reports say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceOverview {
    pub device_id: String,
    pub revoked: bool,
    pub enrolled_at: i64,
    /// When the device last reported (every sync ends with a report).
    pub last_report_at: Option<i64>,
    pub cases_sealed: u64,
    pub envelopes_waiting: u64,
    pub last_case_number: Option<String>,
    /// Cases reported waiting that have not arrived.
    pub unsynced: u64,
    pub received: u64,
    pub pending_commands: u64,
}

/// A resumable upload in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub upload_id: String,
    pub device_id: String,
    pub length: u64,
    pub offset: u64,
    pub expires_at: i64,
    pub terminated: bool,
    /// Set when complete: the blob's SHA-256.
    pub blob: Option<String>,
}

/// A committed envelope as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEnvelope {
    pub envelope_id: String,
    pub device_id: String,
    pub case_number: String,
    pub manifest: Vec<u8>,
    pub signature: Vec<u8>,
    pub receipt: String,
    pub receipt_signature: String,
}

/// A supplement to a case as stored: a hand-over, a withdrawal or a correction, sealed on a
/// tablet of the centre and kept beside the case's first envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSupplement {
    pub envelope: StoredEnvelope,
    pub kind: SupplementKind,
    /// When the back-office's register took it into the case's life (`None`: not yet).
    pub applied_at: Option<i64>,
    /// The workflow's refusal, in words, when the step it records was not allowed.
    pub refused: Option<String>,
}

/// A hand-over visit (видача результату) planned for a tablet of the centre: that tablet
/// follows the case in its status feed from then on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoverPlan {
    pub visit_id: i64,
    pub device_id: String,
    pub case_number: String,
    pub planned_at: i64,
}

/// A change in a case's status, in the feed tablets pull (`GET /v1/status?since=cursor`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StatusEvent {
    pub cursor: i64,
    pub case_number: String,
    /// The case's state by its domain name; a name this build does not know is kept.
    pub status: StateName,
    pub at: i64,
    /// Why, where the back-office gave a reason (a returned case) or the original's number
    /// (a duplicate). No personal data.
    #[serde(default)]
    pub detail: Option<String>,
}

pub use fieldkit_protocol::DeviceReport;

/// Consultations given without a case (regulation 2.36) on one tablet, one day (the tablet's
/// local date, `YYYY-MM-DD`) and about one service (`None`: «інше питання»), as that tablet's
/// latest report counted them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsultationTotal {
    pub device_id: String,
    pub day: String,
    pub service_code: Option<String>,
    pub count: u64,
}

/// Devices, uploads, envelopes and status events.
/// Every metadata store also counts attempts (sign-ins, enrollments): see [`AttemptStore`];
/// and files cases for the public tracking page: see [`TrackingStore`].
pub trait MetadataStore: AttemptStore + TrackingStore + Send + Sync {
    fn add_device(&self, device: &Device, now: i64) -> Result<(), ServerError>;
    /// Issue a one-time enrollment code (stored as its SHA-256) valid until `expires_at`.
    fn add_enroll_code(&self, code_sha256: &str, expires_at: i64) -> Result<(), ServerError>;
    /// Whether a code with this SHA-256 exists, is unused and has not expired at `now`.
    fn enroll_code_usable(&self, code_sha256: &str, now: i64) -> Result<bool, ServerError>;
    /// Use an enrollment code and record the device with its client certificate, at once.
    fn enroll_device(
        &self,
        code_sha256: &str,
        device: &Device,
        certificate_sha256: &str,
        ca_sha256: &str,
        now: i64,
    ) -> Result<(), ServerError>;
    /// A renewed certificate for an enrolled device, issued by the CA with `ca_sha256`; the
    /// older ones keep working while their CA is trusted.
    fn add_certificate(
        &self,
        device_id: &str,
        certificate_sha256: &str,
        ca_sha256: &str,
        now: i64,
    ) -> Result<(), ServerError>;
    /// Active devices holding no certificate from the CA with `ca_sha256`: retiring an older
    /// CA would cut them off.
    fn active_devices_without_certificate_from(
        &self,
        ca_sha256: &str,
    ) -> Result<Vec<String>, ServerError>;
    fn device_by_certificate(&self, certificate_sha256: &str) -> Result<Device, ServerError>;
    /// Make `certificate_sha256` the device's one command-only certificate (the one before it
    /// stops working).
    fn set_command_certificate(
        &self,
        device_id: &str,
        certificate_sha256: &str,
        now: i64,
    ) -> Result<(), ServerError>;
    /// The device whose command-only certificate this is.
    fn device_by_command_certificate(
        &self,
        certificate_sha256: &str,
    ) -> Result<Device, ServerError>;
    /// Publish a catalog version (TOML, already validated); versions only go up.
    fn publish_catalog(&self, version: u64, toml: &str, now: i64) -> Result<(), ServerError>;
    /// The latest catalog, if newer than `since`.
    fn catalog_since(&self, since: u64) -> Result<Option<(u64, String)>, ServerError>;
    /// Plan a visit for a device: `details` is the visit as JSON (place, address, time,
    /// applicant, services) exactly as the tablet will read it.
    fn plan_visit(&self, device_id: &str, details: &str, now: i64) -> Result<i64, ServerError>;
    /// Plan a visit of kind «видача результату» for a device: the visit as [`Self::plan_visit`]
    /// keeps it, and `case_number` joins the device's status feed, in one transaction.
    fn plan_handover_visit(
        &self,
        device_id: &str,
        case_number: &str,
        details: &str,
        now: i64,
    ) -> Result<i64, ServerError>;
    /// The hand-over visits planned for `case_number`, oldest first.
    fn handover_plans(&self, case_number: &str) -> Result<Vec<HandoverPlan>, ServerError>;
    /// Visits planned for a device after cursor `since`.
    fn visits_since(&self, device_id: &str, since: i64) -> Result<Vec<(i64, String)>, ServerError>;
    /// Queue a command (e.g. "wipe") for a device's next contact.
    fn add_command(&self, device_id: &str, command: &str, now: i64) -> Result<i64, ServerError>;
    /// Hand over the device's pending commands, marking them delivered.
    fn take_commands(&self, device_id: &str, now: i64) -> Result<Vec<(i64, String)>, ServerError>;
    /// Record a report; refuses one whose audit chain is behind (or differs at) the anchor.
    /// The consultations it counts replace what earlier reports said for the same days.
    fn record_report(
        &self,
        device_id: &str,
        report: &DeviceReport,
        now: i64,
    ) -> Result<(), ServerError>;
    fn device(&self, device_id: &str) -> Result<Device, ServerError>;
    /// Case numbers the device's latest report listed as sealed and waiting that have not
    /// arrived since: what a lost tablet took with it.
    fn unsynced(&self, device_id: &str) -> Result<Vec<String>, ServerError>;
    /// Every device with its standing and what its latest report said.
    fn devices(&self) -> Result<Vec<DeviceOverview>, ServerError>;
    /// Consultations per device, day and service, on `day` (`YYYY-MM-DD`) or on every day;
    /// ordered by device, day, then service («інше питання» first).
    fn consultations(&self, day: Option<&str>) -> Result<Vec<ConsultationTotal>, ServerError>;
    fn revoke_device(&self, device_id: &str) -> Result<(), ServerError>;

    fn create_upload(&self, upload: &Upload, now: i64) -> Result<(), ServerError>;
    /// Create `upload` unless its device would then exceed `quota` (refused with
    /// `TooManyUploads` or `PendingBytesQuota`); the check and the insert are one transaction.
    fn create_upload_within(
        &self,
        upload: &Upload,
        quota: &crate::tus::DeviceQuota,
        now: i64,
    ) -> Result<(), ServerError>;
    /// Unfinished uploads that expired by `now`, terminated or not.
    fn expired_partial_uploads(&self, now: i64) -> Result<Vec<String>, ServerError>;
    /// Forget an upload (the sweeper, after its partial file is gone).
    fn delete_upload(&self, upload_id: &str) -> Result<(), ServerError>;
    fn upload(&self, upload_id: &str) -> Result<Upload, ServerError>;
    /// Move an upload's offset from `from` to `to`; false if it was not at `from`.
    fn advance_upload(&self, upload_id: &str, from: u64, to: u64) -> Result<bool, ServerError>;
    fn complete_upload(&self, upload_id: &str, blob: &str) -> Result<(), ServerError>;
    fn terminate_upload(&self, upload_id: &str) -> Result<(), ServerError>;

    fn envelope(&self, envelope_id: &str) -> Result<Option<StoredEnvelope>, ServerError>;
    /// Status events after `since`, oldest first, of the cases `device_id` sealed (sent the
    /// first envelope of) or was planned to hand over; of no other case.
    fn status_events(
        &self,
        device_id: &str,
        since: i64,
        limit: u32,
    ) -> Result<Vec<StatusEvent>, ServerError>;
    /// Record a status change of a case (the back-office and the central system do this),
    /// with why where there is a reason the tablet shows (a refusal's reasons).
    fn add_status_event(
        &self,
        case_number: &str,
        state: CaseState,
        detail: Option<&str>,
        now: i64,
    ) -> Result<i64, ServerError>;
    /// The first envelope of the case numbered `case_number`, if it arrived.
    fn case_envelope(&self, case_number: &str) -> Result<Option<StoredEnvelope>, ServerError>;
    /// A stored supplement by its envelope id.
    fn supplement(&self, envelope_id: &str) -> Result<Option<StoredSupplement>, ServerError>;
    /// Store a supplement once, beside its case; if one with this id exists, return it.
    fn insert_supplement(
        &self,
        supplement: &StoredSupplement,
        part_hashes: &[String],
        now: i64,
    ) -> Result<StoredSupplement, ServerError>;
    /// Supplements of `case_number`, oldest first (`None`: of every case).
    fn supplements(&self, case_number: Option<&str>) -> Result<Vec<StoredSupplement>, ServerError>;
    /// Record what the register made of a supplement: taken into the case's life, or refused
    /// by the workflow with `refused` in words.
    fn mark_supplement(
        &self,
        envelope_id: &str,
        refused: Option<&str>,
        now: i64,
    ) -> Result<(), ServerError>;
    /// Store an envelope once, with its "received" status event; if one with this id exists,
    /// return it instead.
    fn insert_envelope(
        &self,
        envelope: &StoredEnvelope,
        part_hashes: &[String],
        now: i64,
    ) -> Result<StoredEnvelope, ServerError>;
}

/// Content-addressed blobs (the envelopes' encrypted parts), written durably.
pub trait BlobStore: Send + Sync {
    fn contains(&self, sha256: &str) -> Result<bool, ServerError>;
    /// The upload ids that have partial data.
    fn partial_uploads(&self) -> Result<Vec<String>, ServerError>;
    fn size(&self, sha256: &str) -> Result<Option<u64>, ServerError>;
    fn get(&self, sha256: &str) -> Result<Vec<u8>, ServerError>;
    /// Append to an upload's partial data, durably, at `offset`; returns the new length.
    fn append_partial(
        &self,
        upload_id: &str,
        offset: u64,
        chunk: &[u8],
    ) -> Result<u64, ServerError>;
    /// Drop partial data past `length` (a chunk whose checksum failed).
    fn truncate_partial(&self, upload_id: &str, length: u64) -> Result<(), ServerError>;
    /// Turn a finished upload into a blob; returns its SHA-256.
    fn finish_partial(&self, upload_id: &str) -> Result<String, ServerError>;
    fn remove_partial(&self, upload_id: &str) -> Result<(), ServerError>;
}
