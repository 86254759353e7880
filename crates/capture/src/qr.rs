//! QR codes: find and decode every code on a page (fast on a downscaled copy, full resolution
//! only when that finds nothing), classify what was read, and generate codes for case tracking.

use fieldkit_domain::case_number::CaseNumber;
use fieldkit_domain::tracking::TrackingCode;
use image::{GrayImage, Luma};
use qrcode::{Color, EcLevel, QrCode};

use crate::pipeline::thumbnail;

/// Prefix of the one-time enrollment codes the back-office shows as QR.
pub const ENROLLMENT_PREFIX: &str = "FIELDKIT-ENROLL:";

/// What a QR code turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QrKind {
    /// A fieldkit case number, alone or at the end of a tracking address
    /// (`…/track/{number}`: receipts printed before tracking codes).
    CaseTracking(CaseNumber),
    /// A fieldkit receipt's tracking address, `{public address}/t/{tracking code}`.
    TrackingCode(TrackingCode),
    /// A tablet enrollment code (server address and one-time code).
    Enrollment(String),
    /// A web address, such as a verification link on a state register extract.
    WebAddress(String),
    /// Anything else; the raw payload is kept with the document all the same.
    Unknown,
}

/// One code found on a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundQr {
    /// The payload exactly as encoded.
    pub payload: Vec<u8>,
    pub kind: QrKind,
    /// The four corners in page pixels.
    pub corners: [(i32, i32); 4],
}

impl FoundQr {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }
}

/// Decide what a payload is.
pub fn classify(payload: &[u8]) -> QrKind {
    let Ok(text) = std::str::from_utf8(payload) else {
        return QrKind::Unknown;
    };
    let text = text.trim();
    if let Ok(number) = CaseNumber::parse(text) {
        return QrKind::CaseTracking(number);
    }
    if let Some(rest) = text.strip_prefix(ENROLLMENT_PREFIX) {
        return QrKind::Enrollment(rest.to_owned());
    }
    if text.starts_with("https://") || text.starts_with("http://") {
        if let Some((_, tail)) = text.split_once("/track/")
            && let Ok(number) = CaseNumber::parse(tail.trim_end_matches('/'))
        {
            return QrKind::CaseTracking(number);
        }
        if let Some((_, tail)) = text.rsplit_once("/t/")
            && let Ok(code) = TrackingCode::parse(tail.trim_end_matches('/'))
        {
            return QrKind::TrackingCode(code);
        }
        return QrKind::WebAddress(text.to_owned());
    }
    QrKind::Unknown
}

/// The codes rqrr finds in `image`. rqrr 0.11 asserts on a degenerate perspective that some
/// noisy pages produce (upstream issue WanzenBug/rqrr#54; found here by fuzzing `qr_detect`):
/// a page that trips it is read as having no code, instead of the panic ending the app in the
/// middle of a visit. Nothing of the half-done detection is kept, so no broken state is seen.
fn detect(image: &GrayImage, scale: f32) -> Vec<FoundQr> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        detect_unguarded(image, scale)
    }))
    .unwrap_or_default()
}

fn detect_unguarded(image: &GrayImage, scale: f32) -> Vec<FoundQr> {
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
        image.width() as usize,
        image.height() as usize,
        |x, y| image.get_pixel(x as u32, y as u32).0[0],
    );
    let mut found = Vec::new();
    for grid in prepared.detect_grids() {
        let mut payload = Vec::new();
        if grid.decode_to(&mut payload).is_err() {
            continue;
        }
        let corner = |i: usize| {
            (
                (grid.bounds[i].x as f32 / scale) as i32,
                (grid.bounds[i].y as f32 / scale) as i32,
            )
        };
        found.push(FoundQr {
            kind: classify(&payload),
            payload,
            corners: [corner(0), corner(1), corner(2), corner(3)],
        });
    }
    found
}

/// The side the fast path works at: codes printed on documents stay readable at this size.
const FAST_SIDE: u32 = 1600;

/// Every QR code on the page.
pub fn find_qr_codes(page: &GrayImage) -> Vec<FoundQr> {
    let longer = page.width().max(page.height());
    if longer > FAST_SIDE {
        let small = thumbnail(page, FAST_SIDE);
        let found = detect(&small, small.width() as f32 / page.width() as f32);
        if !found.is_empty() {
            return found;
        }
    }
    detect(page, 1.0)
}

/// Why a code could not be made.
#[derive(Debug, thiserror::Error)]
#[error("the text does not fit in a QR code: {0}")]
pub struct QrTooLong(String);

/// A QR code for `text` (error correction M), `module_px` pixels per module, with the quiet
/// zone of four modules the standard asks for.
pub fn generate_qr(text: &str, module_px: u32) -> Result<GrayImage, QrTooLong> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| QrTooLong(e.to_string()))?;
    let modules = code.width() as u32;
    let colors = code.to_colors();
    let quiet = 4;
    let side = (modules + 2 * quiet) * module_px.max(1);
    Ok(GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = (x / module_px.max(1), y / module_px.max(1));
        let dark = mx >= quiet
            && my >= quiet
            && mx < modules + quiet
            && my < modules + quiet
            && colors[((my - quiet) * modules + (mx - quiet)) as usize] == Color::Dark;
        Luma([if dark { 0 } else { 255 }])
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_classified() {
        let number = CaseNumber::new("LV01", "T07", 2026, 123).unwrap();
        assert_eq!(
            classify(number.to_string().as_bytes()),
            QrKind::CaseTracking(number.clone())
        );
        let url = format!("https://cnap.example.ua/track/{number}");
        assert_eq!(classify(url.as_bytes()), QrKind::CaseTracking(number));
        assert_eq!(
            classify(b"FIELDKIT-ENROLL:https://sync.example#K7Q2-99XA"),
            QrKind::Enrollment("https://sync.example#K7Q2-99XA".into())
        );
        assert_eq!(
            classify(b"https://usr.minjust.gov.ua/check?id=1"),
            QrKind::WebAddress("https://usr.minjust.gov.ua/check?id=1".into())
        );
        let code = TrackingCode::from_random([7; fieldkit_domain::tracking::RANDOM_SYMBOLS]);
        let url = code.url("https://track.cnap.example.ua");
        assert_eq!(classify(url.as_bytes()), QrKind::TrackingCode(code.clone()));
        // A public side under a path, and the printed form with hyphens, are the same code.
        let url = format!("https://cnap.example.ua/public/t/{code}/");
        assert_eq!(classify(url.as_bytes()), QrKind::TrackingCode(code));
        // Something else under /t/ is just an address.
        assert_eq!(
            classify(b"https://example.com/t/hello"),
            QrKind::WebAddress("https://example.com/t/hello".into())
        );
        assert_eq!(classify(b"LV01/T07/2026/000123-0"), QrKind::Unknown);
        assert_eq!(classify(&[0xff, 0xfe, 0x00]), QrKind::Unknown);
    }

    #[test]
    fn generated_code_decodes_back() {
        let image = generate_qr("LV01/T07/2026/000123-5", 6).unwrap();
        let found = find_qr_codes(&image);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].text(), "LV01/T07/2026/000123-5");
    }
}
