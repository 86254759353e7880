#![allow(clippy::unwrap_used)]
//! A lost tablet, end to end: its last report tells the centre which sealed case never
//! arrived; the operator revokes it and queues a wipe; at its next contact it is refused
//! everything but the wipe, which removes its drafts, visits and enrollment keys while the
//! case already delivered stays delivered on the server.

use std::sync::Arc;

use fieldkit_e2e::sync::{
    Resume, apply_commands, enrolled_from_vault, pull_feeds, push_outbox, report, save_enrollment,
};
use fieldkit_sync_client::{SyncError, enroll};
use fieldkit_sync_server::local::LocalServer;
use fieldkit_sync_server::store::MetadataStore;
use fieldkit_vault::{Clock, SealCase, Vault, VaultOptions};

fn now() -> i64 {
    1_795_000_000
}

struct Fixed;
impl Clock for Fixed {
    fn now(&self) -> i64 {
        now()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_tablet_is_revoked_wiped_and_its_unsynced_cases_are_known() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(&dir.path().join("server"), now)
        .await
        .unwrap();
    server.enroll_code("LOST-0001", now()).unwrap();
    let enrollment = enroll(&server.url, &server.server_ca, "LOST-0001", "T09")
        .await
        .unwrap();
    let mut vault = Vault::create(
        &dir.path().join("vault.sqlite"),
        "Адміністратор",
        "пароль-планшета",
        VaultOptions::default(),
        Arc::new(Fixed),
    )
    .unwrap();
    save_enrollment(&mut vault, &server.url, &server.server_ca, &enrollment).unwrap();
    let enrolled = enrolled_from_vault(&mut vault).unwrap();
    server
        .meta
        .plan_visit(
            "T09",
            r#"{"place":"home","applicant":"Шевченко Марія"}"#,
            now(),
        )
        .unwrap();
    pull_feeds(&mut vault, &enrolled.client).await.unwrap();

    // One case delivered, one sealed while offline, one visit half-way.
    for (case, number) in [
        ("case-1", "LV01/T09/2026/000001-0"),
        ("case-2", "LV01/T09/2026/000002-0"),
    ] {
        vault.put_draft(case, "registered", b"{}").unwrap();
        vault.put_blob(case, "page", 0, &[5u8; 20_000]).unwrap();
        vault
            .seal_case(&SealCase {
                case_id: case,
                envelope_id: &format!("env-{case}"),
                case_number: number,
                recipient: &enrolled.sealing_key,
                device: &enrolled.device,
            })
            .unwrap();
        if case == "case-1" {
            push_outbox(&mut vault, &enrolled.client, &mut Resume::new())
                .await
                .unwrap();
        }
    }
    vault
        .put_draft("case-3", "applicant", r#"{"surname":"Бондар"}"#.as_bytes())
        .unwrap();
    let sent = report(&mut vault, &enrolled.client).await.unwrap();
    assert_eq!(sent.waiting_cases, ["LV01/T09/2026/000002-0"]);

    // The tablet is lost. The operator sees what never arrived, revokes it, queues a wipe.
    assert_eq!(
        server.meta.unsynced("T09").unwrap(),
        ["LV01/T09/2026/000002-0"]
    );
    server.meta.revoke_device("T09").unwrap();
    server.meta.add_command("T09", "wipe", now()).unwrap();
    let overview = server.meta.devices().unwrap();
    let lost = overview.iter().find(|d| d.device_id == "T09").unwrap();
    assert!(lost.revoked);
    assert_eq!(
        (lost.received, lost.unsynced, lost.pending_commands),
        (1, 1, 1)
    );

    // Its next contact: uploads are refused with a message a person understands…
    let refused = push_outbox(&mut vault, &enrolled.client, &mut Resume::new())
        .await
        .unwrap_err();
    let fieldkit_e2e::sync::SyncPassError::Sync(error) = refused else {
        panic!("{refused:?}")
    };
    assert!(
        matches!(error, SyncError::Refused { status: 403, .. }),
        "{error:?}"
    );
    assert!(error.message_uk().contains("відхилив планшет"));
    // …but the wipe arrives and runs.
    let applied = apply_commands(&mut vault, &enrolled.client).await.unwrap();
    assert!(applied.wiped);
    assert_eq!(applied.drafts_wiped, 1);
    assert!(vault.list_drafts().unwrap().is_empty());
    assert!(vault.get_setting("visit.1").unwrap().is_none());
    let not_enrolled = enrolled_from_vault(&mut vault).err().unwrap();
    assert!(
        not_enrolled.to_string().contains("not enrolled"),
        "{not_enrolled}"
    );
    // Nothing else is served to it, and the wipe is handed over once.
    assert!(enrolled.client.visits(0).await.is_err());
    assert_eq!(
        apply_commands(&mut vault, &enrolled.client).await.unwrap(),
        Default::default()
    );
    // What was delivered before stays delivered and readable by the server.
    assert!(server.meta.envelope("env-case-1").unwrap().is_some());
    server.stop();
}
