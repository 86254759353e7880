#![allow(clippy::unwrap_used)]
//! The central case system connector against real peers on loopback: an HTTP receiver that
//! fails for a while (500, a timeout, a dropped connection) and then recovers, a drop folder, a
//! signed events endpoint, a real SMTP server (Python's aiosmtpd) that may be down for a while,
//! and an SMS gateway. Cases are real sealed envelopes, opened by the connector as the server
//! opens them.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{TcpListener as StdListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use fieldkit_capture::signature::{Point, Stroke, Strokes, sign};
use fieldkit_domain::case::{
    Address, Applicant, CaptureMethod, CapturedDocument, Case, Contact, IdentityDocument,
    IdentityDocumentKind, NaturalPerson, Notification, PageRef, PersonName, ResultDelivery,
    SignatureRef, SignerRole, VisitPlace, VisitPlaceKind,
};
use fieldkit_domain::case_number::CaseNumber;
use fieldkit_domain::common::{DocumentForm, RequirementId, ServiceCode};
use fieldkit_domain::workflow::CaseState;
use fieldkit_protocol::{DeviceSigningKey, PartKind, PlainPart, SealRequest, SupplementKind, seal};
use fieldkit_sync_server::ServerError;
use fieldkit_sync_server::central::notify::notifications_of;
use fieldkit_sync_server::central::outbox::{
    backoff_cap, dead_letters, enqueue, outbox_counts, outbox_entry, retry_dead_letter, run_once,
};
use fieldkit_sync_server::central::{
    CentralConfig, CentralState, ConnectorKind, NotificationState, NotifyConfig, events,
};
use fieldkit_sync_server::local::LocalServer;
use fieldkit_sync_server::office::archive;
use fieldkit_sync_server::office::db::{audit_of, verify_audit_chain};
use fieldkit_sync_server::office::supplements::{self, Taken, apply_pending};
use fieldkit_sync_server::setup::{ServerFiles, init};
use fieldkit_sync_server::store::{Device, DeviceState, StoredEnvelope, StoredSupplement};
use ring::digest::{SHA256, digest};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use rusqlite::params;

const T0: i64 = 1_790_000_000;
const SURNAME: &str = "Шевченко";
const GIVEN_NAME: &str = "Марія";
const STREET: &str = "вул. Зелена, 12, кв. 3";
const RNOKPP: &str = "1687545620";
const EMAIL: &str = "maria.shevchenko@example.com";
const PHONE: &str = "+380671234567";

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(digest(&SHA256, bytes))
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    SystemRandom::new().fill(&mut buffer).unwrap();
    hex::encode(buffer)
}

/// A plausible signature: a few loops across the pad.
fn strokes(seed: f32) -> Strokes {
    let points = (0..200u32)
        .map(|i| {
            let t = i as f32 / 200.0;
            Point {
                x: 40.0 + 520.0 * t + 25.0 * (t * 40.0 + seed).sin(),
                y: 100.0 + 40.0 * (t * 13.0).sin() * (t * 3.0 + seed).cos(),
                t_ms: i * 10,
                pressure: None,
            }
        })
        .collect();
    Strokes {
        width: 600,
        height: 200,
        strokes: vec![Stroke { points }],
    }
}

/// A data directory made by `init`, with one enrolled tablet.
struct Fixture {
    dir: tempfile::TempDir,
    data: PathBuf,
    device: DeviceSigningKey,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    init(&data, &["localhost".to_owned()]).unwrap();
    let device = DeviceSigningKey::generate("T07", &SystemRandom::new()).unwrap();
    Fixture { dir, data, device }
}

impl Fixture {
    fn secret_file(&self, name: &str) -> (PathBuf, Vec<u8>) {
        let secret = random_hex(32).into_bytes();
        let path = self.dir.path().join(name);
        std::fs::write(&path, [secret.as_slice(), b"\n"].concat()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        (path, secret)
    }

    fn open(&self, config: CentralConfig, clock: fn() -> i64) -> Arc<CentralState> {
        let state = CentralState::open(&self.data, config, clock).unwrap();
        let public = self.device.public_key();
        // Enrolled once per data directory; a second state on it finds the device there.
        if state.meta.device("T07").is_err() {
            state
                .meta
                .add_device(
                    &Device {
                        device_id: "T07".into(),
                        public_key: public.bytes,
                        state: DeviceState::Active,
                    },
                    T0,
                )
                .unwrap();
        }
        state
    }
}

/// Seal case number `sequence` of tablet T07 as the tablet does, store it as the server does
/// after a commit, register it in the back-office as accepted and queue it (as the back-office's
/// accept does). Returns (envelope id, case number).
fn accepted_case(
    fixture: &Fixture,
    state: &CentralState,
    sequence: u32,
    notification: Notification,
    now: i64,
) -> (String, String) {
    let number = CaseNumber::new("LV01", "T07", 2026, sequence).unwrap();
    let case_number = number.to_string();
    let envelope_id = format!("env-{sequence:04}-{}", random_hex(4));
    let person = NaturalPerson {
        name: PersonName {
            surname: SURNAME.into(),
            given_name: GIVEN_NAME.into(),
            patronymic: Some("Іванівна".into()),
        },
        rnokpp: Some(RNOKPP.into()),
        birth_date: time::macros::date!(1941 - 03 - 15),
        identity_document: IdentityDocument {
            kind: IdentityDocumentKind::IdCard,
            number: "001234567".into(),
            issued_by: "4610".into(),
            issued_on: None,
        },
        address: Address(format!("м. Львів, {STREET}")),
        phone: Some(Contact(PHONE.into())),
        email: Some(Contact(EMAIL.into())),
    };
    let mut case = Case::new_draft(
        &format!("visit-{sequence}"),
        ServiceCode("00001".into()),
        Applicant::NaturalPerson(person),
        VisitPlace {
            kind: VisitPlaceKind::Home,
            address: Address(format!("м. Львів, {STREET}")),
        },
    );
    case.number = Some(number);
    case.state = CaseState::Sealed;
    case.notification = Some(notification);
    case.delivery = Some(ResultDelivery::AtCentre);
    case.form_answers
        .insert("reason".into(), "зміна місця проживання".into());

    let pages: Vec<Vec<u8>> = (0..3u8)
        .map(|i| {
            let mut page = vec![0xFF, 0xD8, 0xFF, 0xE0, sequence as u8, i];
            page.extend(std::iter::repeat_n(i ^ sequence as u8, 20_000));
            page
        })
        .collect();
    for (requirement, range) in [("declaration", 0..1), ("passport", 1..3)] {
        case.documents.push(CapturedDocument {
            requirement: RequirementId(requirement.into()),
            form: DocumentForm::Original,
            method: CaptureMethod::Scanned,
            pages: pages[range]
                .iter()
                .enumerate()
                .map(|(i, p)| PageRef {
                    blob_id: format!("blob-{requirement}-{i}"),
                    sha256: sha256_hex(p),
                })
                .collect(),
            qr_payloads: Vec::new(),
        });
    }
    let inventory_pdf = format!("%PDF-1.7\n% inventory of case {case_number}\n").into_bytes();
    let inventory_sha256 = sha256_hex(&inventory_pdf);
    let mut signature_parts = Vec::new();
    for (role, signer, seed) in [
        (SignerRole::Applicant, "Шевченко М. І.", 0.0),
        (SignerRole::Administrator, "Коваленко О. П.", 1.5),
    ] {
        let (record, _png) =
            sign(strokes(seed), role, signer, now - 60, &inventory_sha256).unwrap();
        case.signatures.push(SignatureRef {
            role,
            record_id: format!("sig-{seed}"),
            signed_document_sha256: inventory_sha256.clone(),
        });
        signature_parts.push(serde_json::to_vec(&record).unwrap());
    }

    let mut parts = vec![PlainPart::new(
        PartKind::CaseRecord,
        serde_json::to_vec(&case).unwrap(),
    )];
    parts.extend(pages.into_iter().map(|p| PlainPart::new(PartKind::Page, p)));
    parts.extend(
        signature_parts
            .into_iter()
            .map(|s| PlainPart::new(PartKind::Signature, s)),
    );
    parts.push(PlainPart::new(PartKind::Other, inventory_pdf));
    let files = ServerFiles::load(&fixture.data).unwrap();
    let envelope = seal(
        &SealRequest {
            envelope_id: &envelope_id,
            case_number: &case_number,
            created_at: now - 30,
            parts: &parts,
        },
        &files.sealing.public_key(),
        &fixture.device,
        &SystemRandom::new(),
    )
    .unwrap();
    let hashes: Vec<String> = envelope
        .parts
        .iter()
        .map(|part| {
            let upload = random_hex(16);
            state.blobs.append_partial(&upload, 0, part).unwrap();
            state.blobs.finish_partial(&upload).unwrap()
        })
        .collect();
    state
        .meta
        .insert_envelope(
            &StoredEnvelope {
                envelope_id: envelope_id.clone(),
                device_id: "T07".into(),
                case_number: case_number.clone(),
                manifest: envelope.manifest_bytes.clone(),
                signature: envelope.signature.clone(),
                receipt: String::new(),
                receipt_signature: String::new(),
            },
            &hashes,
            now,
        )
        .unwrap();
    state
        .db
        .transaction(|tx| {
            tx.execute(
                "INSERT INTO office_cases (case_number, envelope_id, device_id, state, service_code,
                 administrator, centre, registered_on, received_at, updated_at)
                 VALUES (?1, ?2, 'T07', 'accepted', '00001', 'Коваленко О. П.', 'LV01', '2026-09-21', ?3, ?3)",
                params![case_number, envelope_id, now],
            )?;
            enqueue(tx, &envelope_id, &case_number, now)
        })
        .unwrap();
    (envelope_id, case_number)
}

