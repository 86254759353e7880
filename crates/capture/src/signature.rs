//! Signatures drawn on the tablet: strokes of points (x, y, time, pressure where the hardware
//! gives it), checked, smoothed into a curve whose width follows the pen's speed, rendered to
//! PNG (anti-aliased, transparent) and SVG, and bound to the SHA-256 of the exact document
//! signed. Verification renders the strokes again and checks both hashes.

use std::fmt::Write as _;
use std::io::Cursor;

use fieldkit_domain::case::SignerRole;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ImageEncoder, Rgba, RgbaImage};
use ring::digest::{SHA256, digest};
use serde::{Deserialize, Serialize};

/// One sample of the pen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub x: f32,
    pub y: f32,
    pub t_ms: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pressure: Option<f32>,
}

/// The pen down, moving, and up again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stroke {
    pub points: Vec<Point>,
}

/// All strokes on a signature pad of the given size (in the pad's pixels).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Strokes {
    pub width: u32,
    pub height: u32,
    pub strokes: Vec<Stroke>,
}

/// Why a signature was refused or does not verify.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature is empty")]
    Empty,
    #[error("the signature has only {0} points")]
    TooFewPoints(usize),
    #[error("the signature is too short ({length:.0} px of line)")]
    TooShort { length: f32 },
    #[error("the signature is a dot, not a signature")]
    Dot,
    #[error("a point lies outside the signature pad")]
    OutsidePad,
    #[error("the pad or the strokes are larger than a signature can be")]
    TooLarge,
    #[error("the image does not match the strokes")]
    ImageMismatch,
    #[error("the signature was made for another document")]
    OtherDocument,
    #[error("the signature image could not be encoded: {0}")]
    Encode(String),
}

impl SignatureError {
    pub fn message_uk(&self) -> &'static str {
        match self {
            Self::Empty => "Підпис порожній: розпишіться на полі",
            Self::TooFewPoints(_) | Self::TooShort { .. } => {
                "Підпис закороткий: розпишіться, як у документах"
            }
            Self::Dot => "Це крапка, а не підпис: розпишіться ще раз",
            Self::OutsidePad => "Підпис виходить за межі поля: розпишіться ще раз",
            Self::TooLarge => "Підпис завеликий: очистіть поле й розпишіться ще раз",
            Self::ImageMismatch => "Зображення підпису не відповідає штрихам",
            Self::OtherDocument => "Підпис зроблено під іншим документом",
            Self::Encode(_) => "Не вдалося зберегти підпис",
        }
    }
}

/// Fewer points than this cannot be a signature.
pub const MIN_POINTS: usize = 10;
/// The line must be at least this share of the pad's width long.
pub const MIN_LENGTH_SHARE: f32 = 0.25;
/// Its extent must be at least this share of the pad's width (otherwise it is a dot).
pub const MIN_EXTENT_SHARE: f32 = 0.06;

/// The largest pad, in pad pixels on either side: a tablet's whole screen fits. Rendering
/// allocates width × height × 4 bytes, and a record from a tablet says its own pad size.
pub const MAX_PAD_SIDE: u32 = 4096;
/// The most points in one signature: over eight minutes of pen at 100 Hz.
pub const MAX_POINTS: usize = 50_000;
/// The most line one signature may draw, in pad pixels: the curve is stepped every 1.5 px
/// and each step drawn, so this bounds the work of rendering.
pub const MAX_LINE_LENGTH: f32 = 1_000_000.0;
/// The most steps one segment is smoothed into: a segment across the largest pad's diagonal.
const MAX_SEGMENT_STEPS: usize = 2 * MAX_PAD_SIDE as usize;

fn distance(a: &Point, b: &Point) -> f32 {
    (a.x - b.x).hypot(a.y - b.y)
}

fn line_length(strokes: &Strokes) -> f32 {
    strokes
        .strokes
        .iter()
        .flat_map(|s| s.points.windows(2))
        .map(|w| distance(&w[0], &w[1]))
        .sum()
}

