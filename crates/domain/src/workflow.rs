//! The life of a case as one state machine, after regulation sections 6–8: from the draft on
//! the tablet, through registration (the applicant signed the inventory), sealing and sync, to
//! the back-office, the central system, the provider, the decision and the hand-over of the
//! result under the applicant's signature; with withdrawal (8.12–8.14), return for correction,
//! duplicates, and archiving of an uncollected result three months after it was ready (8.5).
//!
//! This module is the only vocabulary of a case's states: the server's register, the
//! back-office, the central connector, the applicant's notifications, the tablets' status feed
//! and the app all name a state by [`CaseState`] and say it in words with
//! [`CaseState::words`]. On the wire a state is its stable snake_case [`CaseState::name`]; a
//! name this build does not know (a newer peer) is kept as [`StateName::Unknown`] and shown as
//! «невідомий стан», never refused.

use serde::{Deserialize, Serialize};
use time::Date;

use crate::calendar::archive_due;

/// Where a case is. The serialised names are stable: they are stored on the server and sent to
/// tablets, so a variant is never renamed, only added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// Being captured on the tablet (чернетка).
    Draft,
    /// The inventory of the input package is signed: the case is registered (6.12–6.13).
    Registered,
    /// Sealed to the server: the tablet can no longer read it.
    Sealed,
    /// The server stored the envelope and answered with a signed receipt; it waits in the
    /// back-office's inbox for reconciliation.
    Received,
    /// The back-office accepted it: queued for the central system (7.1).
    Accepted,
    /// Sent back to the administrator with a reason; a supplement answers it.
    #[serde(rename = "returned")]
    ReturnedForCorrection,
    /// Marked a duplicate of another case that arrived: it goes no further.
    Duplicate,
    /// Delivered to the central case system.
    Forwarded,
    /// The central system registered it under its own number.
    RegisteredCentrally,
    /// Forwarded to the provider (суб'єкт надання), regulation 7.1.
    ForwardedToProvider,
    /// The provider issued the result.
    Issued,
    /// The provider refused, with reasons.
    Refused,
    /// The result (or the refusal) is ready to be handed over (8.1–8.2).
    ResultReady,
    /// The result (or refusal) was handed over under the applicant's signature (8.3).
    #[serde(rename = "delivered")]
    ResultDelivered,
    /// Withdrawn by the applicant under signature (8.12–8.14).
    Withdrawn,
    /// An uncollected result went to the archive (8.5).
    Archived,
}

impl CaseState {
    /// Every state, in the order of a case's life.
    pub const ALL: [CaseState; 16] = [
        Self::Draft,
        Self::Registered,
        Self::Sealed,
        Self::Received,
        Self::Accepted,
        Self::ReturnedForCorrection,
        Self::Duplicate,
        Self::Forwarded,
        Self::RegisteredCentrally,
        Self::ForwardedToProvider,
        Self::Issued,
        Self::Refused,
        Self::ResultReady,
        Self::ResultDelivered,
        Self::Withdrawn,
        Self::Archived,
    ];

