//! The page pipeline, one plain function per step on an image buffer: grey, crop to the page,
//! deskew, normalise contrast, resample for A4 at 300 dpi, encode, thumbnail.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::imageops::FilterType;
use image::{DynamicImage, GrayImage, ImageEncoder, Luma};
use ring::digest::{SHA256, digest};

use crate::quality::{QualityIssue, assess};
use crate::{CaptureError, DecodeLimits, decode_page};

/// An A4 page at 300 dpi, portrait.
pub const A4_AT_300_DPI: (u32, u32) = (2480, 3508);

/// The largest skew the deskew step looks for, in degrees.
pub const MAX_SKEW_DEGREES: f32 = 15.0;

pub fn to_grey(image: &DynamicImage) -> GrayImage {
    image.to_luma8()
}

fn histogram(image: &GrayImage) -> [u64; 256] {
    let mut histogram = [0u64; 256];
    for pixel in image.pixels() {
        histogram[pixel.0[0] as usize] += 1;
    }
    histogram
}

/// The grey level at a fraction (0–1) of the pixels.
pub fn percentile(image: &GrayImage, fraction: f64) -> u8 {
    let histogram = histogram(image);
    let total: u64 = histogram.iter().sum();
    let target = (total as f64 * fraction).ceil() as u64;
    let mut seen = 0;
    for (level, count) in histogram.iter().enumerate() {
        seen += count;
        if seen >= target.max(1) {
            return level as u8;
        }
    }
    255
}

/// Otsu's threshold: the grey level that best separates ink (or background) from paper;
/// levels up to and including it are the dark class.
pub fn otsu_threshold(image: &GrayImage) -> u8 {
    let histogram = histogram(image);
    let total: f64 = histogram.iter().sum::<u64>() as f64;
    let sum_all: f64 = histogram
        .iter()
        .enumerate()
        .map(|(i, &c)| i as f64 * c as f64)
        .sum();
    let (mut weight_dark, mut sum_dark) = (0.0, 0.0);
    let (mut best, mut best_variance) = (127u8, -1.0);
    for (level, &count) in histogram.iter().enumerate() {
        weight_dark += count as f64;
        if weight_dark == 0.0 {
            continue;
        }
        let weight_light = total - weight_dark;
        if weight_light == 0.0 {
            break;
        }
        sum_dark += level as f64 * count as f64;
        let mean_dark = sum_dark / weight_dark;
        let mean_light = (sum_all - sum_dark) / weight_light;
        let variance = weight_dark * weight_light * (mean_dark - mean_light).powi(2);
        if variance > best_variance {
            best_variance = variance;
            best = level as u8;
        }
    }
    best
}

/// Crop to the page when it lies on a darker background (a photo on a table, a scanner lid
/// left open). Rows and columns where most pixels are light belong to the page.
pub fn crop_to_page(image: &GrayImage) -> GrayImage {
    let (width, height) = image.dimensions();
    if width < 16 || height < 16 {
        return image.clone();
    }
    let threshold = otsu_threshold(image);
    let light = |x: u32, y: u32| image.get_pixel(x, y).0[0] > threshold;
    let row_is_page = |y: u32| (0..width).filter(|&x| light(x, y)).count() * 2 > width as usize;
    let column_is_page =
        |x: u32| (0..height).filter(|&y| light(x, y)).count() * 2 > height as usize;
    let top = (0..height).find(|&y| row_is_page(y));
    let bottom = (0..height).rev().find(|&y| row_is_page(y));
    let left = (0..width).find(|&x| column_is_page(x));
    let right = (0..width).rev().find(|&x| column_is_page(x));
    let (Some(top), Some(bottom), Some(left), Some(right)) = (top, bottom, left, right) else {
        return image.clone();
    };
    let (crop_width, crop_height) = (right - left + 1, bottom - top + 1);
    // Crop only when a real margin of background was found, and the page is most of the image.
    let trimmed = crop_width < width * 98 / 100 || crop_height < height * 98 / 100;
    let plausible = crop_width > width / 3 && crop_height > height / 3;
    if trimmed && plausible {
        image::imageops::crop_imm(image, left, top, crop_width, crop_height).to_image()
    } else {
        image.clone()
    }
}

