#![allow(clippy::unwrap_used)]
//! QR codes against real peers: what `qrencode` makes we read; what we make `zbarimg` reads;
//! codes placed, turned and scaled on a page are all found, with their positions.

mod common;

use std::process::Command;

use fieldkit_capture::qr::{QrKind, find_qr_codes, generate_qr};
use fieldkit_capture::{DecodeLimits, decode_page};
use image::{GrayImage, Luma};

#[test]
fn our_code_is_read_by_zbarimg() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("qr.png");
    let text = "https://cnap.example.ua/track/LV01/T07/2026/000123-5";
    generate_qr(text, 5).unwrap().save(&path).unwrap();
    let output = Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(&path)
        .output()
        .unwrap();
    // zbarimg prints harmless D-Bus warnings on stderr in a container: read stdout only.
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), text);
}

#[test]
fn qrencode_code_is_read_by_us() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("peer.png");
    let text = "Витяг з реєстру: https://example.gov.ua/check?id=42";
    let status = Command::new("qrencode")
        .args(["-s", "6", "-o"])
        .arg(&path)
        .arg(text)
        .status()
        .unwrap();
    assert!(status.success());
    let image = decode_page(&std::fs::read(&path).unwrap(), DecodeLimits::default())
        .unwrap()
        .to_luma8();
    let found = find_qr_codes(&image);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].text(), text);
    assert_eq!(found[0].kind, QrKind::Unknown);
}

#[test]
fn codes_on_a_page_are_all_found_where_they_are() {
    let mut page = common::text_page(2480, 3508, 21);
    let number = fieldkit_domain::case_number::CaseNumber::new("LV01", "T07", 2026, 123).unwrap();
    let tracking = generate_qr(&number.to_string(), 8).unwrap();
    let link = generate_qr("https://usr.minjust.gov.ua/check?id=1", 6).unwrap();
    image::imageops::overlay(&mut page, &tracking, 200, 200);
    // The second code turned a quarter and placed near the bottom right.
    let turned = image::imageops::rotate90(&link);
    image::imageops::overlay(&mut page, &turned, 1900, 2900);
    let mut found = find_qr_codes(&page);
    found.sort_by_key(|f| f.corners[0].1);
    assert_eq!(
        found.len(),
        2,
        "{:?}",
        found.iter().map(|f| f.text()).collect::<Vec<_>>()
    );
    assert_eq!(found[0].kind, QrKind::CaseTracking(number));
    assert!(matches!(found[1].kind, QrKind::WebAddress(_)));
    let (x, y) = found[0].corners[0];
    assert!(
        (200..=300).contains(&x) && (200..=300).contains(&y),
        "{:?}",
        found[0].corners
    );
    let (x, y) = found[1]
        .corners
        .iter()
        .fold((0, 0), |acc, c| (acc.0.max(c.0), acc.1.max(c.1)));
    assert!(x > 1900 && y > 2900, "{:?}", found[1].corners);
}

#[test]
fn a_page_without_codes_gives_none() {
    let blank = GrayImage::from_pixel(1200, 1600, Luma([250]));
    assert!(find_qr_codes(&blank).is_empty());
    assert!(find_qr_codes(&common::text_page(1654, 2339, 5)).is_empty());
}
