//! The vault as the app sees it: a locked [`Vault`] (create, open, list slots, unlock) and an
//! [`UnlockedVault`] holding the keys until it is locked or dropped.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ring::rand::SystemRandom;
use rusqlite::{Connection, Transaction, TransactionBehavior, params};
use zeroize::Zeroizing;

use crate::audit::{self, AuditEvent, AuditHead};
use crate::backoff::{self, BackoffPolicy};
use crate::clock::Clock;
use crate::crypto::{MIN_KDF_ITERATIONS, MasterKey, row_aad};
use crate::display_name;
use crate::error::{Result, VaultError};
use crate::keyslot::{self, SlotId};
use crate::schema::{self, RECORD_FORMAT};
use crate::store::{BlobId, BlobInfo, DraftSummary, Keys, VaultTx};

/// Settings a vault is opened with.
#[derive(Debug, Clone)]
pub struct VaultOptions {
    /// PBKDF2 rounds for new or changed slots; at least [`MIN_KDF_ITERATIONS`].
    pub kdf_iterations: u32,
    pub backoff: BackoffPolicy,
    pub min_passphrase_chars: usize,
    /// The most the vault file may grow to, so a full vault is a clear error on a tablet that
    /// still has room for the system; `None` leaves only the disk as the limit.
    pub max_size_bytes: Option<u64>,
}

impl Default for VaultOptions {
    fn default() -> Self {
        Self {
            kdf_iterations: MIN_KDF_ITERATIONS,
            backoff: BackoffPolicy::default(),
            min_passphrase_chars: 8,
            max_size_bytes: None,
        }
    }
}

/// A slot as the unlock screen lists it before unlocking: an opaque id, a number, and the
/// display name its administrator chose for that screen, if any (see `display_name`). Full
/// names are personal data and are read only after unlock ([`AdminInfo`]).
#[derive(Clone, PartialEq, Eq)]
pub struct SlotInfo {
    pub slot_id: SlotId,
    pub ordinal: u32,
    pub display_name: Option<String>,
}

impl std::fmt::Debug for SlotInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SlotInfo {{ slot_id: {}, ordinal: {}, display_name: {} }}",
            self.slot_id,
            self.ordinal,
            if self.display_name.is_some() {
                "<redacted>"
            } else {
                "none"
            }
        )
    }
}

/// An administrator as listed once the vault is unlocked.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminInfo {
    pub slot_id: SlotId,
    pub ordinal: u32,
    pub name: String,
}

impl std::fmt::Debug for AdminInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "AdminInfo {{ slot_id: {}, ordinal: {}, name: <redacted> }}",
            self.slot_id, self.ordinal
        )
    }
}

/// A vault on disk, locked.
pub struct Vault {
    path: PathBuf,
    options: VaultOptions,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Vault {{ path: {:?}, locked }}", self.path)
    }
}

fn check_passphrase(options: &VaultOptions, passphrase: &str) -> Result<()> {
    if passphrase.chars().count() < options.min_passphrase_chars {
        return Err(VaultError::PassphraseTooShort(options.min_passphrase_chars));
    }
    if options.kdf_iterations < MIN_KDF_ITERATIONS {
        return Err(VaultError::WeakKdf {
            requested: options.kdf_iterations,
            minimum: MIN_KDF_ITERATIONS,
        });
    }
    Ok(())
}

/// Writing past the size limit fails with SQLITE_FULL, which the caller sees as `DiskFull`,
/// exactly as a full disk would.
fn apply_size_limit(conn: &Connection, options: &VaultOptions) -> Result<()> {
    if let Some(limit) = options.max_size_bytes {
        let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        let pages = (limit / page_size.max(1) as u64).clamp(1, i64::MAX as u64) as i64;
        conn.pragma_update(None, "max_page_count", pages)?;
    }
    Ok(())
}

fn name_aad(slot: &SlotId) -> Vec<u8> {
    row_aad("key_slots", &format!("{}/name", slot.0), RECORD_FORMAT)
}

