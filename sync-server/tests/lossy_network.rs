#![allow(clippy::unwrap_used)]
//! Sync across a bad network, for real: the server runs in one network namespace, the tablet in
//! another, joined by a veth pair that is slow (tbf, 2 Mbit/s) and drops packets at random in
//! both directions (nftables; netem adds delay and loss too where the kernel has it). The
//! tablet enrolls and uploads its sealed cases; mid-way the server is killed and restarted.
//! The tablet retries and resumes as the app does, and every case arrives whole and opens on
//! the server.
//!
//! The test builds its own sandbox: it runs itself again under `unshare --user --map-root-user
//! --net --mount`, so it needs no root and touches no network of the machine (Debian's
//! `iproute2` and `nftables` provide `ip`, `tc` and `nft`; tests/run.sh installs them).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fieldkit_protocol::{
    DevicePublicKey, DeviceSigningKey, Manifest, PartKind, PlainPart, SealRequest, SealedEnvelope,
    open, seal,
};
use fieldkit_sync_client::{SyncClient, enroll};
use fieldkit_sync_server::setup::ServerFiles;
use fieldkit_sync_server::store::{BlobStore, FileBlobStore, MetadataStore, SqliteMetadata};
use ring::rand::{SecureRandom, SystemRandom};

const BIN: &str = env!("CARGO_BIN_EXE_fieldkit-sync-server");
const ROLE: &str = "FIELDKIT_NETNS_ROLE";
const TEST: &str = "sync_across_a_slow_lossy_link_loses_nothing";
const CENTRE: &str = "10.77.0.1";
const TABLET: &str = "10.77.0.2";
const CASES: usize = 4;

