//! The case (справа): who applies, for which service, with which documents, what they chose,
//! who signed, where the visit took place, and the conformity conclusion (regulation 6.7–6.15).
//!
//! Everything here that names a person is personal data: its `Debug` prints `<redacted>`, so
//! a case can be logged by id and state without leaking anything.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::calendar::CaseDates;
use crate::case_number::CaseNumber;
use crate::common::{DocumentForm, RequirementId, ServiceCode};
use crate::conditions::{CaseFacts, FeePayment};
pub use crate::conformity::{
    Assessment, Conformity, ConformityConclusion, ConformityOverride, MissingDocument,
    PackageRules, RequiredDocument, Unsettled,
};
use crate::ink::{InkDocument, InkSignedSheets};
use crate::workflow::{CaseEvent, CaseState, WorkflowError};

macro_rules! redacted_debug {
    ($($t:ty),*) => {$(
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($t), "(<redacted>)"))
            }
        }
    )*};
}

/// Why a change to a case was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    #[error("overriding the conformity conclusion needs a written note")]
    OverrideNeedsNote,
    #[error("the inventory is not signed by the administrator")]
    AdministratorSignatureMissing,
    #[error("the inventory is not signed by the applicant, and no reason is recorded why not")]
    ApplicantSignatureMissing,
    #[error("the applicant could not sign, but nobody signed instead")]
    SubstituteSignatureMissing,
    #[error("a signature is bound to another version of the inventory or the application")]
    SignatureForOtherInventory,
    #[error("the reason why the applicant cannot sign is empty")]
    WaiverNeedsReason,
    #[error("the name of the person who signs instead of the applicant is empty")]
    WaiverNeedsSignerName,
    #[error("the identity document of the witness who signs instead of the applicant is empty")]
    WaiverNeedsSignerDocument,
    #[error("only a witness or the representative may sign instead of the applicant")]
    WaiverSignerRole,
    #[error("the representative cannot sign instead of the applicant: no representative acts")]
    WaiverWithoutRepresentative,
    #[error(transparent)]
    ConditionsOpen(#[from] Unsettled),
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
}

/// Surname, given name and patronymic (прізвище, ім'я, по батькові).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonName {
    pub surname: String,
    pub given_name: String,
    #[serde(default)]
    pub patronymic: Option<String>,
}

/// A postal address, as written.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Address(pub String);

/// A phone number or e-mail address (validated by `validators` when entered).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Contact(pub String);

/// The kind of identity document presented.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityDocumentKind {
    /// Паспорт громадянина України у формі ID-картки.
    IdCard,
    /// Паспорт громадянина України у формі книжечки.
    PassportBook,
    ResidencePermit,
    BirthCertificate,
    Other(String),
}

/// The identity document of a person.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityDocument {
    pub kind: IdentityDocumentKind,
    pub number: String,
    pub issued_by: String,
    #[serde(default)]
    pub issued_on: Option<Date>,
}

/// A natural person (фізична особа).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NaturalPerson {
    pub name: PersonName,
    /// РНОКПП; absent when the person refused it on religious grounds (a mark in the passport).
    #[serde(default)]
    pub rnokpp: Option<String>,
    pub birth_date: Date,
    pub identity_document: IdentityDocument,
    pub address: Address,
    #[serde(default)]
    pub phone: Option<Contact>,
    #[serde(default)]
    pub email: Option<Contact>,
}

/// A legal entity (юридична особа) and the person acting for it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalEntity {
    pub name: String,
    pub edrpou: String,
    pub address: Address,
    pub acting_person: PersonName,
    /// The acting person's position or basis ("директор", "за довіреністю").
    pub acting_as: String,
}

/// The applicant (суб'єкт звернення).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Applicant {
    NaturalPerson(NaturalPerson),
    LegalEntity(LegalEntity),
}

