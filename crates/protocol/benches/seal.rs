//! Seal and open a 20-page case (~60 MB) and compare with raw ring AES-256-GCM over the same
//! bytes in the same run. Prints figures; asserts nothing about time.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use fieldkit_protocol::{
    DeviceSigningKey, PartKind, PlainPart, SealRequest, SealingKeyPair, open, seal,
};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::rand::SystemRandom;

const PAGE: usize = 3 * 1024 * 1024;
const PAGES: usize = 20;
const ROUNDS: usize = 3;

fn pseudo_random_page(seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..PAGE)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn mb_per_s(bytes: usize, seconds: f64) -> f64 {
    bytes as f64 / 1_000_000.0 / seconds
}

fn main() {
    let rng = SystemRandom::new();
    let server = SealingKeyPair::generate("bench-key", &rng).unwrap();
    let device = DeviceSigningKey::generate("bench-device", &rng).unwrap();
    let mut parts = vec![PlainPart::new(PartKind::CaseRecord, vec![b'{'; 4096])];
    parts.extend((0..PAGES).map(|i| PlainPart::new(PartKind::Page, pseudo_random_page(i as u64))));
    let total: usize = parts.iter().map(|p| p.bytes.len()).sum();

    let mut best_seal = f64::MAX;
    let mut best_open = f64::MAX;
    let mut best_raw = f64::MAX;
    for round in 0..ROUNDS {
        let request = SealRequest {
            envelope_id: &format!("bench-{round}"),
            case_number: "LV01/T01/2026/000001-0",
            created_at: 0,
            parts: &parts,
        };
        let start = Instant::now();
        let envelope = seal(&request, &server.public_key(), &device, &rng).unwrap();
        best_seal = best_seal.min(start.elapsed().as_secs_f64());

        let start = Instant::now();
        let opened = open(&envelope, &server, &device.public_key()).unwrap();
        best_open = best_open.min(start.elapsed().as_secs_f64());
        assert_eq!(opened.len(), parts.len());

        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7u8; 32]).unwrap());
        let start = Instant::now();
        for (i, part) in parts.iter().enumerate() {
            let mut buffer = part.bytes.clone();
            let mut nonce = [0u8; 12];
            nonce[8..].copy_from_slice(&(i as u32).to_be_bytes());
            key.seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::empty(),
                &mut buffer,
            )
            .unwrap();
            std::hint::black_box(&buffer);
        }
        best_raw = best_raw.min(start.elapsed().as_secs_f64());
    }

    let seal_rate = mb_per_s(total, best_seal);
    let open_rate = mb_per_s(total, best_open);
    let raw_rate = mb_per_s(total, best_raw);
    println!(
        "sealed envelope: {PAGES} pages + record, {:.1} MB, best of {ROUNDS}",
        total as f64 / 1e6
    );
    println!(
        "  seal (hash + AES-256-GCM + HPKE + Ed25519): {seal_rate:8.1} MB/s  ({:.3} s)",
        best_seal
    );
    println!(
        "  open (verify + hash + HPKE + AES-256-GCM):  {open_rate:8.1} MB/s  ({:.3} s)",
        best_open
    );
    println!(
        "  raw ring AES-256-GCM, same bytes:           {raw_rate:8.1} MB/s  ({:.3} s)",
        best_raw
    );
    println!(
        "  ratio seal/raw: {:.2}   open/raw: {:.2}",
        seal_rate / raw_rate,
        open_rate / raw_rate
    );
}
