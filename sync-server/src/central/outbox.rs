//! The transactional outbox to the central system. The back-office queues a case in the same
//! transaction that accepts it ([`enqueue`]); the worker here picks due rows, opens each case in
//! memory, hands it to the connector and records the outcome: delivered (the case is
//! `forwarded`), tried again after an exponential back-off with full jitter, or parked as a
//! dead letter that staff can send again ([`retry_dead_letter`]). Delivery is at least once;
//! the envelope id is the idempotency key that makes a repeat harmless at the receiver.

use std::sync::Arc;
use std::time::Duration;

use fieldkit_domain::catalog::Catalog;
use fieldkit_domain::workflow::{CaseEvent, CaseState};
use ring::rand::{SecureRandom, SystemRandom};
use rusqlite::{OptionalExtension, Transaction, params};

use super::connector::Delivery;
use super::package::{CasePackage, SupplementNotice, rfc3339_at};
use super::{CentralError, CentralState};
use crate::ServerError;
use crate::office::db::{OfficeDb, audit};
use crate::opened::open_stored;

/// Who the audit trail names for what the worker does.
pub const ACTOR: &str = "central-connector";

/// How often the worker looks for due rows when the last pass found none to spare.
pub const POLL_INTERVAL: Duration = Duration::from_secs(5);

/// Rows taken per pass: a long outage must not make one pass run for hours.
pub(crate) const BATCH: i64 = 32;

/// Queue an accepted case for the central system, inside the caller's transaction (the one
/// that sets `office_cases.state = 'accepted'`). Queuing it twice changes nothing.
pub fn enqueue(
    tx: &Transaction<'_>,
    envelope_id: &str,
    case_number: &str,
    now: i64,
) -> Result<(), ServerError> {
    tx.execute(
        "INSERT OR IGNORE INTO central_outbox (envelope_id, case_number, enqueued_at, attempts, next_attempt_at)
         VALUES (?1, ?2, ?3, 0, ?3)",
        params![envelope_id, case_number, now],
    )?;
    Ok(())
}

/// One row of the outbox, for the back-office's case page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub envelope_id: String,
    pub case_number: String,
    pub enqueued_at: i64,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub delivered_at: Option<i64>,
    pub dead_at: Option<i64>,
    /// Why the last attempt failed (status and the receiver's code; no case data).
    pub last_error: Option<String>,
}

/// A case the connector gave up on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub envelope_id: String,
    pub case_number: String,
    pub enqueued_at: i64,
    pub attempts: i64,
    pub dead_at: i64,
    pub last_error: Option<String>,
}

/// How the outbox stands, for the back-office's overview.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    /// Queued, not tried yet.
    pub waiting: i64,
    /// Tried and failed, to be tried again.
    pub retrying: i64,
    pub delivered: i64,
    pub dead: i64,
}

/// What one pass of the worker did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunReport {
    pub delivered: usize,
    pub retried: usize,
    pub dead: usize,
}

impl RunReport {
    fn total(&self) -> usize {
        self.delivered + self.retried + self.dead
    }
}

const ENTRY_COLUMNS: &str = "envelope_id, case_number, enqueued_at, attempts, next_attempt_at, delivered_at, dead_at, last_error";

fn entry_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxEntry> {
    Ok(OutboxEntry {
        envelope_id: r.get(0)?,
        case_number: r.get(1)?,
        enqueued_at: r.get(2)?,
        attempts: r.get(3)?,
        next_attempt_at: r.get(4)?,
        delivered_at: r.get(5)?,
        dead_at: r.get(6)?,
        last_error: r.get(7)?,
    })
}

/// The outbox row of one envelope, if it was ever queued.
pub fn outbox_entry(db: &OfficeDb, envelope_id: &str) -> Result<Option<OutboxEntry>, ServerError> {
    db.transaction(|tx| outbox_entry_in(tx, envelope_id))
}

/// As [`outbox_entry`], inside the caller's transaction.
pub fn outbox_entry_in(
    tx: &Transaction<'_>,
    envelope_id: &str,
) -> Result<Option<OutboxEntry>, ServerError> {
    Ok(tx
        .query_row(
            &format!("SELECT {ENTRY_COLUMNS} FROM central_outbox WHERE envelope_id = ?1"),
            [envelope_id],
            entry_from_row,
        )
        .optional()?)
}

