#![allow(clippy::unwrap_used)]
//! Every public page in a real browser, checked for accessibility: Debian's Chromium, headless,
//! through ChromeDriver and Selenium, with axe-core injected into each page
//! (tests/browser/public_pages.py): no WCAG 2.1 A/AA violation, nothing wider than a phone's
//! screen, no button or field too small to touch, at phone and desktop size; a phone-size
//! screenshot of each page is kept. tests/run.sh installs chromium, chromium-driver, selenium
//! and (npm ci in tests/browser) axe-core.

use std::path::Path;

use fieldkit_domain::workflow::CaseState;
use fieldkit_sync_server::central::{CentralConfig, NotifyConfig, SmtpSecurity};
use fieldkit_sync_server::local::LocalServer;
use fieldkit_sync_server::store::{MetadataStore, TrackedCase, TrackingStore};

/// Every public page the browser checks, by the name of its screenshot. A new public page is
/// added here; a page another branch has not brought yet answers the not-found page, which must
/// pass too.
const PAGES: &[(&str, &str)] = &[
    ("home", "/"),
    ("home-en", "/?lang=en"),
    ("services", "/services"),
    ("services-en", "/services?lang=en"),
    ("search", "/services?q=місце проживання"),
    ("search-nothing", "/services?q=пенсія космодром"),
    ("situation", "/services/situation/residence"),
    ("area", "/services/area/social-protection"),
    ("provider", "/services/provider/lviv-residence"),
    ("card", "/services/00001"),
    ("card-en", "/services/00001?lang=en"),
    ("card-free", "/services/00004"),
    ("centres", "/centres"),
    ("not-found", "/no-such-page"),
    ("track", "/t"),
    ("track-typo", "/t?code=7KQ2-M9XA"),
    ("track-case", "/t/7KQ2M9XA0111000000000000000K"),
    ("track-case-en", "/t/7KQ2M9XA0111000000000000000K?lang=en"),
    (
        "track-done",
        "/t/7KQ2M9XA0111000000000000000K?done=subscribed",
    ),
    ("track-missing", "/t/ZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"),
    ("stop-link", "/stop/00000000000000000000000000000000"),
    ("visit", "/visit"),
];

/// The tracked case the `track-case` pages show: a refusal with its reasons, the deadline
/// counted, and the notices form (a mail channel is configured; the browser only reads pages,
/// so nothing is sent).
const TRACKING_CODE: &str = "7KQ2M9XA0111000000000000000K";

fn now() -> i64 {
    1_795_000_000
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_public_page_passes_axe_at_phone_and_desktop_size() {
    let dir = tempfile::tempdir().unwrap();
    let notify = NotifyConfig {
        smtp_host: Some("127.0.0.1".into()),
        smtp_port: 9,
        smtp_security: SmtpSecurity::None,
        smtp_username: None,
        smtp_password_file: None,
        from: Some("cnap@example.lviv.ua".into()),
        sms_gateway_url: None,
        sms_gateway_token_file: None,
    };
    let server = LocalServer::start_with(
        &dir.path().join("server"),
        now,
        0,
        CentralConfig {
            notify: Some(notify),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let case_number = "LV01/T07/2026/000001-K";
    server
        .meta
        .record_tracked_case(&TrackedCase {
            code_sha256: hex::encode(ring::digest::digest(
                &ring::digest::SHA256,
                TRACKING_CODE.as_bytes(),
            )),
            case_number: case_number.into(),
            service_code: "00011".into(),
            centre_code: "LV01".into(),
            registered_at: now() - 30 * 86_400,
        })
        .unwrap();
    for (state, detail, days_ago) in [
        (CaseState::Received, None, 30),
        (CaseState::Accepted, None, 29),
        (CaseState::Forwarded, None, 29),
        (
            CaseState::Refused,
            Some("Не подано довідку про реєстрацію місця проживання"),
            3,
        ),
    ] {
        server
            .meta
            .add_status_event(case_number, state, detail, now() - days_ago * 86_400)
            .unwrap();
    }
    let catalog = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/catalog/catalog.toml"),
    )
    .unwrap();
    server.meta.publish_catalog(1, &catalog, now()).unwrap();
    let shots = dir.path().join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/browser/public_pages.py");
    let mut args = vec![server.public_url.clone(), shots.display().to_string()];
    args.extend(PAGES.iter().map(|(name, path)| format!("{name}={path}")));
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
    println!("{stdout}");
    assert!(
        output.status.success() && stdout.contains("every page passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // A phone-size picture of each page: the first screen at 390×844 CSS pixels, scale 2.
    for (name, _) in PAGES {
        let (width, height) = image::image_dimensions(shots.join(format!("{name}.png"))).unwrap();
        assert_eq!((width, height), (780, 1688), "{name}");
        let (width, _) = image::image_dimensions(shots.join(format!("{name}-full.png"))).unwrap();
        assert_eq!(width, 780, "{name}");
    }
    // To look at them: FIELDKIT_KEEP_SCREENSHOTS=1 keeps them in target/public-screenshots.
    if std::env::var_os("FIELDKIT_KEEP_SCREENSHOTS").is_some() {
        let keep = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/public-screenshots");
        std::fs::create_dir_all(&keep).unwrap();
        for entry in std::fs::read_dir(&shots).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), keep.join(entry.file_name())).unwrap();
        }
    }
    server.stop();
}
