#![allow(clippy::unwrap_used)]
//! One case, one life, over real mutual TLS and the real SQLite store: a case number belongs
//! to the device it names; a device's feed shows only its own cases; hand-over and withdrawal
//! records are supplements stored beside the case that move it through the workflow and queue
//! a message for the central system; a case is filed for the public tracking page under its
//! tracking code's hash, and under nothing a case number could guess.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use fieldkit_domain::calendar::{CaseDates, WorkCalendar};
use fieldkit_domain::case::{
    Address, Applicant, Case, IdentityDocument, IdentityDocumentKind, NaturalPerson, PersonName,
    VisitPlace, VisitPlaceKind,
};
use fieldkit_domain::case_number::CaseNumber;
use fieldkit_domain::common::ServiceCode;
use fieldkit_domain::tracking::TrackingCode;
use fieldkit_protocol::{
    DeviceSigningKey, PartKind, PlainPart, SealRequest, SealedEnvelope, SealingPublicKey,
    SupplementKind, seal, seal_supplement,
};
use fieldkit_sync_client::{Enrollment, SyncClient, SyncError, enroll};
use fieldkit_sync_server::central::CentralConfig;
use fieldkit_sync_server::local::LocalServer;
use fieldkit_sync_server::office::db::OfficeDb;
use fieldkit_sync_server::office::handover::{self, HandoverVisit, PlanRefused, Planning, Whom};
use fieldkit_sync_server::office::register::{self, Sources};
use fieldkit_sync_server::office::supplements::{Taken, apply_pending};
use fieldkit_sync_server::office::{actions, archive, db, intake};
use fieldkit_sync_server::personal_data::PersonalDataKey;
use fieldkit_sync_server::setup::Layout;
use fieldkit_sync_server::store::{FileBlobStore, MetadataStore, TrackedCase, TrackingStore};
use ring::hmac;
use ring::rand::SystemRandom;

fn now() -> i64 {
    1_795_000_000
}

struct Tablet {
    client: SyncClient,
    signing: DeviceSigningKey,
    sealing: SealingPublicKey,
}

async fn tablet(server: &LocalServer, code: &str, device_id: &str) -> Tablet {
    server.enroll_code(code, now()).unwrap();
    let enrollment: Enrollment = enroll(&server.url, &server.server_ca, code, device_id)
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
    Tablet {
        client,
        signing: DeviceSigningKey::from_pkcs8(device_id, &enrollment.signing_key_pkcs8).unwrap(),
        sealing: enrollment.sealing_key,
    }
}

impl Tablet {
    /// Seal and send a real case record, as the app writes it (no papers: only the record).
    async fn send_case(&self, envelope_id: &str, case: &Case) {
        let number = case.number.as_ref().unwrap().to_string();
        let parts = vec![PlainPart::new(
            PartKind::CaseRecord,
            serde_json::to_vec(case).unwrap(),
        )];
        let request = SealRequest {
            envelope_id,
            case_number: &number,
            created_at: now(),
            parts: &parts,
        };
        let envelope = seal(&request, &self.sealing, &self.signing, &SystemRandom::new()).unwrap();
        self.client
            .upload_envelope(envelope_id, &envelope, &mut BTreeMap::new(), &mut |_| {})
            .await
            .unwrap();
    }

    fn seal(
        &self,
        envelope_id: &str,
        case_number: &str,
        supplement: Option<SupplementKind>,
    ) -> SealedEnvelope {
        let record = serde_json::json!({ "case_number": case_number, "kind": supplement.map(SupplementKind::name) });
        let parts = vec![
            PlainPart::new(PartKind::CaseRecord, record.to_string().into_bytes()),
            PlainPart::new(PartKind::Signature, vec![7u8; 2_000]),
        ];
        let request = SealRequest {
            envelope_id,
            case_number,
            created_at: now(),
            parts: &parts,
        };
        let rng = SystemRandom::new();
        match supplement {
            None => seal(&request, &self.sealing, &self.signing, &rng).unwrap(),
            Some(kind) => {
                seal_supplement(&request, kind, &self.sealing, &self.signing, &rng).unwrap()
            }
        }
    }

