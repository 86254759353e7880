//! Paying the administrative fee (адміністративний збір): the recipient's payment details
//! (платіжні реквізити) as data, the UA IBAN check, and the payment QR code of the National Bank
//! of Ukraine that a banking app reads to fill in a credit transfer.
//!
//! # What the QR builder follows
//!
//! «Правила формування, передачі та обробки структури даних і графічного зображення QR-коду»,
//! Resolution of the NBU Board No. 97 of 19.08.2025 (in force from 01.11.2025,
//! <https://bank.gov.ua/admin_uploads/law/19082025_97.pdf>); formats 002 (annex 3) and 003
//! (annex 4). Read through the public notes of two independent implementations (the Kotlin
//! library skules777/nbu-qr-code-kotlin, `docs/NBU-COMPLIANCE.md`, which quotes table 2 of annex 4
//! field by field, and the Elixir package `qr_nbu_ex`); no code was taken from either.
//!
//! * The data are lines joined by LF, in a fixed order: 1 service mark `BCD`, 2 format version
//!   (`002`/`003`), 3 encoding (`1` UTF-8, `2` Windows-1251), 4 function `UCT`, 5 reserved (empty),
//!   6 recipient, 7 IBAN, 8 amount `UAH<hryvnias>[.<kopecks>]`, 9 recipient code (ЄДРПОУ or
//!   РНОКПП), 10 format 003: category/purpose `CCCC/PPPP` (ISO 20022; format 002: reserved),
//!   11 reference (format 003, ISO 646), 12 purpose of payment, 13 display; format 003 adds
//!   14 field lock, 15 invoice valid until, 16 invoice created, 17 signature, all optional and
//!   left empty here.
//! * Lengths: recipient 70 characters in 002, 140 in 003; IBAN 29 bytes; amount 15 bytes
//!   (up to 999 999 999.99, kopecks as two digits or none); recipient code 10 bytes; reference
//!   35 bytes; purpose 140 characters in 002, 420 in 003.
//! * Characters (annex 1, p. 4): 32–255 of Windows-1251 except 127, 152 and 160 — in every
//!   field, whatever the encoding; a line feed is the field separator, so none may be inside a
//!   field. Annex 1, p. 3 asks for the encoding that gives the smaller code, which for Ukrainian
//!   text is Windows-1251 (one byte a letter against two in UTF-8), so that is what is written.
//! * Formats 002 and 003 travel as a link: the app start code `https://qr.bank.gov.ua/` (23
//!   bytes; 002 also allowed the older `https://bank.gov.ua/qr/`) followed by the data in
//!   base64url. The encoded data may be at most 475 bytes and the whole link at most 507.
//! * Field 10 is mandatory in 003 and the NBU publishes no list of which codes to use; `OTHR/OTHR`
//!   ("other") is the honest value for a fee.
//!
//! Format 001 (the plain-text form of the 2019 rules) is not produced: formats 002/003 are what
//! the resolution's graphic mark (the hryvnia sign) is for, and what banking apps open from a
//! phone's camera.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::common::Labelled;
use crate::validators::{Edrpou, Rnokpp, ValidationError};

/// Where and how to pay a fee (платіжні реквізити): what the information card states and what
/// the payment QR carries. The amount is the fee's own `amount_kopecks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentDetails {
    /// The recipient's name (отримувач).
    pub recipient: String,
    /// The recipient's account (рахунок отримувача), a UA IBAN.
    pub iban: String,
    /// The recipient's code (код отримувача): ЄДРПОУ (8 digits) or РНОКПП (10 digits).
    pub recipient_code: String,
    /// The purpose of payment (призначення платежу).
    pub purpose: String,
}

impl PaymentDetails {
    /// The details as the card lists them (the IBAN without its grouping spaces).
    pub fn fields(&self) -> Vec<Labelled> {
        let field = |label, value: &str| Labelled {
            label,
            value: value.to_owned(),
        };
        vec![
            field(("Отримувач", "Recipient"), &self.recipient),
            field(("IBAN", "IBAN"), &compact_iban(&self.iban)),
            field(
                (
                    "Код отримувача (ЄДРПОУ/РНОКПП)",
                    "Recipient code (EDRPOU/RNOKPP)",
                ),
                &self.recipient_code,
            ),
            field(("Призначення платежу", "Purpose of payment"), &self.purpose),
        ]
    }
}

/// What is wrong with an IBAN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IbanProblem {
    #[error("a Ukrainian IBAN is UA and 27 digits (29 characters)")]
    NotUkrainian,
    #[error("the IBAN check digits do not match (ISO 13616, mod 97): it is mistyped")]
    BadCheckDigits,
}

