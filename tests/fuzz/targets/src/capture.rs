//! Targets over the capture crate: page files from a scanner or a USB stick, QR codes found on
//! them, and the signature records a tablet seals (the server renders their strokes again).

use fieldkit_capture::qr::{ENROLLMENT_PREFIX, QrKind, classify, find_qr_codes};
use fieldkit_capture::signature::{SignatureRecord, check, render_png, verify};
use fieldkit_capture::{DecodeLimits, decode_page, pipeline};
use fieldkit_domain::case_number::CaseNumber;
use fieldkit_domain::tracking::TrackingCode;
use image::GrayImage;
use ring::digest::{SHA256, digest};

/// Tighter than the tablet's own limits, so that one input cannot take the fuzzer's memory;
/// the code paths are the same.
const LIMITS: DecodeLimits = DecodeLimits {
    max_side: 2048,
    max_bytes: 64 * 1024 * 1024,
};

/// Pages up to this many pixels also go through the whole pipeline and the QR search (larger
/// ones would make each run slow, without other code to reach).
const PIPELINE_PIXELS: u64 = 256 * 256;

/// A page file: decoded under limits or refused with a typed error; what decodes stays within
/// the limits, and a small page also goes through the whole pipeline.
pub fn image_decode(data: &[u8]) {
    let Ok(image) = decode_page(data, LIMITS) else {
        return;
    };
    let (width, height) = (image.width(), image.height());
    assert!(
        width <= LIMITS.max_side && height <= LIMITS.max_side,
        "decoded {width}×{height}, over the limit"
    );
    if u64::from(width) * u64::from(height) > PIPELINE_PIXELS {
        return;
    }
    // It decoded under tighter limits, so the pipeline (with the tablet's limits) takes it.
    let page = pipeline::process_page(data, None)
        .unwrap_or_else(|e| panic!("a {width}×{height} page decodes but is not taken: {e}"));
    assert!(!page.image.bytes.is_empty());
    assert_eq!(page.sha256.len(), 64);
    check_found(&pipeline::to_grey(&image));
}

/// Grey pixels as a scanner gives them (two bytes of width, then rows): every QR code found is
/// classified as its payload says.
pub fn qr_detect(data: &[u8]) {
    let [low, high, pixels @ ..] = data else {
        return;
    };
    let width = (u32::from(u16::from_le_bytes([*low, *high])) % 512).max(1);
    let height = (pixels.len() as u32 / width).min(512);
    if height == 0 {
        return;
    }
    let size = (width * height) as usize;
    let Some(page) = GrayImage::from_raw(width, height, pixels[..size].to_vec()) else {
        return;
    };
    check_found(&page);
}

fn check_found(page: &GrayImage) {
    for found in find_qr_codes(page) {
        assert_eq!(found.kind, classify(&found.payload));
    }
}

/// A QR payload: classified without panicking, and a case number in it prints and reads back.
pub fn qr_payload(data: &[u8]) {
    match classify(data) {
        QrKind::CaseTracking(number) => {
            assert_eq!(CaseNumber::parse(&number.to_string()).as_ref(), Ok(&number));
        }
        QrKind::TrackingCode(code) => {
            // Printed in groups or written canonically, the code reads back as itself.
            assert_eq!(TrackingCode::parse(&code.to_string()).as_ref(), Ok(&code));
            assert_eq!(TrackingCode::parse(code.canonical()).as_ref(), Ok(&code));
        }
        QrKind::Enrollment(rest) => {
            let text = std::str::from_utf8(data).unwrap_or_default().trim();
            assert_eq!(text.strip_prefix(ENROLLMENT_PREFIX), Some(rest.as_str()));
        }
        QrKind::WebAddress(address) => {
            assert!(address.starts_with("https://") || address.starts_with("http://"));
        }
        QrKind::Unknown => {}
    }
}

/// A signature record as the server reads it from an opened envelope: checked, rendered again
/// and verified. Rendering is deterministic, so a record carrying its own rendering's hash
/// verifies.
pub fn signature_strokes(data: &[u8]) {
    let Ok(mut record) = serde_json::from_slice::<SignatureRecord>(data) else {
        return;
    };
    let _ = check(&record.strokes);
    // As the server does: render again (verify renders once more below).
    let Ok(png) = render_png(&record.strokes) else {
        assert!(verify(&record, &record.document_sha256, None).is_err());
        return;
    };
    record.image_sha256 = hex_string(digest(&SHA256, &png).as_ref());
    let signed = record.document_sha256.clone();
    assert!(
        verify(&record, &signed, Some(&png)).is_ok(),
        "the same strokes rendered twice differ"
    );
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
