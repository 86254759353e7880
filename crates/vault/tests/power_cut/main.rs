#![allow(clippy::unwrap_used)]
//! Power cuts: a real vault on a real file, written through the public API (new cases with
//! their pages, drafts saved again, cases sealed into the outbox, drafts deleted, envelopes
//! delivered), loses power at a random write, sync, truncation or deletion, 100 times (CI; the
//! soak, `tests/soak.sh`, sets `FIELDKIT_SOAK_POWER_CUTS=1000` or more). A SIGKILL (`crash.rs`)
//! never tests `synchronous`: the kernel still writes back what the killed process wrote. Here,
//! as in SQLite's own crash tests, what was written after a file's last fsync is dropped, torn
//! at a sector or scattered with garbage (the VFS shim in `vfs.rs` says how, and what it does
//! not model). After each cut the vault is opened as the app opens it: it must open, or refuse
//! with a typed error that says why (counted as `refused`, and the files kept); every change
//! the vault acknowledged (the call returned `Ok`, so COMMIT returned) must be there as made;
//! the one change in flight at the cut may be there or not, but whole; nothing else may appear.
//! One round in three the power goes while the vault is being opened and unlocked (closing the
//! opening connection checkpoints the WAL into the database file, so these cuts land in
//! checkpoints).
//!
//! Before the rounds, two controls, or the rounds would prove nothing: the same cut must make a
//! plain SQLite database at `synchronous=OFF` lose acknowledged rows (and at `FULL` none), and
//! a vault on a disk that ignores fsync must lose acknowledged changes that the check reports.
//!
//! The last line printed is the figures (`figures: power_cuts=… lost=0 duplicates=0 …`);
//! `FIELDKIT_POWER_CUT_SEED` repeats a run's choices (the seed is printed first).

#[path = "../common/mod.rs"]
mod common;
mod vfs;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

use common::*;
use fieldkit_protocol::{DeviceSigningKey, SealedEnvelope, SealingKeyPair};
use fieldkit_vault::{SealCase, UnlockedVault, Vault, VaultError, VaultOptions};
use ring::digest::{Context, SHA256, digest};
use ring::rand::SystemRandom;

/// How many cuts: `FIELDKIT_SOAK_POWER_CUTS`, or 100 (what CI runs).
const CUTS_ENV: &str = "FIELDKIT_SOAK_POWER_CUTS";
const CI_CUTS: u64 = 100;
const SEED_ENV: &str = "FIELDKIT_POWER_CUT_SEED";
/// The power goes within this many file operations after the vault is verified and writing
/// starts: about a dozen transactions, or part of a checkpoint (which writes hundreds of pages).
const MAX_OPS_BEFORE_CUT: u64 = 300;
/// One round in three cuts while the vault is opened and unlocked, within this many operations:
/// closing the opening connection checkpoints the last round's WAL into the database file, so
/// these cuts land in checkpoints too.
const OPENING_ROUNDS_ONE_IN: u64 = 3;
const MAX_OPS_WHILE_OPENING: u64 = 40;

