//! The visit being entered, exactly as typed: saved to the vault's encrypted draft after every
//! edit, so the app can be killed at any moment and reopen where the administrator was. Typed
//! text is kept even while it is not valid yet; the case record is built from it, with every
//! check, only when the administrator moves on.

use std::collections::BTreeMap;

use fieldkit_domain::case::{
    Address, CapturedDocument, Case, ConformityOverride, Contact, Notification, ResultDelivery,
    SignatureRef, SignerRole, Substitute, WaiverGround,
};
use fieldkit_domain::catalog::Service;
use fieldkit_domain::common::{RequirementId, ServiceCode};
use fieldkit_domain::conditions::{CaseFacts, FeePayment};
use fieldkit_domain::conformity::Assessment;
use fieldkit_domain::ink::InkSignedSheets;
use fieldkit_domain::tracking::TrackingCode;
use fieldkit_domain::validators::{Email, MobileNumber};
use serde::{Deserialize, Serialize};
use time::Date;

use crate::i18n::Message;

pub use fieldkit_domain::applicant_form::{
    ApplicantField, ApplicantForm, FieldProblem, parse_date,
};

/// Notification and delivery as chosen (regulation 6.15).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Choices {
    /// 0 SMS, 1 e-mail, 2 phone call.
    pub notify: u8,
    /// 0 mobile administrator, 1 at the centre, 2 post, 3 electronically.
    pub delivery: u8,
    pub contact: String,
    pub delivery_address: String,
}

/// What the administrator entered on the Sign screen when the applicant cannot sign
/// (заявник не може підписати). Recorded only once the domain accepts it; any edit un-records
/// it, so the inventory never states a waiver that was not checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WaiverForm {
    pub recorded: bool,
    pub ground: Option<WaiverGround>,
    pub note: String,
    /// The representative signs instead; otherwise a witness.
    pub by_representative: bool,
    pub signer_name: String,
    pub signer_document: String,
}

impl WaiverForm {
    pub fn substitute(&self) -> Substitute {
        Substitute {
            role: if self.by_representative {
                SignerRole::Representative
            } else {
                SignerRole::Witness
            },
            name: self.signer_name.clone(),
            document: self.signer_document.clone(),
        }
    }
}

/// Registration details fixed when the inventory is first shown, so the text the applicant
/// signs (and its hash) never changes afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    pub case_number: String,
    pub registered_at: String,
    pub registered_on: Date,
    /// What the receipt's QR carries: `{public address}/t/{tracking code}` (before tracking
    /// codes: `{centre's website}/track/{case number}`).
    pub tracking_url: String,
    /// The receipt's tracking code, printed beside the QR; kept here (the vault is encrypted)
    /// so the receipt prints again the same. Absent in drafts registered before codes.
    #[serde(default)]
    pub tracking_code: Option<TrackingCode>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DraftRecord {
    pub case_id: String,
    /// The planned visit this case came from, if any.
    pub visit_id: Option<String>,
    pub service: Option<String>,
    pub applicant: ApplicantForm,
    pub documents: Vec<CapturedDocument>,
    pub form_answers: BTreeMap<String, String>,
    pub override_conformity: Option<ConformityOverride>,
    /// The administrator's «так» / «ні» for conditions no rule of the catalog decides.
    pub condition_answers: BTreeMap<RequirementId, bool>,
    /// Paid, exempt or paying later, for a paid service.
    pub fee: Option<FeePayment>,
    pub choices: Choices,
    pub registration: Option<Registration>,
    pub signatures: Vec<SignatureRef>,
    /// Printed sheets signed in ink and scanned back.
    pub ink_signed: Vec<InkSignedSheets>,
    /// When the applicant cannot sign; drafts from before it read as «the applicant signs».
    pub waiver: WaiverForm,
    /// The screen the administrator was on.
    pub screen: String,
}

