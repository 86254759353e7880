//! The application and the inventory of the input package (see `papers`), the signatures and
//! sealing. Their text is fixed (case number, registration time) when first shown, so the
//! hash each signature is bound to never changes. In applicant mode only these pages and the
//! pad can be reached; leaving it takes the administrator's passphrase. Sealing writes the
//! case record, both signed papers and the envelope in one transaction, and keeps the receipt
//! with the applicant's copies beside it (see `receipt`).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use fieldkit_capture::signature::{Point, Stroke, Strokes, render, sign};
use fieldkit_domain::case::{Notification, SignatureRef, SignerRole};
use fieldkit_domain::case_number::CaseNumber;
use fieldkit_domain::tracking::TrackingCode;
use fieldkit_receipt::{Receipt, SignedBy, render_pdf};
use fieldkit_vault::{BlobId, SealCase, Vault, VaultOptions};
use ring::rand::SystemRandom;
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use super::document_view::{self, DEFAULT_TEXT_LEVEL, TEXT_SIZES};
use super::receipt::{self, KeptReceipt};
use super::{Controller, act};
use crate::draft::Registration;
use crate::error::{AppError, Result};
use crate::i18n::Message;
use crate::images;
use crate::sync_pass::{enrolled_from_vault, stored_public_url};
use crate::ui::{App, AppWindow, DocumentRow, SignPage};

/// The strokes being drawn on a signature pad.
#[derive(Default)]
pub struct PadState {
    pub strokes: Option<Strokes>,
    started: Option<Instant>,
    drawing: bool,
}

impl PadState {
    /// A point from the pad, in pad pixels. `start` begins a new stroke.
    pub fn point(&mut self, x: f32, y: f32, width: f32, height: f32, start: bool) {
        let started = *self.started.get_or_insert_with(Instant::now);
        let strokes = self.strokes.get_or_insert_with(|| Strokes {
            width: width.max(1.0) as u32,
            height: height.max(1.0) as u32,
            strokes: Vec::new(),
        });
        if start || !self.drawing || strokes.strokes.is_empty() {
            strokes.strokes.push(Stroke { points: Vec::new() });
            self.drawing = true;
        }
        let t_ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
        if let Some(stroke) = strokes.strokes.last_mut() {
            stroke.points.push(Point {
                x: x.clamp(0.0, width),
                y: y.clamp(0.0, height),
                t_ms,
                pressure: None,
            });
        }
    }

    pub fn lift(&mut self) {
        self.drawing = false;
    }

    pub fn ink(&self) -> slint::Image {
        match &self.strokes {
            Some(strokes) if !strokes.strokes.is_empty() => images::from_rgba(&render(strokes)),
            _ => slint::Image::default(),
        }
    }

    pub fn take(&mut self) -> Option<Strokes> {
        self.started = None;
        self.drawing = false;
        self.strokes.take()
    }
}

pub fn attach(window: &AppWindow, controller: &Rc<RefCell<Controller>>) {
    let page = window.global::<SignPage>();
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_hand_to_applicant(move || act(&c, &w, |ctl, win| ctl.hand_to_applicant(win)));
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_point(move |x, y, width, height, start| {
            act(&c, &w, |ctl, win| {
                ctl.pad.point(x, y, width, height, start);
                win.global::<SignPage>().set_ink(ctl.pad.ink());
                Ok(())
            })
        });
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_lift(move || {
            act(&c, &w, |ctl, _| {
                ctl.pad.lift();
                Ok(())
            })
        });
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_clear(move || {
            act(&c, &w, |ctl, win| {
                ctl.pad.take();
                win.global::<SignPage>().set_ink(slint::Image::default());
                Ok(())
            })
        });
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_sign(move || act(&c, &w, |ctl, win| ctl.sign(win)));
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_ask_admin(move || {
            act(&c, &w, |_, win| {
                win.global::<SignPage>().set_asking_admin(true);
                win.global::<App>().set_keyboard_open(true);
                Ok(())
            })
        });
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_leave_applicant_mode(move || act(&c, &w, |ctl, win| ctl.leave_applicant_mode(win)));
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_seal(move || act(&c, &w, |ctl, win| ctl.seal(win)));
    }
    for (turn, pages, levels) in [
        (Turn::Next, 1, 0),
        (Turn::Previous, -1, 0),
        (Turn::Bigger, 0, 1),
        (Turn::Smaller, 0, -1),
    ] {
        let (c, w) = (controller.clone(), window.as_weak());
        let handler = move || {
            act(&c, &w, |ctl, win| {
                let page = win.global::<SignPage>();
                page.set_page_index(page.get_page_index() + pages);
                page.set_text_level(page.get_text_level() + levels);
                if levels != 0 {
                    // The page boundaries move with the size: start the reading again.
                    page.set_page_index(0);
                }
                ctl.refresh_sign(win)
            })
        };
        match turn {
            Turn::Next => page.on_next_page(handler),
            Turn::Previous => page.on_previous_page(handler),
            Turn::Bigger => page.on_bigger(handler),
            Turn::Smaller => page.on_smaller(handler),
        }
    }
    super::waiver::attach(window, controller);
}

