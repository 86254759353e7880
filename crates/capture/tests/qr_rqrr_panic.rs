#![allow(clippy::unwrap_used)]
//! A page on which rqrr 0.11 panics (an assertion on a degenerate perspective, upstream issue
//! WanzenBug/rqrr#54), found by fuzzing `qr_detect` and kept in its corpus: fieldkit reads it
//! as a page with no code instead of ending the app.

use std::path::Path;

use fieldkit_capture::qr::find_qr_codes;
use image::GrayImage;

/// The page as the fuzz target builds it from the stored input: two bytes of width, then rows.
fn page() -> GrayImage {
    let data = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fuzz/corpus/qr_detect/regression-rqrr-degenerate-perspective"),
    )
    .unwrap();
    let width = u32::from(u16::from_le_bytes([data[0], data[1]])) % 512;
    let pixels = &data[2..];
    let height = (pixels.len() as u32 / width).min(512);
    GrayImage::from_raw(width, height, pixels[..(width * height) as usize].to_vec()).unwrap()
}

#[test]
fn a_page_that_makes_rqrr_panic_is_read_as_having_no_code() {
    let page = page();
    // rqrr alone still panics on it; when a new rqrr does not, the guard in qr.rs may go.
    let bare = std::panic::catch_unwind(|| {
        let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
            page.width() as usize,
            page.height() as usize,
            |x, y| page.get_pixel(x as u32, y as u32).0[0],
        );
        prepared.detect_grids().len()
    });
    assert!(bare.is_err(), "rqrr no longer panics on this page");
    assert!(find_qr_codes(&page).is_empty());
}
