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