enum Turn {
    Next,
    Previous,
    Bigger,
    Smaller,
}

/// Forget the documents shown, for the next visit.
pub fn clear_screen(window: &AppWindow) {
    let sign = window.global::<SignPage>();
    sign.set_rows(ModelRc::default());
    sign.set_page_label("".into());
    sign.set_page_index(0);
    sign.set_text_level(DEFAULT_TEXT_LEVEL as i32);
    sign.set_ink(slint::Image::default());
    sign.set_applicant_signed(false);
    sign.set_administrator_signed(false);
    sign.set_error("".into());
    super::waiver::clear_screen(window);
}

/// Show the page `SignPage.page-index` of the documents at the chosen text size, with the
/// page turning and size buttons enabled where they lead somewhere.
fn show_documents(
    window: &AppWindow,
    documents: &[&Receipt],
    lang: crate::i18n::Lang,
) -> Result<()> {
    let measure = fieldkit_receipt::TextMeasure::new()?;
    let page = window.global::<SignPage>();
    let level = usize::try_from(page.get_text_level())
        .unwrap_or(0)
        .min(TEXT_SIZES.len() - 1);
    let size = TEXT_SIZES[level];
    let rows: Vec<_> = documents.iter().map(|r| document_view::rows(r)).collect();
    let pages = document_view::pages(&rows, size, &measure);
    let count = pages.len().max(1);
    let index = usize::try_from(page.get_page_index())
        .unwrap_or(0)
        .min(count - 1);
    let shown: Vec<DocumentRow> = pages
        .get(index)
        .into_iter()
        .flatten()
        .map(|row| DocumentRow {
            kind: row.kind as i32,
            label: row.label.as_str().into(),
            value: row.value.as_str().into(),
            cells: ModelRc::new(VecModel::from(
                row.cells
                    .iter()
                    .map(|c| SharedString::from(c.as_str()))
                    .collect::<Vec<_>>(),
            )),
            widths: ModelRc::new(VecModel::from(row.widths.clone())),
        })
        .collect();
    page.set_rows(ModelRc::new(VecModel::from(shown)));
    page.set_page_index(index as i32);
    page.set_text_level(level as i32);
    page.set_text_size(size);
    page.set_has_previous(index > 0);
    page.set_has_next(index + 1 < count);
    page.set_can_smaller(level > 0);
    page.set_can_bigger(level + 1 < TEXT_SIZES.len());
    page.set_page_label(
        Message::new(
            format!("сторінка {} з {count}", index + 1),
            format!("page {} of {count}", index + 1),
        )
        .in_lang(lang)
        .into(),
    );
    Ok(())
}

