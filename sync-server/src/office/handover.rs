//! Planning a hand-over visit (видача результату, regulation 8.3–8.4): a case whose result can
//! be handed over, by the workflow's own predicate, is planned as a visit of that kind for an
//! active tablet of the centre, on a date. The visit travels in that tablet's visits feed like
//! any planned visit (sealed at rest, `crate::sealed_visits`), names the case and its service,
//! and from then on the tablet follows the case in its status feed, so it may be another
//! tablet than the one that sealed the case. Refused with a sentence for a case not ready.

use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use fieldkit_domain::case::{Applicant, Case, VisitPlaceKind};
use fieldkit_domain::workflow::StateName;
use serde::Deserialize;

use super::auth::Role;
use super::db::{OfficeDb, audit};
use super::html::{Lang, url};
use super::register;
use super::web::{OfficeError, Shared, SignedIn};
use crate::ServerError;
use crate::personal_data::PersonalDataKey;
use crate::store::{DeviceState, MetadataStore};

/// The planned visit's `kind` on the wire (`docs/visits.md`).
pub const HANDOVER_KIND: &str = "handover";

/// Whom the administrator visits, as the case says (opened only to plan the visit).
#[derive(Clone, PartialEq, Eq)]
pub struct Whom {
    /// Surname, given name and patronymic (or a legal entity's name).
    pub applicant: String,
    pub address: String,
    /// `home`, `hospital` or `care_facility`.
    pub place: &'static str,
}

impl Whom {
    /// From the case record: the applicant and the place the case was taken at.
    pub fn of(case: &Case) -> Self {
        let applicant = match &case.applicant {
            Applicant::NaturalPerson(person) => {
                let name = &person.name;
                [
                    name.surname.as_str(),
                    name.given_name.as_str(),
                    name.patronymic.as_deref().unwrap_or_default(),
                ]
                .iter()
                .filter(|part| !part.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" ")
            }
            Applicant::LegalEntity(entity) => entity.name.clone(),
        };
        let place = match case.visit_place.kind {
            VisitPlaceKind::Hospital => "hospital",
            VisitPlaceKind::CareFacility => "care_facility",
            VisitPlaceKind::Home | VisitPlaceKind::Other(_) => "home",
        };
        Self {
            applicant,
            address: case.visit_place.address.0.clone(),
            place,
        }
    }
}

/// A hand-over visit to plan.
pub struct HandoverVisit<'a> {
    pub case_number: &'a str,
    pub device_id: &'a str,
    /// `YYYY-MM-DD`.
    pub date: &'a str,
    /// `HH:MM`, or empty: any time that day.
    pub time: &'a str,
    /// The applicant and the address, when the case could be opened.
    pub whom: Option<Whom>,
}

/// Why a hand-over visit was not planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanRefused {
    UnknownCase,
    /// The workflow does not let this case's result be handed over (now).
    NotReady(StateName),
    UnknownDevice,
    DeviceRevoked,
    BadDate,
}

impl PlanRefused {
    /// The refusal as staff read it.
    pub fn sentence(&self, lang: Lang) -> String {
        match self {
            Self::UnknownCase => lang
                .t(
                    "Справи з таким номером немає.",
                    "There is no case with that number.",
                )
                .to_owned(),
            Self::NotReady(state) => {
                let (uk, en) = state.words();
                match lang {
                    Lang::Uk => format!(
                        "Видачу можна запланувати лише для справи, результат якої готовий до видачі; ця справа в стані «{uk}». Нічого не заплановано."
                    ),
                    Lang::En => format!(
                        "A hand-over can be planned only for a case whose result is ready to hand over; this case is \"{en}\". Nothing was planned."
                    ),
                }
            }
            Self::UnknownDevice => lang
                .t("Такого планшета немає.", "There is no such tablet.")
                .to_owned(),
            Self::DeviceRevoked => lang
                .t("Цей планшет відкликано.", "This tablet is revoked.")
                .to_owned(),
            Self::BadDate => lang
                .t(
                    "Вкажіть дату (і, за бажанням, час ГГ:ХХ).",
                    "Give the date (and, if you like, the time HH:MM).",
                )
                .to_owned(),
        }
    }
}

/// What planning writes to.
pub struct Planning<'a> {
    pub db: &'a OfficeDb,
    pub meta: &'a dyn MetadataStore,
    pub personal: &'a PersonalDataKey,
}

fn time_is_valid(time: &str) -> bool {
    time.is_empty()
        || time::Time::parse(time, time::macros::format_description!("[hour]:[minute]")).is_ok()
}

