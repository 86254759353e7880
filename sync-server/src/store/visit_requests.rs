//! Home-visit requests (запити на виїзд) from the public form: who, where, why and how to tell
//! them is sealed under the server's personal-data key by the caller; the store keeps in clear
//! only what a list and a count need (id, state, dates, the service code, the channel's kind),
//! the confirmation code as a hash, and the notice owed to the requester.
//!
//! A request lives through `unconfirmed` (code sent, not yet typed back: swept after a day,
//! dropped after five wrong codes), `new` (confirmed, in the back-office's list), then
//! `planned` (a visit for a tablet, made in the same transaction) or `declined` (with a reason,
//! sealed). Either decision owes the requester a notice, which stays `pending` until sent and
//! becomes `failed` when it cannot be: the fact that the person was not told is never lost.

use crate::ServerError;

/// Where a request is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestState {
    /// The confirmation code was sent and not yet typed back.
    Unconfirmed,
    /// Confirmed: waiting for staff to plan or decline it.
    New,
    /// A visit was planned for a tablet.
    Planned,
    /// Staff declined it with a reason.
    Declined,
}

impl RequestState {
    pub const ALL: [RequestState; 4] = [
        RequestState::Unconfirmed,
        RequestState::New,
        RequestState::Planned,
        RequestState::Declined,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Unconfirmed => "unconfirmed",
            Self::New => "new",
            Self::Planned => "planned",
            Self::Declined => "declined",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == text)
    }
}

/// How the requester asked to be told: the kind only (the address or number is sealed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    Sms,
    Email,
}

impl ChannelKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Email => "email",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "sms" => Some(Self::Sms),
            "email" => Some(Self::Email),
            _ => None,
        }
    }
}

/// Where the notice owed to the requester (the planned date, or the reason) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeState {
    /// To be sent at `notice_next_at`.
    Pending,
    Sent,
    /// Could not be sent (refused, or failed too often): staff see it and may send it again.
    Failed,
}

impl NoticeState {
    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(Self::Pending),
            "sent" => Some(Self::Sent),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// A request as the form leaves it, waiting for its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVisitRequest {
    /// A random token (it is the confirmation page's address), never a counter.
    pub id: String,
    pub created_at: i64,
    /// The catalog service asked for; `None`: «не знаю / порадьте».
    pub service_code: Option<String>,
    pub channel: ChannelKind,
    /// The request itself, sealed for `visit_request:<id>`.
    pub sealed: Vec<u8>,
    /// The confirmation code's hash (see the public form), and until when it may be typed.
    pub code_sha256: String,
    pub code_expires_at: i64,
}

/// A stored request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitRequest {
    pub id: String,
    pub state: RequestState,
    pub created_at: i64,
    pub confirmed_at: Option<i64>,
    pub service_code: Option<String>,
    pub channel: ChannelKind,
    pub sealed: Vec<u8>,
    /// When staff planned or declined it, and who.
    pub decided_at: Option<i64>,
    pub decided_by: Option<String>,
    /// A planned request's tablet, visit (the tablet's feed id) and local time `YYYY-MM-DD HH:MM`.
    pub device_id: Option<String>,
    pub visit_id: Option<i64>,
    pub planned_time: Option<String>,
    /// A declined request's reason, sealed for `visit_request_reason:<id>`.
    pub reason_sealed: Option<Vec<u8>>,
    pub notice: Option<NoticeState>,
    pub notice_attempts: i64,
    pub notice_next_at: Option<i64>,
    /// Why the last notice attempt failed, in words without the address.
    pub notice_error: Option<String>,
}

/// What typing a confirmation code came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    Confirmed,
    /// Wrong; this many tries are left.
    Wrong {
        tries_left: i64,
    },
    /// The code expired: the request is dropped.
    Expired,
    /// The last try was wrong: the request is dropped.
    Dropped,
    /// No unconfirmed request has this id (never made, dropped, swept).
    Unknown,
    /// Confirmed already (a second submission of the same code).
    AlreadyConfirmed,
}

/// An entry of the server's audit chain written in the same transaction as a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditNote {
    pub actor: String,
    pub action: &'static str,
    /// Never personal data: ids, states, dates.
    pub detail: String,
}

