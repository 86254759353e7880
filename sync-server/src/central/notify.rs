//! Telling the applicant that their case moved, the way they chose on the visit: e-mail (SMTP,
//! with lettre as `fieldkit-receipt` sends receipts), SMS (the centre's HTTP gateway), or a
//! phone call (staff call; the audit trail says one is due). The message carries the case
//! number and the new status, Ukrainian first, and nothing else: no name, no address, no
//! service.
//!
//! Durable like the case outbox: the events endpoint queues a notification in the transaction
//! that records the event ([`enqueue`]); the worker here sends due rows, tries a failure again
//! after a back-off with full jitter (the `[central]` `max_attempts` and `backoff_*`), and gives
//! up as a dead letter. Each outcome is audited; none undoes the event. The queue holds the case
//! number and the status only: the contact is read from the sealed case, opened in memory, at
//! each attempt. Sending is at least once: a crash between a send and its record sends again.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use fieldkit_domain::case::Notification;
use fieldkit_domain::workflow::{CaseState, StateName};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{SmtpTransport, Transport};
use rusqlite::{Transaction, params};
use zeroize::Zeroizing;

use super::config::{NotifyConfig, SmtpSecurity};
use super::outbox::{BATCH, POLL_INTERVAL, backoff_cap, jittered};
use super::signing::read_secret;
use super::{CentralError, CentralState};
use crate::ServerError;
use crate::office::db::{OfficeDb, audit};
use crate::opened::open_stored;

/// Who the audit trail names for notifications.
pub const ACTOR: &str = "central-connector";

const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// The status in words, (Ukrainian, English), from the domain's one vocabulary.
pub fn status_words(status: &StateName) -> (&'static str, &'static str) {
    status.words()
}

/// What the applicant receives: the case number and the status, nothing more.
pub struct Message {
    pub subject: String,
    pub text: String,
    pub sms: String,
}

pub fn message(case_number: &str, status: &str) -> Message {
    let (uk, en) = status_words(&StateName::parse(status));
    Message {
        subject: format!("Справа {case_number}: {uk} / Case {case_number}: {en}"),
        text: format!(
            "Добрий день!\n\nСправа {case_number}: {uk}.\n\
             Лист надіслано автоматично, відповідати на нього не потрібно.\n\n\
             Hello,\n\nCase {case_number}: {en}.\n\
             This message was sent automatically; there is no need to reply.\n"
        ),
        sms: format!("ЦНАП: справа {case_number}: {uk}. Case {case_number}: {en}."),
    }
}

struct Mail {
    host: String,
    port: u16,
    security: SmtpSecurity,
    credentials: Option<(String, Zeroizing<Vec<u8>>)>,
    from: Mailbox,
}

struct Sms {
    client: reqwest::Client,
    url: String,
    token: Zeroizing<String>,
}

/// The configured channels; a channel not configured fails (audited) when an applicant chose it.
#[derive(Default)]
pub struct Notifier {
    mail: Option<Mail>,
    sms: Option<Sms>,
}

impl Notifier {
    pub fn from_config(config: Option<&NotifyConfig>) -> Result<Self, CentralError> {
        let Some(config) = config else {
            return Ok(Self::default());
        };
        let mail = match (&config.smtp_host, &config.from) {
            (Some(host), Some(from)) => Some(Mail {
                host: host.clone(),
                port: config.smtp_port,
                security: config.smtp_security,
                credentials: match (&config.smtp_username, &config.smtp_password_file) {
                    (Some(user), Some(file)) => Some((user.clone(), read_password(file)?)),
                    _ => None,
                },
                from: from.parse().map_err(|_| {
                    CentralError::Config(format!("[central.notify] from: {from} is not an address"))
                })?,
            }),
            _ => None,
        };
        let sms = match (&config.sms_gateway_url, &config.sms_gateway_token_file) {
            (Some(url), Some(file)) => {
                let token = read_secret(file)?;
                let token =
                    String::from_utf8(token.to_vec()).map_err(|_| CentralError::KeyFile {
                        path: file.clone(),
                        reason: "the token is not text".into(),
                    })?;
                Some(Sms {
                    client: super::connector::http_client(None, SEND_TIMEOUT)?,
                    url: url.clone(),
                    token: Zeroizing::new(token),
                })
            }
            _ => None,
        };
        Ok(Self { mail, sms })
    }
}

