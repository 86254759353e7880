//! Decoding a page file under limits, with its EXIF orientation applied.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};

use crate::CaptureError;

/// How large an image may be. A 600 dpi A4 scan is 4960×7016; a phone photo about 4000×3000.
#[derive(Debug, Clone, Copy)]
pub struct DecodeLimits {
    pub max_side: u32,
    pub max_bytes: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_side: 12_000,
            max_bytes: 512 * 1024 * 1024,
        }
    }
}

fn map_error(error: ImageError, limits: &DecodeLimits, size: Option<(u32, u32)>) -> CaptureError {
    match error {
        ImageError::Limits(_) => {
            let (width, height) = size.unwrap_or((0, 0));
            CaptureError::TooLarge {
                width,
                height,
                limit: limits.max_side,
            }
        }
        ImageError::Unsupported(_) => CaptureError::NotAnImage,
        other => CaptureError::Corrupt(other.to_string()),
    }
}

/// Lenient decoders fill a cut-off image with grey; an upload cut short must be refused
/// instead, so check that the file ends where its format says it ends.
fn is_complete(bytes: &[u8], format: ImageFormat) -> bool {
    match format {
        // JPEG ends with EOI (FF D9); some cameras pad after it.
        ImageFormat::Jpeg => {
            let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
            end >= 2 && bytes[end - 2..end] == [0xFF, 0xD9]
        }
        // PNG ends with the IEND chunk: length 0, type, CRC.
        ImageFormat::Png => {
            bytes.len() >= 12 && &bytes[bytes.len() - 8..bytes.len() - 4] == b"IEND"
        }
        _ => true,
    }
}

/// Decode JPEG, PNG or TIFF bytes into an upright image, refusing anything too large before
/// allocating it.
pub fn decode_page(bytes: &[u8], limits: DecodeLimits) -> Result<DynamicImage, CaptureError> {
    if bytes.is_empty() {
        return Err(CaptureError::Empty);
    }
    let format = image::guess_format(bytes).map_err(|_| CaptureError::NotAnImage)?;
    if !matches!(
        format,
        ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Tiff
    ) {
        return Err(CaptureError::NotAnImage);
    }
    // The header alone tells the size; check it before any pixel buffer is allocated.
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|e| map_error(e, &limits, None))?;
    if width > limits.max_side || height > limits.max_side {
        return Err(CaptureError::TooLarge {
            width,
            height,
            limit: limits.max_side,
        });
    }
    if !is_complete(bytes, format) {
        return Err(CaptureError::Corrupt("the file is cut short".into()));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut image_limits = Limits::default();
    image_limits.max_image_width = Some(limits.max_side);
    image_limits.max_image_height = Some(limits.max_side);
    image_limits.max_alloc = Some(limits.max_bytes);
    reader.limits(image_limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| map_error(e, &limits, None))?;
    let size = decoder.dimensions();
    if size.0 > limits.max_side || size.1 > limits.max_side {
        return Err(CaptureError::TooLarge {
            width: size.0,
            height: size.1,
            limit: limits.max_side,
        });
    }
    // A missing or unreadable orientation means "as stored".
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image =
        DynamicImage::from_decoder(decoder).map_err(|e| map_error(e, &limits, Some(size)))?;
    image.apply_orientation(orientation);
    Ok(image)
}
