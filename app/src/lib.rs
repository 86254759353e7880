//! fieldkit-app: the tablet app the mobile administrator holds all day. Slint screens under
//! `ui/`, their controllers in `controller/`; the visit being entered is saved to the encrypted
//! vault after every edit; sealing, syncing and printing use the workspace's crates. It must
//! never show or keep personal data once locked, and never block the screen on the network.

pub mod command_credential;
pub mod config;
pub mod consultations;
pub mod controller;
#[cfg(feature = "demo")]
pub mod demo;
pub mod draft;
pub mod error;
pub mod i18n;
pub mod images;
pub mod keyboard;
pub mod locked_watch;
pub mod outgoing;
pub mod planned_visit;
pub mod prefs;
pub mod sync_pass;
pub mod sync_worker;

#[allow(clippy::all, clippy::unwrap_used, unused)]
pub mod ui {
    slint::include_modules!();
}

use std::cell::RefCell;
use std::rc::Rc;

use crate::config::AppConfig;
use crate::controller::Controller;
use crate::error::Result;
use crate::ui::AppWindow;

/// The window with its controller attached, ready to show.
pub struct RunningApp {
    pub window: AppWindow,
    pub controller: Rc<RefCell<Controller>>,
    _timer: slint::Timer,
}

impl RunningApp {
    /// Apply what the workers finished now (the timer does this every 100 ms when running).
    pub fn pump(&self) {
        if let Ok(mut controller) = self.controller.try_borrow_mut() {
            controller.drain_messages(&self.window);
        }
    }
}

pub fn build(config: AppConfig) -> Result<RunningApp> {
    let window = AppWindow::new().map_err(|e| {
        crate::error::AppError::user(&format!("Вікно: {e}"), &format!("Window: {e}"))
    })?;
    let controller = Rc::new(RefCell::new(Controller::new(config)?));
    let timer = controller::attach(&window, controller.clone());
    controller.borrow_mut().start(&window)?;
    Ok(RunningApp {
        window,
        controller,
        _timer: timer,
    })
}
