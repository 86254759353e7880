//! The controllers: what happens when a person taps. One `Controller` owns the unlocked vault,
//! the visit being entered and the background workers; each screen's actions live in their
//! own module. Work that takes long (scanning, syncing) runs on worker threads and reports
//! back through `UiMessage`s, drained on the UI thread by a timer, so the screen never freezes.

pub mod capture;
mod cases;
mod conditions;
pub mod consultation;
mod document_view;
mod fee;
mod ink;
mod papers;
pub mod receipt;
mod session;
mod settings;
mod signing;
mod visit;
mod waiver;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fieldkit_domain::calendar::WorkCalendar;
use fieldkit_domain::catalog::{Catalog, Service};
use fieldkit_domain::common::ServiceCode;
use fieldkit_vault::UnlockedVault;
use slint::ComponentHandle;
use zeroize::Zeroizing;

use crate::config::AppConfig;
use crate::draft::DraftRecord;
use crate::error::{AppError, Result};
use crate::i18n::{Lang, Message};
use crate::prefs::Prefs;
use crate::sync_worker::{SyncEvent, SyncWorker};
use crate::ui::{App, AppWindow, Screen};

pub use signing::PadState;

/// What a worker hands back: applied to the controller on the UI thread.
pub type Job = Box<dyn FnOnce(&mut Controller, &AppWindow) -> Result<()> + Send>;

/// Work finished on another thread, applied on the UI thread.
pub enum UiMessage {
    Sync(SyncEvent),
    Job(Job),
    Progress { label: Message, fraction: f32 },
}

pub struct Controller {
    pub config: AppConfig,
    pub prefs: Prefs,
    pub catalog: Catalog,
    pub calendar: WorkCalendar,
    pub vault: Option<UnlockedVault>,
    pub admin_name: String,
    pub draft: Option<DraftRecord>,
    pub pad: PadState,
    /// The case whose receipt is on the receipt screen; its applicant's copy stays in the vault.
    pub receipt_number: String,
    pub sync: Option<SyncWorker>,
    /// Runs while locked: picks up a wipe the centre ordered (see `locked_watch`).
    pub locked_watch: Option<crate::locked_watch::LockedWatch>,
    pub to_ui: mpsc::Sender<UiMessage>,
    from_workers: mpsc::Receiver<UiMessage>,
    /// When the person last touched or typed, on `config.monotonic_clock`.
    last_activity: Instant,
    pub unseen_statuses: usize,
    pub last_sync: Option<i64>,
    pub unlock_wait_until: Option<Instant>,
    /// Page pictures already decoded for the screen, by blob id (dropped on lock).
    pub thumbnails: std::collections::HashMap<String, slint::Image>,
    /// Why the last sync failed (offline, refused), for the settings screen.
    pub sync_error: Option<Message>,
    /// What the consultation on its screen closes when saved (regulation 2.36).
    pub consultation: consultation::ConsultationOrigin,
}

fn read_asset(config: &AppConfig, name: &str) -> Result<String> {
    let path = config.assets_dir.join(name);
    std::fs::read_to_string(&path).map_err(|source| AppError::Io {
        path: path.display().to_string(),
        source,
    })
}