impl Controller {
    /// Fix the registration details once, then show the inventory. The case number and the
    /// tracking code are fixed here, with the time: the text the applicant signs carries them.
    pub fn prepare_inventory(&mut self, window: &AppWindow) -> Result<()> {
        let (needs_number, needs_code) = match self.draft.as_ref() {
            None => (false, false),
            Some(draft) => match &draft.registration {
                None => (true, false),
                // Registered before receipts carried a code: one is added while nothing is
                // signed yet; a signed paper keeps its text (the receipt screen gets a code
                // when the case is sealed).
                Some(registration) => (
                    false,
                    registration.tracking_code.is_none()
                        && draft.signatures.is_empty()
                        && draft.ink_signed.is_empty(),
                ),
            },
        };
        if needs_number {
            let now = self.now();
            let centre = self.catalog.centre.code.clone();
            let base = self.tracking_base()?;
            let code = TrackingCode::generate(&SystemRandom::new())?;
            let vault = self.vault()?;
            let device_id = enrolled_from_vault(vault)?.device.device_id().to_owned();
            let sequence = vault.next_case_sequence()?;
            let number = CaseNumber::new(&centre, &device_id, now.year() as u16, sequence as u32)?;
            let registration = Registration {
                case_number: number.to_string(),
                registered_at: format!(
                    "{:02}.{:02}.{} {:02}:{:02}",
                    now.day(),
                    u8::from(now.month()),
                    now.year(),
                    now.hour(),
                    now.minute()
                ),
                registered_on: now.date(),
                tracking_url: code.url(&base),
                tracking_code: Some(code),
            };
            if let Some(draft) = self.draft.as_mut() {
                draft.registration = Some(registration);
            }
            self.save_draft()?;
        } else if needs_code {
            let base = self.tracking_base()?;
            let code = TrackingCode::generate(&SystemRandom::new())?;
            if let Some(registration) = self.draft.as_mut().and_then(|d| d.registration.as_mut()) {
                registration.tracking_url = code.url(&base);
                registration.tracking_code = Some(code);
            }
            self.save_draft()?;
        }
        self.refresh_sign(window)
    }

    /// Where receipts send applicants to follow their case: the server's public side as it
    /// last said at a sync, or — never synced since, or the server has none — the centre's
    /// website from the catalog.
    fn tracking_base(&mut self) -> Result<String> {
        let website = self.catalog.centre.office.website.clone();
        let told = stored_public_url(self.vault()?)?;
        Ok(told
            .or(website)
            .unwrap_or_else(|| "https://cnap.example.ua".into()))
    }

    pub fn refresh_sign(&mut self, window: &AppWindow) -> Result<()> {
        let Some(draft) = &self.draft else {
            return Ok(());
        };
        if draft.registration.is_none() {
            return Ok(());
        }
        // The applicant's signature, or the witness's or representative's in its place.
        let mut applicant_signed = draft
            .signatures
            .iter()
            .any(|s| s.role != SignerRole::Administrator);
        let administrator_signed = draft
            .signatures
            .iter()
            .any(|s| s.role == SignerRole::Administrator);
        let signer_line = if draft.waiver.recorded {
            let (uk, en) = if draft.waiver.by_representative {
                ("представник", "representative")
            } else {
                ("свідок", "witness")
            };
            let name = draft.waiver.signer_name.trim();
            Message::new(
                format!("Підписує {uk} за заявника: {name}"),
                format!("Signing for the applicant ({en}): {name}"),
            )
        } else {
            let name = draft.applicant.display_name();
            Message::new(format!("Підписує: {name}"), format!("Signing: {name}"))
        };
        let pad_label = match (draft.waiver.recorded, draft.waiver.by_representative) {
            (false, _) => Message::new("Підпис заявника", "Applicant's signature"),
            (true, false) => Message::new(
                "Підпис свідка (за заявника)",
                "Witness's signature (for the applicant)",
            ),
            (true, true) => Message::new(
                "Підпис представника (за заявника)",
                "Representative's signature (for the applicant)",
            ),
        };
        let page = window.global::<SignPage>();
        match self.papers() {
            Ok(papers) => {
                // Every sheet of these very papers came back signed in ink.
                applicant_signed |= papers.case.signed_in_ink(&papers.signed());
                // The application first, then the inventory: both read before signing.
                show_documents(
                    window,
                    &[&papers.application, &papers.inventory],
                    self.lang(),
                )?;
                page.set_error("".into());
            }
            Err(error) => page.set_error(error.message().in_lang(self.lang()).into()),
        }
        page.set_pad_label(pad_label.in_lang(self.lang()).into());
        page.set_signer_line(signer_line.in_lang(self.lang()).into());
        page.set_applicant_signed(applicant_signed);
        page.set_administrator_signed(administrator_signed);
        page.set_ink(self.pad.ink());
        self.refresh_waiver(window);
        Ok(())
    }

