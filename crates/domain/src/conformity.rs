//! The conformity conclusion (висновок про відповідність, regulation 6.10–6.13): the input
//! package against the information card. Every mandatory document, and every conditional one
//! whose condition applies, must have at least one page. The conclusion is drawn only when
//! every condition is decided; until then the check says which ones are open.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::case::CapturedDocument;
use crate::common::{Necessity, RequirementId};
use crate::conditions::{CaseFacts, ConditionCheck, decide};

/// A requirement of the information card, as the conformity check needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredDocument {
    pub id: RequirementId,
    pub title: String,
    pub necessity: Necessity,
}

/// What the information card asks of an input package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageRules {
    pub documents: Vec<RequiredDocument>,
    /// Whether the service is paid (a fee rule then needs paid / exempt / later).
    pub fee_is_charged: bool,
}

/// A document the package lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingDocument {
    pub id: RequirementId,
    pub title: String,
}

/// The conclusion (відповідає / не відповідає).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "conclusion")]
pub enum Conformity {
    /// Відповідає.
    Conforms,
    /// Не відповідає, with what is missing.
    DoesNotConform { missing: Vec<MissingDocument> },
}

/// No conclusion yet: these conditions are not decided.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} condition(s) of the information card are not decided yet", .open.len())]
pub struct Unsettled {
    pub open: Vec<ConditionCheck>,
}

/// The administrator's override of the computed conclusion, always with a note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConformityOverride {
    pub conforms: bool,
    pub note: String,
}

/// What the inventory states: the computed conclusion and, if any, the override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConformityConclusion {
    pub computed: Conformity,
    pub overridden: Option<ConformityOverride>,
}

impl ConformityConclusion {
    pub fn conforms(&self) -> bool {
        match &self.overridden {
            Some(o) => o.conforms,
            None => self.computed == Conformity::Conforms,
        }
    }
}

/// Every conditional requirement's outcome, and the conclusion once none is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// The conditional requirements, in the card's order.
    pub conditions: Vec<ConditionCheck>,
    /// What the package lacks of the documents known to be required (open conditions aside).
    pub known_missing: Vec<MissingDocument>,
    pub computed: Result<Conformity, Unsettled>,
}

impl Assessment {
    /// Check the captured documents against the card with what is known of the case.
    pub fn of(
        rules: &PackageRules,
        documents: &[CapturedDocument],
        facts: &CaseFacts<'_>,
    ) -> Assessment {
        let conditions: Vec<ConditionCheck> = rules
            .documents
            .iter()
            .filter_map(|r| match &r.necessity {
                Necessity::Mandatory => None,
                Necessity::Conditional { condition, rule } => Some(ConditionCheck {
                    requirement: r.id.clone(),
                    title: r.title.clone(),
                    condition: condition.clone(),
                    outcome: decide(&r.id, rule.as_ref(), facts),
                }),
            })
            .collect();
        let applies = |r: &RequiredDocument| match r.necessity {
            Necessity::Mandatory => true,
            Necessity::Conditional { .. } => conditions
                .iter()
                .any(|c| c.requirement == r.id && c.applies() == Some(true)),
        };
        let captured: BTreeSet<&RequirementId> = documents
            .iter()
            .filter(|d| d.page_count() > 0)
            .map(|d| &d.requirement)
            .collect();
        let known_missing: Vec<MissingDocument> = rules
            .documents
            .iter()
            .filter(|r| applies(r) && !captured.contains(&r.id))
            .map(|r| MissingDocument {
                id: r.id.clone(),
                title: r.title.clone(),
            })
            .collect();
        let open: Vec<ConditionCheck> = conditions
            .iter()
            .filter(|c| c.applies().is_none())
            .cloned()
            .collect();
        let computed = if !open.is_empty() {
            Err(Unsettled { open })
        } else if known_missing.is_empty() {
            Ok(Conformity::Conforms)
        } else {
            Ok(Conformity::DoesNotConform {
                missing: known_missing.clone(),
            })
        };
        Assessment {
            conditions,
            known_missing,
            computed,
        }
    }

    /// Whether this requirement must be in the package: `None` while its condition is open.
    pub fn required(&self, requirement: &RequiredDocument) -> Option<bool> {
        match requirement.necessity {
            Necessity::Mandatory => Some(true),
            Necessity::Conditional { .. } => self
                .conditions
                .iter()
                .find(|c| c.requirement == requirement.id)
                .and_then(ConditionCheck::applies),
        }
    }
}
