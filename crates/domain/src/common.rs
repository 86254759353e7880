//! Identifiers and small values shared by the catalog, the case and the calendar.

use serde::{Deserialize, Serialize};

use crate::conditions::ConditionRule;
use std::fmt;

/// Code of an administrative service, as in the centre's catalog (and the Register, where it
/// has one). Stable across catalog versions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ServiceCode(pub String);

/// Identifier of one required document within a service's information card.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequirementId(pub String);

/// Identifier of a provider of administrative services (суб'єкт надання).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProviderId(pub String);

macro_rules! display_inner {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}
display_inner!(ServiceCode, RequirementId, ProviderId);

/// Whether a term counts working days or calendar days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    Working,
    Calendar,
}

/// A term (строк) such as "10 working days" or "30 calendar days".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Term {
    pub days: u32,
    pub kind: DayKind,
}

/// Whether a document of the information card must be in every input package, or only when
/// its condition applies: decided by the rule where the catalog gives one, otherwise answered
/// by the administrator (see `conditions`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Necessity {
    Mandatory,
    Conditional {
        /// The condition as the card words it.
        condition: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rule: Option<ConditionRule>,
    },
}

/// In which form a document is handed in: the original (shown or kept), a copy, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentForm {
    Original,
    Copy,
    OriginalAndCopy,
}