    fn hand_to_applicant(&mut self, window: &AppWindow) -> Result<()> {
        self.papers()?;
        self.pad.take();
        let app = window.global::<App>();
        app.set_keyboard_open(false);
        app.set_notice("".into());
        app.set_applicant_mode(true);
        let page = window.global::<SignPage>();
        page.set_ink(slint::Image::default());
        page.set_asking_admin(false);
        page.set_leave_passphrase("".into());
        // The applicant reads from the first page.
        page.set_page_index(0);
        self.refresh_sign(window)
    }

    /// Sign with what is on the pad: the applicant in applicant mode, the administrator after.
    fn sign(&mut self, window: &AppWindow) -> Result<()> {
        let page = window.global::<SignPage>();
        page.set_error("".into());
        let papers = self.papers()?;
        let case = &papers.case;
        // In applicant mode the pad is the applicant's, or the substitute's the waiver names.
        let (role, signer) = match (
            window.global::<App>().get_applicant_mode(),
            &case.applicant_cannot_sign,
        ) {
            (false, _) => (SignerRole::Administrator, self.admin_name.clone()),
            (true, Some(waiver)) => (waiver.signed_instead_by, waiver.signer_name.clone()),
            (true, None) => (
                SignerRole::Applicant,
                self.draft
                    .as_ref()
                    .map(|d| d.applicant.display_name())
                    .unwrap_or_default(),
            ),
        };
        // One signature for both papers: it binds the hash of the pair.
        let hash = papers.signed().signed_sha256;
        let Some(strokes) = self.pad.strokes.clone() else {
            page.set_error(
                Message::new(
                    "Підпис порожній: розпишіться на полі.",
                    "The signature is empty: sign in the box.",
                )
                .in_lang(self.lang())
                .into(),
            );
            return Ok(());
        };
        let now = self.config.clock.now();
        let record = match sign(strokes, role, &signer, now, &hash) {
            Ok((record, _png)) => record,
            Err(error) => {
                // Too short or empty: the pad keeps what was drawn so it can be redone.
                page.set_error(AppError::from(error).message().in_lang(self.lang()).into());
                return Ok(());
            }
        };
        let mut draft = self
            .draft
            .clone()
            .ok_or_else(|| AppError::user("Немає відкритої справи.", "No case is open."))?;
        // One signature in the applicant's place: a new one replaces whoever signed there.
        let replaced = |r: SignerRole| match role {
            SignerRole::Administrator => r == SignerRole::Administrator,
            _ => r != SignerRole::Administrator,
        };
        draft.signatures.retain(|s| !replaced(s.role));
        let record_json = zeroize::Zeroizing::new(serde_json::to_vec(&record)?);
        let case_id = draft.case_id.clone();
        let position = 10_000
            + if role == SignerRole::Administrator {
                1
            } else {
                0
            };
        let vault = self.vault()?;
        vault.transaction(|tx| {
            let blob = tx.put_blob(&case_id, "signature", position, &record_json)?;
            draft.signatures.push(SignatureRef {
                role,
                record_id: blob.0,
                signed_document_sha256: hash.clone(),
            });
            let bytes = zeroize::Zeroizing::new(
                serde_json::to_vec(&draft)
                    .map_err(|e| fieldkit_vault::VaultError::Encoding(e.to_string()))?,
            );
            tx.put_draft(&case_id, "signing", &bytes)
        })?;
        self.draft = Some(draft);
        self.pad.take();
        self.refresh_sign(window)
    }

    /// Applicant mode ends only with the administrator's passphrase.
    fn leave_applicant_mode(&mut self, window: &AppWindow) -> Result<()> {
        let page = window.global::<SignPage>();
        let passphrase = zeroize::Zeroizing::new(page.get_leave_passphrase().to_string());
        page.set_leave_passphrase("".into());
        let slot = self.vault()?.slot().clone();
        let locked = Vault::open(
            &self.config.vault_path(),
            VaultOptions::default(),
            self.config.clock.clone(),
        )?;
        match locked.unlock(&slot, &passphrase) {
            Ok(check) => drop(check.lock()),
            Err(error) => {
                page.set_error(AppError::from(error).message().in_lang(self.lang()).into());
                return Ok(());
            }
        }
        page.set_asking_admin(false);
        page.set_error("".into());
        self.pad.take();
        let app = window.global::<App>();
        app.set_applicant_mode(false);
        app.set_keyboard_open(false);
        self.refresh_sign(window)
    }

