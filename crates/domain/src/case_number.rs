//! Case numbers (номер справи), unique without a network: centre code, device code, year and
//! the device's own sequence, with a check character so a mistyped number is caught:
//! `LV01/T07/2026/000123-K`.
//!
//! The check character is Luhn mod 36 over the alphabet `0-9A-Z`, computed over the whole
//! number with each `/` counted as `0` (so a slash moved between codes changes the sum). Luhn
//! mod N catches every single-character substitution and every adjacent transposition except
//! of the pair `0`↔`Z` (the mod-36 twin of Luhn's 09↔90), and a `/` next to a `0` or `Z`.

use std::fmt;

const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const SEQUENCE_DIGITS: usize = 6;

/// Why a typed case number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseNumberError {
    #[error("a case number has four parts: centre/device/year/sequence-check")]
    BadStructure,
    #[error("the {part} code must be 2 to 8 letters A–Z or digits")]
    BadCode { part: &'static str },
    #[error("the year must be four digits")]
    BadYear,
    #[error("the sequence must be 1 to 999999")]
    BadSequence,
    #[error("the check character does not match: the number is mistyped")]
    BadCheckCharacter,
}

impl CaseNumberError {
    pub fn message_uk(&self) -> &'static str {
        match self {
            Self::BadStructure => "Номер справи має вигляд ЦЕНТР/ПРИСТРІЙ/РІК/НОМЕР-К",
            Self::BadCode { .. } => "Код центру чи пристрою — від 2 до 8 латинських літер або цифр",
            Self::BadYear => "Рік — чотири цифри",
            Self::BadSequence => "Порядковий номер — від 1 до 999999",
            Self::BadCheckCharacter => "Контрольний символ не збігається: номер введено з помилкою",
        }
    }
}

/// A case number. Build it with [`CaseNumber::new`] (the sequence comes from the vault) or
/// read one a person typed or a QR code carried with [`CaseNumber::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaseNumber {
    centre: String,
    device: String,
    year: u16,
    sequence: u32,
}

fn check_code(code: &str, part: &'static str) -> Result<(), CaseNumberError> {
    let ok = (2..=8).contains(&code.len()) && code.bytes().all(|b| ALPHABET.contains(&b));
    if ok {
        Ok(())
    } else {
        Err(CaseNumberError::BadCode { part })
    }
}

fn code_point(c: u8) -> usize {
    ALPHABET.iter().position(|&a| a == c).unwrap_or(0)
}

/// Luhn mod 36: double every second code point from the right, fold into base 36, sum.
fn check_character(body: &str) -> char {
    let n = ALPHABET.len();
    let mut factor = 2;
    let mut sum = 0;
    for byte in body.bytes().rev() {
        let addend = factor * code_point(byte);
        sum += addend / n + addend % n;
        factor = if factor == 2 { 1 } else { 2 };
    }
    char::from(ALPHABET[(n - sum % n) % n])
}

/// Ukrainian keyboards type Cyrillic letters that look Latin: read them as what they look like.
pub(crate) fn latin_look_alike(c: char) -> char {
    match c {
        'А' => 'A',
        'В' => 'B',
        'Е' => 'E',
        'К' => 'K',
        'М' => 'M',
        'Н' => 'H',
        'І' => 'I',
        'О' => 'O',
        'Р' => 'P',
        'С' => 'C',
        'Т' => 'T',
        'Х' => 'X',
        other => other,
    }
}

impl CaseNumber {
    pub fn new(
        centre: &str,
        device: &str,
        year: u16,
        sequence: u32,
    ) -> Result<Self, CaseNumberError> {
        check_code(centre, "centre")?;
        check_code(device, "device")?;
        if !(1000..=9999).contains(&year) {
            return Err(CaseNumberError::BadYear);
        }
        if !(1..=999_999).contains(&sequence) {
            return Err(CaseNumberError::BadSequence);
        }
        Ok(Self {
            centre: centre.to_owned(),
            device: device.to_owned(),
            year,
            sequence,
        })
    }

    fn body(&self) -> String {
        format!(
            "{}/{}/{}/{:0width$}",
            self.centre,
            self.device,
            self.year,
            self.sequence,
            width = SEQUENCE_DIGITS
        )
    }

