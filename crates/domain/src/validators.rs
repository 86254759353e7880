//! Validators for what the administrator types: РНОКПП, ЄДРПОУ, Ukrainian mobile numbers,
//! e-mail addresses and dates of birth. Exact rules, typed errors, messages in Ukrainian first.

use time::{Date, Duration, Month};

/// Why a value was refused. `Display` is English; [`ValidationError::message_uk`] is what the
/// tablet shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("must be exactly {expected} digits")]
    WrongLength { expected: usize },
    #[error("must contain digits only")]
    NotDigits,
    #[error("the check digit does not match: the number is mistyped")]
    BadCheckDigit,
    #[error("the birth date encoded in the tax number ({encoded}) differs from the date given")]
    BirthDateMismatch { encoded: Date },
    #[error("not a Ukrainian mobile number (+380 and a mobile operator code)")]
    NotUkrainianMobile,
    #[error("unknown mobile operator code {0}")]
    UnknownOperatorCode(String),
    #[error("not a valid e-mail address")]
    BadEmail,
    #[error("the date of birth is in the future")]
    BirthInFuture,
    #[error("the date of birth is more than 130 years ago")]
    BirthTooLongAgo,
}

impl ValidationError {
    /// The message the administrator sees, in Ukrainian.
    pub fn message_uk(&self) -> String {
        match self {
            Self::WrongLength { expected } => format!("Має бути рівно {expected} цифр"),
            Self::NotDigits => "Допускаються лише цифри".into(),
            Self::BadCheckDigit => {
                "Контрольна цифра не збігається: номер введено з помилкою".into()
            }
            Self::BirthDateMismatch { encoded } => format!(
                "Дата народження в РНОКПП ({:02}.{:02}.{}) не збігається з указаною",
                encoded.day(),
                u8::from(encoded.month()),
                encoded.year()
            ),
            Self::NotUkrainianMobile => {
                "Це не український мобільний номер (+380 і код мобільного оператора)".into()
            }
            Self::UnknownOperatorCode(code) => format!("Невідомий код мобільного оператора {code}"),
            Self::BadEmail => "Неправильна адреса електронної пошти".into(),
            Self::BirthInFuture => "Дата народження не може бути в майбутньому".into(),
            Self::BirthTooLongAgo => "Дата народження більш ніж 130 років тому".into(),
        }
    }
}

fn digits(value: &str, expected: usize) -> Result<Vec<u32>, ValidationError> {
    let trimmed = value.trim();
    if !trimmed.chars().all(|c| c.is_ascii_digit()) {
        return Err(ValidationError::NotDigits);
    }
    if trimmed.len() != expected {
        return Err(ValidationError::WrongLength { expected });
    }
    Ok(trimmed.chars().filter_map(|c| c.to_digit(10)).collect())
}

/// Sex as encoded in the ninth digit of a РНОКПП (odd: male, even: female).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodedSex {
    Male,
    Female,
}

/// A checked registration number of a taxpayer's account card (РНОКПП, 10 digits).
#[derive(Clone, PartialEq, Eq)]
pub struct Rnokpp(String);

impl std::fmt::Debug for Rnokpp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rnokpp(<redacted>)")
    }
}

const RNOKPP_WEIGHTS: [i64; 9] = [-1, 5, 7, 9, 4, 6, 10, 5, 7];

