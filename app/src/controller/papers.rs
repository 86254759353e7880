//! The papers the applicant signs on the visit, built from the draft exactly as the screen
//! shows them, the pad's signatures bind them and the PDFs print them: the application (заява)
//! from the service's form and the case, and the inventory of the input package (опис). Every
//! signature binds the SHA-256 of the pair, so neither can change under a signature.

use fieldkit_domain::case::{Case, Conformity, SignedPapers};
use fieldkit_domain::catalog::{ResultChannel, Service};
use fieldkit_domain::conformity::Unsettled;
use fieldkit_receipt::{
    ApplicationInput, InventoryInput, InventoryItem, Receipt, SignedInstead, application,
    condition_lines, delivery_line, fee_line, inventory, notification_line, signed_set_sha256,
};

use super::Controller;
use crate::draft::Registration;
use crate::error::{AppError, Result};
use crate::i18n::Message;

/// The application and the inventory of one case, and the case they were built from.
pub struct Papers {
    pub application: Receipt,
    pub inventory: Receipt,
    pub case: Case,
}

impl Papers {
    /// Both content hashes and the hash of the pair, which every signature binds.
    pub fn signed(&self) -> SignedPapers {
        let inventory_sha256 = self.inventory.content_sha256();
        let application_sha256 = self.application.content_sha256();
        SignedPapers {
            signed_sha256: signed_set_sha256(&inventory_sha256, &application_sha256),
            inventory_sha256,
            application_sha256: Some(application_sha256),
        }
    }
}

/// Refused while a condition of the card is open: which documents, in a sentence.
fn conditions_open(unsettled: &Unsettled) -> AppError {
    let titles: Vec<&str> = unsettled.open.iter().map(|c| c.title.as_str()).collect();
    AppError::User(Message::new(
        format!("Спершу вирішіть умови: {}", titles.join("; ")),
        format!("Decide the conditions first: {}", titles.join("; ")),
    ))
}

impl Controller {
    /// The application and the inventory exactly as the applicant signs them.
    pub fn papers(&self) -> Result<Papers> {
        let draft = self
            .draft
            .as_ref()
            .ok_or_else(|| AppError::user("Немає відкритої справи.", "No case is open."))?;
        let registration = draft.registration.clone().ok_or_else(|| {
            AppError::user(
                "Справу ще не зареєстровано.",
                "The case is not registered yet.",
            )
        })?;
        let service = draft
            .service
            .as_deref()
            .and_then(|c| self.service(c))
            .ok_or_else(|| AppError::user("Оберіть послугу.", "Choose the service."))?;
        let mut case = draft
            .build_case(service, registration.registered_on)
            .map_err(AppError::User)?;
        let electronic = service.result_channels.contains(&ResultChannel::Electronic);
        let (notification, delivery) = draft.choices.build(electronic).map_err(AppError::User)?;
        case.notification = Some(notification);
        case.delivery = Some(delivery);
        let inventory = self.inventory_of(&case, service, &registration)?;
        let provider = self
            .catalog
            .provider(&service.provider)
            .map_or_else(|| service.provider.0.clone(), |p| p.office.name.clone());
        let application = application(&ApplicationInput {
            centre: &self.catalog.centre.office.name,
            provider: &provider,
            case_number: &registration.case_number,
            registered_at: &registration.registered_at,
            service,
            case: &case,
            administrator: &self.admin_name,
        });
        Ok(Papers {
            application,
            inventory,
            case,
        })
    }

    /// The inventory exactly as the applicant signs it, with the case it states.
    pub fn inventory_receipt(&self) -> Result<(Receipt, Case)> {
        let papers = self.papers()?;
        Ok((papers.inventory, papers.case))
    }

    /// The inventory of the input package for `case` (its notification and delivery chosen).
    fn inventory_of(
        &self,
        case: &Case,
        service: &Service,
        registration: &Registration,
    ) -> Result<Receipt> {
        let rules = service.package_rules();
        let assessment = case.assess(&rules, registration.registered_on);
        let conclusion = case
            .conformity(&rules, registration.registered_on)
            .map_err(|unsettled| conditions_open(&unsettled))?;
        let items = case
            .documents
            .iter()
            .map(|d| InventoryItem {
                title: service
                    .documents
                    .iter()
                    .find(|r| r.id == d.requirement)
                    .map_or_else(|| d.requirement.0.clone(), |r| r.title.clone()),
                form: d.form,
                pages: d.page_count(),
            })
            .collect();
        let representative = case.representative.as_ref().map(|r| {
            format!(
                "{} {} (довіреність № {} від {})",
                r.person.name.surname,
                r.person.name.given_name,
                r.authority.number,
                r.authority.date
            )
        });
        let applicant = self
            .draft
            .as_ref()
            .map(|d| d.applicant.display_name())
            .unwrap_or_default();
        Ok(inventory(&InventoryInput {
            centre: self.catalog.centre.office.name.clone(),
            case_number: registration.case_number.clone(),
            registered_at: registration.registered_at.clone(),
            service: format!("{} {}", service.code.0, service.title),
            applicant,
            representative,
            documents: items,
            conditions: condition_lines(&assessment, service),
            fee: fee_line(service, case.fee.as_ref()),
            conforms: conclusion.conforms(),
            missing: match &conclusion.computed {
                Conformity::DoesNotConform { missing } => missing.clone(),
                Conformity::Conforms => Vec::new(),
            },
            override_note: case.conformity_override.as_ref().map(|o| o.note.clone()),
            notification: case
                .notification
                .as_ref()
                .map(notification_line)
                .unwrap_or_default(),
            delivery: case
                .delivery
                .as_ref()
                .map(delivery_line)
                .unwrap_or_default(),
            administrator: self.admin_name.clone(),
            tracking_url: registration.tracking_url.clone(),
            tracking_code: registration.tracking_code.as_ref().map(ToString::to_string),
            applicant_cannot_sign: case.applicant_cannot_sign.as_ref().map(|waiver| {
                SignedInstead {
                    reason: waiver.reason_uk(),
                    role: waiver.signed_instead_by,
                    name: waiver.signer_name.clone(),
                    document: waiver.signer_document.clone(),
                }
            }),
            payment: super::fee::fee_to_pay(service, case.fee.as_ref(), &registration.case_number),
            centre_contacts: Some(self.catalog.centre.office.clone()),
            provider_contacts: self
                .catalog
                .provider(&service.provider)
                .map(|p| p.office.clone()),
        }))
    }
}