impl Controller {
    pub fn new(config: AppConfig) -> Result<Self> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| AppError::Io {
            path: config.data_dir.display().to_string(),
            source,
        })?;
        let catalog = Catalog::from_toml_str(&read_asset(&config, "catalog/catalog.toml")?)?;
        let calendar = WorkCalendar::from_toml_str(&read_asset(&config, "calendar/ua.toml")?)?;
        let prefs = Prefs::load(&config.data_dir);
        let (to_ui, from_workers) = mpsc::channel();
        let started = (config.monotonic_clock)();
        Ok(Self {
            config,
            prefs,
            catalog,
            calendar,
            vault: None,
            admin_name: String::new(),
            draft: None,
            pad: PadState::default(),
            receipt_number: String::new(),
            sync: None,
            locked_watch: None,
            to_ui,
            from_workers,
            last_activity: started,
            unseen_statuses: 0,
            last_sync: None,
            unlock_wait_until: None,
            thumbnails: Default::default(),
            sync_error: None,
            consultation: Default::default(),
        })
    }

    pub fn lang(&self) -> Lang {
        self.prefs.language
    }

    pub fn vault(&mut self) -> Result<&mut UnlockedVault> {
        self.vault
            .as_mut()
            .ok_or_else(|| AppError::user("Планшет заблоковано.", "The tablet is locked."))
    }

    pub fn today(&self) -> time::Date {
        self.now().date()
    }

    pub fn now(&self) -> time::OffsetDateTime {
        let seconds = self.config.clock.now();
        time::OffsetDateTime::from_unix_timestamp(seconds)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    }

    /// Now on the monotonic clock (idle time, the unlock wait).
    pub fn instant(&self) -> Instant {
        (self.config.monotonic_clock)()
    }

    /// The person touched or typed: the auto-lock counts from here.
    pub fn mark_activity(&mut self) {
        self.last_activity = self.instant();
    }

    /// Unlocked, idle longer than the auto-lock setting, and no long work (a scan, an import,
    /// enrollment) on the progress overlay: the overlay's work finishes first. The setting is
    /// held to what Settings offers, whatever a hand-edited prefs file says.
    fn autolock_due(&self, window: &AppWindow) -> bool {
        let idle = self.instant().saturating_duration_since(self.last_activity);
        let minutes = self.prefs.autolock_minutes.clamp(1, 60);
        let limit = Duration::from_secs(u64::from(minutes) * 60);
        self.vault.is_some() && idle > limit && !window.global::<App>().get_busy()
    }

    pub fn service(&self, code: &str) -> Option<&Service> {
        self.catalog.service(&ServiceCode(code.to_owned()))
    }

    /// Show a message on the bar under the top bar.
    pub fn notify(&self, window: &AppWindow, message: &Message, error: bool) {
        let app = window.global::<App>();
        app.set_notice(message.in_lang(self.lang()).into());
        app.set_notice_is_error(error);
    }

    pub fn show(&mut self, window: &AppWindow, screen: Screen) -> Result<()> {
        // Locked, only the unlock (or first-run) screen is there, whatever asks for another.
        if !matches!(screen, Screen::Unlock | Screen::Enroll) {
            self.vault()?;
        }
        window.global::<App>().set_screen(screen);
        window.global::<App>().set_notice("".into());
        // Only the visit's own screens are where a visit resumes (not Today or Settings).
        let is_visit_screen = matches!(
            screen,
            Screen::Service
                | Screen::Applicant
                | Screen::Documents
                | Screen::Form
                | Screen::Choices
                | Screen::Sign
                | Screen::Ink
        );
        if let Some(draft) = self.draft.as_mut()
            && is_visit_screen
        {
            draft.screen = screen_name(screen).to_owned();
            self.save_draft()?;
        }
        match screen {
            Screen::Today => self.refresh_today(window)?,
            Screen::Cases => self.refresh_cases(window)?,
            // What the applicant or the form answered may have decided conditions since.
            Screen::Documents => self.refresh_documents(window)?,
            Screen::Settings | Screen::About => self.refresh_settings(window)?,
            _ => {}
        }
        Ok(())
    }

    /// Save the visit as it stands: encrypted, in one transaction.
    pub fn save_draft(&mut self) -> Result<()> {
        let Some(draft) = self.draft.clone() else {
            return Ok(());
        };
        let record = Zeroizing::new(serde_json::to_vec(&draft)?);
        let vault = self.vault()?;
        vault.transaction(|tx| tx.put_draft(&draft.case_id, "entering", &record))?;
        Ok(())
    }

    /// Apply what the workers finished.
    pub fn drain_messages(&mut self, window: &AppWindow) {
        while let Ok(message) = self.from_workers.try_recv() {
            let outcome = match message {
                UiMessage::Sync(event) => self.apply_sync_event(window, event),
                UiMessage::Job(job) => {
                    let result = job(self, window);
                    window.global::<App>().set_busy(false);
                    // The person watched the progress overlay: idle time starts when it goes.
                    self.mark_activity();
                    result
                }
                UiMessage::Progress { label, fraction } => {
                    let app = window.global::<App>();
                    app.set_progress_label(label.in_lang(self.lang()).into());
                    app.set_progress(fraction);
                    Ok(())
                }
            };
            if let Err(error) = outcome {
                self.notify(window, &error.message(), true);
            }
        }
        self.tick_unlock_wait(window);
        if self.autolock_due(window)
            && let Err(error) = self.lock(window)
        {
            self.notify(window, &error.message(), true);
        }
    }

    /// Start long work on a worker thread; `work` reports progress and returns a job that the
    /// UI thread applies. The busy overlay shows `label` meanwhile.
    pub fn spawn_job<W>(&self, window: &AppWindow, label: Message, work: W)
    where
        W: FnOnce(&mpsc::Sender<UiMessage>) -> UiMessage + Send + 'static,
    {
        let app = window.global::<App>();
        app.set_busy(true);
        app.set_progress(0.0);
        app.set_progress_label(label.in_lang(self.lang()).into());
        let sender = self.to_ui.clone();
        std::thread::spawn(move || {
            let message = work(&sender);
            // The receiver lives as long as the app; if it is gone there is no one to tell.
            let _ = sender.send(message);
        });
    }
}