    /// The stable wire and storage name (the serde name).
    pub fn name(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Registered => "registered",
            Self::Sealed => "sealed",
            Self::Received => "received",
            Self::Accepted => "accepted",
            Self::ReturnedForCorrection => "returned",
            Self::Duplicate => "duplicate",
            Self::Forwarded => "forwarded",
            Self::RegisteredCentrally => "registered_centrally",
            Self::ForwardedToProvider => "forwarded_to_provider",
            Self::Issued => "issued",
            Self::Refused => "refused",
            Self::ResultReady => "result_ready",
            Self::ResultDelivered => "delivered",
            Self::Withdrawn => "withdrawn",
            Self::Archived => "archived",
        }
    }

    /// The state named `name`, if this build knows it.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.name() == name)
    }

    /// The state in words, (Ukrainian, English): the one place staff, administrators and
    /// applicants read it from.
    pub fn words(self) -> (&'static str, &'static str) {
        match self {
            Self::Draft => ("Чернетка", "Draft"),
            Self::Registered => ("Зареєстровано на планшеті", "Registered on the tablet"),
            Self::Sealed => ("Запечатано, чекає синхронізації", "Sealed, waiting to sync"),
            Self::Received => ("Отримано", "Received"),
            Self::Accepted => ("Прийнято, чекає передачі", "Accepted, to be forwarded"),
            Self::ReturnedForCorrection => {
                ("Повернуто адміністратору", "Returned to the administrator")
            }
            Self::Duplicate => ("Дублікат іншої справи", "Duplicate of another case"),
            Self::Forwarded => (
                "Передано до центральної системи",
                "Forwarded to the central system",
            ),
            Self::RegisteredCentrally => (
                "Зареєстровано в системі ЦНАП",
                "Registered in the centre's system",
            ),
            Self::ForwardedToProvider => ("Передано суб’єкту надання", "Forwarded to the provider"),
            Self::Issued => ("Рішення прийнято: видано", "Decision made: issued"),
            Self::Refused => ("Рішення прийнято: відмовлено", "Decision made: refused"),
            Self::ResultReady => ("Результат готовий", "Result ready"),
            Self::ResultDelivered => ("Результат видано", "Result handed over"),
            Self::Withdrawn => ("Заяву відкликано", "Application withdrawn"),
            Self::Archived => ("Передано до архіву", "Archived"),
        }
    }

    /// How far along its life a state is; states on side paths (returned, duplicate,
    /// withdrawn) rank with where they branch off. Central events may come late or twice:
    /// one for a rank already passed brings nothing new.
    pub fn rank(self) -> u8 {
        match self {
            Self::Draft => 0,
            Self::Registered => 1,
            Self::Sealed => 2,
            Self::Received | Self::ReturnedForCorrection | Self::Duplicate => 3,
            Self::Accepted => 4,
            Self::Forwarded => 5,
            Self::RegisteredCentrally => 6,
            Self::ForwardedToProvider => 7,
            // A corrected decision (refused, then issued) is news: same rank, other state.
            Self::Issued | Self::Refused => 8,
            Self::ResultReady => 9,
            Self::ResultDelivered | Self::Archived => 10,
            Self::Withdrawn => 10,
        }
    }

    /// A decision was made (issued or refused), whatever happened to the result after.
    pub fn decided(self) -> bool {
        matches!(
            self,
            Self::Issued
                | Self::Refused
                | Self::ResultReady
                | Self::ResultDelivered
                | Self::Archived
        )
    }

    /// Still at the centre: staff have to act before the case leaves (7.1).
    pub fn at_centre(self) -> bool {
        matches!(self, Self::Received | Self::Accepted)
    }

    /// The result can be handed over to the applicant now (8.3).
    pub fn result_can_be_handed_over(self) -> bool {
        matches!(self, Self::Issued | Self::Refused | Self::ResultReady)
    }
}

/// A state as a peer named it: one this build knows, or a newer peer's name kept as it came.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StateName {
    Known(CaseState),
    Unknown(String),
}

impl StateName {
    pub fn parse(name: &str) -> Self {
        CaseState::from_name(name).map_or_else(|| Self::Unknown(name.to_owned()), Self::Known)
    }

    pub fn known(&self) -> Option<CaseState> {
        match self {
            Self::Known(state) => Some(*state),
            Self::Unknown(_) => None,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Self::Known(state) => state.name(),
            Self::Unknown(name) => name,
        }
    }

    /// In words, (Ukrainian, English); an unknown state says so.
    pub fn words(&self) -> (&'static str, &'static str) {
        match self {
            Self::Known(state) => state.words(),
            Self::Unknown(_) => ("Невідомий стан", "Unknown state"),
        }
    }
}

impl From<CaseState> for StateName {
    fn from(state: CaseState) -> Self {
        Self::Known(state)
    }
}

impl Serialize for StateName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for StateName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(Self::parse(&name))
    }
}

