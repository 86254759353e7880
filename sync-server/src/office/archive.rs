//! Regulation 8.5: a result not collected within three months goes to the archive. A server
//! job looks at every decided case whose result waits (issued, refused, result ready), counts
//! three calendar months from the day it got there (`calendar::archive_due`), and moves the
//! due ones to «archived» through the workflow: the register, the tablets' feed, the audit
//! trail, a message for the central system and the applicant's notification, in one
//! transaction per case. The clock is
//! passed in, so a test moves it instead of waiting three months.

use std::sync::Arc;
use std::time::Duration;

use fieldkit_domain::workflow::{CaseEvent, CaseState, StateName};
use rusqlite::params;
use time::{Date, OffsetDateTime};

use super::actions::status_event;
use super::db::{OfficeDb, audit};
use crate::ServerError;
use crate::central::CentralState;

/// Who the audit trail names for the archive job.
pub const ACTOR: &str = "archive-job";

/// The central outbox key of a case's archiving notice: distinct from the case's own envelope
/// id (its delivery) so both messages are sent, and read back by the outbox's packer.
pub fn notice_id(envelope_id: &str) -> String {
    format!("{ARCHIVE_PREFIX}{envelope_id}")
}

/// The case envelope an archiving notice is about, if `outbox_id` is one.
pub fn notice_of(outbox_id: &str) -> Option<&str> {
    outbox_id.strip_prefix(ARCHIVE_PREFIX)
}

const ARCHIVE_PREFIX: &str = "archive:";

/// How often the job looks: the rule counts days, so an hour is plenty.
const INTERVAL: Duration = Duration::from_secs(3600);

fn date_of(at: i64) -> Option<Date> {
    OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .map(|t| t.date())
}

/// Archive every case due on the day of `now`; returns their numbers.
pub fn run_once(db: &OfficeDb, now: i64) -> Result<Vec<String>, ServerError> {
    let Some(today) = date_of(now) else {
        return Ok(Vec::new());
    };
    let waiting = [
        CaseState::Issued,
        CaseState::Refused,
        CaseState::ResultReady,
    ];
    // The day the result got where it waits: the last change of the case's state (nothing
    // but the hand-over or this job moves a waiting result on).
    let candidates: Vec<(String, String, String, i64)> = db.transaction(|tx| {
        let mut statement = tx.prepare(
            "SELECT case_number, envelope_id, state, updated_at FROM office_cases
             WHERE state IN (?1, ?2, ?3) ORDER BY case_number",
        )?;
        let rows = statement
            .query_map(
                params![waiting[0].name(), waiting[1].name(), waiting[2].name()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    })?;
    let mut archived = Vec::new();
    for (case_number, envelope_id, state, since) in candidates {
        let (Some(current), Some(result_ready)) =
            (StateName::parse(&state).known(), date_of(since))
        else {
            continue;
        };
        let event = CaseEvent::Archive {
            result_ready,
            today,
        };
        // Not due yet (or no longer waiting): the workflow says so; nothing to do today.
        let Ok(next) = current.apply(&event) else {
            continue;
        };
        let moved = db.transaction(|tx| {
            // Only from the state read above: a hand-over in between wins.
            let moved = tx.execute(
                "UPDATE office_cases SET state = ?2, updated_at = ?3
                 WHERE case_number = ?1 AND state = ?4 AND updated_at = ?5",
                params![case_number, next.name(), now, current.name(), since],
            )?;
            if moved == 0 {
                return Ok(false);
            }
            status_event(tx, &case_number, next, None, now)?;
            crate::central::outbox::enqueue(tx, &notice_id(&envelope_id), &case_number, now)?;
            // And the applicant, the way they chose: their result is no longer waiting here.
            crate::central::notify::enqueue(tx, &notice_id(&envelope_id), &case_number, next, now)?;
            audit(
                tx,
                ACTOR,
                "case.archived",
                &case_number,
                &format!("result_ready={result_ready} today={today}"),
                now,
            )?;
            Ok(true)
        })?;
        if moved {
            tracing::info!(case_number = %case_number, "uncollected result archived (8.5)");
            archived.push(case_number);
        }
    }
    Ok(archived)
}

/// Run the job every hour on the server's clock, for as long as the runtime runs.
pub fn spawn(state: Arc<CentralState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match run_once(&state.db, state.now()) {
                // Their applicants' notifications go out now.
                Ok(archived) if !archived.is_empty() => crate::central::notify::wake(&state),
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "the archive job failed"),
            }
            tokio::time::sleep(INTERVAL).await;
        }
    })
}