/// The IBAN without the spaces it is often grouped with.
pub fn compact_iban(iban: &str) -> String {
    iban.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// Check a Ukrainian IBAN: `UA`, two check digits, six digits of the bank code and nineteen of the
/// account, and the ISO 13616 check (the country code and check digits moved to the end, letters
/// as 10..35, the number mod 97 is 1).
pub fn check_ua_iban(iban: &str) -> Result<(), IbanProblem> {
    let iban = compact_iban(iban);
    // Bytes, not `&iban[2..]`: a catalog's IBAN may carry a letter of two bytes whose middle
    // falls at byte 2, and slicing a string there panics. All ASCII once this passes.
    let digits_ok = iban.len() == 29 && iban.as_bytes()[2..].iter().all(u8::is_ascii_digit);
    if !iban.starts_with("UA") || !digits_ok {
        return Err(IbanProblem::NotUkrainian);
    }
    let rearranged = format!("{}{}", &iban[4..], &iban[..4]);
    let remainder = rearranged.chars().fold(0u32, |acc, c| {
        // A letter counts as two digits (A = 10 … Z = 35); digits as themselves.
        let value = c.to_digit(36).unwrap_or(0);
        if value >= 10 {
            (acc * 100 + value) % 97
        } else {
            (acc * 10 + value) % 97
        }
    });
    if remainder == 1 {
        Ok(())
    } else {
        Err(IbanProblem::BadCheckDigits)
    }
}

/// Check the recipient's code: 8 digits are an ЄДРПОУ, 10 digits an РНОКПП, each with its check
/// digit.
pub fn check_recipient_code(code: &str) -> Result<(), ValidationError> {
    match code.trim().len() {
        10 => Rnokpp::parse(code).map(|_| ()),
        _ => Edrpou::parse(code).map(|_| ()),
    }
}

/// The NBU's QR formats this builder writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NbuQrFormat {
    /// Annex 3: thirteen fields.
    F002,
    /// Annex 4: seventeen fields, category/purpose and reference.
    F003,
}

impl NbuQrFormat {
    fn version(self) -> &'static str {
        match self {
            Self::F002 => "002",
            Self::F003 => "003",
        }
    }
    fn max_recipient(self) -> usize {
        match self {
            Self::F002 => 70,
            Self::F003 => 140,
        }
    }
    /// The longest purpose of payment the format carries, in characters.
    pub fn max_purpose(self) -> usize {
        match self {
            Self::F002 => 140,
            Self::F003 => 420,
        }
    }
}

/// The app start code the resolution names for the link form.
pub const NBU_QR_APP_START: &str = "https://qr.bank.gov.ua/";
/// Longest base64url data after the app start code (table 1 of annex 4).
const MAX_ENCODED: usize = 475;
/// Longest whole link (annex 4, p. 8).
const MAX_LINK: usize = 507;
/// Category / purpose of field 10 for a fee: ISO 20022 "other / other".
pub const FEE_CATEGORY_PURPOSE: &str = "OTHR/OTHR";

/// One credit transfer to ask a banking app for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentOrder {
    pub details: PaymentDetails,
    pub amount_kopecks: u64,
    /// Field 11 of format 003, e.g. the case number, so the payment can be matched to the case.
    pub reference: Option<String>,
}

/// Why a payment cannot be put into the NBU QR format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentQrError {
    #[error("{field} is empty")]
    Empty { field: &'static str },
    #[error("{field} is longer than the format carries ({length} > {max})")]
    TooLong {
        field: &'static str,
        length: usize,
        max: usize,
    },
    #[error("{field}: the character {character:?} cannot be carried by the format")]
    Character {
        field: &'static str,
        character: char,
    },
    #[error("the IBAN: {0}")]
    Iban(IbanProblem),
    #[error("the recipient code: {0}")]
    RecipientCode(ValidationError),
    #[error("the amount is more than 999 999 999,99 UAH")]
    Amount,
    #[error("the encoded data are {0} bytes, the format allows {MAX_ENCODED}")]
    TooBig(usize),
}

