#![allow(clippy::unwrap_used)]
//! The screen and the sync worker write the vault through two connections at once (the worker's
//! `second_connection`). A transaction that reads before it writes — recording a failed e-mail
//! reads the attempts first; every write reads the audit chain's head — must wait for the other
//! writer, not fail with «database is locked»: in a deferred transaction SQLite refuses at once,
//! without waiting, to upgrade a read snapshot that another connection's commit made stale.
//! (Found by the whole-visit test: e-mailing the receipt while the sealed case was uploading.)

mod common;
use common::*;

#[test]
fn a_write_that_reads_first_waits_for_the_other_connection_instead_of_failing() {
    let dir = tempfile::tempdir().unwrap();
    let mut screen = create(dir.path(), ManualClock::at(1_790_000_000));
    let id = screen
        .transaction(|tx| tx.enqueue_outgoing("email", "a@example.com", "LV01", b"%PDF"))
        .unwrap();
    let mut worker = screen.second_connection().unwrap();
    // Both write as the app does, a moment apart (a tap, a network round trip); with no pause
    // at all one side can starve the other past the busy timeout, which no screen does.
    let pause = || std::thread::sleep(std::time::Duration::from_millis(1));
    let writes = std::thread::spawn(move || {
        let mut refused = 0;
        for n in 0..500u64 {
            if worker.put_setting("sync.cursor", &n.to_be_bytes()).is_err() {
                refused += 1;
            }
            pause();
        }
        refused
    });
    let mut refused = Vec::new();
    for _ in 0..500 {
        if let Err(error) = screen.transaction(|tx| tx.mark_outgoing_failed(&id, "timeout")) {
            refused.push(error.to_string());
        }
        pause();
    }
    let worker_refused = writes.join().unwrap();
    assert!(
        refused.is_empty() && worker_refused == 0,
        "{} of 500 of the screen's writes and {worker_refused} of 500 of the worker's refused: {:?}",
        refused.len(),
        refused.first()
    );
    screen.verify_audit_chain().unwrap();
}
