#![allow(clippy::unwrap_used)]
//! Locking the tablet in the middle of a long upload: the background sync stops before its next
//! chunk and lets go of the vault (its thread ends, taking its connection and keys with it);
//! after unlock a new worker resumes the upload from the server's offset and the case arrives.
//!
//! Real parts: the sync-server on loopback with mutual TLS, the tablet's vault file, and a
//! loopback proxy in between that counts the tablet's bytes and can hold them back, so the
//! lock is sure to come while a chunk is on its way (no sleeping, no timing).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::time::Duration;

use fieldkit_app::controller::UiMessage;
use fieldkit_app::sync_pass::{enrolled_from_vault, save_enrollment, stored_uploads};
use fieldkit_app::sync_worker::{SyncEvent, SyncWorker};
use fieldkit_sync_server::local::LocalServer;
use fieldkit_sync_server::store::MetadataStore;
use fieldkit_vault::{SealCase, SystemClock, UnlockedVault, Vault, VaultOptions};

const PASSPHRASE: &str = "довга-парольна-фраза";
/// Longer than any test waits for anything; reaching it is a failure, not a measurement.
const GIVE_UP: Duration = Duration::from_secs(120);
const MIB: u64 = 1 << 20;

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[derive(Default)]
struct GateState {
    /// Bytes the tablet sent through the proxy, all connections together.
    sent: u64,
    /// Hold the tablet's bytes once `sent` reaches this.
    hold_at: Option<u64>,
    holding: bool,
}

#[derive(Default)]
struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
}

/// A loopback TCP proxy in front of the server (TLS passes through it untouched).
struct HoldingProxy {
    port: u16,
    gate: Arc<Gate>,
}

impl HoldingProxy {
    fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let gate = Arc::new(Gate::default());
        let shared = gate.clone();
        std::thread::spawn(move || {
            for tablet in listener.incoming() {
                let Ok(tablet) = tablet else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let (mut from_server, mut to_tablet) =
                    (server.try_clone().unwrap(), tablet.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from_server, &mut to_tablet);
                    let _ = to_tablet.shutdown(Shutdown::Write);
                });
                let gate = shared.clone();
                std::thread::spawn(move || forward_counted(tablet, server, &gate));
            }
        });
        Self { port, gate }
    }

    fn sent(&self) -> u64 {
        self.gate.state.lock().unwrap().sent
    }

    fn hold_at(&self, bytes: u64) {
        self.gate.state.lock().unwrap().hold_at = Some(bytes);
    }

    fn wait_until_holding(&self) {
        let state = self.gate.state.lock().unwrap();
        let (state, timeout) = self
            .gate
            .changed
            .wait_timeout_while(state, GIVE_UP, |s| !s.holding)
            .unwrap();
        assert!(
            !timeout.timed_out(),
            "the upload never reached the mark ({} bytes sent)",
            state.sent
        );
    }

    fn release(&self) {
        let mut state = self.gate.state.lock().unwrap();
        state.hold_at = None;
        state.holding = false;
        self.gate.changed.notify_all();
    }
}