/// Whether the strokes can be rendered with bounded memory and time: a pad no larger than
/// [`MAX_PAD_SIDE`], every point a number inside it, at most [`MAX_POINTS`] points and
/// [`MAX_LINE_LENGTH`] of line. A record read from an envelope is rendered again by the server
/// (fuzzing found a point far off the pad that made the render run for minutes).
fn within_bounds(strokes: &Strokes) -> Result<(), SignatureError> {
    if strokes.width > MAX_PAD_SIDE || strokes.height > MAX_PAD_SIDE {
        return Err(SignatureError::TooLarge);
    }
    let outside = |p: &Point| {
        !p.x.is_finite()
            || !p.y.is_finite()
            || p.x < 0.0
            || p.y < 0.0
            || p.x > strokes.width as f32
            || p.y > strokes.height as f32
    };
    let mut count = 0;
    for point in strokes.strokes.iter().flat_map(|s| &s.points) {
        count += 1;
        if count > MAX_POINTS {
            return Err(SignatureError::TooLarge);
        }
        if outside(point) {
            return Err(SignatureError::OutsidePad);
        }
    }
    if line_length(strokes) > MAX_LINE_LENGTH {
        return Err(SignatureError::TooLarge);
    }
    Ok(())
}

/// Refuse what cannot be a signature, with a reason the applicant understands.
pub fn check(strokes: &Strokes) -> Result<(), SignatureError> {
    let points: Vec<&Point> = strokes.strokes.iter().flat_map(|s| &s.points).collect();
    if points.is_empty() {
        return Err(SignatureError::Empty);
    }
    within_bounds(strokes)?;
    let (min_x, max_x) = points.iter().fold((f32::MAX, f32::MIN), |(lo, hi), p| {
        (lo.min(p.x), hi.max(p.x))
    });
    let (min_y, max_y) = points.iter().fold((f32::MAX, f32::MIN), |(lo, hi), p| {
        (lo.min(p.y), hi.max(p.y))
    });
    let extent = (max_x - min_x).max(max_y - min_y);
    if extent < strokes.width as f32 * MIN_EXTENT_SHARE {
        return Err(SignatureError::Dot);
    }
    if points.len() < MIN_POINTS {
        return Err(SignatureError::TooFewPoints(points.len()));
    }
    let length = line_length(strokes);
    if length < strokes.width as f32 * MIN_LENGTH_SHARE {
        return Err(SignatureError::TooShort { length });
    }
    Ok(())
}

/// A point of the smoothed curve with the pen's width there (pad pixels), for drawing the
/// signature as vectors (a receipt PDF) as well as pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InkPoint {
    pub x: f32,
    pub y: f32,
    pub width: f32,
}

const MAX_WIDTH: f32 = 4.5;
const MIN_WIDTH: f32 = 1.2;

/// Width from speed (px/ms): a slow pen leaves a thick line, a fast one a thin line.
fn width_for(speed: f32, pressure: Option<f32>) -> f32 {
    let width = MAX_WIDTH / (1.0 + 1.5 * speed);
    let width = pressure.map_or(width, |p| width * (0.5 + p.clamp(0.0, 1.0)));
    width.clamp(MIN_WIDTH, MAX_WIDTH)
}

/// Catmull–Rom through the points, subdivided about every 1.5 px, widths eased along the line.
pub fn smooth(stroke: &Stroke) -> Vec<InkPoint> {
    let points = &stroke.points;
    match points.len() {
        0 => return Vec::new(),
        1 => {
            return vec![InkPoint {
                x: points[0].x,
                y: points[0].y,
                width: MAX_WIDTH,
            }];
        }
        _ => {}
    }
    let mut ink = Vec::new();
    let mut width = MAX_WIDTH;
    for i in 0..points.len() - 1 {
        let p0 = &points[i.saturating_sub(1)];
        let (p1, p2) = (&points[i], &points[i + 1]);
        let p3 = &points[(i + 2).min(points.len() - 1)];
        let elapsed = p2.t_ms.saturating_sub(p1.t_ms).max(1) as f32;
        let target = width_for(distance(p1, p2) / elapsed, p2.pressure);
        // Bounded even for points no pad holds (a NaN distance makes 0 steps, then 1).
        let steps = ((distance(p1, p2) / 1.5).ceil() as usize).clamp(1, MAX_SEGMENT_STEPS);
        for step in 0..steps {
            let t = step as f32 / steps as f32;
            let (t2, t3) = (t * t, t * t * t);
            let blend = |a: f32, b: f32, c: f32, d: f32| {
                0.5 * (2.0 * b
                    + (c - a) * t
                    + (2.0 * a - 5.0 * b + 4.0 * c - d) * t2
                    + (3.0 * b - a - 3.0 * c + d) * t3)
            };
            width += (target - width) * 0.15;
            ink.push(InkPoint {
                x: blend(p0.x, p1.x, p2.x, p3.x),
                y: blend(p0.y, p1.y, p2.y, p3.y),
                width,
            });
        }
    }
    let last = points[points.len() - 1];
    ink.push(InkPoint {
        x: last.x,
        y: last.y,
        width,
    });
    ink
}

