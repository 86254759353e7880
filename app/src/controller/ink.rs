//! Signing in ink on paper. The application and the inventory are printed (CUPS) with a mark
//! on every sheet; the applicant signs the sheets in ink; the administrator scans them (SANE)
//! or imports them from a folder, and each sheet is kept only when its mark names this case and
//! exactly the content printed (`fieldkit_domain::ink`). When every sheet of both is back the
//! applicant's signature is the ink one; the administrator still signs on the tablet, and the
//! sheets are sealed with the case.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

use fieldkit_capture::sources::files::import_folder;
use fieldkit_domain::case::PageRef;
use fieldkit_domain::ink::{InkDocument, InkSignedSheets, PrintedDocument, check_sheet};
use fieldkit_receipt::printing::print_pdf;
use fieldkit_receipt::render_pdf_for_ink;
use fieldkit_vault::BlobId;
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use super::capture::{CapturedPage, process_all, scan_pages};
use super::{Controller, UiMessage, act};
use crate::error::{AppError, Result};
use crate::i18n::Message;
use crate::ui::{AppWindow, InkPage, Screen, SignPage};

/// The scanned sheets are stored after the case's pages, apart from them.
const INK_POSITION: i64 = 30_000;

pub fn attach(window: &AppWindow, controller: &Rc<RefCell<Controller>>) {
    {
        let (c, w) = (controller.clone(), window.as_weak());
        window
            .global::<SignPage>()
            .on_sign_in_ink(move || act(&c, &w, |ctl, win| ctl.open_ink(win)));
    }
    let page = window.global::<InkPage>();
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_print(move || act(&c, &w, |ctl, win| ctl.print_for_ink(win)));
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_scan(move || act(&c, &w, |ctl, win| ctl.scan_ink(win)));
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_import_folder(move || act(&c, &w, |ctl, win| ctl.import_ink(win)));
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_done(move || {
            act(&c, &w, |ctl, win| {
                ctl.show(win, Screen::Sign)?;
                ctl.refresh_sign(win)
            })
        });
    }
}

/// A document's name at the start of a line.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

impl Controller {
    /// What may come back signed: the application and the inventory as they stand, with the
    /// case number.
    fn printed_for_ink(&self) -> Result<(String, Vec<PrintedDocument>)> {
        let papers = self.papers()?;
        let number = papers.case.number.map(|n| n.to_string()).or_else(|| {
            self.draft
                .as_ref()
                .and_then(|d| d.registration.as_ref())
                .map(|r| r.case_number.clone())
        });
        let number = number.ok_or_else(|| {
            AppError::user(
                "Справу ще не зареєстровано.",
                "The case is not registered yet.",
            )
        })?;
        Ok((
            number,
            vec![
                PrintedDocument {
                    document: InkDocument::Application,
                    content_sha256: papers.application.content_sha256(),
                },
                PrintedDocument {
                    document: InkDocument::Inventory,
                    content_sha256: papers.inventory.content_sha256(),
                },
            ],
        ))
    }

    fn open_ink(&mut self, window: &AppWindow) -> Result<()> {
        self.printed_for_ink()?;
        window.global::<InkPage>().set_error("".into());
        self.show(window, Screen::Ink)?;
        self.refresh_ink(window)
    }

    /// One line per printed document: how many of its sheets are back.
    pub fn refresh_ink(&mut self, window: &AppWindow) -> Result<()> {
        let lang = self.lang();
        let page = window.global::<InkPage>();
        let (_, printed) = self.printed_for_ink()?;
        let signed = self
            .draft
            .as_ref()
            .map(|d| d.ink_signed.clone())
            .unwrap_or_default();
        let mut complete = true;
        let lines: Vec<SharedString> = printed
            .iter()
            .map(|p| {
                let sheets = signed
                    .iter()
                    .find(|s| s.document == p.document && s.content_sha256 == p.content_sha256);
                let (uk, en) = (
                    capitalized(p.document.title_uk()),
                    capitalized(p.document.title_en()),
                );
                let message = match sheets {
                    Some(s) if s.complete() => Message::new(
                        format!("✓ {uk}: підписано чорнилом, аркушів {}", s.sheets),
                        format!("✓ {en}: signed in ink, {} sheet(s)", s.sheets),
                    ),
                    Some(s) => {
                        complete = false;
                        Message::new(
                            format!("{uk}: повернуто аркушів {} з {}", s.scanned.len(), s.sheets),
                            format!("{en}: {} of {} sheets back", s.scanned.len(), s.sheets),
                        )
                    }
                    None => {
                        complete = false;
                        Message::new(
                            format!("{uk}: ще не повернуто"),
                            format!("{en}: not back yet"),
                        )
                    }
                };
                message.in_lang(lang).into()
            })
            .collect();
        page.set_documents(ModelRc::new(VecModel::from(lines)));
        page.set_complete(complete);
        Ok(())
    }

