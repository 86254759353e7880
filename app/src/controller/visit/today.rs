//! Today: the planned visits not done yet, and opening a visit (planned or ad hoc).

use slint::{ComponentHandle, ModelRc, VecModel};

use crate::controller::{Controller, OPEN_DRAFT};
use crate::draft::DraftRecord;
use crate::error::{AppError, Result};
use crate::i18n::Lang;
use crate::planned_visit::{PlannedPlace, PlannedVisit, VisitKind};
use crate::ui::{App, AppWindow, Screen, TodayPage, VisitRow};

fn visit_row(visit: &PlannedVisit, lang: Lang, title_of: impl Fn(&str) -> String) -> VisitRow {
    let place = match visit.place {
        PlannedPlace::Hospital => lang.pick("лікарня", "hospital"),
        PlannedPlace::CareFacility => lang.pick("заклад догляду", "care facility"),
        PlannedPlace::Home => lang.pick("вдома", "at home"),
    };
    let (kind, services) = match visit.kind {
        VisitKind::Intake => (0, visit.services.join(", ")),
        // The service by its code and title: the administrator names the result from it.
        VisitKind::Handover => (
            1,
            visit
                .services
                .iter()
                .map(|code| format!("{code} {}", title_of(code)).trim().to_owned())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        VisitKind::Unknown => (2, visit.services.join(", ")),
    };
    VisitRow {
        id: visit.id().into(),
        time: visit.time.clone().into(),
        place: place.into(),
        address: visit.address.clone().into(),
        applicant: visit.applicant.clone().into(),
        services: services.into(),
        kind,
        case_number: visit.case_number.clone().into(),
    }
}

impl Controller {
    pub fn refresh_today(&mut self, window: &AppWindow) -> Result<()> {
        let lang = self.lang();
        let open = PlannedVisit::open_ones(self.vault()?)?;
        let title_of = |code: &str| {
            self.service(code)
                .map(|s| s.title.clone())
                .unwrap_or_default()
        };
        let visits: Vec<VisitRow> = open
            .iter()
            .map(|visit| visit_row(visit, lang, title_of))
            .collect();
        let page = window.global::<TodayPage>();
        page.set_visits(ModelRc::new(VecModel::from(visits)));
        let draft_title = self.draft.as_ref().map(|d| {
            let who = d.applicant.display_name();
            let service = d
                .service
                .as_deref()
                .and_then(|c| self.service(c))
                .map(|s| s.title.clone())
                .unwrap_or_default();
            format!("{who} {service}").trim().to_owned()
        });
        page.set_has_draft(draft_title.is_some());
        page.set_draft_title(draft_title.unwrap_or_default().into());
        self.refresh_sync_indicator(window)
    }

    pub(super) fn new_visit(&mut self, window: &AppWindow, visit_id: Option<String>) -> Result<()> {
        if self.draft.is_some() {
            return Err(AppError::user(
                "Спершу завершіть відкриту справу (кнопка «Продовжити»).",
                "Finish the open case first (the Continue button).",
            ));
        }
        let id = hex::encode(fieldkit_protocol_random()?);
        let mut draft = DraftRecord::new(&format!("case-{id}"));
        let mut planned_services = Vec::new();
        if let Some(visit_id) = &visit_id {
            if let Some(visit) = PlannedVisit::load(self.vault()?, visit_id)? {
                let (surname, given_name, patronymic) = visit.applicant_names();
                draft.applicant.surname = surname;
                draft.applicant.given_name = given_name;
                draft.applicant.patronymic = patronymic;
                draft.applicant.address = visit.address.clone();
                draft.applicant.place = visit.place.screen_index();
                draft.applicant.phone = visit.phone.clone();
                planned_services = visit.services;
            }
            draft.visit_id = Some(visit_id.clone());
        }
        let case_id = draft.case_id.clone();
        self.draft = Some(draft);
        self.save_draft()?;
        self.vault()?
            .transaction(|tx| tx.put_setting(OPEN_DRAFT, case_id.as_bytes()))?;
        window.global::<App>().set_visit_open(true);
        self.fill_visit_screens(window)?;
        if let Some(code) = planned_services.first() {
            self.open_card(window, code)?;
        }
        self.show(window, Screen::Service)
    }
}

fn fieldkit_protocol_random() -> Result<[u8; 8]> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 8];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| {
            AppError::user(
                "Генератор випадкових чисел не працює.",
                "The random generator failed.",
            )
        })?;
    Ok(bytes)
}
