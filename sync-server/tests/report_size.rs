#![allow(clippy::unwrap_used)]
//! A device report carries the tablet's whole consultation count every time: the largest report
//! the protocol allows must pass the server's body limit over real mutual TLS, and one count
//! more is refused for its count (400), not cut off as too large.

use fieldkit_protocol::{ConsultationCount, DeviceReport, MAX_CONSULTATION_COUNTS};
use fieldkit_sync_client::{SyncClient, SyncError, enroll};
use fieldkit_sync_server::local::LocalServer;

fn now() -> i64 {
    1_795_000_000
}

fn report(counts: usize, audit_seq: u64) -> DeviceReport {
    DeviceReport {
        cases_sealed: 0,
        envelopes_waiting: 0,
        last_case_number: None,
        audit_seq,
        audit_hash: "ab".repeat(32),
        waiting_cases: vec![],
        consultations: (0..counts)
            .map(|i| ConsultationCount {
                day: format!(
                    "20{:02}-{:02}-{:02}",
                    26 + i / 372,
                    1 + (i / 31) % 12,
                    1 + i % 31
                ),
                // The longest service code the protocol takes, unique per count.
                service_code: Some(format!("{i:0>64}")),
                count: u64::MAX,
            })
            .collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_largest_report_the_protocol_allows_is_taken_and_one_count_more_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(&dir.path().join("data"), now)
        .await
        .unwrap();
    server.enroll_code("REPORT-0001", now()).unwrap();
    let enrollment = enroll(&server.url, &server.server_ca, "REPORT-0001", "T09")
        .await
        .unwrap();
    let client = SyncClient::new(
        &server.url,
        &server.server_ca,
        &enrollment.client_certificate,
        &enrollment.tls_key_pkcs8,
        &enrollment.receipt_public_key,
    )
    .unwrap();

    let largest = report(MAX_CONSULTATION_COUNTS, 1);
    let bytes = serde_json::to_vec(&largest).unwrap().len();
    println!("the largest report: {MAX_CONSULTATION_COUNTS} counts, {bytes} bytes of JSON");
    assert!(bytes > fieldkit_sync_server::http::MAX_JSON, "{bytes}");
    client.report(&largest).await.unwrap();

    match client.report(&report(MAX_CONSULTATION_COUNTS + 1, 2)).await {
        Err(SyncError::Refused { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (400, "malformed_request"));
        }
        other => panic!("one count more must be refused for its count, got {other:?}"),
    }
}
