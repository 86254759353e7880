//! Render every screen to PNG, in Ukrainian and English, at 1280×800 and 1920×1200, with the
//! software renderer (no display needed):
//!
//!     cargo run -p fieldkit-app --example screenshots -- target/screenshots
//!
//! It runs the demo (a real server on loopback, SANE's test scanner when installed) and walks a
//! visit through the same callbacks the buttons call.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fieldkit_app::config::AppConfig;
use fieldkit_app::i18n::{Lang, apply};
use fieldkit_app::ui::*;
use fieldkit_app::{RunningApp, demo};
use i_slint_backend_testing::{ElementHandle, TestingBackend, TestingBackendOptions};
use slint::platform::{PointerEventButton, WindowEvent};
use slint::{ComponentHandle, LogicalPosition, LogicalSize, Model};

const SIZES: [(f32, f32); 2] = [(1280.0, 800.0), (1920.0, 1200.0)];

fn shoot(app: &RunningApp, out: &Path, name: &str) -> Result<(), Box<dyn std::error::Error>> {
    for lang in [Lang::Uk, Lang::En] {
        apply(lang);
        for (width, height) in SIZES {
            app.window
                .window()
                .set_size(LogicalSize::new(width, height));
            let shot = app.window.window().take_snapshot()?;
            let file = out.join(format!(
                "{name}-{}-{}x{}.png",
                lang.code(),
                width as u32,
                height as u32
            ));
            image::RgbaImage::from_raw(shot.width(), shot.height(), shot.as_bytes().to_vec())
                .ok_or("snapshot size")?
                .save(&file)?;
            println!("{}", file.display());
        }
    }
    apply(Lang::Uk);
    app.window
        .window()
        .set_size(LogicalSize::new(1920.0, 1200.0));
    Ok(())
}

fn wait(app: &RunningApp, mut done: impl FnMut(&RunningApp) -> bool) {
    let start = Instant::now();
    while !done(app) && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
        app.pump();
    }
}

