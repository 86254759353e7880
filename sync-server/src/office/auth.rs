//! Back-office sign-in: users with roles, Argon2id password hashes, sessions kept as the
//! SHA-256 of a random token (the token itself lives only in the browser's HttpOnly cookie), a
//! CSRF token per session, and a back-off after wrong passwords.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};
use rusqlite::{OptionalExtension, params};

use super::db::{OfficeDb, audit};
use crate::ServerError;
use crate::store::{Attempt, AttemptKey, AttemptStore, BackOff};

/// How long a session lasts without signing in again.
pub const SESSION_SECONDS: i64 = 8 * 3600;
/// Wrong passwords allowed before the account waits.
const FREE_FAILURES: i64 = 3;
const MAX_LOCK_SECONDS: i64 = 15 * 60;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Reconciles cases: accepts and forwards, returns, marks duplicates; plans visits.
    Operator,
    /// Reads everything, sees the reconciliation reports, publishes the catalog.
    Supervisor,
    /// Enrollment codes, revocation, devices.
    DeviceAdmin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Supervisor => "supervisor",
            Role::DeviceAdmin => "device_admin",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "operator" => Some(Role::Operator),
            "supervisor" => Some(Role::Supervisor),
            "device_admin" => Some(Role::DeviceAdmin),
            _ => None,
        }
    }
}

/// A signed-in user, from their session.
#[derive(Debug, Clone)]
pub struct Staff {
    pub username: String,
    pub role: Role,
    pub csrf_token: String,
}

impl Staff {
    /// Whether this user may act in `role`'s part of the back-office.
    pub fn may(&self, allowed: &[Role]) -> bool {
        allowed.contains(&self.role)
    }
}

/// Why signing in failed; the page says the same for an unknown user and a wrong password.
#[derive(Debug, PartialEq, Eq)]
pub enum LoginRefused {
    WrongCredentials,
    /// Too many wrong passwords: try again after this many seconds.
    Wait(i64),
}

fn random_hex(bytes: usize) -> Result<String, ServerError> {
    let mut buffer = vec![0u8; bytes];
    SystemRandom::new()
        .fill(&mut buffer)
        .map_err(|_| ServerError::Storage("no randomness".into()))?;
    Ok(hex::encode(buffer))
}

/// A fresh token for the sign-in form, which has no session yet to carry a CSRF token.
pub fn new_login_token() -> Result<String, ServerError> {
    random_hex(32)
}

fn token_hash(token: &str) -> String {
    hex::encode(digest(&SHA256, token.as_bytes()))
}

fn hash_password(password: &str) -> Result<String, ServerError> {
    let mut salt = [0u8; 16];
    SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| ServerError::Storage("no randomness".into()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| ServerError::Storage(e.to_string()))?;
    // Argon2::default() is Argon2id, version 0x13, 19 MiB, 2 passes: OWASP's minimum.
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| ServerError::Storage(e.to_string()))
}

