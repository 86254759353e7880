#![allow(clippy::unwrap_used)]
//! A whole home visit across domain, vault and protocol: the case arrives at the server intact,
//! and nothing personal is left in clear on the tablet or in the manifest.

use std::path::Path;

use time::macros::datetime;

#[test]
fn home_visit_is_registered_sealed_and_opened_by_the_server() {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets");
    let dir = tempfile::tempdir().unwrap();
    let mut log = Vec::new();
    // Friday 27 November 2026.
    let report = fieldkit_e2e::run_visit(
        &assets,
        dir.path(),
        datetime!(2026-11-27 10:30 UTC),
        &mut log,
    )
    .unwrap();
    let log = String::from_utf8(log).unwrap();

    assert_eq!(report.service_code, "00001");
    assert!(
        report.case_number.starts_with("LV01/T07/2026/000001-"),
        "{}",
        report.case_number
    );
    assert!(report.conforms, "{log}");
    // Forwarded by Monday; the service is done on the day of application.
    assert_eq!(
        report.forwarding_deadline,
        time::macros::date!(2026 - 11 - 30)
    );
    assert_eq!(
        report.decision_deadline,
        time::macros::date!(2026 - 11 - 27)
    );
    assert_eq!(report.drafts_left, 0);
    assert!(report.server_saw_applicant);
    assert_eq!(report.page_issues, 0, "{log}");
    assert!(report.inventory_pdf.starts_with(b"%PDF-"));
    assert!(report.envelope_bytes > 400_000);

    let manifest = String::from_utf8(report.manifest).unwrap();
    for personal in ["Шевченко", "1687545620", "+380671234567", "Зелена"] {
        assert!(!manifest.contains(personal), "manifest leaks {personal}");
        assert!(!log.contains(personal), "demo output prints {personal}");
    }
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(
            !bytes
                .windows("Шевченко".len())
                .any(|w| w == "Шевченко".as_bytes())
        );
    }
}
