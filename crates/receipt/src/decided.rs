//! What the inventory states of the card's conditions, the fee and the applicant's choices, worded from the domain's
//! decisions, so every producer of an inventory (the tablet, the demo) prints them alike.

use fieldkit_domain::case::{Notification, ResultDelivery};
use fieldkit_domain::catalog::{Fee, Service};
use fieldkit_domain::conditions::{ConditionOutcome, FeePayment};
use fieldkit_domain::conformity::Assessment;

use crate::document::ConditionLine;

/// The card's conditional documents as the inventory prints them: the decided ones (an
/// inventory is made only when none is open).
pub fn condition_lines(assessment: &Assessment, service: &Service) -> Vec<ConditionLine> {
    let label = |id: &str| {
        service
            .form_field(id)
            .map_or_else(|| id.to_owned(), |f| f.label.clone())
    };
    assessment
        .conditions
        .iter()
        .filter_map(|check| match &check.outcome {
            ConditionOutcome::Settled { applies, basis } => Some(ConditionLine {
                document: check.title.clone(),
                condition: check.condition.clone(),
                applies: *applies,
                basis: basis.text_uk(label),
            }),
            ConditionOutcome::Open { .. } => None,
        })
        .collect()
}

/// The fee as the inventory states it («34,00 грн — сплачено»); `None` for a free service.
pub fn fee_line(service: &Service, payment: Option<&FeePayment>) -> Option<String> {
    match (&service.fee, payment) {
        (Fee::Free { .. }, _) => None,
        (fee, Some(payment)) => Some(format!("{} — {}", fee.display_uk(), payment.text_uk())),
        (fee, None) => Some(format!("{} — не зазначено", fee.display_uk())),
    }
}

/// How the applicant is told of the result, as the inventory and the application state it.
pub fn notification_line(notification: &Notification) -> String {
    match notification {
        Notification::Sms { phone } => format!("SMS на {}", phone.0),
        Notification::Email { address } => format!("e-mail на {}", address.0),
        Notification::PhoneCall { phone } => format!("дзвінок на {}", phone.0),
    }
}

/// How the applicant receives the result, as the inventory and the application state it.
pub fn delivery_line(delivery: &ResultDelivery) -> String {
    match delivery {
        ResultDelivery::AtCentre => "у ЦНАП".into(),
        ResultDelivery::Post { address } => format!("поштою: {}", address.0),
        ResultDelivery::MobileAdministrator { address } => {
            format!("мобільним адміністратором: {}", address.0)
        }
        ResultDelivery::Electronic { email } => format!("електронно: {}", email.0),
    }
}
