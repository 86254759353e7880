//! Redaction of personal data from text the vault keeps in clear. An error from a mail server or
//! a printer may quote what it was given ("550 5.1.1 <maria@example.com>: Recipient address
//! rejected"); such text is useful to the administrator, but the columns it goes to are not
//! encrypted, so addresses, phone (and tax) numbers and names are replaced by placeholders
//! before it is stored. The rules over-redact rather than under-redact: a lost word of an error
//! message costs nothing, a leaked address is a breach.

/// What stands in for an e-mail address.
pub const EMAIL_PLACEHOLDER: &str = "<e-mail>";
/// What stands in for a run of nine or more digits (a phone or a tax number).
pub const NUMBER_PLACEHOLDER: &str = "<number>";
/// What stands in for two or more capitalised words in a row (a person's name).
pub const NAME_PLACEHOLDER: &str = "<name>";

/// A phone number has at least nine digits (Ukrainian numbers: 10 national, 12 international);
/// a tax number (РНОКПП) ten. Case numbers' groups, ports and SMTP codes have fewer.
const MIN_NUMBER_DIGITS: usize = 9;

/// `text` with e-mail addresses, long digit runs and names replaced by placeholders.
pub fn redact_personal_data(text: &str) -> String {
    // One line with single spaces, so a name broken over lines or tabs is still seen as one.
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let without_addresses = redact_addresses(&one_line);
    let without_numbers = redact_numbers(&without_addresses);
    redact_names(&without_numbers)
}

/// Characters that may stand in an address around the `@` (RFC 5322's atext, dots, and any
/// letter or digit, since internationalised addresses carry Cyrillic too).
fn is_address_char(c: char) -> bool {
    c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.@".contains(c)
}

fn redact_addresses(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !is_address_char(chars[i]) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && is_address_char(chars[i]) {
            i += 1;
        }
        let run = &chars[start..i];
        let is_address = run
            .iter()
            .position(|&c| c == '@')
            .is_some_and(|at| at > 0 && at + 1 < run.len());
        if is_address {
            out.push_str(EMAIL_PLACEHOLDER);
        } else {
            out.extend(run);
        }
    }
    out
}

/// Separators that may stand between the digit groups of one phone number.
fn is_number_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '(' | ')' | '.' | '+')
}

fn redact_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !(chars[i].is_ascii_digit() || chars[i] == '+') {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // The longest stretch of digits and single separators starting here.
        let start = i;
        let mut end = i;
        let mut digits = 0;
        let mut j = i;
        while j < chars.len() {
            if chars[j].is_ascii_digit() {
                digits += 1;
                j += 1;
                end = j;
            } else if is_number_separator(chars[j])
                && chars
                    .get(j + 1)
                    .is_some_and(|&n| n.is_ascii_digit() || n == '(' || n == ' ')
            {
                j += 1;
            } else {
                break;
            }
        }
        if digits >= MIN_NUMBER_DIGITS {
            out.push_str(NUMBER_PLACEHOLDER);
            i = end;
        } else {
            out.push(chars[start]);
            i = start + 1;
            // Copy the rest of a short number as is, so its tail is not read as a new start.
            while i < end {
                out.push(chars[i]);
                i += 1;
            }
        }
    }
    out
}

/// A word that may be part of a name: it starts with a capital letter and is letters
/// (with the apostrophes and hyphens of Ukrainian and English names) from there on.
fn is_name_word(word: &str) -> bool {
    let trimmed = word.trim_matches(|c: char| {
        matches!(
            c,
            ',' | '.' | ':' | ';' | '!' | '?' | '"' | '«' | '»' | '(' | ')' | '[' | ']' | '<' | '>'
        )
    });
    let mut chars = trimmed.chars();
    chars.next().is_some_and(char::is_uppercase)
        && trimmed.chars().count() > 1
        && chars.all(|c| c.is_alphabetic() || matches!(c, '\'' | '’' | 'ʼ' | '-'))
        && trimmed.chars().skip(1).any(char::is_lowercase)
}

fn redact_names(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let words: Vec<&str> = text.split(' ').collect();
    let mut i = 0;
    let mut first = true;
    while i < words.len() {
        let mut run = i;
        while run < words.len() && is_name_word(words[run]) {
            run += 1;
        }
        if !first {
            out.push(' ');
        }
        first = false;
        if run - i >= 2 {
            // Keep the punctuation that closed the name, so the sentence still reads.
            let opening: String = words[i]
                .chars()
                .take_while(|c| !c.is_alphabetic())
                .collect();
            let closing: String = words[run - 1]
                .chars()
                .rev()
                .take_while(|c| !c.is_alphabetic())
                .collect::<Vec<char>>()
                .into_iter()
                .rev()
                .collect();
            out.push_str(&opening);
            out.push_str(NAME_PLACEHOLDER);
            out.push_str(&closing);
            i = run;
        } else {
            out.push_str(words[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_quoted_by_a_mail_server_is_redacted() {
        assert_eq!(
            redact_personal_data(
                "permanent error (550): 5.1.1 <maria.shevchenko@example.com>: Recipient address rejected"
            ),
            "permanent error (550): 5.1.1 <<e-mail>>: Recipient address rejected"
        );
    }

    #[test]
    fn cyrillic_and_plus_addresses_are_redacted() {
        assert_eq!(
            redact_personal_data("to марія+цнап@приклад.укр failed"),
            "to <e-mail> failed"
        );
    }

    #[test]
    fn phone_and_tax_numbers_are_redacted_in_any_spelling() {
        for phone in [
            "+380671234567",
            "+38 (067) 123-45-67",
            "067 123 45 67",
            "0671234567",
            "3012345678",
        ] {
            assert_eq!(
                redact_personal_data(&format!("SMS to {phone} refused")),
                "SMS to <number> refused",
                "{phone}"
            );
        }
    }

    #[test]
    fn names_are_redacted_in_cyrillic_and_latin() {
        assert_eq!(
            redact_personal_data("mailbox of Шевченко Тарас Григорович is full"),
            "mailbox of <name> is full"
        );
        assert_eq!(
            redact_personal_data("unknown user Taras Shevchenko, sorry"),
            "unknown user <name>, sorry"
        );
        assert_eq!(
            redact_personal_data("відмовлено: О'Коннор-Петренко Марія"),
            "відмовлено: <name>"
        );
        assert_eq!(
            redact_personal_data("gateway refused (Шевченко Тарас Григорович)."),
            "gateway refused (<name>)."
        );
    }

    #[test]
    fn a_name_broken_over_lines_is_still_redacted() {
        assert_eq!(
            redact_personal_data("550 user\nШевченко\n\tТарас unknown"),
            "550 user <name> unknown"
        );
    }

    #[test]
    fn ordinary_error_text_is_kept() {
        for text in [
            "Connection refused (os error 111)",
            "lp: The printer or class does not exist.",
            "no mail server configured",
            "case LV01/T07/2026/000123-5 timed out after 30 s on port 2525",
            "Лист не надіслано: немає зв'язку з поштовим сервером",
        ] {
            assert_eq!(redact_personal_data(text), text);
        }
    }

    #[test]
    fn nothing_of_the_address_survives_in_any_part() {
        let redacted = redact_personal_data(
            "\"Марія Шевченко\" <maria.shevchenko@example.com>, +380 67 123 45 67",
        );
        for part in ["maria", "shevchenko", "example", "Марія", "Шевченко", "123"] {
            assert!(!redacted.contains(part), "{part} in {redacted}");
        }
    }
}
