#![allow(clippy::unwrap_used)]
//! A receipt printed through a real CUPS queue (tests/cups/setup.sh): while the printer refuses
//! jobs the receipt waits in the vault, encrypted; when it accepts again the same bytes come out.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use fieldkit_e2e::outgoing::{DrainReport, drain};
use fieldkit_receipt::{handover_receipt, render_pdf};
use fieldkit_vault::{Clock, Vault, VaultOptions};

const QUEUE: &str = "fieldkit-test";
const SPOOL: &str = "/var/tmp/fieldkit-print";

struct TestClock(AtomicI64);
impl Clock for TestClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn cups(command: &str) {
    let status = Command::new(command).arg(QUEUE).status().unwrap();
    assert!(
        status.success(),
        "{command} {QUEUE} failed: is the CUPS test queue set up (tests/cups/setup.sh)?"
    );
}

#[test]
fn receipt_waits_while_the_printer_refuses_and_prints_when_it_is_back() {
    let pdf = render_pdf(
        &handover_receipt(
            "LV01/T07/2026/000123-5",
            "Витяг з реєстру",
            "15.12.2026",
            "Коваленко О. П.",
        ),
        &[],
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(TestClock(AtomicI64::new(1_000)));
    let mut vault = Vault::create(
        &dir.path().join("vault.sqlite"),
        "Адміністратор",
        "пароль-для-друку",
        VaultOptions::default(),
        clock.clone(),
    )
    .unwrap();
    vault
        .transaction(|tx| {
            tx.enqueue_outgoing("print", QUEUE, "Розписка LV01/T07/2026/000123-5", &pdf)
        })
        .unwrap();

    // The printer is away: nothing is lost, the receipt stays queued.
    cups("cupsreject");
    let report = drain(&mut vault, None);
    cups("cupsaccept");
    assert_eq!(
        report.unwrap(),
        DrainReport {
            sent: 0,
            failed: 1,
            waiting: 1
        }
    );
    // Not due again until the retry time.
    assert_eq!(
        drain(&mut vault, None).unwrap(),
        DrainReport {
            sent: 0,
            failed: 0,
            waiting: 1
        }
    );

    // Later the printer is back: the receipt goes out and leaves the vault.
    let before: Vec<_> = std::fs::read_dir(SPOOL)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    clock.0.fetch_add(60, Ordering::SeqCst);
    assert_eq!(
        drain(&mut vault, None).unwrap(),
        DrainReport {
            sent: 1,
            failed: 0,
            waiting: 0
        }
    );

    let deadline = Instant::now() + Duration::from_secs(20);
    let printed = loop {
        let found = std::fs::read_dir(SPOOL)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| !before.contains(p) && p.extension().is_some_and(|e| e == "job"))
            .find(|p| std::fs::read(p).is_ok_and(|bytes| bytes == pdf));
        if let Some(path) = found {
            break path;
        }
        assert!(
            Instant::now() < deadline,
            "the job did not come out of CUPS within 20 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    std::fs::remove_file(printed).unwrap();
    assert!(
        vault
            .verify_audit_chain()
            .unwrap()
            .iter()
            .any(|e| e.kind == "outgoing.sent")
    );
}
