//! Today's visits, choosing the service, the applicant, the application form with the
//! conformity conclusion, and the notification and delivery choices.

use std::cell::RefCell;
use std::rc::Rc;

use fieldkit_domain::case::ConformityOverride;
use fieldkit_domain::catalog::{FieldKind, ResultChannel, Service};
use fieldkit_domain::common::ProviderId;
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use super::{Controller, OPEN_DRAFT, act};
use crate::draft::{ApplicantForm, Choices, DraftRecord};
use crate::error::{AppError, Result};
use crate::i18n::{Lang, Message};
use crate::ui::{
    App, AppWindow, ApplicantPage, ChoicesPage, DocumentsPage, FormPage, FormRow, GroupRow, Screen,
    ServicePage, ServiceRow, TodayPage, VisitRow,
};

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
        today.on_resume_draft(move || {
            act(&c, &w, |ctl, win| {
                let screen = super::screen_by_name(
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

/// A planned visit as the centre sends it (see `sync-server/docs/visits.md`).
fn visit_row(value: &serde_json::Value, lang: Lang) -> VisitRow {
    let text = |key: &str| value[key].as_str().unwrap_or_default().to_owned();
    let place = match value["place"].as_str().unwrap_or_default() {
        "hospital" => lang.pick("лікарня", "hospital"),
        "care_facility" => lang.pick("заклад догляду", "care facility"),
        _ => lang.pick("вдома", "at home"),
    };
    let services = value["services"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    VisitRow {
        id: value["visit_id"].to_string().into(),
        time: text("time").into(),
        place: place.into(),
        address: text("address").into(),
        applicant: text("applicant").into(),
        services: services.into(),
    }
}

fn channel_text(channel: ResultChannel, lang: Lang) -> String {
    match channel {
        ResultChannel::AtCentre => lang.pick("у ЦНАП", "at the centre"),
        ResultChannel::Post => lang.pick("поштою", "by post"),
        ResultChannel::MobileAdministrator => {
            lang.pick("мобільним адміністратором", "by the mobile administrator")
        }
        ResultChannel::Electronic => lang.pick("електронно", "electronically"),
    }
    .to_owned()
}

impl Controller {
    pub fn refresh_today(&mut self, window: &AppWindow) -> Result<()> {
        let lang = self.lang();
        let vault = self.vault()?;
        let mut visits = Vec::new();
        for (key, value) in vault.transaction(|tx| tx.settings_with_prefix("visit."))? {
            if key.starts_with("visit.done.") {
                continue;
            }
            if let Ok(json) = serde_json::from_slice::<serde_json::Value>(&value) {
                let done = vault
                    .get_setting(&format!("visit.done.{}", json["visit_id"]))?
                    .is_some();
                if !done {
                    visits.push(visit_row(&json, lang));
                }
            }
        }
        visits.sort_by(|a, b| a.time.cmp(&b.time));
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

    fn new_visit(&mut self, window: &AppWindow, visit_id: Option<String>) -> Result<()> {
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
            let details = self.vault()?.get_setting(&format!("visit.{visit_id}"))?;
            if let Some(json) =
                details.and_then(|v| serde_json::from_slice::<serde_json::Value>(&v).ok())
            {
                draft.applicant.address = json["address"].as_str().unwrap_or_default().to_owned();
                draft.applicant.place = match json["place"].as_str() {
                    Some("hospital") => 1,
                    Some("care_facility") => 2,
                    _ => 0,
                };
                let mut names = json["applicant"]
                    .as_str()
                    .unwrap_or_default()
                    .split_whitespace();
                draft.applicant.surname = names.next().unwrap_or_default().to_owned();
                draft.applicant.given_name = names.next().unwrap_or_default().to_owned();
                draft.applicant.patronymic = names.collect::<Vec<_>>().join(" ");
                draft.applicant.phone = json["phone"].as_str().unwrap_or_default().to_owned();
                planned_services = json["services"]
                    .as_array()
                    .map(|l| {
                        l.iter()
                            .filter_map(|s| s.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
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

    /// Put the open draft onto every visit screen (after unlock, or a new visit).
    pub fn fill_visit_screens(&mut self, window: &AppWindow) -> Result<()> {
        let Some(draft) = self.draft.clone() else {
            return Ok(());
        };
        self.browse(window, window.global::<ServicePage>().get_browse())?;
        if let Some(code) = &draft.service {
            self.open_card(window, code)?;
        }
        let a = &draft.applicant;
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

    fn browse(&mut self, window: &AppWindow, mode: i32) -> Result<()> {
        let lang = self.lang();
        let page = window.global::<ServicePage>();
        page.set_browse(mode);
        let groups: Vec<GroupRow> = match mode {
            0 => self
                .catalog
                .life_situations
                .iter()
                .map(|g| GroupRow {
                    id: g.id.clone().into(),
                    title: title(lang, &g.title, g.title_en.as_deref()).into(),
                })
                .collect(),
            1 => self
                .catalog
                .legal_areas
                .iter()
                .map(|g| GroupRow {
                    id: g.id.clone().into(),
                    title: title(lang, &g.title, g.title_en.as_deref()).into(),
                })
                .collect(),
            2 => self
                .catalog
                .providers
                .iter()
                .map(|p| GroupRow {
                    id: p.id.0.clone().into(),
                    title: title(lang, &p.office.name, p.office.name_en.as_deref()).into(),
                })
                .collect(),
            _ => Vec::new(),
        };
        page.set_groups(ModelRc::new(VecModel::from(groups)));
        page.set_group("".into());
        page.set_services(ModelRc::new(VecModel::from(Vec::<ServiceRow>::new())));
        if mode == 3 {
            let query = page.get_query().to_string();
            self.search(window, &query)?;
        }
        Ok(())
    }

    fn service_rows(&self, services: &[&Service]) -> ModelRc<ServiceRow> {
        let lang = self.lang();
        let rows: Vec<ServiceRow> = services
            .iter()
            .map(|s| ServiceRow {
                code: s.code.0.clone().into(),
                title: title(lang, &s.title, s.title_en.as_deref()).into(),
                provider: self
                    .catalog
                    .provider(&s.provider)
                    .map(|p| p.office.name.clone())
                    .unwrap_or_default()
                    .into(),
            })
            .collect();
        ModelRc::new(VecModel::from(rows))
    }

    fn open_group(&mut self, window: &AppWindow, id: &str) -> Result<()> {
        let page = window.global::<ServicePage>();
        page.set_group(id.into());
        let services = match page.get_browse() {
            0 => self.catalog.services_in_life_situation(id),
            1 => self.catalog.services_in_legal_area(id),
            _ => self
                .catalog
                .services_of_provider(&ProviderId(id.to_owned())),
        };
        page.set_services(self.service_rows(&services));
        Ok(())
    }

    fn search(&mut self, window: &AppWindow, query: &str) -> Result<()> {
        let services = if query.trim().is_empty() {
            Vec::new()
        } else {
            self.catalog.search(query)
        };
        window
            .global::<ServicePage>()
            .set_services(self.service_rows(&services));
        Ok(())
    }

    fn open_card(&mut self, window: &AppWindow, code: &str) -> Result<()> {
        let lang = self.lang();
        let Some(service) = self.service(code).cloned() else {
            return Err(AppError::user(
                "Послуги немає в каталозі.",
                "The service is not in the catalog.",
            ));
        };
        let page = window.global::<ServicePage>();
        page.set_code(code.into());
        page.set_title(
            format!(
                "{} {}",
                service.code.0,
                title(lang, &service.title, service.title_en.as_deref())
            )
            .into(),
        );
        page.set_provider(
            self.catalog
                .provider(&service.provider)
                .map(|p| p.office.name.clone())
                .unwrap_or_default()
                .into(),
        );
        page.set_term(term_text(&service.term, lang).into());
        page.set_fee(service.fee.display_uk().into());
        page.set_payment(strings(super::fee::payment_lines(&service.fee, lang)));
        let provider = self.catalog.provider(&service.provider);
        let contacts = provider.map(|p| super::fee::contact_lines(&p.office, lang));
        page.set_provider_contacts(strings(contacts.unwrap_or_default()));
        let centre = super::fee::contact_lines(&self.catalog.centre.office, lang);
        page.set_centre_contacts(strings(centre));
        page.set_result(service.result.clone().into());
        page.set_documents(strings(service.documents.iter().map(|d| match &d.note {
            Some(note) => format!("{} ({note})", d.title),
            None => d.title.clone(),
        })));
        page.set_refusal_grounds(strings(service.refusal_grounds.clone()));
        page.set_channels(strings(
            service
                .result_channels
                .iter()
                .map(|c| channel_text(*c, lang)),
        ));
        page.set_legal_acts(strings(service.legal_acts.clone()));
        page.set_card_open(true);
        Ok(())
    }

    fn choose_service(&mut self, window: &AppWindow) -> Result<()> {
        let code = window.global::<ServicePage>().get_code().to_string();
        let draft = self.draft.as_mut().ok_or_else(no_visit)?;
        if draft.service.as_deref() != Some(&code) {
            draft.service = Some(code);
            draft.form_answers.clear();
            draft.override_conformity = None;
        }
        self.refresh_documents(window)?;
        self.refresh_form(window)?;
        self.show(window, Screen::Applicant)
    }

    fn read_applicant(window: &AppWindow) -> ApplicantForm {
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
    fn applicant_changed(&mut self, window: &AppWindow) -> Result<()> {
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

    fn applicant_next(&mut self, window: &AppWindow) -> Result<()> {
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
                    show(problem.field, problem.message.in_lang(lang).into());
                }
                Err(AppError::user(
                    "Перевірте позначені поля.",
                    "Check the marked fields.",
                ))
            }
        }
    }

    pub fn refresh_form(&mut self, window: &AppWindow) -> Result<()> {
        let lang = self.lang();
        let Some(draft) = self.draft.clone() else {
            return Ok(());
        };
        let Some(service) = draft
            .service
            .as_deref()
            .and_then(|c| self.service(c))
            .cloned()
        else {
            return Ok(());
        };
        let rows: Vec<FormRow> = service
            .form_fields
            .iter()
            .map(|f| FormRow {
                id: f.id.clone().into(),
                label: f.label.clone().into(),
                kind: match f.kind {
                    FieldKind::YesNo => "yes_no",
                    FieldKind::Choice => "choice",
                    FieldKind::Date => "date",
                    FieldKind::Number => "number",
                    FieldKind::Text => "text",
                }
                .into(),
                value: draft
                    .form_answers
                    .get(&f.id)
                    .cloned()
                    .unwrap_or_default()
                    .into(),
                required: f.required,
                options: strings(f.options.clone()),
            })
            .collect();
        let page = window.global::<FormPage>();
        page.set_fields(ModelRc::new(VecModel::from(rows)));
        self.refresh_conformity(window);
        page.set_overridden(draft.override_conformity.is_some());
        if let Some(o) = &draft.override_conformity {
            page.set_override_conforms(o.conforms);
            page.set_override_note(o.note.clone().into());
        }
        let _ = lang;
        Ok(())
    }

    fn form_field(&mut self, window: &AppWindow, id: &str, value: &str) -> Result<()> {
        let draft = self.draft.as_mut().ok_or_else(no_visit)?;
        draft.form_answers.insert(id.to_owned(), value.to_owned());
        self.save_draft()?;
        // Choice buttons show the selection from the model; text fields keep their own text.
        let page = window.global::<FormPage>();
        let rows = page.get_fields();
        for index in 0..slint::Model::row_count(&rows) {
            if let Some(mut row) = slint::Model::row_data(&rows, index)
                && row.id == id
            {
                row.value = value.into();
                slint::Model::set_row_data(&rows, index, row);
            }
        }
        // An answer may decide a condition of the card.
        self.refresh_conformity(window);
        Ok(())
    }

    fn set_override(&mut self, window: &AppWindow, on: bool, conforms: bool) -> Result<()> {
        let page = window.global::<FormPage>();
        page.set_overridden(on);
        page.set_override_conforms(conforms);
        if !on {
            let draft = self.draft.as_mut().ok_or_else(no_visit)?;
            draft.override_conformity = None;
            self.save_draft()?;
        }
        Ok(())
    }

    /// An override of the conclusion being written is kept only by "Next"; on lock it goes into
    /// the draft as typed, so unlocking finds it on the form again.
    pub fn keep_override_being_written(&mut self, window: &AppWindow) {
        let page = window.global::<FormPage>();
        let note = page.get_override_note().trim().to_owned();
        if !page.get_overridden() || note.is_empty() {
            return;
        }
        if let Some(draft) = self.draft.as_mut() {
            draft.override_conformity = Some(ConformityOverride {
                conforms: page.get_override_conforms(),
                note,
            });
        }
    }

    fn form_next(&mut self, window: &AppWindow) -> Result<()> {
        let lang = self.lang();
        let page = window.global::<FormPage>();
        page.set_error("".into());
        let draft = self.draft.as_ref().ok_or_else(no_visit)?;
        let service = draft
            .service
            .as_deref()
            .and_then(|c| self.service(c))
            .cloned()
            .ok_or_else(no_visit)?;
        let missing: Vec<String> = service
            .form_fields
            .iter()
            .filter(|f| {
                f.required
                    && draft
                        .form_answers
                        .get(&f.id)
                        .is_none_or(|v| v.trim().is_empty())
            })
            .map(|f| f.label.clone())
            .collect();
        if !missing.is_empty() {
            let message = Message::new(
                format!("Заповніть: {}", missing.join(", ")),
                format!("Fill in: {}", missing.join(", ")),
            );
            page.set_error(message.in_lang(lang).into());
            return Ok(());
        }
        if let Some((_, assessment)) = self.assessment()
            && let Err(unsettled) = &assessment.computed
        {
            let titles: Vec<String> = unsettled.open.iter().map(|c| c.title.clone()).collect();
            page.set_error(
                Message::new(
                    format!("Спершу вирішіть умови: {}", titles.join("; ")),
                    format!("Decide the conditions first: {}", titles.join("; ")),
                )
                .in_lang(lang)
                .into(),
            );
            return Ok(());
        }
        let override_conformity = if page.get_overridden() {
            let note = page.get_override_note().trim().to_owned();
            if note.is_empty() {
                page.set_error(
                    Message::new(
                        "Змінити висновок можна лише з письмовим поясненням.",
                        "The conclusion can be changed only with a written note.",
                    )
                    .in_lang(lang)
                    .into(),
                );
                return Ok(());
            }
            Some(ConformityOverride {
                conforms: page.get_override_conforms(),
                note,
            })
        } else {
            None
        };
        let draft = self.draft.as_mut().ok_or_else(no_visit)?;
        draft.override_conformity = override_conformity;
        self.show(window, Screen::Choices)?;
        self.refresh_choices(window)
    }

    fn refresh_choices(&mut self, window: &AppWindow) -> Result<()> {
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

    fn choices_changed(&mut self, window: &AppWindow) -> Result<()> {
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

    fn choices_next(&mut self, window: &AppWindow) -> Result<()> {
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

    /// The case is sealed or abandoned: forget it on every screen.
    pub fn close_visit(&mut self, window: &AppWindow) -> Result<()> {
        if let Some(draft) = self.draft.take() {
            let vault = self.vault()?;
            vault.transaction(|tx| {
                tx.put_setting(OPEN_DRAFT, b"")?;
                if let Some(visit) = &draft.visit_id {
                    tx.put_setting(&format!("visit.done.{visit}"), b"1")?;
                }
                Ok(())
            })?;
        }
        clear_screens(window);
        window.global::<App>().set_visit_open(false);
        Ok(())
    }
}

/// A service's term as people say it: «у день звернення» for none, Ukrainian plural forms
/// («1 робочий день», «3 робочі дні», «5 робочих днів»), English singular and plural.
fn term_text(term: &fieldkit_domain::common::Term, lang: Lang) -> String {
    use fieldkit_domain::common::DayKind;
    let n = term.days;
    if n == 0 {
        return lang
            .pick("у день звернення", "on the day of application")
            .to_owned();
    }
    match lang {
        Lang::Uk => {
            // One form for 1, 21, 31…; another for 2-4, 22-24…; the third for the rest (11-14 too).
            let form = match (n % 10, n % 100) {
                (1, r) if r != 11 => 0,
                (2..=4, r) if !(12..=14).contains(&r) => 1,
                _ => 2,
            };
            let (working, calendar, day) = (
                ["робочий", "робочі", "робочих"][form],
                ["календарний", "календарні", "календарних"][form],
                ["день", "дні", "днів"][form],
            );
            match term.kind {
                DayKind::Working => format!("{n} {working} {day}"),
                DayKind::Calendar => format!("{n} {calendar} {day}"),
            }
        }
        Lang::En => {
            let days = if n == 1 { "day" } else { "days" };
            match term.kind {
                DayKind::Working => format!("{n} working {days}"),
                DayKind::Calendar => format!("{n} calendar {days}"),
            }
        }
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
    super::signing::clear_screen(window);
    let service = window.global::<ServicePage>();
    service.set_card_open(false);
    service.set_code("".into());
    service.set_query("".into());
}

#[cfg(test)]
mod term_tests {
    use fieldkit_domain::common::{DayKind, Term};

    use super::term_text;
    use crate::i18n::Lang;

    fn said(days: u32, kind: DayKind, lang: Lang) -> String {
        term_text(&Term { days, kind }, lang)
    }

    #[test]
    fn terms_read_as_people_say_them() {
        use DayKind::{Calendar, Working};
        assert_eq!(said(0, Working, Lang::Uk), "у день звернення");
        assert_eq!(said(0, Working, Lang::En), "on the day of application");
        assert_eq!(said(1, Working, Lang::Uk), "1 робочий день");
        assert_eq!(said(3, Working, Lang::Uk), "3 робочі дні");
        assert_eq!(said(5, Working, Lang::Uk), "5 робочих днів");
        assert_eq!(said(11, Calendar, Lang::Uk), "11 календарних днів");
        assert_eq!(said(12, Working, Lang::Uk), "12 робочих днів");
        assert_eq!(said(21, Calendar, Lang::Uk), "21 календарний день");
        assert_eq!(said(22, Working, Lang::Uk), "22 робочі дні");
        assert_eq!(said(30, Calendar, Lang::Uk), "30 календарних днів");
        assert_eq!(said(1, Working, Lang::En), "1 working day");
        assert_eq!(said(10, Calendar, Lang::En), "10 calendar days");
    }
}