/// What happens to a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum CaseEvent {
    InventorySigned,
    Sealed,
    /// The server stored the envelope (on the tablet: its signed receipt came back).
    ReceiptReceived,
    AcceptedByBackOffice,
    ReturnedForCorrection {
        reason: String,
    },
    MarkedDuplicate,
    SupplementReceived,
    /// The central system took the package from the outbox.
    DeliveredToCentral,
    RegisteredCentrally,
    ForwardedToProvider,
    Issued,
    Refused {
        reasons: Vec<String>,
    },
    ResultReady,
    ResultHandedOver {
        applicant_signed: bool,
    },
    Withdrawn {
        applicant_signed: bool,
    },
    Archive {
        result_ready: Date,
        today: Date,
    },
}

impl CaseEvent {
    /// What the event does, as a verb phrase for the error sentence (English).
    fn name(&self) -> &'static str {
        match self {
            Self::InventorySigned => "registered by signing the inventory",
            Self::Sealed => "sealed",
            Self::ReceiptReceived => "received by the server",
            Self::AcceptedByBackOffice => "accepted by the back-office",
            Self::ReturnedForCorrection { .. } => "returned for correction",
            Self::MarkedDuplicate => "marked a duplicate",
            Self::SupplementReceived => "answered with a supplement",
            Self::DeliveredToCentral => "delivered to the central system",
            Self::RegisteredCentrally => "registered centrally",
            Self::ForwardedToProvider => "forwarded to the provider",
            Self::Issued => "issued",
            Self::Refused { .. } => "refused",
            Self::ResultReady => "marked result ready",
            Self::ResultHandedOver { .. } => "handed over",
            Self::Withdrawn { .. } => "withdrawn",
            Self::Archive { .. } => "archived",
        }
    }

    /// The same, in Ukrainian.
    fn name_uk(&self) -> &'static str {
        match self {
            Self::InventorySigned => "зареєструвати підписом опису",
            Self::Sealed => "запечатати",
            Self::ReceiptReceived => "прийняти на сервер",
            Self::AcceptedByBackOffice => "прийняти в бек-офісі",
            Self::ReturnedForCorrection { .. } => "повернути на виправлення",
            Self::MarkedDuplicate => "позначити дублікатом",
            Self::SupplementReceived => "доповнити",
            Self::DeliveredToCentral => "передати до центральної системи",
            Self::RegisteredCentrally => "зареєструвати в центральній системі",
            Self::ForwardedToProvider => "передати суб’єкту надання",
            Self::Issued => "позначити рішенням «видано»",
            Self::Refused { .. } => "позначити рішенням «відмовлено»",
            Self::ResultReady => "позначити результат готовим",
            Self::ResultHandedOver { .. } => "видати результат",
            Self::Withdrawn { .. } => "відкликати",
            Self::Archive { .. } => "передати до архіву",
        }
    }
}

