//! The visit being entered, exactly as typed: saved to the vault's encrypted draft after every
//! edit, so the app can be killed at any moment and reopen where the administrator was. Typed
//! text is kept even while it is not valid yet; the case record is built from it, with every
//! check, only when the administrator moves on.

use std::collections::BTreeMap;

use fieldkit_domain::case::{
    Address, Applicant, AuthorityDocument, AuthorityKind, CapturedDocument, Case,
    ConformityOverride, Contact, IdentityDocument, IdentityDocumentKind, LegalEntity,
    NaturalPerson, Notification, PersonName, Representative, ResultDelivery, SignatureRef,
    SignerRole, Substitute, VisitPlace, VisitPlaceKind, WaiverGround,
};
use fieldkit_domain::catalog::Service;
use fieldkit_domain::common::{RequirementId, ServiceCode};
use fieldkit_domain::conditions::{CaseFacts, FeePayment};
use fieldkit_domain::conformity::Assessment;
use fieldkit_domain::ink::InkSignedSheets;
use fieldkit_domain::validators::{Edrpou, Email, MobileNumber, Rnokpp, check_birth_date};
use serde::{Deserialize, Serialize};
use time::Date;

use crate::i18n::Message;

/// What the applicant screen holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApplicantForm {
    pub legal_entity: bool,
    pub surname: String,
    pub given_name: String,
    pub patronymic: String,
    pub rnokpp: String,
    pub birth_date: String,
    pub document_number: String,
    pub document_issuer: String,
    pub address: String,
    pub phone: String,
    pub email: String,
    pub entity_name: String,
    pub edrpou: String,
    pub acting_as: String,
    /// 0 home, 1 hospital, 2 care facility.
    pub place: u8,
    pub has_representative: bool,
    pub rep_surname: String,
    pub rep_given_name: String,
    pub rep_rnokpp: String,
    pub rep_birth_date: String,
    pub rep_document_number: String,
    pub authority_number: String,
    pub authority_date: String,
    pub authority_issuer: String,
}

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
    pub tracking_url: String,
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

/// A field of the applicant screen that validation can find wrong; each has its own place
/// for the message on the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplicantField {
    /// Прізвище та ім'я фізичної особи.
    PersonName,
    /// Назва юридичної особи.
    EntityName,
    /// Код ЄДРПОУ.
    Edrpou,
    /// РНОКПП.
    Rnokpp,
    /// Дата народження.
    BirthDate,
    /// Адреса.
    Address,
    /// Мобільний телефон.
    Phone,
    /// Електронна пошта.
    Email,
    /// Представник і документ про повноваження.
    Representative,
}

/// One problem with a typed field: which field, and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: ApplicantField,
    pub message: Message,
}

fn problem(field: ApplicantField, uk: &str, en: &str) -> FieldProblem {
    FieldProblem {
        field,
        message: Message::new(uk, en),
    }
}

fn validation(
    field: ApplicantField,
    error: fieldkit_domain::validators::ValidationError,
) -> FieldProblem {
    FieldProblem {
        field,
        message: Message::new(error.message_uk(), error.to_string()),
    }
}

