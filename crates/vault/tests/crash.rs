#![allow(clippy::unwrap_used)]
//! Crash safety: a child process writing cases is SIGKILLed at random points, 200 times (CI; the
//! soak, `tests/soak.sh`, sets `FIELDKIT_SOAK_KILLS=1000` or more). After each kill the vault
//! reopens, every case the child reported committed is intact (record and all its blobs),
//! nothing half-written is visible, and no case number was handed out twice. The last line
//! printed is the figures (`figures: kills=… acknowledged=… lost=0 duplicates=0 …`).
//!
//! This binary is its own child: with `FIELDKIT_VAULT_CRASH_CHILD` set it writes cases until it
//! is killed. A kill proves atomicity, not durability against power loss (the kernel still
//! writes back what the killed process wrote): `power_cut.rs` drops the unsynced writes.

mod common;
use common::*;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fieldkit_vault::{Clock, SystemClock, Vault, VaultOptions};
use ring::digest::{SHA256, digest};

const CHILD_ENV: &str = "FIELDKIT_VAULT_CRASH_CHILD";
const ROUND_ENV: &str = "FIELDKIT_VAULT_CRASH_ROUND";
/// How many kills: `FIELDKIT_SOAK_KILLS`, or 200 (what CI runs).
const KILLS_ENV: &str = "FIELDKIT_SOAK_KILLS";
const CI_KILLS: u64 = 200;

