//! Notices an applicant asked for on the public tracking page (підписка на сповіщення): each new
//! status event of the case is sent by e-mail or SMS to every confirmed contact. The contact is
//! kept only sealed under the personal-data key (with a keyed hash to find it again); the
//! confirmation code and the «stop notices» token only as MACs and hashes. A subscription keeps
//! the cursor of the last status event it was told, so a notice goes out at least once and in
//! order.

use crate::ServerError;
use crate::central::notify::Channel;

use super::StatusEvent;

/// A subscription waiting for its confirmation code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSubscription {
    /// Random, hex; the sealed contact is bound to it ("subscription:<id>").
    pub id: String,
    pub case_number: String,
    pub channel: Channel,
    pub contact_sealed: Vec<u8>,
    /// The contact's keyed hash (a contact given twice for one case is one subscription).
    pub contact_key: String,
    /// The confirmation code's keyed MAC, bound to the subscription's id.
    pub code_mac: String,
    pub code_expires_at: i64,
}

/// A subscription as the store keeps it (staff see it; the contact is still sealed here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeSubscription {
    pub id: String,
    pub case_number: String,
    pub channel: Channel,
    pub contact_sealed: Vec<u8>,
    pub created_at: i64,
    /// `None`: the code has not been entered yet.
    pub confirmed_at: Option<i64>,
    /// The last status event told (or given up on).
    pub last_cursor: i64,
    /// Failed tries of the next notice.
    pub attempts: i64,
    /// Why the last notice failed, in our words (never the address).
    pub last_error: Option<String>,
}

/// What asking for a confirmation code did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingOutcome {
    /// Kept; an earlier pending request for the same contact and case is replaced.
    Added,
    /// This contact already gets the case's notices.
    AlreadySubscribed,
    /// The case has as many subscriptions as it may.
    TooMany,
}

/// What entering a confirmation code did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    Confirmed,
    /// Wrong code; this many tries are left.
    WrongCode {
        tries_left: i64,
    },
    /// Wrong too many times: the request is dropped.
    TooManyWrong,
    /// The code's time ran out: the request is dropped.
    Expired,
    /// No pending request with this id for this case (confirmed already, dropped, or never).
    Unknown,
}

/// The next notice a subscription is owed: the first status event after its cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueNotice {
    pub subscription_id: String,
    pub channel: Channel,
    pub contact_sealed: Vec<u8>,
    /// The «stop notices» token, sealed ("subscription-stop:<id>"): each notice carries it.
    pub stop_sealed: Vec<u8>,
    pub attempts: i64,
    pub event: StatusEvent,
}

/// The subscriptions and their progress.
pub trait NoticeStore: Send + Sync {
    /// Keep a request for notices until its code is entered or expires; requests past their
    /// time are forgotten here too. At most `max_per_case` subscriptions (pending or not) per
    /// case, so a tracking code cannot be used to fill the store.
    fn add_pending_subscription(
        &self,
        pending: &PendingSubscription,
        max_per_case: i64,
        now: i64,
    ) -> Result<PendingOutcome, ServerError>;

    /// Check a code for pending subscription `id` of `case_number` by its MAC, counting a wrong
    /// one (`max_wrong` wrong codes drop the request). Confirmed, it gets its «stop» token's
    /// hash and sealed copy, and its cursor starts at the case's latest status event: only
    /// what happens from now on is sent.
    #[allow(clippy::too_many_arguments)]
    fn confirm_subscription(
        &self,
        id: &str,
        case_number: &str,
        code_mac: &str,
        stop_sha256: &str,
        stop_sealed: &[u8],
        max_wrong: i64,
        now: i64,
    ) -> Result<Confirmation, ServerError>;

    /// The confirmed subscription whose «stop» token hashes to `stop_sha256`.
    fn subscription_by_stop(
        &self,
        stop_sha256: &str,
    ) -> Result<Option<NoticeSubscription>, ServerError>;

    /// Drop the subscription whose «stop» token hashes to `stop_sha256`; whether there was one.
    fn stop_by_token(&self, stop_sha256: &str) -> Result<bool, ServerError>;

    /// Drop every subscription (pending or confirmed) of `case_number` to the contact with
    /// keyed hash `contact_key`; how many.
    fn stop_by_contact(&self, case_number: &str, contact_key: &str) -> Result<usize, ServerError>;

    /// Forget requests whose code expired unconfirmed (their sealed contact goes with them).
    fn forget_expired_pending(&self, now: i64) -> Result<usize, ServerError>;

    /// Every subscription of a case, oldest first (for staff).
    fn case_subscriptions(&self, case_number: &str)
    -> Result<Vec<NoticeSubscription>, ServerError>;

    /// Up to `limit` notices due at `now`: for each confirmed subscription not waiting out a
    /// failure, the first status event of its case after its cursor.
    fn due_notices(&self, now: i64, limit: i64) -> Result<Vec<DueNotice>, ServerError>;

    /// The notice of event `cursor` went out: the cursor moves past it and the failures are
    /// forgotten.
    fn notice_sent(&self, id: &str, cursor: i64) -> Result<(), ServerError>;

    /// The notice failed and is tried again at `next_attempt_at`.
    fn notice_failed(
        &self,
        id: &str,
        next_attempt_at: i64,
        reason: &str,
    ) -> Result<(), ServerError>;

    /// The notice of event `cursor` is given up (refused, or failed too often): the cursor
    /// moves past it so later events still go out, and `reason` stays for staff.
    fn notice_given_up(&self, id: &str, cursor: i64, reason: &str) -> Result<(), ServerError>;
}
