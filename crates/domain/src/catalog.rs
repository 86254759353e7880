//! The service catalog: for each administrative service its information card (інформаційна
//! картка, Law "Про адміністративні послуги", Art. 8), its technological card (технологічна
//! картка, Cabinet resolution No. 44 of 30.01.2013) and its application form; services grouped
//! by life situation, legal area and provider (regulation 2.31), and found by Ukrainian words.
//!
//! The catalog is data: read from the TOML format documented in `assets/catalog/README.md`,
//! validated as a whole (every problem reported at once, with where it is), and written back
//! the same way for the server to publish to tablets.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::Date;

use crate::common::{DocumentForm, Necessity, ProviderId, RequirementId, ServiceCode, Term};
use crate::conditions::ConditionRule;
use crate::conformity::{PackageRules, RequiredDocument};
use crate::payment::{
    IbanProblem, NbuQrFormat, PaymentDetails, PaymentOrder, PaymentQrError, check_recipient_code,
    check_ua_iban,
};
use crate::validators::ValidationError;

/// Details of the centre or of a provider (name, address, hours, contacts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Office {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
}

impl Office {
    /// The name, (Ukrainian, English): the Ukrainian one where the catalog has no English.
    pub fn names(&self) -> (&str, &str) {
        (&self.name, self.name_en.as_deref().unwrap_or(&self.name))
    }

    /// Address, phone, e-mail, website and hours, each only where the catalog has it: whom to
    /// contact and when (regulation 2.20, 9.4), on the tablet's card and the public pages.
    pub fn contacts(&self) -> Vec<(Contact, &str)> {
        [
            (Contact::Address, Some(&self.address)),
            (Contact::Phone, self.phone.as_ref()),
            (Contact::Email, self.email.as_ref()),
            (Contact::Website, self.website.as_ref()),
            (Contact::Hours, self.hours.as_ref()),
        ]
        .into_iter()
        .filter_map(|(kind, value)| {
            value
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
                .map(|v| (kind, v))
        })
        .collect()
    }
}

/// One of an office's contacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contact {
    Address,
    Phone,
    Email,
    Website,
    Hours,
}

impl Contact {
    /// Its label, (Ukrainian, English).
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            Contact::Address => ("Адреса", "Address"),
            Contact::Phone => ("Телефон", "Phone"),
            Contact::Email => ("Ел. пошта", "E-mail"),
            Contact::Website => ("Вебсайт", "Website"),
            Contact::Hours => ("Графік роботи", "Hours"),
        }
    }
}

/// The centre (ЦНАП) that publishes the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Centre {
    /// The centre code used in case numbers.
    pub code: String,
    #[serde(flatten)]
    pub office: Office,
}

/// A provider of administrative services (суб'єкт надання).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provider {
    pub id: ProviderId,
    #[serde(flatten)]
    pub office: Office,
}

/// A group of services: a life situation (життєва ситуація) or a legal area (сфера).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_en: Option<String>,
}

/// One document of the information card's exhaustive list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentRequirement {
    pub id: RequirementId,
    pub title: String,
    pub form: DocumentForm,
    pub necessity: Necessity,
    /// Requirements to the document (validity, certification, number of copies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The fee (плата): free, or paid with what the applicant needs to pay it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Fee {
    Free {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        legal_basis: Option<String>,
    },
    Paid {
        /// Amount in kopecks: money is never a float.
        #[serde(default)]
        amount_kopecks: Option<u64>,
        #[serde(default)]
        legal_basis: String,
        /// How and where to pay, in words (for the card and for fees paid otherwise).
        #[serde(default)]
        payment: String,
        /// The payment details as data (платіжні реквізити): printed on the inventory and put
        /// into the NBU payment QR. Optional so that catalogs written before them still load.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        details: Option<PaymentDetails>,
    },
}

impl Fee {
    /// The amount as the card prints it: "34,00 грн" or "безоплатно".
    pub fn display_uk(&self) -> String {
        match self {
            Fee::Free { .. } => "безоплатно".to_owned(),
            Fee::Paid {
                amount_kopecks: Some(k),
                ..
            } => format!("{},{:02} грн", k / 100, k % 100),
            Fee::Paid {
                amount_kopecks: None,
                ..
            } => "платно".to_owned(),
        }
    }

    /// The amount in words, (Ukrainian, English): «34,00 грн» / «UAH 34.00», «безоплатно» /
    /// «free of charge».
    pub fn amount_words(&self) -> (String, String) {
        let en = match self {
            Fee::Free { .. } => "free of charge".to_owned(),
            Fee::Paid {
                amount_kopecks: Some(k),
                ..
            } => format!("UAH {}.{:02}", k / 100, k % 100),
            Fee::Paid {
                amount_kopecks: None,
                ..
            } => "paid".to_owned(),
        };
        (self.display_uk(), en)
    }
}