fn blob_bytes(seq: u64, index: u64) -> Vec<u8> {
    let len = 2_000 + ((seq * 7_919 + index * 104_729) % 30_000) as usize;
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

fn sha(bytes: &[u8]) -> String {
    hex::encode(digest(&SHA256, bytes))
}

fn child(dir: &Path, round: u64) {
    let clock: std::sync::Arc<dyn Clock> = std::sync::Arc::new(SystemClock);
    let vault = Vault::open(&vault_path(dir), VaultOptions::default(), clock).unwrap();
    let slot = vault.slots().unwrap()[0].slot_id.clone();
    let mut vault = vault.unlock(&slot, PASSPHRASE).unwrap();
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready").unwrap();
    out.flush().unwrap();
    loop {
        let case_id = vault
            .transaction(|tx| {
                let seq = tx.next_case_sequence()?;
                let case_id = format!("case-{seq:07}");
                let blob_count = 1 + seq % 3;
                let hashes: Vec<String> =
                    (0..blob_count).map(|i| sha(&blob_bytes(seq, i))).collect();
                let record = format!("{round}|{seq}|{}", hashes.join(","));
                tx.put_draft(&case_id, "draft", record.as_bytes())?;
                for i in 0..blob_count {
                    tx.put_blob(&case_id, "page", i as i64, &blob_bytes(seq, i))?;
                }
                Ok(case_id)
            })
            .unwrap();
        // Reported only after COMMIT returned.
        writeln!(out, "committed {case_id}").unwrap();
        out.flush().unwrap();
    }
}

/// A small deterministic generator for kill delays, so a failing run can be repeated.
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// What a check found wrong, each case named once however many rounds saw it.
#[derive(Default)]
struct Findings {
    /// Reported committed, then not in the vault.
    lost: BTreeSet<String>,
    /// A case number handed out twice (the record of another round under it).
    duplicates: BTreeSet<String>,
    /// In the vault but not as written: blobs missing or differing.
    damaged: BTreeSet<String>,
}

/// Check the vault after a kill: every reported case is there as written, every case has all its
/// blobs, the audit chain holds. Blob contents are hashed for the cases `deep` selects (the
/// newest ones and a sample of older ones each round; all of them at the end), which keeps
/// a thousand rounds quick without leaving any case unchecked. Returns the cases in the vault and
/// how many blobs were hashed; what is wrong goes into `findings` (counted, so the figures say
/// how much was lost, not only that something was).
fn verify(
    dir: &Path,
    reported: &BTreeMap<String, u64>,
    deep: &mut dyn FnMut(&str) -> bool,
    findings: &mut Findings,
) -> (usize, usize) {
    let mut vault = reopen(dir, ManualClock::at(0));
    let drafts = vault.list_drafts().unwrap();
    let present: BTreeSet<&str> = drafts.iter().map(|d| d.case_id.as_str()).collect();
    for case_id in reported.keys() {
        if !present.contains(case_id.as_str()) {
            findings.lost.insert(case_id.clone());
        }
    }
    let mut hashed = 0;
    for draft in &drafts {
        let record = vault.get_draft(&draft.case_id).unwrap();
        let record = String::from_utf8(record.to_vec()).unwrap();
        let mut fields = record.split('|');
        let round: u64 = fields.next().unwrap().parse().unwrap();
        let seq: u64 = fields.next().unwrap().parse().unwrap();
        let hashes: Vec<&str> = fields.next().unwrap().split(',').collect();
        assert_eq!(draft.case_id, format!("case-{seq:07}"));
        if reported
            .get(&draft.case_id)
            .is_some_and(|expected| *expected != round)
        {
            findings.duplicates.insert(draft.case_id.clone());
        }
        let blobs = vault.list_blobs(&draft.case_id).unwrap();
        if blobs.len() != hashes.len() {
            findings.damaged.insert(draft.case_id.clone());
            continue;
        }
        if !deep(&draft.case_id) {
            continue;
        }
        for (blob, expected) in blobs.iter().zip(&hashes) {
            hashed += 1;
            if sha(&vault.get_blob(&blob.blob_id).unwrap()) != *expected {
                findings.damaged.insert(draft.case_id.clone());
            }
        }
    }
    vault.verify_audit_chain().unwrap();
    (drafts.len(), hashed)
}

fn kills_wanted() -> u64 {
    std::env::var(KILLS_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(CI_KILLS)
}

fn parent() {
    let kills = kills_wanted();
    let seed: u64 = std::env::var("FIELDKIT_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_124);
    println!(
        "crash test: {kills} kills ({KILLS_ENV}), seed {seed} (set FIELDKIT_CRASH_SEED to repeat another)"
    );
    let started = Instant::now();
    let mut rng = XorShift(seed | 1);
    let dir = tempfile::tempdir().unwrap();
    drop(create(dir.path(), ManualClock::at(0)).lock());
    let exe = std::env::current_exe().unwrap();
    let mut reported: BTreeMap<String, u64> = BTreeMap::new();
    let mut cases = 0;
    let mut checks = 0usize;
    let mut blobs_hashed = 0usize;
    let mut findings = Findings::default();
    let mut checked_deeply: BTreeSet<String> = Default::default();

    for round in 0..kills {
        let mut child = Command::new(&exe)
            .env(CHILD_ENV, dir.path())
            .env(ROUND_ENV, round.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (lines_tx, lines) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        assert_eq!(
            lines.recv_timeout(Duration::from_secs(60)).unwrap(),
            "ready"
        );
        // Kill somewhere in the middle of writing: between 0 and 25 ms after unlock.
        std::thread::sleep(Duration::from_micros(rng.next() % 25_000));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        for line in lines.try_iter() {
            if let Some(case_id) = line.strip_prefix("committed ") {
                reported.insert(case_id.to_owned(), round);
            }
        }
        let (in_vault, hashed) = verify(
            dir.path(),
            &reported,
            &mut |case_id| {
                // New since the last round, or one older case in sixteen at random.
                checked_deeply.insert(case_id.to_owned()) || rng.next().is_multiple_of(16)
            },
            &mut findings,
        );
        cases = in_vault;
        checks += reported.len();
        blobs_hashed += hashed;
    }
    let (_, hashed) = verify(dir.path(), &reported, &mut |_| true, &mut findings);
    checks += reported.len();
    blobs_hashed += hashed;
    println!(
        "crash test: {kills} kills; {} cases reported committed, {cases} in the vault, {:.1} s",
        reported.len(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "figures: kills={kills} acknowledged={} acknowledged_checks={checks} blobs_hashed={blobs_hashed} lost={} duplicates={} damaged={} seconds={:.1}",
        reported.len(),
        findings.lost.len(),
        findings.duplicates.len(),
        findings.damaged.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        findings.lost.is_empty(),
        "committed cases missing after a kill: {:?}",
        findings.lost
    );
    assert!(
        findings.duplicates.is_empty(),
        "case numbers handed out twice: {:?}",
        findings.duplicates
    );
    assert!(
        findings.damaged.is_empty(),
        "cases half-written or with differing blobs: {:?}",
        findings.damaged
    );
    println!("1 passed, 0 failed");
}

fn main() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        let round = std::env::var(ROUND_ENV)
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(0);
        child(Path::new(&dir), round);
    } else {
        parent();
    }
}
