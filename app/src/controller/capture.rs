//! The documents checklist: scan (SANE) or import pages for each document of the information
//! card, with the pipeline's quality warnings and the QR codes found. Scanning and the page
//! pipeline run on a worker thread; the pages and the draft are then saved in one transaction.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

use fieldkit_capture::pipeline::{ProcessedPage, process_page};
use fieldkit_capture::qr::{QrKind, classify, find_qr_codes};
use fieldkit_capture::sources::files::import_folder;
use fieldkit_capture::sources::sane::{ScanSettings, Scanner};
use fieldkit_domain::case::{CaptureMethod, CapturedDocument, PageRef};
use fieldkit_domain::common::RequirementId;
use fieldkit_vault::BlobId;
use slint::{ComponentHandle, ModelRc, VecModel};

use super::{Controller, UiMessage, act};
use crate::config::ScannerConfig;
use crate::error::{AppError, Result};
use crate::i18n::Message;
use crate::images;
use crate::ui::{AppWindow, ChecklistRow, DocumentsPage, PageThumb, Screen};

/// The pipeline's thumbnails are this size; pages decoded for the strip are scaled to match.
const THUMBNAIL_SIDE: u32 = 320;
const PREVIEW_SIDE: u32 = 1100;

/// A page ready to be stored, with the QR codes read from it.
pub struct CapturedPage {
    pub page: ProcessedPage,
    pub qr_codes: Vec<String>,
}

pub fn attach(window: &AppWindow, controller: &Rc<RefCell<Controller>>) {
    let page = window.global::<DocumentsPage>();
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_select(move |id| act(&c, &w, |ctl, win| ctl.select_document(win, &id)));
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_scan(move || act(&c, &w, |ctl, win| ctl.scan(win)));
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_import_folder(move || act(&c, &w, |ctl, win| ctl.import(win)));
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_remove_last_page(move || act(&c, &w, |ctl, win| ctl.remove_last_page(win)));
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_next(move || {
            act(&c, &w, |ctl, win| {
                ctl.refresh_form(win)?;
                ctl.show(win, Screen::Form)
            })
        });
    }
}

/// Scan with SANE: one page from the flatbed, or every page in the feeder.
pub fn scan_pages(config: &ScannerConfig, feeder: bool) -> Result<Vec<Vec<u8>>> {
    let mut scanner = Scanner::default().with_program(&config.program);
    for (key, value) in &config.env {
        scanner = scanner.with_env(key, value);
    }
    let device = match &config.device {
        Some(device) => device.clone(),
        None => scanner
            .list_devices()?
            .into_iter()
            .next()
            .map(|d| d.name)
            .ok_or(fieldkit_capture::CaptureError::NoScanner)?,
    };
    let settings = ScanSettings {
        resolution_dpi: config.resolution_dpi,
        feeder,
        max_pages: config.max_pages,
        device_options: config.options.clone(),
        ..ScanSettings::default()
    };
    Ok(scanner.scan(&device, &settings)?)
}

/// The pipeline on each page, reporting progress; a page that cannot be read is named in the
/// error and the pages before it are kept.
pub(super) fn process_all(
    files: Vec<(
        String,
        std::result::Result<Vec<u8>, fieldkit_capture::CaptureError>,
    )>,
    dpi: Option<u32>,
    progress: &std::sync::mpsc::Sender<UiMessage>,
) -> (Vec<CapturedPage>, Vec<Message>) {
    let total = files.len().max(1);
    let mut pages = Vec::new();
    let mut refused = Vec::new();
    for (index, (name, bytes)) in files.into_iter().enumerate() {
        let _ = progress.send(UiMessage::Progress {
            label: Message::new(
                format!("Обробка сторінки {} з {total}…", index + 1),
                format!("Processing page {} of {total}…", index + 1),
            ),
            fraction: index as f32 / total as f32,
        });
        match bytes.and_then(|b| process_page(&b, dpi)) {
            Ok(page) => {
                let qr_codes = image::load_from_memory(&page.image.bytes)
                    .map(|decoded| {
                        find_qr_codes(&decoded.to_luma8())
                            .iter()
                            .map(|q| q.text())
                            .collect()
                    })
                    .unwrap_or_default();
                pages.push(CapturedPage { page, qr_codes });
            }
            Err(error) => refused.push(Message::new(
                format!("Файл {name} не прийнято: {error}"),
                format!("File {name} refused: {error}"),
            )),
        }
    }
    (pages, refused)
}

