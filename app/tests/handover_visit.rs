#![allow(clippy::unwrap_used)]
//! A result handed over by a tablet that did not seal the case (issue #12, regulation 8.3–8.4),
//! against real parts: a sync-server on loopback (mutual TLS, real SQLite), tablet A sealing
//! and syncing a real case record, the back-office accepting it, the central system's signed
//! events (forwarded to the provider, issued, ready), staff planning a visit of kind «видача
//! результату» for tablet B, and B — the app, headless, by touch — syncing, finding the visit
//! on «Сьогодні», going straight to the hand-over step, the applicant signing, the supplement
//! sealed and synced. The case is then «delivered» in the register, a message for the central
//! system is queued, and both A's and B's feeds say so; tablet C of the same centre, never
//! planned, gets none of the case's events; planning a case not yet ready is refused.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use common::*;
use fieldkit_app::ui::{App, Screen};
use fieldkit_domain::calendar::WorkCalendar;
use fieldkit_domain::case::{
    Address, Applicant, Case, IdentityDocument, IdentityDocumentKind, NaturalPerson, PersonName,
    VisitPlace, VisitPlaceKind,
};
use fieldkit_domain::case_number::CaseNumber;
use fieldkit_domain::common::ServiceCode;
use fieldkit_protocol::{DeviceSigningKey, PartKind, PlainPart, SealRequest, seal};
use fieldkit_sync_client::{SyncClient, enroll};
use fieldkit_sync_server::central::CentralConfig;
use fieldkit_sync_server::local::LocalServer;
use fieldkit_sync_server::office::db::OfficeDb;
use fieldkit_sync_server::office::handover::{self, HandoverVisit, PlanRefused, Planning, Whom};
use fieldkit_sync_server::office::html::Lang;
use fieldkit_sync_server::office::register::{self, Sources};
use fieldkit_sync_server::office::{actions, supplements};
use fieldkit_sync_server::personal_data::PersonalDataKey;
use fieldkit_sync_server::setup::Layout;
use fieldkit_sync_server::store::{FileBlobStore, MetadataStore};
use ring::hmac;
use ring::rand::SystemRandom;
use slint::ComponentHandle;

const PASSPHRASE: &str = "довга-парольна-фраза";
const WHEN: &str = "2026-12-01 10:30";

fn screen(app: &fieldkit_app::RunningApp) -> Screen {
    app.window.global::<App>().get_screen()
}

/// A tablet that is only a sync client: it enrolls, seals and sends, and reads its feed.
async fn client_tablet(
    server: &LocalServer,
    code: &str,
    device_id: &str,
) -> (
    SyncClient,
    DeviceSigningKey,
    fieldkit_protocol::SealingPublicKey,
) {
    server.enroll_code(code, now()).unwrap();
    let enrollment = enroll(&server.url, &server.server_ca, code, device_id)
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
    let signing = DeviceSigningKey::from_pkcs8(device_id, &enrollment.signing_key_pkcs8).unwrap();
    (client, signing, enrollment.sealing_key)
}

/// The case A registered: an elderly applicant at home, service 00001.
fn registered_case() -> Case {
    let person = NaturalPerson {
        name: PersonName {
            surname: "Гнатюк".into(),
            given_name: "Ганна".into(),
            patronymic: Some("Петрівна".into()),
        },
        rnokpp: None,
        birth_date: time::macros::date!(1939 - 05 - 02),
        identity_document: IdentityDocument {
            kind: IdentityDocumentKind::IdCard,
            number: "001234567".into(),
            issued_by: "4601".into(),
            issued_on: None,
        },
        address: Address("м. Львів, вул. Личаківська, 5".into()),
        phone: None,
        email: None,
    };
    let mut case = Case::new_draft(
        "case-a-1",
        ServiceCode("00001".into()),
        Applicant::NaturalPerson(person),
        VisitPlace {
            kind: VisitPlaceKind::Home,
            address: Address("м. Львів, вул. Личаківська, 5".into()),
        },
    );
    case.number = Some(CaseNumber::new("LV01", "T07", 2026, 1).unwrap());
    case
}

/// The case's statuses in a feed, as a device reads it.
async fn statuses(client: &SyncClient, number: &str) -> Vec<String> {
    let (events, _) = client.status(0).await.unwrap();
    events
        .into_iter()
        .filter(|e| e.case_number == number)
        .map(|e| e.status)
        .collect()
}

/// The central system reports a step, signed with the shared HMAC key as it does it.
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
    let at = now().to_string();
    let mut signed = at.clone().into_bytes();
    signed.push(b'.');
    signed.extend_from_slice(&body);
    let signature = format!("sha256={}", hex::encode(hmac::sign(key, &signed).as_ref()));
    http.post(format!("{}/central/v1/events", server.url))
        .header("Content-Type", "application/json")
        .header("X-Fieldkit-Timestamp", at)
        .header("X-Fieldkit-Signature", signature)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// What a back-office page does before it shows the register: new envelopes indexed,
