#![allow(clippy::unwrap_used)]
//! schemathesis (PyPI, installed by tests/run.sh) runs every phase against the server's own
//! `/v1/openapi.json`, over real mutual TLS on loopback with an enrolled tablet's client
//! certificate: every answer the server gives must be one the document describes, every request
//! the document allows must be accepted and every one it forbids refused, and no answer is a
//! server error. A mismatch is a bug in the document or in the server.

use std::process::Command;

use base64::Engine;
use fieldkit_sync_client::enroll;
use fieldkit_sync_server::local::LocalServer;

fn now() -> i64 {
    1_795_000_000
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// The schemathesis command line, or a failure that says how to get it: a missing tool must
/// not pass as a clean run.
fn schemathesis() -> Command {
    let found = Command::new("st")
        .arg("--version")
        .output()
        .map(|output| output.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "schemathesis (the `st` command from PyPI) is not installed: run tests/run.sh, which installs the pinned version"
    );
    Command::new("st")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_the_server_does_what_its_document_says() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(&dir.path().join("data"), now)
        .await
        .unwrap();
    server.enroll_code("SCHEMA-0001", now()).unwrap();
    let enrollment = enroll(&server.url, &server.server_ca, "SCHEMA-0001", "T09")
        .await
        .unwrap();
    let files = dir.path();
    std::fs::write(files.join("ca.pem"), pem("CERTIFICATE", &server.server_ca)).unwrap();
    std::fs::write(
        files.join("cert.pem"),
        pem("CERTIFICATE", &enrollment.client_certificate),
    )
    .unwrap();
    std::fs::write(
        files.join("key.pem"),
        pem("PRIVATE KEY", &enrollment.tls_key_pkcs8),
    )
    .unwrap();

    let schema = format!("{}/v1/openapi.json", server.url);
    // A longer or different run: FIELDKIT_SCHEMATHESIS_EXAMPLES, FIELDKIT_SCHEMATHESIS_SEED.
    let examples =
        std::env::var("FIELDKIT_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "25".to_owned());
    let seed = std::env::var("FIELDKIT_SCHEMATHESIS_SEED").unwrap_or_else(|_| "16".to_owned());
    let settings = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis");
    let output = schemathesis()
        // What each check accepts beyond its defaults, and why (tus's 412, semantic refusals).
        .arg("--config-file")
        .arg(settings.join("config.toml"))
        .arg("run")
        .arg(&schema)
        .args(["--checks", "all"])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        // Bounded so the whole run stays within a couple of minutes on a busy machine; the
        // seed makes a failure reproducible.
        .args(["--max-examples", &examples, "--seed", &seed])
        // One worker: hypothesis, in several threads under CPython 3.11, can fail inside
        // `ast.parse` ("AST constructor recursion depth mismatch"), a tool error, not a finding.
        .args(["--workers", "1"])
        .args(["--request-timeout", "20"])
        .arg("--request-cert")
        .arg(files.join("cert.pem"))
        .arg("--request-cert-key")
        .arg(files.join("key.pem"))
        .arg("--tls-verify")
        .arg(files.join("ca.pem"))
        .args(["--no-color", "--output-truncate", "false"])
        // Sends tus chunks (application/offset+octet-stream) as raw bytes.
        .env("SCHEMATHESIS_HOOKS", settings.join("hooks.py"))
        .current_dir(files)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    server.stop();
    // The summary (phases, operations, cases generated) shows with --nocapture.
    println!("{stdout}");
    assert!(
        output.status.success(),
        "schemathesis found the server and its document disagree:\n{stdout}\n{stderr}"
    );
}