/// The kind of document proving a representative's authority (regulation 6.7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorityKind {
    /// Нотаріально посвідчена довіреність.
    PowerOfAttorney,
    /// Рішення про встановлення опіки чи піклування.
    Guardianship,
    /// Свідоцтво про народження (законний представник дитини).
    ParentOfChild,
    Other(String),
}

/// The document that proves a representative may act for the applicant.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorityDocument {
    pub kind: AuthorityKind,
    pub number: String,
    pub date: Date,
    pub issued_by: String,
    #[serde(default)]
    pub valid_until: Option<Date>,
}

/// A representative acting for the applicant.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Representative {
    pub person: NaturalPerson,
    pub authority: AuthorityDocument,
}

impl AuthorityDocument {
    pub fn valid_on(&self, date: Date) -> bool {
        self.date <= date && self.valid_until.is_none_or(|until| date <= until)
    }
}

/// A page stored in the vault: an opaque id and the SHA-256 of its image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRef {
    pub blob_id: String,
    pub sha256: String,
}

/// How a document got into the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureMethod {
    Scanned,
    Photographed,
    Imported,
    /// The applicant signed the printed application in ink and it was scanned.
    SignedInInkAndScanned,
}

/// A document captured against one requirement of the information card.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapturedDocument {
    pub requirement: RequirementId,
    pub form: DocumentForm,
    pub method: CaptureMethod,
    pub pages: Vec<PageRef>,
    /// Raw payloads of the QR codes found on the pages, kept with the document.
    #[serde(default)]
    pub qr_payloads: Vec<String>,
}

impl CapturedDocument {
    pub fn page_count(&self) -> usize {
        self.pages.len()
    }
}

/// How the applicant wants to be told that the result is ready (6.15.1).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "channel")]
pub enum Notification {
    Sms { phone: Contact },
    Email { address: Contact },
    PhoneCall { phone: Contact },
}

/// How the applicant wants to receive the result (6.15.2).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "method")]
pub enum ResultDelivery {
    AtCentre,
    Post { address: Address },
    MobileAdministrator { address: Address },
    Electronic { email: Contact },
}

/// Who signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignerRole {
    Applicant,
    Representative,
    Witness,
    Administrator,
}

/// A signature, by reference: the signature record (strokes and image) lives in the vault and
/// travels in the sealed envelope; it is bound to the SHA-256 of the exact document it signs
/// (at registration: of the application and the inventory together, see `SignedPapers`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureRef {
    pub role: SignerRole,
    pub record_id: String,
    pub signed_document_sha256: String,
}

pub use crate::waiver::{SignatureWaiver, Substitute, WaiverGround};

/// Where the visit took place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitPlaceKind {
    Home,
    Hospital,
    CareFacility,
    Other(String),
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitPlace {
    pub kind: VisitPlaceKind,
    pub address: Address,
}

redacted_debug!(
    PersonName,
    Address,
    Contact,
    IdentityDocument,
    NaturalPerson,
    LegalEntity,
    Applicant,
    AuthorityDocument,
    Representative,
    CapturedDocument,
    Notification,
    ResultDelivery,
    VisitPlace
);

