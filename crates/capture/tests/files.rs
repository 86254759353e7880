#![allow(clippy::unwrap_used)]
//! Importing page files from a folder (a USB stick): name order, one bad file does not stop
//! the others, non-page files are skipped.

mod common;
use common::*;

use fieldkit_capture::CaptureError;
use fieldkit_capture::sources::files::import_folder;

#[test]
fn folder_import_keeps_order_and_reports_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let page = text_page(400, 560, 4);
    std::fs::write(dir.path().join("02-passport.JPG"), jpeg_bytes(&page)).unwrap();
    std::fs::write(dir.path().join("01-application.png"), png_bytes(&page)).unwrap();
    let png = png_bytes(&page);
    std::fs::write(dir.path().join("03-cut.png"), &png[..png.len() / 3]).unwrap();
    std::fs::write(dir.path().join("04-empty.tif"), b"").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "не сторінка").unwrap();

    let files = import_folder(dir.path()).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "01-application.png",
            "02-passport.JPG",
            "03-cut.png",
            "04-empty.tif"
        ]
    );
    assert!(files[0].bytes.is_ok() && files[1].bytes.is_ok());
    assert!(matches!(files[2].bytes, Err(CaptureError::Corrupt(_))));
    assert!(matches!(files[3].bytes, Err(CaptureError::Empty)));
}

#[test]
fn a_missing_folder_is_an_io_error() {
    let err = import_folder(std::path::Path::new("/nonexistent/usb")).unwrap_err();
    assert!(matches!(err, CaptureError::Io { .. }));
}