/// SMTP passwords may be short (the mail server's choice), unlike the HMAC secrets.
fn read_password(path: &std::path::Path) -> Result<Zeroizing<Vec<u8>>, CentralError> {
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| CentralError::KeyFile {
        path: path.to_owned(),
        reason: e.to_string(),
    })?);
    Ok(Zeroizing::new(bytes.trim_ascii_end().to_vec()))
}

/// Why a notification did not go out, in words fit for the audit trail and the queue (the mail
/// server's or gateway's own text is left out, as it may quote the address), and whether
/// trying again can help.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Failure {
    reason: String,
    retry: bool,
}

impl Failure {
    /// The channel may work later: down, slow, overloaded.
    fn retry(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            retry: true,
        }
    }

    /// Trying again will not help: an address refused, a channel not configured.
    fn permanent(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            retry: false,
        }
    }
}

fn smtp_failure(error: &lettre::transport::smtp::Error) -> Failure {
    let code = error.status().map(|c| format!(" {c}")).unwrap_or_default();
    if error.is_timeout() {
        Failure::retry("SMTP timed out")
    } else if error.is_permanent() {
        Failure::permanent(format!("SMTP refused the message permanently{code}"))
    } else if error.is_transient() {
        Failure::retry(format!("SMTP refused the message for now{code}"))
    } else if error.is_tls() {
        Failure::retry("SMTP TLS failed")
    } else {
        Failure::retry("SMTP connection failed")
    }
}

fn send_mail(mail: &Mail, to: &str, message: &Message) -> Result<(), Failure> {
    let to: Mailbox = to
        .parse()
        .map_err(|_| Failure::permanent("the applicant's e-mail address is not valid"))?;
    let email = lettre::Message::builder()
        .from(mail.from.clone())
        .to(to)
        .subject(&message.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(message.text.clone())
        .map_err(|_| Failure::permanent("the message could not be built"))?;
    let tls = || TlsParameters::new(mail.host.clone()).map_err(|e| smtp_failure(&e));
    let mut builder = SmtpTransport::builder_dangerous(&mail.host)
        .port(mail.port)
        .timeout(Some(SEND_TIMEOUT));
    builder = match mail.security {
        SmtpSecurity::None => builder.tls(Tls::None),
        SmtpSecurity::Starttls => builder.tls(Tls::Required(tls()?)),
        SmtpSecurity::Tls => builder.tls(Tls::Wrapper(tls()?)),
    };
    if let Some((user, password)) = &mail.credentials {
        let password = String::from_utf8_lossy(password).into_owned();
        builder = builder.credentials(Credentials::new(user.clone(), password));
    }
    builder
        .build()
        .send(&email)
        .map(|_| ())
        .map_err(|e| smtp_failure(&e))
}

async fn send_sms(sms: &Sms, to: &str, text: &str) -> Result<(), Failure> {
    let response = sms
        .client
        .post(&sms.url)
        .bearer_auth(sms.token.as_str())
        .json(&serde_json::json!({ "to": to, "text": text }))
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                Failure::retry("the SMS gateway timed out")
            } else {
                Failure::retry("the SMS gateway could not be reached")
            }
        })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let reason = format!("the SMS gateway answered HTTP {}", status.as_u16());
    // As for the case connector: failing, overloaded or timed out is worth another try; any
    // other answer is the gateway refusing this message.
    if status.is_server_error() || matches!(status.as_u16(), 408 | 429) {
        Err(Failure::retry(reason))
    } else {
        Err(Failure::permanent(reason))
    }
}

// ---------------------------------------------------------------------------------------------
// The queue.