impl Choices {
    pub fn build(&self, allowed_email: bool) -> Result<(Notification, ResultDelivery), Message> {
        let contact = self.contact.trim();
        let notification = match self.notify {
            1 => Notification::Email {
                address: Contact(
                    Email::parse(contact)
                        .map_err(|e| Message::new(e.message_uk(), e.to_string()))?
                        .as_str()
                        .to_owned(),
                ),
            },
            other => {
                let phone = MobileNumber::parse(contact)
                    .map_err(|e| Message::new(e.message_uk(), e.to_string()))?;
                let phone = Contact(phone.as_str().to_owned());
                if other == 2 {
                    Notification::PhoneCall { phone }
                } else {
                    Notification::Sms { phone }
                }
            }
        };
        let address = Address(self.delivery_address.trim().to_owned());
        let needs_address = matches!(self.delivery, 0 | 2);
        if needs_address && address.0.is_empty() {
            return Err(Message::new(
                "Вкажіть адресу доставки.",
                "Enter the delivery address.",
            ));
        }
        let delivery = match self.delivery {
            0 => ResultDelivery::MobileAdministrator { address },
            1 => ResultDelivery::AtCentre,
            2 => ResultDelivery::Post { address },
            _ => {
                let Notification::Email { address } = &notification else {
                    return Err(Message::new(
                        "Для електронного отримання оберіть сповіщення електронною поштою.",
                        "To receive the result electronically, choose e-mail notification.",
                    ));
                };
                if !allowed_email {
                    return Err(Message::new(
                        "Ця послуга не видається електронно.",
                        "This service's result is not issued electronically.",
                    ));
                }
                ResultDelivery::Electronic {
                    email: address.clone(),
                }
            }
        };
        Ok((notification, delivery))
    }
}

impl DraftRecord {
    pub fn new(case_id: &str) -> Self {
        Self {
            case_id: case_id.to_owned(),
            screen: "service".into(),
            ..Self::default()
        }
    }

    /// The case record from what was entered, with every check.
    pub fn build_case(&self, service: &Service, today: Date) -> Result<Case, Message> {
        let (applicant, representative, place) =
            self.applicant.build(today).map_err(|problems| {
                let uk: Vec<&str> = problems.iter().map(|p| p.message_uk.as_str()).collect();
                let en: Vec<&str> = problems.iter().map(|p| p.message_en.as_str()).collect();
                Message::new(uk.join(" "), en.join(" "))
            })?;
        let mut case = Case::new_draft(
            &self.case_id,
            ServiceCode(service.code.0.clone()),
            applicant,
            place,
        );
        case.representative = representative;
        case.documents = self.documents.clone();
        case.form_answers = self.form_answers.clone();
        case.conformity_override = self.override_conformity.clone();
        case.condition_answers = self.condition_answers.clone();
        case.fee = self.fee.clone();
        case.signatures = self.signatures.clone();
        case.ink_signed = self.ink_signed.clone();
        if self.waiver.recorded {
            case.waive_applicant_signature(
                self.waiver.ground,
                &self.waiver.note,
                self.waiver.substitute(),
            )
            .map_err(|e| waiver_message(&e))?;
        }
        Ok(case)
    }

    /// The package against the card with what is typed so far (a birth date not entered yet
    /// leaves an age condition open), on the day of the visit.
    pub fn assess(&self, service: &Service, today: Date) -> Assessment {
        let rules = service.package_rules();
        let facts = CaseFacts {
            representative_acts: self.applicant.has_representative,
            applicant_birth_date: if self.applicant.legal_entity {
                None
            } else {
                parse_date(&self.applicant.birth_date)
            },
            on: self
                .registration
                .as_ref()
                .map_or(today, |r| r.registered_on),
            form_answers: &self.form_answers,
            fee_is_charged: rules.fee_is_charged,
            fee: self.fee.as_ref(),
            answers: &self.condition_answers,
        };
        Assessment::of(&rules, &self.documents, &facts)
    }
}

/// Why a waiver was refused, in the administrator's words.
pub fn waiver_message(error: &fieldkit_domain::case::CaseError) -> Message {
    use fieldkit_domain::case::CaseError as E;
    match error {
        E::WaiverNeedsReason => Message::new(
            "Оберіть причину, з якої заявник не може підписати (для «інша причина» — опишіть її).",
            "Choose why the applicant cannot sign (for «another reason», describe it).",
        ),
        E::WaiverNeedsSignerName => Message::new(
            "Вкажіть ПІБ того, хто підписує замість заявника.",
            "Enter the name of the person who signs instead of the applicant.",
        ),
        E::WaiverNeedsSignerDocument => Message::new(
            "Вкажіть документ, що посвідчує особу свідка.",
            "Enter the witness's identity document.",
        ),
        E::WaiverWithoutRepresentative => Message::new(
            "Представник у справі не діє: підписати замість заявника може свідок.",
            "No representative acts in this case: a witness can sign instead.",
        ),
        other => Message::new(format!("Помилка: {other}"), format!("Error: {other}")),
    }
}