    /// Register, render the signed application and inventory and seal: one transaction.
    pub fn seal(&mut self, window: &AppWindow) -> Result<()> {
        let app = window.global::<App>();
        app.set_progress_label(
            Message::new("Запечатування справи…", "Sealing the case…")
                .in_lang(self.lang())
                .into(),
        );
        let papers = self.papers()?;
        let signed_papers = papers.signed();
        let mut case = papers.case;
        let draft = self
            .draft
            .clone()
            .ok_or_else(|| AppError::user("Немає відкритої справи.", "No case is open."))?;
        let registration = draft.registration.clone().ok_or_else(|| {
            AppError::user(
                "Справу ще не зареєстровано.",
                "The case is not registered yet.",
            )
        })?;
        let number = CaseNumber::parse(&registration.case_number)?;
        let rules = draft
            .service
            .as_deref()
            .and_then(|c| self.service(c))
            .map(|s| s.package_rules())
            .ok_or_else(|| AppError::user("Оберіть послугу.", "Choose the service."))?;
        case.register(&rules, number, &signed_papers, registration.registered_on)?;
        // The sealed case knows the tracking code by its hash only. A draft registered before
        // codes gets one now: its signed paper keeps the old address, the receipt screen shows
        // the code and its QR.
        let (tracking_code, tracking_url) = match &registration.tracking_code {
            Some(code) => (code.clone(), registration.tracking_url.clone()),
            None => {
                let code = TrackingCode::generate(&SystemRandom::new())?;
                let url = code.url(&self.tracking_base()?);
                (code, url)
            }
        };
        case.tracking_code_sha256 = Some(tracking_code.sha256_hex());
        let vault = self.vault()?;
        let enrolled = enrolled_from_vault(vault)?;
        let mut records = Vec::new();
        for signature in &case.signatures {
            let bytes = vault.get_blob(&BlobId(signature.record_id.clone()))?;
            let record: fieldkit_capture::signature::SignatureRecord =
                serde_json::from_slice(&bytes)?;
            records.push(record);
        }
        let signed: Vec<SignedBy<'_>> = records
            .iter()
            .map(|r| SignedBy {
                role: r.role,
                strokes: &r.strokes,
            })
            .collect();
        let pdf = zeroize::Zeroizing::new(render_pdf(&papers.inventory, &signed)?);
        let application_pdf = zeroize::Zeroizing::new(render_pdf(&papers.application, &signed)?);
        let case_json = zeroize::Zeroizing::new(serde_json::to_vec(&case)?);
        let envelope_id = format!("env-{}", draft.case_id.trim_start_matches("case-"));
        let service_code = case.service.0.clone();
        // What the receipt screen shows, fixed now: the deadline counts from registration.
        let kept = KeptReceipt {
            case_number: registration.case_number.clone(),
            tracking_url,
            tracking_code: tracking_code.to_string(),
            deadline: self
                .service(&service_code)
                .map(|s| self.calendar.deadline(registration.registered_on, s.term))
                .map(|d| format!("{:02}.{:02}.{}", d.day(), u8::from(d.month()), d.year()))
                .unwrap_or_default(),
            email: match &case.notification {
                Some(Notification::Email { address }) => address.0.clone(),
                _ => String::new(),
            },
        };
        let vault = self.vault()?;
        vault.transaction(|tx| {
            tx.put_draft(&draft.case_id, "registered", &case_json)?;
            tx.put_blob(&draft.case_id, "inventory", 20_000, &pdf)?;
            tx.put_blob(&draft.case_id, "application", 20_001, &application_pdf)?;
            tx.seal_case(&SealCase {
                case_id: &draft.case_id,
                envelope_id: &envelope_id,
                case_number: &registration.case_number,
                recipient: &enrolled.sealing_key,
                device: &enrolled.device,
            })?;
            // The applicant's copy outlives the sealed plaintext until the visit is finished.
            receipt::keep(tx, &kept, &[&application_pdf, &pdf])?;
            // What the cases list shows of a sealed case: no personal data.
            tx.put_setting(
                &format!("case.{}", registration.case_number),
                service_code.as_bytes(),
            )
        })?;
        self.close_visit(window)?;
        self.open_receipt(window, &registration.case_number)?;
        self.sync_now();
        Ok(())
    }
}
