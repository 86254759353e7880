//! Capture benchmarks, each beside its peer in the same run (figures only, no assertions):
//! - the page pipeline on a 2480×3508 grey A4 scan, step by step, beside ImageMagick doing
//!   decode + grey + resize + JPEG encode on the same file with one thread;
//! - QR codes on 50 generated pages (turned, scaled, noisy, blurred, in perspective): decode
//!   rate and time per page for our reader and for zbarimg on the same files;
//! - rendering a 5-second signature.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use fieldkit_capture::pipeline::{
    crop_to_page, deskew, encode_jpeg, encode_page, normalize_contrast, resample_for_a4, rotate,
    thumbnail, to_grey,
};
use fieldkit_capture::qr::{find_qr_codes, generate_qr};
use fieldkit_capture::quality::assess;
use fieldkit_capture::signature::{Point, Stroke, Strokes, render_png};
use fieldkit_capture::{DecodeLimits, decode_page};
use image::{GrayImage, Luma};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f32 {
        (self.next() % 10_000) as f32 / 10_000.0
    }
}

fn text_page(width: u32, height: u32, rng: &mut Rng) -> GrayImage {
    let mut image = GrayImage::from_pixel(width, height, Luma([240]));
    let margin = width / 10;
    let line = (height / 60).max(6);
    let glyph = line * 6 / 10;
    let mut y = margin;
    while y + line < height - margin {
        let mut x = margin;
        while x < width - margin {
            let w = glyph / 2 + (rng.next() % u64::from(glyph)) as u32;
            if !rng.next().is_multiple_of(6) {
                for gy in y..y + glyph {
                    for gx in x..(x + w).min(width - margin) {
                        if gy - y < 2 || y + glyph - gy <= 2 || gx - x < 2 || x + w - gx <= 2 {
                            image.put_pixel(gx, gy, Luma([25]));
                        }
                    }
                }
            }
            x += w + glyph / 3 + 1;
        }
        y += line;
    }
    image
}

fn best_of<T>(runs: usize, mut work: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let value = work();
        best = best.min(start.elapsed());
        last = Some(value);
    }
    (best, last.unwrap())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn page_pipeline(dir: &Path) {
    let mut rng = Rng(0x5eed);
    let page = rotate(&text_page(2480, 3508, &mut rng), -3.0, 240);
    let path = dir.join("a4.jpg");
    std::fs::write(&path, encode_jpeg(&page, 90).unwrap().bytes).unwrap();
    let bytes = std::fs::read(&path).unwrap();

    let (t_decode, decoded) = best_of(3, || decode_page(&bytes, DecodeLimits::default()).unwrap());
    let (t_grey, grey) = best_of(3, || to_grey(&decoded));
    let (t_crop, cropped) = best_of(3, || crop_to_page(&grey));
    let (t_quality, _) = best_of(3, || assess(&cropped, Some(300)));
    let (t_deskew, (straight, angle)) = best_of(3, || deskew(&cropped));
    let (t_contrast, normalised) = best_of(3, || normalize_contrast(&straight));
    let (t_resample, resampled) = best_of(3, || resample_for_a4(&normalised));
    let (t_encode, encoded) = best_of(3, || encode_page(&resampled).unwrap());
    let (t_thumb, _) = best_of(3, || encode_jpeg(&thumbnail(&resampled, 320), 80).unwrap());
    let same_work = t_decode + t_grey + t_resample + t_encode;
    let total = same_work + t_crop + t_quality + t_deskew + t_contrast + t_thumb;

    let out = dir.join("magick.jpg");
    let (t_magick, status) = best_of(3, || {
        Command::new("convert")
            .args(["-limit", "thread", "1"])
            .arg(&path)
            .args([
                "-colorspace",
                "Gray",
                "-resize",
                "2480x3508",
                "-quality",
                "85",
            ])
            .arg(&out)
            .status()
    });
    println!(
        "page pipeline, 2480×3508 grey A4 scan ({} KiB JPEG), best of 3:",
        bytes.len() / 1024
    );
    for (name, time) in [
        ("decode", t_decode),
        ("grey", t_grey),
        ("crop to page", t_crop),
        ("quality checks", t_quality),
        ("deskew (measured {angle:.1}°)", t_deskew),
        ("normalise contrast", t_contrast),
        ("resample for A4", t_resample),
        ("encode", t_encode),
        ("thumbnail", t_thumb),
    ] {
        println!(
            "  {:<32} {:8.1} ms",
            name.replace("{angle:.1}", &format!("{angle:.1}")),
            ms(time)
        );
    }
    println!(
        "  ours, whole pipeline              {:8.1} ms  (stored {} KiB, {})",
        ms(total),
        encoded.bytes.len() / 1024,
        encoded.mime
    );
    println!(
        "  ours, decode+grey+resize+encode   {:8.1} ms",
        ms(same_work)
    );
    match status {
        Ok(s) if s.success() => println!(
            "  ImageMagick, same 4 steps, 1 thread {:6.1} ms   ratio ours/IM: {:.2} (same work), {:.2} (whole pipeline)",
            ms(t_magick),
            ms(same_work) / ms(t_magick),
            ms(total) / ms(t_magick)
        ),
        _ => println!(
            "  ImageMagick (convert) not available: install imagemagick for the comparison"
        ),
    }
}