/// Ways to receive the result (способи отримання відповіді).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultChannel {
    AtCentre,
    Post,
    MobileAdministrator,
    Electronic,
}

impl ResultChannel {
    /// How the result reaches the applicant, (Ukrainian, English), after «отримати»/«receive».
    pub fn words(self) -> (&'static str, &'static str) {
        match self {
            ResultChannel::AtCentre => ("у ЦНАП", "at the centre"),
            ResultChannel::Post => ("поштою", "by post"),
            ResultChannel::MobileAdministrator => {
                ("мобільним адміністратором", "by the mobile administrator")
            }
            ResultChannel::Electronic => ("електронно", "electronically"),
        }
    }
}

/// The role of a unit in a stage of the technological card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionCode {
    /// В — виконує.
    Performs,
    /// У — бере участь.
    Participates,
    /// П — погоджує.
    Agrees,
    /// З — затверджує.
    Approves,
}

/// One stage of the technological card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    pub number: u32,
    pub action: String,
    /// The responsible official: a position, not a name.
    pub responsible: String,
    pub unit: String,
    pub action_code: ActionCode,
    /// The term of the stage as the card words it ("у день звернення", "3 робочі дні").
    pub term: String,
}

/// The kind of an application form field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    Date,
    Number,
    YesNo,
    Choice,
}

/// A field of the application form the tablet builds for a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormField {
    pub id: String,
    pub label: String,
    pub kind: FieldKind,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    #[serde(default)]
    pub required: bool,
}

/// A labelled field of a later edition of the Law, carried without code changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtraField {
    pub label: String,
    pub text: String,
}

/// An administrative service with its cards and form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub code: ServiceCode,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_en: Option<String>,
    pub provider: ProviderId,
    pub life_situations: Vec<String>,
    pub legal_areas: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    pub term: Term,
    pub fee: Fee,
    pub result: String,
    pub result_channels: Vec<ResultChannel>,
    pub refusal_grounds: Vec<String>,
    pub legal_acts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<ExtraField>,
    pub documents: Vec<DocumentRequirement>,
    pub stages: Vec<Stage>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub form_fields: Vec<FormField>,
}

impl Service {
    /// What the card asks of an input package, as the conformity check takes it.
    pub fn package_rules(&self) -> PackageRules {
        PackageRules {
            documents: self
                .documents
                .iter()
                .map(|d| RequiredDocument {
                    id: d.id.clone(),
                    title: d.title.clone(),
                    necessity: d.necessity.clone(),
                })
                .collect(),
            fee_is_charged: matches!(self.fee, Fee::Paid { .. }),
        }
    }

    /// The form field with this id.
    pub fn form_field(&self, id: &str) -> Option<&FormField> {
        self.form_fields.iter().find(|f| f.id == id)
    }
}

/// The whole catalog, as published with a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    /// Monotonic version: tablets pull versions newer than theirs.
    pub version: u64,
    pub published: Date,
    pub centre: Centre,
    pub providers: Vec<Provider>,
    pub life_situations: Vec<Group>,
    pub legal_areas: Vec<Group>,
    pub services: Vec<Service>,
}

