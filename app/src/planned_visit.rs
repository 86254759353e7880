//! A planned visit as the centre sends it (`GET /v1/visits`, described in
//! `sync-server/docs/visits.md`) and the tablet keeps it, encrypted, under `visit.{id}` in the
//! vault until the case made from it is sealed (then `visit.done.{id}` marks it done).
//!
//! One typed record instead of lookups by key in every screen that reads a visit: a field
//! the server leaves out is empty, as it always was, and an unknown place reads as home.

use fieldkit_vault::UnlockedVault;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// Where the administrator goes (the wire's `place`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlannedPlace {
    Hospital,
    CareFacility,
    /// `home`, and any place this tablet does not know yet.
    #[default]
    #[serde(other)]
    Home,
}

impl PlannedPlace {
    /// The place as the applicant screen numbers it (0 home, 1 hospital, 2 care facility).
    pub fn screen_index(self) -> u8 {
        match self {
            Self::Home => 0,
            Self::Hospital => 1,
            Self::CareFacility => 2,
        }
    }
}

/// What the visit is for (the wire's `kind`; absent in records from before hand-over visits).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitKind {
    /// A new application: the visit opens a new case.
    #[default]
    Intake,
    /// Видача результату: the result of an existing case (`case_number`) is handed over under
    /// the applicant's signature; the case may have been sealed by another tablet.
    Handover,
    /// A kind a newer server sends that this tablet does not know: listed, not started.
    #[serde(other)]
    Unknown,
}

/// One visit planned from the centre's queue for this tablet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlannedVisit {
    /// Given by the server when it serves the feed; increasing per server.
    pub visit_id: i64,
    /// Local date and time, `YYYY-MM-DD HH:MM`: the Today list is sorted by it.
    pub time: String,
    pub place: PlannedPlace,
    pub address: String,
    /// Surname, given name and patronymic, separated by spaces.
    pub applicant: String,
    pub phone: String,
    /// Service codes of the published catalog; the first one opens first.
    pub services: Vec<String>,
    pub kind: VisitKind,
    /// With [`VisitKind::Handover`]: the case whose result is handed over.
    pub case_number: String,
}

/// The vault's setting that holds a visit, and the one that marks it done.
fn key(visit_id: &str) -> String {
    format!("visit.{visit_id}")
}

fn done_key(visit_id: &str) -> String {
    format!("visit.done.{visit_id}")
}

impl PlannedVisit {
    /// The visit as the server sent it; `None` for a record this tablet cannot read.
    pub fn from_json(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }

    /// The visit kept under this id, if there is one and it can be read.
    pub fn load(vault: &mut UnlockedVault, visit_id: &str) -> Result<Option<Self>> {
        Ok(vault
            .get_setting(&key(visit_id))?
            .and_then(|bytes| Self::from_json(&bytes)))
    }

    /// Every kept visit whose case is not sealed yet, earliest first.
    pub fn open_ones(vault: &mut UnlockedVault) -> Result<Vec<Self>> {
        let mut visits = Vec::new();
        for (key, value) in vault.transaction(|tx| tx.settings_with_prefix("visit."))? {
            if key.starts_with("visit.done.") {
                continue;
            }
            let Some(visit) = Self::from_json(&value) else {
                continue;
            };
            if vault.get_setting(&done_key(&visit.id()))?.is_none() {
                visits.push(visit);
            }
        }
        visits.sort_by(|a, b| a.time.cmp(&b.time));
        Ok(visits)
    }

    /// Every hand-over visit kept on this tablet, done or not, earliest first: the cases this
    /// tablet hands over without having sealed them.
    pub fn handovers(vault: &mut UnlockedVault) -> Result<Vec<Self>> {
        let mut visits: Vec<Self> = vault
            .transaction(|tx| tx.settings_with_prefix("visit."))?
            .into_iter()
            .filter(|(key, _)| !key.starts_with("visit.done."))
            .filter_map(|(_, value)| Self::from_json(&value))
            .filter(|visit| visit.kind == VisitKind::Handover && !visit.case_number.is_empty())
            .collect();
        visits.sort_by(|a, b| a.time.cmp(&b.time));
        Ok(visits)
    }

    /// Whether the visit is done (its case sealed, or its hand-over recorded).
    pub fn is_done(&self, vault: &mut UnlockedVault) -> Result<bool> {
        Ok(vault.get_setting(&done_key(&self.id()))?.is_some())
    }

    /// The id as the vault's keys and the Today screen's rows spell it.
    pub fn id(&self) -> String {
        self.visit_id.to_string()
    }

    /// Surname, given name and the rest (the patronymic, or nothing) as the form holds them.
    pub fn applicant_names(&self) -> (String, String, String) {
        let mut names = self.applicant.split_whitespace();
        let surname = names.next().unwrap_or_default().to_owned();
        let given = names.next().unwrap_or_default().to_owned();
        (surname, given, names.collect::<Vec<_>>().join(" "))
    }

    /// The service that opens first.
    pub fn first_service(&self) -> Option<&str> {
        self.services.first().map(String::as_str)
    }
}

/// The setting that marks a visit done once its case is sealed or recorded.
pub fn done_setting(visit_id: &str) -> String {
    done_key(visit_id)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_visit_from_the_feed_reads_field_by_field() {
        let visit = PlannedVisit::from_json(
            br#"{"visit_id": 7, "time": "2026-11-28 10:00", "place": "care_facility",
                 "address": "Lviv", "applicant": "Shevchenko Maria Ivanivna",
                 "phone": "0671234567", "services": ["00001", "00002"]}"#,
        )
        .unwrap();
        assert_eq!(visit.id(), "7");
        assert_eq!(visit.place, PlannedPlace::CareFacility);
        assert_eq!(visit.place.screen_index(), 2);
        assert_eq!(visit.first_service(), Some("00001"));
        assert_eq!(
            visit.applicant_names(),
            (
                "Shevchenko".to_owned(),
                "Maria".to_owned(),
                "Ivanivna".to_owned()
            )
        );
    }

    #[test]
    fn missing_fields_are_empty_and_an_unknown_place_is_home() {
        let visit = PlannedVisit::from_json(br#"{"visit_id": 3, "place": "boat"}"#).unwrap();
        assert_eq!(visit.place, PlannedPlace::Home);
        assert_eq!(visit.first_service(), None);
        assert_eq!(visit.applicant_names().0, "");
    }

    #[test]
    fn a_hand_over_visit_names_its_case_and_an_older_record_is_an_intake() {
        let visit = PlannedVisit::from_json(
            br#"{"visit_id": 9, "kind": "handover", "case_number": "LV01/T07/2026/000001-0",
                 "time": "2026-12-01 10:30", "services": ["00001"]}"#,
        )
        .unwrap();
        assert_eq!(visit.kind, VisitKind::Handover);
        assert_eq!(visit.case_number, "LV01/T07/2026/000001-0");
        let older = PlannedVisit::from_json(br#"{"visit_id": 3, "services": ["00001"]}"#).unwrap();
        assert_eq!(older.kind, VisitKind::Intake);
        assert_eq!(older.case_number, "");
        let newer = PlannedVisit::from_json(br#"{"visit_id": 4, "kind": "inspection"}"#).unwrap();
        assert_eq!(newer.kind, VisitKind::Unknown);
    }

    #[test]
    fn a_record_that_is_not_a_visit_is_not_read() {
        assert_eq!(PlannedVisit::from_json(b"not json"), None);
        assert_eq!(PlannedVisit::from_json(br#"{"visit_id": "x"}"#), None);
    }
}