const INK: [u8; 3] = [0x14, 0x24, 0x6e];

/// Draw a segment with round ends whose width goes from `a.width` to `b.width`, anti-aliased
/// by the distance of each pixel to the segment.
fn draw_segment(image: &mut RgbaImage, a: InkPoint, b: InkPoint) {
    let radius = a.width.max(b.width) / 2.0 + 1.0;
    let (w, h) = (image.width() as f32, image.height() as f32);
    let x0 = (a.x.min(b.x) - radius).floor().clamp(0.0, w - 1.0) as u32;
    let x1 = (a.x.max(b.x) + radius).ceil().clamp(0.0, w - 1.0) as u32;
    let y0 = (a.y.min(b.y) - radius).floor().clamp(0.0, h - 1.0) as u32;
    let y1 = (a.y.max(b.y) + radius).ceil().clamp(0.0, h - 1.0) as u32;
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let length_sq = dx * dx + dy * dy;
    for y in y0..=y1 {
        for x in x0..=x1 {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let t = if length_sq > 0.0 {
                (((px - a.x) * dx + (py - a.y) * dy) / length_sq).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let d = (px - (a.x + t * dx)).hypot(py - (a.y + t * dy));
            let r = (a.width + (b.width - a.width) * t) / 2.0;
            let coverage = (r - d + 0.5).clamp(0.0, 1.0);
            if coverage > 0.0 {
                let alpha = (coverage * 255.0).round() as u8;
                let pixel = image.get_pixel_mut(x, y);
                if alpha > pixel.0[3] {
                    *pixel = Rgba([INK[0], INK[1], INK[2], alpha]);
                }
            }
        }
    }
}

/// Render to RGBA pixels the size of the pad, transparent where there is no ink. Strokes out
/// of bounds (a pad over [`MAX_PAD_SIDE`], points off the pad, too many or too long) draw
/// nothing: [`render_png`] and [`check`] say why.
pub fn render(strokes: &Strokes) -> RgbaImage {
    let mut image = RgbaImage::new(
        strokes.width.clamp(1, MAX_PAD_SIDE),
        strokes.height.clamp(1, MAX_PAD_SIDE),
    );
    if within_bounds(strokes).is_err() {
        return image;
    }
    for stroke in &strokes.strokes {
        let ink = smooth(stroke);
        if ink.len() == 1 {
            draw_segment(&mut image, ink[0], ink[0]);
        }
        for pair in ink.windows(2) {
            draw_segment(&mut image, pair[0], pair[1]);
        }
    }
    image
}

/// Render and encode as PNG (fixed encoder settings, so the same strokes give the same bytes).
pub fn render_png(strokes: &Strokes) -> Result<Vec<u8>, SignatureError> {
    within_bounds(strokes)?;
    let image = render(strokes);
    let mut bytes = Cursor::new(Vec::new());
    PngEncoder::new_with_quality(&mut bytes, CompressionType::Default, FilterType::Adaptive)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgba8,
        )
        .map_err(|e| SignatureError::Encode(e.to_string()))?;
    Ok(bytes.into_inner())
}

/// Render as SVG: one round-capped line per smoothed step, with its width.
pub fn render_svg(strokes: &Strokes) -> String {
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}"><g stroke="#{:02x}{:02x}{:02x}" stroke-linecap="round" fill="none">"##,
        INK[0],
        INK[1],
        INK[2],
        w = strokes.width,
        h = strokes.height
    );
    for stroke in &strokes.strokes {
        let ink = smooth(stroke);
        for pair in ink.windows(2) {
            let _ = write!(
                svg,
                r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke-width="{:.2}"/>"#,
                pair[0].x,
                pair[0].y,
                pair[1].x,
                pair[1].y,
                (pair[0].width + pair[1].width) / 2.0
            );
        }
    }
    svg.push_str("</g></svg>");
    svg
}

/// The SHA-256 every signature of a visit binds to when the applicant signs the application
/// and the inventory together: over both content hashes, each named, in a fixed order, so a
/// change to either paper (or swapping them) changes it.
pub fn signed_set_sha256(inventory_sha256: &str, application_sha256: &str) -> String {
    let text = format!(
        "fieldkit-signed-set-v1\ninventory:{inventory_sha256}\napplication:{application_sha256}"
    );
    sha256_hex(text.as_bytes())
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(digest(&SHA256, bytes))
}