/// Plan `visit`; returns the planned visit's id. Audited as `case.handover_planned` under
/// `actor`.
pub fn plan(
    planning: &Planning<'_>,
    visit: &HandoverVisit<'_>,
    actor: &str,
    now: i64,
) -> Result<Result<i64, PlanRefused>, ServerError> {
    if register::parse_date(visit.date).is_none() || !time_is_valid(visit.time) {
        return Ok(Err(PlanRefused::BadDate));
    }
    let Some(row) = register::get(planning.db, visit.case_number)? else {
        return Ok(Err(PlanRefused::UnknownCase));
    };
    if !row
        .state
        .known()
        .is_some_and(|state| state.result_can_be_handed_over())
    {
        return Ok(Err(PlanRefused::NotReady(row.state)));
    }
    match planning.meta.device(visit.device_id) {
        Ok(device) if device.state == DeviceState::Active => {}
        Ok(_) => return Ok(Err(PlanRefused::DeviceRevoked)),
        Err(ServerError::UnknownDevice(_)) => return Ok(Err(PlanRefused::UnknownDevice)),
        Err(other) => return Err(other),
    }
    let time = if visit.time.is_empty() {
        visit.date.to_owned()
    } else {
        format!("{} {}", visit.date, visit.time)
    };
    let mut details = serde_json::json!({
        "kind": HANDOVER_KIND,
        "case_number": row.case_number,
        "time": time,
        "services": [row.service_code],
    });
    if let Some(whom) = &visit.whom {
        details["applicant"] = whom.applicant.clone().into();
        details["address"] = whom.address.clone().into();
        details["place"] = whom.place.into();
    }
    // Sealed at rest: a visit names a person.
    let reference = crate::visit_requests::new_id()?;
    let sealed =
        crate::sealed_visits::seal(planning.personal, visit.device_id, &reference, &details)?;
    let visit_id =
        planning
            .meta
            .plan_handover_visit(visit.device_id, &row.case_number, &sealed, now)?;
    planning.db.transaction(|tx| {
        audit(
            tx,
            actor,
            "case.handover_planned",
            &row.case_number,
            &format!(
                "device={} visit={visit_id} date={}",
                visit.device_id, visit.date
            ),
            now,
        )
    })?;
    Ok(Ok(visit_id))
}

#[derive(Deserialize)]
pub struct HandoverForm {
    #[serde(default)]
    csrf: String,
    /// The case number.
    n: String,
    device: String,
    date: String,
    #[serde(default)]
    time: String,
}

/// «Запланувати видачу результату» on a case's page.
pub async fn plan_page(
    State(state): Shared,
    user: SignedIn,
    Form(form): Form<HandoverForm>,
) -> Result<Response, OfficeError> {
    user.require(&[Role::Operator])?;
    user.check_csrf(&form.csrf)?;
    let lang = user.lang;
    // The applicant and the address for the administrator, if the case opens; planning does
    // not depend on it.
    let whom = register::get(&state.db, &form.n)?.and_then(|row| {
        crate::opened::open_stored(
            state.meta.as_ref(),
            state.blobs.as_ref(),
            &state.sealing_keys,
            &row.envelope_id,
        )
        .ok()
        .map(|opened| Whom::of(&opened.case))
    });
    let visit = HandoverVisit {
        case_number: &form.n,
        device_id: &form.device,
        date: form.date.trim(),
        time: form.time.trim(),
        whom,
    };
    let planning = Planning {
        db: &state.db,
        meta: state.meta.as_ref(),
        personal: &state.personal,
    };
    plan(&planning, &visit, &user.staff.username, state.now())?
        .map_err(|refused| OfficeError::BadInput(lang, refused.sentence(lang)))?;
    Ok(Redirect::to(&format!("/office/case?n={}", url(&form.n))).into_response())
}