/// Windows-1251 byte of a character, if it has one the format allows (annex 1, p. 4: 32–255
/// except 127, 152 and 160). The table covers ASCII and the cp1251 upper half.
fn cp1251(c: char) -> Option<u8> {
    let code = u32::from(c);
    let byte = match code {
        0x20..=0x7E => code as u8,
        0x0410..=0x044F => (code - 0x0410 + 0xC0) as u8,
        _ => {
            let upper: &[(char, u8)] = &[
                ('Ђ', 0x80),
                ('Ѓ', 0x81),
                ('‚', 0x82),
                ('ѓ', 0x83),
                ('„', 0x84),
                ('…', 0x85),
                ('†', 0x86),
                ('‡', 0x87),
                ('€', 0x88),
                ('‰', 0x89),
                ('Љ', 0x8A),
                ('‹', 0x8B),
                ('Њ', 0x8C),
                ('Ќ', 0x8D),
                ('Ћ', 0x8E),
                ('Џ', 0x8F),
                ('ђ', 0x90),
                ('‘', 0x91),
                ('’', 0x92),
                ('“', 0x93),
                ('”', 0x94),
                ('•', 0x95),
                ('–', 0x96),
                ('—', 0x97),
                ('™', 0x99),
                ('љ', 0x9A),
                ('›', 0x9B),
                ('њ', 0x9C),
                ('ќ', 0x9D),
                ('ћ', 0x9E),
                ('џ', 0x9F),
                ('Ў', 0xA1),
                ('ў', 0xA2),
                ('Ј', 0xA3),
                ('¤', 0xA4),
                ('Ґ', 0xA5),
                ('¦', 0xA6),
                ('§', 0xA7),
                ('Ё', 0xA8),
                ('©', 0xA9),
                ('Є', 0xAA),
                ('«', 0xAB),
                ('¬', 0xAC),
                ('\u{AD}', 0xAD),
                ('®', 0xAE),
                ('Ї', 0xAF),
                ('°', 0xB0),
                ('±', 0xB1),
                ('І', 0xB2),
                ('і', 0xB3),
                ('ґ', 0xB4),
                ('µ', 0xB5),
                ('¶', 0xB6),
                ('·', 0xB7),
                ('ё', 0xB8),
                ('№', 0xB9),
                ('є', 0xBA),
                ('»', 0xBB),
                ('ј', 0xBC),
                ('Ѕ', 0xBD),
                ('ѕ', 0xBE),
                ('ї', 0xBF),
            ];
            return upper.iter().find(|(u, _)| *u == c).map(|(_, b)| *b);
        }
    };
    Some(byte)
}

/// A text field in Windows-1251, refused when too long or carrying a character the format cannot.
fn text_field(
    field: &'static str,
    value: &str,
    max_chars: usize,
    mandatory: bool,
) -> Result<Vec<u8>, PaymentQrError> {
    let value = value.trim();
    if mandatory && value.is_empty() {
        return Err(PaymentQrError::Empty { field });
    }
    let length = value.chars().count();
    if length > max_chars {
        return Err(PaymentQrError::TooLong {
            field,
            length,
            max: max_chars,
        });
    }
    value
        .chars()
        .map(|character| cp1251(character).ok_or(PaymentQrError::Character { field, character }))
        .collect()
}

/// Field 8: `UAH` and the amount, kopecks as two digits or, for whole hryvnias, none (the
/// shorter form the rules recommend).
fn amount_field(kopecks: u64) -> Result<String, PaymentQrError> {
    if kopecks > 99_999_999_999 {
        return Err(PaymentQrError::Amount);
    }
    Ok(if kopecks.is_multiple_of(100) {
        format!("UAH{}", kopecks / 100)
    } else {
        format!("UAH{}.{:02}", kopecks / 100, kopecks % 100)
    })
}

impl PaymentOrder {
    /// The data lines of the QR code (Windows-1251 bytes joined by LF), before base64url.
    pub fn nbu_data(&self, format: NbuQrFormat) -> Result<Vec<u8>, PaymentQrError> {
        let d = &self.details;
        let iban = compact_iban(&d.iban);
        check_ua_iban(&iban).map_err(PaymentQrError::Iban)?;
        check_recipient_code(&d.recipient_code).map_err(PaymentQrError::RecipientCode)?;
        let recipient = text_field("the recipient", &d.recipient, format.max_recipient(), true)?;
        let code = text_field("the recipient code", &d.recipient_code, 10, true)?;
        let purpose = text_field("the purpose", &d.purpose, format.max_purpose(), true)?;
        let amount = amount_field(self.amount_kopecks)?;
        let reference = match (format, &self.reference) {
            (NbuQrFormat::F003, Some(reference)) => {
                if !reference.is_ascii() {
                    return Err(PaymentQrError::Character {
                        field: "the reference",
                        character: reference.chars().find(|c| !c.is_ascii()).unwrap_or('?'),
                    });
                }
                text_field("the reference", reference, 35, false)?
            }
            _ => Vec::new(),
        };
        let category = match format {
            NbuQrFormat::F002 => Vec::new(),
            NbuQrFormat::F003 => FEE_CATEGORY_PURPOSE.as_bytes().to_vec(),
        };
        let mut fields: Vec<Vec<u8>> = vec![
            b"BCD".to_vec(),
            format.version().as_bytes().to_vec(),
            b"2".to_vec(),
            b"UCT".to_vec(),
            Vec::new(),
            recipient,
            iban.into_bytes(),
            amount.into_bytes(),
            code,
            category,
            reference,
            purpose,
            Vec::new(),
        ];
        if format == NbuQrFormat::F003 {
            fields.extend(std::iter::repeat_n(Vec::new(), 4));
        }
        Ok(fields.join(&b'\n'))
    }