fn case_row(state: &CentralState, case_number: &str) -> (String, Option<String>) {
    state
        .db
        .transaction(|tx| {
            Ok(tx.query_row(
                "SELECT state, central_number FROM office_cases WHERE case_number = ?1",
                [case_number],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .unwrap()
}

fn statuses(state: &CentralState, case_number: &str) -> Vec<String> {
    state
        .meta
        .status_events("T07", 0, 1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.case_number == case_number)
        .map(|e| e.status.name().to_owned())
        .collect()
}

fn actions(state: &CentralState, case_number: &str) -> Vec<String> {
    state
        .db
        .transaction(|tx| audit_of(tx, case_number))
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

fn audit_chain_intact(state: &CentralState) -> bool {
    state.db.transaction(verify_audit_chain).unwrap().is_none()
}

fn publish_demo_catalog(state: &CentralState) {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/catalog/catalog.toml"),
    )
    .unwrap();
    let catalog = fieldkit_domain::catalog::Catalog::from_toml_str(&text).unwrap();
    state
        .meta
        .publish_catalog(catalog.version, &text, T0)
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// A central system on loopback that fails for a while.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// Answer 500.
    Status500,
    /// Take the case, then answer only after the connector gave up waiting.
    Timeout,
    /// Close the connection without an answer.
    Drop,
}

struct Receiver {
    key: hmac::Key,
    failures: Mutex<VecDeque<Failure>>,
    /// Envelope ids always answered with this status (a broken or refusing receiver).
    refuse: Mutex<HashMap<String, u16>>,
    /// Idempotency key → the central number given to it, and the first body.
    cases: Mutex<BTreeMap<String, (String, serde_json::Value)>>,
    requests: AtomicUsize,
    repeats: AtomicUsize,
    dropped: AtomicUsize,
    bad_signatures: AtomicUsize,
}

impl Receiver {
    fn new(secret: &[u8]) -> Arc<Self> {
        Arc::new(Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
            failures: Mutex::new(VecDeque::new()),
            refuse: Mutex::new(HashMap::new()),
            cases: Mutex::new(BTreeMap::new()),
            requests: AtomicUsize::new(0),
            repeats: AtomicUsize::new(0),
            dropped: AtomicUsize::new(0),
            bad_signatures: AtomicUsize::new(0),
        })
    }

    /// Record a case the first time its key comes (a repeat after that); its central number
    /// either way.
    fn take(&self, key: &str, body: serde_json::Value) -> (bool, String) {
        let mut cases = self.cases.lock().unwrap();
        let next = format!("CS-2026-{:05}", cases.len() + 1);
        match cases.get(key) {
            Some((number, _)) => {
                self.repeats.fetch_add(1, Ordering::SeqCst);
                (false, number.clone())
            }
            None => {
                cases.insert(key.to_owned(), (next.clone(), body));
                (true, next)
            }
        }
    }
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    // One request per connection, so a dropped connection hits exactly one attempt.
    (status, [(header::CONNECTION, "close")], Json(body)).into_response()
}

/// Check the signature as a central system written from the docs would: ring's HMAC over
/// `timestamp "." body`, the timestamp near real time.
fn signature_holds(key: &hmac::Key, headers: &HeaderMap, body: &[u8]) -> bool {
    let (Some(timestamp), Some(signature)) = (
        headers
            .get("x-fieldkit-timestamp")
            .and_then(|v| v.to_str().ok()),
        headers
            .get("x-fieldkit-signature")
            .and_then(|v| v.to_str().ok()),
    ) else {
        return false;
    };
    let fresh = timestamp.parse::<i64>().is_ok_and(|t| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        (t - now).abs() <= 300
    });
    let tag = signature
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok());
    let mut message = timestamp.as_bytes().to_vec();
    message.push(b'.');
    message.extend_from_slice(body);
    fresh && tag.is_some_and(|tag| hmac::verify(key, &message, &tag).is_ok())
}

async fn receive_case(
    State(receiver): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    receiver.requests.fetch_add(1, Ordering::SeqCst);
    if !signature_holds(&receiver.key, &headers, &body) {
        receiver.bad_signatures.fetch_add(1, Ordering::SeqCst);
        return answer(
            StatusCode::UNAUTHORIZED,
            serde_json::json!({"code": "bad_signature"}),
        );
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let document: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(document["envelope_id"], key.as_str());
    let refusal = receiver.refuse.lock().unwrap().get(&key).copied();
    if let Some(status) = refusal {
        return answer(
            StatusCode::from_u16(status).unwrap(),
            serde_json::json!({"code": "refused", "message": "the receiver will not take this case"}),
        );
    }
    let failure = receiver.failures.lock().unwrap().pop_front();
    match failure {
        Some(Failure::Status500) => {
            return answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                serde_json::json!({"code": "down"}),
            );
        }
        Some(Failure::Timeout) => {
            // The case is taken, but the answer comes after the connector stopped waiting.
            receiver.take(&key, document);
            tokio::time::sleep(Duration::from_millis(2500)).await;
            return answer(StatusCode::OK, serde_json::json!({}));
        }
        Some(Failure::Drop) | None => {}
    }
    let (new, number) = receiver.take(&key, document);
    if new {
        answer(
            StatusCode::CREATED,
            serde_json::json!({"central_number": number}),
        )
    } else {
        answer(
            StatusCode::OK,
            serde_json::json!({"central_number": number}),
        )
    }
}

/// Serve `app` on loopback; a connection accepted while a `Drop` failure is next is read from
/// and closed without an answer.
async fn serve_receiver(app: Router, receiver: Option<Arc<Receiver>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let drop_now = receiver.as_ref().is_some_and(|r| {
                let mut failures = r.failures.lock().unwrap();
                let drop_now = failures.front() == Some(&Failure::Drop);
                if drop_now {
                    failures.pop_front();
                    r.dropped.fetch_add(1, Ordering::SeqCst);
                }
                drop_now
            });
            if drop_now {
                use tokio::io::AsyncReadExt;
                let mut buffer = [0u8; 1024];
                let _ = stream.read(&mut buffer).await;
                drop(stream);
                continue;
            }
            let app = app.clone();
            tokio::spawn(async move {
                use tower::ServiceExt;
                let service = hyper::service::service_fn(
                    move |request: axum::http::Request<hyper::body::Incoming>| {
                        app.clone().oneshot(request.map(axum::body::Body::new))
                    },
                );
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
            });
        }
    });
    format!("http://{address}")
}

