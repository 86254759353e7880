#![allow(clippy::unwrap_used)]
//! The `fieldkit-sync-server` binary as an operator uses it: init, enroll-code, serve, revoke —
//! and a tablet enrolling over real TLS with the printed code.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use base64::Engine;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

const BIN: &str = env!("CARGO_BIN_EXE_fieldkit-sync-server");

fn run(args: &[&str]) -> String {
    let output = Command::new(BIN).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn client(server_ca: Vec<u8>, identity: Option<(Vec<u8>, Vec<u8>)>) -> reqwest::Client {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(server_ca)).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots);
    let config = match identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from(cert)],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_commands_and_a_tablet_enrolling_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_str = data.to_str().unwrap();
    run(&["init", "--data", data_str, "--hostname", "localhost"]);
    for key in [
        "device-ca.key",
        "server-ca.key",
        "server.key",
        "sealing-seal-1.key",
        "receipt-receipt-1.key",
    ] {
        let mode = std::fs::metadata(data.join("keys").join(key))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{key}");
    }
    assert_eq!(
        std::fs::metadata(&data).unwrap().permissions().mode() & 0o777,
        0o700
    );
    // init refuses to overwrite.
    assert!(
        !Command::new(BIN)
            .args(["init", "--data", data_str, "--hostname", "x"])
            .status()
            .unwrap()
            .success()
    );

    let code = run(&["enroll-code", "--data", data_str]).trim().to_owned();
    assert_eq!(code.len(), 9, "{code}");

    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        format!("listen = \"127.0.0.1:0\"\ndata = \"{data_str}\"\n"),
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--config", config.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let logs = child.stderr.take().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _server = Server(child);
    let port = line.trim().rsplit(':').next().unwrap().to_owned();
    let base = format!("https://localhost:{port}");
    let server_ca = std::fs::read(data.join("keys/server-ca.der")).unwrap();

    let tls_key = rcgen::KeyPair::generate().unwrap();
    let signing =
        fieldkit_protocol::DeviceSigningKey::generate("T07", &ring::rand::SystemRandom::new())
            .unwrap();
    let enroll = serde_json::json!({
        "code": code,
        "device_id": "T07",
        "signing_public_key": hex::encode(signing.public_key().bytes),
        "tls_public_key": base64::engine::general_purpose::STANDARD.encode(tls_key.public_key_raw()),
    });
    let anonymous = client(server_ca.clone(), None);
    let response = anonymous
        .post(format!("{base}/v1/enroll"))
        .json(&enroll)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let enrolled: serde_json::Value = response.json().await.unwrap();
    let certificate = base64::engine::general_purpose::STANDARD
        .decode(enrolled["client_certificate"].as_str().unwrap())
        .unwrap();

    let tablet = client(server_ca, Some((certificate, tls_key.serialize_der())));
    let create = || {
        tablet
            .post(format!("{base}/v1/uploads"))
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", "10")
            .send()
    };
    assert_eq!(create().await.unwrap().status(), 201);

    // Catalog: a valid file is published once; a broken one is refused with its problems.
    let catalog = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/catalog/catalog.toml"
    );
    assert!(
        run(&["publish-catalog", "--data", data_str, catalog]).contains("version 1 (13 services)")
    );
    let again = Command::new(BIN)
        .args(["publish-catalog", "--data", data_str, catalog])
        .output()
        .unwrap();
    assert!(!again.status.success());
    let broken = dir.path().join("broken.toml");
    std::fs::write(
        &broken,
        std::fs::read_to_string(catalog)
            .unwrap()
            .replace("version = 1", "version = 2")
            .replace("provider = \"dms-lviv\"", "provider = \"nobody\""),
    )
    .unwrap();
    let refused = Command::new(BIN)
        .args([
            "publish-catalog",
            "--data",
            data_str,
            broken.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("unknown provider nobody"));
    let feed: serde_json::Value = tablet
        .get(format!("{base}/v1/catalog?since=0"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(feed["version"], 1);
    assert!(
        feed["catalog"]
            .as_str()
            .unwrap()
            .contains("Декларування місця проживання")
    );
    assert_eq!(
        tablet
            .get(format!("{base}/v1/catalog?since=1"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );

    // A hand-over visit is not planned from a file: the case page checks the result is ready.
    let handover = dir.path().join("handover.json");
    std::fs::write(&handover, r#"{"kind":"handover","case_number":"LV01/T07/2026/000001-5","time":"2026-12-01","services":["00001"]}"#).unwrap();
    let refused = Command::new(BIN)
        .args([
            "plan-visit",
            "--data",
            data_str,
            "T07",
            handover.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("case's page in the back-office"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    // A planned visit reaches the tablet through the visits feed.
    let visit = dir.path().join("visit.json");
    std::fs::write(&visit, r#"{"place":"home","address":"м. Львів, вул. Зелена, 12","time":"2026-11-30T10:00","services":["00001"]}"#).unwrap();
    run(&[
        "plan-visit",
        "--data",
        data_str,
        "T07",
        visit.to_str().unwrap(),
    ]);
    let feed: serde_json::Value = tablet
        .get(format!("{base}/v1/visits?since=0"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(feed["visits"][0]["place"], "home");
    assert_eq!(feed["visits"][0]["services"][0], "00001");
    assert_eq!(feed["visits"][0]["address"], "м. Львів, вул. Зелена, 12");
    // Kept sealed at rest: the address is in none of the database's files.
    for file in std::fs::read_dir(&data).unwrap() {
        let path = file.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            let needle = "вул. Зелена".as_bytes();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{} holds the visit's address in clear",
                path.display()
            );
        }
    }
    let next = feed["next"].as_i64().unwrap();
    let later: serde_json::Value = tablet
        .get(format!("{base}/v1/visits?since={next}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(later["visits"], serde_json::json!([]));

    // A wipe command reaches the tablet once.
    run(&["command", "--data", data_str, "T07", "wipe"]);
    let commands: serde_json::Value = tablet
        .get(format!("{base}/v1/commands"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(commands["commands"], serde_json::json!(["wipe"]));
    let commands: serde_json::Value = tablet
        .get(format!("{base}/v1/commands"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(commands["commands"], serde_json::json!([]));

    // The tablet's report names the case still waiting on it; the operator sees it.
    let reported = tablet
        .post(format!("{base}/v1/report"))
        .json(&serde_json::json!({
            "cases_sealed": 2,
            "envelopes_waiting": 1,
            "last_case_number": "LV01/T07/2026/000002-0",
            "audit_seq": 9,
            "audit_hash": "ab".repeat(32),
            "waiting_cases": ["LV01/T07/2026/000002-0"],
        }))
        .send()
        .await
        .unwrap();
    assert!(reported.status().is_success(), "{}", reported.status());
    let unsynced = run(&["unsynced", "--data", data_str, "T07"]);
    assert!(
        unsynced.contains("1 case(s) sealed there never arrived"),
        "{unsynced}"
    );
    assert!(unsynced.contains("  LV01/T07/2026/000002-0"), "{unsynced}");

    // Lost: revoked, then a wipe queued. Everything is refused but the wipe, delivered once.
    run(&["revoke", "--data", data_str, "T07"]);
    assert_eq!(create().await.unwrap().status(), 403);
    run(&["command", "--data", data_str, "T07", "wipe"]);
    let devices = run(&["devices", "--data", data_str]);
    let row = devices.lines().find(|l| l.starts_with("T07")).unwrap();
    let columns: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(columns[1], "revoked", "{devices}");
    assert_eq!(
        &columns[columns.len() - 5..],
        ["2", "0", "1", "1", "1"],
        "{devices}"
    );
    let commands: serde_json::Value = tablet
        .get(format!("{base}/v1/commands"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(commands["commands"], serde_json::json!(["wipe"]));
    for refused in ["/v1/visits?since=0", "/v1/status?since=0", "/v1/keys"] {
        let status = tablet
            .get(format!("{base}{refused}"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 403, "{refused}");
    }

    // Logs: one JSON object per request, with the route template and status, and nothing that
    // was in a request — not the enrollment code, not an upload id.
    drop(_server);
    let mut text = String::new();
    std::io::Read::read_to_string(&mut BufReader::new(logs), &mut text).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["route"] == "/v1/uploads" && l["fields"]["status"] == 201),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["route"] == "/v1/uploads" && l["fields"]["status"] == 403),
        "{text}"
    );
    assert!(
        !text.contains(&code),
        "the enrollment code leaked into the logs"
    );
    assert!(
        !text.contains("/v1/uploads/0") && !text.contains("Зелена"),
        "{text}"
    );
}