/// Queue the notification of event `event_id` (case `case_number` is now `status`), inside the
/// transaction that records the event. Queuing it twice changes nothing.
pub fn enqueue(
    tx: &Transaction<'_>,
    event_id: &str,
    case_number: &str,
    state: CaseState,
    now: i64,
) -> Result<(), ServerError> {
    tx.execute(
        "INSERT OR IGNORE INTO notify_outbox
         (event_id, case_number, status, state, enqueued_at, attempts, next_attempt_at)
         VALUES (?1, ?2, ?3, 'pending', ?4, 0, ?4)",
        params![event_id, case_number, state.name(), now],
    )?;
    Ok(())
}

/// Where a queued notification is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationState {
    /// To be sent (again) at `next_attempt_at`.
    Pending,
    /// The mail server or the SMS gateway took it.
    Sent,
    /// Nothing to send, for good: the applicant chose no notification, or a phone call (staff's).
    Skipped,
    /// Given up: refused, or failed `max_attempts` times.
    Dead,
}

impl NotificationState {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "pending" => Self::Pending,
            "sent" => Self::Sent,
            "skipped" => Self::Skipped,
            "dead" => Self::Dead,
            _ => return None,
        })
    }
}

/// One queued notification, for the back-office's case page (no contact: there is none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationEntry {
    pub event_id: String,
    pub case_number: String,
    pub status: String,
    pub state: NotificationState,
    pub enqueued_at: i64,
    pub attempts: i64,
    pub next_attempt_at: i64,
    /// When it was sent, skipped or given up.
    pub done_at: Option<i64>,
    /// Why the last attempt failed, in our words.
    pub last_error: Option<String>,
}

