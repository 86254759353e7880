//! A stored envelope opened for the back-office or the central connector. Opening happens in
//! memory only, on request: nothing opened is ever written to disk, and every plaintext buffer
//! is zeroized when dropped.

use fieldkit_capture::signature::{SignatureRecord, render_png, signed_set_sha256, verify};
use fieldkit_domain::case::{Case, SignerRole};
use fieldkit_protocol::{
    DevicePublicKey, Manifest, PartKind, SealedEnvelope, SealingKeyPair, open,
};
use ring::digest::{SHA256, digest};
use zeroize::Zeroizing;

use crate::ServerError;
use crate::store::{BlobStore, MetadataStore};

/// One page image of the case, with the document it belongs to.
pub struct OpenedPage {
    /// The requirement of the information card the page was captured for.
    pub requirement: String,
    pub sha256: String,
    pub mime: &'static str,
    pub bytes: Zeroizing<Vec<u8>>,
}

/// A signature with the result of checking it: the strokes render to the image hash the
/// record states, and the record signs the papers the case states it signs — the inventory,
/// and the application with it (the hash of the pair), each as carried in the envelope.
pub struct CheckedSignature {
    pub role: SignerRole,
    pub signer: String,
    pub signed_at: i64,
    pub document_sha256: String,
    /// The strokes rendered again, as the image shown.
    pub image_png: Vec<u8>,
    pub strokes_match_image: bool,
    pub bound_to_papers: bool,
}

impl CheckedSignature {
    pub fn valid(&self) -> bool {
        self.strokes_match_image && self.bound_to_papers
    }
}

/// Everything in one sealed case.
pub struct OpenedCase {
    pub envelope_id: String,
    pub case_number: String,
    pub device_id: String,
    /// When the tablet sealed it (Unix seconds, the device's clock).
    pub sealed_at: i64,
    pub case: Case,
    pub pages: Vec<OpenedPage>,
    pub signatures: Vec<CheckedSignature>,
    /// The signed inventory (опис) as the applicant saw it, PDF.
    pub inventory_pdf: Option<Zeroizing<Vec<u8>>>,
    /// The SHA-256 of the inventory's content.
    pub inventory_sha256: Option<String>,
    /// The signed application (заява) as the applicant saw it, PDF; absent in cases sealed
    /// before the application was a document of its own.
    pub application_pdf: Option<Zeroizing<Vec<u8>>>,
    /// The SHA-256 of the application's content, as its PDF carries it.
    pub application_sha256: Option<String>,
    /// Whether the application in the envelope is the one the case record says was signed
    /// (both absent in an older case counts as agreeing).
    pub application_as_stated: bool,
    /// The SHA-256 every signature must sign: the pair's (application and inventory), or the
    /// inventory's alone in an older case; `None` when the papers do not allow one.
    pub signed_sha256: Option<String>,
}

impl OpenedCase {
    /// The administrator who signed the inventory, by the name on their signature.
    pub fn administrator(&self) -> Option<&str> {
        self.signatures
            .iter()
            .find(|s| s.role == SignerRole::Administrator)
            .map(|s| s.signer.as_str())
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(digest(&SHA256, bytes))
}

/// Which paper a PDF of the receipt crate is, from its document information
/// (`fieldkit-document:<kind>`); PDFs from before it said so are inventories.
fn is_application(pdf: &[u8]) -> bool {
    const MARK: &[u8] = b"fieldkit-document:application";
    pdf.windows(MARK.len()).any(|w| w == MARK)
}

/// The signed content's SHA-256 that the receipt crate writes into the PDF's document
/// information (`fieldkit-content-sha256:<hex>`).
fn content_hash_in(pdf: &[u8]) -> Option<String> {
    const MARK: &[u8] = b"fieldkit-content-sha256:";
    let at = pdf.windows(MARK.len()).position(|w| w == MARK)? + MARK.len();
    let hex = pdf.get(at..at + 64)?;
    hex.iter()
        .all(u8::is_ascii_hexdigit)
        .then(|| String::from_utf8_lossy(hex).into_owned())
}

fn mime_of(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"\x89PNG") {
        "image/png"
    } else if bytes.starts_with(b"%PDF") {
        "application/pdf"
    } else {
        "image/jpeg"
    }
}

