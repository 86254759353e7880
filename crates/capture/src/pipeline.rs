//! The page pipeline, one plain function per step on an image buffer: grey, crop to the page,
//! deskew, normalise contrast, resample for A4 at 300 dpi, encode, thumbnail.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::imageops::FilterType;
use image::{
    DynamicImage, GenericImageView, GrayImage, ImageBuffer, ImageEncoder, Luma, Pixel, Rgb,
    RgbImage,
};
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

/// The page's rectangle (x, y, width, height) when it lies on a darker background (a photo on
/// a table, a scanner lid left open): rows and columns where most pixels are light belong to
/// the page. `None` when there is no such background to remove.
pub fn page_bounds(image: &GrayImage) -> Option<(u32, u32, u32, u32)> {
    let (width, height) = image.dimensions();
    if width < 16 || height < 16 {
        return None;
    }
    let threshold = otsu_threshold(image);
    let light = |x: u32, y: u32| image.get_pixel(x, y).0[0] > threshold;
    let row_is_page = |y: u32| (0..width).filter(|&x| light(x, y)).count() * 2 > width as usize;
    let column_is_page =
        |x: u32| (0..height).filter(|&y| light(x, y)).count() * 2 > height as usize;
    let top = (0..height).find(|&y| row_is_page(y))?;
    let bottom = (0..height).rev().find(|&y| row_is_page(y))?;
    let left = (0..width).find(|&x| column_is_page(x))?;
    let right = (0..width).rev().find(|&x| column_is_page(x))?;
    let (crop_width, crop_height) = (right - left + 1, bottom - top + 1);
    // Crop only when a real margin of background was found, and the page is most of the image.
    let trimmed = crop_width < width * 98 / 100 || crop_height < height * 98 / 100;
    let plausible = crop_width > width / 3 && crop_height > height / 3;
    (trimmed && plausible).then_some((left, top, crop_width, crop_height))
}

