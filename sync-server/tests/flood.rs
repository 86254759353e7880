#![allow(clippy::unwrap_used)]
//! The real `fieldkit-sync-server` binary under a connection flood: thousands of plain TCP
//! connections that never start TLS and slow-loris clients that trickle a request head, from
//! other loopback addresses (127.0.0.2, 127.0.0.3), while an enrolled tablet on 127.0.0.1 syncs
//! over mutual TLS. The server must not exit, the tablet must get its receipt, and every flood
//! connection must be closed by the server, its descriptors given back.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fieldkit_protocol::{DeviceSigningKey, PartKind, PlainPart, SealRequest, SealedEnvelope, seal};
use fieldkit_sync_client::{Enrollment, SyncClient, enroll};
use ring::rand::SystemRandom;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const BIN: &str = env!("CARGO_BIN_EXE_fieldkit-sync-server");

/// A server child killed when the test ends, its stderr (JSON log lines) collected.
struct Server {
    child: Child,
    port: u16,
    logs: Arc<Mutex<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// `init`, an enrollment code, and `serve` with `connections` as the `[connections]` table;
    /// with `nofile`, under that open-file limit (soft and hard) via prlimit(1).
    fn start(dir: &Path, connections: &str, nofile: Option<u32>) -> (Server, String) {
        let data = dir.join("data");
        let data_str = data.to_str().unwrap();
        let init = Command::new(BIN)
            .args(["init", "--data", data_str, "--hostname", "localhost"])
            .status()
            .unwrap();
        assert!(init.success());
        let code = Command::new(BIN)
            .args(["enroll-code", "--data", data_str])
            .output()
            .unwrap();
        let code = String::from_utf8(code.stdout).unwrap().trim().to_owned();
        let config = dir.join("server.toml");
        std::fs::write(
            &config,
            format!(
                "listen = \"127.0.0.1:0\"\ndata = \"{data_str}\"\nlog_level = \"warn\"\n\
                 [connections]\n{connections}\n"
            ),
        )
        .unwrap();
        let serve = [BIN, "serve", "--config", config.to_str().unwrap()];
        let mut command = match nofile {
            Some(limit) => {
                let mut c = Command::new("prlimit");
                c.arg(format!("--nofile={limit}:{limit}")).args(serve);
                c
            }
            None => {
                let mut c = Command::new(serve[0]);
                c.args(&serve[1..]);
                c
            }
        };
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let logs = Arc::new(Mutex::new(String::new()));
        let mut stderr = child.stderr.take().unwrap();
        let sink = logs.clone();
        // Drained all along, so a chatty server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().rsplit(':').next().unwrap().parse().unwrap();
        (Server { child, port, logs }, code)
    }

    fn url(&self) -> String {
        format!("https://localhost:{}", self.port)
    }

    fn still_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// The child's open file descriptors (the server itself: prlimit execs it in place).
    fn open_files(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .unwrap()
            .count()
    }
}

/// A TCP connection to the server from `source` (a loopback address other than the tablet's).
async fn connect_from(source: &str, port: u16) -> Option<TcpStream> {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(source.parse().unwrap(), 0))
        .unwrap();
    let target = SocketAddr::from(([127, 0, 0, 1], port));
    match tokio::time::timeout(Duration::from_secs(10), socket.connect(target)).await {
        Ok(Ok(stream)) => Some(stream),
        _ => None,
    }
}

/// `count` connections from `source` that never send a byte.
async fn idle_flood(source: &'static str, port: u16, count: usize) -> Vec<TcpStream> {
    let attempts: Vec<_> = (0..count)
        .map(|_| tokio::spawn(connect_from(source, port)))
        .collect();
    let mut open = Vec::new();
    for attempt in attempts {
        if let Some(stream) = attempt.await.unwrap() {
            open.push(stream);
        }
    }
    open
}

