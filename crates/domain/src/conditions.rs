//! Conditional documents of the information card (документи, що подаються за певних умов):
//! whether each one applies to this case. Where the catalog states the condition as a rule over
//! the case — a representative acts, the applicant's age, an answer on the application form, the
//! fee — the rule decides it; otherwise the administrator answers «так» or «ні». A condition is
//! never silently taken as not applying: until it is decided it stays open, and the conformity
//! conclusion waits for it (see `conformity`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::common::RequirementId;

/// A condition the catalog states as a rule over the case, so the tablet decides it itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ConditionRule {
    /// A representative acts for the applicant (the authority document is then required).
    RepresentativeActs,
    /// The applicant has not reached this age on the day of application.
    ApplicantUnder { years: u8 },
    /// The answer to a form field is one of these values.
    FormAnswer { field: String, any_of: Vec<String> },
    /// An administrative fee is to be paid and has been paid (the receipt is then required):
    /// not when the service is free, the applicant is exempt, or pays later.
    FeeDue,
}

impl ConditionRule {
    /// The rule in words, (Ukrainian, English), for a reader of the card: when the document is
    /// asked for. `field_label` names a form field by its label.
    pub fn words(&self, field_label: impl Fn(&str) -> String) -> (String, String) {
        match self {
            ConditionRule::RepresentativeActs => (
                "якщо заяву подає представник".to_owned(),
                "if a representative applies on the applicant's behalf".to_owned(),
            ),
            // An ordinal («14-річного») reads right for every age without plural forms.
            ConditionRule::ApplicantUnder { years } => (
                format!("якщо заявник ще не досяг {years}-річного віку"),
                format!("if the applicant is under {years}"),
            ),
            ConditionRule::FormAnswer { field, any_of } => {
                let quoted: Vec<String> = any_of.iter().map(|v| format!("«{v}»")).collect();
                let label = field_label(field);
                (
                    format!(
                        "якщо в заяві на питання «{label}» відповідь {}",
                        quoted.join(" або ")
                    ),
                    format!(
                        "if the answer to «{label}» in the application is {}",
                        quoted.join(" or ")
                    ),
                )
            }
            ConditionRule::FeeDue => (
                "якщо адміністративний збір сплачено (не для звільнених від сплати)".to_owned(),
                "if the administrative fee has been paid (not for those exempt from it)".to_owned(),
            ),
        }
    }
}

/// What the applicant does about the administrative fee (адміністративний збір).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum FeePayment {
    /// Paid before or during the visit: the payment document is part of the package.
    Paid,
    /// Exempt by law; the ground (a category of the law, a document) is recorded.
    Exempt { ground: String },
    /// Pays after the visit (the receipt carries the payment details and QR code).
    PayLater,
}

impl FeePayment {
    /// An exemption counts only with its ground written down.
    pub fn is_complete(&self) -> bool {
        match self {
            FeePayment::Exempt { ground } => !ground.trim().is_empty(),
            FeePayment::Paid | FeePayment::PayLater => true,
        }
    }

    /// Whether the applicant still has to pay after the visit (the receipt then carries the
    /// payment details): not when paid or exempt; yes when paying later or not recorded.
    pub fn still_to_pay(payment: Option<&FeePayment>) -> bool {
        match payment {
            Some(FeePayment::Paid) => false,
            Some(exempt @ FeePayment::Exempt { .. }) => !exempt.is_complete(),
            Some(FeePayment::PayLater) | None => true,
        }
    }

    /// As the inventory prints it.
    pub fn text_uk(&self) -> String {
        match self {
            FeePayment::Paid => "сплачено".to_owned(),
            FeePayment::Exempt { ground } => format!("звільнено від сплати ({ground})"),
            FeePayment::PayLater => "буде сплачено після звернення".to_owned(),
        }
    }
}