/// Every dead letter, the most recent first.
pub fn dead_letters(db: &OfficeDb) -> Result<Vec<DeadLetter>, ServerError> {
    db.transaction(|tx| {
        let mut statement = tx.prepare(
            "SELECT envelope_id, case_number, enqueued_at, attempts, dead_at, last_error
             FROM central_outbox WHERE dead_at IS NOT NULL ORDER BY dead_at DESC, envelope_id",
        )?;
        let rows = statement
            .query_map([], |r| {
                Ok(DeadLetter {
                    envelope_id: r.get(0)?,
                    case_number: r.get(1)?,
                    enqueued_at: r.get(2)?,
                    attempts: r.get(3)?,
                    dead_at: r.get(4)?,
                    last_error: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    })
}

/// Counts of the outbox's rows by where they are.
pub fn outbox_counts(db: &OfficeDb) -> Result<OutboxCounts, ServerError> {
    db.transaction(|tx| {
        Ok(tx.query_row(
            "SELECT
                COUNT(*) FILTER (WHERE delivered_at IS NULL AND dead_at IS NULL AND attempts = 0),
                COUNT(*) FILTER (WHERE delivered_at IS NULL AND dead_at IS NULL AND attempts > 0),
                COUNT(*) FILTER (WHERE delivered_at IS NOT NULL),
                COUNT(*) FILTER (WHERE dead_at IS NOT NULL)
             FROM central_outbox",
            [],
            |r| {
                Ok(OutboxCounts {
                    waiting: r.get(0)?,
                    retrying: r.get(1)?,
                    delivered: r.get(2)?,
                    dead: r.get(3)?,
                })
            },
        )?)
    })
}

/// Send a dead letter again (staff fixed what was wrong): it is due at once with a fresh
/// count of attempts. `NotFound` when `envelope_id` is not a dead letter.
pub fn retry_dead_letter(
    db: &OfficeDb,
    envelope_id: &str,
    actor: &str,
    now: i64,
) -> Result<(), ServerError> {
    db.transaction(|tx| {
        let case_number: String = tx
            .query_row(
                "SELECT case_number FROM central_outbox WHERE envelope_id = ?1 AND dead_at IS NOT NULL",
                [envelope_id],
                |r| r.get(0),
            )
            .optional()?
            .ok_or(ServerError::NotFound)?;
        tx.execute(
            "UPDATE central_outbox SET dead_at = NULL, attempts = 0, next_attempt_at = ?2
             WHERE envelope_id = ?1",
            params![envelope_id, now],
        )?;
        audit(
            tx,
            actor,
            "case.dead_letter_retried",
            &case_number,
            &format!("envelope={envelope_id}"),
            now,
        )
    })
}

/// The longest wait before attempt `attempts + 1`: `base · 2^attempts`, at most `max`.
pub fn backoff_cap(attempts: i64, base: i64, max: i64) -> i64 {
    let doublings = u32::try_from(attempts.clamp(0, 62)).unwrap_or(62);
    base.checked_mul(1i64 << doublings)
        .map_or(max, |d| d.min(max))
}

/// Full jitter: a uniform wait in `0..=cap`, so tablets' cases that failed together do not
/// all come back together.
pub(crate) fn jittered(cap: i64) -> i64 {
    let mut bytes = [0u8; 8];
    if cap <= 0 || SystemRandom::new().fill(&mut bytes).is_err() {
        return cap.max(0);
    }
    (u64::from_le_bytes(bytes) % (cap.unsigned_abs() + 1)) as i64
}

struct Due {
    envelope_id: String,
    case_number: String,
    attempts: i64,
}

fn due_rows(db: &OfficeDb, now: i64) -> Result<Vec<Due>, ServerError> {
    db.transaction(|tx| {
        let mut statement = tx.prepare(
            "SELECT envelope_id, case_number, attempts FROM central_outbox
             WHERE delivered_at IS NULL AND dead_at IS NULL AND next_attempt_at <= ?1
             ORDER BY next_attempt_at, enqueued_at, envelope_id LIMIT ?2",
        )?;
        let rows = statement
            .query_map(params![now, BATCH], |r| {
                Ok(Due {
                    envelope_id: r.get(0)?,
                    case_number: r.get(1)?,
                    attempts: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    })
}

/// Open the case and pack it, off the async threads (decrypting a large case takes a while).
async fn pack(state: &Arc<CentralState>, envelope_id: &str) -> Result<CasePackage, Delivery> {
    let state = state.clone();
    let id = envelope_id.to_owned();
    let packed = tokio::task::spawn_blocking(move || {
        // A supplement's message is its case's document with the notice of what it did;
        // so is an archiving notice.
        let supplement = state.meta.supplement(&id)?;
        let archived = crate::office::archive::notice_of(&id).map(str::to_owned);
        let case_envelope = match (&supplement, &archived) {
            (Some(s), _) => {
                state
                    .meta
                    .case_envelope(&s.envelope.case_number)?
                    .ok_or(ServerError::NotFound)?
                    .envelope_id
            }
            (None, Some(case_envelope)) => case_envelope.clone(),
            (None, None) => id.clone(),
        };
        let opened = open_stored(
            state.meta.as_ref(),
            state.blobs.as_ref(),
            &state.sealing_keys,
            &case_envelope,
        )?;
        let catalog = state
            .meta
            .catalog_since(0)?
            .and_then(|(_, toml)| Catalog::from_toml_str(&toml).ok());
        let package = CasePackage::build(&opened, catalog.as_ref());
        Ok::<_, ServerError>(match supplement {
            None if archived.is_some() => {
                let notice = SupplementNotice {
                    kind: "archive",
                    case_envelope_id: case_envelope,
                    device_id: package.document.device_id.clone(),
                    recorded_at: String::new(),
                    state: CaseState::Archived.name(),
                };
                package.supplement(&id, notice)
            }
            None => package,
            Some(s) => {
                let notice = SupplementNotice {
                    kind: s.kind.name(),
                    case_envelope_id: case_envelope,
                    device_id: s.envelope.device_id.clone(),
                    recorded_at: rfc3339_at(s.applied_at.unwrap_or_default()),
                    state: crate::office::supplements::state_after(s.kind).name(),
                };
                package.supplement(&id, notice)
            }
        })
    })
    .await;
    match packed {
        Ok(Ok(package)) => Ok(package),
        Ok(Err(ServerError::NotFound)) => {
            Err(Delivery::permanent("the envelope is not on this server"))
        }
        Ok(Err(e)) => Err(Delivery::retry(format!(
            "the case could not be opened: {e}"
        ))),
        Err(e) => Err(Delivery::retry(format!("the packing task failed: {e}"))),
    }
}

/// One pass: deliver every due row once. Tests call it with a moved clock instead of
/// sleeping through the back-off.
pub async fn run_once(state: &Arc<CentralState>) -> Result<RunReport, CentralError> {
    let mut report = RunReport::default();
    let Some(connector) = state.connector.as_ref() else {
        return Ok(report);
    };
    for row in due_rows(&state.db, state.now())? {
        let outcome = match pack(state, &row.envelope_id).await {
            Ok(package) => connector.deliver(Arc::new(package)).await,
            Err(failure) => failure,
        };
        record(state, &row, connector.name(), outcome, &mut report)?;
    }
    Ok(report)
}

/// What the outbox row keeps: our words, then the receiver's.
fn last_error(error: &str, detail: Option<String>) -> String {
    match detail {
        Some(detail) => format!("{error}: {detail}"),
        None => error.to_owned(),
    }
}

fn record(
    state: &CentralState,
    row: &Due,
    connector: &str,
    outcome: Delivery,
    report: &mut RunReport,
) -> Result<(), CentralError> {
    let now = state.now();
    let attempts = row.attempts + 1;
    let (envelope, case) = (&row.envelope_id, &row.case_number);
    match outcome {
        Delivery::Delivered { central_number } => {
            // A supplement's delivery tells the central system of a step already taken: the
            // case does not become «forwarded» again.
            let is_case = state.meta.supplement(envelope)?.is_none()
                && crate::office::archive::notice_of(envelope).is_none();
            // The tablets' feed first: a crash before the commit below repeats the delivery
            // and the event (harmless), rather than losing the event.
            if is_case {
                state
                    .meta
                    .add_status_event(case, CaseState::Forwarded, None, now)?;
            }
            state.db.transaction(|tx| {
                tx.execute(
                    "UPDATE central_outbox SET delivered_at = ?2, attempts = ?3, last_error = NULL
                     WHERE envelope_id = ?1",
                    params![envelope, now, attempts],
                )?;
                // Only an accepted case becomes forwarded (the workflow's one step for a
                // delivery): an event from the central system may already have moved it on.
                let (from, event) = (CaseState::Accepted, CaseEvent::DeliveredToCentral);
                if let (true, Ok(forwarded)) = (is_case, from.apply(&event)) {
                    tx.execute(
                        "UPDATE office_cases SET state = ?3, updated_at = ?2
                         WHERE case_number = ?1 AND state = ?4",
                        params![case, now, forwarded.name(), from.name()],
                    )?;
                }
                if let Some(number) = &central_number {
                    tx.execute(
                        "UPDATE office_cases SET central_number = ?2, updated_at = ?3 WHERE case_number = ?1",
                        params![case, number, now],
                    )?;
                }
                let number = central_number
                    .as_deref()
                    .map(|n| format!(" central_number={n}"))
                    .unwrap_or_default();
                audit(
                    tx,
                    ACTOR,
                    "case.forwarded",
                    case,
                    &format!("connector={connector} envelope={envelope} attempts={attempts}{number}"),
                    now,
                )
            })?;
            tracing::info!(case_number = %case, envelope_id = %envelope, attempts, "case forwarded to the central system");
            report.delivered += 1;
        }
        Delivery::Retry {
            error,
            detail,
            retry_after,
        } if attempts < i64::from(state.config.max_attempts) => {
            let cap = backoff_cap(
                row.attempts,
                state.config.backoff_base_seconds,
                state.config.backoff_max_seconds,
            );
            let wait = jittered(cap).max(
                retry_after
                    .unwrap_or(0)
                    .min(state.config.backoff_max_seconds),
            );
            state.db.transaction(|tx| {
                tx.execute(
                    "UPDATE central_outbox SET attempts = ?2, next_attempt_at = ?3, last_error = ?4
                     WHERE envelope_id = ?1",
                    params![envelope, attempts, now + wait, last_error(&error, detail)],
                )?;
                Ok(())
            })?;
            tracing::warn!(case_number = %case, envelope_id = %envelope, attempts, wait, %error, "delivery to the central system failed; will retry");
            report.retried += 1;
        }
        Delivery::Retry { error, detail, .. } | Delivery::Permanent { error, detail } => {
            state.db.transaction(|tx| {
                tx.execute(
                    "UPDATE central_outbox SET attempts = ?2, dead_at = ?3, last_error = ?4
                     WHERE envelope_id = ?1",
                    params![envelope, attempts, now, last_error(&error, detail)],
                )?;
                audit(
                    tx,
                    ACTOR,
                    "case.dead_letter",
                    case,
                    &format!("connector={connector} envelope={envelope} attempts={attempts}"),
                    now,
                )
            })?;
            tracing::error!(case_number = %case, envelope_id = %envelope, attempts, %error, "the central system did not take the case: dead letter");
            report.dead += 1;
        }
    }
    Ok(())
}

/// The worker: a pass, then a pause unless the pass had a full batch.
pub async fn run_outbox(state: Arc<CentralState>) {
    loop {
        let busy = match run_once(&state).await {
            Ok(report) => report.total() >= BATCH as usize,
            Err(e) => {
                tracing::error!(error = %e, "the central outbox pass failed");
                false
            }
        };
        if !busy {
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

/// Start the outbox workers on the current tokio runtime: the applicants' notifications always
/// (once per state, see [`super::notify::spawn`]; it runs until the runtime ends), the archive
/// and register intake jobs, the cases'
/// when a connector is configured. Returns the cases' worker: `None` when `connector = "none"`
/// (accepted cases then stay queued until a connector is configured).
pub fn spawn(state: Arc<CentralState>) -> Option<tokio::task::JoinHandle<()>> {
    // Here, so that every server running the case outbox also tells applicants and archives
    // uncollected results (8.5).
    let _notifications = super::notify::spawn(state.clone());
    let _archive = crate::office::archive::spawn(state.clone());
    // And takes hand-overs and withdrawals into their cases without waiting for a page.
    match crate::office::calendar() {
        Ok(calendar) => {
            let every = std::time::Duration::from_secs(state.config.intake_interval_seconds);
            let _intake = crate::office::intake::spawn(state.clone(), calendar, every);
        }
        Err(error) => tracing::error!(%error, "the register intake job cannot start"),
    }
    state.connector.as_ref()?;
    Some(tokio::spawn(run_outbox(state)))
}
