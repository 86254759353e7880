//! The background sync: a thread with its own vault connection and its own runtime, so the
//! screens never wait for the network. It runs a pass every `interval`, or at once when asked
//! (after sealing, or "Sync now"), and reports what happened as `UiMessage`s.
//!
//! Its vault connection holds the keys, so it must not outlive the lock: dropping the worker
//! (which locking does) tells the running pass to stop before its next chunk or step; the
//! thread keeps where each upload is in the vault, then drops its connection, keys and all.
//! The next worker, after unlock, resumes those uploads from the server's offset.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use fieldkit_vault::UnlockedVault;
use slint::ComponentHandle;

use crate::controller::{Controller, UiMessage};
use crate::error::{AppError, Result};
use crate::i18n::Message;
use crate::sync_pass::{
    FeedsApplied, Resume, apply_commands, enrolled_from_vault, keep_uploads, pull_feeds,
    pull_status, push_outbox_until, report, stored_uploads,
};
use crate::ui::{App, AppWindow, Screen};
use fieldkit_sync_client::SyncError;

#[derive(Debug)]
pub enum SyncEvent {
    Started,
    Finished(SyncSummary),
    /// Offline or refused; the message says which.
    Failed(Message),
}

#[derive(Debug, Default)]
pub struct SyncSummary {
    pub delivered: usize,
    pub waiting: usize,
    pub status_changes: usize,
    pub feeds: FeedsApplied,
    /// The centre wiped the tablet (lost or stolen): drafts, visits and enrollment are gone.
    pub wiped: bool,
    pub at: i64,
}

pub struct SyncWorker {
    trigger: mpsc::Sender<()>,
    /// Set when the worker is dropped: the tablet locked, or the app is closing.
    locked: Arc<AtomicBool>,
}

impl SyncWorker {
    pub fn spawn(vault: UnlockedVault, to_ui: mpsc::Sender<UiMessage>, interval: Duration) -> Self {
        let (trigger, wake) = mpsc::channel::<()>();
        let locked = Arc::new(AtomicBool::new(false));
        let seen_by_thread = locked.clone();
        std::thread::spawn(move || run(vault, to_ui, wake, interval, &seen_by_thread));
        // The first pass at once: the tablet may have come back online while locked.
        let _ = trigger.send(());
        Self { trigger, locked }
    }

    pub fn trigger(&self) {
        let _ = self.trigger.send(());
    }
}

impl Drop for SyncWorker {
    /// Locking drops the worker: a pass in progress stops before its next chunk or step
    /// rather than keeping the vault's keys until a long upload ends.
    fn drop(&mut self) {
        self.locked.store(true, Ordering::SeqCst);
    }
}

const STATUS_CURSOR: &str = "status.cursor";

fn run(
    mut vault: UnlockedVault,
    to_ui: mpsc::Sender<UiMessage>,
    wake: mpsc::Receiver<()>,
    interval: Duration,
    locked: &AtomicBool,
) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        let _ = to_ui.send(UiMessage::Sync(SyncEvent::Failed(Message::new(
            "Синхронізацію не запущено.",
            "Sync could not start.",
        ))));
        return;
    };
    // Uploads a pass before the last lock (or restart) left unfinished.
    let mut resume = stored_uploads(&mut vault).unwrap_or_default();
    loop {
        match wake.recv_timeout(interval) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) => {}
            // The controller dropped the worker (lock): the connection and keys go with it.
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
        while wake.try_recv().is_ok() {}
        if locked.load(Ordering::SeqCst) {
            return;
        }
        if to_ui.send(UiMessage::Sync(SyncEvent::Started)).is_err() {
            return;
        }
        let outcome = runtime.block_on(pass(&mut vault, &mut resume, locked));
        let kept = keep_uploads(&mut vault, &resume);
        if locked.load(Ordering::SeqCst) {
            // Stopped for the lock: nothing to show on a locked screen. Returning drops the
            // vault connection and its keys.
            return;
        }
        let event = match outcome.and_then(|summary| kept.map(|()| summary).map_err(AppError::from))
        {
            Ok(summary) => SyncEvent::Finished(summary),
            Err(error) => SyncEvent::Failed(error.message()),
        };
        if to_ui.send(UiMessage::Sync(event)).is_err() {
            return;
        }
    }
}

