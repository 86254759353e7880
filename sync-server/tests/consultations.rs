#![allow(clippy::unwrap_used)]
//! Consultations without a case (regulation 2.36) as the server keeps them from the tablets'
//! reports, through the metadata store on a real SQLite file: a report counts a day whole, a
//! report sent again changes nothing, days it no longer lists stay as they were, and the
//! counts survive reopening the file.

use fieldkit_protocol::{ConsultationCount, DeviceReport};
use fieldkit_sync_server::store::{
    ConsultationTotal, Device, DeviceState, MetadataStore, SqliteMetadata,
};

fn device(meta: &SqliteMetadata, id: &str) {
    meta.add_device(
        &Device {
            device_id: id.into(),
            public_key: [7; 32],
            state: DeviceState::Active,
        },
        0,
    )
    .unwrap();
}

fn report(seq: u64, counts: &[(&str, Option<&str>, u64)]) -> DeviceReport {
    DeviceReport {
        cases_sealed: 0,
        envelopes_waiting: 0,
        last_case_number: None,
        audit_seq: seq,
        audit_hash: format!("{seq:064x}"),
        waiting_cases: vec![],
        consultations: counts
            .iter()
            .map(|(day, service, count)| ConsultationCount {
                day: (*day).into(),
                service_code: service.map(str::to_owned),
                count: *count,
            })
            .collect(),
    }
}

fn seen(totals: Vec<ConsultationTotal>) -> Vec<(String, String, Option<String>, u64)> {
    totals
        .into_iter()
        .map(|t| (t.device_id, t.day, t.service_code, t.count))
        .collect()
}

fn row(
    device: &str,
    day: &str,
    service: Option<&str>,
    count: u64,
) -> (String, String, Option<String>, u64) {
    (device.into(), day.into(), service.map(str::to_owned), count)
}

#[test]
fn the_latest_report_counts_each_day_it_lists_and_keeps_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.sqlite");
    let meta = SqliteMetadata::open(&path).unwrap();
    device(&meta, "T01");
    device(&meta, "T02");

    let first = report(
        10,
        &[
            ("2026-12-03", Some("00001"), 2),
            ("2026-12-04", None, 1),
            ("2026-12-04", Some("00004"), 1),
        ],
    );
    meta.record_report("T01", &first, 100).unwrap();
    // The same report again (a retried sync) changes nothing.
    meta.record_report("T01", &first, 101).unwrap();
    meta.record_report("T02", &report(4, &[("2026-12-04", Some("00001"), 3)]), 102)
        .unwrap();
    assert_eq!(
        seen(meta.consultations(Some("2026-12-04")).unwrap()),
        vec![
            row("T01", "2026-12-04", None, 1),
            row("T01", "2026-12-04", Some("00004"), 1),
            row("T02", "2026-12-04", Some("00001"), 3),
        ]
    );

    // Later the same day T01 counts 2026-12-04 again: one more about 00004, and the «інше
    // питання» entry is gone from its count (the day is replaced whole). 2026-12-03 is not in
    // this report and stays.
    meta.record_report("T01", &report(12, &[("2026-12-04", Some("00004"), 2)]), 200)
        .unwrap();
    drop(meta);

    let meta = SqliteMetadata::open(&path).unwrap();
    assert_eq!(
        seen(meta.consultations(None).unwrap()),
        vec![
            row("T01", "2026-12-03", Some("00001"), 2),
            row("T01", "2026-12-04", Some("00004"), 2),
            row("T02", "2026-12-04", Some("00001"), 3),
        ]
    );
    assert!(meta.consultations(Some("2026-12-05")).unwrap().is_empty());
}

#[test]
fn a_report_behind_the_audit_anchor_changes_no_count() {
    let dir = tempfile::tempdir().unwrap();
    let meta = SqliteMetadata::open(&dir.path().join("meta.sqlite")).unwrap();
    device(&meta, "T01");
    meta.record_report("T01", &report(10, &[("2026-12-04", None, 1)]), 100)
        .unwrap();
    assert!(
        meta.record_report("T01", &report(5, &[("2026-12-04", None, 9)]), 200)
            .is_err()
    );
    assert_eq!(
        seen(meta.consultations(None).unwrap()),
        vec![row("T01", "2026-12-04", None, 1)]
    );
}
