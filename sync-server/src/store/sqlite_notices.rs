//! Notice subscriptions in the metadata SQLite file, beside the status events they follow.

use fieldkit_domain::workflow::StateName;
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::StatusEvent;
use super::notices::{
    Confirmation, DueNotice, NoticeStore, NoticeSubscription, PendingOutcome, PendingSubscription,
};
use super::sqlite::SqliteMetadata;
use crate::ServerError;
use crate::central::notify::Channel;

/// `contact_sealed` and `stop_sealed` are AES-GCM under the personal-data key; `contact_key`,
/// `code_mac` and `stop_sha256` are keyed hashes and hashes: nothing here reads as a contact.
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS notice_subscriptions (
    id TEXT PRIMARY KEY, case_number TEXT NOT NULL, channel TEXT NOT NULL,
    contact_sealed BLOB NOT NULL, contact_key TEXT NOT NULL, created_at INTEGER NOT NULL,
    code_mac TEXT, code_expires_at INTEGER NOT NULL, wrong_codes INTEGER NOT NULL DEFAULT 0,
    confirmed_at INTEGER, stop_sha256 TEXT UNIQUE, stop_sealed BLOB,
    last_cursor INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0, last_error TEXT);
CREATE INDEX IF NOT EXISTS notice_subscriptions_by_case ON notice_subscriptions(case_number);
CREATE INDEX IF NOT EXISTS notice_subscriptions_due ON notice_subscriptions(next_attempt_at)
    WHERE confirmed_at IS NOT NULL;
";

const COLUMNS: &str = "id, case_number, channel, contact_sealed, created_at, confirmed_at,
    last_cursor, attempts, last_error";

fn channel_of(name: &str, column: usize) -> rusqlite::Result<Channel> {
    Channel::from_name(name).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            column,
            rusqlite::types::Type::Text,
            format!("unknown notice channel {name}").into(),
        )
    })
}

fn subscription_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<NoticeSubscription> {
    Ok(NoticeSubscription {
        id: r.get(0)?,
        case_number: r.get(1)?,
        channel: channel_of(&r.get::<_, String>(2)?, 2)?,
        contact_sealed: r.get(3)?,
        created_at: r.get(4)?,
        confirmed_at: r.get(5)?,
        last_cursor: r.get(6)?,
        attempts: r.get(7)?,
        last_error: r.get(8)?,
    })
}

/// Equal without an early exit: a wrong code takes as long to refuse at any position.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |diff, (x, y)| diff | (x ^ y))
            == 0
}