/// Deterministic choices, so a failing run can be repeated with its seed.
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn blob_bytes(seq: u64, index: u64) -> Vec<u8> {
    let len = 1_000 + ((seq * 7_919 + index * 104_729) % 11_000) as usize;
    let mut state = seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.wrapping_add(1);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn blob_count(seq: u64) -> u64 {
    1 + seq % 3
}

fn sha_hex(bytes: &[u8]) -> String {
    hex::encode(digest(&SHA256, bytes))
}

fn case_id(seq: u64) -> String {
    format!("case-{seq:07}")
}

fn envelope_id(seq: u64) -> String {
    format!("env-{seq:07}")
}

fn seq_of(id: &str) -> Option<u64> {
    id.split_once('-')?.1.parse().ok()
}

/// A draft's record: which round made the case, its number, how often it was saved, and the
/// hashes of its pages.
fn record(round: u64, seq: u64, version: u64) -> String {
    let hashes: Vec<String> = (0..blob_count(seq))
        .map(|i| sha_hex(&blob_bytes(seq, i)))
        .collect();
    format!("{round}|{seq}|{version}|{}", hashes.join(","))
}

fn fingerprint(envelope: &SealedEnvelope) -> [u8; 32] {
    let mut context = Context::new(&SHA256);
    for piece in [&envelope.manifest_bytes, &envelope.signature]
        .into_iter()
        .chain(&envelope.parts)
    {
        context.update(&(piece.len() as u64).to_be_bytes());
        context.update(piece);
    }
    context.finish().as_ref().try_into().unwrap()
}

/// A case as the vault acknowledged it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Case {
    Draft {
        round: u64,
        version: u64,
    },
    /// In the outbox; the envelope's fingerprint once known (a seal in flight at a cut that
    /// survived is learnt from the vault).
    Sealed(Option<[u8; 32]>),
    /// Delivered: only a tracking stub is kept.
    Delivered,
    Deleted,
}

/// What was found in the vault for a case number.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Found {
    Draft {
        round: u64,
        version: u64,
        hashes: Vec<String>,
    },
    Sealed,
    Delivered,
    Absent,
}

fn same(case: &Case, found: &Found) -> bool {
    match (case, found) {
        (
            Case::Draft { round, version },
            Found::Draft {
                round: r,
                version: v,
                ..
            },
        ) => round == r && version == v,
        (Case::Sealed(_), Found::Sealed) => true,
        (Case::Delivered, Found::Delivered) => true,
        (Case::Deleted, Found::Absent) => true,
        _ => false,
    }
}

/// The one change that had not returned when the power went.
#[derive(Debug, Clone)]
enum InFlight {
    /// A new case: its number was not known yet.
    New { round: u64 },
    /// A change to a known case, and what it would have become.
    Change { seq: u64, after: Case },
}

#[derive(Default)]
struct Figures {
    acknowledged: u64,
    acknowledged_checks: u64,
    blobs_hashed: u64,
    envelopes_compared: u64,
    in_flight_survived: u64,
    in_flight_lost: u64,
    cuts_while_opening: u64,
    pending_ops: u64,
    sectors_kept: u64,
    sectors_lost: u64,
    sectors_garbage: u64,
    files_vanished: u64,
    cuts_in_checkpoints: u64,
    styles: BTreeMap<String, u64>,
}

/// What went wrong, each named with its round.
#[derive(Default)]
struct Findings {
    /// An acknowledged change not found as made.
    lost: Vec<String>,
    /// A case number handed out again: another round's record under an acknowledged number.
    duplicates: Vec<String>,
    /// A case in the vault that was never written, or written and deleted.
    phantoms: Vec<String>,
    /// Pages missing or differing, an envelope differing, a record failing its integrity check.
    damaged: Vec<String>,
    /// The vault did not open or unlock after a cut (with the error it gave).
    refused: Vec<String>,
    /// A write that failed with no power cut.
    failed_writes: Vec<String>,
}

impl Findings {
    fn total(&self) -> usize {
        self.lost.len()
            + self.duplicates.len()
            + self.phantoms.len()
            + self.damaged.len()
            + self.refused.len()
            + self.failed_writes.len()
    }
}

struct Keys {
    server: SealingKeyPair,
    device: DeviceSigningKey,
}

fn open_and_unlock(dir: &Path) -> Result<UnlockedVault, VaultError> {
    let vault = Vault::open(
        &vault_path(dir),
        VaultOptions::default(),
        ManualClock::at(0),
    )?;
    let slot = vault.slots()?[0].slot_id.clone();
    vault.unlock(&slot, PASSPHRASE)
}

