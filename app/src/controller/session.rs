//! First run (enrollment), unlock with back-off, lock (by hand or after idle time), and
//! reopening the visit the administrator was in.

use std::cell::RefCell;
use std::rc::Rc;

use fieldkit_vault::{Vault, VaultError, VaultOptions};
use slint::{ComponentHandle, ModelRc, VecModel};

use super::{Controller, OPEN_DRAFT, UiMessage, act, screen_by_name};
use crate::draft::DraftRecord;
use crate::error::{AppError, Result};
use crate::i18n::Message;
use crate::sync_pass::{enrolled_from_vault, save_enrollment};
use crate::sync_worker::SyncWorker;
use crate::ui::{
    AdminRow, App, AppWindow, CasesPage, EnrollPage, Screen, SettingsPage, SignPage, TodayPage,
    UnlockPage,
};

/// What an enrollment QR code carries after `FIELDKIT-ENROLL:` (the back-office shows it beside
/// the typed code), as JSON.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct EnrollmentQr {
    pub server: String,
    pub code: String,
    /// The server CA certificate, DER in base64, so the tablet pins it from the start.
    #[serde(default)]
    pub server_ca: Option<String>,
}

pub fn attach(window: &AppWindow, controller: &Rc<RefCell<Controller>>) {
    let enroll = window.global::<EnrollPage>();
    {
        let (c, w) = (controller.clone(), window.as_weak());
        enroll.on_enroll(move || act(&c, &w, |ctl, win| ctl.enroll(win)));
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        enroll.on_scan_qr(move || act(&c, &w, |ctl, win| ctl.scan_enrollment_qr(win)));
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        window
            .global::<UnlockPage>()
            .on_unlock(move || act(&c, &w, |ctl, win| ctl.unlock(win)));
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        window
            .global::<App>()
            .on_lock(move || act(&c, &w, |ctl, win| ctl.lock(win)));
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        window.global::<App>().on_sync_now(move || {
            act(&c, &w, |ctl, _| {
                ctl.sync_now();
                Ok(())
            })
        });
    }
}

impl Controller {
    /// The first screen: enrollment on a new tablet, unlock otherwise.
    pub fn start(&mut self, window: &AppWindow) -> Result<()> {
        self.apply_prefs(window);
        if self.config.vault_path().exists() {
            self.refresh_unlock(window)?;
            self.watch_while_locked();
            window.global::<App>().set_screen(Screen::Unlock);
        } else {
            window.global::<App>().set_screen(Screen::Enroll);
        }
        Ok(())
    }

    fn refresh_unlock(&mut self, window: &AppWindow) -> Result<()> {
        let vault = Vault::open(
            &self.config.vault_path(),
            VaultOptions::default(),
            self.config.clock.clone(),
        )?;
        let lang = self.lang();
        let rows: Vec<AdminRow> = vault
            .slots()?
            .iter()
            .map(|slot| AdminRow {
                slot: slot.slot_id.0.clone().into(),
                // A slot made before display names existed is numbered.
                name: slot
                    .display_name
                    .clone()
                    .unwrap_or_else(|| {
                        format!(
                            "{} {}",
                            lang.pick("Адміністратор", "Administrator"),
                            slot.ordinal
                        )
                    })
                    .into(),
            })
            .collect();
        let page = window.global::<UnlockPage>();
        page.set_admins(ModelRc::new(VecModel::from(rows)));
        Ok(())
    }

