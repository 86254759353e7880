//! The public tracking page under load (issue #13), figures only, no assertions about time:
//! a store with 10,000 tracked cases (each with a few status events) behind a local server's
//! public listener, and `wrk` in a second process on loopback asking for random cases'
//! pages (`/t/{code}`), beside `/healthz` on the same listener in the same run: requests per
//! second and p99 latency, each the best of a few runs, with the machine's load from `uptime`.
//!
//! Needs `wrk` (Debian: `apt-get install wrk`); without it the bench says so and stops.
//! `FIELDKIT_BENCH_RUNS` (default 3), `FIELDKIT_BENCH_SECONDS` (default 10) and
//! `FIELDKIT_BENCH_CONNECTIONS` (default 16) change the runs.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use fieldkit_domain::workflow::CaseState;
use fieldkit_sync_server::local::LocalServer;
use fieldkit_sync_server::store::{MetadataStore, TrackedCase, TrackingStore};
use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};

const CASES: usize = 10_000;
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A random code of 28 Crockford symbols (the page reads any well-formed code).
fn random_code(rng: &SystemRandom) -> String {
    let mut bytes = [0u8; 28];
    rng.fill(&mut bytes).unwrap();
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
        .collect()
}

fn uptime() -> String {
    Command::new("uptime")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|_| "(uptime not available)".into())
}

/// One wrk run's figures.
#[derive(Debug, Clone, Copy)]
struct Run {
    rps: f64,
    p99_ms: f64,
    errors: u64,
}

fn milliseconds(text: &str) -> Option<f64> {
    let (number, unit) = text.split_at(text.find(|c: char| c.is_ascii_alphabetic())?);
    let value: f64 = number.parse().ok()?;
    Some(match unit {
        "us" => value / 1000.0,
        "ms" => value,
        "s" => value * 1000.0,
        "m" => value * 60_000.0,
        _ => return None,
    })
}

fn parse_wrk(output: &str) -> Option<Run> {
    let mut rps = None;
    let mut p99 = None;
    let mut errors = 0;
    for line in output.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", value] => rps = value.parse().ok(),
            ["99%", value] => p99 = milliseconds(value),
            ["Non-2xx", "or", "3xx", "responses:", n] => errors += n.parse::<u64>().ok()?,
            ["Socket", "errors:", rest @ ..] => {
                errors += rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum::<u64>()
            }
            _ => {}
        }
    }
    Some(Run {
        rps: rps?,
        p99_ms: p99?,
        errors,
    })
}