/// Everything the vault holds, by case number.
fn found_in(vault: &mut UnlockedVault) -> Result<BTreeMap<u64, Found>, VaultError> {
    let mut found = BTreeMap::new();
    for draft in vault.list_drafts()? {
        let record = vault.get_draft(&draft.case_id)?;
        let record = String::from_utf8_lossy(&record).into_owned();
        let fields: Vec<&str> = record.split('|').collect();
        let [round, seq, version, hashes] = fields[..] else {
            return Err(VaultError::Encoding(format!("record of {}", draft.case_id)));
        };
        let seq: u64 = seq.parse().unwrap();
        assert_eq!(draft.case_id, case_id(seq), "a record under another number");
        found.insert(
            seq,
            Found::Draft {
                round: round.parse().unwrap(),
                version: version.parse().unwrap(),
                hashes: hashes.split(',').map(str::to_owned).collect(),
            },
        );
    }
    for entry in vault.outbox()? {
        found.insert(seq_of(&entry.envelope_id).unwrap(), Found::Sealed);
    }
    for stub in vault.transaction(|tx| tx.tracking())? {
        found.insert(seq_of(&stub.envelope_id).unwrap(), Found::Delivered);
    }
    Ok(found)
}

/// Check the vault against what it acknowledged and take in the change in flight.
#[allow(clippy::too_many_arguments)]
fn verify(
    vault: &mut UnlockedVault,
    round: u64,
    model: &mut BTreeMap<u64, Case>,
    in_flight: Option<InFlight>,
    checked_deeply: &mut BTreeSet<(u64, u64)>,
    rng: &mut XorShift,
    figures: &mut Figures,
    findings: &mut Findings,
) -> Result<(), VaultError> {
    let found = found_in(vault)?;
    let mut seqs: BTreeSet<u64> = model.keys().copied().collect();
    seqs.extend(found.keys().copied());
    // A new case in flight explains at most one case the model does not know.
    let mut new_case_seen = false;
    let mut in_flight_landed = false;
    for seq in seqs {
        let observed = found.get(&seq).cloned().unwrap_or(Found::Absent);
        let acknowledged = model.get(&seq).cloned();
        figures.acknowledged_checks += u64::from(acknowledged.is_some());
        let alternative = match &in_flight {
            Some(InFlight::Change { seq: s, after }) if *s == seq => Some(after.clone()),
            Some(InFlight::New { round: r }) if acknowledged.is_none() && !new_case_seen => {
                Some(Case::Draft {
                    round: *r,
                    version: 0,
                })
            }
            _ => None,
        };
        let now = match (&acknowledged, &alternative) {
            (Some(case), _) if same(case, &observed) => case.clone(),
            (_, Some(after)) if same(after, &observed) => {
                in_flight_landed = true;
                new_case_seen |= acknowledged.is_none();
                after.clone()
            }
            (None, _) if observed == Found::Absent => continue,
            (None, _) => {
                findings
                    .phantoms
                    .push(format!("round {round}: case {seq} found as {observed:?}"));
                continue;
            }
            (Some(case), _) => {
                let reused = matches!(
                    (case, &observed),
                    (Case::Draft { round: a, .. }, Found::Draft { round: b, .. }) if a != b
                );
                let finding = format!(
                    "round {round}: case {seq} acknowledged as {case:?}, found {observed:?}"
                );
                if reused {
                    findings.duplicates.push(finding);
                } else {
                    findings.lost.push(finding);
                }
                // Go on from what is there, so one loss is reported once.
                match observed {
                    Found::Draft { round, version, .. } => Case::Draft { round, version },
                    Found::Sealed => Case::Sealed(None),
                    Found::Delivered => Case::Delivered,
                    Found::Absent => Case::Deleted,
                }
            }
        };
        // Contents: every new state, and one older case in sixteen, hashed in full.
        let deep = checked_deeply.insert((seq, state_key(&now))) || rng.below(16) == 0;
        let now = check_contents(vault, round, seq, now, &observed, deep, figures, findings)?;
        model.insert(seq, now);
    }
    if in_flight.is_some() {
        if in_flight_landed {
            figures.in_flight_survived += 1;
        } else {
            figures.in_flight_lost += 1;
        }
    }
    if let Err(error) = vault.verify_audit_chain() {
        findings
            .damaged
            .push(format!("round {round}: audit chain: {error}"));
    }
    Ok(())
}

