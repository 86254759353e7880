#![allow(clippy::unwrap_used)]
//! Enrollment kept in the vault (encrypted), read back after locking and unlocking, used to
//! seal and push a case; the catalog, visits and a wipe command pulled into the vault.

use std::sync::Arc;

use fieldkit_e2e::sync::{
    FeedsApplied, Resume, enrolled_from_vault, pull_feeds, push_outbox, save_enrollment,
};
use fieldkit_sync_client::enroll;
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
async fn an_enrolled_tablet_keeps_its_keys_in_the_vault_and_applies_the_feeds() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(&dir.path().join("server"), now)
        .await
        .unwrap();
    server.enroll_code("VAULT-0001", now()).unwrap();
    let enrollment = enroll(&server.url, &server.server_ca, "VAULT-0001", "T07")
        .await
        .unwrap();
    let path = dir.path().join("vault.sqlite");
    let mut vault = Vault::create(
        &path,
        "Адміністратор",
        "пароль-планшета",
        VaultOptions::default(),
        Arc::new(Fixed),
    )
    .unwrap();
    save_enrollment(&mut vault, &server.url, &server.server_ca, &enrollment).unwrap();
    drop(enrollment);

    // Lock, unlock: everything needed to sync comes from the vault.
    let locked = vault.lock();
    let slot = locked.slots().unwrap()[0].slot_id.clone();
    let mut vault = locked.unlock(&slot, "пароль-планшета").unwrap();
    let enrolled = enrolled_from_vault(&mut vault).unwrap();

    vault.put_draft("case-1", "registered", b"{}").unwrap();
    vault.put_blob("case-1", "page", 0, &[5u8; 50_000]).unwrap();
    vault.put_draft("case-2", "draft", b"{}").unwrap();
    vault
        .seal_case(&SealCase {
            case_id: "case-1",
            envelope_id: "env-1",
            case_number: "LV01/T07/2026/000001-0",
            recipient: &enrolled.sealing_key,
            device: &enrolled.device,
        })
        .unwrap();
    assert_eq!(
        push_outbox(&mut vault, &enrolled.client, &mut Resume::new())
            .await
            .unwrap(),
        1
    );
    assert!(server.meta.envelope("env-1").unwrap().is_some());

    // Feeds: a catalog, a visit and a wipe command.
    let demo = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/catalog/catalog.toml"
    ))
    .unwrap();
    server.meta.publish_catalog(1, &demo, now()).unwrap();
    server
        .meta
        .plan_visit("T07", r#"{"place":"care_facility"}"#, now())
        .unwrap();
    let applied = pull_feeds(&mut vault, &enrolled.client).await.unwrap();
    assert_eq!(
        applied,
        FeedsApplied {
            sealing_key_rotated: None,
            catalog_version: Some(1),
            new_visits: 1,
            drafts_wiped: 0,
            certificate_renewed: false,
        }
    );
    let catalog = vault.get_setting("catalog.toml").unwrap().unwrap();
    assert!(String::from_utf8_lossy(&catalog).contains("Декларування місця проживання"));
    // A second pull brings nothing new.
    assert_eq!(
        pull_feeds(&mut vault, &enrolled.client).await.unwrap(),
        FeedsApplied::default()
    );
    // A wipe (the whole lost-tablet path is in lost_tablet.rs) removes the drafts and the
    // enrollment with them.
    server.meta.add_command("T07", "wipe", now()).unwrap();
    let applied = pull_feeds(&mut vault, &enrolled.client).await.unwrap();
    assert_eq!(applied.drafts_wiped, 1);
    assert!(vault.list_drafts().unwrap().is_empty());
    assert!(enrolled_from_vault(&mut vault).is_err());
    server.stop();
}
