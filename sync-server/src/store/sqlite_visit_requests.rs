//! Home-visit requests in the metadata SQLite file. A staff step, its planned visit, its notice
//! and its audit entry are one transaction (the audit chain's table shares the file).

use rusqlite::{OptionalExtension, Row, Transaction, TransactionBehavior, params};

use super::sqlite::SqliteMetadata;
use super::visit_requests::{
    AuditNote, ChannelKind, Confirmation, NewVisitRequest, NotNew, NoticeOutcome, NoticeState,
    PlannedFromRequest, RequestCounts, RequestState, VisitRequest, VisitRequestStore,
};
use crate::ServerError;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS visit_requests (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('unconfirmed', 'new', 'planned', 'declined')),
    created_at INTEGER NOT NULL, confirmed_at INTEGER, service_code TEXT,
    channel TEXT NOT NULL CHECK (channel IN ('sms', 'email')), sealed BLOB NOT NULL,
    code_sha256 TEXT, code_expires_at INTEGER NOT NULL, code_tries INTEGER NOT NULL DEFAULT 0,
    decided_at INTEGER, decided_by TEXT, device_id TEXT, visit_id INTEGER, planned_time TEXT,
    reason_sealed BLOB,
    notice_state TEXT CHECK (notice_state IN ('pending', 'sent', 'failed')),
    notice_attempts INTEGER NOT NULL DEFAULT 0, notice_next_at INTEGER, notice_error TEXT);
CREATE INDEX IF NOT EXISTS visit_requests_by_state ON visit_requests(state, created_at);
CREATE INDEX IF NOT EXISTS visit_requests_notices ON visit_requests(notice_state, notice_next_at);
";

const COLUMNS: &str = "id, state, created_at, confirmed_at, service_code, channel, sealed,
    decided_at, decided_by, device_id, visit_id, planned_time, reason_sealed, notice_state,
    notice_attempts, notice_next_at, notice_error";

fn bad_column(index: usize, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        index,
        rusqlite::types::Type::Text,
        format!("visit_requests: unknown {what}").into(),
    )
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<VisitRequest> {
    let state: String = r.get(1)?;
    let channel: String = r.get(5)?;
    let notice: Option<String> = r.get(13)?;
    Ok(VisitRequest {
        id: r.get(0)?,
        state: RequestState::parse(&state).ok_or_else(|| bad_column(1, "state"))?,
        created_at: r.get(2)?,
        confirmed_at: r.get(3)?,
        service_code: r.get(4)?,
        channel: ChannelKind::parse(&channel).ok_or_else(|| bad_column(5, "channel"))?,
        sealed: r.get(6)?,
        decided_at: r.get(7)?,
        decided_by: r.get(8)?,
        device_id: r.get(9)?,
        visit_id: r.get(10)?,
        planned_time: r.get(11)?,
        reason_sealed: r.get(12)?,
        notice: match notice {
            Some(text) => Some(NoticeState::parse(&text).ok_or_else(|| bad_column(13, "notice"))?),
            None => None,
        },
        notice_attempts: r.get(14)?,
        notice_next_at: r.get(15)?,
        notice_error: r.get(16)?,
    })
}

fn audit(tx: &Transaction<'_>, id: &str, note: &AuditNote, now: i64) -> Result<(), ServerError> {
    crate::office::db::audit(tx, &note.actor, note.action, id, &note.detail, now)
}

/// The state of request `id` inside `tx`, if it exists.
fn state_of(tx: &Transaction<'_>, id: &str) -> Result<Option<RequestState>, ServerError> {
    let state: Option<String> = tx
        .query_row(
            "SELECT state FROM visit_requests WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    match state {
        None => Ok(None),
        Some(text) => RequestState::parse(&text)
            .map(Some)
            .ok_or_else(|| ServerError::Storage(format!("visit_requests: unknown state {text}"))),
    }
}