    /// The content of the QR code: the app start code and the data in base64url.
    pub fn nbu_qr(&self, format: NbuQrFormat) -> Result<String, PaymentQrError> {
        let encoded = URL_SAFE_NO_PAD.encode(self.nbu_data(format)?);
        let link = format!("{NBU_QR_APP_START}{encoded}");
        if encoded.len() > MAX_ENCODED || link.len() > MAX_LINK {
            return Err(PaymentQrError::TooBig(encoded.len()));
        }
        Ok(link)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IBAN made for tests: fictional bank code and account, check digits computed here.
    const IBAN: &str = "UA989999990000026007233566001";

    fn order() -> PaymentOrder {
        PaymentOrder {
            details: PaymentDetails {
                recipient: "ГУК у Львівській обл. (демо)".into(),
                iban: IBAN.into(),
                recipient_code: "12345678".into(),
                purpose: "Адміністративний збір за декларування місця проживання".into(),
            },
            amount_kopecks: 3400,
            reference: Some("LV01/T07/2026/000123-5".into()),
        }
    }

    fn lines(data: &[u8]) -> Vec<Vec<u8>> {
        data.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect()
    }

    #[test]
    fn iban_check_follows_iso_13616() {
        assert_eq!(check_ua_iban(IBAN), Ok(()));
        assert_eq!(
            check_ua_iban("UA98 9999 9900 0002 6007 2335 6600 1"),
            Ok(())
        );
        assert_eq!(
            check_ua_iban("UA999999990000026007233566001"),
            Err(IbanProblem::BadCheckDigits)
        );
        // Two digits swapped: the check catches it.
        assert_eq!(
            check_ua_iban("UA989999990000026007233566010"),
            Err(IbanProblem::BadCheckDigits)
        );
        assert_eq!(
            check_ua_iban("DE89370400440532013000"),
            Err(IbanProblem::NotUkrainian)
        );
        assert_eq!(
            check_ua_iban("UA98999999000002600723356600"),
            Err(IbanProblem::NotUkrainian)
        );
    }

    /// Found by fuzzing (tests/fuzz, target payment_order): `U` then a Cyrillic letter made 29
    /// bytes that panicked when sliced at byte 2, so a catalog file could stop the server and
    /// the tablets that loaded it.
    #[test]
    fn an_iban_with_a_letter_of_two_bytes_is_not_ukrainian() {
        assert_eq!(
            check_ua_iban("Uр98999999000002600723356600"),
            Err(IbanProblem::NotUkrainian)
        );
        assert_eq!(
            check_ua_iban("UAр9999990000026007233566001"),
            Err(IbanProblem::NotUkrainian)
        );
    }

    /// The recipients of examples 1 and 4 of annex 4 and their bytes as the resolution's hex
    /// tables give them; the IBANs of those examples pass the check.
    #[test]
    fn windows_1251_bytes_match_the_resolutions_examples() {
        assert_eq!(
            text_field("r", "ТОВ «ГК«Нафтогаз України»", 140, true).unwrap(),
            [
                0xD2, 0xCE, 0xC2, 0x20, 0xAB, 0xC3, 0xCA, 0xAB, 0xCD, 0xE0, 0xF4, 0xF2, 0xEE, 0xE3,
                0xE0, 0xE7, 0x20, 0xD3, 0xEA, 0xF0, 0xE0, 0xBF, 0xED, 0xE8, 0xBB
            ]
        );
        assert_eq!(
            text_field("r", "ТОВ «ФК „ЕВО“»", 140, true).unwrap(),
            [
                0xD2, 0xCE, 0xC2, 0x20, 0xAB, 0xD4, 0xCA, 0x20, 0x84, 0xC5, 0xC2, 0xCE, 0x93, 0xBB
            ]
        );
        assert_eq!(check_ua_iban("UA201234560000000260323012042"), Ok(()));
        assert_eq!(check_ua_iban("UA673005280000026500504354077"), Ok(()));
    }

    #[test]
    fn recipient_code_is_edrpou_or_rnokpp_with_check_digit() {
        assert_eq!(check_recipient_code("12345678"), Ok(()));
        assert!(check_recipient_code("12345679").is_err());
        assert!(check_recipient_code("1234567").is_err());
    }

    #[test]
    fn format_003_has_seventeen_fields_in_order() {
        let data = order().nbu_data(NbuQrFormat::F003).unwrap();
        let fields = lines(&data);
        assert_eq!(fields.len(), 17);
        assert_eq!(fields[0], b"BCD");
        assert_eq!(fields[1], b"003");
        assert_eq!(fields[2], b"2");
        assert_eq!(fields[3], b"UCT");
        assert!(fields[4].is_empty());
        // "ГУК" in Windows-1251.
        assert_eq!(&fields[5][..3], &[0xC3, 0xD3, 0xCA]);
        assert_eq!(fields[6], IBAN.as_bytes());
        assert_eq!(fields[7], b"UAH34");
        assert_eq!(fields[8], b"12345678");
        assert_eq!(fields[9], b"OTHR/OTHR");
        assert_eq!(fields[10], b"LV01/T07/2026/000123-5");
        assert_eq!(fields[11].len(), order().details.purpose.chars().count());
        assert!(fields[12..].iter().all(Vec::is_empty));
    }

    #[test]
    fn format_002_has_thirteen_fields_and_no_reference() {
        let fields = lines(&order().nbu_data(NbuQrFormat::F002).unwrap());
        assert_eq!(fields.len(), 13);
        assert_eq!(fields[1], b"002");
        assert!(fields[9].is_empty() && fields[10].is_empty());
    }

    #[test]
    fn kopecks_are_two_digits_or_none() {
        assert_eq!(amount_field(3400).unwrap(), "UAH34");
        assert_eq!(amount_field(3405).unwrap(), "UAH34.05");
        assert_eq!(amount_field(99_999_999_999).unwrap(), "UAH999999999.99");
        assert_eq!(amount_field(100_000_000_000), Err(PaymentQrError::Amount));
    }

    #[test]
    fn link_is_app_start_code_and_base64url_of_the_data() {
        let link = order().nbu_qr(NbuQrFormat::F003).unwrap();
        let encoded = link.strip_prefix(NBU_QR_APP_START).unwrap();
        assert!(
            encoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        let decoded = URL_SAFE_NO_PAD.decode(encoded).unwrap();
        assert_eq!(decoded, order().nbu_data(NbuQrFormat::F003).unwrap());
    }

    #[test]
    fn fields_the_format_cannot_carry_are_refused() {
        let refuse = |edit: &dyn Fn(&mut PaymentOrder)| {
            let mut o = order();
            edit(&mut o);
            o.nbu_qr(NbuQrFormat::F003).unwrap_err()
        };
        assert!(matches!(
            refuse(&|o| o.details.recipient = "А".repeat(141)),
            PaymentQrError::TooLong { max: 140, .. }
        ));
        assert!(matches!(
            refuse(&|o| o.details.purpose = "оплата\nзбору".into()),
            PaymentQrError::Character {
                character: '\n',
                ..
            }
        ));
        assert!(matches!(
            refuse(&|o| o.details.purpose = "оплата 😀".into()),
            PaymentQrError::Character { .. }
        ));
        assert!(matches!(
            refuse(&|o| o.details.purpose = " ".into()),
            PaymentQrError::Empty { .. }
        ));
        assert!(matches!(
            refuse(&|o| o.details.iban = "UA999999990000026007233566001".into()),
            PaymentQrError::Iban(IbanProblem::BadCheckDigits)
        ));
        assert!(matches!(
            refuse(&|o| o.details.recipient_code = "12345679".into()),
            PaymentQrError::RecipientCode(_)
        ));
        assert!(matches!(
            refuse(&|o| o.reference = Some("справа".into())),
            PaymentQrError::Character { .. }
        ));
        // 420 characters fit the field but not the code: refused as too big, not truncated.
        assert!(matches!(
            refuse(&|o| o.details.purpose = "т".repeat(420)),
            PaymentQrError::TooBig(_)
        ));
        let mut long_002 = order();
        long_002.details.purpose = "т".repeat(141);
        assert!(matches!(
            long_002.nbu_qr(NbuQrFormat::F002),
            Err(PaymentQrError::TooLong { max: 140, .. })
        ));
    }
}
