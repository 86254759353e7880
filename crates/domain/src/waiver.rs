//! When the applicant cannot sign (заявник не може підписати): why, and who signs the
//! inventory instead — the representative who acts for them, or a witness with a name and an
//! identity document (DESIGN.md, «who signs»). The administrator's signature is always there.

use serde::{Deserialize, Serialize};

use crate::case::{CaseError, SignerRole};

/// Why the applicant cannot sign (причина, з якої заявник не може підписати).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaiverGround {
    /// Лежачий хворий.
    Bedridden,
    /// Не може тримати ручку: тремор, параліч.
    CannotHoldPen,
    /// Незрячий або слабозорий.
    Blind,
    /// Інша причина, описана в примітці. Waivers recorded before the ground was typed read as
    /// this, with their free-text reason as the note.
    #[default]
    Other,
}

impl WaiverGround {
    pub const ALL: [WaiverGround; 4] = [
        WaiverGround::Bedridden,
        WaiverGround::CannotHoldPen,
        WaiverGround::Blind,
        WaiverGround::Other,
    ];

    /// As printed on the inventory.
    pub fn title_uk(self) -> &'static str {
        match self {
            WaiverGround::Bedridden => "лежачий хворий",
            WaiverGround::CannotHoldPen => "не може тримати ручку (тремор, параліч)",
            WaiverGround::Blind => "незрячий або слабозорий",
            WaiverGround::Other => "інша причина",
        }
    }

    pub fn title_en(self) -> &'static str {
        match self {
            WaiverGround::Bedridden => "bedridden",
            WaiverGround::CannotHoldPen => "cannot hold a pen (tremor, paralysis)",
            WaiverGround::Blind => "blind or low vision",
            WaiverGround::Other => "another reason",
        }
    }
}

/// The person who signs instead of the applicant, as the administrator entered them.
#[derive(Clone, PartialEq, Eq)]
pub struct Substitute {
    /// `Witness` or `Representative`.
    pub role: SignerRole,
    pub name: String,
    /// The identity document (a witness) or the authority document (a representative).
    pub document: String,
}

/// The record that the applicant cannot sign: why, and who signs instead.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureWaiver {
    #[serde(default)]
    pub ground: WaiverGround,
    /// The administrator's note; cases sealed before the ground was typed called it `reason`.
    #[serde(default, alias = "reason")]
    pub note: String,
    pub signed_instead_by: SignerRole,
    #[serde(default)]
    pub signer_name: String,
    #[serde(default)]
    pub signer_document: String,
}

impl std::fmt::Debug for SignatureWaiver {
    // The signer's name and document are personal data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignatureWaiver")
            .field("ground", &self.ground)
            .field("signed_instead_by", &self.signed_instead_by)
            .finish_non_exhaustive()
    }
}

impl SignatureWaiver {
    /// A waiver from what the administrator chose and typed, refused when a part is missing.
    /// `representative_acts`: a representative may sign instead only when one acts in the case.
    pub fn new(
        ground: Option<WaiverGround>,
        note: &str,
        substitute: Substitute,
        representative_acts: bool,
    ) -> Result<Self, CaseError> {
        let waiver = Self {
            ground: ground.ok_or(CaseError::WaiverNeedsReason)?,
            note: note.trim().to_owned(),
            signed_instead_by: substitute.role,
            signer_name: substitute.name.trim().to_owned(),
            signer_document: substitute.document.trim().to_owned(),
        };
        waiver.check()?;
        if waiver.signed_instead_by == SignerRole::Representative && !representative_acts {
            return Err(CaseError::WaiverWithoutRepresentative);
        }
        Ok(waiver)
    }

    /// Complete enough to stand on the inventory: a reason («інша» needs the note), a signer
    /// who is a witness or the representative, their name, and a witness's identity document.
    pub fn check(&self) -> Result<(), CaseError> {
        if self.ground == WaiverGround::Other && self.note.trim().is_empty() {
            return Err(CaseError::WaiverNeedsReason);
        }
        if !matches!(
            self.signed_instead_by,
            SignerRole::Witness | SignerRole::Representative
        ) {
            return Err(CaseError::WaiverSignerRole);
        }
        if self.signer_name.trim().is_empty() {
            return Err(CaseError::WaiverNeedsSignerName);
        }
        if self.signed_instead_by == SignerRole::Witness && self.signer_document.trim().is_empty() {
            return Err(CaseError::WaiverNeedsSignerDocument);
        }
        Ok(())
    }