fn password_matches(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Add a user, or set a new password and role for an existing one.
pub fn set_user(
    db: &OfficeDb,
    username: &str,
    role: Role,
    password: &str,
    actor: &str,
    now: i64,
) -> Result<(), ServerError> {
    let valid = !username.is_empty()
        && username.len() <= 64
        && username
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-' || c == '_');
    if !valid {
        return Err(ServerError::Mismatch(
            "user name: 1–64 letters, digits, dots, hyphens or underscores",
        ));
    }
    if password.chars().count() < 12 {
        return Err(ServerError::Mismatch("password: at least 12 characters"));
    }
    let hash = hash_password(password)?;
    db.transaction(|tx| {
        tx.execute(
            "INSERT INTO office_users (username, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(username) DO UPDATE SET role = ?2, password_hash = ?3, failed_logins = 0, locked_until = 0",
            params![username, role.as_str(), hash, now],
        )?;
        // A new password ends every session of the old one, and lifts every wait.
        tx.execute("DELETE FROM office_sessions WHERE username = ?1", [username])?;
        crate::store::forget_sign_in_attempts(tx, username)?;
        audit(tx, actor, "user.set", username, role.as_str(), now)
    })
}

/// A fresh session: the cookie token (to send once) and the user.
pub struct NewSession {
    pub token: String,
    pub staff: Staff,
}

/// Sign-in attempts per (user name, address): three free, then 30 s doubling up to 15 min.
pub const SIGN_IN_BACK_OFF: BackOff = BackOff {
    free: FREE_FAILURES,
    first_wait: 30,
    max_wait: MAX_LOCK_SECONDS,
};

/// Check a password from `address`; on success open a session. The attempt is counted before
/// the password is checked, per (name, address), so parallel guesses each count and a guesser
/// elsewhere cannot lock staff out. Every attempt runs Argon2 once and answers alike whether
/// the name exists or not, locked or not.
pub fn login(
    db: &OfficeDb,
    attempts: &dyn AttemptStore,
    username: &str,
    password: &str,
    address: &str,
    now: i64,
) -> Result<Result<NewSession, LoginRefused>, ServerError> {
    let key = AttemptKey::sign_in(username, address);
    let attempt = attempts.begin_attempt(&key, &SIGN_IN_BACK_OFF, now)?;
    let user: Option<(String, String)> = db.transaction(|tx| {
        Ok(tx
            .query_row(
                "SELECT role, password_hash FROM office_users WHERE username = ?1",
                [username],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    })?;
    // The same work for every attempt, so timing tells neither names nor locks apart.
    let stored = user.as_ref().map_or(DUMMY_HASH, |(_, hash)| hash.as_str());
    let password_right = password_matches(password, stored) && user.is_some();
    let wait_if_failed = match attempt {
        Attempt::Locked { seconds } => {
            db.transaction(|tx| audit(tx, username, "login.locked", username, "", now))?;
            return Ok(Err(LoginRefused::Wait(seconds)));
        }
        Attempt::Allowed { wait_if_failed } => wait_if_failed,
    };
    let Some((role, _)) = user.filter(|_| password_right) else {
        db.transaction(|tx| audit(tx, username, "login.failed", username, "", now))?;
        return Ok(Err(if wait_if_failed > 0 {
            LoginRefused::Wait(wait_if_failed)
        } else {
            LoginRefused::WrongCredentials
        }));
    };
    attempts.attempt_succeeded(&key)?;
    let role = Role::parse(&role)
        .ok_or_else(|| ServerError::Storage(format!("user {username} has an unknown role")))?;
    let token = random_hex(32)?;
    let csrf_token = random_hex(32)?;
    db.transaction(|tx| {
        tx.execute("DELETE FROM office_sessions WHERE expires_at <= ?1", [now])?;
        tx.execute(
            "INSERT INTO office_sessions (token_sha256, username, csrf_token, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![token_hash(&token), username, csrf_token, now + SESSION_SECONDS],
        )?;
        audit(tx, username, "login", username, "", now)
    })?;
    Ok(Ok(NewSession {
        token,
        staff: Staff {
            username: username.to_owned(),
            role,
            csrf_token,
        },
    }))
}

/// The user of a session cookie, if it is valid now.
pub fn session(db: &OfficeDb, token: &str, now: i64) -> Result<Option<Staff>, ServerError> {
    let row: Option<(String, String, String)> = db.transaction(|tx| {
        Ok(tx
            .query_row(
                "SELECT s.username, u.role, s.csrf_token FROM office_sessions s
                 JOIN office_users u ON u.username = s.username
                 WHERE s.token_sha256 = ?1 AND s.expires_at > ?2",
                params![token_hash(token), now],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
    })?;
    Ok(row.and_then(|(username, role, csrf_token)| {
        Some(Staff {
            username,
            role: Role::parse(&role)?,
            csrf_token,
        })
    }))
}

pub fn logout(db: &OfficeDb, token: &str, now: i64) -> Result<(), ServerError> {
    db.transaction(|tx| {
        let username: Option<String> = tx
            .query_row(
                "SELECT username FROM office_sessions WHERE token_sha256 = ?1",
                [token_hash(token)],
                |r| r.get(0),
            )
            .optional()?;
        tx.execute(
            "DELETE FROM office_sessions WHERE token_sha256 = ?1",
            [token_hash(token)],
        )?;
        if let Some(username) = username {
            audit(tx, &username, "logout", &username, "", now)?;
        }
        Ok(())
    })
}

/// Compare two tokens in time that does not depend on where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A valid Argon2id hash of a random password nobody knows, verified for unknown users.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$1nX3m0bY0Lh6f3oHnqX3mQ8o9sW5n8i0eJXb1o0pYqE";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// An unparsable dummy would skip Argon2 and make unknown names answer faster.
    #[test]
    fn the_dummy_hash_costs_what_a_real_one_does() {
        let dummy = PasswordHash::new(DUMMY_HASH).unwrap();
        let real_text = hash_password("a password of twelve+").unwrap();
        let real = PasswordHash::new(&real_text).unwrap();
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(dummy.params, real.params);
        assert_eq!(
            dummy.hash.map(|h| h.len()),
            real.hash.map(|h| h.len()),
            "same output length"
        );
        assert!(!password_matches("a password of twelve+", DUMMY_HASH));
    }
}
