#![allow(clippy::unwrap_used)]
//! Receipts as real PDFs: `qpdf --check` passes, `pdftotext` reads the Ukrainian text back
//! exactly (the tracking code beside the QR among it), `zbarimg` reads the tracking QR from the
//! page rendered by `pdftoppm`, and the signatures bind to the content hash printed in the
//! footer.

use std::path::Path;
use std::process::Command;

use fieldkit_capture::qr::find_qr_codes;
use fieldkit_capture::signature::{Point, Stroke, Strokes, sign, verify};
use fieldkit_domain::case::{MissingDocument, SignerRole};
use fieldkit_domain::common::{DocumentForm, RequirementId};
use fieldkit_domain::ink::{InkDocument, InkMark};
use fieldkit_domain::tracking::TrackingCode;
use fieldkit_receipt::{
    InventoryInput, SignedBy, SignedInstead, handover_receipt, inventory, render_pdf,
    render_pdf_for_ink, withdrawal_receipt,
};

/// The public side of the centre's server, as the server tells its tablets.
const PUBLIC: &str = "https://track.cnap.example.ua";

/// A tracking code as the tablet draws one (fixed bytes here, so the test is repeatable).
fn code() -> TrackingCode {
    let mut bytes = [0u8; fieldkit_domain::tracking::RANDOM_SYMBOLS];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(91).wrapping_add(7);
    }
    TrackingCode::from_random(bytes)
}

fn input(documents: usize) -> InventoryInput {
    InventoryInput {
        centre: "Центр надання адміністративних послуг міста Львова".into(),
        case_number: "LV01/T07/2026/000123-5".into(),
        registered_at: "27.11.2026 10:30".into(),
        service: "00001 Декларування місця проживання".into(),
        applicant: "Шевченко Марія Іванівна".into(),
        representative: None,
        documents: (0..documents)
            .map(|i| fieldkit_receipt::InventoryItem {
                title: if i == 0 {
                    "Декларація про місце проживання (за формою, встановленою КМУ)".into()
                } else {
                    format!(
                        "Документ № {} — довідка про доходи з пенсійного фонду",
                        i + 1
                    )
                },
                form: if i % 2 == 0 {
                    DocumentForm::Original
                } else {
                    DocumentForm::Copy
                },
                pages: 1 + i % 3,
            })
            .collect(),
        conditions: vec![fieldkit_receipt::ConditionLine {
            document: "Згода власника житла".into(),
            condition: "якщо заявник не є власником житла".into(),
            applies: true,
            basis: "за відповіддю «Підстава проживання»".into(),
        }],
        fee: Some("34,00 грн — сплачено".into()),
        conforms: false,
        missing: vec![MissingDocument {
            id: RequirementId("owner-consent".into()),
            title: "Згода власника житла".into(),
        }],
        override_note: Some("Згоду власника буде надано під час наступного виїзду".into()),
        notification: "SMS".into(),
        delivery: "мобільним адміністратором".into(),
        administrator: "Коваленко Олена Петрівна".into(),
        tracking_url: code().url(PUBLIC),
        tracking_code: Some(code().to_string()),
        applicant_cannot_sign: None,
        payment: None,
        centre_contacts: None,
        provider_contacts: None,
    }
}