impl Rnokpp {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let d = digits(value, 10)?;
        let sum: i64 = d
            .iter()
            .zip(RNOKPP_WEIGHTS)
            .map(|(&x, w)| i64::from(x) * w)
            .sum();
        if sum.rem_euclid(11) % 10 != i64::from(d[9]) {
            return Err(ValidationError::BadCheckDigit);
        }
        Ok(Self(value.trim().to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The birth date in the first five digits: days counted from 31.12.1899.
    pub fn encoded_birth_date(&self) -> Option<Date> {
        let days: i64 = self.0.get(..5)?.parse().ok()?;
        let epoch = Date::from_calendar_date(1899, Month::December, 31).ok()?;
        epoch.checked_add(Duration::days(days))
    }

    pub fn encoded_sex(&self) -> Option<EncodedSex> {
        let ninth = self.0.chars().nth(8)?.to_digit(10)?;
        Some(if ninth % 2 == 1 {
            EncodedSex::Male
        } else {
            EncodedSex::Female
        })
    }

    /// Cross-check against the date of birth from the identity document.
    pub fn check_birth_date(&self, birth_date: Date) -> Result<(), ValidationError> {
        match self.encoded_birth_date() {
            Some(encoded) if encoded == birth_date => Ok(()),
            Some(encoded) => Err(ValidationError::BirthDateMismatch { encoded }),
            None => Err(ValidationError::BadCheckDigit),
        }
    }
}

/// A checked code of a legal entity in the Unified State Register (ЄДРПОУ, 8 digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edrpou(String);

impl Edrpou {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let d = digits(value, 8)?;
        let code: u32 = d.iter().fold(0, |acc, &x| acc * 10 + x);
        // The State Statistics Service's rule: one weight set for codes below 30,000,000 and
        // above 60,000,000, another in between; if the remainder is 10, retry with weights + 2.
        let weights: [u32; 7] = if !(30_000_000..=60_000_000).contains(&code) {
            [1, 2, 3, 4, 5, 6, 7]
        } else {
            [7, 1, 2, 3, 4, 5, 6]
        };
        let remainder = |extra: u32| -> u32 {
            d.iter()
                .zip(weights)
                .map(|(&x, w)| x * (w + extra))
                .sum::<u32>()
                % 11
        };
        let mut check = remainder(0);
        if check >= 10 {
            check = remainder(2);
            if check >= 10 {
                check = 0;
            }
        }
        if check != d[7] {
            return Err(ValidationError::BadCheckDigit);
        }
        Ok(Self(value.trim().to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Mobile operator codes in Ukraine's numbering plan (kept here as data, not scattered).
pub const MOBILE_OPERATOR_CODES: &[&str] = &[
    "39", "50", "63", "66", "67", "68", "73", "77", "89", "91", "92", "93", "94", "95", "96", "97",
    "98", "99",
];

/// A Ukrainian mobile number, normalised to `+380` and nine digits.
#[derive(Clone, PartialEq, Eq)]
pub struct MobileNumber(String);

impl std::fmt::Debug for MobileNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MobileNumber(<redacted>)")
    }
}

impl MobileNumber {
    /// Accepts `067…`, `38067…`, `+38 (067) 123-45-67` and the like.
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let trimmed = value.trim();
        if !trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || " +-()".contains(c))
        {
            return Err(ValidationError::NotUkrainianMobile);
        }
        if trimmed.chars().skip(1).any(|c| c == '+') {
            return Err(ValidationError::NotUkrainianMobile);
        }
        let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        let national = match digits.len() {
            12 if digits.starts_with("380") => &digits[3..],
            10 if digits.starts_with('0') => &digits[1..],
            _ => return Err(ValidationError::NotUkrainianMobile),
        };
        let code = &national[..2];
        if !MOBILE_OPERATOR_CODES.contains(&code) {
            return Err(ValidationError::UnknownOperatorCode(format!("0{code}")));
        }
        Ok(Self(format!("+380{national}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An e-mail address, by a practical rule: one `@`, a local part of 1–64 visible characters,
/// a domain of dot-separated labels (letters of any script, digits, inner hyphens) whose last
/// label has at least two letters. Whether it exists only a sent message can tell.
#[derive(Clone, PartialEq, Eq)]
pub struct Email(String);

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Email(<redacted>)")
    }
}

impl Email {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let value = value.trim();
        let (local, domain) = value.split_once('@').ok_or(ValidationError::BadEmail)?;
        let local_ok = !local.is_empty()
            && local.chars().count() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && !"@<>()[]\\,;:\"".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let label_ok = |label: &&str| {
            !label.is_empty()
                && label.chars().count() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        let tld_ok = labels
            .last()
            .is_some_and(|tld| tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic));
        if !local_ok
            || labels.len() < 2
            || !labels.iter().all(label_ok)
            || !tld_ok
            || value.len() > 254
        {
            return Err(ValidationError::BadEmail);
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A date of birth is not in the future and not more than 130 years before `today`.
pub fn check_birth_date(birth: Date, today: Date) -> Result<(), ValidationError> {
    if birth > today {
        return Err(ValidationError::BirthInFuture);
    }
    let oldest = Date::from_calendar_date(today.year() - 130, today.month(), 1)
        .map_err(|_| ValidationError::BirthTooLongAgo)?;
    if birth < oldest {
        return Err(ValidationError::BirthTooLongAgo);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn rnokpp_with_right_check_digit_is_accepted_and_decoded() {
        let number = Rnokpp::parse("1687501230").unwrap();
        assert_eq!(number.encoded_birth_date(), Some(date!(1946 - 03 - 15)));
        assert_eq!(number.encoded_sex(), Some(EncodedSex::Male));
        assert_eq!(
            Rnokpp::parse("1687545620").unwrap().encoded_sex(),
            Some(EncodedSex::Female)
        );
        number.check_birth_date(date!(1946 - 03 - 15)).unwrap();
    }

    #[test]
    fn rnokpp_catches_nearly_every_single_digit_typo() {
        let valid = "1687501230";
        let mut slipped = 0;
        for position in 0..10 {
            for digit in '0'..='9' {
                let mut typo: Vec<char> = valid.chars().collect();
                if typo[position] == digit {
                    continue;
                }
                typo[position] = digit;
                let typo: String = typo.into_iter().collect();
                // mod 11 mod 10 lets a few typos through (remainder 10 reads as 0): those are
                // still accepted by the state's own rule, and must be rare.
                if Rnokpp::parse(&typo).is_ok() {
                    assert_ne!(position, 9, "a changed check digit must be caught: {typo}");
                    slipped += 1;
                }
            }
        }
        // Of 90 single-digit typos, only those whose sum lands on remainder 10 slip through.
        assert!(slipped <= 9, "{slipped} typos slipped through");
    }

    #[test]
    fn rnokpp_wrong_check_digit_length_or_letters_are_refused() {
        assert_eq!(
            Rnokpp::parse("1687501231"),
            Err(ValidationError::BadCheckDigit)
        );
        assert_eq!(
            Rnokpp::parse("168750123"),
            Err(ValidationError::WrongLength { expected: 10 })
        );
        assert_eq!(Rnokpp::parse("16875O1230"), Err(ValidationError::NotDigits));
    }

    #[test]
    fn rnokpp_birth_date_mismatch_is_reported_with_the_encoded_date() {
        let number = Rnokpp::parse("1687501230").unwrap();
        let err = number.check_birth_date(date!(1946 - 03 - 16)).unwrap_err();
        assert_eq!(
            err,
            ValidationError::BirthDateMismatch {
                encoded: date!(1946 - 03 - 15)
            }
        );
        assert!(err.message_uk().contains("15.03.1946"));
    }

    #[test]
    fn edrpou_of_real_institutions_is_accepted() {
        // ПриватБанк, Ощадбанк, НБУ, Укрпошта: both weight sets and the +2 retry.
        for code in [
            "14360570", "00032129", "00032106", "21560766", "43005393", "37573094",
        ] {
            Edrpou::parse(code).unwrap_or_else(|e| panic!("{code}: {e}"));
        }
    }

    #[test]
    fn edrpou_with_a_typo_is_refused() {
        assert_eq!(
            Edrpou::parse("14360571"),
            Err(ValidationError::BadCheckDigit)
        );
        assert_eq!(
            Edrpou::parse("1436057"),
            Err(ValidationError::WrongLength { expected: 8 })
        );
    }

    #[test]
    fn mobile_numbers_are_normalised_from_every_common_spelling() {
        for spelling in [
            "0671234567",
            "380671234567",
            "+380671234567",
            "+38 (067) 123-45-67",
            " 067 123 45 67 ",
        ] {
            assert_eq!(
                MobileNumber::parse(spelling).unwrap().as_str(),
                "+380671234567",
                "{spelling}"
            );
        }
    }

    #[test]
    fn landlines_foreign_and_malformed_numbers_are_refused() {
        assert_eq!(
            MobileNumber::parse("0322971234"),
            Err(ValidationError::UnknownOperatorCode("032".into()))
        );
        assert_eq!(
            MobileNumber::parse("+48601234567"),
            Err(ValidationError::NotUkrainianMobile)
        );
        assert_eq!(
            MobileNumber::parse("067123456"),
            Err(ValidationError::NotUkrainianMobile)
        );
        assert_eq!(
            MobileNumber::parse("067-abc-4567"),
            Err(ValidationError::NotUkrainianMobile)
        );
    }

    #[test]
    fn email_addresses_by_the_practical_rule() {
        for good in [
            "olena@example.com",
            "o.kovalenko+cnap@lviv.gov.ua",
            "пошта@приклад.укр",
        ] {
            Email::parse(good).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for bad in [
            "",
            "olena",
            "olena@",
            "@example.com",
            "olena@example",
            "o..k@example.com",
            "o k@example.com",
            "olena@-x.com",
            "olena@example.c0m",
        ] {
            assert_eq!(Email::parse(bad), Err(ValidationError::BadEmail), "{bad}");
        }
    }

    #[test]
    fn birth_dates_in_the_future_or_over_130_years_ago_are_refused() {
        let today = date!(2026 - 11 - 24);
        check_birth_date(date!(1930 - 01 - 01), today).unwrap();
        assert_eq!(
            check_birth_date(date!(2026 - 11 - 25), today),
            Err(ValidationError::BirthInFuture)
        );
        assert_eq!(
            check_birth_date(date!(1890 - 01 - 01), today),
            Err(ValidationError::BirthTooLongAgo)
        );
    }

    #[test]
    fn personal_values_do_not_print_in_debug() {
        let debug = format!(
            "{:?} {:?} {:?}",
            Rnokpp::parse("1687501230").unwrap(),
            MobileNumber::parse("0671234567").unwrap(),
            Email::parse("olena@example.com").unwrap()
        );
        assert!(
            !debug.contains("1687501230") && !debug.contains("1234567") && !debug.contains("olena")
        );
    }
}