/// What the administrator is told of a QR code found on a captured page. A fieldkit receipt
/// (an applicant bringing an earlier case's receipt) is named as one; its tracking code is not
/// shown (it stays with the page's QR payloads, in the sealed case).
fn qr_message(text: &str) -> Message {
    match classify(text.as_bytes()) {
        QrKind::TrackingCode(_) => Message::new(
            "QR-код: квитанція fieldkit про прийняття справи (з кодом відстеження)",
            "QR code: a fieldkit receipt for a case (with its tracking code)",
        ),
        QrKind::CaseTracking(number) => Message::new(
            format!("QR-код: квитанція fieldkit, справа {number}"),
            format!("QR code: a fieldkit receipt, case {number}"),
        ),
        _ => Message::new(format!("QR-код: {text}"), format!("QR code: {text}")),
    }
}

impl Controller {
    pub fn refresh_documents(&mut self, window: &AppWindow) -> Result<()> {
        let Some(draft) = self.draft.clone() else {
            return Ok(());
        };
        let Some(service) = draft
            .service
            .as_deref()
            .and_then(|c| self.service(c))
            .cloned()
        else {
            return Ok(());
        };
        let assessment = draft.assess(&service, self.today());
        let rows: Vec<ChecklistRow> = service
            .package_rules()
            .documents
            .iter()
            .map(|requirement| {
                let captured = draft
                    .documents
                    .iter()
                    .find(|d| d.requirement == requirement.id);
                let required = assessment.required(requirement);
                ChecklistRow {
                    id: requirement.id.0.clone().into(),
                    title: requirement.title.clone().into(),
                    required: required == Some(true),
                    open: required.is_none(),
                    pages: captured.map_or(0, |d| d.page_count() as i32),
                    issues: "".into(),
                    qr: captured
                        .map(|d| d.qr_payloads.join("; "))
                        .unwrap_or_default()
                        .into(),
                }
            })
            .collect();
        let page = window.global::<DocumentsPage>();
        page.set_checklist(ModelRc::new(VecModel::from(rows)));
        self.refresh_conditions(window);
        let current = page.get_current().to_string();
        if !current.is_empty() {
            self.show_document_pages(window, &current)?;
        }
        Ok(())
    }

    fn select_document(&mut self, window: &AppWindow, id: &str) -> Result<()> {
        let page = window.global::<DocumentsPage>();
        page.set_current(id.into());
        page.set_preview_issues("".into());
        page.set_preview(slint::Image::default());
        let title = self
            .draft
            .as_ref()
            .and_then(|d| d.service.as_deref())
            .and_then(|c| self.service(c))
            .and_then(|s| s.documents.iter().find(|r| r.id.0 == id))
            .map(|r| r.title.clone())
            .unwrap_or_default();
        page.set_current_title(title.into());
        self.refresh_conditions(window);
        self.show_document_pages(window, id)
    }

