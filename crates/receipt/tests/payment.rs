#![allow(clippy::unwrap_used)]
//! The fee on the inventory: the payment details and the centre's and provider's contacts are
//! text that `pdftotext` reads back and that the signature binds; the NBU payment QR, rendered by
//! `pdftoppm` and read by `zbarimg`, decoded by `basenc` and `iconv` (peers, not our code),
//! carries each field where NBU Resolution No. 97, format 003, puts it.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use fieldkit_domain::catalog::Office;
use fieldkit_domain::common::DocumentForm;
use fieldkit_domain::payment::{PaymentDetails, PaymentOrder};
use fieldkit_receipt::{InventoryInput, InventoryItem, inventory, render_pdf};

const IBAN: &str = "UA989999990000026007233566001";
const CASE: &str = "LV01/T07/2026/000123-5";
const PURPOSE: &str = "Адміністративний збір за декларування місця проживання (демо)";
const RECIPIENT: &str = "Демо-отримувач адміністративних зборів (демо, вигаданий рахунок)";

fn office(name: &str, phone: &str) -> Office {
    Office {
        name: name.into(),
        name_en: None,
        address: "м. Львів, вул. Демонстраційна, 1".into(),
        hours: Some("пн–пт 9:00–18:00, ср до 20:00".into()),
        phone: Some(phone.into()),
        email: Some("cnap@example.ua".into()),
        website: Some("https://cnap.example.ua".into()),
    }
}

fn input() -> InventoryInput {
    InventoryInput {
        centre: "Центр надання адміністративних послуг міста Львова".into(),
        case_number: CASE.into(),
        registered_at: "27.11.2026 10:30".into(),
        service: "00001 Декларування місця проживання".into(),
        applicant: "Шевченко Марія Іванівна".into(),
        representative: None,
        documents: vec![InventoryItem {
            title: "Декларація про місце проживання".into(),
            form: DocumentForm::Original,
            pages: 1,
        }],
        conditions: Vec::new(),
        fee: Some("34,00 грн — буде сплачено після звернення".into()),
        conforms: true,
        missing: vec![],
        override_note: None,
        notification: "SMS".into(),
        delivery: "мобільним адміністратором".into(),
        administrator: "Коваленко Олена Петрівна".into(),
        tracking_url: format!("https://cnap.example.ua/track/{CASE}"),
        tracking_code: None,
        applicant_cannot_sign: None,
        payment: Some(PaymentOrder {
            details: PaymentDetails {
                recipient: RECIPIENT.into(),
                iban: IBAN.into(),
                recipient_code: "12345678".into(),
                purpose: PURPOSE.into(),
            },
            amount_kopecks: 3405,
            reference: Some(CASE.into()),
        }),
        centre_contacts: Some(office("ЦНАП міста Львова", "+380 32 297 57 95")),
        provider_contacts: Some(office(
            "Управління адміністративних послуг",
            "+380 32 254 60 00",
        )),
    }
}

fn run(program: &str, args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default()).unwrap();
    drop(input);
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Every QR code zbarimg finds on every page (its D-Bus warnings go to stderr, unread).
fn qr_codes(dir: &Path, pdf: &[u8]) -> Vec<String> {
    let path = dir.join("inventory.pdf");
    std::fs::write(&path, pdf).unwrap();
    let prefix = dir.join("page");
    run(
        "pdftoppm",
        &[
            "-r",
            "200",
            "-png",
            path.to_str().unwrap(),
            prefix.to_str().unwrap(),
        ],
        None,
    );
    let mut pages: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    pages.sort();
    let mut codes = Vec::new();
    for page in pages {
        let output = Command::new("zbarimg")
            .args(["--raw", "-q", page.to_str().unwrap()])
            .output()
            .unwrap();
        codes.extend(
            String::from_utf8(output.stdout)
                .unwrap()
                .lines()
                .map(str::to_owned),
        );
    }
    codes
}

fn cp1251_to_utf8(bytes: &[u8]) -> String {
    String::from_utf8(run("iconv", &["-f", "CP1251", "-t", "UTF-8"], Some(bytes))).unwrap()
}