/// Draws two strokes inside the pad with this accessible label, wherever the layout put it.
fn sign_on_pad(app: &RunningApp, pad_label: &str) -> Result<(), Box<dyn std::error::Error>> {
    let pad = ElementHandle::find_by_accessible_label(&app.window, pad_label)
        .next()
        .ok_or_else(|| format!("no signature pad labelled {pad_label:?} on screen"))?;
    let origin = pad.absolute_position();
    let size = pad.size();
    let window = app.window.window();
    for stroke in 0..2 {
        let at = |t: f32| {
            LogicalPosition::new(
                origin.x + size.width * (0.1 + 0.8 * t),
                origin.y
                    + size.height * (0.35 + 0.25 * stroke as f32)
                    + size.height * 0.12 * (t * 15.0).sin(),
            )
        };
        window.dispatch_event(WindowEvent::PointerPressed {
            position: at(0.0),
            button: PointerEventButton::Left,
        });
        for step in 1..=50 {
            window.dispatch_event(WindowEvent::PointerMoved {
                position: at(step as f32 / 50.0),
            });
            std::thread::sleep(Duration::from_millis(5));
        }
        window.dispatch_event(WindowEvent::PointerReleased {
            position: at(1.0),
            button: PointerEventButton::Left,
        });
    }
    app.pump();
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/screenshots".into()),
    );
    std::fs::create_dir_all(&out)?;
    slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
        mock_time: false,
        threading: false,
        renderer_name: Some("software".into()),
    })))
    .map_err(|e| format!("{e:?}"))?;
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets");
    let folder = tempfile::tempdir()?;

    // First run, before enrollment.
    let fresh = fieldkit_app::build(AppConfig::new(folder.path().join("fresh"), assets.clone()))?;
    fresh.window.show()?;
    shoot(&fresh, &out, "01-enroll")?;
    drop(fresh);

    let mut config = AppConfig::new(folder.path().join("tablet"), assets);
    let _demo = demo::prepare(&mut config)?;
    let app = fieldkit_app::build(config)?;
    app.window.show()?;
    app.window
        .window()
        .set_size(LogicalSize::new(1920.0, 1200.0));
    shoot(&app, &out, "02-unlock")?;

    app.window
        .global::<UnlockPage>()
        .set_passphrase(demo::DEMO_PASSPHRASE.into());
    app.window.global::<UnlockPage>().invoke_unlock();
    wait(&app, |a| {
        a.window.global::<TodayPage>().get_visits().row_count() > 0
    });
    shoot(&app, &out, "03-today")?;

    app.window.global::<TodayPage>().invoke_new_visit();
    let service = app.window.global::<ServicePage>();
    service.invoke_set_browse(0);
    service.invoke_open_group("residence".into());
    service.invoke_open_card("00001".into());
    app.pump();
    shoot(&app, &out, "04-service")?;
    service.invoke_choose();

    let applicant = app.window.global::<ApplicantPage>();
    applicant.set_surname("Шевченко".into());
    applicant.set_given_name("Марія".into());
    applicant.set_patronymic("Іванівна".into());
    applicant.set_rnokpp("1687545620".into());
    applicant.set_birth_date("15.03.1946".into());
    applicant.set_address("м. Львів, вул. Зелена, 12, кв. 3".into());
    applicant.set_phone("067 123 45 67".into());
    applicant.invoke_changed();
    shoot(&app, &out, "05-applicant")?;
    applicant.invoke_next();

    let documents = app.window.global::<DocumentsPage>();
    for requirement in ["declaration", "passport"] {
        documents.invoke_select(requirement.into());
        documents.invoke_scan();
        wait(&app, |a| !a.window.global::<App>().get_busy());
    }
    documents.invoke_fee_chosen(1);
    documents.invoke_fee_ground_edited("особа з інвалідністю I групи".into());
    app.pump();
    shoot(&app, &out, "06-documents")?;
    documents.invoke_next();

    let form = app.window.global::<FormPage>();
    form.invoke_field_edited("previous_address".into(), "м. Київ, вул. Садова, 1".into());
    form.invoke_field_edited(
        "new_address".into(),
        "м. Львів, вул. Зелена, 12, кв. 3".into(),
    );
    form.invoke_field_edited("housing_basis".into(), "власник".into());
    app.pump();
    shoot(&app, &out, "07-form")?;
    form.invoke_next();
    shoot(&app, &out, "08-choices")?;
    app.window.global::<ChoicesPage>().invoke_next();
    shoot(&app, &out, "09-inventory")?;

    let sign = app.window.global::<SignPage>();
    sign.invoke_sign_in_ink();
    app.pump();
    shoot(&app, &out, "09b-ink")?;
    app.window.global::<InkPage>().invoke_done();
    sign.invoke_hand_to_applicant();
    app.pump();
    sign_on_pad(&app, "Підпис заявника")?;
    shoot(&app, &out, "10-applicant-signs")?;
    finish(&app, &out)
}

fn finish(app: &RunningApp, out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let sign = app.window.global::<SignPage>();
    sign.invoke_sign();
    sign.set_leave_passphrase(demo::DEMO_PASSPHRASE.into());
    sign.invoke_leave_applicant_mode();
    sign_on_pad(app, "Підпис адміністратора")?;
    sign.invoke_sign();
    app.pump();
    sign.invoke_seal();
    app.pump();
    shoot(app, out, "11-receipt")?;
    app.window.global::<ReceiptPage>().invoke_done();
    wait(app, |a| {
        a.window.global::<App>().get_waiting() == 0 && a.window.global::<App>().get_online()
    });
    app.window.global::<App>().invoke_navigate(Screen::Cases);
    app.pump();
    shoot(app, out, "12-cases")?;
    app.window.global::<App>().invoke_navigate(Screen::Settings);
    shoot(app, out, "13-settings")?;
    app.window.global::<App>().invoke_navigate(Screen::About);
    shoot(app, out, "14-about")?;
    app.window.global::<App>().set_keyboard_open(true);
    app.window.global::<App>().invoke_navigate(Screen::Settings);
    shoot(app, out, "15-keyboard")?;
    Ok(())
}