impl Vault {
    /// Create a new vault with its first administrator, and return it unlocked.
    pub fn create(
        path: &Path,
        admin_name: &str,
        passphrase: &str,
        options: VaultOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<UnlockedVault> {
        check_passphrase(&options, passphrase)?;
        if path.exists() {
            return Err(VaultError::AlreadyExists(path.display().to_string()));
        }
        let mut conn = schema::connect(path, true)?;
        schema::migrate(&mut conn)?;
        apply_size_limit(&conn, &options)?;
        let rng = SystemRandom::new();
        let keys = Keys::from_master(MasterKey::generate(&rng)?)?;
        let slot = keyslot::new_slot_id(&rng)?;
        let mut vault = UnlockedVault {
            conn,
            keys,
            rng,
            slot: slot.clone(),
            path: path.to_owned(),
            options,
            clock,
        };
        vault.insert_slot(&slot, 1, admin_name, passphrase, "vault.created")?;
        vault.transaction(|tx| tx.clear_rebind_mark())?;
        Ok(vault)
    }

    /// Open an existing vault (migrating its schema if it is older), locked.
    pub fn open(path: &Path, options: VaultOptions, clock: Arc<dyn Clock>) -> Result<Vault> {
        if !path.exists() {
            return Err(VaultError::NoVault(path.display().to_string()));
        }
        let mut conn = schema::connect(path, false)?;
        schema::migrate(&mut conn)?;
        Ok(Vault {
            path: path.to_owned(),
            options,
            clock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The slots in order, with the display names the display key opens.
    pub fn slots(&self) -> Result<Vec<SlotInfo>> {
        let conn = schema::connect(&self.path, false)?;
        let key = display_name::load_key(&self.path)?;
        let mut statement =
            conn.prepare("SELECT slot_id, ordinal, display_ct FROM key_slots ORDER BY ordinal")?;
        let rows = statement.query_map([], |r| {
            Ok((
                SlotId(r.get(0)?),
                r.get::<_, u32>(1)?,
                r.get::<_, Option<Vec<u8>>>(2)?,
            ))
        })?;
        let mut slots = Vec::new();
        for row in rows {
            let (slot_id, ordinal, sealed) = row?;
            let display_name = match (&key, sealed) {
                (Some(key), Some(sealed)) => display_name::open(key, &slot_id, &sealed),
                _ => None,
            };
            slots.push(SlotInfo {
                slot_id,
                ordinal,
                display_name,
            });
        }
        Ok(slots)
    }

    /// Make the vault unreadable for good without unlocking it: every key slot (the master key
    /// wrapped under each passphrase) is deleted and overwritten in the file and the WAL
    /// (secure_delete, then a truncating checkpoint). What stays is ciphertext no key opens.
    /// For a lost tablet's remote wipe, which must work while the tablet is locked.
    pub fn shred_keys(&self) -> Result<()> {
        let conn = schema::connect(&self.path, false)?;
        conn.execute("DELETE FROM key_slots", [])?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Shred the keys (see [`Vault::shred_keys`]), then remove the vault's files.
    pub fn destroy(self) -> Result<()> {
        self.shred_keys()?;
        display_name::remove_key(&self.path)?;
        for suffix in ["", "-wal", "-shm"] {
            let mut name = self.path.clone().into_os_string();
            name.push(suffix);
            match std::fs::remove_file(&name) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(VaultError::Remove {
                        path: std::path::PathBuf::from(name).display().to_string(),
                        source: e,
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Unlock with an administrator's passphrase. Wrong passphrases count towards the back-off.
    pub fn unlock(&self, slot: &SlotId, passphrase: &str) -> Result<UnlockedVault> {
        let conn = schema::connect(&self.path, false)?;
        let now = self.clock.now();
        backoff::check(&conn, &self.options.backoff, now)?;
        let Some(master) = keyslot::try_unwrap(&conn, slot, passphrase)? else {
            let failures = backoff::record_failure(&conn, now)?;
            if self
                .options
                .backoff
                .wipe_drafts_after
                .is_some_and(|limit| failures >= limit)
            {
                conn.execute("DELETE FROM drafts", [])?;
                return Err(VaultError::DraftsWiped);
            }
            return Err(VaultError::WrongPassphrase { failures });
        };
        backoff::reset(&conn)?;
        apply_size_limit(&conn, &self.options)?;
        let keys = Keys::from_master(master)?;
        let mut vault = UnlockedVault {
            conn,
            keys,
            rng: SystemRandom::new(),
            slot: slot.clone(),
            path: self.path.clone(),
            options: self.options.clone(),
            clock: self.clock.clone(),
        };
        let details = format!("slot={slot}");
        vault.transaction(|tx| {
            // Schema 8's re-encryption of older drafts and blobs needs the keys: it runs here,
            // once, in the same transaction as the unlock's audit event.
            tx.rebind_legacy_rows()?;
            tx.audit("vault.unlocked", &details)
        })?;
        Ok(vault)
    }
}

/// A vault with its keys in memory. Locking (or dropping) it wipes the keys.
pub struct UnlockedVault {
    conn: Connection,
    keys: Keys,
    rng: SystemRandom,
    slot: SlotId,
    path: PathBuf,
    options: VaultOptions,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for UnlockedVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "UnlockedVault {{ path: {:?}, slot: {}, keys: <redacted> }}",
            self.path, self.slot
        )
    }
}

/// A transaction that takes the write lock when it begins (`BEGIN IMMEDIATE`), waiting for the
/// other connection (the sync worker's) as long as the busy timeout allows. A deferred one that
/// reads first (every write reads the audit chain's head) is refused at once with «database is
/// locked» when the other connection commits between its read and its write: SQLite cannot
/// upgrade a stale snapshot, and does not wait (tests/two_writers.rs).
fn write_transaction(conn: &mut Connection) -> Result<Transaction<'_>> {
    Ok(conn.transaction_with_behavior(TransactionBehavior::Immediate)?)
}

impl UnlockedVault {
    /// Run `work` in one transaction: all of it is committed, or none of it.
    pub fn transaction<T>(&mut self, work: impl FnOnce(&VaultTx<'_>) -> Result<T>) -> Result<T> {
        let tx = write_transaction(&mut self.conn)?;
        let vtx = VaultTx {
            tx,
            keys: &self.keys,
            rng: &self.rng,
            now: self.clock.now(),
        };
        let value = work(&vtx)?;
        vtx.tx.commit()?;
        Ok(value)
    }

    /// Lock: the keys are wiped and the locked vault is returned.
    pub fn lock(self) -> Vault {
        Vault {
            path: self.path,
            options: self.options,
            clock: self.clock,
        }
    }

    /// The vault's file (settings that must live beside it, outside it, go next to it).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A second connection to the same vault with the same keys, for a background worker
    /// (sync, printing) so it never holds the screen's connection. SQLite's WAL lets both work
    /// at once; each waits briefly for the other's write lock. Its keys are wiped when dropped.
    pub fn second_connection(&self) -> Result<UnlockedVault> {
        let conn = schema::connect(&self.path, false)?;
        apply_size_limit(&conn, &self.options)?;
        let master = MasterKey::from_bytes(self.keys.master.expose()).ok_or(VaultError::Random)?;
        Ok(UnlockedVault {
            conn,
            keys: Keys::from_master(master)?,
            rng: SystemRandom::new(),
            slot: self.slot.clone(),
            path: self.path.clone(),
            options: self.options.clone(),
            clock: self.clock.clone(),
        })
    }

    /// The administrator who unlocked.
    pub fn slot(&self) -> &SlotId {
        &self.slot
    }

    fn insert_slot(
        &mut self,
        slot: &SlotId,
        ordinal: u32,
        name: &str,
        passphrase: &str,
        event: &str,
    ) -> Result<()> {
        let name_ct = self.keys.rows.seal(&name_aad(slot), name.as_bytes())?;
        let iterations = self.options.kdf_iterations;
        let rng = &self.rng;
        let master = &self.keys.master;
        let now = self.clock.now();
        let tx = write_transaction(&mut self.conn)?;
        tx.execute(
            "INSERT INTO key_slots (slot_id, ordinal, salt, iterations, verifier, wrapped_vmk, name_ct, created_at)
             VALUES (?1, ?2, x'', ?3, x'', x'', ?4, ?5)",
            params![slot.0, ordinal, iterations, name_ct, now],
        )?;
        keyslot::write_slot(&tx, rng, slot, master, passphrase, iterations)?;
        audit::append(
            &tx,
            &self.keys.rows,
            &self.keys.audit,
            now,
            event,
            &format!("slot={slot}"),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Add an administrator with their own passphrase.
    pub fn add_admin(&mut self, name: &str, passphrase: &str) -> Result<SlotId> {
        check_passphrase(&self.options, passphrase)?;
        let ordinal: u32 = self.conn.query_row(
            "SELECT COALESCE(MAX(ordinal), 0) + 1 FROM key_slots",
            [],
            |r| r.get(0),
        )?;
        let slot = keyslot::new_slot_id(&self.rng)?;
        self.insert_slot(&slot, ordinal, name, passphrase, "admin.added")?;
        Ok(slot)
    }

    /// Set the name the unlock screen shows for `slot` (see `display_name`): 1 to
    /// [`MAX_DISPLAY_NAME_CHARS`](crate::MAX_DISPLAY_NAME_CHARS) characters on one line.
    pub fn set_display_name(&mut self, slot: &SlotId, name: &str) -> Result<()> {
        let name = display_name::checked(name)?;
        let key = display_name::load_or_create_key(&self.path, &self.rng)?;
        let sealed = display_name::seal(&key, slot, name)?;
        let details = format!("slot={slot}");
        let id = slot.0.clone();
        self.transaction(|tx| {
            let changed = tx.tx.execute(
                "UPDATE key_slots SET display_ct = ?2 WHERE slot_id = ?1",
                params![id, sealed],
            )?;
            if changed == 0 {
                return Err(VaultError::UnknownSlot(id.clone()));
            }
            tx.audit("admin.display_name_set", &details)
        })
    }

    /// Remove an administrator's slot; the last one cannot go.
    pub fn remove_admin(&mut self, slot: &SlotId) -> Result<()> {
        let count: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM key_slots", [], |r| r.get(0))?;
        let details = format!("slot={slot}");
        let id = slot.0.clone();
        self.transaction(|tx| {
            let exists: i64 = tx.tx.query_row(
                "SELECT COUNT(*) FROM key_slots WHERE slot_id = ?1",
                [&id],
                |r| r.get(0),
            )?;
            if exists == 0 {
                return Err(VaultError::UnknownSlot(id.clone()));
            }
            if count <= 1 {
                return Err(VaultError::LastAdministrator);
            }
            tx.tx
                .execute("DELETE FROM key_slots WHERE slot_id = ?1", [&id])?;
            tx.audit("admin.removed", &details)
        })
    }

    /// Set a new passphrase on a slot (the vault is unlocked, so the old one is not needed).
    pub fn change_passphrase(&mut self, slot: &SlotId, new_passphrase: &str) -> Result<()> {
        check_passphrase(&self.options, new_passphrase)?;
        let iterations = self.options.kdf_iterations;
        let details = format!("slot={slot}");
        let (rng, master) = (&self.rng, &self.keys.master);
        let tx = write_transaction(&mut self.conn)?;
        let exists: i64 = tx.query_row(
            "SELECT COUNT(*) FROM key_slots WHERE slot_id = ?1",
            [&slot.0],
            |r| r.get(0),
        )?;
        if exists == 0 {
            return Err(VaultError::UnknownSlot(slot.0.clone()));
        }
        keyslot::write_slot(&tx, rng, slot, master, new_passphrase, iterations)?;
        audit::append(
            &tx,
            &self.keys.rows,
            &self.keys.audit,
            self.clock.now(),
            "admin.passphrase_changed",
            &details,
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The administrators, with their names decrypted.
    pub fn admins(&self) -> Result<Vec<AdminInfo>> {
        let mut statement = self
            .conn
            .prepare("SELECT slot_id, ordinal, name_ct FROM key_slots ORDER BY ordinal")?;
        let rows = statement.query_map([], |r| {
            Ok((
                SlotId(r.get(0)?),
                r.get::<_, u32>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })?;
        let mut admins = Vec::new();
        for row in rows {
            let (slot_id, ordinal, name_ct) = row?;
            let name = self
                .keys
                .rows
                .open(&name_aad(&slot_id), &name_ct)
                .ok_or_else(|| VaultError::Integrity {
                    table: "key_slots",
                    row: slot_id.0.clone(),
                })?;
            admins.push(AdminInfo {
                slot_id,
                ordinal,
                name: String::from_utf8_lossy(&name).into_owned(),
            });
        }
        Ok(admins)
    }

    pub fn put_draft(&mut self, case_id: &str, state: &str, record: &[u8]) -> Result<()> {
        self.transaction(|tx| tx.put_draft(case_id, state, record))
    }

    pub fn get_draft(&mut self, case_id: &str) -> Result<Zeroizing<Vec<u8>>> {
        self.transaction(|tx| tx.get_draft(case_id))
    }

    pub fn list_drafts(&mut self) -> Result<Vec<DraftSummary>> {
        self.transaction(|tx| tx.list_drafts())
    }

    pub fn delete_draft(&mut self, case_id: &str) -> Result<()> {
        self.transaction(|tx| tx.delete_draft(case_id))
    }

    pub fn put_blob(
        &mut self,
        case_id: &str,
        kind: &str,
        position: i64,
        content: &[u8],
    ) -> Result<BlobId> {
        self.transaction(|tx| tx.put_blob(case_id, kind, position, content))
    }

    pub fn get_blob(&mut self, blob: &BlobId) -> Result<Zeroizing<Vec<u8>>> {
        self.transaction(|tx| tx.get_blob(blob))
    }

    pub fn list_blobs(&mut self, case_id: &str) -> Result<Vec<BlobInfo>> {
        self.transaction(|tx| tx.list_blobs(case_id))
    }

    pub fn next_case_sequence(&mut self) -> Result<u64> {
        self.transaction(|tx| tx.next_case_sequence())
    }

    pub fn put_setting(&mut self, key: &str, value: &[u8]) -> Result<()> {
        self.transaction(|tx| tx.put_setting(key, value))
    }

    pub fn get_setting(&mut self, key: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
        self.transaction(|tx| tx.get_setting(key))
    }

    /// The chain head to anchor on the server at the next sync.
    pub fn audit_head(&self) -> Result<AuditHead> {
        audit::stored_head(&self.conn, &self.keys.rows)
    }

    /// Check the whole audit chain and return its events.
    pub fn verify_audit_chain(&self) -> Result<Vec<AuditEvent>> {
        audit::verify(&self.conn, &self.keys.rows, &self.keys.audit)
    }
}

impl UnlockedVault {
    /// Seal a signed case (see [`crate::SealCase`]): one transaction, the draft is gone after.
    pub fn seal_case(
        &mut self,
        request: &crate::SealCase<'_>,
    ) -> Result<fieldkit_protocol::SealedEnvelope> {
        self.transaction(|tx| tx.seal_case(request))
    }

    pub fn outbox(&mut self) -> Result<Vec<crate::OutboxEntry>> {
        self.transaction(|tx| tx.outbox())
    }

    pub fn sealed_envelope(
        &mut self,
        envelope_id: &str,
    ) -> Result<fieldkit_protocol::SealedEnvelope> {
        self.transaction(|tx| tx.sealed_envelope(envelope_id))
    }
}
