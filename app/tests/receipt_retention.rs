//! A receipt kept for an unfinished visit leaves the tablet a week after sealing: applicants'
//! copies do not pile up on a tablet whose administrator never tapped «Завершити виїзд».

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use fieldkit_app::controller::receipt::{KEEP_DAYS, KeptReceipt, forget_old, keep, kept_numbers};
use fieldkit_vault::{Clock, Vault, VaultOptions};

struct HandClock(AtomicI64);
impl Clock for HandClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn receipt(number: &str) -> KeptReceipt {
    KeptReceipt {
        case_number: number.into(),
        tracking_url: format!("https://cnap.example/track/{number}"),
        tracking_code: String::new(),
        deadline: "05.12.2026".into(),
        email: String::new(),
    }
}

#[test]
fn an_unfinished_visits_receipt_is_let_go_after_a_week() {
    let dir = tempfile::tempdir().unwrap();
    let start = 1_795_000_000;
    let clock = Arc::new(HandClock(AtomicI64::new(start)));
    let mut vault = Vault::create(
        &dir.path().join("vault.sqlite"),
        "Коваленко Олена",
        "довга-парольна-фраза",
        VaultOptions::default(),
        clock.clone(),
    )
    .unwrap();
    let old = "LV01/T07/2026/000001-5";
    let recent = "LV01/T07/2026/000002-3";
    vault
        .transaction(|tx| keep(tx, &receipt(old), &[b"%PDF-1.7 copy one".as_slice()]))
        .unwrap();
    clock.0.store(start + 3 * 86_400, Ordering::SeqCst);
    vault
        .transaction(|tx| keep(tx, &receipt(recent), &[b"%PDF-1.7 copy two".as_slice()]))
        .unwrap();

    // Six days on, both are kept.
    let six_days = start + 6 * 86_400;
    assert_eq!(forget_old(&mut vault, six_days).unwrap(), 0);
    assert_eq!(kept_numbers(&mut vault).unwrap().len(), 2);
    // A week and a bit after the first was sealed, it goes, with its copy; the other stays.
    let past_a_week = start + KEEP_DAYS * 86_400 + 60;
    assert_eq!(forget_old(&mut vault, past_a_week).unwrap(), 1);
    let kept = kept_numbers(&mut vault).unwrap();
    assert_eq!(kept.into_iter().collect::<Vec<_>>(), [recent]);
    assert!(
        vault
            .list_blobs(&format!("receipt:{old}"))
            .unwrap()
            .is_empty()
    );
}