/// One thing wrong with a catalog, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogProblem {
    #[error("service code {0} is used twice")]
    DuplicateService(ServiceCode),
    #[error("{0} id {1} is used twice")]
    DuplicateGroup(&'static str, String),
    #[error("service {service}: document id {document} is used twice")]
    DuplicateDocument {
        service: ServiceCode,
        document: RequirementId,
    },
    #[error("service {service}: unknown provider {provider}")]
    UnknownProvider {
        service: ServiceCode,
        provider: ProviderId,
    },
    #[error("service {service}: unknown {kind} {group}")]
    UnknownGroup {
        service: ServiceCode,
        kind: &'static str,
        group: String,
    },
    #[error("service {service}: not in any {kind}")]
    Ungrouped {
        service: ServiceCode,
        kind: &'static str,
    },
    #[error("service {0}: the document list is empty")]
    NoDocuments(ServiceCode),
    #[error("service {service}: document {document} is conditional but its condition is empty")]
    EmptyCondition {
        service: ServiceCode,
        document: RequirementId,
    },
    #[error("service {service}: the rule of document {document}'s condition {wrong}")]
    WrongConditionRule {
        service: ServiceCode,
        document: RequirementId,
        wrong: String,
    },
    #[error("service {0}: paid, but the amount is missing")]
    PaidWithoutAmount(ServiceCode),
    #[error("service {0}: paid, but the legal basis or payment details are missing")]
    PaidWithoutPaymentDetails(ServiceCode),
    #[error("service {0}: the technological card has no stages")]
    NoStages(ServiceCode),
    #[error("service {0}: stages are not numbered 1, 2, 3, …")]
    StagesOutOfOrder(ServiceCode),
    #[error("{0}: the title is empty")]
    EmptyTitle(String),
    #[error("service {0}: no way to receive the result")]
    NoResultChannel(ServiceCode),
    #[error("service {service}: choice field {field} has no options")]
    ChoiceWithoutOptions { service: ServiceCode, field: String },
    #[error("service {service}: the recipient's IBAN is wrong: {problem}")]
    BadIban {
        service: ServiceCode,
        problem: IbanProblem,
    },
    #[error("service {service}: the recipient code (ЄДРПОУ/РНОКПП) is wrong: {problem}")]
    BadRecipientCode {
        service: ServiceCode,
        problem: ValidationError,
    },
    #[error("service {service}: the purpose of payment is empty or longer than {max} characters")]
    BadPaymentPurpose { service: ServiceCode, max: usize },
    #[error("service {service}: the payment details do not fit the NBU payment QR: {problem}")]
    PaymentQrUnfit {
        service: ServiceCode,
        problem: PaymentQrError,
    },
}

/// Why a catalog could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("the catalog file cannot be read: {0}")]
    Parse(String),
    #[error("the catalog has {} problem(s), the first: {}", .0.len(), .0.first().map(ToString::to_string).unwrap_or_default())]
    Invalid(Vec<CatalogProblem>),
    #[error("the catalog cannot be written: {0}")]
    Write(String),
}

fn duplicates<'a, T: Ord + Clone + 'a>(items: impl IntoIterator<Item = &'a T>) -> Vec<T> {
    let mut seen = BTreeSet::new();
    let mut twice = BTreeSet::new();
    for item in items {
        if !seen.insert(item) {
            twice.insert(item.clone());
        }
    }
    twice.into_iter().collect()
}

impl Catalog {
    /// Read and validate a catalog file.
    pub fn from_toml_str(text: &str) -> Result<Self, CatalogError> {
        let catalog: Catalog =
            toml::from_str(text).map_err(|e| CatalogError::Parse(e.to_string()))?;
        let problems = catalog.problems();
        if problems.is_empty() {
            Ok(catalog)
        } else {
            Err(CatalogError::Invalid(problems))
        }
    }

    pub fn to_toml_string(&self) -> Result<String, CatalogError> {
        toml::to_string(self).map_err(|e| CatalogError::Write(e.to_string()))
    }

    /// Everything wrong with the catalog, in one list.
    pub fn problems(&self) -> Vec<CatalogProblem> {
        let mut problems = Vec::new();
        problems.extend(
            duplicates(self.services.iter().map(|s| &s.code))
                .into_iter()
                .map(CatalogProblem::DuplicateService),
        );
        for (kind, groups) in [
            ("life situation", &self.life_situations),
            ("legal area", &self.legal_areas),
        ] {
            problems.extend(
                duplicates(groups.iter().map(|g| &g.id))
                    .into_iter()
                    .map(|id| CatalogProblem::DuplicateGroup(kind, id)),
            );
            for group in groups {
                if group.title.trim().is_empty() {
                    problems.push(CatalogProblem::EmptyTitle(format!("{kind} {}", group.id)));
                }
            }
        }
        let providers: BTreeSet<&ProviderId> = self.providers.iter().map(|p| &p.id).collect();
        let situations: BTreeSet<&String> = self.life_situations.iter().map(|g| &g.id).collect();
        let areas: BTreeSet<&String> = self.legal_areas.iter().map(|g| &g.id).collect();
        for service in &self.services {
            problems.extend(service_problems(service, &providers, &situations, &areas));
        }
        problems
    }

    pub fn service(&self, code: &ServiceCode) -> Option<&Service> {
        self.services.iter().find(|s| &s.code == code)
    }

    pub fn provider(&self, id: &ProviderId) -> Option<&Provider> {
        self.providers.iter().find(|p| &p.id == id)
    }

    pub fn services_in_life_situation(&self, id: &str) -> Vec<&Service> {
        self.services
            .iter()
            .filter(|s| s.life_situations.iter().any(|g| g == id))
            .collect()
    }