/// "15.03.1946" (as people write dates here) or "1946-03-15".
pub fn parse_date(text: &str) -> Option<Date> {
    let text = text.trim();
    let parts: Vec<&str> = text.split(['.', '-', '/']).collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    let (day, month, year) = if a.len() == 4 { (c, b, a) } else { (a, b, c) };
    let month = time::Month::try_from(month.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(year.parse().ok()?, month, day.parse().ok()?).ok()
}

fn optional(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn name(surname: &str, given: &str, patronymic: &str) -> PersonName {
    PersonName {
        surname: surname.trim().to_owned(),
        given_name: given.trim().to_owned(),
        patronymic: optional(patronymic),
    }
}

impl ApplicantForm {
    /// The applicant as the case records it, or every problem found (all at once, so the
    /// administrator fixes them in one pass).
    pub fn build(
        &self,
        today: Date,
    ) -> Result<(Applicant, Option<Representative>, VisitPlace), Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let address = Address(self.address.trim().to_owned());
        if self.address.trim().is_empty() {
            problems.push(problem(
                ApplicantField::Address,
                "Вкажіть адресу.",
                "Enter the address.",
            ));
        }
        let phone = match optional(&self.phone) {
            Some(text) => match MobileNumber::parse(&text) {
                Ok(number) => Some(Contact(number.as_str().to_owned())),
                Err(e) => {
                    problems.push(validation(ApplicantField::Phone, e));
                    None
                }
            },
            None => None,
        };
        let email = match optional(&self.email) {
            Some(text) => match Email::parse(&text) {
                Ok(address) => Some(Contact(address.as_str().to_owned())),
                Err(e) => {
                    problems.push(validation(ApplicantField::Email, e));
                    None
                }
            },
            None => None,
        };
        let applicant = if self.legal_entity {
            if self.entity_name.trim().is_empty() {
                problems.push(problem(
                    ApplicantField::EntityName,
                    "Вкажіть назву юридичної особи.",
                    "Enter the legal entity's name.",
                ));
            }
            let edrpou = match Edrpou::parse(self.edrpou.trim()) {
                Ok(code) => code.as_str().to_owned(),
                Err(e) => {
                    problems.push(validation(ApplicantField::Edrpou, e));
                    String::new()
                }
            };
            Applicant::LegalEntity(LegalEntity {
                name: self.entity_name.trim().to_owned(),
                edrpou,
                address: address.clone(),
                acting_person: name(&self.surname, &self.given_name, &self.patronymic),
                acting_as: self.acting_as.trim().to_owned(),
            })
        } else {
            if self.surname.trim().is_empty() || self.given_name.trim().is_empty() {
                problems.push(problem(
                    ApplicantField::PersonName,
                    "Вкажіть прізвище та ім'я.",
                    "Enter the surname and given name.",
                ));
            }
            let birth = parse_date(&self.birth_date);
            match birth {
                None => problems.push(problem(
                    ApplicantField::BirthDate,
                    "Дата народження у вигляді ДД.ММ.РРРР.",
                    "Date of birth as DD.MM.YYYY.",
                )),
                Some(date) => {
                    if let Err(e) = check_birth_date(date, today) {
                        problems.push(validation(ApplicantField::BirthDate, e));
                    }
                }
            }
            let rnokpp = match optional(&self.rnokpp) {
                Some(text) => match Rnokpp::parse(&text) {
                    Ok(code) => {
                        if let Some(date) = birth
                            && let Err(e) = code.check_birth_date(date)
                        {
                            problems.push(validation(ApplicantField::Rnokpp, e));
                        }
                        Some(code.as_str().to_owned())
                    }
                    Err(e) => {
                        problems.push(validation(ApplicantField::Rnokpp, e));
                        None
                    }
                },
                None => None,
            };
            Applicant::NaturalPerson(NaturalPerson {
                name: name(&self.surname, &self.given_name, &self.patronymic),
                rnokpp,
                birth_date: birth.unwrap_or(today),
                identity_document: IdentityDocument {
                    kind: IdentityDocumentKind::IdCard,
                    number: self.document_number.trim().to_owned(),
                    issued_by: self.document_issuer.trim().to_owned(),
                    issued_on: None,
                },
                address: address.clone(),
                phone,
                email,
            })
        };
        let representative = if self.has_representative {
            let birth = parse_date(&self.rep_birth_date);
            let authority_date = parse_date(&self.authority_date);
            if self.rep_surname.trim().is_empty()
                || birth.is_none()
                || authority_date.is_none()
                || self.authority_number.trim().is_empty()
            {
                problems.push(problem(
                    ApplicantField::Representative,
                    "Представник: вкажіть прізвище, дату народження, номер і дату довіреності.",
                    "Representative: enter the surname, date of birth, and the power of attorney's number and date.",
                ));
            }
            let rnokpp = match optional(&self.rep_rnokpp) {
                Some(text) => match Rnokpp::parse(&text) {
                    Ok(code) => Some(code.as_str().to_owned()),
                    Err(e) => {
                        problems.push(FieldProblem {
                            field: ApplicantField::Representative,
                            message: Message::new(
                                format!("Представник: {}", e.message_uk()),
                                format!("Representative: {e}"),
                            ),
                        });
                        None
                    }
                },
                None => None,
            };
            let representative = Representative {
                person: NaturalPerson {
                    name: name(&self.rep_surname, &self.rep_given_name, ""),
                    rnokpp,
                    birth_date: birth.unwrap_or(today),
                    identity_document: IdentityDocument {
                        kind: IdentityDocumentKind::IdCard,
                        number: self.rep_document_number.trim().to_owned(),
                        issued_by: String::new(),
                        issued_on: None,
                    },
                    address: address.clone(),
                    phone: None,
                    email: None,
                },
                authority: AuthorityDocument {
                    kind: AuthorityKind::PowerOfAttorney,
                    number: self.authority_number.trim().to_owned(),
                    date: authority_date.unwrap_or(today),
                    issued_by: self.authority_issuer.trim().to_owned(),
                    valid_until: None,
                },
            };
            if authority_date.is_some() && !representative.authority.valid_on(today) {
                problems.push(problem(
                    ApplicantField::Representative,
                    "Довіреність не чинна на сьогодні.",
                    "The power of attorney is not valid today.",
                ));
            }
            Some(representative)
        } else {
            None
        };
        let kind = match self.place {
            1 => VisitPlaceKind::Hospital,
            2 => VisitPlaceKind::CareFacility,
            _ => VisitPlaceKind::Home,
        };
        if problems.is_empty() {
            Ok((applicant, representative, VisitPlace { kind, address }))
        } else {
            Err(problems)
        }
    }

    /// The applicant's name as printed on the inventory.
    pub fn display_name(&self) -> String {
        if self.legal_entity {
            return self.entity_name.trim().to_owned();
        }
        [&self.surname, &self.given_name, &self.patronymic]
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }
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
                let uk: Vec<&str> = problems.iter().map(|p| p.message.uk.as_str()).collect();
                let en: Vec<&str> = problems.iter().map(|p| p.message.en.as_str()).collect();
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