/// A staff step refused because the request is not where the step needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotNew(pub RequestState);

/// What one notice attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeOutcome {
    Sent,
    /// Try again at `next_at`.
    Retry {
        next_at: i64,
        reason: String,
    },
    /// Given up: staff must act.
    Failed {
        reason: String,
    },
}

/// Requests by state, and notices not yet sent or failed, for the reconciliation page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    pub unconfirmed: u64,
    pub new: u64,
    pub planned: u64,
    pub declined: u64,
    pub notices_pending: u64,
    pub notices_failed: u64,
}

impl RequestCounts {
    pub fn of(&self, state: RequestState) -> u64 {
        match state {
            RequestState::Unconfirmed => self.unconfirmed,
            RequestState::New => self.new,
            RequestState::Planned => self.planned,
            RequestState::Declined => self.declined,
        }
    }
}

/// A planned visit as the store writes it into the tablet's feed, with the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFromRequest<'a> {
    pub device_id: &'a str,
    /// The visits feed's row: the visit as `docs/visits.md` says, sealed (see
    /// `crate::sealed_visits`).
    pub visit_details: &'a str,
    /// `YYYY-MM-DD HH:MM`.
    pub time: &'a str,
}

/// Home-visit requests.
pub trait VisitRequestStore: Send + Sync {
    /// Keep a new request until its code is typed back.
    fn add_visit_request(&self, request: &NewVisitRequest) -> Result<(), ServerError>;
    /// Check a code for request `id`: counts a try, confirms (writing `audit`) or drops the
    /// request after `max_tries` wrong ones or once the code has expired.
    fn confirm_visit_request(
        &self,
        id: &str,
        code_sha256: &str,
        max_tries: i64,
        audit: &AuditNote,
        now: i64,
    ) -> Result<Confirmation, ServerError>;
    /// One request, in any state.
    fn visit_request(&self, id: &str) -> Result<Option<VisitRequest>, ServerError>;
    /// Requests in `state`, the oldest first for `new`, the latest decided first otherwise.
    fn visit_requests(&self, state: RequestState) -> Result<Vec<VisitRequest>, ServerError>;
    /// Plan a `new` request: the visit goes into the tablet's feed, the request is `planned`,
    /// its notice is pending (due at `notice_at`: the caller that sends it at once leaves
    /// itself time first), and `audit` is written, all in one transaction.
    fn plan_visit_request(
        &self,
        id: &str,
        plan: &PlannedFromRequest<'_>,
        audit: &AuditNote,
        now: i64,
        notice_at: i64,
    ) -> Result<Result<i64, NotNew>, ServerError>;
    /// Decline a `new` request with its sealed reason; the notice as for planning.
    fn decline_visit_request(
        &self,
        id: &str,
        reason_sealed: &[u8],
        audit: &AuditNote,
        now: i64,
        notice_at: i64,
    ) -> Result<Result<(), NotNew>, ServerError>;
    /// Requests whose notice is pending and due at `now`.
    fn due_visit_request_notices(&self, now: i64) -> Result<Vec<VisitRequest>, ServerError>;
    /// Record a notice attempt (and its audit entry).
    fn record_visit_request_notice(
        &self,
        id: &str,
        outcome: &NoticeOutcome,
        audit: &AuditNote,
        now: i64,
    ) -> Result<(), ServerError>;
    /// Make a failed notice pending again, due at `notice_at`; `false` if it was not failed.
    fn retry_visit_request_notice(
        &self,
        id: &str,
        audit: &AuditNote,
        now: i64,
        notice_at: i64,
    ) -> Result<bool, ServerError>;
    /// Forget unconfirmed requests made before `before`; how many.
    fn sweep_unconfirmed_visit_requests(&self, before: i64) -> Result<usize, ServerError>;
    /// Forget one unconfirmed request (its code could not be sent).
    fn drop_unconfirmed_visit_request(&self, id: &str) -> Result<(), ServerError>;
    fn visit_request_counts(&self) -> Result<RequestCounts, ServerError>;
}
