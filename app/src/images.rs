//! Pictures for the screens: encoded pages, signature ink and QR codes as Slint images.

use image::{GrayImage, RgbaImage};
use slint::{Image, Rgba8Pixel, SharedPixelBuffer};

pub fn from_rgba(picture: &RgbaImage) -> Image {
    let buffer = SharedPixelBuffer::<Rgba8Pixel>::clone_from_slice(
        picture.as_raw(),
        picture.width(),
        picture.height(),
    );
    Image::from_rgba8(buffer)
}

pub fn from_grey(picture: &GrayImage) -> Image {
    from_rgba(&image::DynamicImage::ImageLuma8(picture.clone()).to_rgba8())
}

/// An encoded page (JPEG or PNG from the pipeline); an undecodable one shows as empty.
pub fn from_encoded(bytes: &[u8]) -> Image {
    match image::load_from_memory(bytes) {
        Ok(decoded) => from_rgba(&decoded.to_rgba8()),
        Err(_) => Image::default(),
    }
}

/// An encoded page scaled down to at most `max_side` pixels: what the screen shows, so a
/// 30-page case never holds 30 full 300 dpi pages in memory.
pub fn scaled_from_encoded(bytes: &[u8], max_side: u32) -> Image {
    match image::load_from_memory(bytes) {
        Ok(decoded) => from_rgba(&decoded.thumbnail(max_side, max_side).to_rgba8()),
        Err(_) => Image::default(),
    }
}
