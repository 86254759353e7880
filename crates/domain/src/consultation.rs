//! A consultation (консультація, regulation 2.36): the visit ended with advice only. The person
//! asked about a service, the administrator answered, and no application was made, so there is
//! no case. The centre counts consultations, by day and by service.
//!
//! A consultation names nobody: there is no field for the person's name or contacts, so even a
//! visit the centre planned under a name leaves only the place, the time and the subject here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::{Date, PrimitiveDateTime};

use crate::common::ServiceCode;

/// The longest question or answer kept, in characters: a short note, not a transcript.
pub const MAX_TEXT_CHARS: usize = 500;

/// Where the consultation was given (місце надання консультації).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsultationPlace {
    Home,
    Hospital,
    CareFacility,
}

/// Why a consultation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsultationError {
    #[error("the question is empty")]
    QuestionEmpty,
    #[error("the answer is empty")]
    AnswerEmpty,
    #[error("the question is longer than {max} characters")]
    QuestionTooLong { max: usize },
    #[error("the answer is longer than {max} characters")]
    AnswerTooLong { max: usize },
}

impl ConsultationError {
    /// What the administrator reads under the field.
    pub fn message_uk(&self) -> String {
        match self {
            Self::QuestionEmpty => "Запишіть коротко, про що питали.".into(),
            Self::AnswerEmpty => "Запишіть коротко, що ви відповіли.".into(),
            Self::QuestionTooLong { max } => format!("Питання довше за {max} символів."),
            Self::AnswerTooLong { max } => format!("Відповідь довша за {max} символів."),
        }
    }
}

/// One consultation as recorded. Built only through [`Consultation::new`], so a stored one
/// always has a question and an answer within the limit.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consultation {
    /// Local date and time at the place of the visit.
    pub at: PrimitiveDateTime,
    pub place: ConsultationPlace,
    /// The service asked about; `None` is «інше питання» (a question outside the catalog).
    pub service: Option<ServiceCode>,
    question: String,
    answer: String,
    /// The centre had planned this visit (it is then marked done on the tablet).
    pub from_planned_visit: bool,
}

// The question and answer may mention the person's circumstances: never in a log.
impl std::fmt::Debug for Consultation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consultation")
            .field("at", &self.at)
            .field("place", &self.place)
            .field("service", &self.service)
            .field("from_planned_visit", &self.from_planned_visit)
            .finish_non_exhaustive()
    }
}

fn short_text(
    text: &str,
    empty: ConsultationError,
    too_long: ConsultationError,
) -> Result<String, ConsultationError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(empty);
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(too_long);
    }
    Ok(text.to_owned())
}

impl Consultation {
    /// Check and build a consultation. Both texts are trimmed; every problem is returned, the
    /// question's first, so the screen can mark both fields at once.
    pub fn new(
        at: PrimitiveDateTime,
        place: ConsultationPlace,
        service: Option<ServiceCode>,
        question: &str,
        answer: &str,
        from_planned_visit: bool,
    ) -> Result<Self, Vec<ConsultationError>> {
        let max = MAX_TEXT_CHARS;
        let question = short_text(
            question,
            ConsultationError::QuestionEmpty,
            ConsultationError::QuestionTooLong { max },
        );
        let answer = short_text(
            answer,
            ConsultationError::AnswerEmpty,
            ConsultationError::AnswerTooLong { max },
        );
        match (question, answer) {
            (Ok(question), Ok(answer)) => Ok(Self {
                at,
                place,
                service,
                question,
                answer,
                from_planned_visit,
            }),
            (question, answer) => Err([question.err(), answer.err()]
                .into_iter()
                .flatten()
                .collect()),
        }
    }

    pub fn question(&self) -> &str {
        &self.question
    }

    pub fn answer(&self) -> &str {
        &self.answer
    }

    pub fn day(&self) -> Date {
        self.at.date()
    }
}

/// How many consultations were given on one day about one service (`None`: «інше питання»).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsultationTally {
    pub day: Date,
    pub service: Option<ServiceCode>,
    pub count: u64,
}