/// What is known of the case when its conditions are decided. It is built from the case record,
/// or on the tablet from the visit as typed so far (a fact not entered yet is `None`).
#[derive(Debug, Clone, Copy)]
pub struct CaseFacts<'a> {
    pub representative_acts: bool,
    /// `None` for a legal entity, or while the birth date is not entered.
    pub applicant_birth_date: Option<Date>,
    /// The day of application: ages are counted on it.
    pub on: Date,
    pub form_answers: &'a BTreeMap<String, String>,
    /// Whether the service is paid at all.
    pub fee_is_charged: bool,
    pub fee: Option<&'a FeePayment>,
    /// The administrator's answers for conditions no rule decides.
    pub answers: &'a BTreeMap<RequirementId, bool>,
}

/// What decided a condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Basis {
    Representative,
    BirthDate,
    /// The answer to this form field.
    FormAnswer {
        field: String,
    },
    Fee,
    /// The administrator answered.
    Administrator,
}

impl Basis {
    /// As the inventory prints it; `field_label` names a form field by its label.
    pub fn text_uk(&self, field_label: impl Fn(&str) -> String) -> String {
        match self {
            Basis::Representative => "за відомостями про представника".to_owned(),
            Basis::BirthDate => "за датою народження".to_owned(),
            Basis::FormAnswer { field } => format!("за відповіддю «{}»", field_label(field)),
            Basis::Fee => "за відомостями про сплату збору".to_owned(),
            Basis::Administrator => "відповідь адміністратора".to_owned(),
        }
    }

    pub fn text_en(&self, field_label: impl Fn(&str) -> String) -> String {
        match self {
            Basis::Representative => "by the representative's details".to_owned(),
            Basis::BirthDate => "by the birth date".to_owned(),
            Basis::FormAnswer { field } => format!("by the answer «{}»", field_label(field)),
            Basis::Fee => "by the fee payment".to_owned(),
            Basis::Administrator => "the administrator's answer".to_owned(),
        }
    }
}

/// What is still needed to decide an open condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Needed {
    /// The administrator answers «так» or «ні».
    Answer,
    /// The form field is not answered yet.
    FormAnswer { field: String },
    /// Paid, exempt or pays later is not recorded yet.
    FeePayment,
    /// The applicant's birth date is not entered yet.
    BirthDate,
}

/// Whether a condition applies, and why; or what it still needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConditionOutcome {
    Settled { applies: bool, basis: Basis },
    Open { needs: Needed },
}

/// One conditional requirement, checked against the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionCheck {
    pub requirement: RequirementId,
    /// The document's title.
    pub title: String,
    /// The condition as the card words it.
    pub condition: String,
    pub outcome: ConditionOutcome,
}

impl ConditionCheck {
    pub fn applies(&self) -> Option<bool> {
        match &self.outcome {
            ConditionOutcome::Settled { applies, .. } => Some(*applies),
            ConditionOutcome::Open { .. } => None,
        }
    }
}

/// Full years between the birth date and the day (the birthday itself counts as reached).
pub fn age_on(birth: Date, on: Date) -> i32 {
    let before_birthday = (on.month() as u8, on.day()) < (birth.month() as u8, birth.day());
    on.year() - birth.year() - i32::from(before_birthday)
}