    fn show_document_pages(&mut self, window: &AppWindow, id: &str) -> Result<()> {
        let refs: Vec<PageRef> = self
            .draft
            .as_ref()
            .and_then(|d| d.documents.iter().find(|doc| doc.requirement.0 == id))
            .map(|d| d.pages.clone())
            .unwrap_or_default();
        let mut thumbs = Vec::new();
        for (index, page_ref) in refs.iter().enumerate() {
            let picture = match self.thumbnails.get(&page_ref.blob_id) {
                Some(picture) => picture.clone(),
                None => {
                    let bytes = self.vault()?.get_blob(&BlobId(page_ref.blob_id.clone()))?;
                    let picture = images::scaled_from_encoded(&bytes, THUMBNAIL_SIDE);
                    self.thumbnails
                        .insert(page_ref.blob_id.clone(), picture.clone());
                    picture
                }
            };
            thumbs.push(PageThumb {
                image: picture,
                caption: format!("{}", index + 1).into(),
            });
        }
        let page = window.global::<DocumentsPage>();
        // The last page large enough to judge it; only one at a time is decoded at this size.
        if let Some(last) = refs.last() {
            let bytes = self.vault()?.get_blob(&BlobId(last.blob_id.clone()))?;
            page.set_preview(images::scaled_from_encoded(&bytes, PREVIEW_SIDE));
        }
        page.set_pages(ModelRc::new(VecModel::from(thumbs)));
        Ok(())
    }

    fn current_requirement(window: &AppWindow) -> Result<String> {
        let current = window.global::<DocumentsPage>().get_current().to_string();
        if current.is_empty() {
            return Err(AppError::user(
                "Оберіть документ у переліку.",
                "Choose a document on the list.",
            ));
        }
        Ok(current)
    }

    fn scan(&mut self, window: &AppWindow) -> Result<()> {
        let requirement = Self::current_requirement(window)?;
        let scanner = self.config.scanner.clone();
        let feeder = window.global::<DocumentsPage>().get_feeder();
        let dpi = scanner.resolution_dpi;
        let label = Message::new("Сканування…", "Scanning…");
        self.spawn_job(window, label, move |progress| {
            let outcome = scan_pages(&scanner, feeder).map(|files| {
                let named = files
                    .into_iter()
                    .enumerate()
                    .map(|(i, b)| (format!("{}", i + 1), Ok(b)))
                    .collect();
                process_all(named, Some(dpi), progress)
            });
            UiMessage::Job(Box::new(move |ctl: &mut Controller, win: &AppWindow| {
                let (pages, refused) = outcome?;
                ctl.store_pages(win, &requirement, CaptureMethod::Scanned, pages, refused)
            }))
        });
        Ok(())
    }

    fn import(&mut self, window: &AppWindow) -> Result<()> {
        let requirement = Self::current_requirement(window)?;
        let folder = PathBuf::from(window.global::<DocumentsPage>().get_folder().trim());
        let label = Message::new("Імпорт сторінок…", "Importing pages…");
        self.spawn_job(window, label, move |progress| {
            let outcome = import_folder(&folder).map(|files| {
                let named = files
                    .into_iter()
                    .map(|f| {
                        (
                            f.path
                                .file_name()
                                .map(|n| n.to_string_lossy().into_owned())
                                .unwrap_or_default(),
                            f.bytes,
                        )
                    })
                    .collect();
                process_all(named, None, progress)
            });
            UiMessage::Job(Box::new(move |ctl: &mut Controller, win: &AppWindow| {
                let (pages, refused) = outcome?;
                ctl.store_pages(win, &requirement, CaptureMethod::Imported, pages, refused)
            }))
        });
        Ok(())
    }

