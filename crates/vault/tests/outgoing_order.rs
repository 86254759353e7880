#![allow(clippy::unwrap_used)]
//! The outgoing queue hands documents out in the order they were queued, also within one second:
//! the applicant's copies (the application, then the inventory) print and mail in that order.

mod common;
use common::*;

#[test]
fn documents_queued_in_the_same_second_leave_in_queue_order() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_790_000_000);
    let mut vault = create(dir.path(), clock.clone());
    let titles = ["заява", "опис", "третій", "четвертий", "п'ятий", "шостий"];
    let ids: Vec<String> = vault
        .transaction(|tx| {
            titles
                .iter()
                .map(|title| tx.enqueue_outgoing("print", "fieldkit-test", title, b"%PDF"))
                .collect()
        })
        .unwrap();
    let due = vault.transaction(|tx| tx.due_outgoing()).unwrap();
    let due_ids: Vec<&str> = due.iter().map(|item| item.id.as_str()).collect();
    let queued: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(due_ids, queued, "random ids must not reorder the queue");
}
