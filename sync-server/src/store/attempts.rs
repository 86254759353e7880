//! Attempts counted per key, so a guesser slows down: back-office sign-ins per (user name,
//! address) and enrollments per address. The count moves in the same statement that reads the
//! lock, before the password or code is checked, so N parallel guesses count N.

use ring::digest::{SHA256, digest};

use crate::ServerError;

/// Free attempts, then waits that double up to a ceiling.
#[derive(Debug, Clone, Copy)]
pub struct BackOff {
    /// Failures that cost nothing.
    pub free: i64,
    /// The wait after the first failure past the free ones, in seconds.
    pub first_wait: i64,
    /// The longest wait, in seconds.
    pub max_wait: i64,
}

impl BackOff {
    /// The wait after `failures` failures.
    pub fn wait_after(&self, failures: i64) -> i64 {
        if failures < self.free {
            return 0;
        }
        let doublings = (failures - self.free).min(20) as u32;
        self.first_wait
            .saturating_mul(1_i64 << doublings)
            .min(self.max_wait)
    }
}

/// What is counted: a key made of the attempt's kind and its parts, and the subject it belongs
/// to (a user name, for every address), stored only as SHA-256s (a user name typed wrong is
/// sometimes a password; no address or name is kept in clear).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptKey {
    key: String,
    subject: String,
}

fn hashed(parts: &[&str]) -> String {
    // Length-prefixed, so no two different part lists make the same hash.
    let mut bytes = Vec::new();
    for part in parts {
        bytes.extend_from_slice(&(part.len() as u64).to_be_bytes());
        bytes.extend_from_slice(part.as_bytes());
    }
    hex::encode(digest(&SHA256, &bytes))
}

impl AttemptKey {
    /// A back-office sign-in as `username` from `address`: one attacker locks only itself.
    pub fn sign_in(username: &str, address: &str) -> Self {
        AttemptKey {
            key: hashed(&["sign-in", username, address]),
            subject: Self::sign_in_subject(username),
        }
    }

    /// Every address's sign-in attempts as `username` (a new password forgets them all).
    pub fn sign_in_subject(username: &str) -> String {
        hashed(&["sign-in", username])
    }

    /// A tablet enrolling from `address`.
    pub fn enrollment(address: &str) -> Self {
        let key = hashed(&["enroll", address]);
        AttemptKey {
            subject: key.clone(),
            key,
        }
    }

    /// Home-visit requests (each sends a confirmation code) made from `address`.
    pub fn visit_request_from(address: &str) -> Self {
        let key = hashed(&["visit-request-address", address]);
        AttemptKey {
            subject: key.clone(),
            key,
        }
    }

    /// Home-visit requests whose code went to one contact (its keyed hash, never the contact):
    /// the form cannot be used to flood one phone from many addresses.
    pub fn visit_request_to(contact_key: &str) -> Self {
        let key = hashed(&["visit-request-contact", contact_key]);
        AttemptKey {
            subject: key.clone(),
            key,
        }
    }

    /// Tracking-code lookups that found nothing, from `address` (a guesser's own count: a
    /// lookup that finds a case neither counts nor resets it).
    pub fn tracking_lookup(address: &str) -> Self {
        Self::own_subject(&["tracking-lookup", address])
    }

    /// Confirmation codes for notices sent at the request of `address`.
    pub fn notice_code_from(address: &str) -> Self {
        Self::own_subject(&["notice-code-address", address])
    }

    /// Confirmation codes for notices about case `case_number`, whoever asked.
    pub fn notice_code_for_case(case_number: &str) -> Self {
        Self::own_subject(&["notice-code-case", case_number])
    }

    /// Confirmation codes sent to one contact (its keyed hash: the contact is never here).
    pub fn notice_code_to(contact_key: &str) -> Self {
        Self::own_subject(&["notice-code-contact", contact_key])
    }

    fn own_subject(parts: &[&str]) -> Self {
        let key = hashed(parts);
        AttemptKey {
            subject: key.clone(),
            key,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.key
    }

    pub fn subject(&self) -> &str {
        &self.subject
    }
}

/// The answer to "may this attempt go ahead?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Counted already; if it fails, the key waits `wait_if_failed` seconds (already set, so
    /// attempts running beside this one see it).
    Allowed { wait_if_failed: i64 },
    /// Refused without a check; counted too, so hammering a lock keeps it.
    Locked { seconds: i64 },
}

pub trait AttemptStore: Send + Sync {
    /// Count an attempt for `key` and say whether it may be checked, atomically.
    fn begin_attempt(
        &self,
        key: &AttemptKey,
        policy: &BackOff,
        now: i64,
    ) -> Result<Attempt, ServerError>;

    /// The attempt succeeded: the key's failures are forgotten.
    fn attempt_succeeded(&self, key: &AttemptKey) -> Result<(), ServerError>;

    /// How long `key` is still locked at `now` (seconds), without counting anything: for
    /// checks that only a failure should count (a tracking page that is found costs nothing).
    fn lock_remaining(&self, key: &AttemptKey, now: i64) -> Result<Option<i64>, ServerError>;

    /// How many attempts `key` has counted since its last success (for tests and support).
    fn attempts_counted(&self, key: &AttemptKey) -> Result<i64, ServerError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: BackOff = BackOff {
        free: 3,
        first_wait: 30,
        max_wait: 900,
    };

    #[test]
    fn waits_double_after_the_free_failures_up_to_the_ceiling() {
        let waits: Vec<i64> = (1..=10).map(|f| POLICY.wait_after(f)).collect();
        assert_eq!(waits, [0, 0, 30, 60, 120, 240, 480, 900, 900, 900]);
        assert_eq!(POLICY.wait_after(i64::MAX), 900);
    }

    #[test]
    fn keys_differ_by_kind_name_and_address_and_hide_them() {
        let a = AttemptKey::sign_in("olena", "192.0.2.1");
        assert_ne!(a, AttemptKey::sign_in("olena", "192.0.2.2"));
        assert_ne!(a, AttemptKey::sign_in("olen", "a192.0.2.1"));
        assert_ne!(
            AttemptKey::enrollment("192.0.2.1"),
            AttemptKey::sign_in("", "192.0.2.1")
        );
        assert!(!a.as_str().contains("olena"));
    }
}
