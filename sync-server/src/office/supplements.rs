//! Supplements taken into a case's life: a hand-over (8.3–8.4) moves the case to «handed
//! over», a withdrawal (8.12–8.14, only before a decision) to «withdrawn», a correction answers
//! a return. The workflow decides; each step is one transaction that moves the register, puts
//! the status event the tablets pull, audits it and queues the message to the central system
//! and the applicant's notification.
//! A step the workflow refuses is kept with its sentence, for staff to see; nothing is lost.

use fieldkit_domain::workflow::{CaseEvent, CaseState, StateName};
use fieldkit_protocol::SupplementKind;
use rusqlite::{OptionalExtension, Transaction};

use super::actions::status_event;
use super::db::{OfficeDb, audit};
use crate::ServerError;
use crate::store::{MetadataStore, StoredSupplement};

/// The key of the applicant's notification of a supplement's step: apart from the central
/// system's event ids, one per supplement.
pub fn notice_id(envelope_id: &str) -> String {
    format!("supplement:{envelope_id}")
}

/// Who the audit trail names for a supplement's step: the tablet that sealed it.
fn actor(supplement: &StoredSupplement) -> String {
    format!("device:{}", supplement.envelope.device_id)
}

/// The workflow's event a supplement records. The tablet seals a hand-over or a withdrawal
/// only with the applicant's signature drawn on it.
pub fn event_of(kind: SupplementKind) -> CaseEvent {
    match kind {
        SupplementKind::Handover => CaseEvent::ResultHandedOver {
            applicant_signed: true,
        },
        SupplementKind::Withdrawal => CaseEvent::Withdrawn {
            applicant_signed: true,
        },
        SupplementKind::Correction => CaseEvent::SupplementReceived,
    }
}

/// Where a supplement takes a case when the workflow allows it.
pub fn state_after(kind: SupplementKind) -> CaseState {
    match kind {
        SupplementKind::Handover => CaseState::ResultDelivered,
        SupplementKind::Withdrawal => CaseState::Withdrawn,
        SupplementKind::Correction => CaseState::Received,
    }
}

/// What became of one supplement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// The case moved to this state.
    Moved(CaseState),
    /// The workflow refused the step; the sentence staff read.
    Refused(String),
    /// Its case is not in the register yet; tried again at the next look.
    Waiting,
}

fn register_state(
    tx: &Transaction<'_>,
    case_number: &str,
) -> Result<Option<StateName>, ServerError> {
    Ok(tx
        .query_row(
            "SELECT state FROM office_cases WHERE case_number = ?1",
            [case_number],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .map(|name| StateName::parse(&name)))
}

/// Take every supplement not yet taken into its case's life; returns what became of each.
pub fn apply_pending(
    db: &OfficeDb,
    meta: &dyn MetadataStore,
    now: i64,
) -> Result<Vec<(String, Taken)>, ServerError> {
    let mut outcomes = Vec::new();
    for supplement in meta.supplements(None)? {
        if supplement.applied_at.is_some() {
            continue;
        }
        let taken = apply_one(db, &supplement, now)?;
        match &taken {
            Taken::Moved(_) => meta.mark_supplement(&supplement.envelope.envelope_id, None, now)?,
            Taken::Refused(sentence) => {
                meta.mark_supplement(&supplement.envelope.envelope_id, Some(sentence), now)?
            }
            Taken::Waiting => {}
        }
        outcomes.push((supplement.envelope.envelope_id.clone(), taken));
    }
    Ok(outcomes)
}

fn apply_one(db: &OfficeDb, supplement: &StoredSupplement, now: i64) -> Result<Taken, ServerError> {
    let envelope = &supplement.envelope;
    let case_number = envelope.case_number.as_str();
    let kind = supplement.kind.name();
    db.transaction(|tx| {
        // Queued already: a crash came after this transaction and before the store marked
        // the supplement. The step was taken; only the mark is missing.
        if crate::central::outbox::outbox_entry_in(tx, &envelope.envelope_id)?.is_some() {
            let state = register_state(tx, case_number)?
                .and_then(|s| s.known())
                .unwrap_or(state_after(supplement.kind));
            return Ok(Taken::Moved(state));
        }
        let current = match register_state(tx, case_number)? {
            None => return Ok(Taken::Waiting),
            Some(StateName::Unknown(name)) => {
                return Ok(Taken::Refused(format!(
                    "Справа в невідомому стані «{name}»: доповнення не враховано."
                )));
            }
            Some(StateName::Known(state)) => state,
        };
        let detail = format!("envelope={} kind={kind}", envelope.envelope_id);
        match current.apply(&event_of(supplement.kind)) {
            Ok(next) => {
                tx.execute(
                    "UPDATE office_cases SET state = ?2, updated_at = ?3 WHERE case_number = ?1",
                    rusqlite::params![case_number, next.name(), now],
                )?;
                status_event(tx, case_number, next, None, now)?;
                // The central system hears of every supplement, keyed by its own envelope id.
                crate::central::outbox::enqueue(tx, &envelope.envelope_id, case_number, now)?;
                // The applicant is told the way they chose, as for a central system's step.
                crate::central::notify::enqueue(
                    tx,
                    &notice_id(&envelope.envelope_id),
                    case_number,
                    next,
                    now,
                )?;
                audit(
                    tx,
                    &actor(supplement),
                    &format!("case.supplement.{kind}"),
                    case_number,
                    &detail,
                    now,
                )?;
                Ok(Taken::Moved(next))
            }
            Err(error) => {
                let sentence = error.sentence_uk();
                audit(
                    tx,
                    &actor(supplement),
                    "case.supplement_refused",
                    case_number,
                    &format!("{detail} refused={error}"),
                    now,
                )?;
                Ok(Taken::Refused(sentence))
            }
        }
    })
}