    async fn send(
        &self,
        envelope_id: &str,
        case_number: &str,
        supplement: Option<SupplementKind>,
    ) -> Result<(), SyncError> {
        let envelope = self.seal(envelope_id, case_number, supplement);
        self.client
            .upload_envelope(envelope_id, &envelope, &mut BTreeMap::new(), &mut |_| {})
            .await
            .map(|_| ())
    }

    async fn feed(&self) -> Vec<(String, String)> {
        let (events, _) = self.client.status(0).await.unwrap();
        events
            .into_iter()
            .map(|e| (e.case_number, e.status))
            .collect()
    }
}

fn refused_with(result: Result<(), SyncError>, status: u16, code: &str) {
    match result {
        Err(SyncError::Refused {
            status: s, code: c, ..
        }) if s == status && c == code => {}
        other => panic!("expected {status} {code}, got {other:?}"),
    }
}

/// The back-office's view of the same data directory, as the server's pages use it.
struct Office {
    db: OfficeDb,
    blobs: FileBlobStore,
}

impl Office {
    fn open(data: &Path) -> Self {
        let layout = Layout::new(data);
        Self {
            db: OfficeDb::open(&layout.database()).unwrap(),
            blobs: FileBlobStore::open(&layout.blobs()).unwrap(),
        }
    }

    /// What a back-office page does before it shows the register.
    fn look(&self, server: &LocalServer) -> Vec<(String, Taken)> {
        let calendar = WorkCalendar::weekends_only();
        register::index_new(
            &self.db,
            &Sources {
                meta: server.meta.as_ref(),
                blobs: &self.blobs,
                sealing_keys: std::slice::from_ref(&server.sealing),
                catalog: None,
                calendar: &calendar,
            },
            now(),
        )
        .unwrap();
        apply_pending(&self.db, server.meta.as_ref(), now()).unwrap()
    }

    fn state(&self, case_number: &str) -> String {
        register::get(&self.db, case_number)
            .unwrap()
            .unwrap()
            .state
            .name()
            .to_owned()
    }

    fn queued_for_central(&self, envelope_id: &str) -> bool {
        fieldkit_sync_server::central::outbox::outbox_entry(&self.db, envelope_id)
            .unwrap()
            .is_some()
    }

    /// The applicant's notifications queued for a case: (key, status).
    fn notices(&self, case_number: &str) -> Vec<(String, String)> {
        fieldkit_sync_server::central::notify::notifications_of(&self.db, case_number)
            .unwrap()
            .into_iter()
            .map(|n| (n.event_id, n.status))
            .collect()
    }

    fn actions(&self, case_number: &str) -> Vec<String> {
        self.db
            .transaction(|tx| db::audit_of(tx, case_number))
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect()
    }
}

async fn server_with_events(dir: &Path) -> (LocalServer, hmac::Key) {
    let secret = b"0123456789abcdef0123456789abcdef".to_vec();
    let key_file = dir.join("events-hmac.key");
    std::fs::write(&key_file, [secret.as_slice(), b"\n"].concat()).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = CentralConfig {
        events_hmac_key_file: Some(key_file),
        // The server's own intake job passes once at start, then not again during a test:
        // these tests take supplements in themselves and check what each look did.
        intake_interval_seconds: 86_400,
        ..CentralConfig::default()
    };
    let server = LocalServer::start_with(&dir.join("data"), now, 0, config)
        .await
        .unwrap();
    (server, hmac::Key::new(hmac::HMAC_SHA256, &secret))
}

/// The central system reports a step, signed as it does it.
async fn central_event(server: &LocalServer, key: &hmac::Key, body: serde_json::Value) -> u16 {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(
            server.server_ca.clone(),
        ))
        .unwrap();
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .unwrap();
    let body = body.to_string().into_bytes();
    let mut message = now().to_string().into_bytes();
    message.push(b'.');
    message.extend_from_slice(&body);
    let signature = format!("sha256={}", hex::encode(hmac::sign(key, &message).as_ref()));
    http.post(format!("{}/central/v1/events", server.url))
        .header("Content-Type", "application/json")
        .header("X-Fieldkit-Timestamp", now().to_string())
        .header("X-Fieldkit-Signature", signature)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