/// The angle (degrees, within ±15) of the text lines: the rotation at which the dark pixels'
/// horizontal projection is most peaked.
pub fn estimate_skew(image: &GrayImage) -> f32 {
    let small = thumbnail(image, 700);
    let threshold = otsu_threshold(&small);
    let dark: Vec<(f32, f32)> = small
        .enumerate_pixels()
        .filter(|(_, _, p)| p.0[0] <= threshold.min(160))
        .map(|(x, y, _)| (x as f32, y as f32))
        .collect();
    if dark.len() < 50 {
        return 0.0;
    }
    let diagonal = (small.width() as f32).hypot(small.height() as f32);
    let bins = (2.0 * diagonal) as usize + 2;
    let score = |degrees: f32| -> f64 {
        let (sin, cos) = degrees.to_radians().sin_cos();
        let mut profile = vec![0u32; bins];
        for &(x, y) in &dark {
            let projected = y * cos - x * sin + diagonal;
            if let Some(bin) = profile.get_mut(projected.max(0.0) as usize) {
                *bin += 1;
            }
        }
        profile.iter().map(|&c| f64::from(c) * f64::from(c)).sum()
    };
    let best_in = |from: f32, to: f32, step: f32| -> f32 {
        let steps = ((to - from) / step).round() as i32;
        (0..=steps)
            .map(|i| from + i as f32 * step)
            .map(|angle| (angle, score(angle)))
            .fold((0.0, f64::MIN), |best, current| {
                if current.1 > best.1 { current } else { best }
            })
            .0
    };
    let coarse = best_in(-MAX_SKEW_DEGREES, MAX_SKEW_DEGREES, 0.5);
    best_in(coarse - 0.5, coarse + 0.5, 0.05)
}

/// Rotate so that lines at `degrees` (as [`estimate_skew`] measures them) become horizontal.
/// Bilinear sampling; uncovered corners are filled with `fill`.
pub fn rotate(image: &GrayImage, degrees: f32, fill: u8) -> GrayImage {
    let (width, height) = image.dimensions();
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (cx, cy) = (width as f32 / 2.0, height as f32 / 2.0);
    let sample = |x: f32, y: f32| -> u8 {
        if x < 0.0 || y < 0.0 || x > (width - 1) as f32 || y > (height - 1) as f32 {
            return fill;
        }
        let (x0, y0) = (x.floor() as u32, y.floor() as u32);
        let (x1, y1) = ((x0 + 1).min(width - 1), (y0 + 1).min(height - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let p = |x, y| f32::from(image.get_pixel(x, y).0[0]);
        let top = p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx;
        let bottom = p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx;
        (top * (1.0 - fy) + bottom * fy).round() as u8
    };
    GrayImage::from_fn(width, height, |x, y| {
        let (dx, dy) = (x as f32 - cx, y as f32 - cy);
        Luma([sample(cx + dx * cos - dy * sin, cy + dx * sin + dy * cos)])
    })
}

/// Deskew: measure and correct, skipping corrections too small to matter.
pub fn deskew(image: &GrayImage) -> (GrayImage, f32) {
    let angle = estimate_skew(image);
    if angle.abs() < 0.2 {
        return (image.clone(), 0.0);
    }
    (rotate(image, angle, 255), angle)
}

/// Stretch the grey levels so the darkest 1% become black and the lightest 1% white.
pub fn normalize_contrast(image: &GrayImage) -> GrayImage {
    let (low, high) = (percentile(image, 0.01), percentile(image, 0.99));
    if high <= low.saturating_add(10) {
        return image.clone();
    }
    let scale = 255.0 / f32::from(high - low);
    let mut table = [0u8; 256];
    for (level, entry) in table.iter_mut().enumerate() {
        *entry = ((level as f32 - f32::from(low)) * scale)
            .clamp(0.0, 255.0)
            .round() as u8;
    }
    let mut out = image.clone();
    for pixel in out.pixels_mut() {
        pixel.0[0] = table[pixel.0[0] as usize];
    }
    out
}

/// Fit within A4 at 300 dpi (either orientation); smaller sources are kept as they are.
pub fn resample_for_a4(image: &GrayImage) -> GrayImage {
    let (width, height) = image.dimensions();
    let (max_w, max_h) = if width > height {
        (A4_AT_300_DPI.1, A4_AT_300_DPI.0)
    } else {
        A4_AT_300_DPI
    };
    if width <= max_w && height <= max_h {
        return image.clone();
    }
    let scale = (max_w as f32 / width as f32).min(max_h as f32 / height as f32);
    let (new_w, new_h) = (
        ((width as f32 * scale).round() as u32).max(1),
        ((height as f32 * scale).round() as u32).max(1),
    );
    image::imageops::resize(image, new_w, new_h, FilterType::Triangle)
}

/// A small copy for the screen, at most `max_side` pixels on its longer side.
pub fn thumbnail(image: &GrayImage, max_side: u32) -> GrayImage {
    let (width, height) = image.dimensions();
    let longer = width.max(height);
    if longer <= max_side {
        return image.clone();
    }
    let scale = max_side as f32 / longer as f32;
    image::imageops::thumbnail(
        image,
        ((width as f32 * scale) as u32).max(1),
        ((height as f32 * scale) as u32).max(1),
    )
}

/// Mostly pure black and white, like a printed text page after normalisation.
pub fn is_bilevel(image: &GrayImage) -> bool {
    let middle = image
        .pixels()
        .filter(|p| (40..=215).contains(&p.0[0]))
        .count();
    middle * 50 < image.len()
}

/// An encoded page image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedImage {
    pub bytes: Vec<u8>,
    pub mime: &'static str,
}

pub fn encode_jpeg(image: &GrayImage, quality: u8) -> Result<EncodedImage, CaptureError> {
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, quality)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::L8,
        )
        .map_err(|e| CaptureError::Encode(e.to_string()))?;
    Ok(EncodedImage {
        bytes,
        mime: "image/jpeg",
    })
}

