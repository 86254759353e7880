//! What the central system receives for one case: a JSON document (who, which service, the
//! inventory, answers, choices, signatures) and its files (pages, signature images, the signed
//! inventory PDF), built in memory from an opened envelope. Both connectors send the same
//! document; they differ only in how the files travel (docs/central.md).

use std::collections::BTreeMap;

use base64::Engine;
use fieldkit_domain::calendar::CaseDates;
use fieldkit_domain::case::{
    Applicant, CaptureMethod, ConformityOverride, Notification, Representative, ResultDelivery,
    SignatureWaiver, SignerRole, VisitPlace,
};
use fieldkit_domain::catalog::Catalog;
use fieldkit_domain::common::DocumentForm;
use serde::Serialize;
use zeroize::Zeroizing;

use super::CentralError;
use crate::opened::OpenedCase;

/// The version of the document's shape; a receiver refuses one it does not know.
pub const FORMAT: &str = "fieldkit.central.case/1";

/// One document of the input package as the inventory (опис) lists it.
#[derive(Serialize)]
pub struct InventoryItem {
    pub requirement: String,
    /// The document's title in the information card (the requirement id when the catalog no
    /// longer has it).
    pub title: String,
    pub form: DocumentForm,
    pub method: CaptureMethod,
    pub page_count: usize,
    /// The files holding its pages, in order.
    pub files: Vec<String>,
    pub qr_payloads: Vec<String>,
}

/// A signature on the inventory and whether it checked out on the server.
#[derive(Serialize)]
pub struct SignatureItem {
    pub role: SignerRole,
    pub signer: String,
    pub signed_at: String,
    pub document_sha256: String,
    /// The strokes render to the stated image and sign the inventory the case states.
    pub valid: bool,
    pub file: String,
}

/// A file of the package.
#[derive(Serialize)]
pub struct FileItem {
    pub name: String,
    /// page, signature or inventory.
    pub kind: &'static str,
    pub mime: &'static str,
    pub sha256: String,
    pub size: usize,
}

/// The case as the central system reads it. Personal data: no `Debug`.
#[derive(Serialize)]
pub struct CaseDocument {
    pub format: &'static str,
    pub envelope_id: String,
    pub case_number: String,
    pub device_id: String,
    pub administrator: Option<String>,
    /// When the tablet sealed the case (RFC 3339, UTC, the tablet's clock).
    pub sealed_at: String,
    pub service_code: String,
    pub service_title: Option<String>,
    pub applicant: Applicant,
    pub representative: Option<Representative>,
    pub visit_place: VisitPlace,
    pub inventory: Vec<InventoryItem>,
    pub form_answers: BTreeMap<String, String>,
    pub conformity_override: Option<ConformityOverride>,
    pub notification: Option<Notification>,
    pub delivery: Option<ResultDelivery>,
    pub signatures: Vec<SignatureItem>,
    pub applicant_cannot_sign: Option<SignatureWaiver>,
    pub dates: Option<CaseDates>,
    /// Set when the message tells of a supplement to a case sent before (a hand-over, a
    /// withdrawal, a correction): `envelope_id` is then the supplement's own (the idempotency
    /// key), the case's is in the notice, and no files travel again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supplement: Option<SupplementNotice>,
}

/// What a supplement did to a case, for the central system.
#[derive(Serialize)]
pub struct SupplementNotice {
    /// `handover`, `withdrawal` or `correction`.
    pub kind: &'static str,
    pub case_envelope_id: String,
    /// The tablet that sealed the supplement.
    pub device_id: String,
    /// When the register took it into the case's life (RFC 3339, UTC).
    pub recorded_at: String,
    /// The case's state after it, by the workflow's name.
    pub state: &'static str,
}

impl CasePackage {
    /// The message for a supplement: the case's document with the notice, and no files.
    pub fn supplement(mut self, envelope_id: &str, notice: SupplementNotice) -> Self {
        self.document.envelope_id = envelope_id.to_owned();
        self.document.supplement = Some(notice);
        self.files.clear();
        self.contents.clear();
        self
    }
}

/// Seconds to RFC 3339 for the central system's documents.
pub fn rfc3339_at(at: i64) -> String {
    rfc3339(at)
}

/// The document and the bytes of its files (same order as the document's `files`).
pub struct CasePackage {
    pub document: CaseDocument,
    pub files: Vec<FileItem>,
    pub contents: Vec<Zeroizing<Vec<u8>>>,
}

#[derive(Serialize)]
struct Wire<'a> {
    #[serde(flatten)]
    document: &'a CaseDocument,
    files: Vec<WireFile<'a>>,
}

#[derive(Serialize)]
struct WireFile<'a> {
    #[serde(flatten)]
    file: &'a FileItem,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_base64: Option<&'a str>,
}

fn rfc3339(at: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| at.to_string())
}