    /// Print the application and the inventory, one job each, every sheet with its mark.
    fn print_for_ink(&mut self, window: &AppWindow) -> Result<()> {
        let papers = self.papers()?;
        let (number, _) = self.printed_for_ink()?;
        let page = window.global::<InkPage>();
        for (receipt, document) in [
            (&papers.application, InkDocument::Application),
            (&papers.inventory, InkDocument::Inventory),
        ] {
            let pdf = render_pdf_for_ink(receipt, &[], &number, document)?;
            if let Err(error) = print_pdf(&self.config.printer, &number, &pdf) {
                page.set_error(
                    Message::new(error.message_uk(), error.to_string())
                        .in_lang(self.lang())
                        .into(),
                );
                return Ok(());
            }
        }
        page.set_error("".into());
        self.notify(
            window,
            &Message::new(
                "Надіслано на друк: заява й опис для підпису чорнилом.",
                "Sent to the printer: the application and the inventory to sign in ink.",
            ),
            false,
        );
        Ok(())
    }

    fn scan_ink(&mut self, window: &AppWindow) -> Result<()> {
        let scanner = self.config.scanner.clone();
        let dpi = scanner.resolution_dpi;
        self.spawn_job(
            window,
            Message::new("Сканування аркушів…", "Scanning the sheets…"),
            move |progress| {
                // Signed sheets come as a stack: the feeder takes them all.
                let outcome = scan_pages(&scanner, true).map(|files| {
                    let named = files
                        .into_iter()
                        .enumerate()
                        .map(|(i, b)| (format!("{}", i + 1), Ok(b)))
                        .collect();
                    process_all(named, Some(dpi), progress)
                });
                UiMessage::Job(Box::new(move |ctl: &mut Controller, win: &AppWindow| {
                    let (pages, refused) = outcome?;
                    ctl.bind_ink_sheets(win, pages, refused)
                }))
            },
        );
        Ok(())
    }

    fn import_ink(&mut self, window: &AppWindow) -> Result<()> {
        let folder = PathBuf::from(window.global::<InkPage>().get_folder().trim());
        self.spawn_job(
            window,
            Message::new("Імпорт аркушів…", "Importing the sheets…"),
            move |progress| {
                let outcome = import_folder(&folder).map(|files| {
                    let named = files
                        .into_iter()
                        .map(|f| {
                            let name = f
                                .path
                                .file_name()
                                .map(|n| n.to_string_lossy().into_owned())
                                .unwrap_or_default();
                            (name, f.bytes)
                        })
                        .collect();
                    process_all(named, None, progress)
                });
                UiMessage::Job(Box::new(move |ctl: &mut Controller, win: &AppWindow| {
                    let (pages, refused) = outcome?;
                    ctl.bind_ink_sheets(win, pages, refused)
                }))
            },
        );
        Ok(())
    }

    /// Keep each sheet whose mark is this case's, with its content; say why any other is not
    /// kept. The sheets and the draft that lists them are saved in one transaction.
    pub fn bind_ink_sheets(
        &mut self,
        window: &AppWindow,
        pages: Vec<CapturedPage>,
        mut problems: Vec<Message>,
    ) -> Result<()> {
        let (number, printed) = self.printed_for_ink()?;
        let mut draft = self
            .draft
            .clone()
            .ok_or_else(|| AppError::user("Немає відкритої справи.", "No case is open."))?;
        let mut accepted = Vec::new();
        for (index, captured) in pages.into_iter().enumerate() {
            match check_sheet(&captured.qr_codes, &number, &printed) {
                Ok(mark) => accepted.push((mark, captured)),
                Err(refusal) => problems.push(Message::new(
                    format!("Аркуш {}: {}", index + 1, refusal.message_uk()),
                    format!("Sheet {}: {refusal}.", index + 1),
                )),
            }
        }
        let case_id = draft.case_id.clone();
        let vault = self.vault()?;
        vault.transaction(|tx| {
            for (mark, captured) in &accepted {
                // The application's sheets after the inventory's, each paper in sheet order.
                let paper = match mark.document {
                    InkDocument::Inventory => 0,
                    InkDocument::Application => 5_000,
                };
                let position = INK_POSITION + paper + i64::from(mark.sheet);
                let blob = tx.put_blob(&case_id, "ink", position, &captured.page.image.bytes)?;
                let index = match draft.ink_signed.iter().position(|s| {
                    s.document == mark.document && s.content_sha256 == mark.content_sha256
                }) {
                    Some(index) => index,
                    None => {
                        draft.ink_signed.push(InkSignedSheets {
                            document: mark.document,
                            content_sha256: mark.content_sha256.clone(),
                            sheets: mark.sheets,
                            scanned: Vec::new(),
                        });
                        draft.ink_signed.len() - 1
                    }
                };
                let page = PageRef {
                    blob_id: blob.0,
                    sha256: captured.page.sha256.clone(),
                };
                if let Some(earlier) = draft.ink_signed[index].keep(mark.sheet, page) {
                    tx.delete_blob(&BlobId(earlier.blob_id))?;
                }
            }
            let record = zeroize::Zeroizing::new(
                serde_json::to_vec(&draft)
                    .map_err(|e| fieldkit_vault::VaultError::Encoding(e.to_string()))?,
            );
            tx.put_draft(&case_id, "signing", &record)
        })?;
        self.draft = Some(draft);
        let lang = self.lang();
        let text: Vec<&str> = problems.iter().map(|m| m.in_lang(lang)).collect();
        window.global::<InkPage>().set_error(text.join("\n").into());
        self.refresh_ink(window)
    }
}