/// One pass; between its steps, and before every chunk of an upload, it asks whether the
/// tablet locked and then ends with `SyncError::Stopped`.
async fn pass(
    vault: &mut UnlockedVault,
    resume: &mut Resume,
    locked: &AtomicBool,
) -> Result<SyncSummary> {
    let stop = || locked.load(Ordering::SeqCst);
    let step = || -> Result<()> {
        if stop() {
            return Err(SyncError::Stopped.into());
        }
        Ok(())
    };
    let enrolled = enrolled_from_vault(vault)?;
    let client = &enrolled.client;
    // Commands first: a revoked tablet is refused everything else, and a wiped one must not
    // go on to upload or pull.
    let commands = apply_commands(vault, client).await?;
    if commands.wiped {
        return Ok(SyncSummary {
            feeds: FeedsApplied {
                drafts_wiped: commands.drafts_wiped,
                ..FeedsApplied::default()
            },
            wiped: true,
            at: time::OffsetDateTime::now_utc().unix_timestamp(),
            ..SyncSummary::default()
        });
    }
    step()?;
    let delivered = push_outbox_until(vault, client, resume, &stop).await?;
    step()?;
    let since = vault
        .get_setting(STATUS_CURSOR)?
        .and_then(|v| String::from_utf8_lossy(&v).parse().ok())
        .unwrap_or(0);
    let before: Vec<(String, String)> = vault
        .transaction(|tx| tx.tracking())?
        .into_iter()
        .map(|s| (s.case_number, s.status))
        .collect();
    let next = pull_status(vault, client, since).await?;
    step()?;
    vault.transaction(|tx| tx.put_setting(STATUS_CURSOR, next.to_string().as_bytes()))?;
    let after = vault.transaction(|tx| tx.tracking())?;
    let status_changes = after
        .iter()
        .filter(|s| !before.contains(&(s.case_number.clone(), s.status.clone())))
        .count();
    let feeds = pull_feeds(vault, client).await?;
    step()?;
    let sent = report(vault, client).await?;
    Ok(SyncSummary {
        delivered,
        waiting: usize::try_from(sent.envelopes_waiting).unwrap_or(0),
        status_changes,
        feeds,
        wiped: false,
        at: time::OffsetDateTime::now_utc().unix_timestamp(),
    })
}

impl Controller {
    pub fn apply_sync_event(&mut self, window: &AppWindow, event: SyncEvent) -> Result<()> {
        let app = window.global::<App>();
        match event {
            SyncEvent::Started => app.set_syncing(true),
            SyncEvent::Failed(message) => {
                app.set_syncing(false);
                app.set_online(false);
                self.sync_error = Some(message);
                self.refresh_sync_indicator(window)?;
            }
            SyncEvent::Finished(summary) => {
                app.set_syncing(false);
                app.set_online(true);
                self.sync_error = None;
                self.last_sync = Some(summary.at);
                self.unseen_statuses += summary.status_changes;
                app.set_status_changes(i32::try_from(self.unseen_statuses).unwrap_or(i32::MAX));
                // A pass that finished just as the tablet locked may still report (one that was
                // running stops for the lock and reports nothing); nothing on screen changes
                // while locked (a wipe is found at unlock: no draft).
                if self.vault.is_none() {
                    return Ok(());
                }
                // An unreadable catalog is told, after the rest of the pass is shown.
                let catalog = if summary.feeds.catalog_version.is_some() {
                    self.use_newest_catalog()
                } else {
                    Ok(())
                };
                if summary.wiped || summary.feeds.drafts_wiped > 0 {
                    // The centre wiped this tablet's drafts (lost or stolen): nothing stays open.
                    self.draft = None;
                    self.close_visit(window)?;
                    self.show(window, Screen::Today)?;
                }
                self.refresh_sync_indicator(window)?;
                match app.get_screen() {
                    Screen::Today => self.refresh_today(window)?,
                    Screen::Cases => self.refresh_cases(window)?,
                    _ => {}
                }
                return catalog;
            }
        }
        Ok(())
    }

    pub fn refresh_sync_indicator(&mut self, window: &AppWindow) -> Result<()> {
        if self.vault.is_none() {
            return Ok(());
        }
        let waiting = self.vault()?.outbox()?.len();
        window
            .global::<App>()
            .set_waiting(i32::try_from(waiting).unwrap_or(i32::MAX));
        Ok(())
    }

    /// Offer the newest catalog the tablet holds: the one bundled with the app (its starting
    /// point) or the one the feed kept in the vault. Called at unlock, because the feed will
    /// not send a version it already sent, and when the feed brings a new one. A stored
    /// catalog this build cannot read leaves the current one in use.
    pub fn use_newest_catalog(&mut self) -> Result<()> {
        let Some(text) = crate::sync_pass::stored_catalog(self.vault()?)? else {
            return Ok(());
        };
        let stored = fieldkit_domain::catalog::Catalog::from_toml_str(&text).map_err(|e| {
            AppError::user(
                &format!("Каталог послуг, отриманий із сервера, не прочитано ({e}); діє попередній."),
                &format!("The service catalog from the server could not be read ({e}); the previous one stays in use."),
            )
        })?;
        if stored.version > self.catalog.version {
            self.catalog = stored;
        }
        Ok(())
    }
}