/// Open envelope `envelope_id` from the stores with the sealing key its manifest names.
pub fn open_stored(
    meta: &dyn MetadataStore,
    blobs: &dyn BlobStore,
    sealing_keys: &[SealingKeyPair],
    envelope_id: &str,
) -> Result<OpenedCase, ServerError> {
    let stored = meta.envelope(envelope_id)?.ok_or(ServerError::NotFound)?;
    let manifest: Manifest = serde_json::from_slice(&stored.manifest)
        .map_err(|e| ServerError::Storage(format!("manifest of {envelope_id}: {e}")))?;
    let key = sealing_keys
        .iter()
        .find(|k| k.key_id() == manifest.sealing_key_id)
        .ok_or_else(|| {
            ServerError::Storage(format!(
                "sealing key {} is missing: restore it from a backup of the keys",
                manifest.sealing_key_id
            ))
        })?;
    let device = meta.device(&stored.device_id)?;
    let parts = manifest
        .parts
        .iter()
        .map(|p| blobs.get(&p.sha256))
        .collect::<Result<Vec<_>, _>>()?;
    let envelope = SealedEnvelope {
        manifest_bytes: stored.manifest,
        signature: stored.signature,
        parts,
    };
    let plain = open(
        &envelope,
        key,
        &DevicePublicKey {
            device_id: device.device_id.clone(),
            bytes: device.public_key,
        },
    )?;

    let mut case: Option<Case> = None;
    let mut page_bytes = Vec::new();
    let mut records = Vec::new();
    let mut inventory_pdf = None;
    let mut application_pdf = None;
    for mut part in plain {
        // Take the plaintext rather than copy it: one buffer per part, wiped when dropped.
        let bytes = Zeroizing::new(std::mem::take(&mut part.bytes));
        match part.kind {
            PartKind::CaseRecord => {
                case = Some(serde_json::from_slice(&bytes).map_err(|e| {
                    ServerError::Storage(format!("case record of {envelope_id}: {e}"))
                })?);
            }
            PartKind::Page => page_bytes.push(bytes),
            PartKind::Signature => {
                let record: SignatureRecord = serde_json::from_slice(&bytes).map_err(|e| {
                    ServerError::Storage(format!("signature in {envelope_id}: {e}"))
                })?;
                records.push(record);
            }
            PartKind::Other if bytes.starts_with(b"%PDF") && is_application(&bytes) => {
                application_pdf = Some(bytes)
            }
            PartKind::Other if bytes.starts_with(b"%PDF") => inventory_pdf = Some(bytes),
            PartKind::Other => {}
        }
    }
    let case =
        case.ok_or_else(|| ServerError::Storage(format!("{envelope_id} has no case record")))?;

    // Pages belong to the documents that name their hashes.
    let mut pages = Vec::new();
    for bytes in page_bytes {
        let sha256 = sha256_hex(&bytes);
        let requirement = case
            .documents
            .iter()
            .find(|d| d.pages.iter().any(|p| p.sha256 == sha256))
            .map(|d| d.requirement.0.clone())
            .unwrap_or_default();
        pages.push(OpenedPage {
            requirement,
            mime: mime_of(&bytes),
            sha256,
            bytes,
        });
    }

    // The inventory's hash: the one its PDF itself carries (in its document information),
    // else — an inventory from before it did, signed alone — the case's statement.
    let inventory_sha256 = inventory_pdf
        .as_deref()
        .and_then(|pdf| content_hash_in(pdf))
        .or_else(|| {
            case.application_sha256
                .is_none()
                .then(|| case.signatures.first())
                .flatten()
                .map(|s| s.signed_document_sha256.clone())
        });
    let application_sha256 = application_pdf
        .as_deref()
        .and_then(|pdf| content_hash_in(pdf));
    let application_as_stated = case.application_sha256 == application_sha256;
    // The application is signed with the inventory: the signatures bind the pair's hash, worked
    // out here from the papers themselves, never taken from the tablet's word.
    let signed_sha256 = match (&inventory_sha256, &application_sha256) {
        _ if !application_as_stated => None,
        (Some(inventory), Some(application)) => Some(signed_set_sha256(inventory, application)),
        (inventory, None) => inventory.clone(),
        (None, Some(_)) => None,
    };
    let signatures = records
        .into_iter()
        .map(|record| {
            let image_png = render_png(&record.strokes).unwrap_or_default();
            let stated = case
                .signatures
                .iter()
                .find(|s| s.role == record.role)
                .map(|s| s.signed_document_sha256.as_str());
            let bound_to_papers = stated == Some(record.document_sha256.as_str())
                && signed_sha256.as_deref() == Some(record.document_sha256.as_str());
            let strokes_match_image = verify(&record, &record.document_sha256, None).is_ok();
            CheckedSignature {
                role: record.role,
                signer: record.signer.clone(),
                signed_at: record.signed_at,
                document_sha256: record.document_sha256.clone(),
                image_png,
                strokes_match_image,
                bound_to_papers,
            }
        })
        .collect();
    Ok(OpenedCase {
        envelope_id: envelope_id.to_owned(),
        case_number: stored.case_number,
        device_id: stored.device_id,
        sealed_at: manifest.created_at,
        case,
        pages,
        signatures,
        inventory_pdf,
        inventory_sha256,
        application_pdf,
        application_sha256,
        application_as_stated,
        signed_sha256,
    })
}
