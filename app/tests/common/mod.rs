//! Driving the app as a person would, headless: find controls by the label a screen reader
//! says, tap them, type into fields, draw on the signature pad.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fieldkit_app::RunningApp;
use fieldkit_app::config::AppConfig;
use i_slint_backend_testing::{ElementHandle, ElementQuery, TestingBackend, TestingBackendOptions};
use slint::platform::{PointerEventButton, WindowEvent};
use slint::{ComponentHandle, LogicalPosition, LogicalSize};

pub fn init_headless() {
    slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
        mock_time: false,
        threading: false,
        renderer_name: Some("software".into()),
    })))
    .expect("the platform is set once per test binary");
}

pub fn assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets")
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub fn config(data: &Path) -> AppConfig {
    let mut config = AppConfig::new(data.to_owned(), assets());
    config.scanner = fieldkit_app::demo::sane_test_scanner(&data.join("sane")).unwrap();
    config.sync_interval = Duration::from_secs(3600);
    config
}

pub fn open(config: AppConfig, width: f32, height: f32) -> RunningApp {
    let app = fieldkit_app::build(config).expect("the app starts");
    app.window
        .window()
        .set_size(LogicalSize::new(width, height));
    app.window.show().unwrap();
    app
}

pub fn labels(app: &RunningApp) -> Vec<String> {
    ElementQuery::from_root(&app.window)
        .find_all()
        .iter()
        .filter_map(|e| e.accessible_label())
        .map(|l| l.to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

pub fn find(app: &RunningApp, label: &str) -> ElementHandle {
    find_all(app, label).into_iter().next().unwrap_or_else(|| {
        panic!(
            "no element labelled {label:?} on screen; labels: {:?}",
            labels(app)
        )
    })
}

pub fn find_all(app: &RunningApp, label: &str) -> Vec<ElementHandle> {
    ElementHandle::find_by_accessible_label(&app.window, label).collect()
}

/// The first element whose label contains `part`.
pub fn find_containing(app: &RunningApp, part: &str) -> ElementHandle {
    let wanted = part.to_owned();
    ElementQuery::from_root(&app.window)
        .match_predicate(move |e| {
            e.accessible_label()
                .is_some_and(|l| l.contains(wanted.as_str()))
        })
        .find_first()
        .unwrap_or_else(|| panic!("nothing on screen contains {part:?}"))
}

pub fn has(app: &RunningApp, label: &str) -> bool {
    !find_all(app, label).is_empty()
}

pub fn has_containing(app: &RunningApp, part: &str) -> bool {
    labels(app).iter().any(|l| l.contains(part))
}

pub fn tap(app: &RunningApp, label: &str) {
    let button = find_all(app, label)
        .into_iter()
        .find(|e| e.accessible_role() == Some(i_slint_backend_testing::AccessibleRole::Button))
        .unwrap_or_else(|| panic!("no button labelled {label:?}; labels: {:?}", labels(app)));
    button.invoke_accessible_default_action();
    app.pump();
}

pub fn tap_containing(app: &RunningApp, part: &str) {
    let wanted = part.to_owned();
    ElementQuery::from_root(&app.window)
        .match_accessible_role(i_slint_backend_testing::AccessibleRole::Button)
        .match_predicate(move |e| {
            e.accessible_label()
                .is_some_and(|l| l.contains(wanted.as_str()))
        })
        .find_first()
        .unwrap_or_else(|| panic!("no button contains {part:?}; labels: {:?}", labels(app)))
        .invoke_accessible_default_action();
    app.pump();
}

pub fn type_into(app: &RunningApp, label: &str, text: &str) {
    let field = find_all(app, label)
        .into_iter()
        .find(|e| e.accessible_role() == Some(i_slint_backend_testing::AccessibleRole::TextInput))
        .unwrap_or_else(|| panic!("no field labelled {label:?}; labels: {:?}", labels(app)));
    field.set_accessible_value(text);
    app.pump();
}

/// Apply worker results until `done` holds (scans, enrollment and sync run on threads).
pub fn wait_for(app: &RunningApp, what: &str, mut done: impl FnMut(&RunningApp) -> bool) {
    let start = Instant::now();
    while !done(app) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}; labels: {:?}",
            labels(app)
        );
        std::thread::sleep(Duration::from_millis(20));
        app.pump();
    }
}

/// The tablet's monotonic clock, moved by hand: idle minutes pass without sleeping.
#[derive(Clone)]
pub struct HandClock {
    start: Instant,
    passed: std::sync::Arc<std::sync::Mutex<Duration>>,
}

impl HandClock {
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            passed: Default::default(),
        }
    }

    /// For `AppConfig::monotonic_clock`.
    pub fn source(&self) -> fieldkit_app::config::MonotonicClock {
        let clock = self.clone();
        std::sync::Arc::new(move || clock.start + *clock.passed.lock().unwrap())
    }

    pub fn advance(&self, by: Duration) {
        *self.passed.lock().unwrap() += by;
    }
}

/// A signature drawn with a finger: strokes of pointer events across the pad.
pub fn draw_signature(app: &RunningApp, pad_label: &str) {
    let pad = find(app, pad_label);
    let origin = pad.absolute_position();
    let size = pad.size();
    let window = app.window.window();
    for stroke in 0..3 {
        let y0 = size.height * (0.3 + 0.2 * stroke as f32);
        let at = |t: f32| {
            LogicalPosition::new(
                origin.x + size.width * (0.1 + 0.8 * t),
                origin.y + y0 + 25.0 * (t * 18.0).sin(),
            )
        };
        window.dispatch_event(WindowEvent::PointerPressed {
            position: at(0.0),
            button: PointerEventButton::Left,
        });
        for step in 1..=60 {
            window.dispatch_event(WindowEvent::PointerMoved {
                position: at(step as f32 / 60.0),
            });
            std::thread::sleep(Duration::from_millis(4));
        }
        window.dispatch_event(WindowEvent::PointerReleased {
            position: at(1.0),
            button: PointerEventButton::Left,
        });
    }
    app.pump();
}

/// Every file under `dir`, raw.
pub fn raw_bytes(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(raw_bytes(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, bytes));
        }
    }
    out
}

/// The text of every QR code on the screen as it is drawn now.
pub fn qr_codes_on_screen(app: &RunningApp) -> Vec<String> {
    let shot = app.window.window().take_snapshot().unwrap();
    let rgba =
        image::RgbaImage::from_raw(shot.width(), shot.height(), shot.as_bytes().to_vec()).unwrap();
    let grey = image::DynamicImage::ImageRgba8(rgba).to_luma8();
    fieldkit_capture::qr::find_qr_codes(&grey)
        .iter()
        .map(|qr| qr.text())
        .collect()
}

/// The tracking code the receipt screen shows in large type (its label, «Код відстеження …»).
pub fn tracking_code_on_screen(app: &RunningApp) -> fieldkit_domain::tracking::TrackingCode {
    let shown = labels(app)
        .into_iter()
        .filter_map(|l| l.strip_prefix("Код відстеження ").map(str::to_owned))
        .find(|rest| !rest.starts_with('('))
        .unwrap_or_else(|| panic!("no tracking code on screen: {:?}", labels(app)));
    fieldkit_domain::tracking::TrackingCode::parse(&shown)
        .unwrap_or_else(|e| panic!("{shown:?} is not a tracking code: {e}"))
}
