#![allow(clippy::unwrap_used)]
//! The page pipeline and the quality checks on generated pages.

mod common;
use common::*;

use fieldkit_capture::pipeline::{
    crop_to_page, deskew, encode_page, estimate_skew, normalize_contrast, process_page,
    resample_for_a4, rotate,
};
use fieldkit_capture::quality::{Edge, QualityIssue, assess, sharpness};
use image::{GrayImage, Luma};

const W: u32 = 1654; // A4 at 200 dpi
const H: u32 = 2339;

#[test]
fn a_sharp_well_lit_page_passes() {
    let page = text_page(W, H, 7);
    assert_eq!(assess(&page, Some(200)), vec![]);
}

#[test]
fn blurred_page_is_flagged() {
    let page = text_page(W, H, 7);
    let sharp = sharpness(&page);
    // A slightly soft page is still accepted; a clearly blurred one is not.
    let soft_enough = image::imageops::blur(&page, 1.0);
    assert!(
        !assess(&soft_enough, Some(200))
            .iter()
            .any(|i| matches!(i, QualityIssue::Blurred { .. }))
    );
    let blurred = image::imageops::blur(&page, 3.0);
    let soft = sharpness(&blurred);
    assert!(soft < sharp / 4.0, "sharp {sharp:.0}, blurred {soft:.0}");
    assert!(
        assess(&blurred, Some(200))
            .iter()
            .any(|i| matches!(i, QualityIssue::Blurred { .. })),
        "sharpness {soft:.0}"
    );
}

#[test]
fn dark_page_is_flagged() {
    let mut page = text_page(W, H, 8);
    for pixel in page.pixels_mut() {
        pixel.0[0] /= 5;
    }
    let issues = assess(&page, Some(200));
    assert!(
        matches!(issues[..], [QualityIssue::TooDark { .. }]),
        "{issues:?}"
    );
    assert!(issues[0].message_uk().contains("темна"));
}

#[test]
fn washed_out_page_is_flagged() {
    let mut page = text_page(W, H, 9);
    for pixel in page.pixels_mut() {
        pixel.0[0] = 200 + pixel.0[0] / 5;
    }
    assert!(matches!(
        assess(&page, Some(200))[..],
        [QualityIssue::TooBright { .. }]
    ));
}

#[test]
fn text_cut_at_the_edge_is_flagged() {
    let page = text_page(W, H, 10);
    // Keep the right part of the page only: the text now runs into the left edge.
    let cut = image::imageops::crop_imm(&page, W / 6, 0, W - W / 6, H).to_image();
    let issues = assess(&cut, Some(200));
    assert!(
        issues.contains(&QualityIssue::CutOff { edge: Edge::Left }),
        "{issues:?}"
    );
}

#[test]
fn low_resolution_is_flagged() {
    let small = image::imageops::resize(
        &text_page(W, H, 11),
        827,
        1170,
        image::imageops::FilterType::Triangle,
    );
    assert!(assess(&small, None).contains(&QualityIssue::LowResolution { dpi: 100 }));
}

#[test]
fn page_on_a_dark_table_is_cropped() {
    let page = text_page(1000, 1400, 12);
    let photo = on_background(&page, 120, 60);
    let cropped = crop_to_page(&photo);
    assert!(
        (cropped.width() as i32 - 1000).abs() <= 4 && (cropped.height() as i32 - 1400).abs() <= 4,
        "{:?}",
        cropped.dimensions()
    );
    // A page without background is left alone.
    assert_eq!(crop_to_page(&page).dimensions(), page.dimensions());
}

#[test]
fn skew_up_to_fifteen_degrees_is_measured_and_corrected() {
    let page = text_page(1200, 1700, 13);
    for degrees in [-12.0f32, -4.0, 3.0, 9.5] {
        let skewed = rotate(&page, -degrees, 245);
        let measured = estimate_skew(&skewed);
        assert!(
            (measured - degrees).abs() < 0.6,
            "skewed {degrees}°, measured {measured}°"
        );
        let (straight, angle) = deskew(&skewed);
        assert!(angle != 0.0);
        assert!(estimate_skew(&straight).abs() < 0.6);
    }
}

#[test]
fn contrast_is_stretched_to_black_and_white() {
    let grey = GrayImage::from_fn(200, 200, |x, _| Luma([if x % 20 < 3 { 90 } else { 180 }]));
    let out = normalize_contrast(&grey);
    let (min, max) = out
        .pixels()
        .fold((255, 0), |(lo, hi), p| (lo.min(p.0[0]), hi.max(p.0[0])));
    assert_eq!((min, max), (0, 255));
}

#[test]
fn large_scans_are_resampled_to_a4_at_300_dpi_and_small_ones_kept() {
    let big = GrayImage::new(4960, 7016);
    assert_eq!(resample_for_a4(&big).dimensions(), (2480, 3508));
    let small = GrayImage::new(1654, 2339);
    assert_eq!(resample_for_a4(&small).dimensions(), (1654, 2339));
}

#[test]
fn bilevel_text_is_stored_lossless_when_smaller() {
    let page = normalize_contrast(&text_page(W, H, 14));
    let encoded = encode_page(&page).unwrap();
    assert_eq!(encoded.mime, "image/png");
    let photo = GrayImage::from_fn(800, 600, |x, y| Luma([((x * 7 + y * 3) % 256) as u8]));
    assert_eq!(encode_page(&photo).unwrap().mime, "image/jpeg");
}

#[test]
fn whole_pipeline_turns_a_skewed_photo_into_a_straight_page() {
    let page = text_page(1200, 1700, 15);
    let photo = on_background(&rotate(&page, -5.0, 245), 80, 50);
    let processed = process_page(&png_bytes(&photo), None).unwrap();
    assert!(
        (processed.skew_degrees - 5.0).abs() < 0.6,
        "{}",
        processed.skew_degrees
    );
    assert_eq!(processed.sha256.len(), 64);
    assert!(!processed.thumbnail.bytes.is_empty());
    assert!(processed.width <= 1400 && processed.height <= 1900);
}

#[test]
fn colour_documents_stay_in_colour_and_grey_photos_become_grey() {
    let page = text_page(1000, 1400, 16);
    // A red stamp on the page, photographed in colour.
    let mut colour = image::DynamicImage::ImageLuma8(page.clone()).to_rgb8();
    for y in 300..700 {
        for x in 300..700 {
            colour.put_pixel(x, y, image::Rgb([200, 30, 40]));
        }
    }
    let mut bytes = std::io::Cursor::new(Vec::new());
    colour
        .write_to(&mut bytes, image::ImageFormat::Jpeg)
        .unwrap();
    let processed = process_page(bytes.get_ref(), None).unwrap();
    assert!(processed.colour);
    let stored = image::load_from_memory(&processed.image.bytes).unwrap();
    assert!(stored.color().has_color());

    // The same page without the stamp, saved as a colour JPEG: stored grey.
    let grey_photo = image::DynamicImage::ImageLuma8(page).to_rgb8();
    let mut bytes = std::io::Cursor::new(Vec::new());
    grey_photo
        .write_to(&mut bytes, image::ImageFormat::Jpeg)
        .unwrap();
    let processed = process_page(bytes.get_ref(), None).unwrap();
    assert!(!processed.colour);
}