fn extension(mime: &str) -> &'static str {
    match mime {
        "image/png" => "png",
        "application/pdf" => "pdf",
        _ => "jpg",
    }
}

fn role_name(role: SignerRole) -> &'static str {
    match role {
        SignerRole::Applicant => "applicant",
        SignerRole::Representative => "representative",
        SignerRole::Witness => "witness",
        SignerRole::Administrator => "administrator",
    }
}

impl CasePackage {
    /// Pack an opened case; `catalog` gives the documents' titles.
    pub fn build(opened: &OpenedCase, catalog: Option<&Catalog>) -> Self {
        let case = &opened.case;
        let service = catalog.and_then(|c| c.service(&case.service));
        let mut files = Vec::new();
        let mut contents = Vec::new();

        let mut page_files: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (index, page) in opened.pages.iter().enumerate() {
            let name = format!("page-{:03}.{}", index + 1, extension(page.mime));
            page_files
                .entry(page.sha256.clone())
                .or_default()
                .push(name.clone());
            files.push(FileItem {
                name,
                kind: "page",
                mime: page.mime,
                sha256: page.sha256.clone(),
                size: page.bytes.len(),
            });
            contents.push(page.bytes.clone());
        }
        let inventory = case
            .documents
            .iter()
            .map(|document| {
                let title = service
                    .and_then(|s| s.documents.iter().find(|d| d.id == document.requirement))
                    .map_or_else(|| document.requirement.0.clone(), |d| d.title.clone());
                // A page's file by its hash: the same image twice is two references, one file.
                let files = document
                    .pages
                    .iter()
                    .filter_map(|p| page_files.get(&p.sha256).and_then(|n| n.first().cloned()))
                    .collect();
                InventoryItem {
                    requirement: document.requirement.0.clone(),
                    title,
                    form: document.form,
                    method: document.method,
                    page_count: document.page_count(),
                    files,
                    qr_payloads: document.qr_payloads.clone(),
                }
            })
            .collect();

        let mut signatures = Vec::new();
        for (index, signature) in opened.signatures.iter().enumerate() {
            let name = format!("signature-{}-{}.png", index + 1, role_name(signature.role));
            files.push(FileItem {
                name: name.clone(),
                kind: "signature",
                mime: "image/png",
                sha256: sha256_hex(&signature.image_png),
                size: signature.image_png.len(),
            });
            contents.push(Zeroizing::new(signature.image_png.clone()));
            signatures.push(SignatureItem {
                role: signature.role,
                signer: signature.signer.clone(),
                signed_at: rfc3339(signature.signed_at),
                document_sha256: signature.document_sha256.clone(),
                valid: signature.valid(),
                file: name,
            });
        }
        for (pdf, name, kind) in [
            (&opened.application_pdf, "application.pdf", "application"),
            (&opened.inventory_pdf, "inventory.pdf", "inventory"),
        ] {
            if let Some(pdf) = pdf {
                files.push(FileItem {
                    name: name.to_owned(),
                    kind,
                    mime: "application/pdf",
                    sha256: sha256_hex(pdf),
                    size: pdf.len(),
                });
                contents.push(pdf.clone());
            }
        }

        let document = CaseDocument {
            format: FORMAT,
            envelope_id: opened.envelope_id.clone(),
            case_number: opened.case_number.clone(),
            device_id: opened.device_id.clone(),
            administrator: opened.administrator().map(str::to_owned),
            sealed_at: rfc3339(opened.sealed_at),
            service_code: case.service.0.clone(),
            service_title: service.map(|s| s.title.clone()),
            applicant: case.applicant.clone(),
            representative: case.representative.clone(),
            visit_place: case.visit_place.clone(),
            inventory,
            form_answers: case.form_answers.clone(),
            conformity_override: case.conformity_override.clone(),
            notification: case.notification.clone(),
            delivery: case.delivery.clone(),
            signatures,
            applicant_cannot_sign: case.applicant_cannot_sign.clone(),
            dates: case.dates,
            supplement: None,
        };
        Self {
            document,
            files,
            contents,
        }
    }

    /// The document as JSON: with `embed`, each file carries its bytes as `content_base64`
    /// (the HTTP connector); without, files are named only (the folder connector).
    pub fn to_json(&self, embed: bool) -> Result<Zeroizing<Vec<u8>>, CentralError> {
        let encoded: Vec<Zeroizing<String>> = if embed {
            self.contents
                .iter()
                .map(|c| Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(c)))
                .collect()
        } else {
            Vec::new()
        };
        let wire = Wire {
            document: &self.document,
            files: self
                .files
                .iter()
                .enumerate()
                .map(|(i, file)| WireFile {
                    file,
                    content_base64: encoded.get(i).map(|s| s.as_str()),
                })
                .collect(),
        };
        serde_json::to_vec(&wire)
            .map(Zeroizing::new)
            .map_err(|e| CentralError::Package(e.to_string()))
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}
