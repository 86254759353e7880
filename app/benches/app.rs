//! The tablet app's figures: cold start to the unlock screen, memory with a 30-page case open,
//! and the time from the administrator's "sign" to the case sealed for a 20-page case, beside
//! sealing the same pages with the protocol crate alone (the raw peer).
//!
//!     cargo bench -p fieldkit-app
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use fieldkit_app::config::AppConfig;
use fieldkit_app::controller::capture::CapturedPage;
use fieldkit_app::ui::*;
use fieldkit_app::{RunningApp, demo};
use fieldkit_domain::case::CaptureMethod;
use fieldkit_protocol::{DeviceSigningKey, PartKind, PlainPart, SealRequest, SealingKeyPair, seal};
use i_slint_backend_testing::{TestingBackend, TestingBackendOptions};
use slint::{ComponentHandle, LogicalSize};

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// A scanned A4 page at 300 dpi: lines of text, a photo, and the grain of a real scanner (without
/// it the pipeline stores a tiny PNG and every figure below would flatter us).
fn a4_page() -> fieldkit_capture::pipeline::ProcessedPage {
    let mut grain_state: u32 = 0x2545_f491;
    let page = image::GrayImage::from_fn(2480, 3508, |x, y| {
        grain_state ^= grain_state << 13;
        grain_state ^= grain_state >> 17;
        grain_state ^= grain_state << 5;
        let grain = (grain_state % 9) as i32 - 4;
        let line = y / 50;
        let photo = (1700..2200).contains(&x) && (300..950).contains(&y);
        let text = x > 200 && x < 2280 && y > 250 && y < 3250 && y % 50 < 28;
        let ink = text && (x / 22 + line * 5) % 9 != 0 && x % 22 < 15 && (x % 22 < 3 || y % 50 < 3);
        let base: i32 = if photo {
            60 + ((x - 1700) / 3 + (y - 300) / 5) as i32 % 150
        } else if ink {
            25
        } else {
            238
        };
        image::Luma([(base + grain).clamp(0, 255) as u8])
    });
    let png = fieldkit_capture::pipeline::encode_png(&page).unwrap().bytes;
    fieldkit_capture::pipeline::process_page(&png, Some(300)).unwrap()
}

fn wait(app: &RunningApp, mut done: impl FnMut(&RunningApp) -> bool) {
    let start = Instant::now();
    while !done(app) && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(10));
        app.pump();
    }
}

/// A visit up to the documents screen with `pages` pages on the declaration.
fn visit_with_pages(
    app: &RunningApp,
    page: &fieldkit_capture::pipeline::ProcessedPage,
    pages: usize,
) {
    app.window.global::<TodayPage>().invoke_new_visit();
    let service = app.window.global::<ServicePage>();
    service.invoke_open_card("00001".into());
    service.invoke_choose();
    let applicant = app.window.global::<ApplicantPage>();
    applicant.set_surname("Шевченко".into());
    applicant.set_given_name("Марія".into());
    applicant.set_rnokpp("1687545620".into());
    applicant.set_birth_date("15.03.1946".into());
    applicant.set_address("м. Львів, вул. Зелена, 12, кв. 3".into());
    applicant.set_phone("067 123 45 67".into());
    applicant.invoke_next();
    let captured = (0..pages)
        .map(|_| CapturedPage {
            page: page.clone(),
            qr_codes: Vec::new(),
        })
        .collect();
    let mut controller = app.controller.borrow_mut();
    controller
        .store_pages(
            &app.window,
            "declaration",
            CaptureMethod::Imported,
            captured,
            Vec::new(),
        )
        .unwrap();
    controller
        .store_pages(
            &app.window,
            "passport",
            CaptureMethod::Imported,
            vec![CapturedPage {
                page: page.clone(),
                qr_codes: Vec::new(),
            }],
            Vec::new(),
        )
        .unwrap();
    drop(controller);
    // The applicant pays the fee after the visit: no payment document in the package.
    app.window.global::<DocumentsPage>().invoke_fee_chosen(2);
}

fn sign_with_finger(app: &RunningApp) {
    let mut controller = app.controller.borrow_mut();
    for i in 0..300 {
        let t = i as f32 / 300.0;
        controller.pad.point(
            40.0 + 900.0 * t,
            120.0 + 40.0 * (t * 30.0).sin(),
            1000.0,
            240.0,
            i == 0,
        );
    }
    controller.pad.lift();
}

/// The child of the cold-start figure: build the app on an existing data directory and draw the
/// unlock screen once.
fn draw_unlock_screen(data_dir: &str, assets: &str) {
    let app = fieldkit_app::build(AppConfig::new(data_dir.into(), assets.into())).unwrap();
    app.window.show().unwrap();
    app.window
        .window()
        .set_size(LogicalSize::new(1280.0, 800.0));
    app.window.window().take_snapshot().unwrap();
    assert_eq!(app.window.global::<App>().get_screen(), Screen::Unlock);
    println!("unlock screen drawn");
}

