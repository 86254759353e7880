//! How the applicant wants to be notified and to receive the result (regulation 6.15).

use fieldkit_domain::catalog::ResultChannel;
use slint::ComponentHandle;

use super::no_visit;
use crate::controller::Controller;
use crate::draft::Choices;
use crate::error::Result;
use crate::ui::{AppWindow, ChoicesPage, Screen};

impl Controller {
    pub(super) fn refresh_choices(&mut self, window: &AppWindow) -> Result<()> {
        let Some(draft) = &self.draft else {
            return Ok(());
        };
        let page = window.global::<ChoicesPage>();
        if page.get_contact().is_empty() {
            page.set_contact(draft.applicant.phone.clone().into());
        }
        if page.get_delivery_address().is_empty() {
            page.set_delivery_address(draft.applicant.address.clone().into());
        }
        Ok(())
    }

    pub(super) fn choices_changed(&mut self, window: &AppWindow) -> Result<()> {
        let page = window.global::<ChoicesPage>();
        let choices = Choices {
            notify: u8::try_from(page.get_notify()).unwrap_or(0),
            delivery: u8::try_from(page.get_delivery()).unwrap_or(0),
            contact: page.get_contact().into(),
            delivery_address: page.get_delivery_address().into(),
        };
        let draft = self.draft.as_mut().ok_or_else(no_visit)?;
        draft.choices = choices;
        self.save_draft()
    }

    pub(super) fn choices_next(&mut self, window: &AppWindow) -> Result<()> {
        self.choices_changed(window)?;
        let page = window.global::<ChoicesPage>();
        page.set_error("".into());
        let draft = self.draft.as_ref().ok_or_else(no_visit)?;
        let service = draft
            .service
            .as_deref()
            .and_then(|c| self.service(c))
            .cloned()
            .ok_or_else(no_visit)?;
        let electronic = service.result_channels.contains(&ResultChannel::Electronic);
        if let Err(message) = draft.choices.build(electronic) {
            page.set_error(message.in_lang(self.lang()).into());
            return Ok(());
        }
        self.prepare_inventory(window)?;
        self.show(window, Screen::Sign)
    }
}