/// Map a QR code onto the page through a projective warp (a photo taken at an angle).
fn place_warped(
    page: &mut GrayImage,
    code: &GrayImage,
    origin: (f32, f32),
    scale: f32,
    degrees: f32,
    tilt: f32,
) {
    let (sin, cos) = degrees.to_radians().sin_cos();
    let size = code.width() as f32 * scale * 1.6;
    for py in 0..size as u32 {
        for px in 0..size as u32 {
            let (x, y) = (px as f32 - size / 2.0, py as f32 - size / 2.0);
            // Inverse: page → code, with a little perspective in y.
            let w = 1.0 + tilt * y / size;
            let (u, v) = (
                (x * cos + y * sin) / scale * w,
                (-x * sin + y * cos) / scale * w,
            );
            let (cu, cv) = (
                u + code.width() as f32 / 2.0,
                v + code.height() as f32 / 2.0,
            );
            if cu >= 0.0 && cv >= 0.0 && (cu as u32) < code.width() && (cv as u32) < code.height() {
                let (tx, ty) = ((origin.0 + x) as u32, (origin.1 + y) as u32);
                if tx < page.width() && ty < page.height() {
                    page.put_pixel(tx, ty, *code.get_pixel(cu as u32, cv as u32));
                }
            }
        }
    }
}

fn qr_pages(dir: &Path) {
    let mut rng = Rng(0xC0DE);
    let mut files = Vec::new();
    let mut pages = Vec::new();
    for i in 0..50u32 {
        let text = format!("https://cnap.example.ua/track/LV01/T07/2026/{:06}", i + 1);
        let mut page = text_page(1240, 1754, &mut rng);
        let code = generate_qr(&text, 4).unwrap();
        let scale = 0.8 + 1.4 * rng.unit();
        let degrees = 60.0 * rng.unit() - 30.0;
        let tilt = 0.3 * rng.unit();
        place_warped(
            &mut page,
            &code,
            (300.0 + 500.0 * rng.unit(), 400.0 + 800.0 * rng.unit()),
            scale,
            degrees,
            tilt,
        );
        for pixel in page.pixels_mut() {
            let noise = (rng.next() % 41) as i32 - 20;
            pixel.0[0] = (i32::from(pixel.0[0]) + noise).clamp(0, 255) as u8;
        }
        if i % 3 == 0 {
            page = image::imageops::blur(&page, 0.8 + rng.unit());
        }
        let path = dir.join(format!("qr-{i:02}.png"));
        page.save(&path).unwrap();
        files.push(path);
        pages.push((text, page));
    }
    let start = Instant::now();
    let ours = pages
        .iter()
        .filter(|(text, page)| find_qr_codes(page).iter().any(|f| &f.text() == text))
        .count();
    let t_ours = start.elapsed();

    let start = Instant::now();
    let output = Command::new("zbarimg")
        .args(["--raw", "-q", "-Sdisable", "-Sqrcode.enable"])
        .args(&files)
        .output();
    let t_zbar = start.elapsed();
    println!(
        "QR codes on 50 generated A4 pages at 150 dpi (turned ±30°, scaled 0.8–2.2×, perspective, noise, blur on a third):"
    );
    println!(
        "  ours:    {ours}/50 decoded, {:.1} ms per page (decode from memory)",
        ms(t_ours) / 50.0
    );
    match output {
        Ok(output) => {
            let decoded = String::from_utf8_lossy(&output.stdout);
            let zbar = pages
                .iter()
                .filter(|(text, _)| decoded.lines().any(|l| l == text))
                .count();
            println!(
                "  zbarimg: {zbar}/50 decoded, {:.1} ms per page (including reading the PNG)",
                ms(t_zbar) / 50.0
            );
        }
        Err(_) => println!("  zbarimg not available: install zbar-tools for the comparison"),
    }
}

fn signature() {
    let points = (0..500u32)
        .map(|i| {
            let t = i as f32 / 500.0;
            Point {
                x: 40.0 + 520.0 * t + 25.0 * (t * 40.0).sin(),
                y: 100.0 + 40.0 * (t * 13.0).sin(),
                t_ms: i * 10,
                pressure: None,
            }
        })
        .collect();
    let strokes = Strokes {
        width: 600,
        height: 200,
        strokes: vec![Stroke { points }],
    };
    let (time, png) = best_of(10, || render_png(&strokes).unwrap());
    println!(
        "signature: 5 s at 100 Hz (500 points) rendered to a 600×200 PNG in {:.2} ms ({} bytes)",
        ms(time),
        png.len()
    );
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    page_pipeline(dir.path());
    qr_pages(dir.path());
    signature();
}