/// One case, from the draft on the tablet to the hand-over of the result.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// Opaque id of the case on this device (no personal data).
    pub id: String,
    #[serde(default, with = "case_number_text")]
    pub number: Option<CaseNumber>,
    pub service: ServiceCode,
    pub applicant: Applicant,
    #[serde(default)]
    pub representative: Option<Representative>,
    pub visit_place: VisitPlace,
    #[serde(default)]
    pub documents: Vec<CapturedDocument>,
    /// The administrator's «так» / «ні» for conditional requirements that no rule decides.
    /// Case records sealed before answers could be «ні» carry `conditions_hold`, a list of
    /// the ones that held: they read as «так».
    #[serde(default, alias = "conditions_hold", with = "condition_answers")]
    pub condition_answers: BTreeMap<RequirementId, bool>,
    /// Paid, exempt or paying later, for a paid service.
    #[serde(default)]
    pub fee: Option<FeePayment>,
    #[serde(default)]
    pub form_answers: BTreeMap<String, String>,
    #[serde(default)]
    pub conformity_override: Option<ConformityOverride>,
    #[serde(default)]
    pub notification: Option<Notification>,
    #[serde(default)]
    pub delivery: Option<ResultDelivery>,
    #[serde(default)]
    pub signatures: Vec<SignatureRef>,
    #[serde(default)]
    pub applicant_cannot_sign: Option<SignatureWaiver>,
    /// Printed sheets signed in ink and scanned back, each bound to the content it shows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ink_signed: Vec<InkSignedSheets>,
    /// The SHA-256 of the application's content (заява) signed together with the inventory;
    /// absent in cases sealed before the application was a document of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_sha256: Option<String>,
    /// The SHA-256 of the receipt's tracking code (`tracking::TrackingCode::sha256_hex`): what
    /// the server files the case under for the public tracking page. Never the code itself;
    /// absent in cases sealed before receipts carried one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_code_sha256: Option<String>,
    pub state: CaseState,
    #[serde(default)]
    pub dates: Option<CaseDates>,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case")
            .field("id", &self.id)
            .field("service", &self.service)
            .field("state", &self.state)
            .field("documents", &self.documents.len())
            .field("signatures", &self.signatures.len())
            .finish_non_exhaustive()
    }
}

/// Reads the answers as a map, or the older list of conditions that held.
mod condition_answers {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::common::RequirementId;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Answers(BTreeMap<RequirementId, bool>),
        Held(Vec<RequirementId>),
    }

    pub fn serialize<S: Serializer>(
        value: &BTreeMap<RequirementId, bool>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        value.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<RequirementId, bool>, D::Error> {
        Ok(match Stored::deserialize(d)? {
            Stored::Answers(answers) => answers,
            Stored::Held(held) => held.into_iter().map(|id| (id, true)).collect(),
        })
    }
}

mod case_number_text {
    use super::CaseNumber;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<CaseNumber>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(number) => s.serialize_some(&number.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<CaseNumber>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| CaseNumber::parse(&t).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// The papers the applicant signs on the visit, by the SHA-256 of each one's content, and the
/// hash every signature binds to: the inventory's alone, or — with the application — the hash
/// of the pair the receipt crate computes (`fieldkit_receipt::signed_set_sha256`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPapers {
    pub inventory_sha256: String,
    pub application_sha256: Option<String>,
    pub signed_sha256: String,
}

impl SignedPapers {
    /// The inventory alone, as cases were signed before the application was a document.
    pub fn inventory_only(inventory_sha256: &str) -> Self {
        Self {
            inventory_sha256: inventory_sha256.to_owned(),
            application_sha256: None,
            signed_sha256: inventory_sha256.to_owned(),
        }
    }
}

impl Case {
    /// A new draft.
    pub fn new_draft(
        id: &str,
        service: ServiceCode,
        applicant: Applicant,
        visit_place: VisitPlace,
    ) -> Self {
        Self {
            id: id.to_owned(),
            number: None,
            service,
            applicant,
            representative: None,
            visit_place,
            documents: Vec::new(),
            condition_answers: BTreeMap::new(),
            fee: None,
            form_answers: BTreeMap::new(),
            conformity_override: None,
            notification: None,
            delivery: None,
            signatures: Vec::new(),
            applicant_cannot_sign: None,
            ink_signed: Vec::new(),
            application_sha256: None,
            tracking_code_sha256: None,
            state: CaseState::Draft,
            dates: None,
        }
    }