fn state_key(case: &Case) -> u64 {
    match case {
        Case::Draft { round, version } => round * 1_000_000 + version,
        Case::Sealed(_) => u64::MAX - 2,
        Case::Delivered => u64::MAX - 1,
        Case::Deleted => u64::MAX,
    }
}

/// Pages of a draft, the envelope of a sealed case; returns the case with its envelope's
/// fingerprint learnt if it was not known.
#[allow(clippy::too_many_arguments)]
fn check_contents(
    vault: &mut UnlockedVault,
    round: u64,
    seq: u64,
    case: Case,
    observed: &Found,
    deep: bool,
    figures: &mut Figures,
    findings: &mut Findings,
) -> Result<Case, VaultError> {
    match (&case, observed) {
        (Case::Draft { .. }, Found::Draft { hashes, .. }) => {
            let blobs = vault.list_blobs(&case_id(seq))?;
            if blobs.len() != hashes.len() {
                findings.damaged.push(format!(
                    "round {round}: case {seq} has {} of its {} pages",
                    blobs.len(),
                    hashes.len()
                ));
            } else if deep {
                for (blob, expected) in blobs.iter().zip(hashes) {
                    figures.blobs_hashed += 1;
                    match vault.get_blob(&blob.blob_id) {
                        Ok(bytes) if sha_hex(&bytes) == *expected => {}
                        Ok(_) => findings
                            .damaged
                            .push(format!("round {round}: a page of case {seq} differs")),
                        Err(error) => findings
                            .damaged
                            .push(format!("round {round}: a page of case {seq}: {error}")),
                    }
                }
            }
            Ok(case)
        }
        (Case::Sealed(known), Found::Sealed) if deep || known.is_none() => {
            figures.envelopes_compared += 1;
            let now = fingerprint(&vault.sealed_envelope(&envelope_id(seq))?);
            match known {
                Some(known) if *known != now => {
                    findings
                        .damaged
                        .push(format!("round {round}: the envelope of case {seq} differs"));
                    Ok(case)
                }
                _ => Ok(Case::Sealed(Some(now))),
            }
        }
        _ => Ok(case),
    }
}

