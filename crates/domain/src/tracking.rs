//! The tracking code (код відстеження) printed on the applicant's receipt: the only key to the
//! public tracking page. Case numbers are predictable (centre/device/year/sequence), so a case
//! number alone must open nothing; the code is drawn at random when the case is registered.
//!
//! - **Randomness:** 27 symbols of 5 random bits each — 135 bits, drawn from the caller's
//!   `SecureRandom` (the tablet passes ring's `SystemRandom`) — and one check symbol: 28 symbols.
//! - **Alphabet:** Crockford's base 32, `0-9` and `A-Z` without `I`, `L`, `O`, `U`, so nothing
//!   printed can be read as something else. Typing is forgiven as Crockford asks: any case,
//!   `O` for `0`, `I` and `L` for `1`, and Cyrillic letters that look Latin (a Ukrainian
//!   keyboard) read as what they look like; spaces and hyphens are ignored.
//! - **Check symbol:** Luhn mod 32 over the 27 symbols, as the case number's check character
//!   (mod 36): every single mistyped symbol and every swap of two neighbours is caught, except
//!   a swap of `0` and `Z` (the mod-32 twin of Luhn's 09↔90). A mistyped code is told apart
//!   from an unknown one, so the tracking page can say «check the code» instead of «no case».
//! - **Printed form:** seven groups of four, `7KQ2-M9XA-…` ([`fmt::Display`]).
//! - **Canonical form:** the 28 symbols in upper case, no separators ([`TrackingCode::canonical`]).
//!   The receipt's QR carries `{public address}/t/{canonical}` ([`TrackingCode::url`]): no
//!   hyphens, so the address is as short as it can be and has one spelling. A page given a
//!   typed code parses it first (hyphens, spaces and look-alikes are fine there).
//! - **Hash:** the server and the sealed case know only [`TrackingCode::sha256_hex`], the
//!   SHA-256 of the canonical form (lower-case hex); never the code.
//!
//! The code is not zeroized: it is printed on paper handed to the applicant and opens only the
//! case's public status (no personal data). Its `Debug` is redacted all the same, so it stays
//! out of logs.

use std::fmt;
use std::str::FromStr;

use ring::digest::{SHA256, digest};
use ring::rand::SecureRandom;

/// Crockford's base 32: the value of a symbol is its position.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Random symbols in a code (5 bits each: 135 bits).
pub const RANDOM_SYMBOLS: usize = 27;
/// Symbols in a code: the random ones and the check symbol.
pub const CODE_SYMBOLS: usize = RANDOM_SYMBOLS + 1;
/// Symbols per printed group.
const GROUP: usize = 4;

/// Why a typed tracking code was refused, or could not be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackingCodeError {
    #[error("a tracking code has {CODE_SYMBOLS} letters and digits; this one has {found}")]
    BadLength { found: usize },
    /// `position` counts symbols from 1, separators left out.
    #[error("symbol {position} of the tracking code is not a letter or digit it can have")]
    BadCharacter { position: usize },
    #[error("the tracking code's check symbol does not match: the code is mistyped")]
    Mistyped,
    #[error("the system's random number generator failed")]
    NoRandomness,
}

impl TrackingCodeError {
    pub fn message_uk(&self) -> String {
        match self {
            Self::BadLength { found } => {
                format!("Код відстеження має {CODE_SYMBOLS} літер і цифр, а введено {found}")
            }
            Self::BadCharacter { position } => {
                format!("Символ {position} коду відстеження не може бути в коді")
            }
            Self::Mistyped => "Код відстеження введено з помилкою: перевірте його".into(),
            Self::NoRandomness => "Генератор випадкових чисел системи не відповів".into(),
        }
    }
}

/// A tracking code, held in its canonical form.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TrackingCode {
    canonical: String,
}

impl fmt::Debug for TrackingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TrackingCode(<redacted>)")
    }
}

/// Luhn mod 32: double every second value from the right, fold into base 32, sum.
fn check_value(values: &[u8]) -> u8 {
    let n = ALPHABET.len();
    let mut factor = 2;
    let mut sum = 0;
    for &value in values.iter().rev() {
        let addend = factor * usize::from(value);
        sum += addend / n + addend % n;
        factor = if factor == 2 { 1 } else { 2 };
    }
    ((n - sum % n) % n) as u8
}

/// The value of a typed symbol (already upper case), with Crockford's substitutions.
fn value_of(c: char) -> Option<u8> {
    let c = match crate::case_number::latin_look_alike(c) {
        'O' => '0',
        'I' | 'L' => '1',
        other => other,
    };
    let byte = u8::try_from(c).ok()?;
    ALPHABET
        .iter()
        .position(|&a| a == byte)
        .and_then(|p| u8::try_from(p).ok())
}

/// Whether `c` is left out when a code is read: spaces and the hyphens and dashes typed
/// between its groups.
pub fn is_separator(c: char) -> bool {
    // Phones and word processors turn a typed hyphen into a dash.
    c.is_whitespace() || matches!(c, '-' | '‐' | '‑' | '–' | '—' | '−')
}