impl NoticeStore for SqliteMetadata {
    fn add_pending_subscription(
        &self,
        pending: &PendingSubscription,
        max_per_case: i64,
        now: i64,
    ) -> Result<PendingOutcome, ServerError> {
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "DELETE FROM notice_subscriptions
                 WHERE confirmed_at IS NULL AND (code_expires_at <= ?1
                   OR (case_number = ?2 AND contact_key = ?3))",
                params![now, pending.case_number, pending.contact_key],
            )?;
            let subscribed: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM notice_subscriptions
                 WHERE case_number = ?1 AND contact_key = ?2)",
                params![pending.case_number, pending.contact_key],
                |r| r.get(0),
            )?;
            if subscribed {
                tx.commit()?;
                return Ok(PendingOutcome::AlreadySubscribed);
            }
            let count: i64 = tx.query_row(
                "SELECT count(*) FROM notice_subscriptions WHERE case_number = ?1",
                [&pending.case_number],
                |r| r.get(0),
            )?;
            if count >= max_per_case {
                tx.commit()?;
                return Ok(PendingOutcome::TooMany);
            }
            tx.execute(
                "INSERT INTO notice_subscriptions (id, case_number, channel, contact_sealed,
                   contact_key, created_at, code_mac, code_expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    pending.id,
                    pending.case_number,
                    pending.channel.name(),
                    pending.contact_sealed,
                    pending.contact_key,
                    now,
                    pending.code_mac,
                    pending.code_expires_at
                ],
            )?;
            tx.commit()?;
            Ok(PendingOutcome::Added)
        })
    }

    fn confirm_subscription(
        &self,
        id: &str,
        case_number: &str,
        code_mac: &str,
        stop_sha256: &str,
        stop_sealed: &[u8],
        max_wrong: i64,
        now: i64,
    ) -> Result<Confirmation, ServerError> {
        self.with(|conn| {
            // IMMEDIATE: two wrong codes at once both count.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let row: Option<(Option<String>, i64, i64)> = tx
                .query_row(
                    "SELECT code_mac, code_expires_at, wrong_codes FROM notice_subscriptions
                     WHERE id = ?1 AND case_number = ?2 AND confirmed_at IS NULL",
                    params![id, case_number],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let Some((expected, expires_at, wrong)) = row else {
                return Ok(Confirmation::Unknown);
            };
            let drop = |tx: &rusqlite::Transaction<'_>| {
                tx.execute("DELETE FROM notice_subscriptions WHERE id = ?1", [id])
            };
            let outcome = if expires_at <= now {
                drop(&tx)?;
                Confirmation::Expired
            } else if !expected.is_some_and(|expected| same(&expected, code_mac)) {
                let wrong = wrong + 1;
                if wrong >= max_wrong {
                    drop(&tx)?;
                    Confirmation::TooManyWrong
                } else {
                    tx.execute(
                        "UPDATE notice_subscriptions SET wrong_codes = ?2 WHERE id = ?1",
                        params![id, wrong],
                    )?;
                    Confirmation::WrongCode {
                        tries_left: max_wrong - wrong,
                    }
                }
            } else {
                let latest: i64 = tx.query_row(
                    "SELECT coalesce(max(cursor), 0) FROM status_events WHERE case_number = ?1",
                    [case_number],
                    |r| r.get(0),
                )?;
                tx.execute(
                    "UPDATE notice_subscriptions SET confirmed_at = ?2, code_mac = NULL,
                       stop_sha256 = ?3, stop_sealed = ?4, last_cursor = ?5, attempts = 0,
                       next_attempt_at = ?2
                     WHERE id = ?1",
                    params![id, now, stop_sha256, stop_sealed, latest],
                )?;
                Confirmation::Confirmed
            };
            tx.commit()?;
            Ok(outcome)
        })
    }

    fn subscription_by_stop(
        &self,
        stop_sha256: &str,
    ) -> Result<Option<NoticeSubscription>, ServerError> {
        self.with(|conn| {
            Ok(conn
                .query_row(
                    &format!("SELECT {COLUMNS} FROM notice_subscriptions WHERE stop_sha256 = ?1"),
                    [stop_sha256],
                    subscription_from_row,
                )
                .optional()?)
        })
    }

    fn stop_by_token(&self, stop_sha256: &str) -> Result<bool, ServerError> {
        self.with(|conn| {
            Ok(conn.execute(
                "DELETE FROM notice_subscriptions WHERE stop_sha256 = ?1",
                [stop_sha256],
            )? > 0)
        })
    }

    fn stop_by_contact(&self, case_number: &str, contact_key: &str) -> Result<usize, ServerError> {
        self.with(|conn| {
            Ok(conn.execute(
                "DELETE FROM notice_subscriptions WHERE case_number = ?1 AND contact_key = ?2",
                params![case_number, contact_key],
            )?)
        })
    }

    fn forget_expired_pending(&self, now: i64) -> Result<usize, ServerError> {
        self.with(|conn| {
            Ok(conn.execute(
                "DELETE FROM notice_subscriptions
                 WHERE confirmed_at IS NULL AND code_expires_at <= ?1",
                [now],
            )?)
        })
    }

    fn case_subscriptions(
        &self,
        case_number: &str,
    ) -> Result<Vec<NoticeSubscription>, ServerError> {
        self.with(|conn| {
            let mut statement = conn.prepare(&format!(
                "SELECT {COLUMNS} FROM notice_subscriptions WHERE case_number = ?1
                 ORDER BY created_at, id"
            ))?;
            let rows = statement.query_map([case_number], subscription_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn due_notices(&self, now: i64, limit: i64) -> Result<Vec<DueNotice>, ServerError> {
        self.with(|conn| {
            let mut statement = conn.prepare(
                "SELECT s.id, s.channel, s.contact_sealed, s.stop_sealed, s.attempts,
                        e.cursor, e.case_number, e.status, e.at, d.detail
                 FROM notice_subscriptions s
                 JOIN status_events e ON e.cursor = (
                     SELECT min(x.cursor) FROM status_events x
                     WHERE x.case_number = s.case_number AND x.cursor > s.last_cursor)
                 LEFT JOIN status_details d ON d.cursor = e.cursor
                 WHERE s.confirmed_at IS NOT NULL AND s.next_attempt_at <= ?1
                   AND s.stop_sealed IS NOT NULL
                 ORDER BY s.next_attempt_at, s.id LIMIT ?2",
            )?;
            let rows = statement.query_map(params![now, limit], |r| {
                Ok(DueNotice {
                    subscription_id: r.get(0)?,
                    channel: channel_of(&r.get::<_, String>(1)?, 1)?,
                    contact_sealed: r.get(2)?,
                    stop_sealed: r.get(3)?,
                    attempts: r.get(4)?,
                    event: StatusEvent {
                        cursor: r.get(5)?,
                        case_number: r.get(6)?,
                        status: StateName::parse(&r.get::<_, String>(7)?),
                        at: r.get(8)?,
                        detail: r.get(9)?,
                    },
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn notice_sent(&self, id: &str, cursor: i64) -> Result<(), ServerError> {
        self.with(|conn| {
            conn.execute(
                "UPDATE notice_subscriptions SET last_cursor = max(last_cursor, ?2), attempts = 0,
                   last_error = NULL
                 WHERE id = ?1",
                params![id, cursor],
            )?;
            Ok(())
        })
    }

    fn notice_failed(
        &self,
        id: &str,
        next_attempt_at: i64,
        reason: &str,
    ) -> Result<(), ServerError> {
        self.with(|conn| {
            conn.execute(
                "UPDATE notice_subscriptions SET attempts = attempts + 1, next_attempt_at = ?2,
                   last_error = ?3
                 WHERE id = ?1",
                params![id, next_attempt_at, reason],
            )?;
            Ok(())
        })
    }

    fn notice_given_up(&self, id: &str, cursor: i64, reason: &str) -> Result<(), ServerError> {
        self.with(|conn| {
            conn.execute(
                "UPDATE notice_subscriptions SET last_cursor = max(last_cursor, ?2), attempts = 0,
                   last_error = ?3
                 WHERE id = ?1",
                params![id, cursor, reason],
            )?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::store::MetadataStore;
    use fieldkit_domain::workflow::CaseState;

    fn store() -> (tempfile::TempDir, SqliteMetadata) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteMetadata::open(&dir.path().join("metadata.sqlite")).unwrap();
        (dir, store)
    }

    fn pending(id: &str, contact_key: &str) -> PendingSubscription {
        PendingSubscription {
            id: id.into(),
            case_number: "LV01/T07/2026/000001-X".into(),
            channel: Channel::Email,
            contact_sealed: vec![1, 2, 3],
            contact_key: contact_key.into(),
            code_mac: format!("mac-{id}"),
            code_expires_at: 1900,
        }
    }

    fn confirm(store: &SqliteMetadata, id: &str, mac: &str, now: i64) -> Confirmation {
        store
            .confirm_subscription(
                id,
                "LV01/T07/2026/000001-X",
                mac,
                &format!("stop-{id}"),
                b"sealed",
                5,
                now,
            )
            .unwrap()
    }

    #[test]
    fn five_wrong_codes_drop_the_request_and_an_expired_one_is_gone() {
        let (_dir, store) = store();
        store
            .add_pending_subscription(&pending("a", "k1"), 5, 1000)
            .unwrap();
        for left in (1..5).rev() {
            assert_eq!(
                confirm(&store, "a", "wrong", 1001),
                Confirmation::WrongCode { tries_left: left }
            );
        }
        assert_eq!(
            confirm(&store, "a", "wrong", 1001),
            Confirmation::TooManyWrong
        );
        // Dropped: even the right code finds nothing now.
        assert_eq!(confirm(&store, "a", "mac-a", 1001), Confirmation::Unknown);

        store
            .add_pending_subscription(&pending("b", "k2"), 5, 1000)
            .unwrap();
        assert_eq!(confirm(&store, "b", "mac-b", 1900), Confirmation::Expired);
        assert_eq!(confirm(&store, "b", "mac-b", 1000), Confirmation::Unknown);
    }

    #[test]
    fn a_confirmed_subscription_is_owed_only_later_events_in_order() {
        let (_dir, store) = store();
        let case = "LV01/T07/2026/000001-X";
        store
            .add_status_event(case, CaseState::Received, None, 900)
            .unwrap();
        store
            .add_pending_subscription(&pending("a", "k1"), 5, 1000)
            .unwrap();
        assert_eq!(
            store
                .add_pending_subscription(&pending("b", "k1"), 5, 1000)
                .unwrap(),
            PendingOutcome::Added,
            "a second request for the same contact replaces the first"
        );
        assert_eq!(confirm(&store, "a", "mac-a", 1001), Confirmation::Unknown);
        assert_eq!(confirm(&store, "b", "mac-b", 1001), Confirmation::Confirmed);
        assert_eq!(
            store
                .add_pending_subscription(&pending("c", "k1"), 5, 1002)
                .unwrap(),
            PendingOutcome::AlreadySubscribed
        );
        assert!(store.due_notices(2000, 10).unwrap().is_empty());
        let first = store
            .add_status_event(case, CaseState::Accepted, None, 1100)
            .unwrap();
        let second = store
            .add_status_event(case, CaseState::Refused, Some("причина"), 1200)
            .unwrap();
        let due = store.due_notices(2000, 10).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].event.cursor, first);
        store.notice_failed("b", 3000, "SMTP timed out").unwrap();
        assert!(store.due_notices(2000, 10).unwrap().is_empty());
        let due = store.due_notices(3000, 10).unwrap();
        assert_eq!((due[0].event.cursor, due[0].attempts), (first, 1));
        store.notice_sent("b", first).unwrap();
        let due = store.due_notices(3000, 10).unwrap();
        assert_eq!(due[0].event.cursor, second);
        assert_eq!(due[0].event.detail.as_deref(), Some("причина"));
        store.notice_given_up("b", second, "refused").unwrap();
        assert!(store.due_notices(3000, 10).unwrap().is_empty());
        let kept = store.case_subscriptions(case).unwrap();
        assert_eq!(kept[0].last_error.as_deref(), Some("refused"));
        assert!(store.stop_by_token("stop-b").unwrap());
        assert!(store.case_subscriptions(case).unwrap().is_empty());
    }

    #[test]
    fn a_case_takes_a_bounded_number_of_subscriptions() {
        let (_dir, store) = store();
        for i in 0..3 {
            assert_eq!(
                store
                    .add_pending_subscription(&pending(&format!("p{i}"), &format!("k{i}")), 3, 1000)
                    .unwrap(),
                PendingOutcome::Added
            );
        }
        assert_eq!(
            store
                .add_pending_subscription(&pending("p9", "k9"), 3, 1000)
                .unwrap(),
            PendingOutcome::TooMany
        );
        // Once their codes expire, the pending ones make room.
        assert_eq!(
            store
                .add_pending_subscription(&pending("p9", "k9"), 3, 1900)
                .unwrap(),
            PendingOutcome::Added
        );
        assert_eq!(
            store
                .stop_by_contact("LV01/T07/2026/000001-X", "k9")
                .unwrap(),
            1
        );
    }
}