/// Write until the power goes. Each change is one vault call; what returned `Ok` goes into
/// the model at once, the one that did not is returned as in flight.
fn write_until_the_power_goes(
    vault: &mut UnlockedVault,
    round: u64,
    model: &mut BTreeMap<u64, Case>,
    keys: &Keys,
    rng: &mut XorShift,
    figures: &mut Figures,
    findings: &mut Findings,
) -> Option<InFlight> {
    for _ in 0..100_000 {
        let drafts: Vec<u64> = model
            .iter()
            .filter(|(_, c)| matches!(c, Case::Draft { .. }))
            .map(|(s, _)| *s)
            .collect();
        let sealed: Vec<u64> = model
            .iter()
            .filter(|(_, c)| matches!(c, Case::Sealed(_)))
            .map(|(s, _)| *s)
            .collect();
        let dice = rng.below(100);
        let (in_flight, outcome) = if dice < 35 || drafts.is_empty() {
            let result = vault.transaction(|tx| {
                let seq = tx.next_case_sequence()?;
                tx.put_draft(&case_id(seq), "draft", record(round, seq, 0).as_bytes())?;
                for i in 0..blob_count(seq) {
                    tx.put_blob(&case_id(seq), "page", i as i64, &blob_bytes(seq, i))?;
                }
                Ok(seq)
            });
            let in_flight = InFlight::New { round };
            (
                in_flight,
                result.map(|seq| (seq, Case::Draft { round, version: 0 })),
            )
        } else if dice < 85 || sealed.is_empty() {
            let seq = drafts[rng.below(drafts.len() as u64) as usize];
            let Some(Case::Draft {
                round: made,
                version,
            }) = model.get(&seq).cloned()
            else {
                unreachable!("chosen among drafts")
            };
            if dice < 55 {
                let after = Case::Draft {
                    round: made,
                    version: version + 1,
                };
                let result = vault.put_draft(
                    &case_id(seq),
                    "draft",
                    record(made, seq, version + 1).as_bytes(),
                );
                (
                    InFlight::Change {
                        seq,
                        after: after.clone(),
                    },
                    result.map(|()| (seq, after)),
                )
            } else if dice < 75 {
                let number = format!("LV01/T07/2026/{seq:06}-7");
                let result = vault.seal_case(&SealCase {
                    case_id: &case_id(seq),
                    envelope_id: &envelope_id(seq),
                    case_number: &number,
                    recipient: &keys.server.public_key(),
                    device: &keys.device,
                });
                (
                    InFlight::Change {
                        seq,
                        after: Case::Sealed(None),
                    },
                    result.map(|envelope| (seq, Case::Sealed(Some(fingerprint(&envelope))))),
                )
            } else {
                let result = vault.delete_draft(&case_id(seq));
                (
                    InFlight::Change {
                        seq,
                        after: Case::Deleted,
                    },
                    result.map(|()| (seq, Case::Deleted)),
                )
            }
        } else {
            let seq = sealed[rng.below(sealed.len() as u64) as usize];
            let result = vault
                .transaction(|tx| tx.mark_delivered(&envelope_id(seq), &format!("receipt-{seq}")));
            (
                InFlight::Change {
                    seq,
                    after: Case::Delivered,
                },
                result.map(|()| (seq, Case::Delivered)),
            )
        };
        match outcome {
            Ok((seq, case)) => {
                figures.acknowledged += 1;
                model.insert(seq, case);
            }
            Err(_) if vfs::is_dead() => return Some(in_flight),
            Err(error) => {
                findings
                    .failed_writes
                    .push(format!("round {round}: {error} with the power on"));
                return None;
            }
        }
    }
    panic!("100,000 changes and the power never went: is the cut armed?");
}

/// A plain SQLite database in WAL mode: `rows` inserts, each committed, then the power goes.
/// Returns how many acknowledged rows were lost.
fn control(dir: &Path, synchronous: &str, rows: i64, rng: &mut XorShift) -> i64 {
    let path = dir.join(format!("control-{synchronous}.sqlite"));
    {
        let setup = rusqlite::Connection::open(&path).unwrap();
        setup.pragma_update(None, "journal_mode", "WAL").unwrap();
        setup
            .execute_batch("CREATE TABLE t (x INTEGER NOT NULL)")
            .unwrap();
    }
    vfs::watch(dir);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "synchronous", synchronous)
        .unwrap();
    for x in 0..rows {
        conn.execute("INSERT INTO t (x) VALUES (?1)", [x]).unwrap();
    }
    vfs::arm(1);
    assert!(
        conn.execute("INSERT INTO t (x) VALUES (-1)", []).is_err(),
        "the power went at the next write"
    );
    drop(conn);
    vfs::cut(vfs::Style::Dropped, &mut || rng.next()).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let kept: i64 = conn
        .query_row("SELECT count(*) FROM t WHERE x >= 0", [], |r| r.get(0))
        .unwrap();
    rows - kept
}

fn keep_for_inspection(dir: &Path, round: u64) -> std::path::PathBuf {
    let keep = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("power-cut-refused")
        .join(format!("round-{round}"));
    std::fs::create_dir_all(&keep).unwrap();
    for (path, bytes) in all_files_bytes(dir) {
        std::fs::write(keep.join(path.file_name().unwrap()), bytes).unwrap();
    }
    keep
}

/// One vault through its rounds: what it acknowledged, and what was found.
struct Run<'a> {
    dir: &'a Path,
    keys: &'a Keys,
    model: BTreeMap<u64, Case>,
    in_flight: Option<InFlight>,
    checked_deeply: BTreeSet<(u64, u64)>,
    figures: Figures,
    findings: Findings,
}

