//! Write the seed inputs of every fuzz target into `tests/fuzz/corpus/<target>/seed-*`: small
//! valid examples made with the real code (a sealed envelope, a signed signature, page files,
//! QR codes, a cut-down demo catalog), so the fuzzer starts from inputs that reach deep.
//!
//! `cargo run -p fieldkit-fuzz-targets --example seeds` (again after a format changes). Seeds
//! made with fresh randomness (the envelope's content key) differ from run to run; that is
//! harmless, they are examples, not expectations.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use fieldkit_capture::pipeline::{encode_jpeg, encode_png};
use fieldkit_capture::qr::generate_qr;
use fieldkit_capture::signature::{Point, Stroke, Strokes, sign};
use fieldkit_domain::case::SignerRole;
use fieldkit_domain::case_number::CaseNumber;
use fieldkit_domain::catalog::Catalog;
use fieldkit_domain::ink::{InkDocument, InkMark};
use fieldkit_fuzz_targets::{FuzzKeys, PART_SEPARATOR, TARGETS};
use fieldkit_protocol::{PartKind, PlainPart};
use image::{GrayImage, ImageFormat, Luma};
use ring::digest::{SHA256, digest};

type Failure = Box<dyn std::error::Error>;

fn main() -> Result<(), Failure> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = here.join("../corpus");
    let assets = here.join("../../../assets");
    let seeds = Seeds { corpus };

    let number = CaseNumber::new("LV01", "T07", 2026, 123)?;
    let printed = number.to_string();
    let hash = hex_string(digest(&SHA256, b"the inventory").as_ref());

    // tus: a creation, a chunk with each checksum, a HEAD's headers.
    let chunk = b"0123456789abcdef";
    let sha256 = STANDARD.encode(digest(&SHA256, chunk));
    let sha1 = STANDARD.encode(digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, chunk));
    seeds.write(
        "tus_headers",
        "create",
        b"Tus-Resumable: 1.0.0\nUpload-Length: 4096\n\n",
    )?;
    for (name, checksum) in [("patch-sha256", sha256), ("patch-sha1", sha1)] {
        let algorithm = name.trim_start_matches("patch-");
        let mut request = format!(
            "Tus-Resumable: 1.0.0\nContent-Type: application/offset+octet-stream\n\
             Upload-Offset: 0\nUpload-Checksum: {algorithm} {checksum}\n\n"
        )
        .into_bytes();
        request.extend_from_slice(chunk);
        seeds.write("tus_headers", name, &request)?;
    }
    seeds.write(
        "tus_headers",
        "head",
        b"Tus-Resumable: 1.0.0\nUpload-Offset: 1024\nUpload-Length: 4096\nUpload-Metadata: filename d29ybGQ=\n\n",
    )?;

    // Central events, signed with the target's key at its clock.
    let key = ring::hmac::Key::new(
        ring::hmac::HMAC_SHA256,
        b"fieldkit fuzz central events key!",
    );
    let now = 1_790_000_000;
    let bodies = [
        (
            "registered",
            format!(
                r#"{{"event_id":"ev-1","case_number":"{printed}","type":"registered","central_number":"C-2026-17","at":"2026-09-21T10:15:00+03:00"}}"#
            ),
        ),
        (
            "refused",
            r#"{"event_id":"ev-2","envelope_id":"0f1e2d3c","type":"decision","decision":"refused","reasons":["документ не чинний","немає підпису"],"at":"2026-09-22T08:00:00Z"}"#.to_owned(),
        ),
        (
            "delivered",
            r#"{"event_id":"ev-3","envelope_id":"0f1e2d3c","case_number":"LV01/T07/2026/000123-X","type":"delivered","at":"2026-09-23T12:00:00.5+02:00"}"#.to_owned(),
        ),
    ];
    for (name, body) in bodies {
        let signature = fieldkit_sync_server::central::signing::sign(&key, now, body.as_bytes());
        seeds.write(
            "central_event",
            name,
            format!("{now}\n{signature}\n{body}").as_bytes(),
        )?;
    }

    // A sealed envelope: its manifest alone, and the whole, as the targets take them.
    let keys = FuzzKeys::new();
    let strokes = drawn(60);
    let (record, png) = sign(
        strokes,
        SignerRole::Applicant,
        "Заявник",
        1_790_000_000,
        &hash,
    )?;
    let record_json = serde_json::to_vec(&record)?;
    let page = encode_jpeg(&page_image(48, 64), 80)?.bytes;
    let parts = [
        PlainPart::new(PartKind::CaseRecord, br#"{"case":"fuzz"}"#.to_vec()),
        PlainPart::new(PartKind::Page, page.clone()),
        PlainPart::new(PartKind::Signature, record_json.clone()),
        PlainPart::new(
            PartKind::Other,
            b"%PDF-1.7 fieldkit-document:inventory".to_vec(),
        ),
    ];
    let sealed = keys.seal("0f1e2d3c4b5a69788796a5b4c3d2e1f0", &parts);
    seeds.write("manifest", "sealed", &sealed.manifest_bytes)?;
    let mut envelope = vec![0u8];
    envelope.extend_from_slice(&sealed.manifest_bytes);
    for part in &sealed.parts {
        envelope.extend_from_slice(PART_SEPARATOR);
        envelope.extend_from_slice(part);
    }
    seeds.write("envelope_open", "sealed", &envelope)?;
    envelope[0] = 1;
    seeds.write("envelope_open", "sealed-fixed-hashes", &envelope)?;

    seeds.write("signature_strokes", "signed", &record_json)?;
    let mut pressed = drawn(30);
    for stroke in &mut pressed.strokes {
        for (i, point) in stroke.points.iter_mut().enumerate() {
            point.pressure = Some((i % 10) as f32 / 10.0);
        }
    }
    pressed.strokes.push(Stroke {
        points: vec![Point {
            x: 300.0,
            y: 20.0,
            t_ms: 4000,
            pressure: None,
        }],
    });
    let (pressed, _) = sign(
        pressed,
        SignerRole::Administrator,
        "Адміністратор",
        1_790_000_100,
        &hash,
    )?;
    seeds.write(
        "signature_strokes",
        "pressure",
        &serde_json::to_vec(&pressed)?,
    )?;
    drop(png);

    // Page files: each format the tablet reads, small; and one with a QR code to find.
    seeds.write("image_decode", "page.jpg", &page)?;
    seeds.write(
        "image_decode",
        "page.png",
        &encode_png(&page_image(40, 56))?.bytes,
    )?;
    let mut tiff = std::io::Cursor::new(Vec::new());
    page_image(32, 40).write_to(&mut tiff, ImageFormat::Tiff)?;
    seeds.write("image_decode", "page.tiff", &tiff.into_inner())?;
    let qr = generate_qr(&printed, 2)?;
    seeds.write("image_decode", "qr.png", &encode_png(&qr)?.bytes)?;

    // Raw grey QR codes: a case number, and an ink mark.
    let mark = InkMark {
        case_number: printed.clone(),
        document: InkDocument::Inventory,
        content_sha256: hash.clone(),
        sheet: 1,
        sheets: 2,
    };
    for (name, text) in [
        ("case-number", printed.clone()),
        ("ink-mark", mark.payload()),
    ] {
        let code = generate_qr(&text, 2)?;
        let width = u16::try_from(code.width())?;
        let mut raw = width.to_le_bytes().to_vec();
        raw.extend_from_slice(code.as_raw());
        seeds.write("qr_detect", name, &raw)?;
    }

    // QR payloads and typed numbers.
    for (name, payload) in [
        ("case-number", printed.clone()),
        (
            "tracking-link",
            format!("https://cnap.example.ua/track/{printed}/"),
        ),
        (
            "enrollment",
            "FIELDKIT-ENROLL:https://sync.example#K7Q2-99XA".to_owned(),
        ),
        (
            "web-address",
            "https://usr.minjust.gov.ua/check?id=1".to_owned(),
        ),
        ("ink-mark", mark.payload()),
    ] {
        seeds.write("qr_payload", name, payload.as_bytes())?;
    }
    let typed = format!(" {} ", printed.to_lowercase().replace('/', " / "));
    let cyrillic = printed.replace('T', "Т").replace('L', "l");
    for (name, text) in [
        ("printed", printed.clone()),
        ("typed", typed),
        ("cyrillic", cyrillic),
        (
            "longest",
            CaseNumber::new("ZZZZZZZZ", "A0", 9999, 999_999)?.to_string(),
        ),
    ] {
        seeds.write("case_number", name, text.as_bytes())?;
    }
    seeds.write("ink_mark", "inventory", mark.payload().as_bytes())?;
    let application = InkMark {
        document: InkDocument::Application,
        sheet: 3,
        sheets: 3,
        ..mark
    };
    seeds.write("ink_mark", "application", application.payload().as_bytes())?;

    // The demo catalog cut down to two services (one paid, with payment details) and what they
    // name, so a seed stays a few kilobytes.
    let demo = Catalog::from_toml_str(&std::fs::read_to_string(
        assets.join("catalog/catalog.toml"),
    )?)?;
    let small = cut_down(&demo);
    seeds.write("catalog", "demo-cut", small.to_toml_string()?.as_bytes())?;

    seeds.write(
        "payment_order",
        "demo",
        "Демо-отримувач адміністративних зборів\nUA98 9999 9900 0002 6007 2335 6600 1\n12345678\n\
         Адміністративний збір за декларування місця проживання\nLV01/T07/2026/000123-X\n3400"
            .as_bytes(),
    )?;
    seeds.write(
        "payment_order",
        "rnokpp",
        "ФОП Петренко\nUA989999990000026007233566001\n3012345678\nОплата послуги\n\n12345"
            .as_bytes(),
    )?;

    for target in TARGETS {
        let dir = seeds.corpus.join(target.name);
        assert!(dir.is_dir(), "no seeds for {}", target.name);
    }
    Ok(())
}

