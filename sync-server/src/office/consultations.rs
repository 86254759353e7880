//! Consultations without a case (regulation 2.36) on the reconciliation page: how many each
//! tablet gave, per day and per service, beside its cases. Counts only: what was asked and
//! answered never leaves the tablet.

use std::collections::BTreeMap;
use std::fmt::Write;

use fieldkit_domain::catalog::Catalog;
use fieldkit_domain::common::ServiceCode;

use super::html::{Lang, esc};
use crate::store::ConsultationTotal;

/// Consultations per device, summed over the days and services shown.
pub fn per_device(totals: &[ConsultationTotal]) -> BTreeMap<&str, u64> {
    let mut sums = BTreeMap::new();
    for total in totals {
        *sums.entry(total.device_id.as_str()).or_default() += total.count;
    }
    sums
}

fn service_title(code: Option<&str>, catalog: Option<&Catalog>, lang: Lang) -> String {
    let Some(code) = code else {
        return lang.t("інше питання", "another question").to_owned();
    };
    match catalog.and_then(|c| c.service(&ServiceCode(code.to_owned()))) {
        Some(service) => format!("{code} {}", service.title),
        None => code.to_owned(),
    }
}

/// The section under the cases: one row per tablet, day and service.
pub fn section(totals: &[ConsultationTotal], catalog: Option<&Catalog>, lang: Lang) -> String {
    let sum: u64 = totals.iter().map(|t| t.count).sum();
    let mut body = format!(
        "<h2>{} ({sum})</h2>",
        lang.t(
            "Консультації без звернення (п. 2.36)",
            "Consultations without an application (2.36)"
        )
    );
    if totals.is_empty() {
        return body;
    }
    let _ = write!(
        body,
        "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        lang.t("Планшет", "Tablet"),
        lang.t("День", "Day"),
        lang.t("Послуга", "Service"),
        lang.t("Консультацій", "Consultations"),
    );
    for total in totals {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&total.device_id),
            esc(&total.day),
            esc(&service_title(total.service_code.as_deref(), catalog, lang)),
            total.count,
        );
    }
    body.push_str("</table>");
    body
}