const A_FIRST: &str = "LV01/T07/2026/000001-0";
const A_SECOND: &str = "LV01/T07/2026/000002-0";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tablet_cannot_take_another_tablets_case_number_or_read_its_feed() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(&dir.path().join("data"), now)
        .await
        .unwrap();
    // The centre's catalog is published: its code is the centre's (LV01).
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/catalog/catalog.toml"),
    )
    .unwrap();
    let catalog = fieldkit_domain::catalog::Catalog::from_toml_str(&text).unwrap();
    assert_eq!(catalog.centre.code, "LV01");
    server
        .meta
        .publish_catalog(catalog.version, &text, now())
        .unwrap();
    let a = tablet(&server, "CODE-A", "T07").await;
    let b = tablet(&server, "CODE-B", "T08").await;

    // B takes A's next number first: refused with its own code, nothing stored.
    refused_with(
        b.send("env-b-1", A_FIRST, None).await,
        403,
        "case_number_not_yours",
    );
    assert!(server.meta.case_envelope(A_FIRST).unwrap().is_none());
    // Nor another centre's number under B's own code.
    refused_with(
        b.send("env-b-2", "KY02/T08/2026/000001-0", None).await,
        403,
        "case_number_not_yours",
    );

    // A's real case arrives.
    a.send("env-a-1", A_FIRST, None).await.unwrap();
    assert_eq!(
        server
            .meta
            .case_envelope(A_FIRST)
            .unwrap()
            .unwrap()
            .device_id,
        "T07"
    );
    // B's own case arrives too.
    b.send("env-b-3", "LV01/T08/2026/000001-0", None)
        .await
        .unwrap();

    // A supplement must name a case that arrived.
    refused_with(
        b.send("env-b-4", A_SECOND, Some(SupplementKind::Withdrawal))
            .await,
        422,
        "unknown_case",
    );

    // Each feed holds its own cases only, whatever happens to the other's.
    server
        .meta
        .add_status_event(
            A_FIRST,
            fieldkit_domain::workflow::CaseState::Accepted,
            None,
            now(),
        )
        .unwrap();
    let a_feed = a.feed().await;
    let b_feed = b.feed().await;
    assert!(a_feed.iter().all(|(n, _)| n == A_FIRST), "{a_feed:?}");
    assert_eq!(
        a_feed.iter().map(|(_, s)| s.as_str()).collect::<Vec<_>>(),
        ["received", "accepted"]
    );
    assert!(b_feed.iter().all(|(n, _)| n != A_FIRST), "{b_feed:?}");
    assert_eq!(b_feed.len(), 1, "{b_feed:?}");
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_over_and_withdrawal_are_supplements_that_move_the_case_and_reach_the_central_outbox()
{
    let dir = tempfile::tempdir().unwrap();
    let (server, key) = server_with_events(dir.path()).await;
    let a = tablet(&server, "CODE-A", "T07").await;
    let b = tablet(&server, "CODE-B", "T08").await;
    let office = Office::open(&server.data);

    a.send("env-a-1", A_FIRST, None).await.unwrap();
    a.send("env-a-2", A_SECOND, None).await.unwrap();
    office.look(&server);
    assert_eq!(office.state(A_FIRST), "received");

    // A withdrawal before a decision, signed on tablet B of the same centre.
    b.send("env-withdraw-1", A_FIRST, Some(SupplementKind::Withdrawal))
        .await
        .unwrap();
    // The supplement is stored beside the case, not instead of it.
    assert_eq!(
        server
            .meta
            .case_envelope(A_FIRST)
            .unwrap()
            .unwrap()
            .envelope_id,
        "env-a-1"
    );
    let taken = office.look(&server);
    assert_eq!(
        taken,
        [(
            "env-withdraw-1".to_owned(),
            Taken::Moved(fieldkit_domain::workflow::CaseState::Withdrawn)
        )]
    );
    assert_eq!(office.state(A_FIRST), "withdrawn");
    assert!(office.queued_for_central("env-withdraw-1"));
    // The applicant is told, once, in the workflow's words for «withdrawn».
    assert_eq!(
        office.notices(A_FIRST),
        [(
            "supplement:env-withdraw-1".to_owned(),
            "withdrawn".to_owned()
        )]
    );
    assert!(
        office
            .actions(A_FIRST)
            .contains(&"case.supplement.withdrawal".to_owned())
    );
    // A, which sealed the case, follows it; B only sent a supplement and was not planned to
    // hand the case over, so its feed shows none of it.
    assert!(
        a.feed()
            .await
            .contains(&(A_FIRST.into(), "withdrawn".into()))
    );
    assert!(b.feed().await.iter().all(|(n, _)| n != A_FIRST));
    // Taken once: a second look changes nothing.
    assert!(office.look(&server).is_empty());

    // The second case goes on to a decision.
    assert_eq!(
        actions::accept(&office.db, A_SECOND, "operator", now()).unwrap(),
        Ok(())
    );
    let decided = serde_json::json!({
        "event_id": "ev-1", "case_number": A_SECOND, "type": "decision",
        "decision": "issued", "at": "2026-11-20T10:00:00+02:00"
    });
    assert_eq!(central_event(&server, &key, decided).await, 200);
    assert_eq!(office.state(A_SECOND), "issued");

    // A withdrawal after the decision is kept, with the workflow's sentence, and moves nothing.
    b.send("env-withdraw-2", A_SECOND, Some(SupplementKind::Withdrawal))
        .await
        .unwrap();
    let taken = office.look(&server);
    let [(id, Taken::Refused(sentence))] = taken.as_slice() else {
        panic!("{taken:?}");
    };
    assert_eq!(id, "env-withdraw-2");
    assert!(sentence.contains("не можна відкликати"), "{sentence}");
    assert_eq!(office.state(A_SECOND), "issued");
    assert!(!office.queued_for_central("env-withdraw-2"));
    // Nor is the applicant told of a step that did not happen.
    assert_eq!(
        office.notices(A_SECOND),
        [("ev-1".to_owned(), "issued".to_owned())]
    );
    let kept = server.meta.supplement("env-withdraw-2").unwrap().unwrap();
    assert_eq!(kept.refused.as_deref(), Some(sentence.as_str()));

    // The hand-over under signature on tablet B: handed over, and the central system told.
    b.send("env-handover-2", A_SECOND, Some(SupplementKind::Handover))
        .await
        .unwrap();
    office.look(&server);
    assert_eq!(office.state(A_SECOND), "delivered");
    assert!(office.queued_for_central("env-handover-2"));
    assert_eq!(
        office.notices(A_SECOND),
        [
            ("ev-1".to_owned(), "issued".to_owned()),
            (
                "supplement:env-handover-2".to_owned(),
                "delivered".to_owned()
            )
        ]
    );
    assert!(
        a.feed()
            .await
            .contains(&(A_SECOND.into(), "delivered".into()))
    );
    assert!(b.feed().await.iter().all(|(n, _)| n != A_SECOND));
    // Both records are kept beside the case, the refused one too.
    assert_eq!(server.meta.supplements(Some(A_SECOND)).unwrap().len(), 2);
    assert_eq!(office.db.transaction(db::verify_audit_chain).unwrap(), None);
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uncollected_result_is_archived_three_calendar_months_after_it_was_ready() {
    let dir = tempfile::tempdir().unwrap();
    let (server, key) = server_with_events(dir.path()).await;
    let a = tablet(&server, "CODE-A", "T07").await;
    let office = Office::open(&server.data);
    a.send("env-a-1", A_FIRST, None).await.unwrap();
    office.look(&server);
    assert_eq!(
        actions::accept(&office.db, A_FIRST, "operator", now()).unwrap(),
        Ok(())
    );
    let ready = serde_json::json!({
        "event_id": "ev-ready", "case_number": A_FIRST, "type": "result_ready",
        "at": "2026-11-19T10:00:00+02:00"
    });
    assert_eq!(central_event(&server, &key, ready).await, 200);
    assert_eq!(office.state(A_FIRST), "result_ready");

    // The server's clock says the result got ready on 2026-11-18 (UTC day of `now`).
    let ready_on = time::OffsetDateTime::from_unix_timestamp(now())
        .unwrap()
        .date();
    assert_eq!(ready_on, time::macros::date!(2026 - 11 - 18));
    let day = 86_400;
    // 2027-02-17: 91 days on, more than 90 but a day short of three calendar months.
    let early = now() + 91 * day;
    assert!(archive::run_once(&office.db, early).unwrap().is_empty());
    assert_eq!(office.state(A_FIRST), "result_ready");
    // 2027-02-18: due (three calendar months, not 90 days).
    let due = now() + 92 * day;
    assert_eq!(
        archive::run_once(&office.db, due).unwrap(),
        [A_FIRST.to_owned()]
    );
    assert_eq!(office.state(A_FIRST), "archived");
    // Once: the next run finds nothing.
    assert!(archive::run_once(&office.db, due + day).unwrap().is_empty());
    // The central system is told with its own message; the tablet's feed and the audit
    // trail have it; the back-office lists it under «archived».
    assert!(office.queued_for_central(&archive::notice_id("env-a-1")));
    // The applicant is told too, once.
    assert_eq!(
        office.notices(A_FIRST),
        [
            ("ev-ready".to_owned(), "result_ready".to_owned()),
            ("archive:env-a-1".to_owned(), "archived".to_owned())
        ]
    );
    assert!(
        a.feed()
            .await
            .contains(&(A_FIRST.into(), "archived".into()))
    );
    assert!(
        office
            .actions(A_FIRST)
            .contains(&"case.archived".to_owned())
    );
    let listed = register::list(
        &office.db,
        &register::Filter {
            state: "archived".into(),
            ..register::Filter::default()
        },
        &WorkCalendar::weekends_only(),
        ready_on,
    )
    .unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|r| r.case_number.as_str())
            .collect::<Vec<_>>(),
        [A_FIRST]
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_intake_job_takes_a_hand_over_into_its_case_without_a_back_office_page() {
    let dir = tempfile::tempdir().unwrap();
    let (server, key) = server_with_events(dir.path()).await;
    let a = tablet(&server, "CODE-A", "T07").await;
    let b = tablet(&server, "CODE-B", "T08").await;
    // What the server's job runs on: its central state over the same data directory.
    let central = fieldkit_sync_server::central::CentralState::open(
        &server.data,
        CentralConfig::default(),
        now,
    )
    .unwrap();
    let calendar = fieldkit_sync_server::office::calendar().unwrap();
    let office = Office::open(&server.data);

    a.send("env-a-1", A_FIRST, None).await.unwrap();
    // No page looked: the job indexes the new envelope (the server's own first pass ran at
    // its start, before the envelope came).
    let first = intake::run_once(&central, &calendar).unwrap();
    assert!(first.supplements.is_empty());
    assert_eq!(office.state(A_FIRST), "received");

    assert_eq!(
        actions::accept(&office.db, A_FIRST, "operator", now()).unwrap(),
        Ok(())
    );
    let decided = serde_json::json!({
        "event_id": "ev-1", "case_number": A_FIRST, "type": "decision",
        "decision": "issued", "at": "2026-11-20T10:00:00+02:00"
    });
    assert_eq!(central_event(&server, &key, decided).await, 200);
    assert_eq!(office.state(A_FIRST), "issued");

    b.send("env-handover-1", A_FIRST, Some(SupplementKind::Handover))
        .await
        .unwrap();
    // Arrived, and still waiting for a look.
    assert_eq!(office.state(A_FIRST), "issued");
    let taken = intake::run_once(&central, &calendar).unwrap();
    assert_eq!(taken.indexed, 0);
    assert_eq!(
        taken.supplements,
        [(
            "env-handover-1".to_owned(),
            Taken::Moved(fieldkit_domain::workflow::CaseState::ResultDelivered)
        )]
    );
    assert!(taken.moved_any());
    assert_eq!(office.state(A_FIRST), "delivered");
    assert!(office.queued_for_central("env-handover-1"));
    assert!(
        a.feed()
            .await
            .contains(&(A_FIRST.into(), "delivered".into()))
    );
    // Taken once: the next pass, or a page looking after it, changes nothing.
    assert_eq!(
        intake::run_once(&central, &calendar).unwrap(),
        intake::Intake::default()
    );
    assert!(office.look(&server).is_empty());
    assert_eq!(office.db.transaction(db::verify_audit_chain).unwrap(), None);
    server.stop();
}

/// A registered case as the tablet seals it, tracked by `code` when there is one.
fn registered_case(sequence: u32, code: Option<&TrackingCode>) -> Case {
    let person = NaturalPerson {
        name: PersonName {
            surname: "Шевченко".into(),
            given_name: "Марія".into(),
            patronymic: None,
        },
        rnokpp: None,
        birth_date: time::macros::date!(1946 - 03 - 15),
        identity_document: IdentityDocument {
            kind: IdentityDocumentKind::IdCard,
            number: "001234567".into(),
            issued_by: "4601".into(),
            issued_on: None,
        },
        address: Address("м. Львів, вул. Зелена, 12".into()),
        phone: None,
        email: None,
    };
    let mut case = Case::new_draft(
        &format!("case-{sequence}"),
        ServiceCode("00001".into()),
        Applicant::NaturalPerson(person),
        VisitPlace {
            kind: VisitPlaceKind::Home,
            address: Address("м. Львів, вул. Зелена, 12".into()),
        },
    );
    case.number = Some(CaseNumber::new("LV01", "T07", 2026, sequence).unwrap());
    case.dates = Some(CaseDates {
        registered: time::macros::date!(2026 - 11 - 27),
        forwarded: None,
        decided: None,
    });
    case.tracking_code_sha256 = code.map(TrackingCode::sha256_hex);
    case
}

fn sha256_hex(text: &str) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_files_a_case_under_its_tracking_codes_hash_and_nothing_a_number_guesses() {
    let dir = tempfile::tempdir().unwrap();
    // The server's own intake job waits a day: the test looks when it means to.
    let (server, _) = server_with_events(dir.path()).await;
    let a = tablet(&server, "CODE-A", "T07").await;
    let office = Office::open(&server.data);
    let code = TrackingCode::generate(&SystemRandom::new()).unwrap();
    let tracked = registered_case(7, Some(&code));
    let number = tracked.number.as_ref().unwrap().to_string();
    // A case sealed by a tablet from before tracking codes: nothing to file.
    let untracked = registered_case(8, None);
    let old_number = untracked.number.as_ref().unwrap().to_string();
    a.send_case("env-tracked", &tracked).await;
    a.send_case("env-untracked", &untracked).await;
    assert_eq!(server.meta.tracked_case(&code.sha256_hex()).unwrap(), None);

    office.look(&server);
    assert_eq!(office.state(&number), "received");
    assert_eq!(office.state(&old_number), "received");
    assert_eq!(
        server.meta.tracked_case(&code.sha256_hex()).unwrap(),
        Some(TrackedCase {
            code_sha256: code.sha256_hex(),
            case_number: number.clone(),
            service_code: "00001".into(),
            centre_code: "LV01".into(),
            registered_at: now(),
        })
    );
    // The code as typed from the receipt hashes to the same; the number, its printed forms and
    // a random hash find nothing.
    let typed = TrackingCode::parse(&code.to_string().to_lowercase()).unwrap();
    assert!(
        server
            .meta
            .tracked_case(&typed.sha256_hex())
            .unwrap()
            .is_some()
    );
    for guess in [
        sha256_hex(&number),
        sha256_hex(&old_number),
        sha256_hex(&number.replace('/', "")),
        sha256_hex(&code.to_string()),
        sha256_hex("a random guess"),
    ] {
        assert_eq!(server.meta.tracked_case(&guess).unwrap(), None, "{guess}");
    }
    // A second look files nothing twice.
    office.look(&server);
    assert_eq!(
        server
            .meta
            .tracked_case(&code.sha256_hex())
            .unwrap()
            .map(|t| t.case_number),
        Some(number)
    );
    server.stop();
}

/// An operator signed in to the back-office, as a browser over HTTPS.
struct Operator {
    http: reqwest::Client,
    base: String,
    cookie: String,
    csrf: String,
}

impl Operator {
    async fn sign_in(server: &LocalServer, office: &Office) -> Self {
        use fieldkit_sync_server::office::auth;
        auth::set_user(
            &office.db,
            "operator",
            auth::Role::Operator,
            "a-long-password-1",
            "test",
            now(),
        )
        .unwrap();
        let session = auth::login(
            &office.db,
            server.meta.as_ref(),
            "operator",
            "a-long-password-1",
            "127.0.0.1",
            now(),
        )
        .unwrap()
        .unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls::pki_types::CertificateDer::from(
                server.server_ca.clone(),
            ))
            .unwrap();
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        Self {
            http: reqwest::Client::builder()
                .tls_backend_preconfigured(tls)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: server.url.clone(),
            cookie: format!("fk_session={}", session.token),
            csrf: session.staff.csrf_token,
        }
    }

    async fn get(&self, path: &str) -> String {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header("Cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.text().await.unwrap()
    }

    async fn send(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        // The form as a browser encodes it (application/x-www-form-urlencoded).
        let escape = |text: &str| -> String {
            text.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect()
        };
        let body = std::iter::once(("csrf", self.csrf.as_str()))
            .chain(form.iter().copied())
            .map(|(name, value)| format!("{}={}", escape(name), escape(value)))
            .collect::<Vec<_>>()
            .join("&");
        self.http
            .post(format!("{}{path}", self.base))
            .header("Cookie", &self.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> u16 {
        self.send(path, form).await.status().as_u16()
    }

    async fn post_text(&self, path: &str, form: &[(&str, &str)]) -> String {
        self.send(path, form).await.text().await.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ready_result_is_handed_over_by_another_tablet_planned_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let (server, key) = server_with_events(dir.path()).await;
    let a = tablet(&server, "CODE-A", "T07").await;
    let b = tablet(&server, "CODE-B", "T08").await;
    let c = tablet(&server, "CODE-C", "T09").await;
    let office = Office::open(&server.data);
    let personal = PersonalDataKey::load_or_create(&Layout::new(&server.data).keys()).unwrap();
    let planning = Planning {
        db: &office.db,
        meta: server.meta.as_ref(),
        personal: &personal,
    };
    let case = registered_case(1, None);
    let number = case.number.as_ref().unwrap().to_string();
    a.send_case("env-a-1", &case).await;
    office.look(&server);
    let visit = |device_id| HandoverVisit {
        case_number: &number,
        device_id,
        date: "2026-12-01",
        time: "10:30",
        whom: Some(Whom::of(&case)),
    };

    // Not ready: refused with the sentence (on the page too), nothing planned, nothing in B's
    // feeds.
    assert_eq!(
        actions::accept(&office.db, &number, "operator", now()).unwrap(),
        Ok(())
    );
    let refused = handover::plan(&planning, &visit("T08"), "operator", now()).unwrap();
    assert_eq!(
        refused,
        Err(PlanRefused::NotReady(
            fieldkit_domain::workflow::CaseState::Accepted.into()
        ))
    );
    assert_eq!(
        refused
            .unwrap_err()
            .sentence(fieldkit_sync_server::office::html::Lang::Uk),
        "Видачу можна запланувати лише для справи, результат якої готовий до видачі; ця справа в стані «Прийнято, чекає передачі». Нічого не заплановано."
    );
    let operator = Operator::sign_in(&server, &office).await;
    let page = operator
        .get(&format!("/office/case?n={}", number.replace('/', "%2F")))
        .await;
    assert!(!page.contains("/office/case/handover"), "{page}");
    let answer = operator
        .post_text(
            "/office/case/handover",
            &[
                ("n", &number),
                ("device", "T08"),
                ("date", "2026-12-01"),
                ("time", ""),
            ],
        )
        .await;
    assert!(
        answer.contains("лише для справи, результат якої готовий до видачі"),
        "{answer}"
    );
    assert!(server.meta.handover_plans(&number).unwrap().is_empty());
    assert!(b.client.visits(0).await.unwrap().0.is_empty());

    // The central system: forwarded to the provider, issued, ready (signed events).
    for (id, body) in [
        ("ev-1", serde_json::json!({"type": "forwarded_to_provider"})),
        (
            "ev-2",
            serde_json::json!({"type": "decision", "decision": "issued"}),
        ),
        ("ev-3", serde_json::json!({"type": "result_ready"})),
    ] {
        let mut event = body;
        event["event_id"] = id.into();
        event["case_number"] = number.clone().into();
        event["at"] = "2026-11-20T10:00:00+02:00".into();
        assert_eq!(central_event(&server, &key, event).await, 200);
    }
    assert_eq!(office.state(&number), "result_ready");

    // Nor for a tablet the server does not know, or one revoked.
    assert_eq!(
        handover::plan(&planning, &visit("T99"), "operator", now()).unwrap(),
        Err(PlanRefused::UnknownDevice)
    );
    tablet(&server, "CODE-D", "T10").await;
    server.meta.revoke_device("T10").unwrap();
    assert_eq!(
        handover::plan(&planning, &visit("T10"), "operator", now()).unwrap(),
        Err(PlanRefused::DeviceRevoked)
    );
    // Planned for B by an operator on the case page, over HTTPS: the visit reaches B's feed
    // with its kind, the case and its service, and the applicant and address from the case.
    let page = operator
        .get(&format!("/office/case?n={}", number.replace('/', "%2F")))
        .await;
    assert!(page.contains("action=\"/office/case/handover\""), "{page}");
    assert!(page.contains("<option>T08</option>"), "{page}");
    assert!(
        !page.contains("<option>T10</option>"),
        "a revoked tablet is not offered"
    );
    let answer = operator
        .post(
            "/office/case/handover",
            &[
                ("n", &number),
                ("device", "T08"),
                ("date", "2026-12-01"),
                ("time", "10:30"),
            ],
        )
        .await;
    assert_eq!(answer, 303);
    let plans = server.meta.handover_plans(&number).unwrap();
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].device_id, "T08");
    let visit_id = plans[0].visit_id;
    let (visits, _) = b.client.visits(0).await.unwrap();
    assert_eq!(visits.len(), 1, "{visits:?}");
    assert_eq!(visits[0]["visit_id"], visit_id);
    assert_eq!(visits[0]["kind"], "handover");
    assert_eq!(visits[0]["case_number"], number.as_str());
    assert_eq!(visits[0]["services"], serde_json::json!(["00001"]));
    assert_eq!(visits[0]["time"], "2026-12-01 10:30");
    assert_eq!(visits[0]["applicant"], "Шевченко Марія");
    assert!(c.client.visits(0).await.unwrap().0.is_empty());
    assert!(a.client.visits(0).await.unwrap().0.is_empty());
    // Sealed at rest, as every planned visit.
    let database = Layout::new(&server.data).database();
    for file in [database.clone(), database.with_extension("sqlite-wal")] {
        let raw = std::fs::read(&file).unwrap_or_default();
        let name = "Шевченко".as_bytes();
        assert!(!raw.windows(name.len()).any(|w| w == name), "{file:?}");
    }
    assert!(
        office
            .actions(&number)
            .contains(&"case.handover_planned".to_owned())
    );
    // B now follows the case: its whole life so far; C, of the same centre, sees nothing.
    let b_feed = b.feed().await;
    assert!(
        b_feed.contains(&(number.clone(), "result_ready".into())),
        "{b_feed:?}"
    );
    assert!(b_feed.iter().all(|(n, _)| *n == number), "{b_feed:?}");

    // B hands over under signature: the supplement is accepted from B and moves the case.
    b.send("env-handover-b", &number, Some(SupplementKind::Handover))
        .await
        .unwrap();
    office.look(&server);
    assert_eq!(office.state(&number), "delivered");
    assert!(office.queued_for_central("env-handover-b"));
    for feed in [a.feed().await, b.feed().await] {
        assert!(
            feed.contains(&(number.clone(), "delivered".into())),
            "{feed:?}"
        );
    }
    assert!(c.feed().await.is_empty());
    // A delivered case is not planned again.
    assert!(matches!(
        handover::plan(&planning, &visit("T09"), "operator", now()).unwrap(),
        Err(PlanRefused::NotReady(_))
    ));
    assert_eq!(server.meta.handover_plans(&number).unwrap().len(), 1);
    assert_eq!(office.db.transaction(db::verify_audit_chain).unwrap(), None);
    server.stop();
}