pub const OPEN_DRAFT: &str = "ui.open_draft";

pub fn screen_name(screen: Screen) -> &'static str {
    match screen {
        Screen::Enroll => "enroll",
        Screen::Unlock => "unlock",
        Screen::Today => "today",
        Screen::Service => "service",
        Screen::Applicant => "applicant",
        Screen::Documents => "documents",
        Screen::Form => "form",
        Screen::Choices => "choices",
        Screen::Sign => "sign",
        Screen::Receipt => "receipt",
        Screen::Cases => "cases",
        Screen::Settings => "settings",
        Screen::About => "about",
        Screen::Ink => "ink",
        Screen::Consultation => "consultation",
    }
}

pub fn screen_by_name(name: &str) -> Screen {
    match name {
        "applicant" => Screen::Applicant,
        "documents" => Screen::Documents,
        "form" => Screen::Form,
        "choices" => Screen::Choices,
        "sign" => Screen::Sign,
        "ink" => Screen::Ink,
        _ => Screen::Service,
    }
}

/// Run an action from a callback: mark activity, show its error if it fails.
pub fn act(
    controller: &Rc<RefCell<Controller>>,
    window: &slint::Weak<AppWindow>,
    action: impl FnOnce(&mut Controller, &AppWindow) -> Result<()>,
) {
    let Some(window) = window.upgrade() else {
        return;
    };
    let Ok(mut controller) = controller.try_borrow_mut() else {
        return;
    };
    controller.mark_activity();
    if let Err(error) = action(&mut controller, &window) {
        controller.notify(&window, &error.message(), true);
    }
}

/// Wire every screen's callbacks to the controller and start the message timer.
pub fn attach(window: &AppWindow, controller: Rc<RefCell<Controller>>) -> slint::Timer {
    session::attach(window, &controller);
    visit::attach(window, &controller);
    capture::attach(window, &controller);
    conditions::attach(window, &controller);
    ink::attach(window, &controller);
    consultation::attach(window, &controller);
    signing::attach(window, &controller);
    receipt::attach(window, &controller);
    cases::attach(window, &controller);
    settings::attach(window, &controller);

    let app = window.global::<App>();
    {
        let (c, w) = (controller.clone(), window.as_weak());
        app.on_navigate(move |screen| act(&c, &w, |ctl, win| ctl.show(win, screen)));
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        app.on_dismiss_notice(move || {
            act(&c, &w, |_, win| {
                win.global::<App>().set_notice("".into());
                Ok(())
            })
        });
    }
    // Touches, scrolls and keys the screens see but no controller hears of. Called from inside
    // event delivery, possibly while a callback already holds the controller: then that callback
    // counts as the activity and this one has nothing to add.
    {
        let c = controller.clone();
        app.on_activity(move || {
            if let Ok(mut controller) = c.try_borrow_mut() {
                controller.mark_activity();
            }
        });
    }
    // On-screen keys are activity even in a field that tells the controller nothing (the
    // override note, a passphrase). Not through `act`: the key events they become reach the
    // fields' own callbacks, which borrow the controller themselves.
    {
        let (c, w) = (controller.clone(), window.as_weak());
        app.on_osk_key(move |text| {
            if let Ok(mut controller) = c.try_borrow_mut() {
                controller.mark_activity();
            }
            if let Some(win) = w.upgrade() {
                crate::keyboard::type_text(&win, &text);
            }
        });
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        app.on_osk_backspace(move || {
            if let Ok(mut controller) = c.try_borrow_mut() {
                controller.mark_activity();
            }
            if let Some(win) = w.upgrade() {
                crate::keyboard::backspace(&win);
            }
        });
    }

    let timer = slint::Timer::default();
    let (c, w) = (controller.clone(), window.as_weak());
    timer.start(
        slint::TimerMode::Repeated,
        Duration::from_millis(100),
        move || {
            let Some(window) = w.upgrade() else {
                return;
            };
            if let Ok(mut controller) = c.try_borrow_mut() {
                controller.drain_messages(&window);
            }
        },
    );
    timer
}
