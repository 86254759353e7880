#![allow(clippy::unwrap_used)]
//! A third-party tus client — tuspy from PyPI (installed by tests/run.sh) — uploads to the
//! server with the tablet's client certificate, is interrupted, and resumes from the server's
//! offset in a new uploader; the blob arrives whole.

use std::process::Command;

use base64::Engine;
use fieldkit_sync_client::enroll;
use fieldkit_sync_server::local::LocalServer;
use fieldkit_sync_server::store::{BlobStore, FileBlobStore};
use ring::digest::{SHA256, digest};

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

const SCRIPT: &str = r#"
import sys
from tusclient import client
url, path, cert, key = sys.argv[1:5]
tus = client.TusClient(url, headers={"Tus-Resumable": "1.0.0"}, client_cert=(cert, key))
first = tus.uploader(file_path=path, chunk_size=64 * 1024, upload_checksum=True)
first.upload(stop_at=3 * 64 * 1024)            # interrupted after three chunks
print(first.url)
second = tus.uploader(file_path=path, chunk_size=64 * 1024, url=first.url, upload_checksum=True)
print(second.offset)                            # resumed where the server is
second.upload()
print(second.offset)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tuspy_uploads_and_resumes_after_an_interruption() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = LocalServer::start(&data, now).await.unwrap();
    server.enroll_code("TUSPY-0001", now()).unwrap();
    let enrollment = enroll(&server.url, &server.server_ca, "TUSPY-0001", "T07")
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
    let content: Vec<u8> = (0..500_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(files.join("part.bin"), &content).unwrap();

    let url = format!("{}/v1/uploads", server.url);
    let output = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .args([
            &url,
            files.join("part.bin").to_str().unwrap(),
            files.join("cert.pem").to_str().unwrap(),
            files.join("key.pem").to_str().unwrap(),
        ])
        // requests trusts this bundle: our pinned server CA, nothing else.
        .env("REQUESTS_CA_BUNDLE", files.join("ca.pem"))
        .output()
        .expect("python3 with tuspy (tests/run.sh installs it)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(lines[0].contains("/v1/uploads/"), "{lines:?}");
    assert_eq!(
        lines[1],
        (3 * 64 * 1024).to_string(),
        "the second uploader resumed at the server's offset"
    );
    assert_eq!(lines[2], content.len().to_string());

    let blobs = FileBlobStore::open(&data.join("blobs")).unwrap();
    let sha = hex::encode(digest(&SHA256, &content));
    assert_eq!(blobs.get(&sha).unwrap(), content);
}
