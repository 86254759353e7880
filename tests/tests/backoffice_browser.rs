#![allow(clippy::unwrap_used)]
//! The back-office in a real browser: Debian's Chromium, headless, through ChromeDriver and
//! Selenium (tests/browser/backoffice.py), against a server holding real synced cases.
//! tests/run.sh installs chromium, chromium-driver and selenium.

use fieldkit_e2e::office::{OPERATOR, PASSWORD, SUPERVISOR, office_fixture};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_work_the_back_office_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = office_fixture(dir.path()).await.unwrap();
    let shots = dir.path().join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/browser/backoffice.py");
    let url = fixture.server.url.clone();
    let args = [
        url,
        OPERATOR.to_owned(),
        SUPERVISOR.to_owned(),
        PASSWORD.to_owned(),
        fixture.cases[0].clone(),
        fixture.cases[1].clone(),
        shots.display().to_string(),
    ];
    // The browser runs beside the server's own runtime thread; wait for it off the runtime.
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg(script)
            .args(&args)
            .output()
            .expect("python3 with selenium (tests/run.sh installs it)")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("every step passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for shot in ["inbox.png", "case.png", "reconciliation.png"] {
        assert!(image::open(shots.join(shot)).is_ok(), "{shot}");
    }
    // What the browser did is on the server: one accepted, one returned.
    let (events, _) = fixture.tablets[1].status(0).await.unwrap();
    assert!(events.iter().any(|e| e.status.as_str() == "returned"));
    if std::env::var_os("FIELDKIT_KEEP_SCREENSHOTS").is_some() {
        let keep = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../target/backoffice-screenshots");
        std::fs::create_dir_all(&keep).unwrap();
        for shot in ["inbox.png", "case.png", "reconciliation.png"] {
            std::fs::copy(shots.join(shot), keep.join(shot)).unwrap();
        }
    }
}
