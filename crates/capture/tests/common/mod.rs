//! Generated pages for the capture tests: text-like lines of "glyphs" on white paper.
#![allow(dead_code)]

use image::{GrayImage, Luma};

/// A deterministic page of text-like glyph rows with margins, `width`×`height` pixels.
pub fn text_page(width: u32, height: u32, seed: u64) -> GrayImage {
    let mut image = GrayImage::from_pixel(width, height, Luma([245]));
    let mut state = seed | 1;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let margin = width / 10;
    let line_height = (height / 60).max(6);
    let glyph_height = line_height * 6 / 10;
    let mut y = margin;
    while y + line_height < height - margin {
        let mut x = margin;
        while x < width - margin {
            let glyph_width = (glyph_height / 2 + (next() % u64::from(glyph_height)) as u32).max(2);
            if next() % 6 != 0 {
                for gy in y..(y + glyph_height).min(height) {
                    for gx in x..(x + glyph_width).min(width - margin) {
                        // Strokes, not solid blocks: keep the glyph's inside lighter.
                        let edge = gy - y < 2
                            || y + glyph_height - gy <= 2
                            || gx - x < 2
                            || x + glyph_width - gx <= 2;
                        if edge {
                            image.put_pixel(gx, gy, Luma([20]));
                        }
                    }
                }
            }
            x += glyph_width + glyph_height / 3 + 1;
        }
        y += line_height;
    }
    image
}

/// Put `page` on a darker background, like a photo of a page on a table.
pub fn on_background(page: &GrayImage, border: u32, level: u8) -> GrayImage {
    let mut out = GrayImage::from_pixel(
        page.width() + 2 * border,
        page.height() + 2 * border,
        Luma([level]),
    );
    image::imageops::overlay(&mut out, page, i64::from(border), i64::from(border));
    out
}

pub fn png_bytes(image: &GrayImage) -> Vec<u8> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
    bytes.into_inner()
}

pub fn jpeg_bytes(image: &GrayImage) -> Vec<u8> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, image::ImageFormat::Jpeg)
        .unwrap();
    bytes.into_inner()
}