impl<'a> Run<'a> {
    fn start(dir: &'a Path, keys: &'a Keys) -> Self {
        drop(create(dir, ManualClock::at(0)).lock());
        vfs::watch(dir);
        Self {
            dir,
            keys,
            model: BTreeMap::new(),
            in_flight: None,
            checked_deeply: BTreeSet::new(),
            figures: Figures::default(),
            findings: Findings::default(),
        }
    }

    /// Open, check, write until the power goes, and cut it with `style`.
    fn round(&mut self, round: u64, style: vfs::Style, rng: &mut XorShift) {
        let while_opening = rng.below(OPENING_ROUNDS_ONE_IN) == 0;
        if while_opening {
            vfs::arm(1 + rng.below(MAX_OPS_WHILE_OPENING));
        }
        match open_and_unlock(self.dir) {
            Err(_) if vfs::is_dead() => self.figures.cuts_while_opening += 1,
            Err(error) => {
                let kept = keep_for_inspection(self.dir, round);
                self.findings.refused.push(format!(
                    "round {round}: {error} (files kept in {})",
                    kept.display()
                ));
                // Start again on a new vault, so the rounds left still count.
                for (path, _) in all_files_bytes(self.dir) {
                    std::fs::remove_file(path).unwrap();
                }
                drop(create(self.dir, ManualClock::at(0)).lock());
                vfs::watch(self.dir);
                self.model.clear();
                self.in_flight = None;
                return;
            }
            Ok(_) if vfs::is_dead() => self.figures.cuts_while_opening += 1,
            Ok(mut vault) => {
                self.check(&mut vault, round, rng);
                if !while_opening {
                    vfs::arm(1 + rng.below(MAX_OPS_BEFORE_CUT));
                }
                self.in_flight = write_until_the_power_goes(
                    &mut vault,
                    round,
                    &mut self.model,
                    self.keys,
                    rng,
                    &mut self.figures,
                    &mut self.findings,
                );
                if self.in_flight.is_none() && !vfs::is_dead() {
                    // A write failed with the power on (a finding): cut now all the same.
                    vfs::arm(1);
                    let _ = vault.put_setting("power", b"off");
                }
            }
        }
        // The process is gone with the power: every connection is closed, nothing more written.
        let report = vfs::cut(style, &mut || rng.next()).unwrap();
        let figures = &mut self.figures;
        *figures.styles.entry(format!("{style:?}")).or_default() += 1;
        figures.pending_ops += report.pending_ops;
        figures.sectors_kept += report.sectors_kept;
        figures.sectors_lost += report.sectors_lost;
        figures.sectors_garbage += report.sectors_garbage;
        figures.files_vanished += report.files_vanished;
        figures.cuts_in_checkpoints += u64::from(report.database_file_unsynced);
    }

    fn check(&mut self, vault: &mut UnlockedVault, round: u64, rng: &mut XorShift) {
        let checked = verify(
            vault,
            round,
            &mut self.model,
            self.in_flight.take(),
            &mut self.checked_deeply,
            rng,
            &mut self.figures,
            &mut self.findings,
        );
        if let Err(error) = checked {
            self.findings
                .damaged
                .push(format!("round {round}: reading the vault: {error}"));
        }
    }

    /// After the last cut: opened and checked like the others.
    fn finish(&mut self, rounds: u64, rng: &mut XorShift) {
        match open_and_unlock(self.dir) {
            Ok(mut vault) => self.check(&mut vault, rounds, rng),
            Err(error) => self
                .findings
                .refused
                .push(format!("after the last cut: {error}")),
        }
    }
}

