//! The fee and the offices' contacts as the tablet shows and prints them: the payment details
//! on the service card, the payment the inventory asks for, and the centre's and the provider's
//! contacts and hours (regulation 2.20, 9.4).

use fieldkit_domain::catalog::{Fee, Office, Service};
use fieldkit_domain::common::Labelled;
use fieldkit_domain::conditions::FeePayment;
use fieldkit_domain::payment::PaymentOrder;

use crate::i18n::Lang;

/// The payment the inventory asks the applicant to make, with the case number as the reference
/// that matches it to the case: a paid service whose card has payment details, when the fee is
/// still to pay (not paid, not exempt).
pub(super) fn fee_to_pay(
    service: &Service,
    payment: Option<&FeePayment>,
    case_number: &str,
) -> Option<PaymentOrder> {
    if !FeePayment::still_to_pay(payment) {
        return None;
    }
    match &service.fee {
        Fee::Paid {
            amount_kopecks: Some(amount),
            details: Some(details),
            ..
        } => Some(PaymentOrder {
            details: details.clone(),
            amount_kopecks: *amount,
            reference: Some(case_number.to_owned()),
        }),
        _ => None,
    }
}

/// The payment details as the service card lists them (the domain's labels), then how to pay
/// in the card's words; empty for a free service.
pub(super) fn payment_lines(fee: &Fee, lang: Lang) -> Vec<String> {
    let Fee::Paid {
        details, payment, ..
    } = fee
    else {
        return Vec::new();
    };
    let mut lines: Vec<String> = details
        .iter()
        .flat_map(|d| d.fields())
        .map(|f| labelled(&f, lang))
        .collect();
    if !payment.trim().is_empty() {
        lines.push(payment.clone());
    }
    lines
}

fn labelled(field: &Labelled, lang: Lang) -> String {
    format!(
        "{}: {}",
        lang.pick(field.label.0, field.label.1),
        field.value
    )
}

/// An office's name, then its address, phone, e-mail, website and hours, each only where the
/// catalog has it (the domain's labels).
pub(super) fn contact_lines(office: &Office, lang: Lang) -> Vec<String> {
    let (uk, en) = office.names();
    std::iter::once(lang.pick(uk, en).to_owned())
        .chain(office.contacts().into_iter().map(|(kind, value)| {
            let (label_uk, label_en) = kind.label();
            format!("{}: {value}", lang.pick(label_uk, label_en))
        }))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn office() -> Office {
        Office {
            name: "ЦНАП".into(),
            name_en: Some("Centre".into()),
            address: "м. Львів".into(),
            hours: Some("Пн–Пт 9–18".into()),
            phone: None,
            email: Some(" ".into()),
            website: None,
        }
    }

    #[test]
    fn contacts_list_only_what_the_catalog_has() {
        assert_eq!(
            contact_lines(&office(), Lang::Uk),
            vec!["ЦНАП", "Адреса: м. Львів", "Графік роботи: Пн–Пт 9–18"]
        );
        assert_eq!(contact_lines(&office(), Lang::En)[0], "Centre");
    }

    #[test]
    fn a_free_service_has_no_payment_lines() {
        assert!(payment_lines(&Fee::Free { legal_basis: None }, Lang::Uk).is_empty());
    }
}
