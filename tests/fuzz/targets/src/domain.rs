//! Targets over the domain crate: what a person types or a QR code carries (case numbers, ink
//! marks), and the catalog file with the payment details it carries into the NBU QR code.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fieldkit_domain::case_number::CaseNumber;
use fieldkit_domain::catalog::Catalog;
use fieldkit_domain::ink::InkMark;
use fieldkit_domain::payment::{
    NBU_QR_APP_START, NbuQrFormat, PaymentDetails, PaymentOrder, check_recipient_code,
    check_ua_iban, compact_iban,
};

/// Typed or scanned text: a case number, however forgiving the reading, prints as ASCII and
/// reads back as itself.
pub fn case_number(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(number) = CaseNumber::parse(text) else {
        return;
    };
    let printed = number.to_string();
    assert!(
        printed.is_ascii(),
        "printed number {printed:?} is not ASCII"
    );
    assert_eq!(number.qr_payload(), printed);
    assert_eq!(
        CaseNumber::parse(&printed).as_ref(),
        Ok(&number),
        "{printed:?} does not read back"
    );
    // The parts rebuild the same number: nothing read was lost.
    let rebuilt = CaseNumber::new(
        number.centre(),
        number.device(),
        number.year(),
        number.sequence(),
    );
    assert_eq!(rebuilt.as_ref(), Ok(&number));
}

/// A QR payload from a scanned sheet: an ink mark reads back from its own payload.
pub fn ink_mark(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(mark) = InkMark::parse(text) else {
        return;
    };
    assert!(mark.sheet >= 1 && mark.sheet <= mark.sheets);
    assert_eq!(mark.content_sha256.len(), 64);
    let payload = mark.payload();
    assert_eq!(
        InkMark::parse(&payload).as_ref(),
        Some(&mark),
        "{payload:?} does not read back"
    );
}

/// A catalog file: read and validated without panicking; a valid one writes and reads back as
/// itself, and every paid service's details make an NBU QR code or say why not.
pub fn catalog(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(catalog) = Catalog::from_toml_str(text) else {
        return;
    };
    let written = catalog
        .to_toml_string()
        .unwrap_or_else(|e| panic!("a valid catalog cannot be written: {e}"));
    match Catalog::from_toml_str(&written) {
        Ok(again) => assert!(again == catalog, "the catalog changed on the way back"),
        Err(e) => panic!("a written catalog does not read back: {e}\n{written}"),
    }
    for service in &catalog.services {
        let _ = catalog.search(&service.title);
    }
}

/// Payment details from a catalog file and a case's reference, one per line: recipient, IBAN,
/// recipient code, purpose, reference, amount in kopecks. Whatever they are, the NBU QR builder
/// refuses them with a reason or makes a code within the format's limits.
pub fn payment_order(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let mut next = || lines.next().unwrap_or_default().to_owned();
    let (recipient, iban, recipient_code, purpose, reference) =
        (next(), next(), next(), next(), next());
    let amount_kopecks = next().trim().parse().unwrap_or(3400);

    let compact = compact_iban(&iban);
    if check_ua_iban(&iban).is_ok() {
        assert_eq!(compact.len(), 29, "a valid IBAN {compact:?} is not 29 long");
    }
    let _ = check_recipient_code(&recipient_code);

    let order = PaymentOrder {
        details: PaymentDetails {
            recipient,
            iban,
            recipient_code,
            purpose,
        },
        amount_kopecks,
        reference: (!reference.is_empty()).then_some(reference),
    };
    for (format, fields) in [(NbuQrFormat::F002, 13), (NbuQrFormat::F003, 17)] {
        let Ok(data) = order.nbu_data(format) else {
            continue;
        };
        // A line feed separates the fields: none may hide inside one.
        assert_eq!(
            data.split(|&b| b == b'\n').count(),
            fields,
            "{format:?} data has the wrong number of fields"
        );
        if let Ok(link) = order.nbu_qr(format) {
            let encoded = link
                .strip_prefix(NBU_QR_APP_START)
                .unwrap_or_else(|| panic!("{link:?} lacks the app start code"));
            assert!(link.len() <= 507, "the link is {} bytes", link.len());
            assert_eq!(URL_SAFE_NO_PAD.decode(encoded).as_deref(), Ok(&data[..]));
        }
    }
}
