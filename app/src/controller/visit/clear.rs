//! Nothing personal stays on any screen after a visit closes or the tablet locks.

use slint::{ComponentHandle, ModelRc};

use crate::ui::{AppWindow, ApplicantPage, ChoicesPage, DocumentsPage, FormPage, ServicePage};

/// Nothing personal stays on any screen after a visit closes or the tablet locks.
pub fn clear_screens(window: &AppWindow) {
    let applicant = window.global::<ApplicantPage>();
    for setter in [
        ApplicantPage::set_surname,
        ApplicantPage::set_given_name,
        ApplicantPage::set_patronymic,
        ApplicantPage::set_rnokpp,
        ApplicantPage::set_birth_date,
        ApplicantPage::set_document_number,
        ApplicantPage::set_document_issuer,
        ApplicantPage::set_address,
        ApplicantPage::set_phone,
        ApplicantPage::set_email,
        ApplicantPage::set_entity_name,
        ApplicantPage::set_edrpou,
        ApplicantPage::set_acting_as,
        ApplicantPage::set_rep_surname,
        ApplicantPage::set_rep_given_name,
        ApplicantPage::set_rep_rnokpp,
        ApplicantPage::set_rep_birth_date,
        ApplicantPage::set_rep_document_number,
        ApplicantPage::set_authority_number,
        ApplicantPage::set_authority_date,
        ApplicantPage::set_authority_issuer,
        ApplicantPage::set_error_rnokpp,
        ApplicantPage::set_error_birth_date,
        ApplicantPage::set_error_phone,
        ApplicantPage::set_error_email,
        ApplicantPage::set_error_edrpou,
        ApplicantPage::set_error_name,
        ApplicantPage::set_error_entity_name,
        ApplicantPage::set_error_address,
        ApplicantPage::set_error_representative,
    ] {
        setter(&applicant, "".into());
    }
    applicant.set_has_representative(false);
    applicant.set_legal_entity(false);
    applicant.set_place(0);
    let documents = window.global::<DocumentsPage>();
    documents.set_checklist(ModelRc::default());
    documents.set_pages(ModelRc::default());
    documents.set_preview(slint::Image::default());
    documents.set_current("".into());
    documents.set_preview_issues("".into());
    let form = window.global::<FormPage>();
    form.set_fields(ModelRc::default());
    form.set_overridden(false);
    form.set_override_note("".into());
    let choices = window.global::<ChoicesPage>();
    choices.set_contact("".into());
    choices.set_delivery_address("".into());
    crate::controller::signing::clear_screen(window);
    let service = window.global::<ServicePage>();
    service.set_card_open(false);
    service.set_code("".into());
    service.set_query("".into());
}