struct Seeds {
    corpus: PathBuf,
}

impl Seeds {
    fn write(&self, target: &str, name: &str, bytes: &[u8]) -> Result<(), Failure> {
        let dir = self.corpus.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("seed-{name}")), bytes)?;
        Ok(())
    }
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A small grey page: a white sheet with a few dark lines of "text".
fn page_image(width: u32, height: u32) -> GrayImage {
    GrayImage::from_fn(width, height, |x, y| {
        let text = x > 4 && x < width - 4 && y > 6 && y % 8 < 3 && (x / 5 + y) % 4 != 0;
        Luma([if text { 30 } else { 240 }])
    })
}

/// A plausible signature on a 600×200 pad: `samples` points at 100 Hz.
fn drawn(samples: u32) -> Strokes {
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

/// The first paid service with payment details and the first free one, with only the
/// providers and groups they name.
fn cut_down(catalog: &Catalog) -> Catalog {
    use fieldkit_domain::catalog::Fee;
    let paid = catalog.services.iter().find(|s| {
        matches!(
            s.fee,
            Fee::Paid {
                details: Some(_),
                ..
            }
        )
    });
    let free = catalog
        .services
        .iter()
        .find(|s| matches!(s.fee, Fee::Free { .. }));
    let services: Vec<_> = paid.into_iter().chain(free).cloned().collect();
    let providers: BTreeSet<_> = services.iter().map(|s| &s.provider).collect();
    let situations: BTreeSet<_> = services.iter().flat_map(|s| &s.life_situations).collect();
    let areas: BTreeSet<_> = services.iter().flat_map(|s| &s.legal_areas).collect();
    let mut small = catalog.clone();
    small.providers.retain(|p| providers.contains(&p.id));
    small.life_situations.retain(|g| situations.contains(&g.id));
    small.legal_areas.retain(|g| areas.contains(&g.id));
    small.services = services;
    small
}