impl VisitRequestStore for SqliteMetadata {
    fn add_visit_request(&self, request: &NewVisitRequest) -> Result<(), ServerError> {
        self.with(|conn| {
            conn.execute(
                "INSERT INTO visit_requests (id, state, created_at, service_code, channel, sealed,
                     code_sha256, code_expires_at)
                 VALUES (?1, 'unconfirmed', ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    request.id,
                    request.created_at,
                    request.service_code,
                    request.channel.name(),
                    request.sealed,
                    request.code_sha256,
                    request.code_expires_at
                ],
            )?;
            Ok(())
        })
    }

    fn confirm_visit_request(
        &self,
        id: &str,
        code_sha256: &str,
        max_tries: i64,
        note: &AuditNote,
        now: i64,
    ) -> Result<Confirmation, ServerError> {
        self.with(|conn| {
            // IMMEDIATE: two tries at once both count.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let row: Option<(String, Option<String>, i64, i64)> = tx
                .query_row(
                    "SELECT state, code_sha256, code_expires_at, code_tries FROM visit_requests
                     WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?;
            let Some((state, stored, expires_at, tries)) = row else {
                return Ok(Confirmation::Unknown);
            };
            if state != RequestState::Unconfirmed.name() {
                return Ok(Confirmation::AlreadyConfirmed);
            }
            let drop =
                |tx: &Transaction<'_>| tx.execute("DELETE FROM visit_requests WHERE id = ?1", [id]);
            let answer = if now > expires_at {
                drop(&tx)?;
                Confirmation::Expired
            } else if stored.as_deref() == Some(code_sha256) {
                tx.execute(
                    "UPDATE visit_requests SET state = 'new', confirmed_at = ?2, code_sha256 = NULL
                     WHERE id = ?1",
                    params![id, now],
                )?;
                audit(&tx, id, note, now)?;
                Confirmation::Confirmed
            } else if tries + 1 >= max_tries {
                drop(&tx)?;
                Confirmation::Dropped
            } else {
                tx.execute(
                    "UPDATE visit_requests SET code_tries = code_tries + 1 WHERE id = ?1",
                    [id],
                )?;
                Confirmation::Wrong {
                    tries_left: max_tries - tries - 1,
                }
            };
            tx.commit()?;
            Ok(answer)
        })
    }

    fn visit_request(&self, id: &str) -> Result<Option<VisitRequest>, ServerError> {
        self.with(|conn| {
            Ok(conn
                .query_row(
                    &format!("SELECT {COLUMNS} FROM visit_requests WHERE id = ?1"),
                    [id],
                    from_row,
                )
                .optional()?)
        })
    }

    fn visit_requests(&self, state: RequestState) -> Result<Vec<VisitRequest>, ServerError> {
        let order = match state {
            RequestState::Unconfirmed => "created_at",
            RequestState::New => "confirmed_at, created_at",
            RequestState::Planned | RequestState::Declined => "decided_at DESC",
        };
        self.with(|conn| {
            let mut statement = conn.prepare(&format!(
                "SELECT {COLUMNS} FROM visit_requests WHERE state = ?1 ORDER BY {order} LIMIT 1000"
            ))?;
            let rows = statement.query_map([state.name()], from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn plan_visit_request(
        &self,
        id: &str,
        plan: &PlannedFromRequest<'_>,
        note: &AuditNote,
        now: i64,
        notice_at: i64,
    ) -> Result<Result<i64, NotNew>, ServerError> {
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            match state_of(&tx, id)? {
                None => return Err(ServerError::NotFound),
                Some(RequestState::New) => {}
                Some(other) => return Ok(Err(NotNew(other))),
            }
            tx.execute(
                "INSERT INTO visits (device_id, details, planned_at) VALUES (?1, ?2, ?3)",
                params![plan.device_id, plan.visit_details, now],
            )
            .map_err(|_| ServerError::UnknownDevice(plan.device_id.into()))?;
            let visit_id = tx.last_insert_rowid();
            tx.execute(
                "UPDATE visit_requests SET state = 'planned', decided_at = ?2, decided_by = ?3,
                     device_id = ?4, visit_id = ?5, planned_time = ?6, notice_state = 'pending',
                     notice_attempts = 0, notice_next_at = ?7, notice_error = NULL
                 WHERE id = ?1",
                params![
                    id,
                    now,
                    note.actor,
                    plan.device_id,
                    visit_id,
                    plan.time,
                    notice_at
                ],
            )?;
            audit(&tx, id, note, now)?;
            tx.commit()?;
            Ok(Ok(visit_id))
        })
    }

    fn decline_visit_request(
        &self,
        id: &str,
        reason_sealed: &[u8],
        note: &AuditNote,
        now: i64,
        notice_at: i64,
    ) -> Result<Result<(), NotNew>, ServerError> {
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            match state_of(&tx, id)? {
                None => return Err(ServerError::NotFound),
                Some(RequestState::New) => {}
                Some(other) => return Ok(Err(NotNew(other))),
            }
            tx.execute(
                "UPDATE visit_requests SET state = 'declined', decided_at = ?2, decided_by = ?3,
                     reason_sealed = ?4, notice_state = 'pending', notice_attempts = 0,
                     notice_next_at = ?5, notice_error = NULL
                 WHERE id = ?1",
                params![id, now, note.actor, reason_sealed, notice_at],
            )?;
            audit(&tx, id, note, now)?;
            tx.commit()?;
            Ok(Ok(()))
        })
    }

    fn due_visit_request_notices(&self, now: i64) -> Result<Vec<VisitRequest>, ServerError> {
        self.with(|conn| {
            let mut statement = conn.prepare(&format!(
                "SELECT {COLUMNS} FROM visit_requests
                 WHERE notice_state = 'pending' AND notice_next_at <= ?1
                 ORDER BY notice_next_at LIMIT 100"
            ))?;
            let rows = statement.query_map([now], from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn record_visit_request_notice(
        &self,
        id: &str,
        outcome: &NoticeOutcome,
        note: &AuditNote,
        now: i64,
    ) -> Result<(), ServerError> {
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let changed = match outcome {
                NoticeOutcome::Sent => tx.execute(
                    "UPDATE visit_requests SET notice_state = 'sent', notice_attempts =
                         notice_attempts + 1, notice_next_at = NULL, notice_error = NULL
                     WHERE id = ?1 AND notice_state = 'pending'",
                    [id],
                )?,
                NoticeOutcome::Retry { next_at, reason } => tx.execute(
                    "UPDATE visit_requests SET notice_attempts = notice_attempts + 1,
                         notice_next_at = ?2, notice_error = ?3
                     WHERE id = ?1 AND notice_state = 'pending'",
                    params![id, next_at, reason],
                )?,
                NoticeOutcome::Failed { reason } => tx.execute(
                    "UPDATE visit_requests SET notice_state = 'failed', notice_attempts =
                         notice_attempts + 1, notice_next_at = NULL, notice_error = ?2
                     WHERE id = ?1 AND notice_state = 'pending'",
                    params![id, reason],
                )?,
            };
            // A notice another sender finished meanwhile is not recorded twice.
            if changed == 1 {
                audit(&tx, id, note, now)?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    fn retry_visit_request_notice(
        &self,
        id: &str,
        note: &AuditNote,
        now: i64,
        notice_at: i64,
    ) -> Result<bool, ServerError> {
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if state_of(&tx, id)?.is_none() {
                return Err(ServerError::NotFound);
            }
            let changed = tx.execute(
                "UPDATE visit_requests SET notice_state = 'pending', notice_attempts = 0,
                     notice_next_at = ?2
                 WHERE id = ?1 AND notice_state = 'failed'",
                params![id, notice_at],
            )?;
            if changed == 1 {
                audit(&tx, id, note, now)?;
            }
            tx.commit()?;
            Ok(changed == 1)
        })
    }

    fn sweep_unconfirmed_visit_requests(&self, before: i64) -> Result<usize, ServerError> {
        self.with(|conn| {
            Ok(conn.execute(
                "DELETE FROM visit_requests WHERE state = 'unconfirmed' AND created_at < ?1",
                [before],
            )?)
        })
    }

    fn drop_unconfirmed_visit_request(&self, id: &str) -> Result<(), ServerError> {
        self.with(|conn| {
            conn.execute(
                "DELETE FROM visit_requests WHERE id = ?1 AND state = 'unconfirmed'",
                [id],
            )?;
            Ok(())
        })
    }

    fn visit_request_counts(&self) -> Result<RequestCounts, ServerError> {
        self.with(|conn| {
            let mut counts = RequestCounts::default();
            let mut statement =
                conn.prepare("SELECT state, count(*) FROM visit_requests GROUP BY state")?;
            let rows = statement.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
            for row in rows {
                let (state, count): (String, i64) = row?;
                let count = count.unsigned_abs();
                match RequestState::parse(&state) {
                    Some(RequestState::Unconfirmed) => counts.unconfirmed = count,
                    Some(RequestState::New) => counts.new = count,
                    Some(RequestState::Planned) => counts.planned = count,
                    Some(RequestState::Declined) => counts.declined = count,
                    None => {}
                }
            }
            let notices = |state: NoticeState| -> rusqlite::Result<u64> {
                conn.query_row(
                    "SELECT count(*) FROM visit_requests WHERE notice_state = ?1",
                    [state.name()],
                    |r| r.get::<_, i64>(0),
                )
                .map(i64::unsigned_abs)
            };
            counts.notices_pending = notices(NoticeState::Pending)?;
            counts.notices_failed = notices(NoticeState::Failed)?;
            Ok(counts)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::store::{Device, DeviceState, MetadataStore};

    fn store() -> (tempfile::TempDir, SqliteMetadata) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metadata.sqlite");
        // The audit chain's table is the back-office's.
        crate::office::db::OfficeDb::open(&path).unwrap();
        let store = SqliteMetadata::open(&path).unwrap();
        (dir, store)
    }

    fn note(action: &'static str) -> AuditNote {
        AuditNote {
            actor: "olena".into(),
            action,
            detail: String::new(),
        }
    }

    fn request(id: &str, created_at: i64) -> NewVisitRequest {
        NewVisitRequest {
            id: id.into(),
            created_at,
            service_code: Some("00001".into()),
            channel: ChannelKind::Email,
            sealed: vec![1, 2, 3],
            code_sha256: "right".into(),
            code_expires_at: created_at + 1800,
        }
    }

    #[test]
    fn five_wrong_codes_drop_the_request_and_the_right_one_confirms_once() {
        let (_dir, store) = store();
        store.add_visit_request(&request("a", 1000)).unwrap();
        let confirm = |code: &str| {
            store
                .confirm_visit_request("a", code, 5, &note("visit_request.confirmed"), 1100)
                .unwrap()
        };
        assert_eq!(confirm("wrong"), Confirmation::Wrong { tries_left: 4 });
        assert_eq!(confirm("right"), Confirmation::Confirmed);
        assert_eq!(confirm("right"), Confirmation::AlreadyConfirmed);
        assert_eq!(
            store.visit_request("a").unwrap().unwrap().state,
            RequestState::New
        );

        store.add_visit_request(&request("b", 1000)).unwrap();
        let answers: Vec<Confirmation> = (0..5)
            .map(|_| {
                store
                    .confirm_visit_request("b", "wrong", 5, &note("x"), 1100)
                    .unwrap()
            })
            .collect();
        assert_eq!(answers[3], Confirmation::Wrong { tries_left: 1 });
        assert_eq!(answers[4], Confirmation::Dropped);
        assert!(store.visit_request("b").unwrap().is_none());
        assert_eq!(
            store
                .confirm_visit_request("b", "right", 5, &note("x"), 1100)
                .unwrap(),
            Confirmation::Unknown
        );
    }

    #[test]
    fn an_expired_code_drops_the_request_and_a_day_old_one_is_swept() {
        let (_dir, store) = store();
        store.add_visit_request(&request("a", 1000)).unwrap();
        assert_eq!(
            store
                .confirm_visit_request("a", "right", 5, &note("x"), 1000 + 1801)
                .unwrap(),
            Confirmation::Expired
        );
        assert!(store.visit_request("a").unwrap().is_none());
        store.add_visit_request(&request("b", 1000)).unwrap();
        store.add_visit_request(&request("c", 5000)).unwrap();
        assert_eq!(store.sweep_unconfirmed_visit_requests(2000).unwrap(), 1);
        assert!(store.visit_request("b").unwrap().is_none());
        assert!(store.visit_request("c").unwrap().is_some());
    }

    #[test]
    fn planning_writes_the_visit_and_owes_a_notice_once() {
        let (_dir, store) = store();
        store
            .add_device(
                &Device {
                    device_id: "T07".into(),
                    public_key: [0; 32],
                    state: DeviceState::Active,
                },
                1000,
            )
            .unwrap();
        store.add_visit_request(&request("a", 1000)).unwrap();
        let plan = PlannedFromRequest {
            device_id: "T07",
            visit_details: "{}",
            time: "2026-11-25 10:00",
        };
        assert_eq!(
            store
                .plan_visit_request("a", &plan, &note("visit_request.planned"), 1200, 1200)
                .unwrap(),
            Err(NotNew(RequestState::Unconfirmed))
        );
        store
            .confirm_visit_request("a", "right", 5, &note("x"), 1100)
            .unwrap();
        let visit_id = store
            .plan_visit_request("a", &plan, &note("visit_request.planned"), 1200, 1200)
            .unwrap()
            .unwrap();
        assert_eq!(
            store.visits_since("T07", 0).unwrap(),
            [(visit_id, "{}".into())]
        );
        assert_eq!(
            store
                .decline_visit_request("a", b"x", &note("visit_request.declined"), 1300, 1300)
                .unwrap(),
            Err(NotNew(RequestState::Planned))
        );
        let due = store.due_visit_request_notices(1200).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].planned_time.as_deref(), Some("2026-11-25 10:00"));
        store
            .record_visit_request_notice(
                "a",
                &NoticeOutcome::Failed {
                    reason: "SMTP refused".into(),
                },
                &note("visit_request.notice_failed"),
                1201,
            )
            .unwrap();
        assert!(store.due_visit_request_notices(5000).unwrap().is_empty());
        let counts = store.visit_request_counts().unwrap();
        assert_eq!((counts.planned, counts.notices_failed), (1, 1));
        assert!(
            store
                .retry_visit_request_notice("a", &note("visit_request.notice_retried"), 1300, 1300)
                .unwrap()
        );
        assert!(
            !store
                .retry_visit_request_notice("a", &note("visit_request.notice_retried"), 1300, 1300)
                .unwrap()
        );
        store
            .record_visit_request_notice(
                "a",
                &NoticeOutcome::Sent,
                &note("visit_request.notice_sent"),
                1301,
            )
            .unwrap();
        let request = store.visit_request("a").unwrap().unwrap();
        assert_eq!(request.notice, Some(NoticeState::Sent));
        assert_eq!(request.notice_attempts, 1);
    }

    #[test]
    fn planning_for_an_unknown_tablet_changes_nothing() {
        let (_dir, store) = store();
        store.add_visit_request(&request("a", 1000)).unwrap();
        store
            .confirm_visit_request("a", "right", 5, &note("x"), 1100)
            .unwrap();
        let plan = PlannedFromRequest {
            device_id: "T99",
            visit_details: "{}",
            time: "2026-11-25 10:00",
        };
        assert!(matches!(
            store.plan_visit_request("a", &plan, &note("visit_request.planned"), 1200, 1200),
            Err(ServerError::UnknownDevice(_))
        ));
        assert_eq!(
            store.visit_request("a").unwrap().unwrap().state,
            RequestState::New
        );
    }
}
