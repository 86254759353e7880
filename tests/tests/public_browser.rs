#![allow(clippy::unwrap_used)]
//! Every public page in a real browser, checked for accessibility: Debian's Chromium, headless,
//! through ChromeDriver and Selenium, with axe-core injected into each page
//! (tests/browser/public_pages.py): no WCAG 2.1 A/AA violation, nothing wider than a phone's
//! screen, no button or field too small to touch, at phone and desktop size; a phone-size
//! screenshot of each page is kept. tests/run.sh installs chromium, chromium-driver, selenium
//! and (npm ci in tests/browser) axe-core.

use std::path::Path;

use fieldkit_sync_server::local::LocalServer;
use fieldkit_sync_server::store::MetadataStore;

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
    ("visit", "/visit"),
];

fn now() -> i64 {
    1_795_000_000
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_public_page_passes_axe_at_phone_and_desktop_size() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(&dir.path().join("server"), now)
        .await
        .unwrap();
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
