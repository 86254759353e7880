//! The consultation screen (regulation 2.36): the visit ended with advice only. Opened from
//! Today (ad hoc, or for a planned visit) or from the Service screen of a visit just begun;
//! saving keeps the consultation encrypted in the vault, marks the planned visit done, drops
//! the visit begun for it (no application, so nothing of the person is kept) and returns to
//! Today. The name a planned visit carries is never read here.

use std::cell::RefCell;
use std::rc::Rc;

use fieldkit_domain::common::ServiceCode;
use fieldkit_domain::consultation::{Consultation, ConsultationError, ConsultationPlace};
use slint::{ComponentHandle, ModelRc, VecModel};
use time::PrimitiveDateTime;

use super::{Controller, OPEN_DRAFT, act};
use crate::error::Result;
use crate::i18n::{Lang, Message};
use crate::planned_visit::PlannedVisit;
use crate::ui::{App, AppWindow, ConsultationPage, Screen, ServicePage, ServiceRow, TodayPage};

/// Where the consultation being entered came from: what saving it closes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ConsultationOrigin {
    /// The planned visit it is given on (marked done when saved).
    pub visit_id: Option<String>,
    /// The open draft was begun for it on the Service screen (dropped when saved).
    pub draft_case_id: Option<String>,
}

pub fn attach(window: &AppWindow, controller: &Rc<RefCell<Controller>>) {
    let today = window.global::<TodayPage>();
    {
        let (c, w) = (controller.clone(), window.as_weak());
        today.on_consultation(move || {
            act(&c, &w, |ctl, win| {
                ctl.open_consultation(win, ConsultationOrigin::default(), 0, None)
            })
        });
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        today.on_consultation_for_visit(move |id| {
            act(&c, &w, |ctl, win| ctl.consultation_for_visit(win, &id))
        });
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        window
            .global::<ServicePage>()
            .on_consultation_only(move || act(&c, &w, |ctl, win| ctl.consultation_in_visit(win)));
    }
    let page = window.global::<ConsultationPage>();
    {
        let w = window.as_weak();
        page.on_set_place(move |place| {
            if let Some(win) = w.upgrade() {
                win.global::<ConsultationPage>()
                    .set_place(place.clamp(0, 2));
            }
        });
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_choose_service(move |code| {
            act(&c, &w, |ctl, win| {
                ctl.choose_consultation_service(win, &code);
                Ok(())
            })
        });
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_save(move || act(&c, &w, |ctl, win| ctl.save_consultation(win)));
    }
}

fn place_kind(place: i32) -> ConsultationPlace {
    match place {
        1 => ConsultationPlace::Hospital,
        2 => ConsultationPlace::CareFacility,
        _ => ConsultationPlace::Home,
    }
}

fn error_text(
    errors: &[ConsultationError],
    lang: Lang,
    wanted: fn(&ConsultationError) -> bool,
) -> String {
    errors
        .iter()
        .find(|e| wanted(e))
        .map(|e| {
            Message::new(e.message_uk(), e.to_string())
                .in_lang(lang)
                .to_owned()
        })
        .unwrap_or_default()
}

/// Nothing of a consultation stays on screen once it is saved or the tablet locks.
pub fn clear_screen(window: &AppWindow) {
    let page = window.global::<ConsultationPage>();
    for setter in [
        ConsultationPage::set_visit,
        ConsultationPage::set_service,
        ConsultationPage::set_service_title,
        ConsultationPage::set_question,
        ConsultationPage::set_answer,
        ConsultationPage::set_error_question,
        ConsultationPage::set_error_answer,
    ] {
        setter(&page, "".into());
    }
    page.set_place(0);
}

impl Controller {
    /// A planned visit from Today: its place and first service, its time as the label.
    fn consultation_for_visit(&mut self, window: &AppWindow, visit_id: &str) -> Result<()> {
        let visit = PlannedVisit::load(self.vault()?, visit_id)?.unwrap_or_default();
        let service = visit.first_service().map(str::to_owned);
        let origin = ConsultationOrigin {
            visit_id: Some(visit_id.to_owned()),
            draft_case_id: None,
        };
        let place = i32::from(visit.place.screen_index());
        self.open_consultation(window, origin, place, service)
    }

    /// The visit just begun on the Service screen turned out to need advice only.
    fn consultation_in_visit(&mut self, window: &AppWindow) -> Result<()> {
        let Some(draft) = self.draft.as_ref() else {
            return self.open_consultation(window, ConsultationOrigin::default(), 0, None);
        };
        let service_page = window.global::<ServicePage>();
        let service = if service_page.get_card_open() {
            Some(service_page.get_code().to_string())
        } else {
            draft.service.clone()
        };
        let origin = ConsultationOrigin {
            visit_id: draft.visit_id.clone(),
            draft_case_id: Some(draft.case_id.clone()),
        };
        let place = i32::from(draft.applicant.place);
        self.open_consultation(window, origin, place, service)
    }

