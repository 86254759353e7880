#![allow(clippy::unwrap_used)]
//! Scanning through SANE's real `test` backend (sane-utils, enabled by a dll.conf in a
//! SANE_CONFIG_DIR this test makes).

use fieldkit_capture::CaptureError;
use fieldkit_capture::pipeline::process_page;
use fieldkit_capture::sources::sane::{ColourMode, ScanSettings, Scanner};
use fieldkit_capture::{DecodeLimits, decode_page};

fn test_backend() -> (tempfile::TempDir, Scanner) {
    let config = tempfile::tempdir().unwrap();
    std::fs::write(config.path().join("dll.conf"), "test\n").unwrap();
    let scanner = Scanner::default().with_env("SANE_CONFIG_DIR", config.path().to_str().unwrap());
    (config, scanner)
}

fn grid(settings: ScanSettings) -> ScanSettings {
    ScanSettings {
        device_options: vec!["--test-picture=Grid".into()],
        ..settings
    }
}

#[test]
fn test_scanner_is_listed() {
    let (_config, scanner) = test_backend();
    let devices = scanner.list_devices().unwrap();
    assert!(devices.iter().any(|d| d.name == "test:0"), "{devices:?}");
}

#[test]
fn one_grey_page_at_300_dpi_goes_through_the_pipeline() {
    let (_config, scanner) = test_backend();
    let pages = scanner
        .scan("test:0", &grid(ScanSettings::default()))
        .unwrap();
    assert_eq!(pages.len(), 1);
    let image = decode_page(&pages[0], DecodeLimits::default()).unwrap();
    // The test device scans 80×100 mm by default: about 945×1181 pixels at 300 dpi.
    assert!(
        (image.width() as i32 - 945).abs() < 10 && (image.height() as i32 - 1181).abs() < 10,
        "{}×{}",
        image.width(),
        image.height()
    );
    let processed = process_page(&pages[0], Some(300)).unwrap();
    assert_eq!(processed.sha256.len(), 64);
}

#[test]
fn the_feeder_gives_every_page_in_order() {
    let (_config, scanner) = test_backend();
    let settings = grid(ScanSettings {
        feeder: true,
        max_pages: Some(3),
        mode: ColourMode::Colour,
        resolution_dpi: 100,
        ..ScanSettings::default()
    });
    let pages = scanner.scan("test:0", &settings).unwrap();
    assert_eq!(pages.len(), 3);
    for page in &pages {
        decode_page(page, DecodeLimits::default()).unwrap();
    }
}

#[test]
fn a_missing_device_is_a_scanner_error() {
    let (_config, scanner) = test_backend();
    let Err(err) = scanner.scan("nosuch:0", &ScanSettings::default()) else {
        panic!("scanned a missing device")
    };
    assert!(matches!(err, CaptureError::Scanner(_)), "{err:?}");
    assert!(err.message_uk().contains("Сканер"));
}

#[test]
fn no_scanimage_means_no_scanner() {
    let scanner = Scanner::default().with_program("/nonexistent/scanimage");
    assert!(matches!(
        scanner.list_devices(),
        Err(CaptureError::NoScanner)
    ));
}