    /// The reason as printed: the ground, and the note after it when there is one.
    pub fn reason_uk(&self) -> String {
        match (self.ground, self.note.trim()) {
            (WaiverGround::Other, note) if !note.is_empty() => note.to_owned(),
            (ground, "") => ground.title_uk().to_owned(),
            (ground, note) => format!("{}; {note}", ground.title_uk()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn witness(name: &str, document: &str) -> Substitute {
        Substitute {
            role: SignerRole::Witness,
            name: name.into(),
            document: document.into(),
        }
    }

    #[test]
    fn a_waiver_without_a_reason_is_refused() {
        let refused = SignatureWaiver::new(
            None,
            "",
            witness("Петренко Іван", "паспорт КА 123456"),
            false,
        );
        assert_eq!(refused.err(), Some(CaseError::WaiverNeedsReason));
        let other_without_note = SignatureWaiver::new(
            Some(WaiverGround::Other),
            "  ",
            witness("Петренко Іван", "паспорт КА 123456"),
            false,
        );
        assert_eq!(other_without_note.err(), Some(CaseError::WaiverNeedsReason));
    }

    #[test]
    fn a_waiver_without_a_signer_name_is_refused() {
        let refused = SignatureWaiver::new(
            Some(WaiverGround::Bedridden),
            "",
            witness(" ", "паспорт КА 123456"),
            false,
        );
        assert_eq!(refused.err(), Some(CaseError::WaiverNeedsSignerName));
    }

    #[test]
    fn a_witness_shows_an_identity_document() {
        let refused = SignatureWaiver::new(
            Some(WaiverGround::Blind),
            "",
            witness("Петренко Іван", ""),
            false,
        );
        assert_eq!(refused.err(), Some(CaseError::WaiverNeedsSignerDocument));
    }

    #[test]
    fn only_an_acting_representative_signs_instead() {
        let representative = Substitute {
            role: SignerRole::Representative,
            name: "Шевченко Олег".into(),
            document: "довіреність НВЕ 123456".into(),
        };
        assert_eq!(
            SignatureWaiver::new(
                Some(WaiverGround::CannotHoldPen),
                "",
                representative.clone(),
                false
            )
            .err(),
            Some(CaseError::WaiverWithoutRepresentative)
        );
        assert!(
            SignatureWaiver::new(Some(WaiverGround::CannotHoldPen), "", representative, true)
                .is_ok()
        );
        let administrator = Substitute {
            role: SignerRole::Administrator,
            name: "Коваленко Олена".into(),
            document: String::new(),
        };
        assert_eq!(
            SignatureWaiver::new(Some(WaiverGround::Blind), "", administrator, false).err(),
            Some(CaseError::WaiverSignerRole)
        );
    }

    #[test]
    fn a_waiver_from_before_the_typed_ground_still_reads() {
        let old = r#"{"reason":"тремор рук після інсульту","signed_instead_by":"witness"}"#;
        let waiver: SignatureWaiver = serde_json::from_str(old).unwrap();
        assert_eq!(waiver.ground, WaiverGround::Other);
        assert_eq!(waiver.reason_uk(), "тремор рук після інсульту");
        // It lacks the signer's name, so it cannot seal a case now.
        assert_eq!(waiver.check(), Err(CaseError::WaiverNeedsSignerName));
    }

    #[test]
    fn the_printed_reason_is_the_ground_and_the_note() {
        let waiver = SignatureWaiver::new(
            Some(WaiverGround::CannotHoldPen),
            "після інсульту",
            witness("Петренко Іван", "паспорт КА 123456"),
            false,
        )
        .unwrap();
        assert_eq!(
            waiver.reason_uk(),
            "не може тримати ручку (тремор, параліч); після інсульту"
        );
    }
}