/// The case page's «Видача результату»: the hand-over visits planned for the case, and, for an
/// operator and a case whose result can be handed over, the form that plans one.
pub fn section(
    row: &register::CaseRow,
    plans: &[crate::store::HandoverPlan],
    devices: &[crate::store::DeviceOverview],
    csrf: Option<&str>,
    lang: Lang,
) -> String {
    use std::fmt::Write;

    use super::html::{csrf_field, esc, when};

    let ready = row
        .state
        .known()
        .is_some_and(|state| state.result_can_be_handed_over());
    if plans.is_empty() && !ready {
        return String::new();
    }
    let mut body = format!(
        "<h2>{}</h2>",
        lang.t("Видача результату", "Handing over the result")
    );
    if !plans.is_empty() {
        body.push_str("<ul>");
        for plan in plans {
            let _ = write!(
                body,
                "<li>{} {} · {} {}</li>",
                lang.t(
                    "Виїзд для видачі заплановано для планшета",
                    "Hand-over visit planned for tablet"
                ),
                esc(&plan.device_id),
                lang.t("записано", "recorded"),
                esc(&when(plan.planned_at)),
            );
        }
        body.push_str("</ul>");
    }
    if let (true, Some(csrf)) = (ready, csrf) {
        let mut options = String::new();
        for device in devices.iter().filter(|d| !d.revoked) {
            let _ = write!(options, "<option>{}</option>", esc(&device.device_id));
        }
        let _ = write!(
            body,
            "<form method=\"post\" action=\"/office/case/handover\">{}<input type=\"hidden\" name=\"n\" value=\"{}\">\
             <p><label>{}<br><select name=\"device\" required>{options}</select></label></p>\
             <p><label>{}<br><input type=\"date\" name=\"date\" required></label> <label>{}<br><input type=\"time\" name=\"time\"></label></p>\
             <p><button class=\"primary\">{}</button></p></form>",
            csrf_field(csrf),
            esc(&row.case_number),
            lang.t(
                "Планшет (будь-який активний планшет центру)",
                "Tablet (any active tablet of the centre)"
            ),
            lang.t("Дата", "Date"),
            lang.t("Час (необов’язково)", "Time (optional)"),
            lang.t("Запланувати видачу результату", "Plan the hand-over"),
        );
    }
    body
}

#[cfg(test)]
mod tests {
    use fieldkit_domain::workflow::CaseState;

    use super::*;
    use crate::store::{DeviceOverview, HandoverPlan};

    fn row(state: CaseState) -> register::CaseRow {
        register::CaseRow {
            case_number: "LV01/T07/2026/000001-5".into(),
            envelope_id: "env-1".into(),
            device_id: "T07".into(),
            state: state.into(),
            service_code: "00001".into(),
            administrator: "Коваленко".into(),
            centre: "LV01".into(),
            registered_on: "2026-11-27".into(),
            deadline: None,
            received_at: 0,
            note: None,
            duplicate_of: None,
            central_number: None,
        }
    }

    fn device(device_id: &str, revoked: bool) -> DeviceOverview {
        DeviceOverview {
            device_id: device_id.into(),
            revoked,
            enrolled_at: 0,
            last_report_at: None,
            cases_sealed: 0,
            envelopes_waiting: 0,
            last_case_number: None,
            unsynced: 0,
            received: 0,
            pending_commands: 0,
        }
    }

    #[test]
    fn the_form_is_offered_to_an_operator_for_a_ready_result_only() {
        let devices = [
            device("T07", false),
            device("T08", false),
            device("T09", true),
        ];
        let ready = section(
            &row(CaseState::ResultReady),
            &[],
            &devices,
            Some("tok"),
            Lang::Uk,
        );
        assert!(
            ready.contains("action=\"/office/case/handover\""),
            "{ready}"
        );
        assert!(ready.contains("Запланувати видачу результату"));
        assert!(ready.contains("<option>T08</option>"));
        // A revoked tablet is not offered.
        assert!(!ready.contains("T09"));
        for state in [CaseState::Issued, CaseState::Refused] {
            assert!(section(&row(state), &[], &devices, Some("tok"), Lang::Uk).contains("<form"));
        }
        // Not ready, or delivered: no form; a reader (no CSRF token) gets no form either.
        for state in [
            CaseState::Accepted,
            CaseState::ResultDelivered,
            CaseState::Withdrawn,
        ] {
            assert_eq!(
                section(&row(state), &[], &devices, Some("tok"), Lang::Uk),
                ""
            );
        }
        let reader = section(&row(CaseState::ResultReady), &[], &devices, None, Lang::En);
        assert!(!reader.contains("<form"), "{reader}");
        // What was planned stays listed after the hand-over.
        let plans = [HandoverPlan {
            visit_id: 3,
            device_id: "T08".into(),
            case_number: "LV01/T07/2026/000001-5".into(),
            planned_at: 0,
        }];
        let done = section(
            &row(CaseState::ResultDelivered),
            &plans,
            &devices,
            Some("tok"),
            Lang::Uk,
        );
        assert!(done.contains("для планшета T08"), "{done}");
        assert!(!done.contains("<form"));
    }

    #[test]
    fn a_case_not_ready_is_refused_in_the_workflows_words() {
        let refused = PlanRefused::NotReady(CaseState::ForwardedToProvider.into());
        assert_eq!(
            refused.sentence(Lang::Uk),
            "Видачу можна запланувати лише для справи, результат якої готовий до видачі; ця справа в стані «Передано суб’єкту надання». Нічого не заплановано."
        );
        assert!(
            refused
                .sentence(Lang::En)
                .contains("\"Forwarded to the provider\"")
        );
        assert!(time_is_valid("") && time_is_valid("09:05") && !time_is_valid("9"));
    }
}
