//! The applicant screen's form as typed (заявник, представник) and its check: the applicant,
//! the representative and the place of the visit as a case records them, or every problem
//! found at once, each with the field it belongs under.
//!
//! Typed text is kept as it is while it is not valid yet (the tablet saves it at every
//! keystroke); the check runs when the administrator moves on. Pure: today is passed in.

use serde::{Deserialize, Serialize};
use time::Date;

use crate::case::{
    Address, Applicant, AuthorityDocument, AuthorityKind, Contact, IdentityDocument,
    IdentityDocumentKind, LegalEntity, NaturalPerson, PersonName, Representative, VisitPlace,
    VisitPlaceKind,
};
use crate::validators::{Edrpou, Email, MobileNumber, Rnokpp, ValidationError, check_birth_date};

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
    /// What is wrong, in Ukrainian (the screen's first language).
    pub message_uk: String,
    /// The same in English.
    pub message_en: String,
}

fn problem(field: ApplicantField, uk: &str, en: &str) -> FieldProblem {
    FieldProblem {
        field,
        message_uk: uk.to_owned(),
        message_en: en.to_owned(),
    }
}

fn validation(field: ApplicantField, error: ValidationError) -> FieldProblem {
    FieldProblem {
        field,
        message_uk: error.message_uk(),
        message_en: error.to_string(),
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
                            message_uk: format!("Представник: {}", e.message_uk()),
                            message_en: format!("Representative: {e}"),
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 12 - 05);

    /// A person as an administrator types them in, every field right.
    fn person() -> ApplicantForm {
        ApplicantForm {
            surname: "Шевченко".into(),
            given_name: "Марія".into(),
            patronymic: "Іванівна".into(),
            rnokpp: "1687501230".into(),
            birth_date: "15.03.1946".into(),
            document_number: "000123456".into(),
            address: "м. Львів, вул. Зелена, 12, кв. 3".into(),
            phone: "0671234567".into(),
            place: 1,
            ..ApplicantForm::default()
        }
    }

    fn fields(problems: &[FieldProblem]) -> Vec<ApplicantField> {
        problems.iter().map(|p| p.field).collect()
    }

    #[test]
    fn a_person_typed_right_becomes_the_case_applicant_at_the_visit_place() {
        let (applicant, representative, place) = person().build(TODAY).unwrap();
        let Applicant::NaturalPerson(p) = applicant else {
            panic!("a natural person");
        };
        assert_eq!(p.birth_date, date!(1946 - 03 - 15));
        assert_eq!(p.name.patronymic.as_deref(), Some("Іванівна"));
        assert_eq!(p.rnokpp.as_deref(), Some("1687501230"));
        assert!(representative.is_none());
        assert_eq!(place.kind, VisitPlaceKind::Hospital);
    }

    #[test]
    fn every_problem_is_found_at_once_each_under_its_own_field() {
        let form = ApplicantForm {
            surname: String::new(),
            birth_date: "31.02.1946".into(),
            address: "  ".into(),
            phone: "067-abc-4567".into(),
            email: "not an address".into(),
            ..person()
        };
        let problems = form.build(TODAY).unwrap_err();
        assert_eq!(
            fields(&problems),
            [
                ApplicantField::Address,
                ApplicantField::Phone,
                ApplicantField::Email,
                ApplicantField::PersonName,
                ApplicantField::BirthDate,
            ]
        );
        assert!(
            problems
                .iter()
                .all(|p| !p.message_uk.is_empty() && !p.message_en.is_empty())
        );
    }

    #[test]
    fn an_rnokpp_that_encodes_another_birth_date_is_refused() {
        let form = ApplicantForm {
            birth_date: "16.03.1946".into(),
            ..person()
        };
        assert_eq!(
            fields(&form.build(TODAY).unwrap_err()),
            [ApplicantField::Rnokpp]
        );
    }

    #[test]
    fn a_legal_entity_needs_its_name_and_a_right_edrpou() {
        let form = ApplicantForm {
            legal_entity: true,
            entity_name: String::new(),
            edrpou: "14360571".into(),
            ..person()
        };
        assert_eq!(
            fields(&form.build(TODAY).unwrap_err()),
            [ApplicantField::EntityName, ApplicantField::Edrpou]
        );
    }

    #[test]
    fn a_representative_needs_a_power_of_attorney_valid_today() {
        let with_representative = ApplicantForm {
            has_representative: true,
            rep_surname: "Коваль".into(),
            rep_given_name: "Петро".into(),
            rep_birth_date: "01.01.1970".into(),
            authority_number: "123".into(),
            authority_date: "01.12.2026".into(),
            ..person()
        };
        let (_, representative, _) = with_representative.clone().build(TODAY).unwrap();
        assert_eq!(representative.unwrap().authority.number, "123");

        let dated_tomorrow = ApplicantForm {
            authority_date: "06.12.2026".into(),
            ..with_representative.clone()
        };
        assert_eq!(
            fields(&dated_tomorrow.build(TODAY).unwrap_err()),
            [ApplicantField::Representative]
        );
        let without_number = ApplicantForm {
            authority_number: " ".into(),
            ..with_representative
        };
        assert_eq!(
            fields(&without_number.build(TODAY).unwrap_err()),
            [ApplicantField::Representative]
        );
    }

    #[test]
    fn dates_are_read_as_people_write_them_here() {
        assert_eq!(parse_date("15.03.1946"), Some(date!(1946 - 03 - 15)));
        assert_eq!(parse_date("1946-03-15"), Some(date!(1946 - 03 - 15)));
        assert_eq!(parse_date("15/03/1946"), Some(date!(1946 - 03 - 15)));
        assert_eq!(parse_date("30.02.1946"), None);
        assert_eq!(parse_date("15.03"), None);
    }
}