/// The notifications of one case, in the order its events came.
pub fn notifications_of(
    db: &OfficeDb,
    case_number: &str,
) -> Result<Vec<NotificationEntry>, ServerError> {
    db.transaction(|tx| {
        let mut statement = tx.prepare(
            "SELECT event_id, case_number, status, state, enqueued_at, attempts, next_attempt_at,
                    done_at, last_error
             FROM notify_outbox WHERE case_number = ?1 ORDER BY seq",
        )?;
        let rows = statement
            .query_map([case_number], |r| {
                Ok(NotificationEntry {
                    event_id: r.get(0)?,
                    case_number: r.get(1)?,
                    status: r.get(2)?,
                    state: NotificationState::parse(&r.get::<_, String>(3)?).ok_or_else(|| {
                        rusqlite::Error::InvalidColumnType(
                            3,
                            "state".into(),
                            rusqlite::types::Type::Text,
                        )
                    })?,
                    enqueued_at: r.get(4)?,
                    attempts: r.get(5)?,
                    next_attempt_at: r.get(6)?,
                    done_at: r.get(7)?,
                    last_error: r.get(8)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    })
}

/// Send a dead notification again (staff fixed what was wrong, or the channel is back), inside
/// `tx`: the row is pending once more, due now, with a fresh count of attempts, and the audit
/// trail names `actor` (`notify.dead_letter_retried`). Its `last_error` stays until the next
/// attempt tells something new. Returns the case number; `Ok(Err(state))` when the row is not
/// dead (nothing is changed); `NotFound` when no notification has `event_id`. The worker sends
/// it at its next look ([`wake`] it if you hold the [`CentralState`]).
pub fn retry_dead(
    tx: &Transaction<'_>,
    event_id: &str,
    actor: &str,
    now: i64,
) -> Result<Result<String, NotificationState>, ServerError> {
    use rusqlite::OptionalExtension;

    let row: Option<(String, String, String, i64)> = tx
        .query_row(
            "SELECT case_number, status, state, attempts FROM notify_outbox WHERE event_id = ?1",
            [event_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let (case_number, status, state, attempts) = row.ok_or(ServerError::NotFound)?;
    let state = NotificationState::parse(&state)
        .ok_or_else(|| ServerError::Storage(format!("notify_outbox: unknown state {state}")))?;
    if state != NotificationState::Dead {
        return Ok(Err(state));
    }
    tx.execute(
        "UPDATE notify_outbox SET state = 'pending', attempts = 0, next_attempt_at = ?2,
         done_at = NULL WHERE event_id = ?1 AND state = 'dead'",
        params![event_id, now],
    )?;
    audit(
        tx,
        actor,
        "notify.dead_letter_retried",
        &case_number,
        &format!("status={status} event={event_id} attempts={attempts}"),
        now,
    )?;
    Ok(Ok(case_number))
}

/// What one pass of the worker did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotifyReport {
    pub sent: usize,
    pub skipped: usize,
    pub retried: usize,
    pub dead: usize,
}

impl NotifyReport {
    fn total(&self) -> usize {
        self.sent + self.skipped + self.retried + self.dead
    }
}

/// A pending row whose case has no earlier notification still pending: one case's
/// notifications go out in the order its events came, never a later status before an earlier.
const READY: &str = "n.state = 'pending' AND NOT EXISTS (
    SELECT 1 FROM notify_outbox p
    WHERE p.case_number = n.case_number AND p.state = 'pending' AND p.seq < n.seq)";

struct Due {
    seq: i64,
    event_id: String,
    case_number: String,
    status: String,
    attempts: i64,
    /// The sealed case the contact is in; `None` if the case left the register.
    envelope_id: Option<String>,
}

fn due_rows(db: &OfficeDb, now: i64) -> Result<Vec<Due>, ServerError> {
    db.transaction(|tx| {
        let mut statement = tx.prepare(&format!(
            "SELECT n.seq, n.event_id, n.case_number, n.status, n.attempts, c.envelope_id
             FROM notify_outbox n LEFT JOIN office_cases c ON c.case_number = n.case_number
             WHERE {READY} AND n.next_attempt_at <= ?1
             ORDER BY n.next_attempt_at, n.seq LIMIT ?2"
        ))?;
        let rows = statement
            .query_map(params![now, BATCH], |r| {
                Ok(Due {
                    seq: r.get(0)?,
                    event_id: r.get(1)?,
                    case_number: r.get(2)?,
                    status: r.get(3)?,
                    attempts: r.get(4)?,
                    envelope_id: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    })
}

/// When the next ready row is due, if any is pending.
fn next_due(db: &OfficeDb) -> Result<Option<i64>, ServerError> {
    db.transaction(|tx| {
        Ok(tx.query_row(
            &format!("SELECT MIN(n.next_attempt_at) FROM notify_outbox n WHERE {READY}"),
            [],
            |r| r.get(0),
        )?)
    })
}

// ---------------------------------------------------------------------------------------------
// Sending.

/// What one attempt came to.
enum Attempt {
    /// Sent: the audit action.
    Sent(&'static str),
    /// Nothing to send, for good: the audit action and why.
    Skipped(&'static str, &'static str),
    /// Not sent: the audit action and why.
    Failed(&'static str, Failure),
}

/// Open the case for the applicant's choice and send the message that way.
async fn attempt(state: &Arc<CentralState>, due: &Due) -> Attempt {
    let Some(envelope_id) = due.envelope_id.clone() else {
        return Attempt::Failed(
            "notify.failed",
            Failure::permanent("the case is not in the register"),
        );
    };
    let opener = state.clone();
    let choice = tokio::task::spawn_blocking(move || {
        open_stored(
            opener.meta.as_ref(),
            opener.blobs.as_ref(),
            &opener.sealing_keys,
            &envelope_id,
        )
        .map(|opened| opened.case.notification)
    })
    .await;
    let choice = match choice {
        Ok(Ok(choice)) => choice,
        Ok(Err(ServerError::NotFound)) => {
            return Attempt::Failed(
                "notify.failed",
                Failure::permanent("the envelope is not on this server"),
            );
        }
        Ok(Err(e)) => {
            return Attempt::Failed(
                "notify.failed",
                Failure::retry(format!("the case could not be opened: {e}")),
            );
        }
        Err(e) => {
            return Attempt::Failed(
                "notify.failed",
                Failure::retry(format!("the opening task failed: {e}")),
            );
        }
    };
    let message = message(&due.case_number, &due.status);
    match choice {
        None => Attempt::Skipped("notify.not_chosen", "the applicant chose no notification"),
        Some(Notification::PhoneCall { .. }) => Attempt::Skipped(
            "notify.call_needed",
            "the applicant asked for a phone call; staff must call",
        ),
        Some(Notification::Email { address }) => {
            // lettre's SMTP transport blocks: off the async threads.
            let sender = state.clone();
            let sent = tokio::task::spawn_blocking(move || match &sender.notifier.mail {
                Some(mail) => send_mail(mail, &address.0, &message),
                None => Err(Failure::permanent(
                    "no SMTP server configured ([central.notify] smtp_host)",
                )),
            })
            .await
            .unwrap_or_else(|e| Err(Failure::retry(format!("the sending task failed: {e}"))));
            match sent {
                Ok(()) => Attempt::Sent("notify.email_sent"),
                Err(failure) => Attempt::Failed("notify.email_failed", failure),
            }
        }
        Some(Notification::Sms { phone }) => {
            let sent = match &state.notifier.sms {
                None => Err(Failure::permanent(
                    "no SMS gateway configured ([central.notify] sms_gateway_url)",
                )),
                Some(sms) => send_sms(sms, &phone.0, &message.sms).await,
            };
            match sent {
                Ok(()) => Attempt::Sent("notify.sms_sent"),
                Err(failure) => Attempt::Failed("notify.sms_failed", failure),
            }
        }
    }
}

/// Store the outcome of an attempt on its row and in the audit trail, in one transaction.
fn record(
    state: &CentralState,
    due: &Due,
    outcome: Attempt,
    report: &mut NotifyReport,
) -> Result<(), CentralError> {
    let now = state.now();
    let attempts = due.attempts + 1;
    let case = due.case_number.as_str();
    let head = format!(
        "status={} event={} attempt={attempts}",
        due.status, due.event_id
    );
    let finish = |tx: &Transaction<'_>, row_state: &str, error: Option<&str>| {
        tx.execute(
            "UPDATE notify_outbox SET state = ?2, attempts = ?3, done_at = ?4, last_error = ?5
             WHERE seq = ?1",
            params![due.seq, row_state, attempts, now, error],
        )
    };
    match outcome {
        Attempt::Sent(action) => {
            state.db.transaction(|tx| {
                finish(tx, "sent", None)?;
                audit(tx, ACTOR, action, case, &head, now)
            })?;
            report.sent += 1;
        }
        Attempt::Skipped(action, why) => {
            state.db.transaction(|tx| {
                finish(tx, "skipped", None)?;
                audit(tx, ACTOR, action, case, &format!("{head}: {why}"), now)
            })?;
            report.skipped += 1;
        }
        Attempt::Failed(action, failure)
            if failure.retry && attempts < i64::from(state.config.max_attempts) =>
        {
            let cap = backoff_cap(
                due.attempts,
                state.config.backoff_base_seconds,
                state.config.backoff_max_seconds,
            );
            let wait = jittered(cap);
            let reason = &failure.reason;
            state.db.transaction(|tx| {
                tx.execute(
                    "UPDATE notify_outbox SET attempts = ?2, next_attempt_at = ?3, last_error = ?4
                     WHERE seq = ?1",
                    params![due.seq, attempts, now + wait, reason],
                )?;
                let detail = format!("{head}: {reason}; next attempt in {wait} s");
                audit(tx, ACTOR, action, case, &detail, now)
            })?;
            tracing::warn!(case_number = %case, action, attempts, wait, %reason, "the applicant was not notified; will retry");
            report.retried += 1;
        }
        Attempt::Failed(action, failure) => {
            let reason = &failure.reason;
            state.db.transaction(|tx| {
                finish(tx, "dead", Some(reason))?;
                audit(tx, ACTOR, action, case, &format!("{head}: {reason}"), now)?;
                let detail = format!(
                    "status={} event={} attempts={attempts}",
                    due.status, due.event_id
                );
                audit(tx, ACTOR, "notify.dead_letter", case, &detail, now)
            })?;
            tracing::error!(case_number = %case, action, attempts, %reason, "the applicant was not notified: dead letter");
            report.dead += 1;
        }
    }
    Ok(())
}

/// One pass: try every due notification once. Tests call it with a moved clock instead of
/// waiting through the back-off.
pub async fn run_once(state: &Arc<CentralState>) -> Result<NotifyReport, CentralError> {
    let mut report = NotifyReport::default();
    for due in due_rows(&state.db, state.now())? {
        let outcome = attempt(state, &due).await;
        record(state, &due, outcome, &mut report)?;
    }
    Ok(report)
}

/// How long to wait after a pass that left no full batch: until the next row is due, at least
/// a second (the clock counts seconds) and at most the poll interval.
fn pause(state: &CentralState) -> Duration {
    let next = match next_due(&state.db) {
        Ok(Some(next)) => next,
        Ok(None) => return POLL_INTERVAL,
        Err(e) => {
            tracing::error!(error = %e, "the notification queue could not be read");
            return POLL_INTERVAL;
        }
    };
    let poll = i64::try_from(POLL_INTERVAL.as_secs()).unwrap_or(i64::MAX);
    let seconds = (next - state.now()).clamp(1, poll);
    Duration::from_secs(seconds.unsigned_abs())
}

/// The worker: a pass, then (unless the pass had a full batch) a pause until the next row is
/// due, the poll interval, or a wake-up from the events endpoint, whichever comes first.
pub async fn run_notifications(state: Arc<CentralState>) {
    loop {
        let pause = match run_once(&state).await {
            Ok(report) if report.total() >= BATCH as usize => continue,
            Ok(_) => pause(&state),
            Err(e) => {
                tracing::error!(error = %e, "the notification pass failed");
                POLL_INTERVAL
            }
        };
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = state.notify_wake.notified() => {}
        }
    }
}

/// Wake the worker: a notification was queued.
pub fn wake(state: &CentralState) {
    state.notify_wake.notify_one();
}

/// Start the worker on the current tokio runtime, once per state (`None` if it runs already):
/// it sends what is queued, what an earlier run left pending included.
pub fn spawn(state: Arc<CentralState>) -> Option<tokio::task::JoinHandle<()>> {
    if state.notify_worker.swap(true, Ordering::SeqCst) {
        return None;
    }
    Some(tokio::spawn(run_notifications(state)))
}

/// A way to reach a person who asked on the public pages: a confirmation code, a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    /// The stable stored name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Email, Self::Sms]
            .into_iter()
            .find(|channel| channel.name() == name)
    }
}

/// Why a direct message did not go out, in words without the address; and whether trying
/// again later can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFailure {
    pub reason: String,
    pub retry: bool,
}

impl From<Failure> for SendFailure {
    fn from(failure: Failure) -> Self {
        Self {
            reason: failure.reason,
            retry: failure.retry,
        }
    }
}

impl CentralState {
    /// Whether `[central.notify]` configures `channel` (a page offers only what can be sent).
    pub fn can_send(&self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.notifier.mail.is_some(),
            Channel::Sms => self.notifier.sms.is_some(),
        }
    }

    /// Send `message` to `to` now over `channel` (the public side's confirmation codes and
    /// notices, which have their own queues and records).
    pub async fn send_now(
        self: &Arc<Self>,
        channel: Channel,
        to: &str,
        message: Message,
    ) -> Result<(), SendFailure> {
        match channel {
            Channel::Email => {
                let (sender, to) = (self.clone(), to.to_owned());
                tokio::task::spawn_blocking(move || match &sender.notifier.mail {
                    Some(mail) => send_mail(mail, &to, &message),
                    None => Err(Failure::permanent(
                        "no SMTP server configured ([central.notify] smtp_host)",
                    )),
                })
                .await
                .unwrap_or_else(|e| Err(Failure::retry(format!("the sending task failed: {e}"))))
                .map_err(SendFailure::from)
            }
            Channel::Sms => match &self.notifier.sms {
                None => Err(SendFailure::from(Failure::permanent(
                    "no SMS gateway configured ([central.notify] sms_gateway_url)",
                ))),
                Some(sms) => send_sms(sms, to, &message.sms)
                    .await
                    .map_err(SendFailure::from),
            },
        }
    }
}
