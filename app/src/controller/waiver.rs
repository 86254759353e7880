//! When the applicant cannot sign: the administrator records why and who signs instead on the
//! Sign screen, before handing the tablet over. The domain decides what is enough
//! (`SignatureWaiver::new`); this module only carries the form to the draft and back.

use std::cell::RefCell;
use std::rc::Rc;

use fieldkit_domain::case::{SignatureWaiver, WaiverGround};
use slint::ComponentHandle;

use super::{Controller, act};
use crate::draft::{WaiverForm, waiver_message};
use crate::error::Result;
use crate::i18n::Message;
use crate::ui::{AppWindow, SignPage};

pub fn attach(window: &AppWindow, controller: &Rc<RefCell<Controller>>) {
    let page = window.global::<SignPage>();
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_open_waiver(move || {
            act(&c, &w, |ctl, win| {
                ctl.refresh_waiver(win);
                win.global::<SignPage>().set_waiver_open(true);
                Ok(())
            })
        });
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_waiver_changed(move || act(&c, &w, |ctl, win| ctl.waiver_changed(win)));
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_record_waiver(move || act(&c, &w, |ctl, win| ctl.record_waiver(win)));
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_cancel_waiver(move || act(&c, &w, |ctl, win| ctl.cancel_waiver(win)));
    }
}

pub fn clear_screen(window: &AppWindow) {
    let page = window.global::<SignPage>();
    page.set_waiver_open(false);
    page.set_waiver_recorded(false);
    page.set_waiver_ground(-1);
    page.set_waiver_note("".into());
    page.set_waiver_by_representative(false);
    page.set_waiver_name("".into());
    page.set_waiver_document("".into());
    page.set_waiver_summary("".into());
}

fn ground_index(ground: Option<WaiverGround>) -> i32 {
    ground
        .and_then(|g| WaiverGround::ALL.iter().position(|a| *a == g))
        .map_or(-1, |i| i as i32)
}

/// What the form holds now (not yet recorded).
fn read_form(window: &AppWindow) -> WaiverForm {
    let page = window.global::<SignPage>();
    WaiverForm {
        recorded: false,
        ground: usize::try_from(page.get_waiver_ground())
            .ok()
            .and_then(|i| WaiverGround::ALL.get(i).copied()),
        note: page.get_waiver_note().to_string(),
        by_representative: page.get_waiver_by_representative(),
        signer_name: page.get_waiver_name().to_string(),
        signer_document: page.get_waiver_document().to_string(),
    }
}

fn summary(waiver: &SignatureWaiver) -> Message {
    let (uk, en) = match waiver.signed_instead_by {
        fieldkit_domain::case::SignerRole::Representative => ("представник", "the representative"),
        _ => ("свідок", "a witness"),
    };
    Message::new(
        format!(
            "Заявник не може підписати: {}. Підписує {uk} {}.",
            waiver.reason_uk(),
            waiver.signer_name
        ),
        format!(
            "The applicant cannot sign: {}. Signing instead: {en}, {}.",
            waiver.ground.title_en(),
            waiver.signer_name
        ),
    )
}

impl Controller {
    /// Show the draft's waiver on the Sign screen.
    pub fn refresh_waiver(&self, window: &AppWindow) {
        let Some(draft) = &self.draft else {
            return;
        };
        let form = &draft.waiver;
        let page = window.global::<SignPage>();
        page.set_has_representative(draft.applicant.has_representative);
        page.set_waiver_recorded(form.recorded);
        page.set_waiver_ground(ground_index(form.ground));
        page.set_waiver_note(form.note.as_str().into());
        page.set_waiver_by_representative(form.by_representative);
        page.set_waiver_name(form.signer_name.as_str().into());
        page.set_waiver_document(form.signer_document.as_str().into());
        let recorded = form.recorded.then(|| {
            SignatureWaiver::new(
                form.ground,
                &form.note,
                form.substitute(),
                draft.applicant.has_representative,
            )
        });
        page.set_waiver_summary(match recorded {
            Some(Ok(waiver)) => summary(&waiver).in_lang(self.lang()).into(),
            _ => "".into(),
        });
    }

    /// Any edit takes the waiver off the inventory until it is recorded again.
    fn waiver_changed(&mut self, window: &AppWindow) -> Result<()> {
        let mut form = read_form(window);
        let Some(draft) = self.draft.as_mut() else {
            return Ok(());
        };
        // The representative who signs is the one who acts: their name and authority are known.
        if form.by_representative && !draft.waiver.by_representative {
            let applicant = &draft.applicant;
            form.signer_name = format!("{} {}", applicant.rep_surname, applicant.rep_given_name)
                .trim()
                .to_owned();
            form.signer_document = format!(
                "довіреність № {} від {}",
                applicant.authority_number.trim(),
                applicant.authority_date.trim()
            );
        }
        let was_recorded = draft.waiver.recorded;
        draft.waiver = form;
        self.save_draft()?;
        if was_recorded {
            self.refresh_sign(window)
        } else {
            self.refresh_waiver(window);
            Ok(())
        }
    }

    fn record_waiver(&mut self, window: &AppWindow) -> Result<()> {
        let form = read_form(window);
        let page = window.global::<SignPage>();
        let Some(draft) = self.draft.as_mut() else {
            return Ok(());
        };
        if let Err(error) = SignatureWaiver::new(
            form.ground,
            &form.note,
            form.substitute(),
            draft.applicant.has_representative,
        ) {
            page.set_error(waiver_message(&error).in_lang(self.prefs.language).into());
            return Ok(());
        }
        draft.waiver = WaiverForm {
            recorded: true,
            ..form
        };
        self.save_draft()?;
        page.set_waiver_open(false);
        self.refresh_sign(window)
    }

    fn cancel_waiver(&mut self, window: &AppWindow) -> Result<()> {
        if let Some(draft) = self.draft.as_mut() {
            draft.waiver.recorded = false;
        }
        self.save_draft()?;
        window.global::<SignPage>().set_waiver_open(false);
        self.refresh_sign(window)
    }
}
