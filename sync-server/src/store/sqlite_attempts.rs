//! Attempt counting in the metadata SQLite file.

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::attempts::{Attempt, AttemptKey, AttemptStore, BackOff};
use super::sqlite::SqliteMetadata;
use crate::ServerError;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS attempts (
    key_sha256 TEXT PRIMARY KEY, subject_sha256 TEXT NOT NULL, failures INTEGER NOT NULL,
    locked_until INTEGER NOT NULL, last_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS attempts_by_last ON attempts(last_at);
CREATE INDEX IF NOT EXISTS attempts_by_subject ON attempts(subject_sha256);
";

/// Keys untouched this long (and not locked) are forgotten.
const FORGET_AFTER_SECONDS: i64 = 24 * 3600;

/// Forget every address's sign-in attempts as `username`, inside the transaction that gives
/// the user a new password (the back-office's own tables share this SQLite file).
pub fn forget_sign_in_attempts(
    tx: &rusqlite::Transaction<'_>,
    username: &str,
) -> Result<(), ServerError> {
    // The metadata store makes the table; a database the back-office opens first gets it here.
    tx.execute_batch(SCHEMA)?;
    tx.execute(
        "DELETE FROM attempts WHERE subject_sha256 = ?1",
        [AttemptKey::sign_in_subject(username)],
    )?;
    Ok(())
}

impl AttemptStore for SqliteMetadata {
    fn begin_attempt(
        &self,
        key: &AttemptKey,
        policy: &BackOff,
        now: i64,
    ) -> Result<Attempt, ServerError> {
        self.with(|conn| {
            // IMMEDIATE: another process (a second instance) cannot read the same count.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "DELETE FROM attempts WHERE last_at < ?1 AND locked_until < ?2",
                params![now - FORGET_AFTER_SECONDS, now],
            )?;
            let (failures, locked_until): (i64, i64) = tx.query_row(
                "INSERT INTO attempts (key_sha256, subject_sha256, failures, locked_until, last_at)
                 VALUES (?1, ?3, 1, 0, ?2)
                 ON CONFLICT(key_sha256) DO UPDATE SET failures = failures + 1, last_at = ?2
                 RETURNING failures, locked_until",
                params![key.as_str(), now, key.subject()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let wait = policy.wait_after(failures);
            let attempt = if locked_until > now {
                let until = locked_until.max(now + wait);
                tx.execute(
                    "UPDATE attempts SET locked_until = ?2 WHERE key_sha256 = ?1",
                    params![key.as_str(), until],
                )?;
                Attempt::Locked {
                    seconds: until - now,
                }
            } else {
                // Set now, before the check, so attempts beside this one already wait.
                if wait > 0 {
                    tx.execute(
                        "UPDATE attempts SET locked_until = ?2 WHERE key_sha256 = ?1",
                        params![key.as_str(), now + wait],
                    )?;
                }
                Attempt::Allowed {
                    wait_if_failed: wait,
                }
            };
            tx.commit()?;
            Ok(attempt)
        })
    }

    fn attempt_succeeded(&self, key: &AttemptKey) -> Result<(), ServerError> {
        self.with(|conn| {
            conn.execute("DELETE FROM attempts WHERE key_sha256 = ?1", [key.as_str()])?;
            Ok(())
        })
    }

    fn lock_remaining(&self, key: &AttemptKey, now: i64) -> Result<Option<i64>, ServerError> {
        self.with(|conn| {
            let until: Option<i64> = conn
                .query_row(
                    "SELECT locked_until FROM attempts WHERE key_sha256 = ?1",
                    [key.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(until.filter(|&until| until > now).map(|until| until - now))
        })
    }

    fn attempts_counted(&self, key: &AttemptKey) -> Result<i64, ServerError> {
        self.with(|conn| {
            Ok(conn
                .query_row(
                    "SELECT failures FROM attempts WHERE key_sha256 = ?1",
                    [key.as_str()],
                    |r| r.get(0),
                )
                .optional()?
                .unwrap_or(0))
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const POLICY: BackOff = BackOff {
        free: 3,
        first_wait: 30,
        max_wait: 900,
    };

    fn store() -> (tempfile::TempDir, SqliteMetadata) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteMetadata::open(&dir.path().join("metadata.sqlite")).unwrap();
        (dir, store)
    }

    #[test]
    fn the_third_failure_locks_and_a_success_forgets() {
        let (_dir, store) = store();
        let key = AttemptKey::sign_in("olena", "192.0.2.1");
        let answers: Vec<Attempt> = (0..4)
            .map(|_| store.begin_attempt(&key, &POLICY, 1000).unwrap())
            .collect();
        assert_eq!(
            answers,
            [
                Attempt::Allowed { wait_if_failed: 0 },
                Attempt::Allowed { wait_if_failed: 0 },
                Attempt::Allowed { wait_if_failed: 30 },
                Attempt::Locked { seconds: 60 },
            ]
        );
        assert_eq!(store.attempts_counted(&key).unwrap(), 4);
        // Elsewhere the same name is not locked.
        let other = AttemptKey::sign_in("olena", "192.0.2.77");
        assert_eq!(
            store.begin_attempt(&other, &POLICY, 1000).unwrap(),
            Attempt::Allowed { wait_if_failed: 0 }
        );
        // After the wait, one more check is allowed; a success forgets the failures.
        assert!(matches!(
            store.begin_attempt(&key, &POLICY, 1061).unwrap(),
            Attempt::Allowed { .. }
        ));
        store.attempt_succeeded(&key).unwrap();
        assert_eq!(store.attempts_counted(&key).unwrap(), 0);
    }

    #[test]
    fn the_remaining_lock_is_read_without_counting() {
        let (_dir, store) = store();
        let key = AttemptKey::tracking_lookup("192.0.2.1");
        assert_eq!(store.lock_remaining(&key, 1000).unwrap(), None);
        for _ in 0..3 {
            store.begin_attempt(&key, &POLICY, 1000).unwrap();
        }
        assert_eq!(store.lock_remaining(&key, 1000).unwrap(), Some(30));
        assert_eq!(store.lock_remaining(&key, 1029).unwrap(), Some(1));
        assert_eq!(store.lock_remaining(&key, 1030).unwrap(), None);
        assert_eq!(store.attempts_counted(&key).unwrap(), 3);
    }
}