fn strokes() -> Strokes {
    let points = (0..300u32)
        .map(|i| {
            let t = i as f32 / 300.0;
            Point {
                x: 40.0 + 520.0 * t + 25.0 * (t * 40.0).sin(),
                y: 100.0 + 40.0 * (t * 13.0).sin(),
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

fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn signed_inventory_is_valid_pdf_with_exact_ukrainian_text_and_a_readable_qr() {
    let dir = tempfile::tempdir().unwrap();
    let receipt = inventory(&input(3));
    let hash = receipt.content_sha256();
    let (applicant, _) =
        sign(strokes(), SignerRole::Applicant, "Шевченко М. І.", 0, &hash).unwrap();
    let (admin, _) = sign(
        strokes(),
        SignerRole::Administrator,
        "Коваленко О. П.",
        0,
        &hash,
    )
    .unwrap();
    let signed = [
        SignedBy {
            role: SignerRole::Applicant,
            strokes: &applicant.strokes,
        },
        SignedBy {
            role: SignerRole::Administrator,
            strokes: &admin.strokes,
        },
    ];
    let pdf = render_pdf(&receipt, &signed).unwrap();
    let path = write(dir.path(), "inventory.pdf", &pdf);

    run("qpdf", &["--check", &path]);
    // The signed content's hash is in the document information too, for the server's check.
    let info = run("pdfinfo", &[&path]);
    assert!(
        info.contains(&format!("fieldkit-content-sha256:{hash}")),
        "{info}"
    );

    let text = run("pdftotext", &["-enc", "UTF-8", &path, "-"]);
    for expected in [
        "Опис вхідного пакета документів",
        "Справа №: LV01/T07/2026/000123-5",
        "Заявник: Шевченко Марія Іванівна",
        "Висновок про відповідність пакета інформаційній картці: не відповідає",
        "Відсутні документи: Згода власника житла",
        "Адміністративний збір: 34,00 грн — сплачено",
        "Підпис: Заявник",
        "Підпис: Адміністратор",
        "Код відстеження:",
        &code().to_string(),
        &hash,
    ] {
        assert!(text.contains(expected), "missing «{expected}» in:\n{text}");
    }
    // The tracking page is reached by the code alone: the case number is not in the address.
    assert!(!code().url(PUBLIC).contains("000123"));
    assert!(text.contains("Декларація про місце проживання"), "{text}");
    // Table cells wrap their words over lines.
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for cell in [
        "якщо заявник не є власником житла",
        "так (за відповіддю «Підстава проживання»)",
    ] {
        assert!(flat.contains(cell), "missing «{cell}» in:\n{text}");
    }

    run(
        "pdftoppm",
        &[
            "-r",
            "200",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            &path,
            &format!("{}/page", dir.path().display()),
        ],
    );
    let png = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "png"))
        .unwrap();
    let decoded = Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(&png)
        .output()
        .unwrap();
    let scanned = String::from_utf8_lossy(&decoded.stdout).trim().to_owned();
    assert_eq!(
        scanned,
        format!("{PUBLIC}/t/{}", code().canonical()),
        "the QR carries the public address and the code without separators"
    );
    let typed = scanned.rsplit_once("/t/").unwrap().1;
    assert_eq!(TrackingCode::parse(typed).unwrap(), code());

    // The signatures bind to the content hash of exactly this document.
    verify(&applicant, &receipt.content_sha256(), None).unwrap();
    let mut changed = input(3);
    changed.applicant = "Шевченко Марія Іванівна (змінено)".into();
    assert!(verify(&applicant, &inventory(&changed).content_sha256(), None).is_err());
}

#[test]
fn an_inventory_registered_before_tracking_codes_keeps_its_signed_text() {
    let mut old = input(2);
    old.tracking_url = "https://cnap.example.ua/track/LV01/T07/2026/000123-5".into();
    old.tracking_code = None;
    let receipt = inventory(&old);
    let lines: Vec<String> = receipt.content_lines().into_iter().map(|l| l.0).collect();
    assert!(
        !lines.iter().any(|l| l.contains("Код відстеження")),
        "{lines:?}"
    );
    // The QR's line is the last before the signature slots, as it always was.
    let qr_line = lines
        .iter()
        .position(|l| l.starts_with("Стежити за справою: "))
        .unwrap();
    assert_eq!(
        lines[qr_line],
        "Стежити за справою: https://cnap.example.ua/track/LV01/T07/2026/000123-5"
    );
    assert!(lines[qr_line + 1].starts_with("Підпис: "), "{lines:?}");
    // With a code, its line follows the QR's and is signed with the rest.
    let with_code = inventory(&input(2));
    assert_ne!(with_code.content_sha256(), receipt.content_sha256());
    let lines: Vec<String> = with_code.content_lines().into_iter().map(|l| l.0).collect();
    let qr_line = lines
        .iter()
        .position(|l| l.starts_with("Стежити за справою: "))
        .unwrap();
    assert_eq!(lines[qr_line + 1], format!("Код відстеження: {}", code()));
}

#[test]
fn long_inventory_breaks_into_pages() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = render_pdf(&inventory(&input(45)), &[]).unwrap();
    let path = write(dir.path(), "long.pdf", &pdf);
    run("qpdf", &["--check", &path]);
    let text = run("pdftotext", &["-enc", "UTF-8", &path, "-"]);
    assert!(text.contains("сторінка 2 з"), "{text}");
    assert!(text.contains("Документ № 45"), "{text}");
}

#[test]
fn applicant_who_cannot_sign_gets_a_witness_slot_and_the_reason_printed() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = input(2);
    data.applicant_cannot_sign = Some(SignedInstead {
        reason: "не може тримати ручку (тремор, параліч); після інсульту".into(),
        role: SignerRole::Witness,
        name: "Петренко Іван Миколайович".into(),
        document: "паспорт КА 123456".into(),
    });
    let receipt = inventory(&data);
    let roles: Vec<SignerRole> = receipt.signatures.iter().map(|s| s.role).collect();
    assert_eq!(roles, [SignerRole::Witness, SignerRole::Administrator]);
    let hash = receipt.content_sha256();
    let (witness, _) = sign(
        strokes(),
        SignerRole::Witness,
        "Петренко Іван Миколайович",
        0,
        &hash,
    )
    .unwrap();
    let signed = [SignedBy {
        role: SignerRole::Witness,
        strokes: &witness.strokes,
    }];
    let path = write(
        dir.path(),
        "witness.pdf",
        &render_pdf(&receipt, &signed).unwrap(),
    );
    run("qpdf", &["--check", &path]);
    // Long lines wrap: read the text as one line.
    let text = run("pdftotext", &["-enc", "UTF-8", &path, "-"]).replace('\n', " ");
    for expected in [
        "Заявник не може підписати: не може тримати ручку (тремор, параліч); після інсульту",
        "Підписує замість заявника: свідок Петренко Іван Миколайович, паспорт КА 123456",
        "Підпис: Свідок (за заявника)",
        "Підпис: Адміністратор",
    ] {
        assert!(text.contains(expected), "missing «{expected}» in:\n{text}");
    }
    assert!(!text.contains("Підпис: Заявник"), "{text}");
}