/// A signature as it is kept and sealed: the strokes, the hash of their rendered image, who
/// signed in which role, when, and the hash of the exact document signed.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct SignatureRecord {
    pub strokes: Strokes,
    pub image_sha256: String,
    pub role: SignerRole,
    pub signer: String,
    /// Unix seconds.
    pub signed_at: i64,
    pub document_sha256: String,
}

impl std::fmt::Debug for SignatureRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SignatureRecord({:?}, {} strokes, <redacted>)",
            self.role,
            self.strokes.strokes.len()
        )
    }
}

/// Check the strokes and make the record and its PNG.
pub fn sign(
    strokes: Strokes,
    role: SignerRole,
    signer: &str,
    signed_at: i64,
    document_sha256: &str,
) -> Result<(SignatureRecord, Vec<u8>), SignatureError> {
    check(&strokes)?;
    let png = render_png(&strokes)?;
    let record = SignatureRecord {
        strokes,
        image_sha256: sha256_hex(&png),
        role,
        signer: signer.to_owned(),
        signed_at,
        document_sha256: document_sha256.to_owned(),
    };
    Ok((record, png))
}

/// Check a record against the document it claims to sign and, if given, the stored image.
pub fn verify(
    record: &SignatureRecord,
    document_sha256: &str,
    image: Option<&[u8]>,
) -> Result<(), SignatureError> {
    if record.document_sha256 != document_sha256 {
        return Err(SignatureError::OtherDocument);
    }
    let png = render_png(&record.strokes)?;
    let hash = sha256_hex(&png);
    if hash != record.image_sha256 || image.is_some_and(|stored| sha256_hex(stored) != hash) {
        return Err(SignatureError::ImageMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signed_set_changes_with_either_paper_and_with_their_order() {
        let (a, b) = ("a".repeat(64), "b".repeat(64));
        let set = signed_set_sha256(&a, &b);
        assert_eq!(set.len(), 64);
        assert_ne!(set, signed_set_sha256(&b, &a));
        assert_ne!(set, signed_set_sha256(&a, &"c".repeat(64)));
        assert_ne!(set, signed_set_sha256(&"c".repeat(64), &b));
        assert_eq!(set, signed_set_sha256(&a, &b));
    }

    /// A plausible signature: a few loops across the pad over about `seconds`.
    pub(crate) fn sample(seconds: u32) -> Strokes {
        let samples = seconds * 100;
        let points = (0..samples)
            .map(|i| {
                let t = i as f32 / samples as f32;
                Point {
                    x: 40.0 + 520.0 * t + 25.0 * (t * 40.0).sin(),
                    y: 100.0 + 40.0 * (t * 13.0).sin() * (t * 3.0).cos(),
                    t_ms: i * 10,
                    pressure: None,
                }
            })
            .collect();
        Strokes {
            width: 600,
            height: 200,
            strokes: vec![Stroke { points }],
        }
    }

    fn dot() -> Strokes {
        let points = (0..20)
            .map(|i| Point {
                x: 300.0 + (i % 2) as f32,
                y: 100.0,
                t_ms: i * 10,
                pressure: None,
            })
            .collect();
        Strokes {
            width: 600,
            height: 200,
            strokes: vec![Stroke { points }],
        }
    }

    #[test]
    fn empty_dot_and_short_signatures_are_refused() {
        let empty = Strokes {
            width: 600,
            height: 200,
            strokes: vec![],
        };
        assert_eq!(check(&empty), Err(SignatureError::Empty));
        assert_eq!(check(&dot()), Err(SignatureError::Dot));
        let few = Strokes {
            width: 600,
            height: 200,
            strokes: vec![Stroke {
                points: (0..5)
                    .map(|i| Point {
                        x: 100.0 + 60.0 * i as f32,
                        y: 100.0,
                        t_ms: i * 10,
                        pressure: None,
                    })
                    .collect(),
            }],
        };
        assert_eq!(check(&few), Err(SignatureError::TooFewPoints(5)));
        let short = Strokes {
            width: 600,
            height: 200,
            strokes: vec![Stroke {
                points: (0..12)
                    .map(|i| Point {
                        x: 100.0 + 4.0 * i as f32,
                        y: 100.0,
                        t_ms: i * 10,
                        pressure: None,
                    })
                    .collect(),
            }],
        };
        assert!(matches!(
            check(&short),
            Err(SignatureError::TooShort { .. })
        ));
        let mut outside = sample(2);
        outside.strokes[0].points[3].x = 700.0;
        assert_eq!(check(&outside), Err(SignatureError::OutsidePad));
        assert_eq!(
            SignatureError::Dot.message_uk(),
            "Це крапка, а не підпис: розпишіться ще раз"
        );
    }

    #[test]
    fn rendering_is_transparent_around_anti_aliased_ink() {
        let image = render(&sample(3));
        let alphas: Vec<u8> = image.pixels().map(|p| p.0[3]).collect();
        assert_eq!(image.get_pixel(0, 0).0[3], 0, "background is transparent");
        assert!(alphas.contains(&255), "there is solid ink");
        assert!(
            alphas.iter().any(|&a| a > 0 && a < 255),
            "edges are anti-aliased"
        );
        let svg = render_svg(&sample(3));
        assert!(svg.starts_with("<svg") && svg.contains("<line") && svg.ends_with("</svg>"));
    }

    #[test]
    fn record_verifies_and_tampering_is_caught() {
        let (record, png) = sign(
            sample(3),
            SignerRole::Applicant,
            "Шевченко М. І.",
            1_795_000_000,
            "abc",
        )
        .unwrap();
        verify(&record, "abc", Some(&png)).unwrap();
        assert_eq!(
            verify(&record, "other", Some(&png)),
            Err(SignatureError::OtherDocument)
        );
        let mut moved = record.clone();
        moved.strokes.strokes[0].points[10].y += 30.0;
        assert_eq!(
            verify(&moved, "abc", None),
            Err(SignatureError::ImageMismatch)
        );
        let mut other_png = png.clone();
        let last = other_png.len() - 20;
        other_png[last] ^= 1;
        assert_eq!(
            verify(&record, "abc", Some(&other_png)),
            Err(SignatureError::ImageMismatch)
        );
        assert!(!format!("{record:?}").contains("Шевченко"));
    }

    /// Found by fuzzing (tests/fuzz, target signature_strokes): one point 10⁸ px off the pad in
    /// a record from a tablet made the server's render step along the segment for minutes.
    #[test]
    fn a_point_far_off_the_pad_is_refused_before_rendering() {
        let (mut record, _) = sign(
            sample(3),
            SignerRole::Applicant,
            "Заявник",
            1_795_000_000,
            "abc",
        )
        .unwrap();
        record.strokes.strokes[0].points[30].y = 100_860_868.0;
        assert_eq!(render_png(&record.strokes), Err(SignatureError::OutsidePad));
        assert_eq!(
            verify(&record, "abc", None),
            Err(SignatureError::OutsidePad)
        );
        let blank = render(&record.strokes);
        assert!(blank.pixels().all(|p| p.0[3] == 0));
        // Smoothing alone (the receipt's vector drawing) stays bounded too.
        assert!(smooth(&record.strokes.strokes[0]).len() < 2 * MAX_SEGMENT_STEPS + 1000);
    }

    #[test]
    fn a_pad_larger_than_a_screen_is_refused_before_allocating() {
        let mut strokes = sample(3);
        strokes.width = u32::MAX;
        strokes.height = u32::MAX;
        assert_eq!(render_png(&strokes), Err(SignatureError::TooLarge));
        assert_eq!(check(&strokes), Err(SignatureError::TooLarge));
        let image = render(&strokes);
        assert_eq!(image.dimensions(), (MAX_PAD_SIDE, MAX_PAD_SIDE));
    }

    #[test]
    fn too_many_points_or_too_much_line_is_refused() {
        let mut many = sample(3);
        let point = many.strokes[0].points[0];
        many.strokes[0].points = vec![point; MAX_POINTS + 1];
        assert_eq!(render_png(&many), Err(SignatureError::TooLarge));

        // A thousand strokes from corner to corner of the largest pad: 5.8 million px of line.
        let side = MAX_PAD_SIDE as f32;
        let corner_to_corner = Stroke {
            points: vec![
                Point {
                    x: 0.0,
                    y: 0.0,
                    t_ms: 0,
                    pressure: None,
                },
                Point {
                    x: side,
                    y: side,
                    t_ms: 10,
                    pressure: None,
                },
            ],
        };
        let long = Strokes {
            width: MAX_PAD_SIDE,
            height: MAX_PAD_SIDE,
            strokes: vec![corner_to_corner; 1000],
        };
        assert_eq!(render_png(&long), Err(SignatureError::TooLarge));
        assert_eq!(check(&long), Err(SignatureError::TooLarge));
    }
}