pub fn encode_png(image: &GrayImage) -> Result<EncodedImage, CaptureError> {
    let mut bytes = Cursor::new(Vec::new());
    PngEncoder::new_with_quality(&mut bytes, CompressionType::Best, PngFilter::Adaptive)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::L8,
        )
        .map_err(|e| CaptureError::Encode(e.to_string()))?;
    Ok(EncodedImage {
        bytes: bytes.into_inner(),
        mime: "image/png",
    })
}

/// JPEG for photos and grey scans; lossless PNG for black-and-white text where it is smaller.
pub fn encode_page(image: &GrayImage) -> Result<EncodedImage, CaptureError> {
    let jpeg = encode_jpeg(image, 85)?;
    if is_bilevel(image) {
        let png = encode_png(image)?;
        if png.bytes.len() < jpeg.bytes.len() {
            return Ok(png);
        }
    }
    Ok(jpeg)
}

/// A page after the pipeline, ready to be stored.
#[derive(Debug, Clone)]
pub struct ProcessedPage {
    pub image: EncodedImage,
    pub width: u32,
    pub height: u32,
    pub thumbnail: EncodedImage,
    pub skew_degrees: f32,
    pub issues: Vec<QualityIssue>,
    /// SHA-256 of the encoded image, hex: what the case and the signatures refer to.
    pub sha256: String,
}

/// The whole pipeline for one page file. `source_dpi` is the scanner's resolution when known.
pub fn process_page(bytes: &[u8], source_dpi: Option<u32>) -> Result<ProcessedPage, CaptureError> {
    let decoded = decode_page(bytes, DecodeLimits::default())?;
    let grey = to_grey(&decoded);
    drop(decoded);
    let page = crop_to_page(&grey);
    let issues = assess(&page, source_dpi);
    let (straight, skew_degrees) = deskew(&page);
    let normalised = normalize_contrast(&straight);
    let resampled = resample_for_a4(&normalised);
    let image = encode_page(&resampled)?;
    let thumbnail = encode_jpeg(&thumbnail(&resampled, 320), 80)?;
    let sha256 = hex::encode(digest(&SHA256, &image.bytes));
    Ok(ProcessedPage {
        image,
        width: resampled.width(),
        height: resampled.height(),
        thumbnail,
        skew_degrees,
        issues,
        sha256,
    })
}