    /// Read a number as typed or scanned: case, spaces and Cyrillic look-alikes are forgiven;
    /// a wrong check character is not.
    pub fn parse(text: &str) -> Result<Self, CaseNumberError> {
        let cleaned: String = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_uppercase)
            .map(latin_look_alike)
            .collect();
        let (body, check) = cleaned
            .rsplit_once('-')
            .ok_or(CaseNumberError::BadStructure)?;
        let parts: Vec<&str> = body.split('/').collect();
        let [centre, device, year, sequence] = parts[..] else {
            return Err(CaseNumberError::BadStructure);
        };
        let year: u16 = (year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit()))
            .then(|| year.parse().ok())
            .flatten()
            .ok_or(CaseNumberError::BadYear)?;
        if sequence.len() != SEQUENCE_DIGITS || !sequence.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CaseNumberError::BadSequence);
        }
        let sequence: u32 = sequence.parse().map_err(|_| CaseNumberError::BadSequence)?;
        let number = Self::new(centre, device, year, sequence)?;
        let mut check_chars = check.chars();
        match (check_chars.next(), check_chars.next()) {
            (Some(c), None) if c == number.check() => Ok(number),
            _ => Err(CaseNumberError::BadCheckCharacter),
        }
    }

    pub fn check(&self) -> char {
        check_character(&self.body().replace('/', "0"))
    }

    pub fn centre(&self) -> &str {
        &self.centre
    }

    pub fn device(&self) -> &str {
        &self.device
    }

    pub fn year(&self) -> u16 {
        self.year
    }

    pub fn sequence(&self) -> u32 {
        self.sequence
    }

    /// The text a QR code carries: the printed form itself, which is ASCII upper case and
    /// digits (QR alphanumeric mode holds all of `0-9A-Z/-`).
    pub fn qr_payload(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for CaseNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.body(), self.check())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CaseNumber {
        CaseNumber::new("LV01", "T07", 2026, 123).unwrap()
    }

    #[test]
    fn printed_number_parses_back() {
        let number = sample();
        let printed = number.to_string();
        assert!(printed.starts_with("LV01/T07/2026/000123-"));
        assert_eq!(CaseNumber::parse(&printed).unwrap(), number);
        assert_eq!(number.qr_payload(), printed);
    }

    #[test]
    fn lower_case_spaces_and_cyrillic_look_alikes_are_forgiven() {
        let printed = sample().to_string();
        let typed = format!(" {} ", printed.to_lowercase().replace('/', " / "));
        assert_eq!(CaseNumber::parse(&typed).unwrap(), sample());
        // Cyrillic Т typed for Latin T.
        assert_eq!(
            CaseNumber::parse(&printed.replace('T', "Т")).unwrap(),
            sample()
        );
    }

    #[test]
    fn every_single_character_typo_is_caught() {
        let printed = sample().to_string();
        let chars: Vec<char> = printed.chars().collect();
        for position in 0..chars.len() {
            if chars[position] == '/' || chars[position] == '-' {
                continue;
            }
            for &replacement in ALPHABET {
                let replacement = char::from(replacement);
                if replacement == chars[position] {
                    continue;
                }
                let mut typo = chars.clone();
                typo[position] = replacement;
                let typo: String = typo.into_iter().collect();
                assert!(CaseNumber::parse(&typo).is_err(), "typo accepted: {typo}");
            }
        }
    }

    #[test]
    fn adjacent_transpositions_are_caught_except_zero_and_z() {
        // Over many numbers, every swap of two different neighbouring characters is caught,
        // unless the pair is the documented 0↔Z.
        for sequence in (1..999_999).step_by(9_973) {
            for device in ["T07", "Z0X", "AB"] {
                let number = CaseNumber::new("LV01", device, 2026, sequence).unwrap();
                let printed = number.to_string();
                let chars: Vec<char> = printed.chars().collect();
                for i in 0..chars.len() - 3 {
                    let (a, b) = (chars[i], chars[i + 1]);
                    if a == b || a == '/' || b == '/' {
                        continue;
                    }
                    let mut swapped = chars.clone();
                    swapped.swap(i, i + 1);
                    let swapped: String = swapped.into_iter().collect();
                    if CaseNumber::parse(&swapped).is_ok() {
                        assert!(
                            matches!((a, b), ('0', 'Z') | ('Z', '0')),
                            "swap {a}{b} accepted: {swapped}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn malformed_numbers_get_their_own_errors() {
        assert_eq!(
            CaseNumber::parse("LV01/T07/2026/000123"),
            Err(CaseNumberError::BadStructure)
        );
        assert_eq!(
            CaseNumber::parse("LV01/T07/000123-5"),
            Err(CaseNumberError::BadStructure)
        );
        assert_eq!(
            CaseNumber::parse("L/T07/2026/000123-5"),
            Err(CaseNumberError::BadCode { part: "centre" })
        );
        assert_eq!(
            CaseNumber::parse("LV01/T07/26/000123-5"),
            Err(CaseNumberError::BadYear)
        );
        assert_eq!(
            CaseNumber::parse("LV01/T07/2026/123-5"),
            Err(CaseNumberError::BadSequence)
        );
        assert_eq!(
            CaseNumber::new("LV01", "T07", 2026, 0),
            Err(CaseNumberError::BadSequence)
        );
        assert_eq!(
            CaseNumber::new("ЦНАП", "T07", 2026, 1),
            Err(CaseNumberError::BadCode { part: "centre" })
        );
    }
}