fn main() {
    slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
        mock_time: false,
        threading: false,
        renderer_name: Some("software".into()),
    })))
    .unwrap();
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--draw-unlock-screen") {
        draw_unlock_screen(&args[at + 1], &args[at + 2]);
        return;
    }
    let assets = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets");
    let folder = tempfile::tempdir().unwrap();
    let mut config = AppConfig::new(folder.path().join("tablet"), assets.clone());
    let _demo = demo::prepare(&mut config).unwrap();

    // Cold start: a new process (loading, fonts, catalog and calendar, vault opened, window built
    // and drawn once), timed from spawn until it reports the unlock screen drawn.
    let mut cold = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .arg("--draw-unlock-screen")
            .arg(folder.path().join("tablet"))
            .arg(&assets)
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&output.stdout).contains("unlock screen drawn"));
        cold.push(start.elapsed());
    }
    cold.sort();
    println!(
        "cold start to the unlock screen: {:.0} ms median of 5 (new process until the first frame is drawn; min {:.0}, max {:.0})",
        cold[2].as_secs_f64() * 1e3,
        cold[0].as_secs_f64() * 1e3,
        cold[4].as_secs_f64() * 1e3
    );
    let app = fieldkit_app::build(config).unwrap();
    app.window.show().unwrap();
    app.window
        .window()
        .set_size(LogicalSize::new(1280.0, 800.0));

    app.window
        .global::<UnlockPage>()
        .set_passphrase(demo::DEMO_PASSPHRASE.into());
    app.window.global::<UnlockPage>().invoke_unlock();
    wait(&app, |a| a.window.global::<App>().get_online());
    let page = a4_page();
    println!(
        "page: {} KiB {}",
        page.image.bytes.len() / 1024,
        page.image.mime
    );

    // Memory: a 30-page case opened from the vault (thumbnails decoded from the stored pages).
    let before = rss_kib("VmRSS:");
    visit_with_pages(&app, &page, 30);
    app.controller.borrow_mut().thumbnails.clear();
    app.window
        .global::<DocumentsPage>()
        .invoke_select("declaration".into());
    app.window.window().take_snapshot().unwrap();
    let after = rss_kib("VmRSS:");
    println!(
        "memory with a 30-page case open: RSS {} MiB (+{} MiB over the unlocked app), peak {} MiB",
        after / 1024,
        after.saturating_sub(before) / 1024,
        rss_kib("VmHWM:") / 1024
    );
    let lock = app.window.global::<App>();
    lock.invoke_lock();

    // Sign → sealed, 20 pages.
    app.window
        .global::<UnlockPage>()
        .set_passphrase(demo::DEMO_PASSPHRASE.into());
    app.window.global::<UnlockPage>().invoke_unlock();
    let app_ref = &app;
    {
        let mut controller = app_ref.controller.borrow_mut();
        controller.draft = None;
    }
    let mut runs = Vec::new();
    for _ in 0..3 {
        visit_with_pages(&app, &page, 19);
        let form = app.window.global::<FormPage>();
        form.invoke_field_edited("previous_address".into(), "м. Київ".into());
        form.invoke_field_edited("new_address".into(), "м. Львів".into());
        form.invoke_field_edited("housing_basis".into(), "власник".into());
        form.invoke_next();
        app.window.global::<ChoicesPage>().invoke_next();
        let sign = app.window.global::<SignPage>();
        sign.invoke_hand_to_applicant();
        sign_with_finger(&app);
        sign.invoke_sign();
        sign.set_leave_passphrase(demo::DEMO_PASSPHRASE.into());
        sign.invoke_leave_applicant_mode();
        sign_with_finger(&app);
        let start = Instant::now();
        sign.invoke_sign();
        sign.invoke_seal();
        runs.push(start.elapsed());
        assert_eq!(
            app.window.global::<App>().get_screen(),
            Screen::Receipt,
            "sealed"
        );
        app.window.global::<ReceiptPage>().invoke_done();
    }
    runs.sort();
    let rng = ring::rand::SystemRandom::new();
    let server = SealingKeyPair::generate("bench", &rng).unwrap();
    let device = DeviceSigningKey::generate("B01", &rng).unwrap();
    let parts: Vec<PlainPart> = (0..20)
        .map(|_| PlainPart::new(PartKind::Page, page.image.bytes.clone()))
        .collect();
    let start = Instant::now();
    for _ in 0..3 {
        seal(
            &SealRequest {
                envelope_id: "e",
                case_number: "n",
                created_at: 0,
                parts: &parts,
            },
            &server.public_key(),
            &device,
            &rng,
        )
        .unwrap();
    }
    let raw = start.elapsed() / 3;
    println!(
        "sign → sealed, 20-page case: {:.0} ms median of 3 (signature, inventory PDF, one vault transaction); raw protocol seal of the same pages {:.0} ms; ratio {:.1}",
        runs[1].as_secs_f64() * 1e3,
        raw.as_secs_f64() * 1e3,
        runs[1].as_secs_f64() / raw.as_secs_f64()
    );
}