fn sh(program: &str, args: &[&str]) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("{program}: {e} (install iproute2 and nftables: tests/run.sh does)")
        });
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn tried(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Run this test binary again for one role, passing `env`.
fn this_test(role: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .env(ROLE, role);
    command
}

#[test]
fn sync_across_a_slow_lossy_link_loses_nothing() {
    match std::env::var(ROLE).as_deref() {
        Ok("sandbox") => sandbox(),
        Ok("tablet") => tablet(),
        _ => {
            let mut command = Command::new("unshare");
            command.args(["--user", "--map-root-user", "--net", "--mount", "--"]);
            let inner = this_test("sandbox");
            command.arg(inner.get_program()).args(inner.get_args());
            command.env(ROLE, "sandbox");
            let output = command.output().expect("unshare (util-linux)");
            let text = String::from_utf8_lossy(&output.stdout);
            println!("{text}");
            assert!(
                output.status.success() && text.contains("every case arrived and opens"),
                "the sandboxed run failed:\n{text}\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
}

/// Inside the sandbox: two namespaces, a bad link between them, the server in one and the
/// tablet in the other; then every envelope is checked on the server's disk.
fn sandbox() {
    // Our own /run (private to this mount namespace) for `ip netns`.
    sh("mount", &["-t", "tmpfs", "tmpfs", "/run"]);
    for ns in ["centre", "tablet"] {
        sh("ip", &["netns", "add", ns]);
        sh("ip", &["-n", ns, "link", "set", "lo", "up"]);
    }
    sh(
        "ip",
        &[
            "link", "add", "name", "vc", "type", "veth", "peer", "name", "vt",
        ],
    );
    sh("ip", &["link", "set", "vc", "netns", "centre"]);
    sh("ip", &["link", "set", "vt", "netns", "tablet"]);
    for (ns, dev, addr) in [("centre", "vc", CENTRE), ("tablet", "vt", TABLET)] {
        sh(
            "ip",
            &["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", dev],
        );
        sh("ip", &["-n", ns, "link", "set", dev, "up"]);
        // netem gives latency and loss where the kernel has it; otherwise a slow token bucket
        // and random drops by nftables make the same kind of link.
        let netem = tried(
            "ip",
            &[
                "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root", "netem", "delay",
                "60ms", "20ms", "loss", "3%", "rate", "2mbit",
            ],
        );
        if !netem {
            sh(
                "ip",
                &[
                    "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate",
                    "2mbit", "burst", "16kb", "latency", "300ms",
                ],
            );
            sh(
                "ip",
                &["netns", "exec", ns, "nft", "add", "table", "inet", "lossy"],
            );
            sh(
                "ip",
                &[
                    "netns",
                    "exec",
                    ns,
                    "nft",
                    "add",
                    "chain",
                    "inet",
                    "lossy",
                    "in",
                    "{ type filter hook input priority 0; }",
                ],
            );
            sh(
                "ip",
                &[
                    "netns", "exec", ns, "nft", "add", "rule", "inet", "lossy", "in", "iifname",
                    dev, "numgen", "random", "mod", "100", "<", "3", "drop",
                ],
            );
        }
        println!(
            "{ns}: {}",
            if netem {
                "netem delay 60±20 ms, loss 3 %, 2 Mbit/s"
            } else {
                "tbf 2 Mbit/s, nftables random drop 3 % (no netem in this kernel)"
            }
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_str = data.to_str().unwrap();
    run_server(&["init", "--data", data_str, "--hostname", CENTRE]);
    let code = run_server(&["enroll-code", "--data", data_str])
        .trim()
        .to_owned();
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        format!("listen = \"{CENTRE}:8443\"\ndata = \"{data_str}\"\n"),
    )
    .unwrap();
    let start_server = || {
        let mut server = Command::new("ip")
            .args(["netns", "exec", "centre", BIN, "serve", "--config"])
            .arg(&config)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_listening(&mut server);
        server
    };
    let mut server = start_server();

    let work = dir.path().join("tablet");
    std::fs::create_dir(&work).unwrap();
    let started = Instant::now();
    let mut tablet = Command::new("ip");
    tablet.args(["netns", "exec", "tablet"]);
    let inner = this_test("tablet");
    tablet.arg(inner.get_program()).args(inner.get_args());
    let tablet = tablet
        .env(ROLE, "tablet")
        .env("FIELDKIT_NETNS_CODE", &code)
        .env("FIELDKIT_NETNS_CA", data.join("keys/server-ca.der"))
        .env("FIELDKIT_NETNS_WORK", &work)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Mid-way through case 1 the server goes down hard and comes back: the tablet's upload in
    // flight breaks and resumes. The tablet waits at that point until the server is dead, so
    // its next request meets a dead server whatever the timing.
    let deadline = Instant::now() + Duration::from_secs(180);
    while !work.join("mid-upload").exists() {
        assert!(Instant::now() < deadline, "the tablet never reached case 1");
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill().unwrap();
    server.wait().unwrap();
    std::fs::write(work.join("killed"), b"").unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let mut server = start_server();
    let output = tablet.wait_with_output().unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "tablet:\n{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{text}");
    println!(
        "tablet finished in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    verify_on_server(&data, &work);
    println!("every case arrived and opens");
}

fn run_server(args: &[&str]) -> String {
    let output = Command::new(BIN).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn wait_for_listening(server: &mut Child) {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("8443"), "server said: {line}");
}

/// The tablet's side, in its own namespace: enroll over the bad link, then upload every case,
/// retrying and resuming as the sync pass does, and leave what it sent for the check.
fn tablet() {
    let code = std::env::var("FIELDKIT_NETNS_CODE").unwrap();
    let server_ca = std::fs::read(std::env::var("FIELDKIT_NETNS_CA").unwrap()).unwrap();
    let work = PathBuf::from(std::env::var("FIELDKIT_NETNS_WORK").unwrap());
    let url = format!("https://{CENTRE}:8443");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let enrollment = retry("enroll", || enroll(&url, &server_ca, &code, "T11")).await;
        let device = DeviceSigningKey::from_pkcs8("T11", &enrollment.signing_key_pkcs8).unwrap();
        std::fs::write(work.join("device.pub"), device.public_key().bytes).unwrap();
        let client = SyncClient::new(
            &url,
            &server_ca,
            &enrollment.client_certificate,
            &enrollment.tls_key_pkcs8,
            &enrollment.receipt_public_key,
        )
        .unwrap();
        let rng = SystemRandom::new();
        let mut attempts = 0;
        for case in 0..CASES {
            // Pages that do not compress: what a link has to carry for scanned documents.
            let mut page = vec![0u8; 400_000];
            rng.fill(&mut page).unwrap();
            std::fs::write(work.join(format!("case-{case}.page")), &page).unwrap();
            let parts = [
                PlainPart::new(PartKind::CaseRecord, format!("case {case}").into_bytes()),
                PlainPart::new(PartKind::Page, page),
            ];
            let envelope_id = format!("env-lossy-{case}");
            let envelope = seal(
                &SealRequest {
                    envelope_id: &envelope_id,
                    case_number: &format!("LV01/T11/2026/00000{case}-0"),
                    created_at: 0,
                    parts: &parts,
                },
                &enrollment.sealing_key,
                &device,
                &rng,
            )
            .unwrap();
            let mut locations = BTreeMap::new();
            let deadline = Instant::now() + Duration::from_secs(300);
            loop {
                attempts += 1;
                let mut pause_once = |progress: fieldkit_sync_client::UploadProgress| {
                    if case == 1 && progress.bytes_done > 0 && !work.join("mid-upload").exists() {
                        std::fs::write(work.join("mid-upload"), b"").unwrap();
                        while !work.join("killed").exists() {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                };
                match client
                    .upload_envelope(&envelope_id, &envelope, &mut locations, &mut pause_once)
                    .await
                {
                    Ok(_) => break,
                    Err(error) if error.is_retryable() && Instant::now() < deadline => {
                        println!("case {case}: {error}; resuming");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    Err(error) => panic!("case {case}: {error}"),
                }
            }
        }
        println!("tablet: {CASES} cases delivered in {attempts} attempts");
        assert!(
            attempts > CASES,
            "the server restart never interrupted an upload"
        );
    });
}

async fn retry<T, E: std::fmt::Display, F: std::future::Future<Output = Result<T, E>>>(
    what: &str,
    mut attempt: impl FnMut() -> F,
) -> T {
    for _ in 0..20 {
        match attempt().await {
            Ok(value) => return value,
            Err(error) => {
                println!("{what}: {error}; again");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
    panic!("{what} never succeeded")
}

/// Every case the tablet sealed is on the server, and opens to exactly the page it sent.
fn verify_on_server(data: &Path, work: &Path) {
    let files = ServerFiles::load(data).unwrap();
    let meta = SqliteMetadata::open(&data.join("metadata.sqlite")).unwrap();
    let blobs = FileBlobStore::open(&data.join("blobs")).unwrap();
    let device = DevicePublicKey {
        device_id: "T11".into(),
        bytes: std::fs::read(work.join("device.pub"))
            .unwrap()
            .try_into()
            .unwrap(),
    };
    for case in 0..CASES {
        let stored = meta
            .envelope(&format!("env-lossy-{case}"))
            .unwrap()
            .unwrap_or_else(|| panic!("case {case} never arrived"));
        let manifest: Manifest = serde_json::from_slice(&stored.manifest).unwrap();
        let envelope = SealedEnvelope {
            manifest_bytes: stored.manifest,
            signature: stored.signature,
            parts: manifest
                .parts
                .iter()
                .map(|p| blobs.get(&p.sha256).unwrap())
                .collect(),
        };
        let opened = open(&envelope, &files.sealing, &device).unwrap();
        assert_eq!(
            opened[1].bytes,
            std::fs::read(work.join(format!("case-{case}.page"))).unwrap(),
            "case {case}"
        );
    }
}
