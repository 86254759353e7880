//! Choosing the service: browsing the catalog by life situation, legal area or provider,
//! searching it, and reading a service's information card.

use fieldkit_domain::catalog::{ResultChannel, Service};
use fieldkit_domain::common::ProviderId;
use slint::{ComponentHandle, ModelRc, VecModel};

use super::{no_visit, strings, title};
use crate::controller::Controller;
use crate::error::{AppError, Result};
use crate::i18n::Lang;
use crate::ui::{AppWindow, GroupRow, Screen, ServicePage, ServiceRow};

fn channel_text(channel: ResultChannel, lang: Lang) -> String {
    let (uk, en) = channel.words();
    lang.pick(uk, en).to_owned()
}

impl Controller {
    pub(super) fn browse(&mut self, window: &AppWindow, mode: i32) -> Result<()> {
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

    pub(super) fn service_rows(&self, services: &[&Service]) -> ModelRc<ServiceRow> {
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

    pub(super) fn open_group(&mut self, window: &AppWindow, id: &str) -> Result<()> {
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

    pub(super) fn search(&mut self, window: &AppWindow, query: &str) -> Result<()> {
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

    pub(super) fn open_card(&mut self, window: &AppWindow, code: &str) -> Result<()> {
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
        page.set_fee(crate::controller::conditions::fee_amount(&service.fee, lang).into());
        page.set_payment(strings(crate::controller::fee::payment_lines(
            &service.fee,
            lang,
        )));
        let provider = self.catalog.provider(&service.provider);
        let contacts = provider.map(|p| crate::controller::fee::contact_lines(&p.office, lang));
        page.set_provider_contacts(strings(contacts.unwrap_or_default()));
        let centre = crate::controller::fee::contact_lines(&self.catalog.centre.office, lang);
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

    pub(super) fn choose_service(&mut self, window: &AppWindow) -> Result<()> {
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
}

/// A service's term as people say it (the domain's words).
fn term_text(term: &fieldkit_domain::common::Term, lang: Lang) -> String {
    let (uk, en) = term.words();
    match lang {
        Lang::Uk => uk,
        Lang::En => en,
    }
}
