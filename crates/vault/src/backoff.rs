//! Exponential back-off on wrong passphrases, kept in the database so that restarting the app
//! does not reset it. (It slows guessing through the app; against a copied file the defence is
//! PBKDF2's cost.)

use rusqlite::{Connection, OptionalExtension};

use crate::error::{Result, VaultError};

/// How wrong passphrases are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    /// Failures allowed before any wait.
    pub free_attempts: u32,
    /// The longest wait, in seconds.
    pub max_wait_seconds: u64,
    /// Wipe the drafts after this many failures in a row (off when `None`).
    pub wipe_drafts_after: Option<u32>,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        Self {
            free_attempts: 3,
            max_wait_seconds: 15 * 60,
            wipe_drafts_after: None,
        }
    }
}

impl BackoffPolicy {
    /// Seconds to wait after `failures` failures in a row: 2, 4, 8, … once the free tries are
    /// used, capped.
    pub fn wait_after(&self, failures: u32) -> u64 {
        if failures < self.free_attempts {
            return 0;
        }
        let exponent = (failures - self.free_attempts + 1).min(62);
        (1u64 << exponent).min(self.max_wait_seconds)
    }
}

fn read(conn: &Connection) -> Result<(u32, i64)> {
    Ok(conn
        .query_row(
            "SELECT failures, last_failure_at FROM unlock_attempts WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or((0, 0)))
}

/// Refuse a try while the wait from earlier failures is not over.
pub(crate) fn check(conn: &Connection, policy: &BackoffPolicy, now: i64) -> Result<()> {
    let (failures, last) = read(conn)?;
    let until = last.saturating_add(policy.wait_after(failures) as i64);
    if now < until {
        return Err(VaultError::MustWait {
            seconds: (until - now) as u64,
        });
    }
    Ok(())
}

/// Count one more failure; returns the failures in a row.
pub(crate) fn record_failure(conn: &Connection, now: i64) -> Result<u32> {
    let (failures, _) = read(conn)?;
    let failures = failures.saturating_add(1);
    conn.execute(
        "INSERT INTO unlock_attempts (id, failures, last_failure_at) VALUES (1, ?1, ?2)
         ON CONFLICT(id) DO UPDATE SET failures = ?1, last_failure_at = ?2",
        rusqlite::params![failures, now],
    )?;
    Ok(failures)
}

pub(crate) fn reset(conn: &Connection) -> Result<()> {
    conn.execute("DELETE FROM unlock_attempts", [])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_doubles_after_the_free_attempts_and_is_capped() {
        let policy = BackoffPolicy::default();
        let waits: Vec<u64> = (0..8).map(|n| policy.wait_after(n)).collect();
        assert_eq!(waits, vec![0, 0, 0, 2, 4, 8, 16, 32]);
        assert_eq!(policy.wait_after(40), 900);
    }
}
