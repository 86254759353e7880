//! Planned visits kept sealed at rest. A visit names a person, their phone and address
//! (`docs/visits.md`), so the back-office writes it into the visits table sealed under the
//! personal-data key, bound to its tablet and a reference of its own; the visits feed opens
//! it for that tablet alone. A row written in clear by an older build, the command line's
//! `plan-visit` from a file, or a test is served as it is.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::ServerError;
use crate::personal_data::PersonalDataKey;

/// What the visits table holds for a sealed visit.
#[derive(Serialize, Deserialize)]
struct Stored {
    /// Base64 of the sealed visit JSON.
    sealed: String,
    /// The visit's own reference (a request id, or random): part of what the seal is bound to.
    #[serde(rename = "ref")]
    reference: String,
}

fn context(device_id: &str, reference: &str) -> String {
    format!("planned_visit:{device_id}:{reference}")
}

/// The visits table's text for `visit` (the object of `docs/visits.md`) planned for
/// `device_id`.
pub fn seal(
    key: &PersonalDataKey,
    device_id: &str,
    reference: &str,
    visit: &serde_json::Value,
) -> Result<String, ServerError> {
    let sealed = key.seal(&context(device_id, reference), visit.to_string().as_bytes())?;
    serde_json::to_string(&Stored {
        sealed: STANDARD.encode(sealed),
        reference: reference.to_owned(),
    })
    .map_err(|e| ServerError::Storage(format!("planned visit: {e}")))
}

/// Why a stored visit could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VisitUnreadable {
    #[error("the stored visit is not JSON")]
    NotJson,
    #[error("the sealed visit does not open (another key, or moved to another tablet)")]
    DoesNotOpen,
}

/// The visit as the tablet reads it, from the visits table's text for `device_id`.
pub fn open(
    key: &PersonalDataKey,
    device_id: &str,
    stored: &str,
) -> Result<serde_json::Value, VisitUnreadable> {
    let value: serde_json::Value =
        serde_json::from_str(stored).map_err(|_| VisitUnreadable::NotJson)?;
    let Ok(sealed) = serde_json::from_value::<Stored>(value.clone()) else {
        // Written in clear.
        return Ok(value);
    };
    let bytes = STANDARD
        .decode(sealed.sealed)
        .map_err(|_| VisitUnreadable::DoesNotOpen)?;
    let plain = key
        .open(&context(device_id, &sealed.reference), &bytes)
        .map_err(|_| VisitUnreadable::DoesNotOpen)?;
    serde_json::from_slice(&plain).map_err(|_| VisitUnreadable::NotJson)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_sealed_visit_opens_for_its_tablet_only_and_a_clear_one_passes() {
        let key = PersonalDataKey::generate().unwrap();
        let visit = serde_json::json!({"applicant": "Шевченко Марія", "place": "home"});
        let stored = seal(&key, "T07", "r1", &visit).unwrap();
        assert!(!stored.contains("Шевченко"));
        assert_eq!(open(&key, "T07", &stored).unwrap(), visit);
        assert_eq!(
            open(&key, "T08", &stored),
            Err(VisitUnreadable::DoesNotOpen)
        );
        let other = PersonalDataKey::generate().unwrap();
        assert_eq!(
            open(&other, "T07", &stored),
            Err(VisitUnreadable::DoesNotOpen)
        );
        let clear = r#"{"place":"hospital","services":["00004"]}"#;
        assert_eq!(
            open(&key, "T07", clear).unwrap()["place"],
            serde_json::json!("hospital")
        );
    }
}