    fn open_consultation(
        &mut self,
        window: &AppWindow,
        origin: ConsultationOrigin,
        place: i32,
        service: Option<String>,
    ) -> Result<()> {
        self.vault()?;
        clear_screen(window);
        let lang = self.lang();
        let page = window.global::<ConsultationPage>();
        let visit_label = match &origin.visit_id {
            Some(id) => PlannedVisit::load(self.vault()?, id)?
                .map(|visit| visit.time)
                .unwrap_or_default(),
            None => String::new(),
        };
        page.set_visit(visit_label.into());
        page.set_place(place.clamp(0, 2));
        let rows: Vec<ServiceRow> = self
            .catalog
            .services
            .iter()
            .map(|s| ServiceRow {
                code: s.code.0.clone().into(),
                // The title alone: with the code in front, long titles need a third line.
                title: service_title(lang, &s.title, s.title_en.as_deref()).into(),
                provider: "".into(),
            })
            .collect();
        page.set_services(ModelRc::new(VecModel::from(rows)));
        self.consultation = origin;
        self.choose_consultation_service(window, service.as_deref().unwrap_or(""));
        self.show(window, Screen::Consultation)
    }

    /// «» is «інше питання»; a code the catalog does not know is taken as that too.
    fn choose_consultation_service(&mut self, window: &AppWindow, code: &str) {
        let lang = self.lang();
        let page = window.global::<ConsultationPage>();
        match self.service(code) {
            Some(service) => {
                page.set_service(code.into());
                page.set_service_title(
                    service_title(lang, &service.title, service.title_en.as_deref()).into(),
                );
            }
            None => {
                page.set_service("".into());
                page.set_service_title(lang.pick("інше питання", "another question").into());
            }
        }
    }

    fn save_consultation(&mut self, window: &AppWindow) -> Result<()> {
        let lang = self.lang();
        let page = window.global::<ConsultationPage>();
        let now = self.now();
        let service = page.get_service().to_string();
        let origin = self.consultation.clone();
        let checked = Consultation::new(
            PrimitiveDateTime::new(now.date(), now.time()),
            place_kind(page.get_place()),
            (!service.is_empty()).then_some(ServiceCode(service)),
            &page.get_question(),
            &page.get_answer(),
            origin.visit_id.is_some(),
        );
        let consultation = match checked {
            Ok(consultation) => consultation,
            Err(errors) => {
                page.set_error_question(
                    error_text(&errors, lang, |e| {
                        matches!(
                            e,
                            ConsultationError::QuestionEmpty
                                | ConsultationError::QuestionTooLong { .. }
                        )
                    })
                    .into(),
                );
                page.set_error_answer(
                    error_text(&errors, lang, |e| {
                        matches!(
                            e,
                            ConsultationError::AnswerEmpty
                                | ConsultationError::AnswerTooLong { .. }
                        )
                    })
                    .into(),
                );
                return Ok(());
            }
        };
        // The visit begun for it goes only if it is still the open one.
        let dropped_draft = origin
            .draft_case_id
            .clone()
            .filter(|id| self.draft.as_ref().is_some_and(|d| &d.case_id == id));
        self.vault()?.transaction(|tx| {
            crate::consultations::save(tx, &consultation)?;
            if let Some(visit) = &origin.visit_id {
                tx.put_setting(&crate::planned_visit::done_setting(visit), b"1")?;
            }
            if let Some(case_id) = &dropped_draft {
                tx.delete_draft(case_id)?;
                tx.put_setting(OPEN_DRAFT, b"")?;
            }
            Ok(())
        })?;
        if dropped_draft.is_some() {
            self.draft = None;
            super::visit::clear_screens(window);
            window.global::<App>().set_visit_open(false);
        }
        self.consultation = ConsultationOrigin::default();
        clear_screen(window);
        self.show(window, Screen::Today)?;
        self.notify(
            window,
            &Message::new(
                "Консультацію збережено. До центру піде лише кількість, без тексту.",
                "Consultation saved. Only the count goes to the centre, not the text.",
            ),
            false,
        );
        self.sync_now();
        Ok(())
    }
}

fn service_title(lang: Lang, uk: &str, en: Option<&str>) -> String {
    match (lang, en) {
        (Lang::En, Some(en)) => en.to_owned(),
        _ => uk.to_owned(),
    }
}