impl TrackingCode {
    /// A new code from `rng`: the tablet passes ring's `SystemRandom`.
    pub fn generate(rng: &dyn SecureRandom) -> Result<Self, TrackingCodeError> {
        let mut bytes = [0u8; RANDOM_SYMBOLS];
        rng.fill(&mut bytes)
            .map_err(|_| TrackingCodeError::NoRandomness)?;
        Ok(Self::from_random(bytes))
    }

    /// The code made of `bytes`, drawn at random by the caller: each byte's low five bits
    /// give one symbol (uniform, as the byte is).
    pub fn from_random(bytes: [u8; RANDOM_SYMBOLS]) -> Self {
        let values: Vec<u8> = bytes.iter().map(|b| b & 0x1f).collect();
        Self::from_values(&values)
    }

    fn from_values(values: &[u8]) -> Self {
        let check = check_value(values);
        let canonical = values
            .iter()
            .chain(std::iter::once(&check))
            .map(|&v| char::from(ALPHABET[usize::from(v)]))
            .collect();
        Self { canonical }
    }

    /// Read a code as typed or scanned (see the module's doc for what is forgiven); a wrong
    /// length, a symbol no code has or a wrong check symbol is refused.
    pub fn parse(text: &str) -> Result<Self, TrackingCodeError> {
        let symbols: Vec<char> = text
            .chars()
            .filter(|&c| !is_separator(c))
            .flat_map(char::to_uppercase)
            .collect();
        let mut values = Vec::with_capacity(CODE_SYMBOLS);
        for (index, &c) in symbols.iter().enumerate() {
            let value = value_of(c).ok_or(TrackingCodeError::BadCharacter {
                position: index + 1,
            })?;
            values.push(value);
        }
        if values.len() != CODE_SYMBOLS {
            return Err(TrackingCodeError::BadLength {
                found: values.len(),
            });
        }
        let (random, check) = values.split_at(RANDOM_SYMBOLS);
        if check != [check_value(random)] {
            return Err(TrackingCodeError::Mistyped);
        }
        Ok(Self::from_values(random))
    }

    /// The 28 symbols, upper case, no separators: what the QR address carries and what is
    /// hashed.
    pub fn canonical(&self) -> &str {
        &self.canonical
    }

    /// Lower-case hex SHA-256 of the canonical form: how the server and the sealed case know
    /// the code.
    pub fn sha256_hex(&self) -> String {
        digest(&SHA256, self.canonical.as_bytes())
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The tracking page's address for this code under `public_base` (its scheme and host,
    /// perhaps a path): `{public_base}/t/{canonical}`.
    pub fn url(&self, public_base: &str) -> String {
        format!("{}/t/{}", public_base.trim_end_matches('/'), self.canonical)
    }
}

/// Seven groups of four symbols joined by hyphens.
impl fmt::Display for TrackingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, group) in self.canonical.as_bytes().chunks(GROUP).enumerate() {
            if index > 0 {
                f.write_str("-")?;
            }
            // The canonical form is ASCII by construction.
            f.write_str(&String::from_utf8_lossy(group))?;
        }
        Ok(())
    }
}

impl FromStr for TrackingCode {
    type Err = TrackingCodeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// Kept (in the tablet's encrypted draft) in its canonical form; read with [`TrackingCode::parse`].
impl serde::Serialize for TrackingCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.canonical)
    }
}

