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

impl Term {
    /// The term as people say it, (Ukrainian, English): «у день звернення» for none, Ukrainian
    /// plural forms («1 робочий день», «3 робочі дні», «5 робочих днів»), English singular and
    /// plural. The tablet's card and the public pages read it from here.
    pub fn words(&self) -> (String, String) {
        let n = self.days;
        if n == 0 {
            return (
                "у день звернення".to_owned(),
                "on the day of application".to_owned(),
            );
        }
        let form = plural_form_uk(u64::from(n));
        let (kind_uk, kind_en) = match self.kind {
            DayKind::Working => (["робочий", "робочі", "робочих"][form], "working"),
            DayKind::Calendar => (
                ["календарний", "календарні", "календарних"][form],
                "calendar",
            ),
        };
        let day_uk = ["день", "дні", "днів"][form];
        let day_en = if n == 1 { "day" } else { "days" };
        (
            format!("{n} {kind_uk} {day_uk}"),
            format!("{n} {kind_en} {day_en}"),
        )
    }
}

/// Which of the three Ukrainian plural forms a count takes: 0 for 1, 21, 31… («1 день»),
/// 1 for 2–4, 22–24… («3 дні»), 2 for the rest, 11–14 too («5 днів», «12 днів»).
pub fn plural_form_uk(n: u64) -> usize {
    match (n % 10, n % 100) {
        (1, r) if r != 11 => 0,
        (2..=4, r) if !(12..=14).contains(&r) => 1,
        _ => 2,
    }
}

/// A labelled value of a card, as the tablet and the public pages show it: the label in
/// (Ukrainian, English), the value as the catalog has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labelled {
    pub label: (&'static str, &'static str),
    pub value: String,
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

impl DocumentForm {
    /// (Ukrainian, English), as the inventory and the card print it.
    pub fn words(self) -> (&'static str, &'static str) {
        match self {
            DocumentForm::Original => ("оригінал", "original"),
            DocumentForm::Copy => ("копія", "copy"),
            DocumentForm::OriginalAndCopy => ("оригінал і копія", "original and copy"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(days: u32, kind: DayKind) -> (String, String) {
        Term { days, kind }.words()
    }

    #[test]
    fn terms_read_as_people_say_them() {
        use DayKind::{Calendar, Working};
        let uk = |days, kind| said(days, kind).0;
        let en = |days, kind| said(days, kind).1;
        assert_eq!(uk(0, Working), "у день звернення");
        assert_eq!(en(0, Calendar), "on the day of application");
        assert_eq!(uk(1, Working), "1 робочий день");
        assert_eq!(uk(3, Working), "3 робочі дні");
        assert_eq!(uk(5, Working), "5 робочих днів");
        assert_eq!(uk(11, Calendar), "11 календарних днів");
        assert_eq!(uk(12, Working), "12 робочих днів");
        assert_eq!(uk(21, Calendar), "21 календарний день");
        assert_eq!(uk(22, Working), "22 робочі дні");
        assert_eq!(uk(30, Calendar), "30 календарних днів");
        assert_eq!(en(1, Working), "1 working day");
        assert_eq!(en(10, Calendar), "10 calendar days");
    }
}