    /// What the conditions of the information card are decided on.
    pub fn facts(&self, fee_is_charged: bool, on: Date) -> CaseFacts<'_> {
        CaseFacts {
            representative_acts: self.representative.is_some(),
            applicant_birth_date: match &self.applicant {
                Applicant::NaturalPerson(person) => Some(person.birth_date),
                Applicant::LegalEntity(_) => None,
            },
            on,
            form_answers: &self.form_answers,
            fee_is_charged,
            fee: self.fee.as_ref(),
            answers: &self.condition_answers,
        }
    }

    /// The package against the card on the day of application: each condition's outcome, and
    /// the conclusion once every condition is decided.
    pub fn assess(&self, rules: &PackageRules, on: Date) -> Assessment {
        Assessment::of(
            rules,
            &self.documents,
            &self.facts(rules.fee_is_charged, on),
        )
    }

    /// The conclusion the inventory states, or which conditions are still open.
    pub fn conformity(
        &self,
        rules: &PackageRules,
        on: Date,
    ) -> Result<ConformityConclusion, Unsettled> {
        Ok(ConformityConclusion {
            computed: self.assess(rules, on).computed?,
            overridden: self.conformity_override.clone(),
        })
    }

    /// The administrator overrides the computed conclusion; a note saying why is required.
    pub fn override_conformity(&mut self, conforms: bool, note: &str) -> Result<(), CaseError> {
        if note.trim().is_empty() {
            return Err(CaseError::OverrideNeedsNote);
        }
        self.conformity_override = Some(ConformityOverride {
            conforms,
            note: note.trim().to_owned(),
        });
        Ok(())
    }

    /// Record that the applicant cannot sign, why, and who signs instead.
    pub fn waive_applicant_signature(
        &mut self,
        ground: Option<WaiverGround>,
        note: &str,
        substitute: Substitute,
    ) -> Result<(), CaseError> {
        let waiver = SignatureWaiver::new(ground, note, substitute, self.representative.is_some())?;
        self.applicant_cannot_sign = Some(waiver);
        Ok(())
    }

    /// Are the signatures complete, all bound to the papers signed together?
    /// The administrator always signs; the applicant signs (on the tablet, or every sheet of
    /// each paper in ink), or the reason is recorded and the representative or a witness signs
    /// instead.
    pub fn check_signatures(&self, papers: &SignedPapers) -> Result<(), CaseError> {
        if self
            .signatures
            .iter()
            .any(|s| s.signed_document_sha256 != papers.signed_sha256)
        {
            return Err(CaseError::SignatureForOtherInventory);
        }
        let signed = |role| self.signatures.iter().any(|s| s.role == role);
        if !signed(SignerRole::Administrator) {
            return Err(CaseError::AdministratorSignatureMissing);
        }
        if signed(SignerRole::Applicant) || self.signed_in_ink(papers) {
            return Ok(());
        }
        match &self.applicant_cannot_sign {
            None => Err(CaseError::ApplicantSignatureMissing),
            Some(waiver) => {
                waiver.check()?;
                if signed(waiver.signed_instead_by) {
                    Ok(())
                } else {
                    Err(CaseError::SubstituteSignatureMissing)
                }
            }
        }
    }

    /// Whether scans of these very papers, every sheet signed in ink, are in the case: the
    /// inventory, and the application when one is signed with it.
    pub fn signed_in_ink(&self, papers: &SignedPapers) -> bool {
        let back = |document, sha256: &str| {
            self.ink_signed.iter().any(|sheets| {
                sheets.document == document && sheets.content_sha256 == sha256 && sheets.complete()
            })
        };
        back(InkDocument::Inventory, &papers.inventory_sha256)
            && papers
                .application_sha256
                .as_deref()
                .is_none_or(|sha256| back(InkDocument::Application, sha256))
    }