/// The count regulation 2.36 asks for: consultations per day and per service, oldest day
/// first, «інше питання» before the catalog's codes within a day.
pub fn tally<'a>(
    consultations: impl IntoIterator<Item = &'a Consultation>,
) -> Vec<ConsultationTally> {
    let mut counts: BTreeMap<(Date, Option<ServiceCode>), u64> = BTreeMap::new();
    for consultation in consultations {
        *counts
            .entry((consultation.day(), consultation.service.clone()))
            .or_default() += 1;
    }
    counts
        .into_iter()
        .map(|((day, service), count)| ConsultationTally {
            day,
            service,
            count,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::datetime;

    const AT: PrimitiveDateTime = datetime!(2026-12-04 10:30);

    fn about(service: Option<&str>, at: PrimitiveDateTime) -> Consultation {
        Consultation::new(
            at,
            ConsultationPlace::Home,
            service.map(|s| ServiceCode(s.into())),
            "Які документи потрібні для субсидії?",
            "Заява, декларація про доходи; подати можна під час виїзду.",
            false,
        )
        .unwrap()
    }

    #[test]
    fn a_consultation_keeps_the_service_the_question_and_the_answer_trimmed() {
        let consultation = Consultation::new(
            AT,
            ConsultationPlace::Hospital,
            Some(ServiceCode("00001".into())),
            "  Як задекларувати місце проживання?\n",
            " Потрібні паспорт і квитанція. ",
            true,
        )
        .unwrap();
        assert_eq!(
            consultation.question(),
            "Як задекларувати місце проживання?"
        );
        assert_eq!(consultation.answer(), "Потрібні паспорт і квитанція.");
        assert_eq!(consultation.day(), time::macros::date!(2026 - 12 - 04));
        assert!(consultation.from_planned_visit);
    }

    #[test]
    fn a_consultation_needs_a_question_and_an_answer() {
        let refused =
            Consultation::new(AT, ConsultationPlace::Home, None, "   ", "\n", false).unwrap_err();
        assert_eq!(
            refused,
            vec![
                ConsultationError::QuestionEmpty,
                ConsultationError::AnswerEmpty
            ]
        );
        let refused =
            Consultation::new(AT, ConsultationPlace::Home, None, "Питання", "", false).unwrap_err();
        assert_eq!(refused, vec![ConsultationError::AnswerEmpty]);
    }

    #[test]
    fn question_and_answer_are_short_notes_counted_in_characters_not_bytes() {
        // Cyrillic letters are two bytes each: the limit is on what the person reads.
        let at_limit = "ї".repeat(MAX_TEXT_CHARS);
        assert!(
            Consultation::new(
                AT,
                ConsultationPlace::Home,
                None,
                &at_limit,
                &at_limit,
                false
            )
            .is_ok()
        );
        let over = "ї".repeat(MAX_TEXT_CHARS + 1);
        let refused =
            Consultation::new(AT, ConsultationPlace::Home, None, &over, "Так", false).unwrap_err();
        assert_eq!(
            refused,
            vec![ConsultationError::QuestionTooLong {
                max: MAX_TEXT_CHARS
            }]
        );
        let refused =
            Consultation::new(AT, ConsultationPlace::Home, None, "Так?", &over, false).unwrap_err();
        assert_eq!(
            refused,
            vec![ConsultationError::AnswerTooLong {
                max: MAX_TEXT_CHARS
            }]
        );
    }

    #[test]
    fn the_record_has_no_place_for_a_name_and_debug_hides_the_texts() {
        let consultation = about(Some("00001"), AT);
        let json = serde_json::to_value(&consultation).unwrap();
        let mut fields: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            [
                "answer",
                "at",
                "from_planned_visit",
                "place",
                "question",
                "service"
            ]
        );
        let debug = format!("{consultation:?}");
        assert!(!debug.contains("субсидії"), "{debug}");
        assert!(!debug.contains("декларація"), "{debug}");
    }

    #[test]
    fn a_stored_consultation_reads_back_the_same() {
        let consultation = about(None, AT);
        let json = serde_json::to_string(&consultation).unwrap();
        let back: Consultation = serde_json::from_str(&json).unwrap();
        assert_eq!(back, consultation);
    }

    #[test]
    fn consultations_are_counted_per_day_and_per_service() {
        let list = [
            about(Some("00001"), datetime!(2026-12-04 09:00)),
            about(Some("00004"), datetime!(2026-12-04 11:00)),
            about(Some("00001"), datetime!(2026-12-04 23:59)),
            about(None, datetime!(2026-12-04 12:00)),
            about(Some("00001"), datetime!(2026-12-05 00:00)),
        ];
        let code = |c: &str| Some(ServiceCode(c.into()));
        let counts: Vec<(String, Option<ServiceCode>, u64)> = tally(&list)
            .into_iter()
            .map(|t| (t.day.to_string(), t.service, t.count))
            .collect();
        assert_eq!(
            counts,
            vec![
                ("2026-12-04".into(), None, 1),
                ("2026-12-04".into(), code("00001"), 2),
                ("2026-12-04".into(), code("00004"), 1),
                ("2026-12-05".into(), code("00001"), 1),
            ]
        );
        assert!(tally(&[]).is_empty());
    }
}
