//! Signing in ink on paper, bound to the content. The tablet prints the inventory (and the
//! application) with a mark in the corner of every sheet — a QR code with the case number, the
//! document and the SHA-256 of its content; the applicant signs the sheets in ink; the scans
//! come back and are accepted only when their mark names this case and exactly this content.
//! A sheet of another case, of another (or changed) document, or with no readable mark is
//! refused with a reason the administrator can act on.

use serde::{Deserialize, Serialize};

use crate::case::PageRef;

/// The prefix of every mark: what it is, and the version of its layout.
const MARK_PREFIX: &str = "FKINK1";

/// Which paper of a case a sheet belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InkDocument {
    /// Опис вхідного пакета документів.
    Inventory,
    /// Заява.
    Application,
}

impl InkDocument {
    fn code(self) -> char {
        match self {
            InkDocument::Inventory => 'I',
            InkDocument::Application => 'A',
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        match code {
            "I" => Some(InkDocument::Inventory),
            "A" => Some(InkDocument::Application),
            _ => None,
        }
    }

    pub fn title_uk(self) -> &'static str {
        match self {
            InkDocument::Inventory => "опис вхідного пакета",
            InkDocument::Application => "заява",
        }
    }

    pub fn title_en(self) -> &'static str {
        match self {
            InkDocument::Inventory => "inventory of the input package",
            InkDocument::Application => "application",
        }
    }
}

/// The mark printed on each sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InkMark {
    pub case_number: String,
    pub document: InkDocument,
    /// SHA-256 of the document's content, lowercase hex: what the signature binds to.
    pub content_sha256: String,
    /// This sheet's number, from 1, of `sheets`: a document is signed when every sheet is back.
    pub sheet: u16,
    pub sheets: u16,
}

impl InkMark {
    /// The QR payload: only characters of the QR alphanumeric mode (upper case, digits, `/`,
    /// `-`, `:`), so the code stays small enough for large modules in a sheet's corner.
    pub fn payload(&self) -> String {
        format!(
            "{MARK_PREFIX}:{}:{}:{}/{}:{}",
            self.case_number,
            self.document.code(),
            self.sheet,
            self.sheets,
            self.content_sha256.to_ascii_uppercase()
        )
    }

    /// Read a payload; `None` when it is not a mark of ours.
    pub fn parse(payload: &str) -> Option<InkMark> {
        let mut parts = payload.trim().split(':');
        if parts.next()? != MARK_PREFIX {
            return None;
        }
        let case_number = parts.next()?.to_owned();
        let document = InkDocument::from_code(parts.next()?)?;
        let (sheet, sheets) = parts.next()?.split_once('/')?;
        let (sheet, sheets): (u16, u16) = (sheet.parse().ok()?, sheets.parse().ok()?);
        let hash = parts.next()?;
        if parts.next().is_some()
            || case_number.is_empty()
            || sheet == 0
            || sheet > sheets
            || hash.len() != 64
            || !hash.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return None;
        }
        Some(InkMark {
            case_number,
            document,
            content_sha256: hash.to_ascii_lowercase(),
            sheet,
            sheets,
        })
    }
}

/// Why a scanned sheet is not taken as signed in ink.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InkRefusal {
    #[error("no QR code could be read on the sheet")]
    NoCode,
    #[error("the QR code on the sheet is not a fieldkit mark")]
    NotOurs,
    #[error("the sheet belongs to case {found}")]
    OtherCase { found: String },
    #[error("the sheet is another version of the {}", .document.title_en())]
    OtherContent { document: InkDocument },
}

impl InkRefusal {
    pub fn message_uk(&self) -> String {
        match self {
            InkRefusal::NoCode => "На аркуші не прочитано QR-код: відскануйте аркуш цілим, \
                                   з кутом, де надруковано код."
                .to_owned(),
            InkRefusal::NotOurs => {
                "QR-код на аркуші — не позначка fieldkit: це не надрукований для підпису аркуш."
                    .to_owned()
            }
            InkRefusal::OtherCase { found } => {
                format!("Аркуш іншої справи (№ {found}): його не приєднано.")
            }
            InkRefusal::OtherContent { document } => format!(
                "Аркуш іншої або зміненої версії документа «{}»: надрукуйте його знову.",
                document.title_uk()
            ),
        }
    }
}

/// A document of the case that may come back signed in ink: which, and its content hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintedDocument {
    pub document: InkDocument,
    pub content_sha256: String,
}

/// Which printed sheet a scan is, from the QR codes read on it: it must carry a mark of this
/// case for one of the documents printed, with exactly that content.
pub fn check_sheet(
    qr_payloads: &[String],
    case_number: &str,
    printed: &[PrintedDocument],
) -> Result<InkMark, InkRefusal> {
    if qr_payloads.is_empty() {
        return Err(InkRefusal::NoCode);
    }
    let marks: Vec<InkMark> = qr_payloads
        .iter()
        .filter_map(|p| InkMark::parse(p))
        .collect();
    let Some(mark) = marks.first() else {
        return Err(InkRefusal::NotOurs);
    };
    let ours = |m: &&InkMark| {
        m.case_number == case_number
            && printed
                .iter()
                .any(|p| p.document == m.document && p.content_sha256 == m.content_sha256)
    };
    if let Some(found) = marks.iter().find(ours) {
        return Ok(found.clone());
    }
    if mark.case_number != case_number {
        return Err(InkRefusal::OtherCase {
            found: mark.case_number.clone(),
        });
    }
    Err(InkRefusal::OtherContent {
        document: mark.document,
    })
}