/// Crop to the page (see [`page_bounds`]).
pub fn crop_to_page(image: &GrayImage) -> GrayImage {
    match page_bounds(image) {
        Some((x, y, w, h)) => image::imageops::crop_imm(image, x, y, w, h).to_image(),
        None => image.clone(),
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
    rotate_pixels(image, degrees, Luma([fill]))
}

/// [`rotate`] for colour pages.
pub fn rotate_colour(image: &RgbImage, degrees: f32, fill: [u8; 3]) -> RgbImage {
    rotate_pixels(image, degrees, Rgb(fill))
}

fn rotate_pixels<P: Pixel<Subpixel = u8>>(
    image: &ImageBuffer<P, Vec<u8>>,
    degrees: f32,
    fill: P,
) -> ImageBuffer<P, Vec<u8>> {
    let (width, height) = image.dimensions();
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (cx, cy) = (width as f32 / 2.0, height as f32 / 2.0);
    let sample = |x: f32, y: f32| -> P {
        if x < 0.0 || y < 0.0 || x > (width - 1) as f32 || y > (height - 1) as f32 {
            return fill;
        }
        let (x0, y0) = (x.floor() as u32, y.floor() as u32);
        let (x1, y1) = ((x0 + 1).min(width - 1), (y0 + 1).min(height - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let (a, b, c, d) = (
            image.get_pixel(x0, y0),
            image.get_pixel(x1, y0),
            image.get_pixel(x0, y1),
            image.get_pixel(x1, y1),
        );
        let mut out = *a;
        for (channel, value) in out.channels_mut().iter_mut().enumerate() {
            let p = |q: &P| f32::from(q.channels()[channel]);
            let top = p(a) * (1.0 - fx) + p(b) * fx;
            let bottom = p(c) * (1.0 - fx) + p(d) * fx;
            *value = (top * (1.0 - fy) + bottom * fy).round() as u8;
        }
        out
    };
    ImageBuffer::from_fn(width, height, |x, y| {
        let (dx, dy) = (x as f32 - cx, y as f32 - cy);
        sample(cx + dx * cos - dy * sin, cy + dx * sin + dy * cos)
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

/// The levels table that maps the darkest 1% of `grey` to black and the lightest 1% to white;
/// `None` when the page has too little contrast to stretch.
fn contrast_table(grey: &GrayImage) -> Option<[u8; 256]> {
    let (low, high) = (percentile(grey, 0.01), percentile(grey, 0.99));
    if high <= low.saturating_add(10) {
        return None;
    }
    let scale = 255.0 / f32::from(high - low);
    let mut table = [0u8; 256];
    for (level, entry) in table.iter_mut().enumerate() {
        *entry = ((level as f32 - f32::from(low)) * scale)
            .clamp(0.0, 255.0)
            .round() as u8;
    }
    Some(table)
}

/// Stretch the grey levels so the darkest 1% become black and the lightest 1% white.
pub fn normalize_contrast(image: &GrayImage) -> GrayImage {
    let mut out = image.clone();
    if let Some(table) = contrast_table(image) {
        out.pixels_mut()
            .for_each(|p| p.0[0] = table[p.0[0] as usize]);
    }
    out
}

/// [`normalize_contrast`] for colour pages: the levels come from the page's grey version and
/// apply to every channel, so colours keep their balance.
pub fn normalize_contrast_colour(image: &RgbImage, grey: &GrayImage) -> RgbImage {
    let mut out = image.clone();
    if let Some(table) = contrast_table(grey) {
        out.pixels_mut()
            .for_each(|p| p.0.iter_mut().for_each(|c| *c = table[*c as usize]));
    }
    out
}

/// Does the page carry colour worth keeping (stamps, coloured certificates), or is it grey?
pub fn is_colour(image: &DynamicImage) -> bool {
    if !image.color().has_color() {
        return false;
    }
    // A grid of about 150×150 samples is enough to tell, without converting the whole page.
    let (width, height) = image.dimensions();
    let (step_x, step_y) = ((width / 150).max(1), (height / 150).max(1));
    let (mut count, mut chroma) = (0u64, 0u64);
    for y in (0..height).step_by(step_y as usize) {
        for x in (0..width).step_by(step_x as usize) {
            let [r, g, b, _] = image.get_pixel(x, y).0.map(i32::from);
            count += 1;
            chroma += ((r - g).abs() + (g - b).abs() + (b - r).abs()) as u64;
        }
    }
    // Mean spread between channels: a grey page photographed in colour stays under a few levels.
    count > 0 && chroma / count > 12
}

/// Fit within A4 at 300 dpi (either orientation); smaller sources are kept as they are.
pub fn resample_for_a4<P: Pixel<Subpixel = u8> + 'static>(
    image: &ImageBuffer<P, Vec<u8>>,
) -> ImageBuffer<P, Vec<u8>> {
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
pub fn thumbnail<P: Pixel<Subpixel = u8> + 'static>(
    image: &ImageBuffer<P, Vec<u8>>,
    max_side: u32,
) -> ImageBuffer<P, Vec<u8>> {
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

/// JPEG for a grey or colour page (any 8-bit image buffer the JPEG encoder takes).
fn encode_jpeg_pixels<P: Pixel<Subpixel = u8> + image::PixelWithColorType>(
    image: &ImageBuffer<P, Vec<u8>>,
    quality: u8,
) -> Result<EncodedImage, CaptureError> {
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, quality)
        .write_image(image.as_raw(), image.width(), image.height(), P::COLOR_TYPE)
        .map_err(|e| CaptureError::Encode(e.to_string()))?;
    Ok(EncodedImage {
        bytes,
        mime: "image/jpeg",
    })
}

pub fn encode_jpeg(image: &GrayImage, quality: u8) -> Result<EncodedImage, CaptureError> {
    encode_jpeg_pixels(image, quality)
}

/// JPEG for a colour page.
pub fn encode_jpeg_colour(image: &RgbImage, quality: u8) -> Result<EncodedImage, CaptureError> {
    encode_jpeg_pixels(image, quality)
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
    /// Stored in colour (stamps, coloured documents) rather than grey.
    pub colour: bool,
    pub issues: Vec<QualityIssue>,
    /// SHA-256 of the encoded image, hex: what the case and the signatures refer to.
    pub sha256: String,
}

/// The whole pipeline for one page file. `source_dpi` is the scanner's resolution when known.
/// Geometry (crop, deskew) and levels are measured on the grey page; a colour page gets the
/// same corrections and is stored in colour.
pub fn process_page(bytes: &[u8], source_dpi: Option<u32>) -> Result<ProcessedPage, CaptureError> {
    let decoded = decode_page(bytes, DecodeLimits::default())?;
    let colour = is_colour(&decoded);
    let grey = to_grey(&decoded);
    let bounds = page_bounds(&grey);
    let crop_grey = |image: &GrayImage| match bounds {
        Some((x, y, w, h)) => image::imageops::crop_imm(image, x, y, w, h).to_image(),
        None => image.clone(),
    };
    let page = crop_grey(&grey);
    drop(grey);
    let issues = assess(&page, source_dpi);
    let skew_degrees = estimate_skew(&page);
    let straighten = skew_degrees.abs() >= 0.2;
    let straight = if straighten {
        rotate(&page, skew_degrees, 255)
    } else {
        page
    };
    let (image, thumbnail_image, width, height) = if colour {
        let mut rgb = decoded.to_rgb8();
        drop(decoded);
        if let Some((x, y, w, h)) = bounds {
            rgb = image::imageops::crop_imm(&rgb, x, y, w, h).to_image();
        }
        if straighten {
            rgb = rotate_colour(&rgb, skew_degrees, [255, 255, 255]);
        }
        let resampled = resample_for_a4(&normalize_contrast_colour(&rgb, &straight));
        let thumb = encode_jpeg_colour(&thumbnail(&resampled, 320), 80)?;
        (
            encode_jpeg_colour(&resampled, 85)?,
            thumb,
            resampled.width(),
            resampled.height(),
        )
    } else {
        drop(decoded);
        let resampled = resample_for_a4(&normalize_contrast(&straight));
        let thumb = encode_jpeg(&thumbnail(&resampled, 320), 80)?;
        (
            encode_page(&resampled)?,
            thumb,
            resampled.width(),
            resampled.height(),
        )
    };
    let sha256 = hex::encode(digest(&SHA256, &image.bytes));
    Ok(ProcessedPage {
        image,
        width,
        height,
        thumbnail: thumbnail_image,
        skew_degrees: if straighten { skew_degrees } else { 0.0 },
        colour,
        issues,
        sha256,
    })
}