/// Why a transition was refused: the same error wherever a case moves (tablet, back-office,
/// central connector, supplements, archive job).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    #[error("a case that is «{}» cannot be {event}", state.words().1)]
    NotAllowed {
        state: CaseState,
        event: &'static str,
        event_uk: &'static str,
    },
    #[error("{0} needs the applicant's signature")]
    SignatureRequired(&'static str),
    #[error("a {0} needs a stated reason")]
    ReasonRequired(&'static str),
    #[error("the result can be archived from {due}, three months after it was ready")]
    ArchiveNotDue { due: Date },
}

impl WorkflowError {
    /// The refusal as a sentence for staff and administrators, Ukrainian first.
    pub fn sentence_uk(&self) -> String {
        match self {
            Self::NotAllowed {
                state, event_uk, ..
            } => format!("Справу в стані «{}» не можна {event_uk}.", state.words().0),
            Self::SignatureRequired(_) => "Потрібен підпис заявника.".to_owned(),
            Self::ReasonRequired(_) => "Потрібно вказати причину.".to_owned(),
            Self::ArchiveNotDue { due } => format!(
                "До архіву можна передати з {due}: через три місяці після готовності результату."
            ),
        }
    }
}

impl CaseState {
    /// A case may be withdrawn from registration until a decision is made (8.12).
    pub fn can_be_withdrawn(self) -> bool {
        matches!(
            self,
            Self::Registered
                | Self::Sealed
                | Self::Received
                | Self::Accepted
                | Self::ReturnedForCorrection
                | Self::Forwarded
                | Self::RegisteredCentrally
                | Self::ForwardedToProvider
        )
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Duplicate | Self::ResultDelivered | Self::Withdrawn | Self::Archived
        )
    }

    /// On the way from the centre to the provider and back: where the central system's
    /// reports apply. The central system need not report every step, so a later step may come
    /// straight after an earlier one.
    fn with_central_system(self) -> bool {
        matches!(
            self,
            Self::Accepted
                | Self::Forwarded
                | Self::RegisteredCentrally
                | Self::ForwardedToProvider
                | Self::Issued
                | Self::Refused
                | Self::ResultReady
        )
    }

    fn central_step_to(self, target: CaseState) -> bool {
        self.with_central_system() && self.rank() < target.rank()
    }

    /// Whether a report that the case reached `target` is old news: the case went as far or
    /// further along the same path. Such a report is kept for the record and changes nothing;
    /// any other refused report is a conflict for staff to look at.
    pub fn already_past(self, target: CaseState) -> bool {
        (self.with_central_system() || matches!(self, Self::ResultDelivered | Self::Archived))
            && target.rank() <= self.rank()
    }

    /// The next state after `event`, or why not.
    pub fn apply(self, event: &CaseEvent) -> Result<CaseState, WorkflowError> {
        use CaseEvent as E;
        use CaseState as S;
        let refuse = || WorkflowError::NotAllowed {
            state: self,
            event: event.name(),
            event_uk: event.name_uk(),
        };
        match (self, event) {
            (S::Draft, E::InventorySigned) => Ok(S::Registered),
            (S::Registered, E::Sealed) => Ok(S::Sealed),
            (S::Sealed, E::ReceiptReceived) => Ok(S::Received),
            (S::Received, E::AcceptedByBackOffice) => Ok(S::Accepted),
            (S::Received, E::ReturnedForCorrection { reason }) => {
                if reason.trim().is_empty() {
                    Err(WorkflowError::ReasonRequired("return for correction"))
                } else {
                    Ok(S::ReturnedForCorrection)
                }
            }
            (S::Received, E::MarkedDuplicate) => Ok(S::Duplicate),
            (S::ReturnedForCorrection, E::SupplementReceived) => Ok(S::Received),
            (S::Accepted, E::DeliveredToCentral) => Ok(S::Forwarded),
            (state, E::RegisteredCentrally) if state.central_step_to(S::RegisteredCentrally) => {
                Ok(S::RegisteredCentrally)
            }
            (state, E::ForwardedToProvider) if state.central_step_to(S::ForwardedToProvider) => {
                Ok(S::ForwardedToProvider)
            }
            // A corrected decision (refused, then issued, or the other way) is a step too.
            (state, E::Issued) if state.central_step_to(S::Issued) || state == S::Refused => {
                Ok(S::Issued)
            }
            (state, E::Refused { reasons })
                if state.central_step_to(S::Refused) || state == S::Issued =>
            {
                if reasons.iter().all(|r| r.trim().is_empty()) {
                    Err(WorkflowError::ReasonRequired("refusal"))
                } else {
                    Ok(S::Refused)
                }
            }
            (state, E::ResultReady) if state.central_step_to(S::ResultReady) => Ok(S::ResultReady),
            (S::Issued | S::Refused | S::ResultReady, E::ResultHandedOver { applicant_signed }) => {
                if *applicant_signed {
                    Ok(S::ResultDelivered)
                } else {
                    Err(WorkflowError::SignatureRequired("handing over the result"))
                }
            }
            (state, E::Withdrawn { applicant_signed }) if state.can_be_withdrawn() => {
                if *applicant_signed {
                    Ok(S::Withdrawn)
                } else {
                    Err(WorkflowError::SignatureRequired("withdrawal"))
                }
            }
            (
                S::Issued | S::Refused | S::ResultReady,
                E::Archive {
                    result_ready,
                    today,
                },
            ) => {
                let due = archive_due(*result_ready);
                if *today >= due {
                    Ok(S::Archived)
                } else {
                    Err(WorkflowError::ArchiveNotDue { due })
                }
            }
            _ => Err(refuse()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CaseEvent as E;
    use CaseState as S;
    use time::macros::date;

    fn all_events() -> Vec<CaseEvent> {
        vec![
            E::InventorySigned,
            E::Sealed,
            E::ReceiptReceived,
            E::AcceptedByBackOffice,
            E::ReturnedForCorrection {
                reason: "немає копії паспорта".into(),
            },
            E::MarkedDuplicate,
            E::SupplementReceived,
            E::DeliveredToCentral,
            E::RegisteredCentrally,
            E::ForwardedToProvider,
            E::Issued,
            E::Refused {
                reasons: vec!["подано не всі документи".into()],
            },
            E::ResultReady,
            E::ResultHandedOver {
                applicant_signed: true,
            },
            E::Withdrawn {
                applicant_signed: true,
            },
            E::Archive {
                result_ready: date!(2026 - 01 - 10),
                today: date!(2026 - 05 - 01),
            },
        ]
    }

    fn walk(events: &[CaseEvent]) -> Result<CaseState, WorkflowError> {
        events
            .iter()
            .try_fold(S::Draft, |state, event| state.apply(event))
    }

    #[test]
    fn a_case_goes_from_draft_to_result_delivered_under_signature() {
        let events = [
            E::InventorySigned,
            E::Sealed,
            E::ReceiptReceived,
            E::AcceptedByBackOffice,
            E::DeliveredToCentral,
            E::RegisteredCentrally,
            E::ForwardedToProvider,
            E::Issued,
            E::ResultReady,
            E::ResultHandedOver {
                applicant_signed: true,
            },
        ];
        assert_eq!(walk(&events), Ok(S::ResultDelivered));
    }

    #[test]
    fn returned_case_comes_back_with_a_supplement() {
        let events = [
            E::InventorySigned,
            E::Sealed,
            E::ReceiptReceived,
            E::ReturnedForCorrection {
                reason: "нечитабельна сторінка 2".into(),
            },
            E::SupplementReceived,
            E::AcceptedByBackOffice,
            E::DeliveredToCentral,
        ];
        assert_eq!(walk(&events), Ok(S::Forwarded));
    }

    #[test]
    fn return_for_correction_needs_a_reason() {
        let state = S::Received.apply(&E::ReturnedForCorrection {
            reason: "  ".into(),
        });
        assert_eq!(
            state,
            Err(WorkflowError::ReasonRequired("return for correction"))
        );
    }

    #[test]
    fn refusal_needs_reasons() {
        let state = S::ForwardedToProvider.apply(&E::Refused { reasons: vec![] });
        assert_eq!(state, Err(WorkflowError::ReasonRequired("refusal")));
    }

    #[test]
    fn withdrawal_needs_applicant_signature() {
        assert_eq!(
            S::Received.apply(&E::Withdrawn {
                applicant_signed: false
            }),
            Err(WorkflowError::SignatureRequired("withdrawal"))
        );
        assert_eq!(
            S::Received.apply(&E::Withdrawn {
                applicant_signed: true
            }),
            Ok(S::Withdrawn)
        );
    }

    #[test]
    fn decided_case_cannot_be_withdrawn() {
        for state in [S::Issued, S::Refused, S::ResultReady, S::ResultDelivered] {
            assert!(matches!(
                state.apply(&E::Withdrawn {
                    applicant_signed: true
                }),
                Err(WorkflowError::NotAllowed { .. })
            ));
        }
    }

    #[test]
    fn result_is_handed_over_only_under_signature() {
        assert_eq!(
            S::Issued.apply(&E::ResultHandedOver {
                applicant_signed: false
            }),
            Err(WorkflowError::SignatureRequired("handing over the result"))
        );
        assert_eq!(
            S::Refused.apply(&E::ResultHandedOver {
                applicant_signed: true
            }),
            Ok(S::ResultDelivered)
        );
    }

    #[test]
    fn uncollected_result_is_archived_only_after_three_months() {
        let early = E::Archive {
            result_ready: date!(2026 - 11 - 24),
            today: date!(2027 - 02 - 23),
        };
        assert_eq!(
            S::Issued.apply(&early),
            Err(WorkflowError::ArchiveNotDue {
                due: date!(2027 - 02 - 24)
            })
        );
        let due = E::Archive {
            result_ready: date!(2026 - 11 - 24),
            today: date!(2027 - 02 - 24),
        };
        assert_eq!(S::Issued.apply(&due), Ok(S::Archived));
    }

    #[test]
    fn sealed_case_cannot_go_back_to_draft_or_skip_the_server() {
        assert!(S::Sealed.apply(&E::InventorySigned).is_err());
        assert!(S::Registered.apply(&E::ForwardedToProvider).is_err());
        assert!(S::Received.apply(&E::Issued).is_err());
        assert!(S::Draft.apply(&E::Sealed).is_err());
    }

    #[test]
    fn every_state_and_event_pair_gives_a_state_or_a_typed_error() {
        let mut allowed = 0;
        for state in CaseState::ALL {
            for event in all_events() {
                match state.apply(&event) {
                    Ok(next) => {
                        allowed += 1;
                        assert!(
                            !state.is_final(),
                            "{state:?} is final but accepted {event:?}"
                        );
                        assert_ne!(next, S::Draft);
                    }
                    Err(WorkflowError::NotAllowed { state: s, .. }) => assert_eq!(s, state),
                    Err(other) => panic!("{state:?} + {event:?}: unexpected {other}"),
                }
            }
        }
        // 8 steps at the tablet and the centre; the central system's reports: 2 to registered
        // centrally, 3 to the provider, 5 and 5 to a decision (a correction included), 6 to
        // result ready; 3 hand-overs, 8 withdrawals, 3 archivings.
        assert_eq!(allowed, 43);
    }

    #[test]
    fn every_state_has_a_stable_snake_case_name_that_reads_back() {
        let mut names = std::collections::BTreeSet::new();
        for state in CaseState::ALL {
            let name = state.name();
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{name}"
            );
            assert!(names.insert(name), "{name} twice");
            assert_eq!(
                serde_json::to_string(&state).unwrap(),
                format!("\"{name}\"")
            );
            assert_eq!(CaseState::from_name(name), Some(state));
            let (uk, en) = state.words();
            assert!(!uk.is_empty() && !en.is_empty());
        }
    }

    #[test]
    fn a_state_from_a_newer_peer_is_kept_and_said_to_be_unknown() {
        let read: StateName = serde_json::from_str("\"sent_by_pigeon\"").unwrap();
        assert_eq!(read, StateName::Unknown("sent_by_pigeon".into()));
        assert_eq!(read.words().0, "Невідомий стан");
        assert_eq!(serde_json::to_string(&read).unwrap(), "\"sent_by_pigeon\"");
        let known: StateName = serde_json::from_str("\"result_ready\"").unwrap();
        assert_eq!(known.known(), Some(S::ResultReady));
    }

    #[test]
    fn an_old_report_is_old_news_but_a_report_on_a_side_path_is_a_conflict() {
        assert!(S::ResultReady.already_past(S::RegisteredCentrally));
        assert!(S::Issued.already_past(S::Issued));
        assert!(!S::Accepted.already_past(S::Issued));
        assert!(!S::Withdrawn.already_past(S::Issued));
        assert!(!S::Duplicate.already_past(S::RegisteredCentrally));
    }

    #[test]
    fn a_refused_step_reads_as_a_sentence_in_both_languages() {
        let error = S::Issued
            .apply(&E::Withdrawn {
                applicant_signed: true,
            })
            .unwrap_err();
        assert_eq!(
            error.sentence_uk(),
            "Справу в стані «Рішення прийнято: видано» не можна відкликати."
        );
        assert_eq!(
            error.to_string(),
            "a case that is «Decision made: issued» cannot be withdrawn"
        );
    }

    #[test]
    fn the_central_system_may_skip_steps_but_never_go_back() {
        assert_eq!(S::Accepted.apply(&E::ResultReady), Ok(S::ResultReady));
        assert!(S::ResultReady.apply(&E::ForwardedToProvider).is_err());
        assert_eq!(
            S::Issued.apply(&E::Refused {
                reasons: vec!["немає згоди власника".into()]
            }),
            Ok(S::Refused)
        );
        assert!(S::ResultReady.apply(&E::Issued).is_err());
    }
}
