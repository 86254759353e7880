//! Vault throughput for 3 MiB page blobs beside raw ring AES-256-GCM and raw rusqlite blob
//! writes with the same settings (WAL, synchronous=FULL, one transaction per blob), and the
//! unlock time (PBKDF2-HMAC-SHA256, 600,000 rounds). Prints figures; asserts nothing about time.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Instant;

use fieldkit_vault::{SystemClock, Vault, VaultOptions};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

const BLOB: usize = 3 * 1024 * 1024;
const COUNT: usize = 20;

fn page(seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..BLOB)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn rate(seconds: f64) -> f64 {
    (BLOB * COUNT) as f64 / 1e6 / seconds
}

fn main() {
    let pages: Vec<Vec<u8>> = (0..COUNT as u64).map(page).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.sqlite");
    let clock = Arc::new(SystemClock);

    let mut vault = Vault::create(
        &path,
        "bench",
        "bench-passphrase",
        VaultOptions::default(),
        clock.clone(),
    )
    .unwrap();
    vault.put_draft("case-1", "draft", b"{}").unwrap();
    let start = Instant::now();
    let ids: Vec<_> = pages
        .iter()
        .enumerate()
        .map(|(i, p)| vault.put_blob("case-1", "page", i as i64, p).unwrap())
        .collect();
    let vault_put = start.elapsed().as_secs_f64();
    let start = Instant::now();
    for id in &ids {
        std::hint::black_box(vault.get_blob(id).unwrap());
    }
    let vault_get = start.elapsed().as_secs_f64();

    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[3u8; 32]).unwrap());
    let start = Instant::now();
    let mut sealed = Vec::new();
    for (i, p) in pages.iter().enumerate() {
        let mut buffer = p.clone();
        let mut nonce = [0u8; 12];
        nonce[..8].copy_from_slice(&(i as u64).to_be_bytes());
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::empty(),
            &mut buffer,
        )
        .unwrap();
        sealed.push(buffer);
    }
    let raw_seal = start.elapsed().as_secs_f64();

    let raw_path = dir.path().join("raw.sqlite");
    let mut conn = rusqlite::Connection::open(&raw_path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.execute(
        "CREATE TABLE blobs (id INTEGER PRIMARY KEY, content BLOB NOT NULL)",
        [],
    )
    .unwrap();
    let start = Instant::now();
    for (i, p) in pages.iter().enumerate() {
        let tx = conn.transaction().unwrap();
        tx.execute(
            "INSERT INTO blobs (id, content) VALUES (?1, ?2)",
            rusqlite::params![i as i64, p],
        )
        .unwrap();
        tx.commit().unwrap();
    }
    let raw_insert = start.elapsed().as_secs_f64();
    let start = Instant::now();
    for i in 0..COUNT {
        let content: Vec<u8> = conn
            .query_row("SELECT content FROM blobs WHERE id = ?1", [i as i64], |r| {
                r.get(0)
            })
            .unwrap();
        std::hint::black_box(content);
    }
    let raw_select = start.elapsed().as_secs_f64();

    let locked = vault.lock();
    let slot = locked.slots().unwrap()[0].slot_id.clone();
    let mut unlocks = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        let unlocked = locked.unlock(&slot, "bench-passphrase").unwrap();
        unlocks.push(start.elapsed().as_secs_f64());
        unlocked.lock();
    }
    let unlock = unlocks.iter().cloned().fold(f64::MAX, f64::min);

    println!("vault blobs: {COUNT} × 3 MiB");
    println!(
        "  vault put (AES-256-GCM + SQLite, 1 tx each): {:8.1} MB/s",
        rate(vault_put)
    );
    println!(
        "  raw rusqlite insert (same settings):         {:8.1} MB/s",
        rate(raw_insert)
    );
    println!(
        "  raw ring AES-256-GCM seal:                   {:8.1} MB/s",
        rate(raw_seal)
    );
    println!(
        "  vault get:                                   {:8.1} MB/s",
        rate(vault_get)
    );
    println!(
        "  raw rusqlite select:                         {:8.1} MB/s",
        rate(raw_select)
    );
    println!(
        "  ratios: put/raw insert {:.2}, put/raw seal {:.2}, get/raw select {:.2}",
        rate(vault_put) / rate(raw_insert),
        rate(vault_put) / rate(raw_seal),
        rate(vault_get) / rate(raw_select)
    );
    println!(
        "  unlock (PBKDF2-HMAC-SHA256, 600,000 rounds): {:.0} ms (best of 3)",
        unlock * 1000.0
    );
}