/// Resolves when the server has closed `stream` (end of file or reset), or after `limit`.
async fn closed_by_server(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut byte = [0u8; 1];
    loop {
        match tokio::time::timeout(limit, stream.read(&mut byte)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// The server's side of its connections from the flood addresses (127.0.0.2 and 127.0.0.3),
/// as the kernel lists them: accepted or queued (ESTABLISHED), half-open (SYN_RECV) and
/// closed by the client but not by the server (CLOSE_WAIT).
fn server_side_flood_sockets(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let local = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.len() > 3
                && fields[1].ends_with(&local)
                && (fields[2].starts_with("0200007F") || fields[2].starts_with("0300007F"))
                && matches!(fields[3], "01" | "03" | "08")
        })
        .count()
}

fn tls_connector(server_ca: &[u8]) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(server_ca.to_vec()))
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// A slow-loris client: finishes TLS (no client certificate is needed for that), then sends a
/// request head one byte a second and never finishes it. True when the server closed it.
async fn slow_loris(source: &'static str, port: u16, server_ca: Arc<Vec<u8>>) -> bool {
    let Some(tcp) = connect_from(source, port).await else {
        return false;
    };
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let Ok(mut tls) = tls_connector(&server_ca).connect(name, tcp).await else {
        return false;
    };
    let head = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    for byte in head.iter() {
        if tls.write_all(&[*byte]).await.is_err() || tls.flush().await.is_err() {
            return true;
        }
        let mut answer = [0u8; 256];
        // Wait a second for the next byte, watching for the server hanging up meanwhile.
        match tokio::time::timeout(Duration::from_secs(1), tls.read(&mut answer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // An answer (408) before the head was complete is also the server giving up.
            Ok(Ok(_)) => return true,
            Err(_) => {}
        }
    }
    false
}

fn sealed(id: &str, enrollment: &Enrollment, seed: u8) -> SealedEnvelope {
    let device =
        DeviceSigningKey::from_pkcs8(&enrollment.device_id, &enrollment.signing_key_pkcs8).unwrap();
    let parts = vec![
        PlainPart::new(
            PartKind::CaseRecord,
            format!("{{\"case\":\"{id}\"}}").into_bytes(),
        ),
        PlainPart::new(PartKind::Page, vec![seed; 60_000]),
    ];
    let number = format!("LV01/{}/2026/{:06}-0", enrollment.device_id, seed);
    let request = SealRequest {
        envelope_id: id,
        case_number: &number,
        created_at: 0,
        parts: &parts,
    };
    seal(
        &request,
        &enrollment.sealing_key,
        &device,
        &SystemRandom::new(),
    )
    .unwrap()
}

/// The tablet uploads and commits one case; retried while the flood still holds the server's
/// descriptors (a refused connection is retryable for a tablet, as on a bad network).
async fn tablet_syncs(url: &str, server_ca: &[u8], enrollment: &Enrollment, id: &str) {
    let envelope = sealed(id, enrollment, 7);
    let mut locations = Default::default();
    for _ in 0..60 {
        let client = SyncClient::new(
            url,
            server_ca,
            &enrollment.client_certificate,
            &enrollment.tls_key_pkcs8,
            &enrollment.receipt_public_key,
        )
        .unwrap();
        match client
            .upload_envelope(id, &envelope, &mut locations, &mut |_| {})
            .await
        {
            Ok(_) => return,
            Err(error) => {
                assert!(error.is_retryable(), "{error}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
    panic!("the tablet could not sync {id} during the flood");
}

async fn enroll_with_retries(url: &str, server_ca: &[u8], code: &str) -> Enrollment {
    for _ in 0..60 {
        match enroll(url, server_ca, code, "T31").await {
            Ok(enrollment) => return enrollment,
            Err(error) => {
                assert!(error.is_retryable(), "{error}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
    panic!("could not enroll during the flood");
}

async fn healthz(url: &str, server_ca: &[u8]) -> bool {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(server_ca.to_vec()))
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .build()
        .unwrap();
    match client.get(format!("{url}/healthz")).send().await {
        Ok(response) => response.status() == 200,
        Err(_) => false,
    }
}

/// Polls (up to a minute) until the server holds no more descriptors than `baseline` + `slack`.
async fn descriptors_back_to(server: &Server, baseline: usize, slack: usize) -> usize {
    let mut open = server.open_files();
    for _ in 0..120 {
        if open <= baseline + slack {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        open = server.open_files();
    }
    open
}

/// Out of descriptors on purpose: the server runs with an open-file limit of 256, the caps
/// above it, and 2,000 idle connections plus 200 slow-loris ones arrive. Before this change
/// `serve` returned on the first EMFILE and the process exited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_flood_past_the_open_file_limit_does_not_stop_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, code) = Server::start(
        dir.path(),
        "max_connections = 5000\nmax_connections_per_address = 5000\n\
         tls_handshake_timeout_seconds = 3\nheader_timeout_seconds = 3\nidle_timeout_seconds = 6",
        Some(256),
    );
    let url = server.url();
    let server_ca = std::fs::read(dir.path().join("data/keys/server-ca.der")).unwrap();
    let enrollment = enroll_with_retries(&url, &server_ca, &code).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let baseline = server.open_files();

    let idle = idle_flood("127.0.0.2", server.port, 2000).await;
    let ca = Arc::new(server_ca.clone());
    let slow: Vec<_> = (0..200)
        .map(|_| tokio::spawn(slow_loris("127.0.0.3", server.port, ca.clone())))
        .collect();
    println!("{} idle connections open", idle.len());
    assert!(
        idle.len() > 256,
        "the flood must outnumber the open-file limit"
    );

    let started = std::time::Instant::now();
    tablet_syncs(&url, &server_ca, &enrollment, "env-flood-1").await;
    println!(
        "tablet synced after {:?}; server holds {} descriptors",
        started.elapsed(),
        server.open_files()
    );
    assert!(healthz(&url, &server_ca).await, "/healthz answers");
    assert!(server.still_running(), "the server exited under the flood");

    // The server lets go of every flood connection: the ones it accepted are closed at the
    // handshake deadline, the ones the kernel queued are accepted and closed in turn.
    let mut held = server_side_flood_sockets(server.port);
    for _ in 0..180 {
        if held == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        held = server_side_flood_sockets(server.port);
    }
    println!(
        "after {:?}: the server holds {held} flood sockets",
        started.elapsed()
    );
    assert_eq!(held, 0, "flood connections the server still holds");
    let mut closed = 0;
    for mut stream in idle {
        if closed_by_server(&mut stream, Duration::from_millis(10)).await {
            closed += 1;
        }
    }
    // The others never reached the server: the kernel's accept queue was full when they came,
    // so only the client believes they are open.
    println!("{closed} idle connections were closed by the server");
    assert!(
        closed > 256,
        "more than the open-file limit were accepted and closed"
    );
    let mut slow_closed = 0;
    for client in slow {
        if client.await.unwrap() {
            slow_closed += 1;
        }
    }
    println!("{slow_closed} of 200 slow-loris connections got in and were closed");
    assert!(
        slow_closed > 0,
        "no slow-loris connection got far enough to test"
    );

    let open = descriptors_back_to(&server, baseline, 4).await;
    assert!(
        open <= baseline + 4,
        "{open} descriptors open, {baseline} before"
    );
    assert!(server.still_running());
    tablet_syncs(&url, &server_ca, &enrollment, "env-flood-2").await;
    let logs = server.logs.lock().unwrap().clone();
    assert!(
        logs.contains("out of file descriptors"),
        "the flood never reached the open-file limit: {logs}"
    );
}

/// One address may hold only its share: with a per-address cap of 16 and a long handshake
/// deadline, 300 connections from 127.0.0.2 hold 16 descriptors at most, the rest are closed
/// on arrival, and the tablet on 127.0.0.1 enrolls and syncs at its first try.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_every_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, code) = Server::start(
        dir.path(),
        "max_connections = 100\nmax_connections_per_address = 16\n\
         tls_handshake_timeout_seconds = 600\nheader_timeout_seconds = 600\nidle_timeout_seconds = 600",
        None,
    );
    let url = server.url();
    let server_ca = std::fs::read(dir.path().join("data/keys/server-ca.der")).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let baseline = server.open_files();

    let flood = idle_flood("127.0.0.2", server.port, 300).await;
    // The server closes the connections over the cap on arrival and keeps 16. Counted on the
    // server's side, as the kernel lists its sockets: a client cannot tell a connection the
    // server holds from one still waiting in the accept queue.
    let mut held = server_side_flood_sockets(server.port);
    for _ in 0..60 {
        if held == 16 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        held = server_side_flood_sockets(server.port);
    }
    let mut closed = 0;
    let mut kept = Vec::new();
    for mut stream in flood {
        if closed_by_server(&mut stream, Duration::from_millis(10)).await {
            closed += 1;
        } else {
            kept.push(stream);
        }
    }
    println!(
        "the server holds {held} of them, {closed} were closed on arrival; {} descriptors, {baseline} before",
        server.open_files()
    );
    assert_eq!(held, 16, "the per-address cap");
    // The client side is informational only: the kernel may still be finishing a burst's
    // handshakes, so a connection may look open here that the server never holds.
    assert!(closed > 0, "none was closed on arrival");
    assert!(server.open_files() <= baseline + 16 + 2);

    // The tablet, from its own address, gets in at once: no retries.
    let enrollment = enroll(&url, &server_ca, &code, "T32").await.unwrap();
    let envelope = sealed("env-cap-1", &enrollment, 3);
    let client = SyncClient::new(
        &url,
        &server_ca,
        &enrollment.client_certificate,
        &enrollment.tls_key_pkcs8,
        &enrollment.receipt_public_key,
    )
    .unwrap();
    client
        .upload_envelope("env-cap-1", &envelope, &mut Default::default(), &mut |_| {})
        .await
        .unwrap();
    assert!(server.still_running());
    drop(kept);
    let open = descriptors_back_to(&server, baseline, 4).await;
    assert!(
        open <= baseline + 4,
        "{open} descriptors open, {baseline} before"
    );
}
