//! What staff do to a case: accept it (it is queued for the central system in the same
//! transaction), return it to the administrator with a reason the tablet shows, or mark it a
//! duplicate of another. Each step is one transaction with its audit event and the status
//! event the tablet pulls. An applicant's notification given up can be sent again.

use fieldkit_domain::workflow::{CaseEvent, CaseState, StateName, WorkflowError};
use rusqlite::{OptionalExtension, Transaction, params};

use super::db::{OfficeDb, audit};
use crate::ServerError;
use crate::central::NotificationState;
use crate::central::notify;

/// Why an action was refused, in words for the page.
#[derive(Debug, PartialEq, Eq)]
pub enum ActionRefused {
    UnknownCase,
    /// The case is not in a state the action applies to: the workflow's own refusal.
    NotAllowed(WorkflowError),
    /// The case is in a state this build does not know (written by a newer server).
    UnknownState(String),
    ReasonRequired,
    UnknownOriginal,
    SameCase,
    /// No applicant's notification has this event id.
    UnknownNotification,
    /// Only a notification given up is sent again; this one is in another state.
    NotificationNotDead(NotificationState),
}

fn state_of(tx: &Transaction<'_>, case_number: &str) -> Result<Option<StateName>, ServerError> {
    Ok(tx
        .query_row(
            "SELECT state FROM office_cases WHERE case_number = ?1",
            [case_number],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .map(|name| StateName::parse(&name)))
}

/// Where `event` takes the case, or why not: the workflow decides, nothing else.
fn next_state(
    tx: &Transaction<'_>,
    case_number: &str,
    event: &CaseEvent,
) -> Result<Result<CaseState, ActionRefused>, ServerError> {
    Ok(match state_of(tx, case_number)? {
        None => Err(ActionRefused::UnknownCase),
        Some(StateName::Unknown(name)) => Err(ActionRefused::UnknownState(name)),
        Some(StateName::Known(state)) => state.apply(event).map_err(ActionRefused::NotAllowed),
    })
}

/// A status change for the tablet's feed, with the reason where there is one.
pub fn status_event(
    tx: &Transaction<'_>,
    case_number: &str,
    state: CaseState,
    detail: Option<&str>,
    now: i64,
) -> Result<(), ServerError> {
    tx.execute(
        "INSERT INTO status_events (case_number, status, at) VALUES (?1, ?2, ?3)",
        params![case_number, state.name(), now],
    )?;
    if let Some(detail) = detail {
        tx.execute(
            "INSERT INTO status_details (cursor, detail) VALUES (?1, ?2)",
            params![tx.last_insert_rowid(), detail],
        )?;
    }
    Ok(())
}

fn set_state(
    tx: &Transaction<'_>,
    case_number: &str,
    state: CaseState,
    note: Option<&str>,
    duplicate_of: Option<&str>,
    now: i64,
) -> Result<(), ServerError> {
    tx.execute(
        "UPDATE office_cases SET state = ?2, note = ?3, duplicate_of = ?4, updated_at = ?5 WHERE case_number = ?1",
        params![case_number, state.name(), note, duplicate_of, now],
    )?;
    Ok(())
}

/// Accept a received (or returned and answered) case and queue it for the central system.
pub fn accept(
    db: &OfficeDb,
    case_number: &str,
    actor: &str,
    now: i64,
) -> Result<Result<(), ActionRefused>, ServerError> {
    db.transaction(|tx| {
        let accepted = match next_state(tx, case_number, &CaseEvent::AcceptedByBackOffice)? {
            Ok(next) => next,
            Err(refused) => return Ok(Err(refused)),
        };
        let envelope_id: String = tx.query_row(
            "SELECT envelope_id FROM office_cases WHERE case_number = ?1",
            [case_number],
            |r| r.get(0),
        )?;
        set_state(tx, case_number, accepted, None, None, now)?;
        // The transactional outbox: the case is queued if and only if it is accepted.
        crate::central::outbox::enqueue(tx, &envelope_id, case_number, now)?;
        status_event(tx, case_number, accepted, None, now)?;
        audit(tx, actor, "case.accepted", case_number, "", now)?;
        Ok(Ok(()))
    })
}

/// Return a case to the administrator who took it; the reason travels to the tablet.
pub fn return_to_administrator(
    db: &OfficeDb,
    case_number: &str,
    reason: &str,
    actor: &str,
    now: i64,
) -> Result<Result<(), ActionRefused>, ServerError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Ok(Err(ActionRefused::ReasonRequired));
    }
    db.transaction(|tx| {
        let event = CaseEvent::ReturnedForCorrection {
            reason: reason.to_owned(),
        };
        let returned = match next_state(tx, case_number, &event)? {
            Ok(next) => next,
            Err(refused) => return Ok(Err(refused)),
        };
        set_state(tx, case_number, returned, Some(reason), None, now)?;
        status_event(tx, case_number, returned, Some(reason), now)?;
        audit(tx, actor, "case.returned", case_number, reason, now)?;
        Ok(Ok(()))
    })
}

/// Mark a case as a duplicate of another that arrived: it is not forwarded.
pub fn mark_duplicate(
    db: &OfficeDb,
    case_number: &str,
    original: &str,
    actor: &str,
    now: i64,
) -> Result<Result<(), ActionRefused>, ServerError> {
    let original = original.trim();
    if original == case_number {
        return Ok(Err(ActionRefused::SameCase));
    }
    db.transaction(|tx| {
        let duplicate = match next_state(tx, case_number, &CaseEvent::MarkedDuplicate)? {
            Ok(next) => next,
            Err(refused) => return Ok(Err(refused)),
        };
        if state_of(tx, original)?.is_none() {
            return Ok(Err(ActionRefused::UnknownOriginal));
        }
        set_state(tx, case_number, duplicate, None, Some(original), now)?;
        status_event(tx, case_number, duplicate, Some(original), now)?;
        audit(tx, actor, "case.duplicate", case_number, original, now)?;
        Ok(Ok(()))
    })
}

/// Send an applicant's notification that was given up (dead) again: pending once more, due now,
/// with a fresh count of attempts, audited under `actor`, in one transaction. Returns the case
/// number. The notification worker sends it at its next look.
pub fn retry_notification(
    db: &OfficeDb,
    event_id: &str,
    actor: &str,
    now: i64,
) -> Result<Result<String, ActionRefused>, ServerError> {
    db.transaction(|tx| match notify::retry_dead(tx, event_id, actor, now) {
        Ok(Ok(case_number)) => Ok(Ok(case_number)),
        Ok(Err(state)) => Ok(Err(ActionRefused::NotificationNotDead(state))),
        Err(ServerError::NotFound) => Ok(Err(ActionRefused::UnknownNotification)),
        Err(other) => Err(other),
    })
}