    pub fn services_in_legal_area(&self, id: &str) -> Vec<&Service> {
        self.services
            .iter()
            .filter(|s| s.legal_areas.iter().any(|g| g == id))
            .collect()
    }

    pub fn services_of_provider(&self, id: &ProviderId) -> Vec<&Service> {
        self.services.iter().filter(|s| &s.provider == id).collect()
    }

    /// Services matching every word of the query, best first (see [`search`]).
    pub fn search(&self, query: &str) -> Vec<&Service> {
        search::rank(&self.services, query)
    }
}

/// What is wrong with a condition's rule in this service, if anything: a rule must be one the
/// tablet can decide, over a field the form has and values the field can take.
fn rule_problem(service: &Service, rule: &ConditionRule) -> Option<String> {
    match rule {
        ConditionRule::RepresentativeActs => None,
        ConditionRule::ApplicantUnder { years: 0 } => Some("counts an age of 0 years".into()),
        ConditionRule::ApplicantUnder { .. } => None,
        ConditionRule::FeeDue if matches!(service.fee, Fee::Free { .. }) => {
            Some("asks for the fee, but the service is free".into())
        }
        ConditionRule::FeeDue => None,
        ConditionRule::FormAnswer { field, any_of } => {
            let Some(form_field) = service.form_field(field) else {
                return Some(format!(
                    "names form field {field}, which the form does not have"
                ));
            };
            if any_of.is_empty() {
                return Some(format!("lists no answers of form field {field}"));
            }
            match form_field.kind {
                FieldKind::Choice => any_of
                    .iter()
                    .find(|v| !form_field.options.contains(v))
                    .map(|v| format!("expects «{v}», which is not an option of {field}")),
                FieldKind::YesNo => any_of
                    .iter()
                    .find(|v| !["так", "ні"].contains(&v.as_str()))
                    .map(|v| format!("expects «{v}» of yes/no field {field} (так or ні)")),
                _ => None,
            }
        }
    }
}

fn service_problems(
    service: &Service,
    providers: &BTreeSet<&ProviderId>,
    situations: &BTreeSet<&String>,
    areas: &BTreeSet<&String>,
) -> Vec<CatalogProblem> {
    use CatalogProblem as P;
    let code = || service.code.clone();
    let mut problems = Vec::new();
    if service.title.trim().is_empty() {
        problems.push(P::EmptyTitle(format!("service {}", service.code)));
    }
    if !providers.contains(&service.provider) {
        problems.push(P::UnknownProvider {
            service: code(),
            provider: service.provider.clone(),
        });
    }
    for (kind, wanted, known) in [
        ("life situation", &service.life_situations, situations),
        ("legal area", &service.legal_areas, areas),
    ] {
        if wanted.is_empty() {
            problems.push(P::Ungrouped {
                service: code(),
                kind,
            });
        }
        for group in wanted.iter().filter(|g| !known.contains(g)) {
            problems.push(P::UnknownGroup {
                service: code(),
                kind,
                group: group.clone(),
            });
        }
    }
    if service.documents.is_empty() {
        problems.push(P::NoDocuments(code()));
    }
    for id in duplicates(service.documents.iter().map(|d| &d.id)) {
        problems.push(P::DuplicateDocument {
            service: code(),
            document: id,
        });
    }
    for document in &service.documents {
        if document.title.trim().is_empty() {
            problems.push(P::EmptyTitle(format!(
                "service {} document {}",
                service.code, document.id
            )));
        }
        if let Necessity::Conditional { condition, rule } = &document.necessity {
            if condition.trim().is_empty() {
                problems.push(P::EmptyCondition {
                    service: code(),
                    document: document.id.clone(),
                });
            }
            if let Some(rule) = rule
                && let Some(wrong) = rule_problem(service, rule)
            {
                problems.push(P::WrongConditionRule {
                    service: code(),
                    document: document.id.clone(),
                    wrong,
                });
            }
        }
    }
    if let Fee::Paid {
        amount_kopecks,
        legal_basis,
        payment,
        details,
    } = &service.fee
    {
        if amount_kopecks.is_none() {
            problems.push(P::PaidWithoutAmount(code()));
        }
        if legal_basis.trim().is_empty() || (payment.trim().is_empty() && details.is_none()) {
            problems.push(P::PaidWithoutPaymentDetails(code()));
        }
        if let Some(details) = details {
            problems.extend(payment_problems(
                code(),
                details,
                amount_kopecks.unwrap_or(0),
            ));
        }
    }
    if service.stages.is_empty() {
        problems.push(P::NoStages(code()));
    } else if service
        .stages
        .iter()
        .enumerate()
        .any(|(i, s)| s.number as usize != i + 1)
    {
        problems.push(P::StagesOutOfOrder(code()));
    }
    if service.result_channels.is_empty() {
        problems.push(P::NoResultChannel(code()));
    }
    for field in &service.form_fields {
        if field.kind == FieldKind::Choice && field.options.is_empty() {
            problems.push(P::ChoiceWithoutOptions {
                service: code(),
                field: field.id.clone(),
            });
        }
    }
    problems
}

