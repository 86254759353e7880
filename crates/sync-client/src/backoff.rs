//! When to try again: background sync waits longer after each failure while offline (with
//! jitter, so a room of tablets does not retry in step) and goes back to its normal period as
//! soon as a pass succeeds.

/// Seconds to wait before the next sync pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Between successful passes.
    pub period: u64,
    /// First wait after a failure; doubles with each failure in a row.
    pub first_retry: u64,
    /// The longest wait.
    pub max: u64,
    failures: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            period: 300,
            first_retry: 15,
            max: 1800,
            failures: 0,
        }
    }
}

impl Backoff {
    /// A pass succeeded: back to the normal period.
    pub fn succeeded(&mut self) -> u64 {
        self.failures = 0;
        self.period
    }

    /// A pass failed with a retryable error; `jitter` in 0..1 (from the caller's randomness)
    /// spreads the wait over its last quarter.
    pub fn failed(&mut self, jitter: f64) -> u64 {
        let wait = (self.first_retry << self.failures.min(20)).min(self.max);
        self.failures = self.failures.saturating_add(1);
        let spread = (wait as f64 * 0.25 * jitter.clamp(0.0, 1.0)) as u64;
        wait - spread
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_while_offline_up_to_the_cap_and_reset_on_success() {
        let mut backoff = Backoff::default();
        let waits: Vec<u64> = (0..9).map(|_| backoff.failed(0.0)).collect();
        assert_eq!(waits, [15, 30, 60, 120, 240, 480, 960, 1800, 1800]);
        assert_eq!(backoff.succeeded(), 300);
        assert_eq!(backoff.failed(0.0), 15);
    }

    #[test]
    fn jitter_shortens_a_wait_by_at_most_a_quarter() {
        let mut backoff = Backoff::default();
        assert_eq!(backoff.failed(1.0), 12);
        let mut other = Backoff::default();
        assert_eq!(other.failed(0.5), 14);
    }
}

/// Run a sync pass again and again in the background: after a success wait the normal period,
/// after a retryable failure the growing back-off. Ends when `stop` turns true, or with the
/// error when a failure cannot be helped by retrying (a revoked tablet).
pub async fn run_in_background<F, Fut>(
    mut pass: F,
    mut backoff: Backoff,
    mut jitter: impl FnMut() -> f64,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(), crate::SyncError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), crate::SyncError>>,
{
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        let wait = match pass().await {
            Ok(()) => backoff.succeeded(),
            Err(error) if error.is_retryable() => backoff.failed(jitter()),
            Err(error) => return Err(error),
        };
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(wait)) => {}
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return Ok(());
                }
            }
        }
    }
}

#[cfg(test)]
mod loop_tests {
    use super::*;
    use crate::SyncError;
    use std::sync::{Arc, Mutex};
    use tokio::time::Instant;

    #[tokio::test(start_paused = true)]
    async fn retries_back_off_while_offline_then_keep_the_period() {
        let started = Instant::now();
        let times = Arc::new(Mutex::new(Vec::new()));
        let (stop_tx, stop) = tokio::sync::watch::channel(false);
        let seen = times.clone();
        let pass = move || {
            let seen = seen.clone();
            let stop_tx = stop_tx.clone();
            async move {
                let mut seen = seen.lock().unwrap();
                seen.push(started.elapsed().as_secs());
                match seen.len() {
                    1..=3 => Err(SyncError::Offline("no network".into())),
                    6 => {
                        stop_tx.send(true).unwrap();
                        Ok(())
                    }
                    _ => Ok(()),
                }
            }
        };
        run_in_background(pass, Backoff::default(), || 0.0, stop)
            .await
            .unwrap();
        // Three failures: waits of 15, 30, 60 s; then every 300 s.
        assert_eq!(*times.lock().unwrap(), [0, 15, 45, 105, 405, 705]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_revoked_tablet_stops_retrying() {
        let (_stop_tx, stop) = tokio::sync::watch::channel(false);
        let pass = || async {
            Err(SyncError::Refused {
                status: 403,
                code: "device_revoked".into(),
                message: String::new(),
            })
        };
        let result = run_in_background(pass, Backoff::default(), || 0.0, stop).await;
        assert!(matches!(
            result,
            Err(SyncError::Refused { status: 403, .. })
        ));
    }
}
