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

/// A server on `dir`, and a tablet `device_id` enrolled with it whose vault (unlocked) keeps
/// the enrollment.
async fn enrolled_tablet(
    dir: &std::path::Path,
    device_id: &str,
) -> (LocalServer, fieldkit_vault::UnlockedVault) {
    let server = LocalServer::start(&dir.join("server"), now).await.unwrap();
    server.enroll_code("LOST-CODE", now()).unwrap();
    let enrollment = enroll(&server.url, &server.server_ca, "LOST-CODE", device_id)
        .await
        .unwrap();
    let mut vault = Vault::create(
        &dir.join("vault.sqlite"),
        "Адміністратор",
        "пароль-планшета",
        VaultOptions::default(),
        Arc::new(Fixed),
    )
    .unwrap();
    save_enrollment(&mut vault, &server.url, &server.server_ca, &enrollment).unwrap();
    (server, vault)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_tablet_is_revoked_wiped_and_its_unsynced_cases_are_known() {
    let dir = tempfile::tempdir().unwrap();
    let (server, mut vault) = enrolled_tablet(dir.path(), "T09").await;
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

/// Usually a lost tablet is locked, and its full credential is in its vault. The command-only
/// credential it keeps beside the vault picks up the wipe anyway; it opens nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_lost_tablet_is_wiped_through_its_command_only_credential() {
    use fieldkit_app::command_credential::{CommandCredential, path_beside, wipe_if_commanded};
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let (server, mut vault) = enrolled_tablet(dir.path(), "T10").await;
    let vault_path = dir.path().join("vault.sqlite");
    vault
        .put_draft("case-1", "draft", "Шевченко Марія".as_bytes())
        .unwrap();
    let enrolled = enrolled_from_vault(&mut vault).unwrap();
    // An unlocked sync pass leaves the credential beside the vault, for the owner only.
    pull_feeds(&mut vault, &enrolled.client).await.unwrap();
    let credential_path = path_beside(&vault_path);
    let mode = std::fs::metadata(&credential_path)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let credential = CommandCredential::load(&credential_path).unwrap().unwrap();
    let commands_only = credential.client().unwrap();

    // With it the server hands over commands and nothing else: no status, no visits (names,
    // addresses), no uploads, no new certificates.
    assert_eq!(
        commands_only.commands().await.unwrap(),
        Vec::<String>::new()
    );
    for (index, refused) in [
        commands_only.status(0).await.err(),
        commands_only.visits(0).await.err(),
        commands_only.current_device_ca().await.err(),
        commands_only.renew_certificate().await.err(),
        commands_only.command_certificate().await.err(),
    ]
    .into_iter()
    .enumerate()
    {
        let error =
            refused.unwrap_or_else(|| panic!("call {index}: the command credential was served"));
        assert!(
            matches!(error, SyncError::Refused { status: 401, .. }),
            "{error:?}"
        );
    }
    let upload = commands_only
        .upload_envelope(
            "env-x",
            &fieldkit_protocol::SealedEnvelope {
                manifest_bytes: b"{}".to_vec(),
                signature: vec![0; 64],
                parts: vec![b"x".to_vec()],
            },
            &mut std::collections::BTreeMap::new(),
            &mut |_| {},
        )
        .await;
    assert!(upload.is_err());

    // One command credential per tablet: a newer one turns the older away. A tablet without
    // one (enrolled before they existed, or its file lost) gets one at its next unlocked pass.
    enrolled.client.command_certificate().await.unwrap();
    let replaced = commands_only.commands().await.unwrap_err();
    assert!(
        matches!(replaced, SyncError::Refused { status: 401, .. }),
        "{replaced:?}"
    );
    CommandCredential::remove(&credential_path).unwrap();
    pull_feeds(&mut vault, &enrolled.client).await.unwrap();
    assert!(credential_path.exists());

    // Locked (the keys leave memory); nothing queued: the check changes nothing.
    drop(vault.lock());
    assert!(!wipe_if_commanded(&vault_path).await.unwrap());
    assert!(vault_path.exists());

    // Lost: revoked and a wipe queued. The locked tablet's next check shreds its vault.
    server.meta.revoke_device("T10").unwrap();
    server.meta.add_command("T10", "wipe", now()).unwrap();
    assert!(wipe_if_commanded(&vault_path).await.unwrap());
    assert!(!vault_path.exists());
    assert!(!credential_path.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "server")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // The wipe was handed over once.
    let overview = server.meta.devices().unwrap();
    let lost = overview.iter().find(|d| d.device_id == "T10").unwrap();
    assert_eq!(lost.pending_commands, 0);
    server.stop();
}