fn main() {
    let cuts: u64 = std::env::var(CUTS_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(CI_CUTS);
    let seed: u64 = std::env::var(SEED_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_205);
    println!(
        "power cuts: {cuts} cuts ({CUTS_ENV}), seed {seed} (set {SEED_ENV} to repeat another)"
    );
    let started = Instant::now();
    let mut rng = XorShift(seed | 1);
    vfs::install();
    let random = SystemRandom::new();
    let keys = Keys {
        server: SealingKeyPair::generate("seal-1", &random).unwrap(),
        device: DeviceSigningKey::generate("T07", &random).unwrap(),
    };

    // Controls: the cut must be able to lose what was not synced, and the check must see it.
    let control_dir = tempfile::tempdir().unwrap();
    let lost_off = control(control_dir.path(), "OFF", 20, &mut rng);
    let lost_full = control(control_dir.path(), "FULL", 20, &mut rng);
    println!(
        "control: a plain database lost {lost_off} of 20 acknowledged rows at synchronous=OFF, {lost_full} at FULL"
    );
    assert!(
        lost_off > 0,
        "synchronous=OFF lost nothing: the power cut drops no unsynced write"
    );
    assert_eq!(lost_full, 0, "synchronous=FULL lost acknowledged rows");
    let lying_dir = tempfile::tempdir().unwrap();
    vfs::set_lying_disk(true);
    let mut lying = Run::start(lying_dir.path(), &keys);
    // Until a loss shows (each round checks what the cut before it left): a round's changes
    // can all be undone by its own later ones (a case made and deleted), and losing those is
    // rightly invisible.
    let mut lying_rounds = 0;
    while lying.findings.lost.is_empty() && lying_rounds < 30 {
        lying.round(lying_rounds, vfs::Style::Dropped, &mut rng);
        lying_rounds += 1;
    }
    vfs::set_lying_disk(false);
    println!(
        "control: on a disk that ignores fsync, {lying_rounds} cuts after {} acknowledged changes left {} cases not as acknowledged, each reported",
        lying.figures.acknowledged,
        lying.findings.lost.len()
    );
    assert!(
        !lying.findings.lost.is_empty(),
        "a disk that ignores fsync lost nothing the check could see"
    );

    let dir = tempfile::tempdir().unwrap();
    let mut run = Run::start(dir.path(), &keys);
    for round in 0..cuts {
        let style = vfs::STYLES[rng.below(vfs::STYLES.len() as u64) as usize];
        run.round(round, style, &mut rng);
    }
    run.finish(cuts, &mut rng);

    let (figures, findings) = (&run.figures, &run.findings);
    println!(
        "power cuts: {cuts} cuts, {} changes acknowledged, {} case numbers in the vault, {} file operations, {:.1} s",
        figures.acknowledged,
        run.model.len(),
        vfs::ops(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "power cuts: unsynced operations at the cuts {}, their sectors kept {}, lost {}, garbage {}; files created and never synced that vanished {}; cuts with database-file writes unsynced (in a checkpoint) {}; in flight at the cut: survived {}, lost {}; cuts while opening {}; styles {:?}",
        figures.pending_ops,
        figures.sectors_kept,
        figures.sectors_lost,
        figures.sectors_garbage,
        figures.files_vanished,
        figures.cuts_in_checkpoints,
        figures.in_flight_survived,
        figures.in_flight_lost,
        figures.cuts_while_opening,
        figures.styles
    );
    for finding in [
        &findings.lost,
        &findings.duplicates,
        &findings.phantoms,
        &findings.damaged,
        &findings.refused,
        &findings.failed_writes,
    ]
    .into_iter()
    .flatten()
    .take(20)
    {
        println!("finding: {finding}");
    }
    println!(
        "figures: power_cuts={cuts} acknowledged={} acknowledged_checks={} blobs_hashed={} envelopes_compared={} lost={} duplicates={} phantoms={} damaged={} refused_to_open={} failed_writes={} seconds={:.1}",
        figures.acknowledged,
        figures.acknowledged_checks,
        figures.blobs_hashed,
        figures.envelopes_compared,
        findings.lost.len(),
        findings.duplicates.len(),
        findings.phantoms.len(),
        findings.damaged.len(),
        findings.refused.len(),
        findings.failed_writes.len(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(findings.total(), 0, "power cuts lost or damaged data");
    println!("1 passed, 0 failed");
}