#[test]
fn handover_and_withdrawal_receipts_are_valid_pdfs() {
    let dir = tempfile::tempdir().unwrap();
    for (name, receipt, expected) in [
        (
            "handover.pdf",
            handover_receipt(
                "LV01/T07/2026/000123-5",
                "Витяг з реєстру територіальної громади",
                "15.12.2026",
                "Коваленко О. П.",
            ),
            "Розписка про отримання результату",
        ),
        (
            "withdrawal.pdf",
            withdrawal_receipt(
                "LV01/T07/2026/000123-5",
                "особисте рішення заявника",
                "01.12.2026",
                "Коваленко О. П.",
            ),
            "Розписка про відкликання заяви",
        ),
    ] {
        let path = write(dir.path(), name, &render_pdf(&receipt, &[]).unwrap());
        run("qpdf", &["--check", &path]);
        assert!(run("pdftotext", &["-enc", "UTF-8", &path, "-"]).contains(expected));
    }
}

/// Every page of `pdf` as a grey 150 dpi image, the resolution of a quick scan.
fn pages_at_150_dpi(dir: &Path, pdf: &[u8]) -> Vec<image::GrayImage> {
    let path = write(dir, "marked.pdf", pdf);
    let prefix = format!("{}/sheet", dir.display());
    run("pdftoppm", &["-r", "150", "-gray", "-png", &path, &prefix]);
    let mut pngs: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    pngs.sort();
    pngs.iter()
        .map(|p| image::open(p).unwrap().to_luma8())
        .collect()
}

#[test]
fn every_sheet_printed_for_ink_carries_its_mark_and_the_same_content() {
    let dir = tempfile::tempdir().unwrap();
    let receipt = inventory(&input(45));
    let pdf = render_pdf_for_ink(
        &receipt,
        &[],
        "LV01/T07/2026/000123-5",
        InkDocument::Inventory,
    )
    .unwrap();
    let text = run(
        "pdftotext",
        &["-enc", "UTF-8", &write(dir.path(), "m.pdf", &pdf), "-"],
    );
    assert!(text.contains(&receipt.content_sha256()), "{text}");
    let sheets = pages_at_150_dpi(dir.path(), &pdf);
    assert!(sheets.len() >= 2, "a long inventory has several sheets");
    for (number, sheet) in sheets.iter().enumerate() {
        let marks: Vec<InkMark> = find_qr_codes(sheet)
            .iter()
            .filter_map(|q| InkMark::parse(&q.text()))
            .collect();
        let expected = InkMark {
            case_number: "LV01/T07/2026/000123-5".into(),
            document: InkDocument::Inventory,
            content_sha256: receipt.content_sha256(),
            sheet: number as u16 + 1,
            sheets: sheets.len() as u16,
        };
        assert_eq!(marks, vec![expected], "sheet {}", number + 1);
    }
}