/// supplements taken into their cases.
fn office_look(server: &LocalServer, db: &OfficeDb, blobs: &FileBlobStore) {
    let calendar = WorkCalendar::weekends_only();
    register::index_new(
        db,
        &Sources {
            meta: server.meta.as_ref(),
            blobs,
            sealing_keys: std::slice::from_ref(&server.sealing),
            catalog: None,
            calendar: &calendar,
        },
        now(),
    )
    .unwrap();
    supplements::apply_pending(db, server.meta.as_ref(), now()).unwrap();
}

/// «Синхронізувати зараз» in the settings, then back; the caller waits for what it expects.
fn sync_by_touch(app: &fieldkit_app::RunningApp) {
    tap(app, "Налаштування");
    tap(app, "Синхронізувати зараз");
    tap(app, "Назад");
}

#[test]
fn a_result_is_handed_over_by_touch_on_a_tablet_that_did_not_seal_the_case() {
    init_headless();
    let folder = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let secret = b"fedcba9876543210fedcba9876543210".to_vec();
    let key_file = folder.path().join("events-hmac.key");
    std::fs::write(&key_file, [secret.as_slice(), b"\n"].concat()).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let central = CentralConfig {
        events_hmac_key_file: Some(key_file),
        // The test looks at the register when it means to.
        intake_interval_seconds: 86_400,
        ..CentralConfig::default()
    };
    let server = runtime
        .block_on(LocalServer::start_with(
            &folder.path().join("server"),
            now,
            0,
            central,
        ))
        .unwrap();
    let events_key = hmac::Key::new(hmac::HMAC_SHA256, &secret);
    let catalog_text = std::fs::read_to_string(assets().join("catalog/catalog.toml")).unwrap();
    let catalog = fieldkit_domain::catalog::Catalog::from_toml_str(&catalog_text).unwrap();
    server
        .meta
        .publish_catalog(catalog.version, &catalog_text, now())
        .unwrap();
    let layout = Layout::new(&server.data);
    let db = OfficeDb::open(&layout.database()).unwrap();
    let blobs = FileBlobStore::open(&layout.blobs()).unwrap();
    let personal = PersonalDataKey::load_or_create(&layout.keys()).unwrap();
    let planning = Planning {
        db: &db,
        meta: server.meta.as_ref(),
        personal: &personal,
    };

    // Tablet A seals the case and syncs it; tablet C, of the same centre, is enrolled too.
    let (a, a_signing, sealing) = runtime.block_on(client_tablet(&server, "CODE-A", "T07"));
    let (c, _, _) = runtime.block_on(client_tablet(&server, "CODE-C", "T09"));
    let case = registered_case();
    let number = case.number.as_ref().unwrap().to_string();
    let parts = vec![PlainPart::new(
        PartKind::CaseRecord,
        serde_json::to_vec(&case).unwrap(),
    )];
    let envelope = seal(
        &SealRequest {
            envelope_id: "env-a-1",
            case_number: &number,
            created_at: now(),
            parts: &parts,
        },
        &sealing,
        &a_signing,
        &SystemRandom::new(),
    )
    .unwrap();
    runtime
        .block_on(a.upload_envelope("env-a-1", &envelope, &mut BTreeMap::new(), &mut |_| {}))
        .unwrap();

    // Tablet B is the app, enrolled by touch.
    let data = folder.path().join("tablet-b");
    let mut app_config = config(&data);
    app_config.server_ca = Some(server.server_ca.clone());
    let app = open(app_config, 1920.0, 1200.0);
    fieldkit_app::i18n::apply(fieldkit_app::i18n::Lang::Uk);
    server.enroll_code("CODE-B", now()).unwrap();
    type_into(&app, "Адреса сервера", &server.url);
    type_into(&app, "Одноразовий код", "CODE-B");
    type_into(&app, "Назва планшета", "T08");
    type_into(&app, "ПІБ адміністратора", "Бойко Ірина Василівна");
    type_into(&app, "Ім'я на екрані входу", "Ірина Б.");
    type_into(&app, "Нова парольна фраза", PASSPHRASE);
    type_into(&app, "Парольна фраза ще раз", PASSPHRASE);
    tap(&app, "Зареєструвати планшет");
    wait_for(&app, "enrollment", |app| screen(app) == Screen::Today);

    // The back-office accepts the case. Planning its hand-over now is refused: not ready.
    office_look(&server, &db, &blobs);
    assert_eq!(
        actions::accept(&db, &number, "operator", now()).unwrap(),
        Ok(())
    );
    let visit = HandoverVisit {
        case_number: &number,
        device_id: "T08",
        date: "2026-12-01",
        time: "10:30",
        whom: Some(Whom::of(&case)),
    };
    let refused = handover::plan(&planning, &visit, "operator", now()).unwrap();
    let Err(refusal @ PlanRefused::NotReady(_)) = refused else {
        panic!("planning a case not ready: {refused:?}");
    };
    assert_eq!(
        refusal.sentence(Lang::Uk),
        "Видачу можна запланувати лише для справи, результат якої готовий до видачі; ця справа в стані «Прийнято, чекає передачі». Нічого не заплановано."
    );
    assert!(server.meta.handover_plans(&number).unwrap().is_empty());

    // The central system: forwarded to the provider, issued, ready — each signed.
    for (id, step) in [
        ("ev-1", serde_json::json!({"type": "forwarded_to_provider"})),
        (
            "ev-2",
            serde_json::json!({"type": "decision", "decision": "issued"}),
        ),
        ("ev-3", serde_json::json!({"type": "result_ready"})),
    ] {
        let mut event = step;
        event["event_id"] = id.into();
        event["case_number"] = number.clone().into();
        event["at"] = "2026-11-30T10:00:00+02:00".into();
        assert_eq!(
            runtime.block_on(central_event(&server, &events_key, event)),
            200
        );
    }
    let state = |db: &OfficeDb| {
        register::get(db, &number)
            .unwrap()
            .unwrap()
            .state
            .name()
            .to_owned()
    };
    assert_eq!(state(&db), "result_ready");

    // Staff plan the hand-over for tablet B; B syncs and finds it on «Сьогодні».
    handover::plan(&planning, &visit, "operator", now())
        .unwrap()
        .unwrap();
    sync_by_touch(&app);
    let button = format!("Видати результат {WHEN}");
    wait_for(&app, "the hand-over visit", |app| has(app, &button));
    assert!(
        has_containing(&app, "Видача результату"),
        "{:?}",
        labels(&app)
    );
    assert!(has(&app, &format!("Справа {number}")), "{:?}", labels(&app));
    assert!(
        has_containing(&app, "00001 Декларування місця проживання"),
        "{:?}",
        labels(&app)
    );
    assert!(has(&app, "Гнатюк Ганна Петрівна"), "{:?}", labels(&app));

    // Straight to the hand-over step of that case: the applicant signs, the administrator
    // confirms.
    tap(&app, &button);
    assert_eq!(screen(&app), Screen::Cases);
    assert!(has(&app, &format!("Справа {number}")), "{:?}", labels(&app));
    assert!(
        has(&app, "Заявник підписує, що отримав результат."),
        "{:?}",
        labels(&app)
    );
    draw_signature(&app, "Підпис заявника");
    tap(&app, "Підтвердити");
    assert!(
        has_containing(&app, "Видачу результату записано й запечатано."),
        "{:?}",
        labels(&app)
    );
    tap(&app, "Гаразд");
    tap(&app, "Назад");
    sync_by_touch(&app);
    let handover_envelope = format!("env-handover-{}", number.replace('/', "-"));
    wait_for(&app, "the hand-over synced", |app| {
        has(app, "Усе доставлено")
            && server
                .meta
                .supplement(&handover_envelope)
                .unwrap()
                .is_some()
    });
    // Done: the visit has left «Сьогодні».
    assert_eq!(screen(&app), Screen::Today);
    assert!(!has(&app, &button), "{:?}", labels(&app));

    // The server takes the hand-over into the case: delivered, the central system told.
    office_look(&server, &db, &blobs);
    assert_eq!(state(&db), "delivered");
    let supplement = server.meta.supplement(&handover_envelope).unwrap().unwrap();
    assert_eq!(supplement.envelope.device_id, "T08");
    assert!(supplement.refused.is_none());
    assert!(
        fieldkit_sync_server::central::outbox::outbox_entry(&db, &handover_envelope)
            .unwrap()
            .is_some()
    );

    // Both feeds say delivered; C's holds nothing of the case.
    let a_statuses = runtime.block_on(statuses(&a, &number));
    assert!(
        a_statuses.contains(&"delivered".to_owned()),
        "{a_statuses:?}"
    );
    let b_statuses: Vec<String> = server
        .meta
        .status_events("T08", 0, 1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.case_number == number)
        .map(|e| e.status.name().to_owned())
        .collect();
    assert!(
        b_statuses.contains(&"delivered".to_owned()),
        "{b_statuses:?}"
    );
    assert!(runtime.block_on(c.status(0)).unwrap().0.is_empty());
    // B reads it by its own sync: «Справи» shows the case handed over.
    tap(&app, "Налаштування");
    tap(&app, "Синхронізувати зараз");
    wait_for(&app, "the delivered status", |app| {
        has_containing(app, "нових статусів: 1")
    });
    tap(&app, "Назад");
    tap(&app, "Справи");
    assert!(
        has_containing(
            &app,
            &format!("{number} · 00001 · доставлено · Результат видано")
        ),
        "{:?}",
        labels(&app)
    );

    tap(&app, "Заблокувати");
    drop(app);
    server.stop();
}