fn http_config(url: &str, key_file: &Path) -> CentralConfig {
    CentralConfig {
        connector: ConnectorKind::Http,
        url: Some(url.to_owned()),
        hmac_key_file: Some(key_file.to_owned()),
        timeout_seconds: 1,
        max_attempts: 4,
        backoff_base_seconds: 2,
        backoff_max_seconds: 16,
        ..CentralConfig::default()
    }
}

static HTTP_CLOCK: AtomicI64 = AtomicI64::new(T0);
fn http_clock() -> i64 {
    HTTP_CLOCK.load(Ordering::SeqCst)
}

/// Run passes, moving the clock past the longest back-off after each, until nothing is due.
async fn drain(state: &Arc<CentralState>, clock: &AtomicI64) -> usize {
    let mut passes = 0;
    loop {
        let counts = outbox_counts(&state.db).unwrap();
        if counts.waiting + counts.retrying == 0 {
            return passes;
        }
        assert!(passes < 40, "the outbox does not empty: {counts:?}");
        run_once(state).await.unwrap();
        passes += 1;
        clock.fetch_add(state.config.backoff_max_seconds + 1, Ordering::SeqCst);
    }
}

#[test]
fn the_documented_config_block_parses_and_is_valid() {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ServerToml {
        central: CentralConfig,
    }
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/central.md"))
            .unwrap();
    let block = doc
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap();
    let parsed: ServerToml = toml::from_str(block).unwrap();
    let central = parsed.central;
    assert_eq!(central.connector, ConnectorKind::Http);
    assert_eq!((central.timeout_seconds, central.max_attempts), (30, 12));
    assert!(central.notify.is_some());
    central.validate().unwrap();
    // Defaults when the table is empty, and unknown keys refused.
    let empty: ServerToml = toml::from_str("[central]\n").unwrap();
    assert_eq!(empty.central.connector, ConnectorKind::None);
    assert_eq!(empty.central.backoff_max_seconds, 3600);
    assert!(toml::from_str::<ServerToml>("[central]\nhmac_key = \"inline secret\"\n").is_err());
    let plain_http = CentralConfig {
        connector: ConnectorKind::Http,
        url: Some("http://cases.example.lviv.ua/v1".into()),
        hmac_key_file: Some("/etc/fieldkit/central-hmac.key".into()),
        ..CentralConfig::default()
    };
    assert!(plain_http.validate().is_err());
}

#[test]
fn backoff_doubles_from_the_base_up_to_the_maximum() {
    assert_eq!(backoff_cap(0, 30, 3600), 30);
    assert_eq!(backoff_cap(1, 30, 3600), 60);
    assert_eq!(backoff_cap(5, 30, 3600), 960);
    assert_eq!(backoff_cap(7, 30, 3600), 3600);
    assert_eq!(backoff_cap(500, 30, 3600), 3600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_reaches_a_flaky_central_system_once_and_refusals_become_dead_letters() {
    let fixture = fixture();
    let (key_file, secret) = fixture.secret_file("central-hmac.key");
    let receiver = Receiver::new(&secret);
    let app = Router::new()
        .route("/cases", post(receive_case))
        .with_state(receiver.clone());
    let url = serve_receiver(app, Some(receiver.clone())).await;
    let state = fixture.open(http_config(&format!("{url}/cases"), &key_file), http_clock);
    publish_demo_catalog(&state);

    let mut cases = Vec::new();
    for sequence in 1..=4 {
        cases.push(accepted_case(
            &fixture,
            &state,
            sequence,
            Notification::PhoneCall {
                phone: Contact(PHONE.into()),
            },
            http_clock(),
        ));
    }
    // One case the central system keeps failing on.
    let broken = accepted_case(
        &fixture,
        &state,
        5,
        Notification::PhoneCall {
            phone: Contact(PHONE.into()),
        },
        http_clock(),
    );
    receiver
        .refuse
        .lock()
        .unwrap()
        .insert(broken.0.clone(), 500);
    receiver.failures.lock().unwrap().extend([
        Failure::Status500,
        Failure::Timeout,
        Failure::Drop,
        Failure::Status500,
        Failure::Timeout,
    ]);

    let passes = drain(&state, &HTTP_CLOCK).await;
    println!(
        "{passes} passes, {} requests, {} repeats answered idempotently, {} connection dropped",
        receiver.requests.load(Ordering::SeqCst),
        receiver.repeats.load(Ordering::SeqCst),
        receiver.dropped.load(Ordering::SeqCst)
    );
    assert!(receiver.failures.lock().unwrap().is_empty());
    assert_eq!(receiver.dropped.load(Ordering::SeqCst), 1);
    assert_eq!(receiver.bad_signatures.load(Ordering::SeqCst), 0);
    // The cases taken before a timeout came again and were answered as repeats.
    assert!(receiver.repeats.load(Ordering::SeqCst) >= 2);

    // Every case arrived exactly once by its key, whole.
    let received = receiver.cases.lock().unwrap().clone();
    assert_eq!(
        received.keys().cloned().collect::<Vec<_>>(),
        cases.iter().map(|(e, _)| e.clone()).collect::<Vec<_>>()
    );
    for (envelope_id, case_number) in &cases {
        let (number, document) = &received[envelope_id];
        assert_eq!(document["format"], "fieldkit.central.case/1");
        assert_eq!(document["case_number"], case_number.as_str());
        assert_eq!(document["device_id"], "T07");
        assert_eq!(document["administrator"], "Коваленко О. П.");
        assert_eq!(document["service_code"], "00001");
        assert_eq!(document["applicant"]["name"]["surname"], SURNAME);
        assert_eq!(document["notification"]["channel"], "phone_call");
        assert_eq!(document["delivery"]["method"], "at_centre");
        assert_eq!(document["form_answers"]["reason"], "зміна місця проживання");
        let inventory = document["inventory"].as_array().unwrap();
        assert_eq!(inventory.len(), 2);
        assert_eq!(
            inventory[1]["title"],
            "Паспорт громадянина України або інший документ, що посвідчує особу"
        );
        assert_eq!(inventory[1]["page_count"], 2);
        assert_eq!(inventory[1]["form"], "original");
        let signatures = document["signatures"].as_array().unwrap();
        assert_eq!(signatures.len(), 2);
        assert!(signatures.iter().all(|s| s["valid"] == true));
        let files = document["files"].as_array().unwrap();
        let kinds: Vec<&str> = files.iter().map(|f| f["kind"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "page",
                "page",
                "page",
                "signature",
                "signature",
                "inventory"
            ]
        );
        for file in files {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(file["content_base64"].as_str().unwrap())
                .unwrap();
            assert_eq!(sha256_hex(&bytes), file["sha256"].as_str().unwrap());
            assert_eq!(bytes.len() as u64, file["size"].as_u64().unwrap());
        }

        // The register, the tablets' feed and the audit trail say forwarded, once.
        assert_eq!(
            case_row(&state, case_number),
            ("forwarded".to_owned(), Some(number.clone()))
        );
        assert_eq!(statuses(&state, case_number), ["received", "forwarded"]);
        assert_eq!(actions(&state, case_number), ["case.forwarded"]);
        let entry = outbox_entry(&state.db, envelope_id).unwrap().unwrap();
        assert!(entry.delivered_at.is_some() && entry.dead_at.is_none());
    }

    // The broken case was tried max_attempts times and parked.
    let dead = dead_letters(&state.db).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].envelope_id, broken.0);
    assert_eq!(dead[0].attempts, 4);
    assert!(dead[0].last_error.as_deref().unwrap().contains("HTTP 500"));
    assert_eq!(case_row(&state, &broken.1), ("accepted".to_owned(), None));
    assert_eq!(statuses(&state, &broken.1), ["received"]);
    assert_eq!(actions(&state, &broken.1), ["case.dead_letter"]);
    let counts = outbox_counts(&state.db).unwrap();
    assert_eq!((counts.delivered, counts.dead), (4, 1));

    // A case the receiver refuses (400) is a dead letter at the first answer.
    let refused = accepted_case(
        &fixture,
        &state,
        6,
        Notification::PhoneCall {
            phone: Contact(PHONE.into()),
        },
        http_clock(),
    );
    receiver
        .refuse
        .lock()
        .unwrap()
        .insert(refused.0.clone(), 400);
    let report = run_once(&state).await.unwrap();
    assert_eq!((report.delivered, report.retried, report.dead), (0, 0, 1));
    let entry = outbox_entry(&state.db, &refused.0).unwrap().unwrap();
    assert_eq!(entry.attempts, 1);
    assert!(entry.dead_at.is_some());
    assert!(entry.last_error.unwrap().contains("HTTP 400 refused"));

    // Fixed at the central system, the broken case is sent again from the dead letters.
    receiver.refuse.lock().unwrap().remove(&broken.0);
    assert!(matches!(
        retry_dead_letter(&state.db, &cases[0].0, "olena", http_clock()),
        Err(ServerError::NotFound)
    ));
    retry_dead_letter(&state.db, &broken.0, "olena", http_clock()).unwrap();
    let report = run_once(&state).await.unwrap();
    assert_eq!(report.delivered, 1);
    assert!(receiver.cases.lock().unwrap().contains_key(&broken.0));
    assert_eq!(case_row(&state, &broken.1).0, "forwarded");
    assert_eq!(
        actions(&state, &broken.1),
        [
            "case.dead_letter",
            "case.dead_letter_retried",
            "case.forwarded"
        ]
    );
    assert_eq!(dead_letters(&state.db).unwrap().len(), 1);
    assert_eq!(receiver.bad_signatures.load(Ordering::SeqCst), 0);
    assert!(audit_chain_intact(&state));
}

