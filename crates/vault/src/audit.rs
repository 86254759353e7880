//! The audit chain: every state change is an event whose hash covers the event and the hash of
//! the one before. The link is an HMAC under a key derived from the VMK, so someone who edits
//! the file without the passphrase cannot recompute the chain. The head is also kept encrypted,
//! so a cut-off tail is caught here, and it is sent to the server at sync, which catches a vault
//! rolled back to an older copy.

use rusqlite::{Connection, OptionalExtension, params};

use crate::crypto::{Cipher, keyed_hash, row_aad};
use crate::error::{Result, VaultError};
use crate::schema::RECORD_FORMAT;

/// The last event of the chain: what the sync anchors on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditHead {
    pub seq: u64,
    pub hash: [u8; 32],
}

impl AuditHead {
    const GENESIS: AuditHead = AuditHead {
        seq: 0,
        hash: [0u8; 32],
    };

    fn to_bytes(self) -> Vec<u8> {
        let mut out = self.seq.to_be_bytes().to_vec();
        out.extend_from_slice(&self.hash);
        out
    }

    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let seq = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
        let hash = bytes.get(8..40)?.try_into().ok()?;
        Some(AuditHead { seq, hash })
    }
}

/// One audit event, decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub seq: u64,
    pub at: i64,
    pub kind: String,
    pub details: String,
}

pub(crate) const HEAD_SETTING: &str = "audit.head";

fn link(key: &[u8; 32], prev: &[u8], seq: u64, at: i64, kind: &str, details_ct: &[u8]) -> [u8; 32] {
    keyed_hash(
        key,
        &[
            prev,
            &seq.to_be_bytes(),
            &at.to_be_bytes(),
            kind.as_bytes(),
            details_ct,
        ],
    )
}

fn head_aad() -> Vec<u8> {
    row_aad("settings", HEAD_SETTING, RECORD_FORMAT)
}

pub(crate) fn stored_head(conn: &Connection, cipher: &Cipher) -> Result<AuditHead> {
    let sealed: Option<Vec<u8>> = conn
        .query_row(
            "SELECT value_ct FROM settings WHERE key = ?1",
            [HEAD_SETTING],
            |r| r.get(0),
        )
        .optional()?;
    let Some(sealed) = sealed else {
        return Ok(AuditHead::GENESIS);
    };
    let integrity = || VaultError::Integrity {
        table: "settings",
        row: HEAD_SETTING.into(),
    };
    let plain = cipher.open(&head_aad(), &sealed).ok_or_else(integrity)?;
    AuditHead::from_bytes(&plain).ok_or_else(integrity)
}

/// Append an event (inside the caller's transaction) and move the head.
pub(crate) fn append(
    conn: &Connection,
    cipher: &Cipher,
    key: &[u8; 32],
    at: i64,
    kind: &str,
    details: &str,
) -> Result<AuditHead> {
    let head = stored_head(conn, cipher)?;
    let seq = head.seq + 1;
    let details_ct = cipher.seal(
        &row_aad("audit_events", &seq.to_string(), RECORD_FORMAT),
        details.as_bytes(),
    )?;
    let hash = link(key, &head.hash, seq, at, kind, &details_ct);
    conn.execute(
        "INSERT INTO audit_events (seq, at, kind, details_ct, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![seq as i64, at, kind, details_ct, head.hash.as_slice(), hash.as_slice()],
    )?;
    let new_head = AuditHead { seq, hash };
    let sealed = cipher.seal(&head_aad(), &new_head.to_bytes())?;
    conn.execute(
        "INSERT INTO settings (key, value_ct) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value_ct = ?2",
        params![HEAD_SETTING, sealed],
    )?;
    Ok(new_head)
}

/// Walk the whole chain; name the first event that was removed, edited, reordered or inserted.
pub(crate) fn verify(
    conn: &Connection,
    cipher: &Cipher,
    key: &[u8; 32],
) -> Result<Vec<AuditEvent>> {
    let mut statement = conn.prepare(
        "SELECT seq, at, kind, details_ct, prev_hash, hash FROM audit_events ORDER BY seq",
    )?;
    let rows = statement.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)? as u64,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Vec<u8>>(3)?,
            r.get::<_, Vec<u8>>(4)?,
            r.get::<_, Vec<u8>>(5)?,
        ))
    })?;
    let mut expected = AuditHead::GENESIS;
    let mut events = Vec::new();
    for row in rows {
        let (seq, at, kind, details_ct, prev, hash) = row?;
        let broken = |what| VaultError::AuditChainBroken { seq, what };
        if seq != expected.seq + 1 {
            return Err(VaultError::AuditChainBroken {
                seq: expected.seq + 1,
                what: "event missing",
            });
        }
        if prev != expected.hash {
            return Err(broken("does not follow the event before it"));
        }
        let recomputed = link(key, &prev, seq, at, &kind, &details_ct);
        if !crate::crypto::hashes_equal(&recomputed, &hash) {
            return Err(broken("event was altered"));
        }
        let details = cipher
            .open(
                &row_aad("audit_events", &seq.to_string(), RECORD_FORMAT),
                &details_ct,
            )
            .ok_or(broken("details fail authentication"))?;
        events.push(AuditEvent {
            seq,
            at,
            kind,
            details: String::from_utf8_lossy(&details).into_owned(),
        });
        expected = AuditHead {
            seq,
            hash: recomputed,
        };
    }
    let head = stored_head(conn, cipher)?;
    if head != expected {
        return Err(VaultError::AuditChainBroken {
            seq: expected.seq + 1,
            what: "events after this point are missing",
        });
    }
    Ok(events)
}