    /// The pages and the draft that lists them are saved together: a crash keeps both or
    /// neither.
    pub fn store_pages(
        &mut self,
        window: &AppWindow,
        requirement: &str,
        method: CaptureMethod,
        pages: Vec<CapturedPage>,
        refused: Vec<Message>,
    ) -> Result<()> {
        let mut draft = self
            .draft
            .clone()
            .ok_or_else(|| AppError::user("Немає відкритої справи.", "No case is open."))?;
        let service = draft
            .service
            .as_deref()
            .and_then(|c| self.service(c))
            .cloned();
        let form = service
            .and_then(|s| {
                s.documents
                    .iter()
                    .find(|r| r.id.0 == requirement)
                    .map(|r| r.form)
            })
            .unwrap_or(fieldkit_domain::common::DocumentForm::Original);
        let position = draft.documents.iter().map(|d| d.pages.len()).sum::<usize>() as i64;
        let mut issues = Vec::new();
        let case_id = draft.case_id.clone();
        let vault = self.vault()?;
        let stored = vault.transaction(|tx| {
            let mut stored = Vec::new();
            for (offset, captured) in pages.iter().enumerate() {
                let blob = tx.put_blob(
                    &case_id,
                    "page",
                    position + offset as i64,
                    &captured.page.image.bytes,
                )?;
                stored.push((blob, captured));
            }
            let index = match draft
                .documents
                .iter()
                .position(|d| d.requirement.0 == requirement)
            {
                Some(index) => index,
                None => {
                    draft.documents.push(CapturedDocument {
                        requirement: RequirementId(requirement.to_owned()),
                        form,
                        method,
                        pages: Vec::new(),
                        qr_payloads: Vec::new(),
                    });
                    draft.documents.len() - 1
                }
            };
            for (blob, captured) in &stored {
                draft.documents[index].pages.push(PageRef {
                    blob_id: blob.0.clone(),
                    sha256: captured.page.sha256.clone(),
                });
                draft.documents[index]
                    .qr_payloads
                    .extend(captured.qr_codes.iter().cloned());
            }
            let record = zeroize::Zeroizing::new(
                serde_json::to_vec(&draft)
                    .map_err(|e| fieldkit_vault::VaultError::Encoding(e.to_string()))?,
            );
            tx.put_draft(&case_id, "entering", &record)?;
            Ok(stored
                .into_iter()
                .map(|(blob, captured)| {
                    (
                        blob,
                        captured.page.thumbnail.bytes.clone(),
                        captured.page.issues.clone(),
                        captured.qr_codes.clone(),
                    )
                })
                .collect::<Vec<_>>())
        })?;
        for (number, (blob, thumbnail, page_issues, qr)) in stored.into_iter().enumerate() {
            self.thumbnails
                .insert(blob.0.clone(), images::from_encoded(&thumbnail));
            for (uk, en) in fieldkit_capture::quality::messages(&page_issues) {
                issues.push(Message::new(
                    format!("Стор. {}: {uk}", number + 1),
                    format!("Page {}: {en}", number + 1),
                ));
            }
            issues.extend(qr.iter().map(|text| qr_message(text)));
        }
        self.draft = Some(draft);
        issues.extend(refused);
        let lang = self.lang();
        let text = issues
            .iter()
            .map(|m| m.in_lang(lang))
            .collect::<Vec<_>>()
            .join("\n");
        self.refresh_documents(window)?;
        window
            .global::<DocumentsPage>()
            .set_preview_issues(text.into());
        Ok(())
    }

    fn remove_last_page(&mut self, window: &AppWindow) -> Result<()> {
        let requirement = Self::current_requirement(window)?;
        let mut draft = self
            .draft
            .clone()
            .ok_or_else(|| AppError::user("Немає відкритої справи.", "No case is open."))?;
        let Some(document) = draft
            .documents
            .iter_mut()
            .find(|d| d.requirement.0 == requirement)
        else {
            return Ok(());
        };
        let Some(page) = document.pages.pop() else {
            return Ok(());
        };
        draft.documents.retain(|d| !d.pages.is_empty());
        let record = zeroize::Zeroizing::new(serde_json::to_vec(&draft)?);
        let case_id = draft.case_id.clone();
        self.vault()?.transaction(|tx| {
            tx.delete_blob(&BlobId(page.blob_id.clone()))?;
            tx.put_draft(&case_id, "entering", &record)
        })?;
        self.thumbnails.remove(&page.blob_id);
        self.draft = Some(draft);
        self.refresh_documents(window)?;
        window
            .global::<DocumentsPage>()
            .set_preview(slint::Image::default());
        self.show_document_pages(window, &requirement)
    }
}