impl<'de> serde::Deserialize<'de> for TrackingCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TrackingCode {
        let mut bytes = [0u8; RANDOM_SYMBOLS];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(11);
        }
        // A 1 among them, so the look-alikes of 1 are tried (0, X and C occur already).
        bytes[4] = 1;
        TrackingCode::from_random(bytes)
    }

    #[test]
    fn printed_code_is_seven_groups_of_four_and_parses_back() {
        let code = sample();
        let printed = code.to_string();
        let groups: Vec<&str> = printed.split('-').collect();
        assert_eq!(groups.len(), 7, "{printed}");
        assert!(groups.iter().all(|g| g.len() == 4), "{printed}");
        assert_eq!(TrackingCode::parse(&printed).unwrap(), code);
        assert_eq!(TrackingCode::parse(code.canonical()).unwrap(), code);
        assert_eq!(code.canonical(), printed.replace('-', ""));
    }

    #[test]
    fn a_code_typed_in_lower_case_with_spaces_and_look_alikes_is_the_same_code() {
        let code = sample();
        let canonical = code.canonical();
        assert!(["0", "1", "X", "C"].iter().all(|c| canonical.contains(c)));
        // Lower case, spaces for hyphens, an en dash; O for 0 and l/I for 1 where they occur.
        let typed: String = code
            .to_string()
            .to_lowercase()
            .replacen('-', " ", 3)
            .replacen('-', " – ", 1)
            .chars()
            .map(|c| match c {
                '0' => 'o',
                '1' => 'l',
                other => other,
            })
            .collect();
        assert_eq!(TrackingCode::parse(&typed).unwrap(), code, "{typed}");
        // Cyrillic look-alikes typed on a Ukrainian keyboard: Х for X, О for 0, І for 1.
        let cyrillic: String = canonical
            .chars()
            .map(|c| match c {
                'X' => 'Х',
                '0' => 'О',
                '1' => 'І',
                'C' => 'с',
                other => other,
            })
            .collect();
        assert_eq!(TrackingCode::parse(&cyrillic).unwrap(), sample());
    }

    #[test]
    fn a_wrong_length_or_a_symbol_no_code_has_is_refused() {
        let canonical = sample().canonical().to_owned();
        assert_eq!(
            TrackingCode::parse(&canonical[..CODE_SYMBOLS - 1]),
            Err(TrackingCodeError::BadLength {
                found: CODE_SYMBOLS - 1
            })
        );
        assert_eq!(
            TrackingCode::parse(&format!("{canonical}7")),
            Err(TrackingCodeError::BadLength {
                found: CODE_SYMBOLS + 1
            })
        );
        assert_eq!(
            TrackingCode::parse(""),
            Err(TrackingCodeError::BadLength { found: 0 })
        );
        // U is left out of Crockford's alphabet; so are punctuation and other scripts.
        for bad in ['U', '*', 'Ж', '/'] {
            let typed = format!("{}{bad}{}", &canonical[..5], &canonical[6..]);
            assert_eq!(
                TrackingCode::parse(&typed),
                Err(TrackingCodeError::BadCharacter { position: 6 }),
                "{typed}"
            );
        }
    }

    #[test]
    fn every_single_symbol_typo_is_caught() {
        let canonical: Vec<u8> = sample().canonical().bytes().collect();
        for position in 0..CODE_SYMBOLS {
            for &replacement in ALPHABET {
                if replacement == canonical[position] {
                    continue;
                }
                let mut typo = canonical.clone();
                typo[position] = replacement;
                let typo = String::from_utf8(typo).unwrap();
                assert_eq!(
                    TrackingCode::parse(&typo),
                    Err(TrackingCodeError::Mistyped),
                    "{typo}"
                );
            }
        }
    }

    #[test]
    fn neighbours_swapped_are_caught_except_zero_and_z() {
        for seed in 0..64u8 {
            let mut bytes = [0u8; RANDOM_SYMBOLS];
            for (i, b) in bytes.iter_mut().enumerate() {
                *b = seed
                    .wrapping_mul(29)
                    .wrapping_add((i as u8).wrapping_mul(53));
            }
            let canonical: Vec<u8> = TrackingCode::from_random(bytes)
                .canonical()
                .bytes()
                .collect();
            for i in 0..CODE_SYMBOLS - 1 {
                let (a, b) = (canonical[i], canonical[i + 1]);
                if a == b || matches!((a, b), (b'0', b'Z') | (b'Z', b'0')) {
                    continue;
                }
                let mut swapped = canonical.clone();
                swapped.swap(i, i + 1);
                let swapped = String::from_utf8(swapped).unwrap();
                assert!(TrackingCode::parse(&swapped).is_err(), "{swapped}");
            }
        }
    }

    #[test]
    fn the_hash_is_of_the_canonical_form_whatever_was_typed() {
        let code = sample();
        let typed = TrackingCode::parse(&code.to_string().to_lowercase()).unwrap();
        assert_eq!(typed.sha256_hex(), code.sha256_hex());
        let expected: String = digest(&SHA256, code.canonical().as_bytes())
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(code.sha256_hex(), expected);
        assert_eq!(code.sha256_hex().len(), 64);
        // The hash of what the QR address carries is not the hash of the printed form.
        let printed = digest(&SHA256, code.to_string().as_bytes());
        assert_ne!(code.sha256_hex(), hex_of(printed.as_ref()));
    }

    fn hex_of(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn the_address_carries_the_canonical_form_under_the_public_base() {
        let code = sample();
        assert_eq!(
            code.url("https://track.cnap.example.ua/"),
            format!("https://track.cnap.example.ua/t/{}", code.canonical())
        );
    }

    #[test]
    fn generated_codes_are_well_formed_and_differ() {
        let rng = ring::rand::SystemRandom::new();
        let a = TrackingCode::generate(&rng).unwrap();
        let b = TrackingCode::generate(&rng).unwrap();
        assert_ne!(a, b);
        assert_eq!(TrackingCode::parse(&a.to_string()).unwrap(), a);
        assert!(a.canonical().bytes().all(|c| ALPHABET.contains(&c)));
    }

    #[test]
    fn debug_does_not_show_the_code() {
        let code = sample();
        assert!(!format!("{code:?}").contains(code.canonical()));
    }

    #[test]
    fn kept_as_its_canonical_form() {
        let code = sample();
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, format!("\"{}\"", code.canonical()));
        assert_eq!(serde_json::from_str::<TrackingCode>(&json).unwrap(), code);
    }
}