    fn enroll(&mut self, window: &AppWindow) -> Result<()> {
        let page = window.global::<EnrollPage>();
        let server = page.get_server().trim().trim_end_matches('/').to_owned();
        let code = page.get_code().trim().to_owned();
        let device = page.get_device_name().trim().to_owned();
        let admin = page.get_admin_name().trim().to_owned();
        let display_name = page.get_display_name().trim().to_owned();
        let passphrase = zeroize::Zeroizing::new(page.get_passphrase().to_string());
        page.set_error("".into());
        let fail = |uk: &str, en: &str| {
            page.set_error(Message::new(uk, en).in_lang(self.lang()).into());
            Ok(())
        };
        if !server.starts_with("https://") {
            return fail(
                "Адреса сервера починається з https://",
                "The server address starts with https://",
            );
        }
        if code.is_empty() || device.is_empty() || admin.is_empty() || display_name.is_empty() {
            return fail(
                "Заповніть код, назву планшета, ім'я адміністратора та ім'я на екрані входу.",
                "Fill in the code, the tablet's name, the administrator's name and the name on the unlock screen.",
            );
        }
        if let Some(message) = display_name_problem(&display_name) {
            page.set_error(message.in_lang(self.lang()).into());
            return Ok(());
        }
        if passphrase.chars().count() < VaultOptions::default().min_passphrase_chars {
            return fail(
                "Парольна фраза має містити щонайменше 8 символів.",
                "The passphrase needs at least 8 characters.",
            );
        }
        if *passphrase != page.get_passphrase_again().as_str() {
            return fail("Парольні фрази не збігаються.", "The passphrases differ.");
        }
        let Some(server_ca) = self.config.server_ca.clone() else {
            return fail(
                "На планшеті немає сертифіката сервера: відскануйте QR-код реєстрації.",
                "This tablet has no server certificate: scan the enrollment QR code.",
            );
        };
        let label = Message::new("Реєстрація планшета на сервері…", "Enrolling the tablet…");
        self.spawn_job(window, label, move |_| {
            let outcome = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| AppError::user(&format!("Помилка: {e}"), &format!("Error: {e}")))
                .and_then(|runtime| {
                    runtime
                        .block_on(fieldkit_sync_client::enroll(
                            &server, &server_ca, &code, &device,
                        ))
                        .map_err(AppError::from)
                });
            UiMessage::Job(Box::new(move |ctl: &mut Controller, win: &AppWindow| {
                let enrollment = outcome?;
                let mut vault = Vault::create(
                    &ctl.config.vault_path(),
                    &admin,
                    &passphrase,
                    VaultOptions::default(),
                    ctl.config.clock.clone(),
                )?;
                save_enrollment(&mut vault, &server, &server_ca, &enrollment)?;
                let slot = vault.slot().clone();
                vault.set_display_name(&slot, &display_name)?;
                ctl.vault = Some(vault);
                ctl.admin_name = admin.clone();
                let page = win.global::<EnrollPage>();
                page.set_display_name("".into());
                page.set_passphrase("".into());
                page.set_passphrase_again("".into());
                page.set_code("".into());
                ctl.after_unlock(win)
            }))
        });
        Ok(())
    }

    fn scan_enrollment_qr(&mut self, window: &AppWindow) -> Result<()> {
        let scanner = self.config.scanner.clone();
        let label = Message::new(
            "Сканування QR-коду реєстрації…",
            "Scanning the enrollment QR code…",
        );
        self.spawn_job(window, label, move |_| {
            let found = crate::controller::capture::scan_pages(&scanner, false).map(|pages| {
                pages
                    .iter()
                    .filter_map(|bytes| image::load_from_memory(bytes).ok())
                    .flat_map(|page| fieldkit_capture::qr::find_qr_codes(&page.to_luma8()))
                    .map(|qr| qr.text())
                    .collect::<Vec<String>>()
            });
            UiMessage::Job(Box::new(move |ctl: &mut Controller, win: &AppWindow| {
                let texts = found?;
                let parsed = texts.iter().find_map(|text| parse_enrollment_qr(text));
                let Some(qr) = parsed else {
                    return Err(AppError::user(
                        "Це не QR-код реєстрації fieldkit.",
                        "This is not a fieldkit enrollment QR code.",
                    ));
                };
                ctl.apply_enrollment_qr(win, &qr)
            }))
        });
        Ok(())
    }

    pub fn apply_enrollment_qr(&mut self, window: &AppWindow, qr: &EnrollmentQr) -> Result<()> {
        use base64::Engine;
        if let Some(ca) = &qr.server_ca {
            let der = base64::engine::general_purpose::STANDARD
                .decode(ca)
                .map_err(|_| AppError::user("QR-код пошкоджений.", "The QR code is damaged."))?;
            self.config.server_ca = Some(der);
        }
        let page = window.global::<EnrollPage>();
        page.set_server(qr.server.clone().into());
        page.set_code(qr.code.clone().into());
        Ok(())
    }

    fn unlock(&mut self, window: &AppWindow) -> Result<()> {
        let page = window.global::<UnlockPage>();
        page.set_error("".into());
        let passphrase = zeroize::Zeroizing::new(page.get_passphrase().to_string());
        let vault = Vault::open(
            &self.config.vault_path(),
            VaultOptions::default(),
            self.config.clock.clone(),
        )?;
        let slots = vault.slots()?;
        let index = usize::try_from(page.get_selected()).unwrap_or(0);
        let Some(slot) = slots.get(index).or(slots.first()) else {
            return Err(AppError::user(
                "У сховищі немає адміністраторів.",
                "The vault has no administrators.",
            ));
        };
        match vault.unlock(&slot.slot_id, &passphrase) {
            Ok(unlocked) => {
                page.set_passphrase("".into());
                page.set_wait_seconds(0);
                let name = unlocked
                    .admins()?
                    .into_iter()
                    .find(|a| a.slot_id == slot.slot_id)
                    .map(|a| a.name.to_string())
                    .unwrap_or_default();
                self.vault = Some(unlocked);
                self.admin_name = name;
                self.after_unlock(window)
            }
            Err(error) => {
                page.set_passphrase("".into());
                if let VaultError::MustWait { seconds } = &error {
                    page.set_wait_seconds(i32::try_from(*seconds).unwrap_or(i32::MAX));
                    self.unlock_wait_until =
                        Some(self.instant() + std::time::Duration::from_secs(*seconds));
                }
                page.set_error(AppError::from(error).message().in_lang(self.lang()).into());
                Ok(())
            }
        }
    }

    /// Unlocked: start syncing, and reopen the visit that was open.
    fn after_unlock(&mut self, window: &AppWindow) -> Result<()> {
        // The unlocked sync pass runs the centre's commands now.
        self.locked_watch = None;
        let now = self.config.clock.now();
        crate::controller::receipt::forget_old(self.vault()?, now)?;
        // Told once the screen is chosen (showing a screen clears the notice).
        let catalog = self.use_newest_catalog();
        window
            .global::<App>()
            .set_admin_name(self.admin_name.clone().into());
        self.start_sync()?;
        let open = self
            .vault()?
            .get_setting(OPEN_DRAFT)?
            .map(|v| String::from_utf8_lossy(&v).into_owned());
        let restored = match open {
            Some(case_id) if !case_id.is_empty() => match self.vault()?.get_draft(&case_id) {
                Ok(bytes) => serde_json::from_slice::<DraftRecord>(&bytes).ok(),
                Err(VaultError::NotFound { .. }) => None,
                Err(other) => return Err(other.into()),
            },
            _ => None,
        };
        match restored {
            Some(draft) => {
                let screen = screen_by_name(&draft.screen);
                self.draft = Some(draft);
                self.fill_visit_screens(window)?;
                window.global::<App>().set_visit_open(true);
                self.show(window, screen)?;
            }
            None => self.show(window, Screen::Today)?,
        }
        catalog
    }

    fn start_sync(&mut self) -> Result<()> {
        let vault = self.vault()?;
        if enrolled_from_vault(vault).is_err() {
            return Ok(());
        }
        let worker_vault = vault.second_connection()?;
        self.sync = Some(SyncWorker::spawn(
            worker_vault,
            self.to_ui.clone(),
            self.config.sync_interval,
        ));
        Ok(())
    }

    pub fn sync_now(&self) {
        if let Some(worker) = &self.sync {
            worker.trigger();
        }
    }

    /// Lock: the visit is saved as it stands, the keys are wiped and nothing personal stays on
    /// the screens. Applicant mode ends here too: unlocking takes an administrator's passphrase,
    /// as leaving applicant mode does, and leads back to the administrator's side of the visit.
    pub fn lock(&mut self, window: &AppWindow) -> Result<()> {
        if self.draft.as_ref().is_some_and(|d| !d.case_id.is_empty()) {
            self.keep_override_being_written(window);
            self.save_draft()?;
        }
        self.close_session(window);
        self.refresh_unlock(window)?;
        self.watch_while_locked();
        window.global::<App>().set_screen(Screen::Unlock);
        Ok(())
    }

    /// The keys leave memory and nothing personal stays on the screens.
    fn close_session(&mut self, window: &AppWindow) {
        self.sync = None;
        self.draft = None;
        self.pad = Default::default();
        self.receipt_number.clear();
        self.thumbnails.clear();
        if let Some(vault) = self.vault.take() {
            drop(vault.lock());
        }
        self.admin_name.clear();
        crate::controller::visit::clear_screens(window);
        crate::controller::consultation::clear_screen(window);
        self.consultation = Default::default();
        clear_locked_out(window);
        let app = window.global::<App>();
        app.set_applicant_mode(false);
        app.set_visit_open(false);
        app.set_admin_name("".into());
        app.set_keyboard_open(false);
    }

    fn watch_while_locked(&mut self) {
        self.locked_watch = Some(crate::locked_watch::LockedWatch::spawn(
            self.config.vault_path(),
            self.to_ui.clone(),
            self.config.sync_interval,
        ));
    }

    /// The centre wiped this tablet while it was locked: the vault is shredded and gone. The
    /// tablet starts again from enrollment, and says why.
    pub fn wiped_while_locked(&mut self, window: &AppWindow) -> Result<()> {
        self.locked_watch = None;
        // If someone unlocked meanwhile, that session's file is gone: it closes too.
        self.close_session(window);
        window.global::<UnlockPage>().set_admins(ModelRc::default());
        let notice = Message::new(
            "Центр стер дані цього планшета на віддалі (втрачений або викрадений). Щоб працювати знову, зареєструйте його в центрі заново.",
            "The centre wiped this tablet remotely (lost or stolen). To work with it again, enroll it at the centre anew.",
        );
        window
            .global::<EnrollPage>()
            .set_error(notice.in_lang(self.lang()).into());
        window.global::<App>().set_screen(Screen::Enroll);
        Ok(())
    }

    pub fn tick_unlock_wait(&mut self, window: &AppWindow) {
        if let Some(until) = self.unlock_wait_until {
            let left = until.saturating_duration_since(self.instant()).as_secs();
            window
                .global::<UnlockPage>()
                .set_wait_seconds(i32::try_from(left).unwrap_or(0));
            if left == 0 {
                self.unlock_wait_until = None;
            }
        }
    }
}