    /// Register the case: every condition of the card is decided and the papers are signed
    /// (regulation 6.12–6.13); the case keeps the application's hash it was signed with.
    pub fn register(
        &mut self,
        rules: &PackageRules,
        number: CaseNumber,
        papers: &SignedPapers,
        today: Date,
    ) -> Result<(), CaseError> {
        self.conformity(rules, today)?;
        self.check_signatures(papers)?;
        self.application_sha256 = papers.application_sha256.clone();
        self.state = self.state.apply(&CaseEvent::InventorySigned)?;
        self.number = Some(number);
        self.dates = Some(CaseDates {
            registered: today,
            forwarded: None,
            decided: None,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn papers(inventory: &str) -> SignedPapers {
        SignedPapers::inventory_only(inventory)
    }
    use crate::common::Necessity;
    use crate::conditions::ConditionRule;
    use time::macros::date;

    fn person() -> NaturalPerson {
        NaturalPerson {
            name: PersonName {
                surname: "Шевченко".into(),
                given_name: "Марія".into(),
                patronymic: Some("Іванівна".into()),
            },
            rnokpp: Some("1687545620".into()),
            birth_date: date!(1946 - 03 - 15),
            identity_document: IdentityDocument {
                kind: IdentityDocumentKind::IdCard,
                number: "001234567".into(),
                issued_by: "4610".into(),
                issued_on: Some(date!(2019 - 05 - 20)),
            },
            address: Address("м. Львів, вул. Зелена, 12, кв. 3".into()),
            phone: Some(Contact("+380671234567".into())),
            email: None,
        }
    }

    fn draft() -> Case {
        Case::new_draft(
            "c-0001",
            ServiceCode("01151".into()),
            Applicant::NaturalPerson(person()),
            VisitPlace {
                kind: VisitPlaceKind::Home,
                address: Address("м. Львів, вул. Зелена, 12".into()),
            },
        )
    }

    const ON: Date = date!(2026 - 11 - 24);

    fn requirements() -> PackageRules {
        let document = |id: &str, title: &str, necessity| RequiredDocument {
            id: RequirementId(id.into()),
            title: title.into(),
            necessity,
        };
        PackageRules {
            documents: vec![
                document("application", "Заява", Necessity::Mandatory),
                document("passport", "Паспорт", Necessity::Mandatory),
                document(
                    "poa",
                    "Довіреність",
                    Necessity::Conditional {
                        condition: "якщо діє представник".into(),
                        rule: Some(ConditionRule::RepresentativeActs),
                    },
                ),
                document(
                    "income",
                    "Довідка про доходи",
                    Necessity::Conditional {
                        condition: "якщо є доходи, не відомі ДПС".into(),
                        rule: None,
                    },
                ),
            ],
            fee_is_charged: false,
        }
    }

    /// A draft whose conditions no rule decides are answered «ні».
    fn settled_draft() -> Case {
        let mut case = draft();
        case.condition_answers
            .insert(RequirementId("income".into()), false);
        case
    }

    fn computed(case: &Case) -> Conformity {
        case.conformity(&requirements(), ON).unwrap().computed
    }

    fn captured(id: &str, pages: usize) -> CapturedDocument {
        CapturedDocument {
            requirement: RequirementId(id.into()),
            form: DocumentForm::Original,
            method: CaptureMethod::Scanned,
            pages: (0..pages)
                .map(|i| PageRef {
                    blob_id: format!("b{i}"),
                    sha256: "00".repeat(32),
                })
                .collect(),
            qr_payloads: Vec::new(),
        }
    }

    fn signature(role: SignerRole, hash: &str) -> SignatureRef {
        SignatureRef {
            role,
            record_id: format!("sig-{role:?}"),
            signed_document_sha256: hash.into(),
        }
    }

    #[test]
    fn package_without_a_mandatory_document_does_not_conform() {
        let mut case = settled_draft();
        case.documents.push(captured("application", 1));
        let conclusion = case.conformity(&requirements(), ON).unwrap();
        assert_eq!(
            conclusion.computed,
            Conformity::DoesNotConform {
                missing: vec![MissingDocument {
                    id: RequirementId("passport".into()),
                    title: "Паспорт".into()
                }]
            }
        );
        assert!(!conclusion.conforms());
    }

    #[test]
    fn no_conclusion_while_a_condition_is_undecided() {
        let mut case = draft();
        case.documents.push(captured("application", 1));
        case.documents.push(captured("passport", 1));
        let open = case.conformity(&requirements(), ON).unwrap_err().open;
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].requirement, RequirementId("income".into()));
        case.condition_answers
            .insert(RequirementId("income".into()), true);
        assert_eq!(
            computed(&case),
            Conformity::DoesNotConform {
                missing: vec![MissingDocument {
                    id: RequirementId("income".into()),
                    title: "Довідка про доходи".into()
                }]
            }
        );
    }

    #[test]
    fn a_representative_makes_the_authority_document_required() {
        let mut case = settled_draft();
        case.documents.push(captured("application", 1));
        case.documents.push(captured("passport", 2));
        assert_eq!(computed(&case), Conformity::Conforms);
        let Applicant::NaturalPerson(person) = case.applicant.clone() else {
            unreachable!("the test applicant is a person")
        };
        case.representative = Some(Representative {
            person,
            authority: AuthorityDocument {
                kind: AuthorityKind::PowerOfAttorney,
                number: "ННМ 123456".into(),
                date: date!(2026 - 01 - 10),
                issued_by: "нотаріус".into(),
                valid_until: None,
            },
        });
        assert!(matches!(
            computed(&case),
            Conformity::DoesNotConform { missing } if missing[0].id.0 == "poa"
        ));
    }

    #[test]
    fn answers_sealed_as_a_list_of_held_conditions_still_read() {
        let mut value = serde_json::to_value(settled_draft()).unwrap();
        let record = value.as_object_mut().unwrap();
        record.remove("condition_answers");
        record.insert("conditions_hold".into(), serde_json::json!(["income"]));
        let case: Case = serde_json::from_value(value).unwrap();
        assert_eq!(
            case.condition_answers.get(&RequirementId("income".into())),
            Some(&true)
        );
    }

    #[test]
    fn a_case_without_a_tracking_code_keeps_the_bytes_it_was_sealed_with() {
        let case = settled_draft();
        let json = serde_json::to_string(&case).unwrap();
        assert!(!json.contains("tracking_code_sha256"), "{json}");
        let back: Case = serde_json::from_str(&json).unwrap();
        assert_eq!(back.tracking_code_sha256, None);
        assert_eq!(serde_json::to_string(&back).unwrap(), json);

        let mut tracked = settled_draft();
        tracked.tracking_code_sha256 = Some("ab".repeat(32));
        let json = serde_json::to_string(&tracked).unwrap();
        let back: Case = serde_json::from_str(&json).unwrap();
        assert_eq!(back.tracking_code_sha256, tracked.tracking_code_sha256);
    }

    #[test]
    fn a_document_with_no_pages_is_still_missing() {
        let mut case = settled_draft();
        case.documents.push(captured("application", 1));
        case.documents.push(captured("passport", 0));
        assert!(matches!(computed(&case), Conformity::DoesNotConform { .. }));
    }

    #[test]
    fn override_needs_a_written_note() {
        let mut case = settled_draft();
        assert_eq!(
            case.override_conformity(true, "   "),
            Err(CaseError::OverrideNeedsNote)
        );
        case.override_conformity(true, "оригінал паспорта оглянуто, копію додано з архіву")
            .unwrap();
        assert!(case.conformity(&requirements(), ON).unwrap().conforms());
    }

    #[test]
    fn registration_needs_both_signatures_on_the_same_inventory() {
        let mut case = settled_draft();
        let number = CaseNumber::new("LV01", "T07", 2026, 1).unwrap();
        case.signatures.push(signature(SignerRole::Applicant, "aa"));
        assert_eq!(
            case.register(&requirements(), number.clone(), &papers("aa"), ON),
            Err(CaseError::AdministratorSignatureMissing)
        );
        case.signatures
            .push(signature(SignerRole::Administrator, "bb"));
        assert_eq!(
            case.register(&requirements(), number.clone(), &papers("aa"), ON),
            Err(CaseError::SignatureForOtherInventory)
        );
        case.signatures.pop();
        case.signatures
            .push(signature(SignerRole::Administrator, "aa"));
        case.register(&requirements(), number.clone(), &papers("aa"), ON)
            .unwrap();
        assert_eq!(case.state, CaseState::Registered);
        assert_eq!(case.number, Some(number));
    }

    #[test]
    fn applicant_who_cannot_sign_needs_a_reason_and_a_substitute_signature() {
        let mut case = settled_draft();
        let number = CaseNumber::new("LV01", "T07", 2026, 2).unwrap();
        case.signatures
            .push(signature(SignerRole::Administrator, "aa"));
        assert_eq!(
            case.check_signatures(&papers("aa")),
            Err(CaseError::ApplicantSignatureMissing)
        );
        let witness = Substitute {
            role: SignerRole::Witness,
            name: "Петренко Іван Миколайович".into(),
            document: "паспорт КА 123456".into(),
        };
        assert_eq!(
            case.waive_applicant_signature(None, "тремор", witness.clone()),
            Err(CaseError::WaiverNeedsReason)
        );
        assert_eq!(
            case.waive_applicant_signature(
                Some(WaiverGround::CannotHoldPen),
                "",
                Substitute {
                    name: " ".into(),
                    ..witness.clone()
                }
            ),
            Err(CaseError::WaiverNeedsSignerName)
        );
        case.waive_applicant_signature(
            Some(WaiverGround::CannotHoldPen),
            "тремор рук після інсульту",
            witness,
        )
        .unwrap();
        assert_eq!(
            case.check_signatures(&papers("aa")),
            Err(CaseError::SubstituteSignatureMissing)
        );
        case.signatures.push(signature(SignerRole::Witness, "aa"));
        case.register(&requirements(), number, &papers("aa"), ON)
            .unwrap();
    }

    #[test]
    fn the_applicant_may_sign_this_inventory_in_ink_instead() {
        let mut case = settled_draft();
        case.signatures
            .push(signature(SignerRole::Administrator, "aa"));
        let sheets = |hash: &str| InkSignedSheets {
            document: InkDocument::Inventory,
            content_sha256: hash.into(),
            sheets: 1,
            scanned: vec![crate::ink::ScannedSheet {
                sheet: 1,
                page: PageRef {
                    blob_id: "b1".into(),
                    sha256: "00".repeat(32),
                },
            }],
        };
        case.ink_signed.push(sheets("bb"));
        assert_eq!(
            case.check_signatures(&papers("aa")),
            Err(CaseError::ApplicantSignatureMissing),
            "a sheet of another version of the inventory signs nothing"
        );
        case.ink_signed.push(sheets("aa"));
        let number = CaseNumber::new("LV01", "T07", 2026, 5).unwrap();
        case.register(&requirements(), number, &papers("aa"), ON)
            .unwrap();
    }

    fn with_application() -> SignedPapers {
        SignedPapers {
            inventory_sha256: "aa".into(),
            application_sha256: Some("cc".into()),
            signed_sha256: "set".into(),
        }
    }

    #[test]
    fn signatures_bind_the_application_and_the_inventory_together() {
        let mut case = settled_draft();
        case.signatures.push(signature(SignerRole::Applicant, "aa"));
        case.signatures
            .push(signature(SignerRole::Administrator, "aa"));
        let number = CaseNumber::new("LV01", "T07", 2026, 6).unwrap();
        assert_eq!(
            case.register(&requirements(), number.clone(), &with_application(), ON),
            Err(CaseError::SignatureForOtherInventory),
            "a signature of the inventory alone does not sign the application"
        );
        case.signatures.clear();
        case.signatures
            .push(signature(SignerRole::Applicant, "set"));
        case.signatures
            .push(signature(SignerRole::Administrator, "set"));
        case.register(&requirements(), number, &with_application(), ON)
            .unwrap();
        assert_eq!(case.application_sha256.as_deref(), Some("cc"));
    }

    #[test]
    fn in_ink_every_sheet_of_both_papers_comes_back() {
        let mut case = settled_draft();
        case.signatures
            .push(signature(SignerRole::Administrator, "set"));
        let sheets = |document, hash: &str| InkSignedSheets {
            document,
            content_sha256: hash.into(),
            sheets: 1,
            scanned: vec![crate::ink::ScannedSheet {
                sheet: 1,
                page: PageRef {
                    blob_id: "b1".into(),
                    sha256: "00".repeat(32),
                },
            }],
        };
        case.ink_signed.push(sheets(InkDocument::Inventory, "aa"));
        assert_eq!(
            case.check_signatures(&with_application()),
            Err(CaseError::ApplicantSignatureMissing),
            "the application's sheets are not back yet"
        );
        case.ink_signed.push(sheets(InkDocument::Application, "dd"));
        assert!(!case.signed_in_ink(&with_application()));
        case.ink_signed.push(sheets(InkDocument::Application, "cc"));
        case.check_signatures(&with_application()).unwrap();
    }

    #[test]
    fn a_case_with_an_undecided_condition_is_not_registered() {
        let mut case = draft();
        case.signatures.push(signature(SignerRole::Applicant, "aa"));
        case.signatures
            .push(signature(SignerRole::Administrator, "aa"));
        let number = CaseNumber::new("LV01", "T07", 2026, 4).unwrap();
        assert!(matches!(
            case.register(&requirements(), number, &papers("aa"), ON),
            Err(CaseError::ConditionsOpen(_))
        ));
        assert_eq!(case.state, CaseState::Draft);
    }

    #[test]
    fn registered_case_cannot_be_registered_again() {
        let mut case = settled_draft();
        case.signatures.push(signature(SignerRole::Applicant, "aa"));
        case.signatures
            .push(signature(SignerRole::Administrator, "aa"));
        let number = CaseNumber::new("LV01", "T07", 2026, 3).unwrap();
        case.register(&requirements(), number.clone(), &papers("aa"), ON)
            .unwrap();
        assert!(matches!(
            case.register(&requirements(), number, &papers("aa"), ON),
            Err(CaseError::Workflow(_))
        ));
    }

    #[test]
    fn representative_authority_has_a_validity_period() {
        let authority = AuthorityDocument {
            kind: AuthorityKind::PowerOfAttorney,
            number: "НВЕ 123456".into(),
            date: date!(2025 - 01 - 10),
            issued_by: "Приватний нотаріус Львівського МНО".into(),
            valid_until: Some(date!(2026 - 01 - 10)),
        };
        assert!(authority.valid_on(date!(2025 - 06 - 01)));
        assert!(!authority.valid_on(date!(2026 - 11 - 24)));
    }

    #[test]
    fn case_round_trips_through_json_and_debug_leaks_nothing() {
        let mut case = settled_draft();
        case.number = Some(CaseNumber::new("LV01", "T07", 2026, 4).unwrap());
        case.notification = Some(Notification::Sms {
            phone: Contact("+380671234567".into()),
        });
        case.delivery = Some(ResultDelivery::MobileAdministrator {
            address: Address("вул. Зелена, 12".into()),
        });
        case.form_answers
            .insert("reason".into(), "зміна місця проживання".into());
        let json = serde_json::to_string(&case).unwrap();
        let back: Case = serde_json::from_str(&json).unwrap();
        assert_eq!(back, case);
        let debug = format!("{case:?} {:?}", case.applicant);
        for secret in ["Шевченко", "1687545620", "+380671234567", "Зелена"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
    }
}