/// The longest case number (centre and device codes of up to eight characters, see
/// `case_number`): the reference a payment QR carries for a case.
const REFERENCE_ROOM: &str = "XXXXXXXX/XXXXXXXX/2026/000000-0";

/// What is wrong with a paid service's payment details: each check named, then whether the
/// whole still fits the NBU QR code with a case number as its reference.
fn payment_problems(
    service: ServiceCode,
    details: &PaymentDetails,
    amount_kopecks: u64,
) -> Vec<CatalogProblem> {
    use CatalogProblem as P;
    let mut problems = Vec::new();
    if let Err(problem) = check_ua_iban(&details.iban) {
        problems.push(P::BadIban {
            service: service.clone(),
            problem,
        });
    }
    if let Err(problem) = check_recipient_code(&details.recipient_code) {
        problems.push(P::BadRecipientCode {
            service: service.clone(),
            problem,
        });
    }
    let max = NbuQrFormat::F003.max_purpose();
    let purpose = details.purpose.trim().chars().count();
    if purpose == 0 || purpose > max {
        problems.push(P::BadPaymentPurpose {
            service: service.clone(),
            max,
        });
    }
    if problems.is_empty() {
        let order = PaymentOrder {
            details: details.clone(),
            amount_kopecks,
            reference: Some(REFERENCE_ROOM.into()),
        };
        if let Err(problem) = order.nbu_qr(NbuQrFormat::F003) {
            problems.push(P::PaymentQrUnfit { service, problem });
        }
    }
    problems
}

/// Search by Ukrainian words.
///
/// Text is lower-cased, the apostrophe variants (' ’ ʼ `) become one, other punctuation is a
/// word break. A query word matches a word of the card when the card's word starts with the
/// query word's *stem*: the word without its longest common Ukrainian ending, keeping at least
/// three letters ("субсидію", "субсидії" → "субсид…"; "довіреності" → "довірен…", which also
/// covers the і/о alternation of "довіреність"). Words of one or two letters ("з", "на") are ignored. Every remaining query word
/// must match; a match in the title (Ukrainian or English) weighs 3, in the keywords 2, in the
/// result or a document title 1.
pub mod search {
    use super::*;

    pub(super) fn normalise(text: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut word = String::new();
        for c in text.chars().flat_map(char::to_lowercase) {
            let c = if matches!(c, '’' | 'ʼ' | '`' | '‘' | 'ʹ') {
                '\''
            } else {
                c
            };
            if c.is_alphanumeric() || (c == '\'' && !word.is_empty()) {
                word.push(c);
            } else if !word.is_empty() {
                words.push(std::mem::take(&mut word).trim_end_matches('\'').to_owned());
            }
        }
        if !word.is_empty() {
            words.push(word.trim_end_matches('\'').to_owned());
        }
        words
    }

    /// Common Ukrainian inflectional endings, longest first.
    const ENDINGS: &[&str] = &[
        "ості", "ість", "ого", "ому", "ими", "ами", "ями", "ові", "еві", "ів", "ою", "ею", "ія",
        "ії", "ію", "ій", "ий", "ам", "ям", "ах", "ях", "ом", "ем", "им", "а", "я", "у", "ю", "і",
        "и", "о", "е", "ь", "й",
    ];

    pub(super) fn stem(word: &str) -> String {
        for ending in ENDINGS {
            if let Some(base) = word.strip_suffix(ending)
                && base.chars().count() >= 3
            {
                return base.to_owned();
            }
        }
        word.to_owned()
    }

    fn weight(service: &Service, query_stem: &str) -> u32 {
        let hit = |text: &str| normalise(text).iter().any(|w| w.starts_with(query_stem));
        if hit(&service.title) || service.title_en.as_deref().is_some_and(hit) {
            3
        } else if service.keywords.iter().any(|k| hit(k)) {
            2
        } else if hit(&service.result) || service.documents.iter().any(|d| hit(&d.title)) {
            1
        } else {
            0
        }
    }