/// Decide one condition: by its rule where the catalog gives one, else by the administrator's
/// answer; open while what it needs is not there.
pub fn decide(
    requirement: &RequirementId,
    rule: Option<&ConditionRule>,
    facts: &CaseFacts<'_>,
) -> ConditionOutcome {
    let settled = |applies, basis| ConditionOutcome::Settled { applies, basis };
    let open = |needs| ConditionOutcome::Open { needs };
    match rule {
        None => match facts.answers.get(requirement) {
            Some(applies) => settled(*applies, Basis::Administrator),
            None => open(Needed::Answer),
        },
        Some(ConditionRule::RepresentativeActs) => {
            settled(facts.representative_acts, Basis::Representative)
        }
        Some(ConditionRule::ApplicantUnder { years }) => match facts.applicant_birth_date {
            Some(birth) => settled(
                age_on(birth, facts.on) < i32::from(*years),
                Basis::BirthDate,
            ),
            None => open(Needed::BirthDate),
        },
        Some(ConditionRule::FormAnswer { field, any_of }) => {
            match facts.form_answers.get(field).map(|a| a.trim()) {
                Some(answer) if !answer.is_empty() => settled(
                    any_of.iter().any(|v| v == answer),
                    Basis::FormAnswer {
                        field: field.clone(),
                    },
                ),
                _ => open(Needed::FormAnswer {
                    field: field.clone(),
                }),
            }
        }
        Some(ConditionRule::FeeDue) if !facts.fee_is_charged => settled(false, Basis::Fee),
        Some(ConditionRule::FeeDue) => match facts.fee.filter(|p| p.is_complete()) {
            Some(payment) => settled(matches!(payment, FeePayment::Paid), Basis::Fee),
            None => open(Needed::FeePayment),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    struct Owned {
        form: BTreeMap<String, String>,
        answers: BTreeMap<RequirementId, bool>,
        fee: Option<FeePayment>,
    }

    impl Owned {
        fn new() -> Self {
            Self {
                form: BTreeMap::new(),
                answers: BTreeMap::new(),
                fee: None,
            }
        }
        fn facts(&self) -> CaseFacts<'_> {
            CaseFacts {
                representative_acts: false,
                applicant_birth_date: Some(date!(2013 - 06 - 10)),
                on: date!(2027 - 06 - 09),
                form_answers: &self.form,
                fee_is_charged: true,
                fee: self.fee.as_ref(),
                answers: &self.answers,
            }
        }
    }

    fn id(s: &str) -> RequirementId {
        RequirementId(s.into())
    }

    #[test]
    fn the_birth_certificate_is_needed_until_the_fourteenth_birthday() {
        let owned = Owned::new();
        let rule = ConditionRule::ApplicantUnder { years: 14 };
        let mut facts = owned.facts();
        assert_eq!(
            decide(&id("birth"), Some(&rule), &facts),
            ConditionOutcome::Settled {
                applies: true,
                basis: Basis::BirthDate
            }
        );
        facts.on = date!(2027 - 06 - 10);
        assert_eq!(
            decide(&id("birth"), Some(&rule), &facts).clone(),
            ConditionOutcome::Settled {
                applies: false,
                basis: Basis::BirthDate
            }
        );
        facts.applicant_birth_date = None;
        assert_eq!(
            decide(&id("birth"), Some(&rule), &facts),
            ConditionOutcome::Open {
                needs: Needed::BirthDate
            }
        );
    }

    #[test]
    fn the_owners_consent_follows_the_housing_basis_answer() {
        let mut owned = Owned::new();
        let rule = ConditionRule::FormAnswer {
            field: "housing_basis".into(),
            any_of: vec!["член сім'ї власника".into(), "наймач".into()],
        };
        assert!(matches!(
            decide(&id("consent"), Some(&rule), &owned.facts()),
            ConditionOutcome::Open {
                needs: Needed::FormAnswer { .. }
            }
        ));
        owned
            .form
            .insert("housing_basis".into(), "член сім'ї власника".into());
        assert_eq!(
            decide(&id("consent"), Some(&rule), &owned.facts()).clone(),
            ConditionOutcome::Settled {
                applies: true,
                basis: Basis::FormAnswer {
                    field: "housing_basis".into()
                }
            }
        );
        owned.form.insert("housing_basis".into(), "власник".into());
        assert_eq!(
            decide(&id("consent"), Some(&rule), &owned.facts()).clone(),
            ConditionOutcome::Settled {
                applies: false,
                basis: Basis::FormAnswer {
                    field: "housing_basis".into()
                }
            }
        );
    }

    #[test]
    fn the_fee_receipt_is_needed_only_when_paid_and_charged() {
        let mut owned = Owned::new();
        let rule = ConditionRule::FeeDue;
        assert_eq!(
            decide(&id("fee"), Some(&rule), &owned.facts()),
            ConditionOutcome::Open {
                needs: Needed::FeePayment
            }
        );
        for (payment, applies) in [
            (FeePayment::Paid, true),
            (
                FeePayment::Exempt {
                    ground: "особа з інвалідністю I групи".into(),
                },
                false,
            ),
            (FeePayment::PayLater, false),
        ] {
            owned.fee = Some(FeePayment::Exempt { ground: " ".into() });
            assert!(
                matches!(
                    decide(&id("fee"), Some(&rule), &owned.facts()),
                    ConditionOutcome::Open { .. }
                ),
                "an exemption without its ground decides nothing"
            );
            owned.fee = Some(payment);
            assert_eq!(
                decide(&id("fee"), Some(&rule), &owned.facts()).clone(),
                ConditionOutcome::Settled {
                    applies,
                    basis: Basis::Fee
                }
            );
        }
        let mut facts = Owned::new();
        facts.fee = None;
        let mut free = facts.facts();
        free.fee_is_charged = false;
        assert_eq!(
            decide(&id("fee"), Some(&rule), &free),
            ConditionOutcome::Settled {
                applies: false,
                basis: Basis::Fee
            }
        );
    }

    #[test]
    fn a_condition_without_a_rule_waits_for_the_administrator() {
        let mut owned = Owned::new();
        assert_eq!(
            decide(&id("income"), None, &owned.facts()),
            ConditionOutcome::Open {
                needs: Needed::Answer
            }
        );
        owned.answers.insert(id("income"), false);
        assert_eq!(
            decide(&id("income"), None, &owned.facts()).clone(),
            ConditionOutcome::Settled {
                applies: false,
                basis: Basis::Administrator
            }
        );
    }

    #[test]
    fn the_fee_is_still_to_pay_unless_paid_or_exempt_with_a_ground() {
        assert!(FeePayment::still_to_pay(None));
        assert!(FeePayment::still_to_pay(Some(&FeePayment::PayLater)));
        assert!(!FeePayment::still_to_pay(Some(&FeePayment::Paid)));
        let exempt = |ground: &str| FeePayment::Exempt {
            ground: ground.into(),
        };
        assert!(!FeePayment::still_to_pay(Some(&exempt("ВПО"))));
        assert!(FeePayment::still_to_pay(Some(&exempt(" "))));
    }

    #[test]
    fn rules_read_as_sentences_with_the_fields_label() {
        let label = |id: &str| match id {
            "housing_basis" => "Підстава проживання".to_owned(),
            other => other.to_owned(),
        };
        let rule = ConditionRule::FormAnswer {
            field: "housing_basis".into(),
            any_of: vec!["наймач".into(), "інше".into()],
        };
        assert_eq!(
            rule.words(label),
            (
                "якщо в заяві на питання «Підстава проживання» відповідь «наймач» або «інше»"
                    .to_owned(),
                "if the answer to «Підстава проживання» in the application is «наймач» or «інше»"
                    .to_owned()
            )
        );
        let (uk, en) = ConditionRule::ApplicantUnder { years: 14 }.words(label);
        assert_eq!(uk, "якщо заявник ще не досяг 14-річного віку");
        assert_eq!(en, "if the applicant is under 14");
    }

    #[test]
    fn ages_count_whole_years_and_the_birthday_itself() {
        assert_eq!(age_on(date!(2012 - 02 - 29), date!(2026 - 02 - 28)), 13);
        assert_eq!(age_on(date!(2012 - 02 - 29), date!(2026 - 03 - 01)), 14);
        assert_eq!(age_on(date!(1946 - 03 - 15), date!(2026 - 03 - 15)), 80);
    }
}