/// Tablet → server: forwarded and counted, held at the mark until released.
fn forward_counted(mut from: TcpStream, mut to: TcpStream, gate: &Gate) {
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        let mut offset = 0;
        while offset < read {
            let allowed = {
                let mut state = gate.state.lock().unwrap();
                let allowed = loop {
                    match state.hold_at {
                        Some(mark) if state.sent >= mark => {
                            state.holding = true;
                            gate.changed.notify_all();
                            state = gate.changed.wait(state).unwrap();
                        }
                        Some(mark) => break ((mark - state.sent) as usize).min(read - offset),
                        None => break read - offset,
                    }
                };
                state.sent += allowed as u64;
                allowed
            };
            if to.write_all(&buffer[offset..offset + allowed]).is_err() {
                return;
            }
            offset += allowed;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// Bytes no compression or deduplication shortens (xorshift).
fn pseudo_random(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

fn unlock(path: &Path) -> UnlockedVault {
    let vault = Vault::open(path, VaultOptions::default(), Arc::new(SystemClock)).unwrap();
    let slot = vault.slots().unwrap()[0].slot_id.clone();
    vault.unlock(&slot, PASSPHRASE).unwrap()
}

/// Every sync event until the worker's thread ends (its sender is dropped with it).
fn events_until_the_worker_ends(from_worker: &mpsc::Receiver<UiMessage>) -> Vec<SyncEvent> {
    let mut events = Vec::new();
    loop {
        match from_worker.recv_timeout(GIVE_UP) {
            Ok(UiMessage::Sync(event)) => events.push(event),
            Ok(_) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return events,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("the sync worker is still running: {events:?}")
            }
        }
    }
}

fn next_outcome(from_worker: &mpsc::Receiver<UiMessage>) -> SyncEvent {
    loop {
        match from_worker.recv_timeout(GIVE_UP).unwrap() {
            UiMessage::Sync(SyncEvent::Started)
            | UiMessage::Job(_)
            | UiMessage::Progress { .. } => {}
            UiMessage::Sync(outcome) => return outcome,
        }
    }
}

#[test]
fn locking_stops_a_running_upload_before_its_next_chunk_and_unlocking_resumes_it() {
    let folder = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime
        .block_on(LocalServer::start(&folder.path().join("server"), now))
        .unwrap();
    server.enroll_code("CODE-0001", now()).unwrap();
    let server_port: u16 = server.url.rsplit(':').next().unwrap().parse().unwrap();
    let proxy = HoldingProxy::start(server_port);
    let enrollment = runtime
        .block_on(fieldkit_sync_client::enroll(
            &server.url,
            &server.server_ca,
            "CODE-0001",
            "T07",
        ))
        .unwrap();

    let vault_path = folder.path().join("vault.sqlite");
    let mut vault = Vault::create(
        &vault_path,
        "Коваленко Олена Петрівна",
        PASSPHRASE,
        VaultOptions::default(),
        Arc::new(SystemClock),
    )
    .unwrap();
    // The tablet reaches the server through the proxy (same certificate name, localhost).
    let through_proxy = format!("https://localhost:{}", proxy.port);
    save_enrollment(&mut vault, &through_proxy, &server.server_ca, &enrollment).unwrap();
    let enrolled = enrolled_from_vault(&mut vault).unwrap();
    // A sealed case with a 3 MiB page: three of the client's 1 MiB chunks.
    vault.put_draft("case-1", "signed", b"{}").unwrap();
    vault
        .put_blob("case-1", "page", 0, &pseudo_random(3 * MIB as usize))
        .unwrap();
    vault
        .seal_case(&SealCase {
            case_id: "case-1",
            envelope_id: "env-1",
            case_number: "LV01/T07/2026/000001-7",
            recipient: &enrolled.sealing_key,
            device: &enrolled.device,
        })
        .unwrap();
    let envelope_bytes: u64 = vault
        .sealed_envelope("env-1")
        .unwrap()
        .parts
        .iter()
        .map(|p| p.len() as u64)
        .sum();

    // The tablet's bytes are held in the middle of the page's second chunk.
    proxy.hold_at(proxy.sent() + 3 * MIB / 2);
    let (to_ui, from_worker) = mpsc::channel();
    let worker = SyncWorker::spawn(
        vault.second_connection().unwrap(),
        to_ui,
        Duration::from_secs(3600),
    );
    proxy.wait_until_holding();

    // Lock, as the controller does: the worker and the screen's connection are dropped.
    drop(worker);
    drop(vault.lock());
    proxy.release();

    // The chunk on its way is finished, no other is sent, and the worker's thread ends
    // (its vault connection with it) without reporting anything to the locked screen.
    let events = events_until_the_worker_ends(&from_worker);
    assert!(
        matches!(events.as_slice(), [SyncEvent::Started]),
        "{events:?}"
    );
    let sent_before_lock = proxy.sent();
    assert!(
        sent_before_lock < envelope_bytes,
        "{sent_before_lock} bytes sent: the upload ran to its end"
    );
    assert!(server.meta.envelope("env-1").unwrap().is_none());

    // Unlock: the upload's place was kept in the vault, and a new worker resumes it.
    let mut vault = unlock(&vault_path);
    assert!(stored_uploads(&mut vault).unwrap().contains_key("env-1"));
    let (to_ui, from_worker) = mpsc::channel();
    let worker = SyncWorker::spawn(
        vault.second_connection().unwrap(),
        to_ui,
        Duration::from_secs(3600),
    );
    match next_outcome(&from_worker) {
        SyncEvent::Finished(summary) => assert_eq!(summary.delivered, 1),
        other => panic!("the pass after unlock did not finish: {other:?}"),
    }
    drop(worker);
    events_until_the_worker_ends(&from_worker);
    let sent_after_unlock = proxy.sent() - sent_before_lock;
    // Starting over would send the whole page again; resuming sends its last chunk and the
    // small requests of the pass.
    assert!(
        sent_after_unlock < envelope_bytes - MIB,
        "{sent_after_unlock} bytes sent after unlock for a {envelope_bytes}-byte envelope"
    );
    println!(
        "envelope {envelope_bytes} bytes; sent before the lock {sent_before_lock}, after unlock {sent_after_unlock}"
    );
    assert!(server.meta.envelope("env-1").unwrap().is_some());
    assert!(vault.outbox().unwrap().is_empty());
    assert!(stored_uploads(&mut vault).unwrap().is_empty());
}
