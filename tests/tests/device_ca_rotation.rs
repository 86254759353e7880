#![allow(clippy::unwrap_used)]
//! Rotating the device CA: tablets enrolled under the old CA keep syncing; at their next sync
//! each renews its certificate (a new key made on the tablet) from the new CA and keeps it in
//! the vault; the old CA cannot be retired while a tablet still depends on it, and once it is
//! retired the old certificate is refused while the renewed one works.

use std::sync::Arc;

use fieldkit_e2e::sync::{enrolled_from_vault, pull_feeds, save_enrollment};
use fieldkit_sync_client::enroll;
use fieldkit_sync_server::local::LocalServer;
use fieldkit_sync_server::setup::{retire_device_ca, rotate_device_ca, trusted_device_cas};
use fieldkit_sync_server::store::MetadataStore;
use fieldkit_vault::{Clock, Vault, VaultOptions};

fn now() -> i64 {
    1_795_000_000
}

struct Fixed;
impl Clock for Fixed {
    fn now(&self) -> i64 {
        now()
    }
}

fn port(url: &str) -> u16 {
    url.rsplit(':').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tablets_renew_after_a_device_ca_rotation_and_the_old_ca_retires() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let server = LocalServer::start(&data, now).await.unwrap();
    let url = server.url.clone();
    server.enroll_code("CA-ROTATE-1", now()).unwrap();
    let enrollment = enroll(&url, &server.server_ca, "CA-ROTATE-1", "T12")
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
    save_enrollment(&mut vault, &url, &server.server_ca, &enrollment).unwrap();
    let before = enrolled_from_vault(&mut vault).unwrap();
    assert!(
        !pull_feeds(&mut vault, &before.client)
            .await
            .unwrap()
            .certificate_renewed,
        "nothing to renew before a rotation"
    );
    server.stop();

    // Rotate and restart on the same address.
    assert_eq!(rotate_device_ca(&data).unwrap(), "device-ca-2");
    let server = LocalServer::start_on(&data, now, port(&url)).await.unwrap();
    let cas = trusted_device_cas(&data).unwrap();
    assert_eq!(cas.len(), 2);
    let current = cas.iter().find(|ca| ca.current).unwrap();
    assert_eq!(current.stem, "device-ca-2");

    // The old CA cannot go while T12 has not renewed.
    let waiting = server
        .meta
        .active_devices_without_certificate_from(&current.sha256)
        .unwrap();
    assert_eq!(waiting, ["T12"]);
    let refused = retire_device_ca(&data, "device-ca", &waiting).unwrap_err();
    assert!(refused.to_string().contains("T12"), "{refused}");
    assert!(
        retire_device_ca(&data, "device-ca-2", &[]).is_err(),
        "not the current one"
    );

    // The tablet, still on its old certificate, syncs and renews.
    let old = enrolled_from_vault(&mut vault).unwrap();
    let applied = pull_feeds(&mut vault, &old.client).await.unwrap();
    assert!(applied.certificate_renewed);
    assert!(
        server
            .meta
            .active_devices_without_certificate_from(&current.sha256)
            .unwrap()
            .is_empty()
    );
    let renewed = enrolled_from_vault(&mut vault).unwrap();
    assert!(
        !pull_feeds(&mut vault, &renewed.client)
            .await
            .unwrap()
            .certificate_renewed,
        "renewed once"
    );
    server.stop();

    // Retire the old CA: the old certificate is refused, the renewed one works.
    retire_device_ca(&data, "device-ca", &[]).unwrap();
    assert!(data.join("keys/device-ca.der.retired").exists());
    let server = LocalServer::start_on(&data, now, port(&url)).await.unwrap();
    assert_eq!(trusted_device_cas(&data).unwrap().len(), 1);
    assert!(
        old.client.sealing_key().await.is_err(),
        "old certificate refused"
    );
    renewed.client.sealing_key().await.unwrap();
    pull_feeds(&mut vault, &renewed.client).await.unwrap();
    server.stop();
}