/// One scanned sheet: its number in the document and the stored page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScannedSheet {
    pub sheet: u16,
    pub page: PageRef,
}

/// Scans of a document signed in ink, bound to its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InkSignedSheets {
    pub document: InkDocument,
    pub content_sha256: String,
    /// How many sheets the printed document has.
    pub sheets: u16,
    /// The sheets scanned so far, in sheet order, each once.
    pub scanned: Vec<ScannedSheet>,
}

impl InkSignedSheets {
    /// Every sheet of the document is back.
    pub fn complete(&self) -> bool {
        self.sheets > 0 && (1..=self.sheets).all(|n| self.scanned.iter().any(|s| s.sheet == n))
    }

    /// Keep a scan of `sheet`, in place of an earlier scan of the same sheet.
    pub fn keep(&mut self, sheet: u16, page: PageRef) -> Option<PageRef> {
        let earlier = self
            .scanned
            .iter()
            .position(|s| s.sheet == sheet)
            .map(|i| self.scanned.remove(i).page);
        self.scanned.push(ScannedSheet { sheet, page });
        self.scanned.sort_by_key(|s| s.sheet);
        earlier
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(case: &str, document: InkDocument, fill: char) -> InkMark {
        InkMark {
            case_number: case.into(),
            document,
            content_sha256: fill.to_string().repeat(64),
            sheet: 1,
            sheets: 2,
        }
    }

    #[test]
    fn a_mark_reads_back_from_its_payload() {
        let printed = mark("LV01/T07/2026/000123-5", InkDocument::Inventory, 'a');
        let payload = printed.payload();
        assert!(
            payload
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || "/-:".contains(c)),
            "{payload} is not QR alphanumeric"
        );
        assert_eq!(InkMark::parse(&payload), Some(printed.clone()));
        let beyond = InkMark {
            sheet: 3,
            ..printed
        };
        assert_eq!(InkMark::parse(&beyond.payload()), None);
        assert_eq!(InkMark::parse("https://cnap.example.ua/track/X"), None);
        assert_eq!(InkMark::parse("FKINK1:LV01:I:abc"), None);
    }

    #[test]
    fn a_sheet_is_taken_only_for_this_case_and_this_content() {
        const CASE: &str = "LV01/T07/2026/000123-5";
        let printed = [
            PrintedDocument {
                document: InkDocument::Inventory,
                content_sha256: "a".repeat(64),
            },
            PrintedDocument {
                document: InkDocument::Application,
                content_sha256: "b".repeat(64),
            },
        ];
        let sheet = |m: &InkMark| vec!["https://example.ua/other".to_owned(), m.payload()];
        let second = InkMark {
            sheet: 2,
            ..mark(CASE, InkDocument::Application, 'b')
        };
        assert_eq!(check_sheet(&sheet(&second), CASE, &printed), Ok(second));
        assert_eq!(
            check_sheet(
                &sheet(&mark("LV01/T09/2026/000001-3", InkDocument::Inventory, 'a')),
                CASE,
                &printed
            ),
            Err(InkRefusal::OtherCase {
                found: "LV01/T09/2026/000001-3".into()
            })
        );
        assert_eq!(
            check_sheet(
                &sheet(&mark(CASE, InkDocument::Inventory, 'c')),
                CASE,
                &printed
            ),
            Err(InkRefusal::OtherContent {
                document: InkDocument::Inventory
            })
        );
        assert_eq!(
            check_sheet(&["WIFI:S:home;;".to_owned()], CASE, &printed),
            Err(InkRefusal::NotOurs)
        );
        assert_eq!(check_sheet(&[], CASE, &printed), Err(InkRefusal::NoCode));
    }

    #[test]
    fn a_document_is_signed_in_ink_when_every_sheet_is_back() {
        let page = |id: &str| PageRef {
            blob_id: id.into(),
            sha256: "00".repeat(32),
        };
        let mut sheets = InkSignedSheets {
            document: InkDocument::Inventory,
            content_sha256: "a".repeat(64),
            sheets: 2,
            scanned: Vec::new(),
        };
        assert_eq!(sheets.keep(2, page("b2")), None);
        assert!(!sheets.complete());
        assert_eq!(sheets.keep(2, page("b2-again")), Some(page("b2")));
        sheets.keep(1, page("b1"));
        assert!(sheets.complete());
        let order: Vec<u16> = sheets.scanned.iter().map(|s| s.sheet).collect();
        assert_eq!(order, [1, 2]);
    }
}