#[test]
fn payment_qr_read_from_the_printed_page_follows_nbu_format_003() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = render_pdf(&inventory(&input()), &[]).unwrap();
    let codes = qr_codes(dir.path(), &pdf);
    let link = codes
        .iter()
        .find(|c| c.starts_with("https://qr.bank.gov.ua/"))
        .unwrap_or_else(|| panic!("no payment QR among {codes:?}"));
    assert!(link.len() <= 507, "{}", link.len());
    let encoded = link.trim_start_matches("https://qr.bank.gov.ua/");
    assert!(encoded.len() <= 475);
    let padded = format!("{encoded}{}", "=".repeat((4 - encoded.len() % 4) % 4));
    let data = run("basenc", &["--base64url", "-d"], Some(padded.as_bytes()));
    let fields: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    assert_eq!(fields.len(), 17, "{}", String::from_utf8_lossy(&data));
    let text = |i: usize| cp1251_to_utf8(fields[i]);
    assert_eq!(text(0), "BCD", "service mark");
    assert_eq!(text(1), "003", "format version");
    assert_eq!(text(2), "2", "encoding: Windows-1251");
    assert_eq!(text(3), "UCT", "function");
    assert_eq!(text(4), "", "reserved");
    assert_eq!(text(5), RECIPIENT, "recipient");
    assert_eq!(text(6), IBAN, "IBAN");
    assert_eq!(text(7), "UAH34.05", "amount");
    assert_eq!(text(8), "12345678", "recipient code");
    assert_eq!(text(9), "OTHR/OTHR", "category / purpose");
    assert_eq!(text(10), CASE, "reference");
    assert_eq!(text(11), PURPOSE, "purpose of payment");
    for (i, field) in fields.iter().enumerate().skip(12) {
        assert!(
            field.is_empty(),
            "field {} is optional and left empty",
            i + 1
        );
    }
    // The tracking QR is still there beside it.
    assert!(
        codes
            .iter()
            .any(|c| c.ends_with("/track/LV01/T07/2026/000123-5"))
    );
}

#[test]
fn payment_details_and_contacts_are_printed_and_signed() {
    let dir = tempfile::tempdir().unwrap();
    let receipt = inventory(&input());
    let path = dir.path().join("inventory.pdf");
    std::fs::write(&path, render_pdf(&receipt, &[]).unwrap()).unwrap();
    let text = String::from_utf8(run(
        "pdftotext",
        &["-enc", "UTF-8", path.to_str().unwrap(), "-"],
        None,
    ))
    .unwrap();
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let lines: Vec<String> = receipt.content_lines().into_iter().map(|l| l.0).collect();
    for expected in [
        "Сума: 34,05 грн",
        "Рахунок отримувача (IBAN): UA989999990000026007233566001",
        "Код отримувача (ЄДРПОУ/РНОКПП): 12345678",
        "Номер для звірки платежу: LV01/T07/2026/000123-5",
        "Центр надання адміністративних послуг: ЦНАП міста Львова",
        "Суб'єкт надання послуги: Управління адміністративних послуг",
        "Телефон: +380 32 254 60 00",
        "Графік роботи: пн–пт 9:00–18:00, ср до 20:00",
        "Вебсайт: https://cnap.example.ua",
        "Оплатіть у застосунку свого банку",
    ] {
        assert!(flat.contains(expected), "{expected:?} not in:\n{text}");
        assert!(
            lines.iter().any(|l| l.contains(expected)),
            "{expected:?} is not in the signed content"
        );
    }
    assert!(flat.contains(&format!("Отримувач: {RECIPIENT}")), "{text}");
    assert!(flat.contains(&format!("Призначення платежу: {PURPOSE}")));
}

#[test]
fn no_payment_section_when_no_fee_is_due() {
    let mut free = input();
    free.payment = None;
    let lines: Vec<String> = inventory(&free)
        .content_lines()
        .into_iter()
        .map(|l| l.0)
        .collect();
    assert!(!lines.iter().any(|l| l.contains("IBAN")));
    assert!(!lines.iter().any(|l| l.contains("qr.bank.gov.ua")));
    // The contacts are there whether or not a fee is due.
    assert!(lines.iter().any(|l| l.starts_with("Графік роботи")));
}

#[test]
fn the_signature_binds_the_payment_details_and_the_qr() {
    let signed = inventory(&input()).content_sha256();
    let mut other = input();
    if let Some(order) = other.payment.as_mut() {
        order.details.iban = "UA959999990000031000000000034".into();
    }
    assert_ne!(inventory(&other).content_sha256(), signed);
    let receipt = inventory(&input());
    let lines: Vec<String> = receipt.content_lines().into_iter().map(|l| l.0).collect();
    assert!(
        lines.iter().any(
            |l| l.starts_with("Оплатіть у застосунку") && l.contains("https://qr.bank.gov.ua/")
        ),
        "the QR's payload is part of the signed content"
    );
}