    pub(super) fn rank<'a>(services: &'a [Service], query: &str) -> Vec<&'a Service> {
        let words = normalise(query);
        let stems: Vec<String> = words
            .iter()
            .filter(|w| w.chars().count() > 2)
            .map(|w| stem(w))
            .collect();
        if stems.is_empty() {
            return Vec::new();
        }
        let mut scored: Vec<(u32, usize, &Service)> = services
            .iter()
            .enumerate()
            .filter_map(|(i, service)| {
                let weights: Vec<u32> = stems.iter().map(|s| weight(service, s)).collect();
                weights
                    .iter()
                    .all(|&w| w > 0)
                    .then(|| (weights.iter().sum(), i, service))
            })
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        scored.into_iter().map(|(_, _, s)| s).collect()
    }
}

/// The catalog's groupings with their services, for the tablet's three ways to browse.
pub fn browse_by_provider(catalog: &Catalog) -> BTreeMap<&ProviderId, Vec<&Service>> {
    let mut map: BTreeMap<&ProviderId, Vec<&Service>> = BTreeMap::new();
    for service in &catalog.services {
        map.entry(&service.provider).or_default().push(service);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
version = 3
published = "2026-11-01"

[centre]
code = "LV01"
name = "ЦНАП"
address = "м. Львів"

[[providers]]
id = "dms"
name = "ДМС"
address = "м. Львів"

[[life_situations]]
id = "residence"
title = "Зміна місця проживання"

[[legal_areas]]
id = "registration"
title = "Реєстрація"

[[services]]
code = "S1"
title = "Реєстрація місця проживання"
provider = "dms"
life_situations = ["residence"]
legal_areas = ["registration"]
keywords = ["прописка"]
term = { days = 1, kind = "working" }
fee = { kind = "paid", amount_kopecks = 3400, legal_basis = "ЗУ", payment = "IBAN UA00" }
result = "Реєстрація місця проживання"
result_channels = ["at_centre"]
refusal_grounds = ["неповний пакет"]
legal_acts = ["ЗУ № 1871-IX"]

[[services.documents]]
id = "application"
title = "Заява"
form = "original"
necessity = { kind = "mandatory" }

[[services.documents]]
id = "poa"
title = "Довіреність"
form = "original_and_copy"
necessity = { kind = "conditional", condition = "якщо діє представник" }

[[services.stages]]
number = 1
action = "Прийом заяви"
responsible = "адміністратор ЦНАП"
unit = "ЦНАП"
action_code = "performs"
term = "у день звернення"
"#;

    fn problems_of(edit: impl Fn(&mut Catalog)) -> Vec<CatalogProblem> {
        let mut catalog = Catalog::from_toml_str(MINIMAL).unwrap();
        edit(&mut catalog);
        catalog.problems()
    }

    #[test]
    fn minimal_catalog_is_valid_and_round_trips() {
        let catalog = Catalog::from_toml_str(MINIMAL).unwrap();
        assert_eq!(catalog.version, 3);
        let written = catalog.to_toml_string().unwrap();
        assert_eq!(Catalog::from_toml_str(&written).unwrap(), catalog);
    }

    #[test]
    fn duplicate_service_codes_are_refused() {
        let problems = problems_of(|c| c.services.push(c.services[0].clone()));
        assert!(problems.contains(&CatalogProblem::DuplicateService(ServiceCode("S1".into()))));
    }

    #[test]
    fn duplicate_document_ids_within_a_service_are_refused() {
        let problems = problems_of(|c| {
            let copy = c.services[0].documents[0].clone();
            c.services[0].documents.push(copy);
        });
        assert!(matches!(
            &problems[..],
            [CatalogProblem::DuplicateDocument { .. }]
        ));
    }

    #[test]
    fn unknown_provider_and_groups_are_refused() {
        let problems = problems_of(|c| {
            c.services[0].provider = ProviderId("nobody".into());
            c.services[0].legal_areas = vec!["nowhere".into()];
        });
        assert_eq!(problems.len(), 2, "{problems:?}");
    }

    #[test]
    fn service_outside_a_grouping_is_refused() {
        let problems = problems_of(|c| c.services[0].life_situations.clear());
        assert!(matches!(
            &problems[..],
            [CatalogProblem::Ungrouped {
                kind: "life situation",
                ..
            }]
        ));
    }

    #[test]
    fn service_without_documents_is_refused() {
        let problems = problems_of(|c| c.services[0].documents.clear());
        assert_eq!(
            problems,
            vec![CatalogProblem::NoDocuments(ServiceCode("S1".into()))]
        );
    }

    #[test]
    fn conditional_document_without_condition_is_refused() {
        let problems = problems_of(|c| {
            c.services[0].documents[1].necessity = Necessity::Conditional {
                condition: " ".into(),
                rule: None,
            }
        });
        assert!(matches!(
            &problems[..],
            [CatalogProblem::EmptyCondition { .. }]
        ));
    }

    #[test]
    fn a_condition_rule_must_name_a_real_field_and_option_and_a_paid_fee() {
        let rule_problems = |rule: ConditionRule| {
            problems_of(|c| {
                c.services[0].fee = Fee::Free { legal_basis: None };
                c.services[0].form_fields = vec![FormField {
                    id: "basis".into(),
                    label: "Підстава".into(),
                    kind: FieldKind::Choice,
                    options: vec!["власник".into(), "наймач".into()],
                    required: true,
                }];
                c.services[0].documents[1].necessity = Necessity::Conditional {
                    condition: "якщо заявник не є власником".into(),
                    rule: Some(rule.clone()),
                };
            })
        };
        let answer = |field: &str, value: &str| ConditionRule::FormAnswer {
            field: field.into(),
            any_of: vec![value.into()],
        };
        assert_eq!(rule_problems(answer("basis", "наймач")), vec![]);
        for wrong in [
            answer("no-such-field", "наймач"),
            answer("basis", "орендар"),
            ConditionRule::ApplicantUnder { years: 0 },
            ConditionRule::FeeDue,
        ] {
            assert!(
                matches!(
                    &rule_problems(wrong.clone())[..],
                    [CatalogProblem::WrongConditionRule { .. }]
                ),
                "{wrong:?} was not refused"
            );
        }
    }

    #[test]
    fn the_demo_catalog_decides_the_residence_conditions_by_rules() {
        let catalog = Catalog::from_toml_str(include_str!("../../../assets/catalog/catalog.toml"))
            .expect("the demo catalog is valid");
        let residence = catalog
            .service(&ServiceCode("00001".into()))
            .expect("residence service");
        let rule = |id: &str| match &residence.documents.iter().find(|d| d.id.0 == id)?.necessity {
            Necessity::Conditional { rule, .. } => rule.clone(),
            Necessity::Mandatory => None,
        };
        assert!(
            matches!(rule("owner-consent"), Some(ConditionRule::FormAnswer { field, .. }) if field == "housing_basis")
        );
        assert_eq!(rule("fee-receipt"), Some(ConditionRule::FeeDue));
        assert_eq!(rule("authority"), Some(ConditionRule::RepresentativeActs));
        assert_eq!(
            rule("birth-certificate"),
            Some(ConditionRule::ApplicantUnder { years: 14 })
        );
    }

    #[test]
    fn paid_service_without_payment_details_is_refused() {
        let problems = problems_of(|c| {
            c.services[0].fee = Fee::Paid {
                amount_kopecks: None,
                legal_basis: String::new(),
                payment: String::new(),
                details: None,
            }
        });
        assert_eq!(
            problems,
            vec![
                CatalogProblem::PaidWithoutAmount(ServiceCode("S1".into())),
                CatalogProblem::PaidWithoutPaymentDetails(ServiceCode("S1".into()))
            ]
        );
    }

    fn with_details(edit: impl Fn(&mut PaymentDetails)) -> Vec<CatalogProblem> {
        problems_of(|c| {
            let mut details = PaymentDetails {
                recipient: "Демо-отримувач адміністративного збору".into(),
                iban: "UA989999990000026007233566001".into(),
                recipient_code: "12345678".into(),
                purpose: "Адміністративний збір за декларування місця проживання".into(),
            };
            edit(&mut details);
            if let Fee::Paid { details: d, .. } = &mut c.services[0].fee {
                *d = Some(details);
            }
        })
    }

    #[test]
    fn valid_payment_details_pass() {
        assert_eq!(with_details(|_| {}), vec![]);
    }

    #[test]
    fn wrong_iban_checksum_is_refused() {
        let problems = with_details(|d| d.iban = "UA979999990000026007233566001".into());
        assert_eq!(
            problems,
            vec![CatalogProblem::BadIban {
                service: ServiceCode("S1".into()),
                problem: IbanProblem::BadCheckDigits
            }]
        );
    }

    #[test]
    fn wrong_recipient_code_and_purpose_are_refused() {
        let problems = with_details(|d| {
            d.recipient_code = "12345679".into();
            d.purpose = "т".repeat(421);
        });
        assert!(matches!(
            &problems[..],
            [
                CatalogProblem::BadRecipientCode { .. },
                CatalogProblem::BadPaymentPurpose { max: 420, .. }
            ]
        ));
    }

    #[test]
    fn details_the_qr_cannot_carry_are_refused() {
        let problems = with_details(|d| d.recipient = "Отримувач 😀".into());
        assert!(matches!(
            &problems[..],
            [CatalogProblem::PaymentQrUnfit {
                problem: PaymentQrError::Character { .. },
                ..
            }]
        ));
    }

    #[test]
    fn catalogs_without_payment_details_still_load() {
        let catalog = Catalog::from_toml_str(MINIMAL).unwrap();
        assert!(matches!(
            catalog.services[0].fee,
            Fee::Paid { details: None, .. }
        ));
    }

    #[test]
    fn stages_must_exist_and_be_numbered_in_order() {
        assert!(matches!(
            &problems_of(|c| c.services[0].stages.clear())[..],
            [CatalogProblem::NoStages(_)]
        ));
        let problems = problems_of(|c| c.services[0].stages[0].number = 2);
        assert!(matches!(
            &problems[..],
            [CatalogProblem::StagesOutOfOrder(_)]
        ));
    }

    #[test]
    fn empty_titles_and_choice_fields_without_options_are_refused() {
        let problems = problems_of(|c| {
            c.services[0].title = " ".into();
            c.services[0].form_fields.push(FormField {
                id: "reason".into(),
                label: "Причина".into(),
                kind: FieldKind::Choice,
                options: vec![],
                required: true,
            });
        });
        assert_eq!(problems.len(), 2, "{problems:?}");
    }

    #[test]
    fn all_problems_are_reported_at_once() {
        let broken = MINIMAL.replace("provider = \"dms\"", "provider = \"x\"");
        let broken = broken.replace("title = \"Заява\"", "title = \"\"");
        match Catalog::from_toml_str(&broken) {
            Err(CatalogError::Invalid(problems)) => assert_eq!(problems.len(), 2, "{problems:?}"),
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[test]
    fn unreadable_file_is_a_parse_error() {
        assert!(matches!(
            Catalog::from_toml_str("version = \"x\""),
            Err(CatalogError::Parse(_))
        ));
    }

    #[test]
    fn money_is_shown_in_hryvnias_and_kopecks() {
        let fee = Fee::Paid {
            amount_kopecks: Some(3405),
            legal_basis: "x".into(),
            payment: "y".into(),
            details: None,
        };
        assert_eq!(fee.display_uk(), "34,05 грн");
        assert_eq!(Fee::Free { legal_basis: None }.display_uk(), "безоплатно");
    }

    #[test]
    fn search_normalises_case_apostrophes_and_punctuation() {
        assert_eq!(
            search::normalise("Сім’я, МІСЦЕ—проживання!"),
            vec!["сім'я", "місце", "проживання"]
        );
        assert_eq!(search::normalise("сімʼя"), search::normalise("сім'я"));
    }

    #[test]
    fn search_stems_cover_ukrainian_endings() {
        assert_eq!(search::stem("субсидію"), "субсид");
        assert_eq!(search::stem("довіреності"), "довірен");
        assert_eq!(search::stem("місця"), "місц");
        assert_eq!(search::stem("реєстрації"), "реєстрац");
        assert_eq!(search::stem("ВПО".to_lowercase().as_str()), "впо");
    }

    #[test]
    fn search_finds_inflected_words_ranks_titles_first_and_ignores_empty_queries() {
        let mut catalog = Catalog::from_toml_str(MINIMAL).unwrap();
        let mut other = catalog.services[0].clone();
        other.code = ServiceCode("S2".into());
        other.title = "Інша послуга".into();
        other.keywords = vec!["реєстрація".into()];
        catalog.services.insert(0, other);
        let found: Vec<&str> = catalog
            .search("реєстрації")
            .iter()
            .map(|s| s.code.0.as_str())
            .collect();
        assert_eq!(found, vec!["S1", "S2"]);
        assert_eq!(catalog.search("прописку").len(), 1);
        assert_eq!(catalog.search("довіреності").len(), 2);
        assert!(catalog.search("").is_empty());
        assert!(catalog.search(" , на ").is_empty());
        assert!(catalog.search("реєстрації пенсії").is_empty());
    }

    #[test]
    fn search_reads_the_english_title_and_the_result_too() {
        let mut catalog = Catalog::from_toml_str(MINIMAL).unwrap();
        catalog.services[0].title_en = Some("Registration of residence".into());
        catalog.services[0].result = "Витяг з реєстру громади".into();
        assert_eq!(catalog.search("residence").len(), 1);
        assert_eq!(catalog.search("витягу").len(), 1);
    }
}
