//! The life of a case as one state machine, after regulation sections 6–8: from the draft on
//! the tablet, through registration (the applicant signed the inventory), sealing and sync, to
//! the back-office, the provider, the decision and the hand-over of the result under the
//! applicant's signature; with withdrawal (8.12–8.14), return for correction, and archiving of
//! an uncollected result three months after it was ready (8.5).

use serde::{Deserialize, Serialize};
use time::Date;

use crate::calendar::archive_due;

/// Where a case is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// Being captured on the tablet (чернетка).
    Draft,
    /// The inventory of the input package is signed: the case is registered (6.12–6.13).
    Registered,
    /// Sealed to the server: the tablet can no longer read it.
    Sealed,
    /// The server has answered with a signed receipt.
    Synced,
    /// Accepted into the back-office for reconciliation.
    Received,
    /// Sent back to the administrator with a reason; a supplement answers it.
    ReturnedForCorrection,
    /// Forwarded to the provider (суб'єкт надання), regulation 7.1.
    ForwardedToProvider,
    /// The provider issued the result.
    Issued,
    /// The provider refused, with reasons.
    Refused,
    /// The result (or refusal) was handed over under the applicant's signature (8.3).
    ResultDelivered,
    /// Withdrawn by the applicant under signature (8.12–8.14).
    Withdrawn,
    /// An uncollected result went to the archive (8.5).
    Archived,
}

/// What happens to a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum CaseEvent {
    InventorySigned,
    Sealed,
    ReceiptReceived,
    AcceptedByBackOffice,
    ReturnedForCorrection { reason: String },
    SupplementReceived,
    Forwarded,
    Issued,
    Refused { reasons: Vec<String> },
    ResultHandedOver { applicant_signed: bool },
    Withdrawn { applicant_signed: bool },
    Archive { result_ready: Date, today: Date },
}

impl CaseEvent {
    fn name(&self) -> &'static str {
        match self {
            Self::InventorySigned => "inventory signed",
            Self::Sealed => "sealed",
            Self::ReceiptReceived => "receipt received",
            Self::AcceptedByBackOffice => "accepted by back-office",
            Self::ReturnedForCorrection { .. } => "returned for correction",
            Self::SupplementReceived => "supplement received",
            Self::Forwarded => "forwarded",
            Self::Issued => "issued",
            Self::Refused { .. } => "refused",
            Self::ResultHandedOver { .. } => "result handed over",
            Self::Withdrawn { .. } => "withdrawn",
            Self::Archive { .. } => "archive",
        }
    }
}

/// Why a transition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    #[error("a case in state {state:?} cannot be {event}")]
    NotAllowed {
        state: CaseState,
        event: &'static str,
    },
    #[error("{0} needs the applicant's signature")]
    SignatureRequired(&'static str),
    #[error("a {0} needs a stated reason")]
    ReasonRequired(&'static str),
    #[error("the result can be archived from {due}, three months after it was ready")]
    ArchiveNotDue { due: Date },
}

impl CaseState {
    /// A case may be withdrawn from registration until a decision is made.
    pub fn can_be_withdrawn(self) -> bool {
        matches!(
            self,
            Self::Registered
                | Self::Sealed
                | Self::Synced
                | Self::Received
                | Self::ReturnedForCorrection
                | Self::ForwardedToProvider
        )
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::ResultDelivered | Self::Withdrawn | Self::Archived
        )
    }

    /// The next state after `event`, or why not.
    pub fn apply(self, event: &CaseEvent) -> Result<CaseState, WorkflowError> {
        use CaseEvent as E;
        use CaseState as S;
        let refuse = || WorkflowError::NotAllowed {
            state: self,
            event: event.name(),
        };
        match (self, event) {
            (S::Draft, E::InventorySigned) => Ok(S::Registered),
            (S::Registered, E::Sealed) => Ok(S::Sealed),
            (S::Sealed, E::ReceiptReceived) => Ok(S::Synced),
            (S::Synced, E::AcceptedByBackOffice) => Ok(S::Received),
            (S::Received, E::ReturnedForCorrection { reason }) => {
                if reason.trim().is_empty() {
                    Err(WorkflowError::ReasonRequired("return for correction"))
                } else {
                    Ok(S::ReturnedForCorrection)
                }
            }
            (S::ReturnedForCorrection, E::SupplementReceived) => Ok(S::Received),
            (S::Received, E::Forwarded) => Ok(S::ForwardedToProvider),
            (S::ForwardedToProvider, E::Issued) => Ok(S::Issued),
            (S::ForwardedToProvider, E::Refused { reasons }) => {
                if reasons.iter().all(|r| r.trim().is_empty()) {
                    Err(WorkflowError::ReasonRequired("refusal"))
                } else {
                    Ok(S::Refused)
                }
            }
            (S::Issued | S::Refused, E::ResultHandedOver { applicant_signed }) => {
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
                S::Issued | S::Refused,
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

    const ALL_STATES: [CaseState; 12] = [
        S::Draft,
        S::Registered,
        S::Sealed,
        S::Synced,
        S::Received,
        S::ReturnedForCorrection,
        S::ForwardedToProvider,
        S::Issued,
        S::Refused,
        S::ResultDelivered,
        S::Withdrawn,
        S::Archived,
    ];

    fn all_events() -> Vec<CaseEvent> {
        vec![
            E::InventorySigned,
            E::Sealed,
            E::ReceiptReceived,
            E::AcceptedByBackOffice,
            E::ReturnedForCorrection {
                reason: "немає копії паспорта".into(),
            },
            E::SupplementReceived,
            E::Forwarded,
            E::Issued,
            E::Refused {
                reasons: vec!["подано не всі документи".into()],
            },
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
            E::Forwarded,
            E::Issued,
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
            E::AcceptedByBackOffice,
            E::ReturnedForCorrection {
                reason: "нечитабельна сторінка 2".into(),
            },
            E::SupplementReceived,
            E::Forwarded,
        ];
        assert_eq!(walk(&events), Ok(S::ForwardedToProvider));
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
        for state in [S::Issued, S::Refused, S::ResultDelivered] {
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
        assert!(S::Registered.apply(&E::Forwarded).is_err());
        assert!(S::Draft.apply(&E::Sealed).is_err());
    }

    #[test]
    fn every_state_and_event_pair_gives_a_state_or_a_typed_error() {
        let mut allowed = 0;
        for state in ALL_STATES {
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
        // 9 steps along the way, 2 hand-overs, 6 withdrawals, 2 archivings.
        assert_eq!(allowed, 19);
    }
}