fn wrk(url: &str, script: Option<&std::path::Path>, seconds: u64, connections: u64) -> Run {
    let mut command = Command::new("wrk");
    command.args([
        "-t1",
        &format!("-c{connections}"),
        &format!("-d{seconds}s"),
        "--latency",
    ]);
    if let Some(script) = script {
        command.arg("-s").arg(script);
    }
    let output = command.arg(url).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    parse_wrk(&text).unwrap_or_else(|| {
        panic!(
            "wrk said:\n{text}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn best(runs: &[Run]) -> Run {
    *runs.iter().max_by(|a, b| a.rps.total_cmp(&b.rps)).unwrap()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if Command::new("wrk").arg("--version").output().is_err() {
        println!("tracking bench skipped: wrk is not installed (Debian: apt-get install wrk)");
        return;
    }
    let runs = env_or("FIELDKIT_BENCH_RUNS", 3).max(1);
    let seconds = env_or("FIELDKIT_BENCH_SECONDS", 10).max(1);
    let connections = env_or("FIELDKIT_BENCH_CONNECTIONS", 16).max(1);

    // The store on tmpfs where there is one: filling it is 40,000 committed transactions, and
    // the page only reads (a found case writes nothing), so the disk is not what is measured.
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        tempfile::Builder::new().tempdir_in("/dev/shm").unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let server = LocalServer::start(&dir.path().join("data"), now)
        .await
        .unwrap();
    let catalog_text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/catalog/catalog.toml"),
    )
    .unwrap();
    let catalog = fieldkit_domain::catalog::Catalog::from_toml_str(&catalog_text).unwrap();
    server
        .meta
        .publish_catalog(catalog.version, &catalog_text, now())
        .unwrap();
    let services: Vec<String> = catalog.services.iter().map(|s| s.code.0.clone()).collect();

    let rng = SystemRandom::new();
    let started = Instant::now();
    let base = now() - 30 * 86_400;
    let mut codes = Vec::with_capacity(CASES);
    for i in 0..CASES {
        let code = random_code(&rng);
        let case_number = format!("LV01/B{:02}/2026/{:06}-0", i % 50, i);
        let at = base + (i as i64) * 60;
        server
            .meta
            .record_tracked_case(&TrackedCase {
                code_sha256: hex::encode(digest(&SHA256, code.as_bytes())),
                case_number: case_number.clone(),
                service_code: services[i % services.len()].clone(),
                centre_code: "LV01".into(),
                registered_at: at,
            })
            .unwrap();
        let steps: &[CaseState] = match i % 3 {
            0 => &[
                CaseState::Received,
                CaseState::Accepted,
                CaseState::Forwarded,
            ],
            1 => &[
                CaseState::Received,
                CaseState::Accepted,
                CaseState::Forwarded,
                CaseState::ForwardedToProvider,
            ],
            _ => &[
                CaseState::Received,
                CaseState::Accepted,
                CaseState::Forwarded,
                CaseState::Refused,
                CaseState::ResultReady,
            ],
        };
        for (n, state) in steps.iter().enumerate() {
            let detail =
                (*state == CaseState::Refused).then_some("Подано неповний пакет документів");
            server
                .meta
                .add_status_event(&case_number, *state, detail, at + 3600 * (n as i64 + 1))
                .unwrap();
        }
        codes.push(code);
    }
    println!(
        "store: {CASES} tracked cases, {} status events, filled in {:.1} s",
        (0..CASES).map(|i| [3, 4, 5][i % 3]).sum::<usize>(),
        started.elapsed().as_secs_f64()
    );

    // One page, as a phone gets it, for its size.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(
            server.server_ca.clone(),
        ))
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .build()
        .unwrap();
    for (label, code) in [("forwarded", &codes[0]), ("refused, ready", &codes[2])] {
        let page = client
            .get(format!("{}/t/{code}", server.public_url))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        println!(
            "a tracking page ({label}): {} bytes of HTML",
            page.bytes().await.unwrap().len()
        );
    }

    // wrk asks for a random case's page each time.
    let paths = dir.path().join("paths.txt");
    let mut file = std::fs::File::create(&paths).unwrap();
    for code in &codes {
        writeln!(file, "/t/{code}").unwrap();
    }
    drop(file);
    let script = dir.path().join("random-case.lua");
    std::fs::write(
        &script,
        format!(
            "local paths = {{}}\n\
             for line in io.lines(\"{}\") do paths[#paths + 1] = line end\n\
             math.randomseed(os.time())\n\
             request = function() return wrk.format(\"GET\", paths[math.random(#paths)]) end\n",
            paths.display()
        ),
    )
    .unwrap();

    println!(
        "wrk: 1 thread, {connections} connections, {seconds} s per run, {runs} runs of each, alternating"
    );
    println!("load before: {}", uptime());
    let mut health = Vec::new();
    let mut track = Vec::new();
    for run in 1..=runs {
        let h = wrk(
            &format!("{}/healthz", server.public_url),
            None,
            seconds,
            connections,
        );
        let t = wrk(&server.public_url, Some(&script), seconds, connections);
        println!(
            "  run {run}: /healthz {:8.0} req/s p99 {:6.2} ms ({} errors) | /t/{{code}} {:8.0} req/s p99 {:6.2} ms ({} errors)",
            h.rps, h.p99_ms, h.errors, t.rps, t.p99_ms, t.errors
        );
        health.push(h);
        track.push(t);
    }
    println!("load after:  {}", uptime());
    let (h, t) = (best(&health), best(&track));
    println!(
        "best of {runs}: /healthz {:.0} req/s, p99 {:.2} ms   /t/{{code}} {:.0} req/s, p99 {:.2} ms   ratio page/healthz {:.2}",
        h.rps,
        h.p99_ms,
        t.rps,
        t.p99_ms,
        t.rps / h.rps
    );
    server.stop();
}