// ---------------------------------------------------------------------------------------------
// The drop folder.

static DIR_CLOCK: AtomicI64 = AtomicI64::new(T0);
fn dir_clock() -> i64 {
    DIR_CLOCK.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_folder_connector_drops_a_whole_case_once() {
    let fixture = fixture();
    let drop_dir = fixture.dir.path().join("drop");
    std::fs::create_dir(&drop_dir).unwrap();
    let state = fixture.open(
        CentralConfig {
            connector: ConnectorKind::Dir,
            drop_dir: Some(drop_dir.clone()),
            ..CentralConfig::default()
        },
        dir_clock,
    );
    let (envelope_id, case_number) = accepted_case(
        &fixture,
        &state,
        21,
        Notification::Email {
            address: Contact(EMAIL.into()),
        },
        dir_clock(),
    );
    // What a crash in the middle of an earlier write left behind.
    let leftover = drop_dir.join(format!(".tmp-{envelope_id}"));
    std::fs::create_dir(&leftover).unwrap();
    std::fs::write(leftover.join("page-001.jpg"), b"half a page").unwrap();

    let report = run_once(&state).await.unwrap();
    assert_eq!(report.delivered, 1);
    let names: Vec<String> = std::fs::read_dir(&drop_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, std::slice::from_ref(&envelope_id));
    let folder = drop_dir.join(&envelope_id);
    let document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("case.json")).unwrap()).unwrap();
    assert_eq!(document["envelope_id"], envelope_id.as_str());
    assert_eq!(document["case_number"], case_number.as_str());
    let files = document["files"].as_array().unwrap();
    assert_eq!(files.len(), 6);
    let mut on_disk: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = files
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .chain(["case.json".to_owned()])
        .collect();
    listed.sort();
    assert_eq!(on_disk, listed);
    for file in files {
        assert!(file.get("content_base64").is_none());
        let bytes = std::fs::read(folder.join(file["name"].as_str().unwrap())).unwrap();
        assert_eq!(sha256_hex(&bytes), file["sha256"].as_str().unwrap());
        let mode = std::fs::metadata(folder.join(file["name"].as_str().unwrap()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o007, 0, "no access for others");
    }
    assert_eq!(case_row(&state, &case_number).0, "forwarded");

    // Delivered again (a crash before the outbox recorded it): the folder stays as it was.
    std::fs::write(folder.join("imported-by-central"), b"").unwrap();
    state
        .db
        .transaction(|tx| {
            tx.execute(
                "UPDATE central_outbox SET delivered_at = NULL WHERE envelope_id = ?1",
                [&envelope_id],
            )?;
            Ok(())
        })
        .unwrap();
    let report = run_once(&state).await.unwrap();
    assert_eq!(report.delivered, 1);
    assert!(folder.join("imported-by-central").exists());
    assert_eq!(std::fs::read_dir(&drop_dir).unwrap().count(), 1);
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 8);
}

static WORKER_CLOCK: AtomicI64 = AtomicI64::new(T0);
fn worker_clock() -> i64 {
    WORKER_CLOCK.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spawned_worker_delivers_on_its_own_and_none_spawns_nothing() {
    let fixture = fixture();
    let idle = fixture.open(CentralConfig::default(), worker_clock);
    assert!(fieldkit_sync_server::central::outbox::spawn(idle).is_none());

    let drop_dir = fixture.dir.path().join("drop");
    std::fs::create_dir(&drop_dir).unwrap();
    let state = fixture.open(
        CentralConfig {
            connector: ConnectorKind::Dir,
            drop_dir: Some(drop_dir.clone()),
            ..CentralConfig::default()
        },
        worker_clock,
    );
    let (envelope_id, case_number) = accepted_case(
        &fixture,
        &state,
        25,
        Notification::PhoneCall {
            phone: Contact(PHONE.into()),
        },
        worker_clock(),
    );
    let worker = fieldkit_sync_server::central::outbox::spawn(state.clone()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while outbox_counts(&state.db).unwrap().delivered < 1 {
        assert!(Instant::now() < deadline, "the worker delivered nothing");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    worker.abort();
    assert!(drop_dir.join(&envelope_id).join("case.json").exists());
    assert_eq!(case_row(&state, &case_number).0, "forwarded");
}

// ---------------------------------------------------------------------------------------------
// Events from the central system.

fn signed(key: &hmac::Key, timestamp: i64, body: &[u8]) -> String {
    let mut message = timestamp.to_string().into_bytes();
    message.push(b'.');
    message.extend_from_slice(body);
    format!("sha256={}", hex::encode(hmac::sign(key, &message).as_ref()))
}

struct EventClient {
    http: reqwest::Client,
    url: String,
}

impl EventClient {
    /// The events endpoint on plain HTTP, with the notification worker beside it (as the
    /// server runs them).
    async fn start(state: Arc<CentralState>) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        fieldkit_sync_server::central::notify::spawn(state.clone()).unwrap();
        tokio::spawn(async move {
            axum::serve(listener, events::router(state)).await.unwrap();
        });
        Self {
            http: reqwest::Client::new(),
            url: format!("http://{address}/central/v1/events"),
        }
    }

    /// The events endpoint of a whole server, over its TLS, trusting its CA as the central
    /// system does.
    fn to_server(server: &LocalServer) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls::pki_types::CertificateDer::from(
                server.server_ca.clone(),
            ))
            .unwrap();
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Self {
            http: reqwest::Client::builder()
                .tls_backend_preconfigured(tls)
                .build()
                .unwrap(),
            url: format!("{}/central/v1/events", server.url),
        }
    }

    async fn post(
        &self,
        key: &hmac::Key,
        timestamp: i64,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        self.post_raw(key, timestamp, body.to_string().into_bytes())
            .await
    }

    async fn post_raw(
        &self,
        key: &hmac::Key,
        timestamp: i64,
        body: Vec<u8>,
    ) -> (u16, serde_json::Value) {
        let response = self
            .http
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("X-Fieldkit-Timestamp", timestamp.to_string())
            .header("X-Fieldkit-Signature", signed(key, timestamp, &body))
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or_default())
    }
}

