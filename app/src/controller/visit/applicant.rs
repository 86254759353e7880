//! The applicant (and a representative): the screen's fields kept in the draft at every
//! keystroke, and checked, each problem under its own field, before the documents.

use slint::{ComponentHandle, SharedString};

use super::no_visit;
use crate::controller::Controller;
use crate::draft::ApplicantForm;
use crate::error::{AppError, Result};
use crate::i18n::Message;
use crate::ui::{AppWindow, ApplicantPage, ChoicesPage, Screen};

/// The draft's applicant onto the screen (after unlock, or a new visit).
pub(super) fn show_applicant(window: &AppWindow, a: &ApplicantForm) {
    let page = window.global::<ApplicantPage>();
    page.set_legal_entity(a.legal_entity);
    page.set_surname(a.surname.clone().into());
    page.set_given_name(a.given_name.clone().into());
    page.set_patronymic(a.patronymic.clone().into());
    page.set_rnokpp(a.rnokpp.clone().into());
    page.set_birth_date(a.birth_date.clone().into());
    page.set_document_number(a.document_number.clone().into());
    page.set_document_issuer(a.document_issuer.clone().into());
    page.set_address(a.address.clone().into());
    page.set_phone(a.phone.clone().into());
    page.set_email(a.email.clone().into());
    page.set_entity_name(a.entity_name.clone().into());
    page.set_edrpou(a.edrpou.clone().into());
    page.set_acting_as(a.acting_as.clone().into());
    page.set_place(i32::from(a.place));
    page.set_has_representative(a.has_representative);
    page.set_rep_surname(a.rep_surname.clone().into());
    page.set_rep_given_name(a.rep_given_name.clone().into());
    page.set_rep_rnokpp(a.rep_rnokpp.clone().into());
    page.set_rep_birth_date(a.rep_birth_date.clone().into());
    page.set_rep_document_number(a.rep_document_number.clone().into());
    page.set_authority_number(a.authority_number.clone().into());
    page.set_authority_date(a.authority_date.clone().into());
    page.set_authority_issuer(a.authority_issuer.clone().into());
}

impl Controller {
    pub(super) fn read_applicant(window: &AppWindow) -> ApplicantForm {
        let p = window.global::<ApplicantPage>();
        ApplicantForm {
            legal_entity: p.get_legal_entity(),
            surname: p.get_surname().into(),
            given_name: p.get_given_name().into(),
            patronymic: p.get_patronymic().into(),
            rnokpp: p.get_rnokpp().into(),
            birth_date: p.get_birth_date().into(),
            document_number: p.get_document_number().into(),
            document_issuer: p.get_document_issuer().into(),
            address: p.get_address().into(),
            phone: p.get_phone().into(),
            email: p.get_email().into(),
            entity_name: p.get_entity_name().into(),
            edrpou: p.get_edrpou().into(),
            acting_as: p.get_acting_as().into(),
            place: u8::try_from(p.get_place()).unwrap_or(0),
            has_representative: p.get_has_representative(),
            rep_surname: p.get_rep_surname().into(),
            rep_given_name: p.get_rep_given_name().into(),
            rep_rnokpp: p.get_rep_rnokpp().into(),
            rep_birth_date: p.get_rep_birth_date().into(),
            rep_document_number: p.get_rep_document_number().into(),
            authority_number: p.get_authority_number().into(),
            authority_date: p.get_authority_date().into(),
            authority_issuer: p.get_authority_issuer().into(),
        }
    }

    /// Every keystroke is in the encrypted draft before the next one.
    pub(super) fn applicant_changed(&mut self, window: &AppWindow) -> Result<()> {
        let form = Self::read_applicant(window);
        let draft = self.draft.as_mut().ok_or_else(no_visit)?;
        draft.applicant = form;
        if draft.choices.contact.is_empty() {
            draft.choices.contact = draft.applicant.phone.clone();
        }
        if draft.choices.delivery_address.is_empty() {
            draft.choices.delivery_address = draft.applicant.address.clone();
        }
        self.save_draft()
    }

    pub(super) fn applicant_next(&mut self, window: &AppWindow) -> Result<()> {
        self.applicant_changed(window)?;
        let lang = self.lang();
        let today = self.today();
        let draft = self.draft.as_ref().ok_or_else(no_visit)?;
        let page = window.global::<ApplicantPage>();
        // Every validated field has its own place for its message: the match is exhaustive, so
        // a new field cannot be added without one.
        use crate::draft::ApplicantField as F;
        let show = |field: F, text: SharedString| match field {
            F::PersonName => page.set_error_name(text),
            F::EntityName => page.set_error_entity_name(text),
            F::Edrpou => page.set_error_edrpou(text),
            F::Rnokpp => page.set_error_rnokpp(text),
            F::BirthDate => page.set_error_birth_date(text),
            F::Address => page.set_error_address(text),
            F::Phone => page.set_error_phone(text),
            F::Email => page.set_error_email(text),
            F::Representative => page.set_error_representative(text),
        };
        for field in [
            F::PersonName,
            F::EntityName,
            F::Edrpou,
            F::Rnokpp,
            F::BirthDate,
            F::Address,
            F::Phone,
            F::Email,
            F::Representative,
        ] {
            show(field, SharedString::new());
        }
        match draft.applicant.build(today) {
            Ok(_) => {
                let choices = window.global::<ChoicesPage>();
                choices.set_contact(draft.choices.contact.clone().into());
                choices.set_delivery_address(draft.choices.delivery_address.clone().into());
                self.show(window, Screen::Documents)
            }
            Err(problems) => {
                for problem in problems {
                    show(
                        problem.field,
                        Message::new(problem.message_uk, problem.message_en)
                            .in_lang(lang)
                            .into(),
                    );
                }
                Err(AppError::user(
                    "Перевірте позначені поля.",
                    "Check the marked fields.",
                ))
            }
        }
    }
}
