#![allow(clippy::unwrap_used)]
//! Bad input gets a typed error, never a panic or an unbounded allocation.

mod common;
use common::*;

use fieldkit_capture::{CaptureError, DecodeLimits, decode_page};

#[test]
fn zero_byte_file_is_empty() {
    assert!(matches!(
        decode_page(&[], DecodeLimits::default()),
        Err(CaptureError::Empty)
    ));
}

#[test]
fn text_file_is_not_an_image() {
    let err = decode_page("Заява про реєстрацію".as_bytes(), DecodeLimits::default()).unwrap_err();
    assert!(matches!(err, CaptureError::NotAnImage));
    assert!(err.message_uk().contains("не зображення"));
}

#[test]
fn truncated_png_and_jpeg_are_corrupt() {
    let page = text_page(400, 560, 1);
    for bytes in [png_bytes(&page), jpeg_bytes(&page)] {
        let cut = &bytes[..bytes.len() / 2];
        let Err(err) = decode_page(cut, DecodeLimits::default()) else {
            panic!("a cut file decoded")
        };
        assert!(matches!(err, CaptureError::Corrupt(_)), "{err:?}");
    }
}

#[test]
fn corrupted_bytes_inside_an_image_do_not_panic() {
    let mut bytes = png_bytes(&text_page(300, 400, 2));
    for i in (60..bytes.len()).step_by(97) {
        bytes[i] ^= 0x5A;
    }
    assert!(
        decode_page(&bytes, DecodeLimits::default()).is_err(),
        "damaged PNG decoded"
    );
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// A PNG whose header claims 20000×20000 pixels, with almost no data behind it.
fn huge_png_header() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&20_000u32.to_be_bytes());
    ihdr.extend_from_slice(&20_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    png_chunk(&mut bytes, b"IHDR", &ihdr);
    png_chunk(
        &mut bytes,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    png_chunk(&mut bytes, b"IEND", &[]);
    bytes
}

#[test]
fn a_20000_by_20000_image_is_refused_before_allocation() {
    let err = decode_page(&huge_png_header(), DecodeLimits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            CaptureError::TooLarge {
                width: 20_000,
                height: 20_000,
                ..
            }
        ),
        "{err:?}"
    );
}

/// Insert an EXIF APP1 segment with the given orientation after the JPEG's SOI marker.
fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = b"MM\x00\x2a\x00\x00\x00\x08".to_vec();
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes()); // count
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    let mut app1 = b"Exif\x00\x00".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[test]
fn exif_orientation_is_applied() {
    let page = text_page(300, 500, 3);
    let rotated = decode_page(
        &with_exif_orientation(&jpeg_bytes(&page), 6),
        DecodeLimits::default(),
    )
    .unwrap();
    // Orientation 6: the stored image is turned a quarter; upright it is 500 wide, 300 high.
    assert_eq!((rotated.width(), rotated.height()), (500, 300));
    let upright = decode_page(
        &with_exif_orientation(&jpeg_bytes(&page), 1),
        DecodeLimits::default(),
    )
    .unwrap();
    assert_eq!((upright.width(), upright.height()), (300, 500));
}