/// Everything a refused event must leave alone.
fn snapshot(state: &CentralState, case_number: &str) -> (String, Option<String>, usize, i64, i64) {
    let (case_state, number) = case_row(state, case_number);
    let (events, audit): (i64, i64) = state
        .db
        .transaction(|tx| {
            Ok(tx.query_row(
                "SELECT (SELECT COUNT(*) FROM central_events), (SELECT COUNT(*) FROM server_audit)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .unwrap();
    (
        case_state,
        number,
        statuses(state, case_number).len(),
        events,
        audit,
    )
}

async fn wait_for_action(state: &CentralState, case_number: &str, action: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !actions(state, case_number).iter().any(|a| a == action) {
        assert!(
            Instant::now() < deadline,
            "no {action} for {case_number}: {:?}",
            actions(state, case_number)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

static EVENTS_CLOCK: AtomicI64 = AtomicI64::new(T0 + 86_400);
fn events_clock() -> i64 {
    EVENTS_CLOCK.load(Ordering::SeqCst)
}

/// The connector's state with an events key, and that key as the central system holds it.
fn with_events_key(fixture: &Fixture, clock: fn() -> i64) -> (Arc<CentralState>, hmac::Key) {
    let (key_file, secret) = fixture.secret_file("events-hmac.key");
    let state = fixture.open(
        CentralConfig {
            events_hmac_key_file: Some(key_file),
            ..CentralConfig::default()
        },
        clock,
    );
    (state, hmac::Key::new(hmac::HMAC_SHA256, &secret))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_events_move_the_case_and_everything_else_is_refused_without_a_trace() {
    let fixture = fixture();
    let (state, key) = with_events_key(&fixture, events_clock);
    let (envelope_id, case_number) = accepted_case(
        &fixture,
        &state,
        31,
        Notification::PhoneCall {
            phone: Contact(PHONE.into()),
        },
        events_clock() - 3600,
    );
    let client = EventClient::start(state.clone()).await;
    let now = events_clock();

    // Registered, by envelope id, with the central number.
    let registered = serde_json::json!({
        "event_id": "ev-1", "envelope_id": envelope_id, "type": "registered",
        "central_number": "CS-2026-00077", "at": "2026-09-22T09:00:00+03:00"
    });
    let (status, body) = client.post(&key, now, &registered).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "registered_centrally");
    assert_eq!(
        case_row(&state, &case_number),
        ("registered_centrally".into(), Some("CS-2026-00077".into()))
    );
    // A decision, by case number: the tablets' feed and the audit trail follow.
    let decision = serde_json::json!({
        "event_id": "ev-2", "case_number": case_number, "type": "decision",
        "decision": "issued", "at": "2026-09-25T14:30:00+03:00"
    });
    let (status, body) = client.post(&key, now, &decision).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        case_row(&state, &case_number),
        ("issued".into(), Some("CS-2026-00077".into()))
    );
    assert_eq!(
        statuses(&state, &case_number),
        ["received", "registered_centrally", "issued"]
    );
    // The applicant asked for a phone call: staff are told to call, twice.
    wait_for_action(&state, &case_number, "notify.call_needed").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while actions(&state, &case_number)
        .iter()
        .filter(|a| *a == "notify.call_needed")
        .count()
        < 2
    {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        actions(&state, &case_number)
            .into_iter()
            .filter(|a| a.starts_with("case."))
            .collect::<Vec<_>>(),
        ["case.registered_centrally", "case.issued"]
    );

    let before = snapshot(&state, &case_number);
    let result_ready = serde_json::json!({
        "event_id": "ev-3", "case_number": case_number, "type": "result_ready",
        "at": "2026-09-26T10:00:00+03:00"
    });
    let intruder = hmac::Key::new(hmac::HMAC_SHA256, b"not the shared secret, but long enough");
    let refusals = [
        (
            client.post(&intruder, now, &result_ready).await,
            401,
            "bad_signature",
        ),
        (
            client.post(&key, now - 301, &result_ready).await,
            401,
            "stale_timestamp",
        ),
        (
            client.post(&key, now + 400, &result_ready).await,
            401,
            "stale_timestamp",
        ),
        (client.post(&key, now, &decision).await, 409, "replayed"),
        (
            client
                .post_raw(&key, now, b"{\"event_id\": \"ev-4\",".to_vec())
                .await,
            400,
            "malformed_event",
        ),
        (
            client
                .post(
                    &key,
                    now,
                    &serde_json::json!({"event_id": "ev-5", "case_number": case_number,
                        "type": "archived", "at": "2026-09-26T10:00:00+03:00"}),
                )
                .await,
            400,
            "malformed_event",
        ),
        (
            client
                .post(
                    &key,
                    now,
                    &serde_json::json!({"event_id": "ev-6", "case_number": case_number,
                        "type": "decision", "at": "2026-09-26T10:00:00+03:00"}),
                )
                .await,
            422,
            "invalid_event",
        ),
        (
            client
                .post(
                    &key,
                    now,
                    &serde_json::json!({"event_id": "ev-7", "case_number": "LV01/T07/2026/999999-0",
                        "type": "result_ready", "at": "2026-09-26T10:00:00+03:00"}),
                )
                .await,
            422,
            "unknown_case",
        ),
        (
            client
                .post(
                    &key,
                    now,
                    &serde_json::json!({"event_id": "ev-8", "case_number": case_number,
                        "type": "result_ready", "at": "yesterday"}),
                )
                .await,
            422,
            "invalid_event",
        ),
        (
            client.post_raw(&key, now, vec![b' '; 70 * 1024]).await,
            413,
            "too_large",
        ),
    ];
    for ((status, body), expected_status, expected_code) in refusals {
        assert_eq!(status, expected_status, "{body}");
        assert_eq!(body["code"], expected_code, "{body}");
        assert!(!body["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(snapshot(&state, &case_number), before);

    // The honest event still goes through afterwards.
    let (status, _) = client.post(&key, now, &result_ready).await;
    assert_eq!(status, 200);
    assert_eq!(case_row(&state, &case_number).0, "result_ready");
    assert!(audit_chain_intact(&state));
}

// ---------------------------------------------------------------------------------------------
// Telling the applicant: a real SMTP server and an SMS gateway.

struct Smtp(Child);
impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn order_clock() -> i64 {
    T0 + 86_400
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_and_repeated_events_are_kept_but_never_move_a_case_back_or_tell_twice() {
    let fixture = fixture();
    let (state, key) = with_events_key(&fixture, order_clock);
    let (_, case_number) = accepted_case(
        &fixture,
        &state,
        41,
        Notification::PhoneCall {
            phone: Contact(PHONE.into()),
        },
        order_clock() - 3600,
    );
    let client = EventClient::start(state.clone()).await;
    // A refusal without reasons is a step the workflow does not take: refused with the
    // workflow's sentence, and the case stays where it is.
    let bare_refusal = serde_json::json!({
        "event_id": "ev-o0", "case_number": case_number, "type": "decision",
        "decision": "refused", "at": "2026-09-25T14:30:00+03:00"
    });
    let (status, body) = client.post(&key, order_clock(), &bare_refusal).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "transition_refused", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("Потрібно вказати причину"),
        "{body}"
    );
    assert_eq!(case_row(&state, &case_number).0, "accepted");
    // (event, type, decision, applied, the case's state after it)
    let steps = [
        ("ev-o1", "decision", Some("issued"), true, "issued"),
        // The central system retries an old "registered": too late, kept for the record.
        ("ev-o2", "registered", None, false, "issued"),
        // The same decision again under a new id: no news.
        ("ev-o3", "decision", Some("issued"), false, "issued"),
        // A corrected decision is news (a refusal names its reasons).
        ("ev-o4", "decision", Some("refused"), true, "refused"),
        ("ev-o5", "result_ready", None, true, "result_ready"),
        (
            "ev-o6",
            "forwarded_to_provider",
            None,
            false,
            "result_ready",
        ),
    ];
    for (event_id, kind, decision, applied, after) in steps {
        let mut event = serde_json::json!({
            "event_id": event_id, "case_number": case_number, "type": kind,
            "central_number": "CS-2026-00141", "at": "2026-09-25T14:30:00+03:00"
        });
        if let Some(decision) = decision {
            event["decision"] = decision.into();
        }
        if decision == Some("refused") {
            event["reasons"] = serde_json::json!(["Не подано згоду власника житла"]);
        }
        let (status, body) = client.post(&key, order_clock(), &event).await;
        assert_eq!(status, 200, "{event_id}: {body}");
        assert_eq!(body["applied"], applied, "{event_id}: {body}");
        assert_eq!(case_row(&state, &case_number).0, after, "{event_id}");
    }
    // The tablets' feed and the applicant's notifications only carry the news, in order.
    assert_eq!(
        statuses(&state, &case_number),
        ["received", "issued", "refused", "result_ready"]
    );
    let queued: Vec<_> = notifications_of(&state.db, &case_number)
        .unwrap()
        .into_iter()
        .map(|n| (n.event_id, n.status))
        .collect();
    assert_eq!(
        queued,
        [
            ("ev-o1".to_owned(), "issued".to_owned()),
            ("ev-o4".to_owned(), "refused".to_owned()),
            ("ev-o5".to_owned(), "result_ready".to_owned()),
        ]
    );
    let superseded = actions(&state, &case_number)
        .into_iter()
        .filter(|a| a == "case.event_superseded")
        .count();
    assert_eq!(superseded, 3);
    // A replay of a kept event is still refused as a replay.
    let replay = serde_json::json!({
        "event_id": "ev-o2", "case_number": case_number, "type": "registered",
        "at": "2026-09-25T14:30:00+03:00"
    });
    let (status, _) = client.post(&key, order_clock(), &replay).await;
    assert_eq!(status, 409);
    assert!(audit_chain_intact(&state));
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_smtp(port: u16, maildir: &Path) -> Smtp {
    let child = Command::new("python3")
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-c",
            "aiosmtpd.handlers.Mailbox",
        ])
        .arg(maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 with aiosmtpd (tests/run.sh installs it)");
    let server = Smtp(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "aiosmtpd did not start (pip install aiosmtpd)"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

#[derive(Default)]
struct Gateway {
    messages: Mutex<Vec<(Option<String>, serde_json::Value)>>,
}

async fn receive_sms(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    Json(body): Json<serde_json::Value>,
) -> StatusCode {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    gateway.messages.lock().unwrap().push((authorization, body));
    StatusCode::ACCEPTED
}

static NOTIFY_CLOCK: AtomicI64 = AtomicI64::new(T0 + 2 * 86_400);
fn notify_clock() -> i64 {
    NOTIFY_CLOCK.load(Ordering::SeqCst)
}

fn assert_no_personal_data(text: &str) {
    for personal in [
        SURNAME,
        GIVEN_NAME,
        "Іванівна",
        STREET,
        "Зелена",
        RNOKPP,
        "1941",
        "00001",
    ] {
        assert!(
            !text.contains(personal),
            "{personal:?} leaked into {text:?}"
        );
    }
}

/// The mails aiosmtpd stored in `maildir`, read with Python's own parser: how many, and the
/// first one's recipient, subject (decoded and raw), content type, charset and body.
fn read_mail(maildir: &Path) -> serde_json::Value {
    let script = r#"
import email, email.policy, json, mailbox, sys
box = mailbox.Maildir(sys.argv[1], create=False)
raw = [m.as_bytes() for m in box]
m = email.message_from_bytes(raw[0], policy=email.policy.default)
print(json.dumps({"count": len(raw), "to": str(m["to"]), "subject": str(m["subject"]),
    "type": m.get_content_type(), "charset": m.get_content_charset(), "body": m.get_content(),
    "raw_subject": [l for l in raw[0].decode("ascii", "replace").splitlines()
                    if l.lower().startswith("subject:")][0]}, ensure_ascii=False))
"#;
    let output = Command::new("python3")
        .args(["-c", script])
        .arg(maildir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_applicant_hears_the_case_number_and_status_by_email_or_sms_and_nothing_else() {
    let fixture = fixture();
    let (key_file, secret) = fixture.secret_file("events-hmac.key");
    let (token_file, token) = fixture.secret_file("sms-token");
    let key = hmac::Key::new(hmac::HMAC_SHA256, &secret);
    let port = free_port();
    let maildir = fixture.dir.path().join("maildir");
    let smtp = start_smtp(port, &maildir);
    let gateway = Arc::new(Gateway::default());
    let gateway_url = serve_receiver(
        Router::new()
            .route("/sms", post(receive_sms))
            .with_state(gateway.clone()),
        None,
    )
    .await;
    let notify: NotifyConfig = toml::from_str(&format!(
        r#"
        smtp_host = "127.0.0.1"
        smtp_port = {port}
        smtp_security = "none"
        from = "ЦНАП м. Львова <cnap@example.lviv.ua>"
        sms_gateway_url = "{gateway_url}/sms"
        sms_gateway_token_file = "{}"
        "#,
        token_file.display()
    ))
    .unwrap();
    let state = fixture.open(
        CentralConfig {
            events_hmac_key_file: Some(key_file),
            notify: Some(notify),
            ..CentralConfig::default()
        },
        notify_clock,
    );
    let by_mail = accepted_case(
        &fixture,
        &state,
        41,
        Notification::Email {
            address: Contact(EMAIL.into()),
        },
        notify_clock() - 3600,
    );
    let by_sms = accepted_case(
        &fixture,
        &state,
        42,
        Notification::Sms {
            phone: Contact(PHONE.into()),
        },
        notify_clock() - 3600,
    );
    let client = EventClient::start(state.clone()).await;
    let now = notify_clock();

    let decision = serde_json::json!({
        "event_id": "mail-1", "case_number": by_mail.1, "type": "decision",
        "decision": "issued", "at": "2026-09-25T14:30:00+03:00"
    });
    assert_eq!(client.post(&key, now, &decision).await.0, 200);
    let ready = serde_json::json!({
        "event_id": "sms-1", "envelope_id": by_sms.0, "type": "result_ready",
        "at": "2026-09-26T10:00:00+03:00"
    });
    assert_eq!(client.post(&key, now, &ready).await.0, 200);
    wait_for_action(&state, &by_mail.1, "notify.email_sent").await;
    wait_for_action(&state, &by_sms.1, "notify.sms_sent").await;

    // The e-mail, read back with Python's own parser.
    let mail = read_mail(&maildir);
    assert_eq!(mail["count"], 1);
    assert_eq!(mail["to"], EMAIL);
    assert_eq!(mail["type"], "text/plain");
    assert_eq!(mail["charset"], "utf-8");
    assert!(
        mail["raw_subject"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("=?utf-8?")
    );
    let subject = mail["subject"].as_str().unwrap();
    let body = mail["body"].as_str().unwrap();
    for text in [subject, body] {
        assert!(text.contains(&by_mail.1), "{text}");
        assert!(text.contains("Рішення прийнято: видано"), "{text}");
        assert!(text.contains("Decision made: issued"), "{text}");
        assert_no_personal_data(text);
    }
    assert!(body.find("Рішення").unwrap() < body.find("Decision").unwrap());
    let raw = std::fs::read_dir(maildir.join("new"))
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .next()
        .unwrap();
    let raw = String::from_utf8_lossy(&raw);
    for personal in [SURNAME, GIVEN_NAME, "Зелена", RNOKPP] {
        assert!(!raw.contains(personal), "{personal:?} in the raw message");
    }

    // The SMS, as the gateway got it.
    let messages = gateway.messages.lock().unwrap().clone();
    assert_eq!(messages.len(), 1);
    let (authorization, sms) = &messages[0];
    assert_eq!(
        authorization.as_deref(),
        Some(format!("Bearer {}", String::from_utf8(token).unwrap()).as_str())
    );
    assert_eq!(sms["to"], PHONE);
    let text = sms["text"].as_str().unwrap();
    assert!(
        text.contains(&by_sms.1) && text.contains("Результат готовий"),
        "{text}"
    );
    assert_no_personal_data(text);

    // A mail server that is gone fails the notification, not the event.
    drop(smtp);
    let delivered = serde_json::json!({
        "event_id": "mail-2", "case_number": by_mail.1, "type": "delivered",
        "at": "2026-09-27T10:00:00+03:00"
    });
    assert_eq!(client.post(&key, now, &delivered).await.0, 200);
    assert_eq!(case_row(&state, &by_mail.1).0, "delivered");
    wait_for_action(&state, &by_mail.1, "notify.email_failed").await;
    assert!(audit_chain_intact(&state));
}

// ---------------------------------------------------------------------------------------------
// Notifications are queued with the event: a mail server that is down, or a server that stops,
// delays the applicant's mail but does not lose it.

/// The wall clock: the tests below wait out real back-offs (of a second at most).
fn wall_clock() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Mail through a plain SMTP server on `port` (down until a test starts it), events signed with
/// `key_file`, attempts a second apart at most and enough of them to outlast aiosmtpd's start.
fn retrying_mail_config(port: u16, key_file: PathBuf) -> CentralConfig {
    let notify: NotifyConfig = toml::from_str(&format!(
        r#"
        smtp_host = "127.0.0.1"
        smtp_port = {port}
        smtp_security = "none"
        from = "ЦНАП м. Львова <cnap@example.lviv.ua>"
        "#
    ))
    .unwrap();
    CentralConfig {
        events_hmac_key_file: Some(key_file),
        max_attempts: 1000,
        backoff_base_seconds: 1,
        backoff_max_seconds: 1,
        notify: Some(notify),
        ..CentralConfig::default()
    }
}

fn by_email() -> Notification {
    Notification::Email {
        address: Contact(EMAIL.into()),
    }
}

/// The queue keeps what it needs to send, never whom to: no contact, no name, no address.
fn assert_queue_holds_no_contact(state: &CentralState) {
    let rows: Vec<String> = state
        .db
        .transaction(|tx| {
            let mut statement = tx.prepare(
                "SELECT event_id || ' ' || case_number || ' ' || status || ' ' || state || ' '
                        || COALESCE(last_error, '') FROM notify_outbox",
            )?;
            let rows = statement
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(rows)
        })
        .unwrap();
    assert!(!rows.is_empty());
    for row in rows {
        assert!(!row.contains(EMAIL) && !row.contains(PHONE), "{row}");
        assert_no_personal_data(&row);
    }
}

/// The one mail in `maildir` went to the applicant and says the case number and the status
/// (Ukrainian, English), nothing else.
fn assert_one_mail(maildir: &Path, case_number: &str, (uk, en): (&str, &str)) {
    let mail = read_mail(maildir);
    assert_eq!(mail["count"], 1, "{mail}");
    assert_eq!(mail["to"], EMAIL);
    for text in [
        mail["subject"].as_str().unwrap(),
        mail["body"].as_str().unwrap(),
    ] {
        assert!(text.contains(case_number), "{text}");
        assert!(text.contains(uk) && text.contains(en), "{text}");
        assert_no_personal_data(text);
    }
}

/// The case's only notification is sent, after at least one failed attempt, and the audit trail
/// shows the failures first and one sending last.
fn assert_sent_once_after_failing(state: &CentralState, case_number: &str) {
    let queued = notifications_of(&state.db, case_number).unwrap();
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0].state, NotificationState::Sent);
    assert!(queued[0].attempts >= 2, "{queued:?}");
    assert_eq!(queued[0].last_error, None);
    let notices: Vec<String> = actions(state, case_number)
        .into_iter()
        .filter(|a| a.starts_with("notify."))
        .collect();
    assert_eq!(
        notices.last().map(String::as_str),
        Some("notify.email_sent")
    );
    let failed = &notices[..notices.len() - 1];
    assert!(!failed.is_empty(), "{notices:?}");
    assert!(
        failed.iter().all(|a| a == "notify.email_failed"),
        "{notices:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_the_mail_server_missed_goes_out_once_when_it_is_back() {
    let fixture = fixture();
    let (key_file, secret) = fixture.secret_file("events-hmac.key");
    let key = hmac::Key::new(hmac::HMAC_SHA256, &secret);
    let port = free_port();
    let maildir = fixture.dir.path().join("maildir");
    let state = fixture.open(retrying_mail_config(port, key_file), wall_clock);
    let (_, case_number) = accepted_case(&fixture, &state, 51, by_email(), wall_clock() - 3600);
    let client = EventClient::start(state.clone()).await;

    // No mail server: the central system's event is taken all the same.
    let ready = serde_json::json!({
        "event_id": "late-1", "case_number": case_number, "type": "result_ready",
        "at": "2026-09-26T10:00:00+03:00"
    });
    let (status, body) = client.post(&key, wall_clock(), &ready).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(case_row(&state, &case_number).0, "result_ready");
    wait_for_action(&state, &case_number, "notify.email_failed").await;
    assert!(!maildir.exists());
    let waiting = notifications_of(&state.db, &case_number).unwrap();
    assert_eq!(waiting[0].state, NotificationState::Pending);
    assert_eq!(
        waiting[0].last_error.as_deref(),
        Some("SMTP connection failed")
    );
    assert_queue_holds_no_contact(&state);

    // The mail server is back: a later attempt delivers, once.
    let _smtp = start_smtp(port, &maildir);
    wait_for_action(&state, &case_number, "notify.email_sent").await;
    assert_one_mail(
        &maildir,
        &case_number,
        ("Результат готовий", "Result ready"),
    );
    assert_sent_once_after_failing(&state, &case_number);
    assert_queue_holds_no_contact(&state);
    assert!(audit_chain_intact(&state));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_queued_before_a_restart_goes_out_once_after_it() {
    let fixture = fixture();
    let (key_file, secret) = fixture.secret_file("events-hmac.key");
    let key = hmac::Key::new(hmac::HMAC_SHA256, &secret);
    let port = free_port();
    let maildir = fixture.dir.path().join("maildir");
    let config = retrying_mail_config(port, key_file);
    // The test's own view of the data directory: it registers the case and reads the audit
    // trail; the servers do the rest.
    let state = fixture.open(config.clone(), wall_clock);
    let (_, case_number) = accepted_case(&fixture, &state, 52, by_email(), wall_clock() - 3600);

    // The event reaches a whole server while the mail server is down; then the server stops.
    let server = LocalServer::start_with(&fixture.data, wall_clock, 0, config.clone())
        .await
        .unwrap();
    let refused = serde_json::json!({
        "event_id": "restart-1", "case_number": case_number, "type": "decision",
        "decision": "refused", "reasons": ["Не подано згоду власника житла"],
        "at": "2026-09-25T14:30:00+03:00"
    });
    let (status, body) = EventClient::to_server(&server)
        .post(&key, wall_clock(), &refused)
        .await;
    assert_eq!(status, 200, "{body}");
    wait_for_action(&state, &case_number, "notify.email_failed").await;
    server.stop();
    assert!(!maildir.exists());

    // Mail is back, and a new server on the same data finds the notification still to send.
    let _smtp = start_smtp(port, &maildir);
    let again = LocalServer::start_with(&fixture.data, wall_clock, 0, config)
        .await
        .unwrap();
    wait_for_action(&state, &case_number, "notify.email_sent").await;
    again.stop();
    assert_one_mail(
        &maildir,
        &case_number,
        ("Рішення прийнято: відмовлено", "Decision made: refused"),
    );
    assert!(
        !read_mail(&maildir)["body"]
            .as_str()
            .unwrap()
            .contains("згоду")
    );
    assert_sent_once_after_failing(&state, &case_number);
    assert!(audit_chain_intact(&state));
}

// ---------------------------------------------------------------------------------------------
// The back-office's own steps tell the applicant too: a hand-over and a withdrawal (supplements
// from a tablet) and the archive job, each once, in the workflow's words.

fn steps_clock() -> i64 {
    T0 + 200 * 86_400
}

/// Store a supplement of `kind` to `case_number` as the server does after a tablet's commit.
fn supplement(state: &CentralState, envelope_id: &str, case_number: &str, kind: SupplementKind) {
    state
        .meta
        .insert_supplement(
            &StoredSupplement {
                envelope: StoredEnvelope {
                    envelope_id: envelope_id.into(),
                    device_id: "T07".into(),
                    case_number: case_number.into(),
                    manifest: b"{}".to_vec(),
                    signature: Vec::new(),
                    receipt: String::new(),
                    receipt_signature: String::new(),
                },
                kind,
                applied_at: None,
                refused: None,
            },
            &[],
            steps_clock(),
        )
        .unwrap();
}

fn set_state(state: &CentralState, case_number: &str, name: &str, since: i64) {
    state
        .db
        .transaction(|tx| {
            tx.execute(
                "UPDATE office_cases SET state = ?2, updated_at = ?3 WHERE case_number = ?1",
                params![case_number, name, since],
            )?;
            Ok(())
        })
        .unwrap();
}

/// Every mail aiosmtpd stored, read with Python's own parser: (subject, body), by subject.
fn read_all_mail(maildir: &Path) -> Vec<(String, String)> {
    let script = r#"
import email, email.policy, json, mailbox, sys
box = mailbox.Maildir(sys.argv[1], create=False)
mails = [email.message_from_bytes(m.as_bytes(), policy=email.policy.default) for m in box]
print(json.dumps(sorted([str(m["subject"]), m.get_content()] for m in mails), ensure_ascii=False))
"#;
    let output = Command::new("python3")
        .args(["-c", script])
        .arg(maildir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_over_withdrawal_and_archive_each_tell_the_applicant_once_by_email() {
    let fixture = fixture();
    let port = free_port();
    let maildir = fixture.dir.path().join("maildir");
    let _smtp = start_smtp(port, &maildir);
    let notify: NotifyConfig = toml::from_str(&format!(
        r#"
        smtp_host = "127.0.0.1"
        smtp_port = {port}
        smtp_security = "none"
        from = "ЦНАП м. Львова <cnap@example.lviv.ua>"
        "#
    ))
    .unwrap();
    let state = fixture.open(
        CentralConfig {
            notify: Some(notify),
            ..CentralConfig::default()
        },
        steps_clock,
    );
    let by_mail = || Notification::Email {
        address: Contact(EMAIL.into()),
    };
    let now = steps_clock();
    let (_, handed) = accepted_case(&fixture, &state, 61, by_mail(), now - 3600);
    let (_, withdrawn) = accepted_case(&fixture, &state, 62, by_mail(), now - 3600);
    let (archived_envelope, archived) = accepted_case(&fixture, &state, 63, by_mail(), now - 3600);
    // The first case's result waits to be handed over; the third's has waited four months.
    set_state(&state, &handed, "issued", now - 3600);
    set_state(&state, &archived, "result_ready", now - 120 * 86_400);
    supplement(&state, "env-handover-61", &handed, SupplementKind::Handover);
    supplement(
        &state,
        "env-withdraw-62",
        &withdrawn,
        SupplementKind::Withdrawal,
    );

    let taken = apply_pending(&state.db, state.meta.as_ref(), now).unwrap();
    assert!(
        taken.iter().all(|(_, t)| matches!(t, Taken::Moved(_))),
        "{taken:?}"
    );
    assert_eq!(
        archive::run_once(&state.db, now).unwrap(),
        std::slice::from_ref(&archived)
    );
    for (case_number, key, status) in [
        (
            &handed,
            supplements::notice_id("env-handover-61"),
            "delivered",
        ),
        (
            &withdrawn,
            supplements::notice_id("env-withdraw-62"),
            "withdrawn",
        ),
        (
            &archived,
            archive::notice_id(&archived_envelope),
            "archived",
        ),
    ] {
        let queued = notifications_of(&state.db, case_number).unwrap();
        assert_eq!(queued.len(), 1, "{queued:?}");
        assert_eq!(
            (queued[0].event_id.as_str(), queued[0].status.as_str()),
            (key.as_str(), status)
        );
    }

    let report = fieldkit_sync_server::central::notify::run_once(&state)
        .await
        .unwrap();
    assert_eq!(report.sent, 3, "{report:?}");
    let mails = read_all_mail(&maildir);
    assert_eq!(mails.len(), 3, "{mails:?}");
    for (case_number, uk, en) in [
        (&handed, "Результат видано", "Result handed over"),
        (&withdrawn, "Заяву відкликано", "Application withdrawn"),
        (&archived, "Передано до архіву", "Archived"),
    ] {
        let (subject, body) = mails
            .iter()
            .find(|(subject, _)| subject.contains(case_number.as_str()))
            .unwrap_or_else(|| panic!("no mail for {case_number}: {mails:?}"));
        for text in [subject, body] {
            assert!(text.contains(uk) && text.contains(en), "{text}");
            assert_no_personal_data(text);
        }
        assert!(body.find(uk).unwrap() < body.find(en).unwrap());
    }

    // Once: the steps are taken, and nothing is sent again.
    assert!(
        apply_pending(&state.db, state.meta.as_ref(), now)
            .unwrap()
            .is_empty()
    );
    assert!(archive::run_once(&state.db, now).unwrap().is_empty());
    let again = fieldkit_sync_server::central::notify::run_once(&state)
        .await
        .unwrap();
    assert_eq!(
        again,
        fieldkit_sync_server::central::NotifyReport::default()
    );
    assert_eq!(read_all_mail(&maildir).len(), 3);
    assert!(audit_chain_intact(&state));
}

#[test]
fn an_older_files_notification_queue_keeps_its_rows_and_takes_the_back_offices_steps() {
    let fixture = fixture();
    // The queue as older builds made it: every row tied to a central event.
    let database = fieldkit_sync_server::setup::Layout::new(&fixture.data).database();
    {
        let conn = rusqlite::Connection::open(&database).unwrap();
        conn.execute_batch(
            "DROP TABLE IF EXISTS notify_outbox;
             CREATE TABLE IF NOT EXISTS office_migrations (name TEXT PRIMARY KEY, at INTEGER NOT NULL);
             DELETE FROM office_migrations WHERE name = 'notify_outbox for every step';
             CREATE TABLE IF NOT EXISTS central_events (
                 event_id TEXT PRIMARY KEY, case_number TEXT NOT NULL, type TEXT NOT NULL,
                 status TEXT NOT NULL, central_number TEXT, at INTEGER NOT NULL,
                 received_at INTEGER NOT NULL, body TEXT NOT NULL);
             CREATE TABLE notify_outbox (
                 seq INTEGER PRIMARY KEY,
                 event_id TEXT NOT NULL UNIQUE REFERENCES central_events(event_id),
                 case_number TEXT NOT NULL, status TEXT NOT NULL,
                 state TEXT NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'sent', 'skipped', 'dead')),
                 enqueued_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
                 next_attempt_at INTEGER NOT NULL, done_at INTEGER, last_error TEXT);
             INSERT INTO central_events VALUES
                 ('ev-old', 'LV01/T07/2026/000071-0', 'decision', 'issued', NULL, 1, 1, '{}');
             INSERT INTO notify_outbox (event_id, case_number, status, state, enqueued_at,
                 attempts, next_attempt_at, done_at)
                 VALUES ('ev-old', 'LV01/T07/2026/000071-0', 'issued', 'sent', 1, 1, 1, 2);",
        )
        .unwrap();
    }
    let state = fixture.open(CentralConfig::default(), steps_clock);
    let definition: String = state
        .db
        .transaction(|tx| {
            Ok(tx.query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'notify_outbox'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert!(!definition.contains("REFERENCES"), "{definition}");
    let kept = notifications_of(&state.db, "LV01/T07/2026/000071-0").unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0].event_id.as_str(), kept[0].state, kept[0].done_at),
        ("ev-old", NotificationState::Sent, Some(2))
    );
    // A step of the back-office's own is queued beside it, after it.
    state
        .db
        .transaction(|tx| {
            fieldkit_sync_server::central::notify::enqueue(
                tx,
                &supplements::notice_id("env-handover-71"),
                "LV01/T07/2026/000071-0",
                CaseState::ResultDelivered,
                steps_clock(),
            )
        })
        .unwrap();
    let queued = notifications_of(&state.db, "LV01/T07/2026/000071-0").unwrap();
    assert_eq!(
        queued
            .iter()
            .map(|n| n.event_id.as_str())
            .collect::<Vec<_>>(),
        ["ev-old", "supplement:env-handover-71"]
    );
}