/// What the visit screens' `clear_screens` leaves and a locked tablet must not keep: today's
/// visits (names, addresses), the last receipt (e-mail), signatures on the cases screen and
/// passphrases half typed.
fn clear_locked_out(window: &AppWindow) {
    let today = window.global::<TodayPage>();
    today.set_visits(ModelRc::default());
    today.set_has_draft(false);
    today.set_draft_title("".into());
    crate::controller::receipt::clear_screen(window);
    let cases = window.global::<CasesPage>();
    cases.set_ink(slint::Image::default());
    cases.set_selected("".into());
    cases.set_selected_receipt(false);
    cases.set_action(0);
    let sign = window.global::<SignPage>();
    sign.set_leave_passphrase("".into());
    sign.set_asking_admin(false);
    let settings = window.global::<SettingsPage>();
    settings.set_new_admin_name("".into());
    settings.set_new_admin_display_name("".into());
    settings.set_new_admin_passphrase("".into());
}

/// Why a display name cannot be used, if it cannot: it fits one button of the unlock screen.
pub fn display_name_problem(name: &str) -> Option<Message> {
    let max = fieldkit_vault::MAX_DISPLAY_NAME_CHARS;
    (name.trim().is_empty() || name.chars().count() > max || name.chars().any(char::is_control))
        .then(|| {
            Message::new(
                format!("Ім'я на екрані входу: від 1 до {max} символів."),
                format!("The name on the unlock screen: 1 to {max} characters."),
            )
        })
}

/// An enrollment QR's text, if it is one of ours.
pub fn parse_enrollment_qr(text: &str) -> Option<EnrollmentQr> {
    let json = text.strip_prefix(fieldkit_capture::qr::ENROLLMENT_PREFIX)?;
    let qr: EnrollmentQr = serde_json::from_str(json).ok()?;
    (qr.server.starts_with("https://") && !qr.code.is_empty()).then_some(qr)
}
