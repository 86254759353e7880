//! The visit's screens, one module each: Today's planned visits (`today`), choosing the
//! service and reading its card (`service`), the applicant (`applicant`), the application form
//! with the conformity conclusion (`form`), and the notification and delivery choices
//! (`choices`). This module binds the screens' callbacks and puts an open draft on all of them.

mod applicant;
mod choices;
mod clear;
mod form;
mod service;
mod today;

use std::cell::RefCell;
use std::rc::Rc;

use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use super::{Controller, OPEN_DRAFT, act};
use crate::error::{AppError, Result};
use crate::i18n::Lang;
use crate::ui::{
    App, AppWindow, ApplicantPage, ChoicesPage, FormPage, Screen, ServicePage, TodayPage,
};
use applicant::show_applicant;
pub use clear::clear_screens;

fn strings(items: impl IntoIterator<Item = String>) -> ModelRc<SharedString> {
    ModelRc::new(VecModel::from(
        items
            .into_iter()
            .map(SharedString::from)
            .collect::<Vec<_>>(),
    ))
}

pub fn attach(window: &AppWindow, controller: &Rc<RefCell<Controller>>) {
    let today = window.global::<TodayPage>();
    {
        let (c, w) = (controller.clone(), window.as_weak());
        today.on_new_visit(move || act(&c, &w, |ctl, win| ctl.new_visit(win, None)));
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        today.on_start_visit(move |id| {
            act(&c, &w, |ctl, win| ctl.new_visit(win, Some(id.to_string())))
        });
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        today.on_start_handover(move |id| act(&c, &w, |ctl, win| ctl.start_handover(win, &id)));
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        today.on_resume_draft(move || {
            act(&c, &w, |ctl, win| {
                let screen = crate::controller::screen_by_name(
                    &ctl.draft
                        .as_ref()
                        .map(|d| d.screen.clone())
                        .unwrap_or_default(),
                );
                ctl.show(win, screen)
            })
        });
    }
    let service = window.global::<ServicePage>();
    {
        let (c, w) = (controller.clone(), window.as_weak());
        service.on_set_browse(move |mode| act(&c, &w, |ctl, win| ctl.browse(win, mode)));
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        service.on_open_group(move |id| act(&c, &w, |ctl, win| ctl.open_group(win, &id)));
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        service.on_search(move |query| act(&c, &w, |ctl, win| ctl.search(win, &query)));
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        service.on_open_card(move |code| act(&c, &w, |ctl, win| ctl.open_card(win, &code)));
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        service.on_choose(move || act(&c, &w, |ctl, win| ctl.choose_service(win)));
    }
    let applicant = window.global::<ApplicantPage>();
    {
        let (c, w) = (controller.clone(), window.as_weak());
        applicant.on_changed(move || act(&c, &w, |ctl, win| ctl.applicant_changed(win)));
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        applicant.on_next(move || act(&c, &w, |ctl, win| ctl.applicant_next(win)));
    }
    let form = window.global::<FormPage>();
    {
        let (c, w) = (controller.clone(), window.as_weak());
        form.on_field_edited(move |id, value| {
            act(&c, &w, |ctl, win| ctl.form_field(win, &id, &value))
        });
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        form.on_set_override(move |on, conforms| {
            act(&c, &w, |ctl, win| ctl.set_override(win, on, conforms))
        });
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        form.on_next(move || act(&c, &w, |ctl, win| ctl.form_next(win)));
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        form.on_back(move || act(&c, &w, |ctl, win| ctl.show(win, Screen::Documents)));
    }
    let choices = window.global::<ChoicesPage>();
    {
        let (c, w) = (controller.clone(), window.as_weak());
        choices.on_changed(move || act(&c, &w, |ctl, win| ctl.choices_changed(win)));
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        choices.on_next(move || act(&c, &w, |ctl, win| ctl.choices_next(win)));
    }
}

impl Controller {
    /// Put the open draft onto every visit screen (after unlock, or a new visit).
    pub fn fill_visit_screens(&mut self, window: &AppWindow) -> Result<()> {
        let Some(draft) = self.draft.clone() else {
            return Ok(());
        };
        self.browse(window, window.global::<ServicePage>().get_browse())?;
        if let Some(code) = &draft.service {
            self.open_card(window, code)?;
        }
        show_applicant(window, &draft.applicant);
        let choices = window.global::<ChoicesPage>();
        choices.set_notify(i32::from(draft.choices.notify));
        choices.set_delivery(i32::from(draft.choices.delivery));
        choices.set_contact(draft.choices.contact.clone().into());
        choices.set_delivery_address(draft.choices.delivery_address.clone().into());
        self.refresh_documents(window)?;
        self.refresh_form(window)?;
        self.refresh_sign(window)?;
        Ok(())
    }

    /// The case is sealed or abandoned: forget it on every screen.
    pub fn close_visit(&mut self, window: &AppWindow) -> Result<()> {
        if let Some(draft) = self.draft.take() {
            let vault = self.vault()?;
            vault.transaction(|tx| {
                tx.put_setting(OPEN_DRAFT, b"")?;
                if let Some(visit) = &draft.visit_id {
                    tx.put_setting(&crate::planned_visit::done_setting(visit), b"1")?;
                }
                Ok(())
            })?;
        }
        clear_screens(window);
        window.global::<App>().set_visit_open(false);
        Ok(())
    }
}

fn title(lang: Lang, uk: &str, en: Option<&str>) -> String {
    match (lang, en) {
        (Lang::En, Some(en)) => en.to_owned(),
        _ => uk.to_owned(),
    }
}

fn no_visit() -> AppError {
    AppError::user("Немає відкритої справи.", "No case is open.")
}
