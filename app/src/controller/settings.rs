//! Settings and About: language, text size, contrast, auto-lock, administrators, device.

use std::cell::RefCell;
use std::rc::Rc;

use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use super::{Controller, act};
use crate::error::Result;
use crate::i18n::{self, Lang, Message};
use crate::ui::{AdminRow, AppWindow, SettingsPage, Theme};

/// What the app is built from, for the About screen (licences: see `cargo deny`).
const COMPONENTS: &[&str] = &[
    "Slint — user interface (GPL-3.0)",
    "SQLite via rusqlite — storage (public domain, MIT)",
    "ring — cryptography (ISC-style)",
    "rustls — TLS 1.3 (Apache-2.0/MIT)",
    "reqwest, tokio — network (MIT)",
    "image, rqrr, qrcode — pictures and QR codes (MIT/Apache-2.0)",
    "hpke — case sealing, RFC 9180 (MIT/Apache-2.0)",
    "pdf-writer — receipts (MIT/Apache-2.0)",
    "DejaVu Sans — font (Bitstream Vera licence)",
];

pub fn attach(window: &AppWindow, controller: &Rc<RefCell<Controller>>) {
    let page = window.global::<SettingsPage>();
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_set_language(move |index| {
            act(&c, &w, |ctl, win| {
                ctl.prefs.language = if index == 1 { Lang::En } else { Lang::Uk };
                ctl.save_prefs(win)?;
                ctl.refresh_settings(win)
            })
        });
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_set_text_size(move |size| {
            act(&c, &w, |ctl, win| {
                ctl.prefs.text_size = u8::try_from(size).unwrap_or(0);
                ctl.save_prefs(win)
            })
        });
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_set_contrast(move |on| {
            act(&c, &w, |ctl, win| {
                ctl.prefs.high_contrast = on;
                ctl.save_prefs(win)
            })
        });
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_set_autolock(move |minutes| {
            act(&c, &w, |ctl, win| {
                ctl.prefs.autolock_minutes = u32::try_from(minutes).unwrap_or(5).clamp(1, 60);
                ctl.save_prefs(win)
            })
        });
    }
    {
        let (c, w) = (controller.clone(), window.as_weak());
        page.on_add_admin(move || act(&c, &w, |ctl, win| ctl.add_admin(win)));
    }
}

impl Controller {
    /// Put the preferences on screen: language, theme, text size.
    pub fn apply_prefs(&self, window: &AppWindow) {
        i18n::apply(self.prefs.language);
        let theme = window.global::<Theme>();
        theme.set_high_contrast(self.prefs.high_contrast);
        theme.set_text_scale(self.prefs.text_scale());
        let page = window.global::<SettingsPage>();
        page.set_language(if self.prefs.language == Lang::En {
            1
        } else {
            0
        });
        page.set_text_size(i32::from(self.prefs.text_size));
        page.set_high_contrast(self.prefs.high_contrast);
        page.set_autolock_minutes(i32::try_from(self.prefs.autolock_minutes).unwrap_or(5));
    }

    fn save_prefs(&mut self, window: &AppWindow) -> Result<()> {
        self.apply_prefs(window);
        self.prefs
            .save(&self.config.data_dir)
            .map_err(|source| crate::error::AppError::Io {
                path: self
                    .config
                    .data_dir
                    .join("prefs.json")
                    .display()
                    .to_string(),
                source,
            })
    }

    pub fn refresh_settings(&mut self, window: &AppWindow) -> Result<()> {
        let lang = self.lang();
        let page = window.global::<SettingsPage>();
        page.set_version(env!("CARGO_PKG_VERSION").into());
        page.set_components(ModelRc::new(VecModel::from(
            COMPONENTS
                .iter()
                .map(|c| SharedString::from(*c))
                .collect::<Vec<_>>(),
        )));
        let vault = self.vault()?;
        let admins: Vec<AdminRow> = vault
            .admins()?
            .into_iter()
            .map(|a| AdminRow {
                slot: a.slot_id.0.clone().into(),
                name: a.name.to_string().into(),
            })
            .collect();
        page.set_admins(ModelRc::new(VecModel::from(admins)));
        let text = |v: Option<zeroize::Zeroizing<Vec<u8>>>| {
            v.map(|v| String::from_utf8_lossy(&v).into_owned())
                .unwrap_or_default()
        };
        page.set_device_id(text(vault.get_setting("sync.device_id")?).into());
        page.set_server(text(vault.get_setting("sync.server")?).into());
        // The version in use: the newest of the bundled and the stored catalog.
        page.set_catalog_version(self.catalog.version.to_string().into());
        let last = match self.last_sync {
            Some(at) => time::OffsetDateTime::from_unix_timestamp(at)
                .map(|t| {
                    format!(
                        "{:02}.{:02}.{} {:02}:{:02}",
                        t.day(),
                        u8::from(t.month()),
                        t.year(),
                        t.hour(),
                        t.minute()
                    )
                })
                .unwrap_or_default(),
            None => lang.pick("ще не було", "not yet").to_owned(),
        };
        page.set_last_sync(last.into());
        Ok(())
    }

    fn add_admin(&mut self, window: &AppWindow) -> Result<()> {
        let page = window.global::<SettingsPage>();
        page.set_error("".into());
        let name = page.get_new_admin_name().trim().to_owned();
        let display_name = page.get_new_admin_display_name().trim().to_owned();
        let passphrase = zeroize::Zeroizing::new(page.get_new_admin_passphrase().to_string());
        if name.is_empty() {
            page.set_error(
                Message::new("Вкажіть ім'я.", "Enter the name.")
                    .in_lang(self.lang())
                    .into(),
            );
            return Ok(());
        }
        if let Some(message) = super::session::display_name_problem(&display_name) {
            page.set_error(message.in_lang(self.lang()).into());
            return Ok(());
        }
        let vault = self.vault()?;
        let slot = vault.add_admin(&name, &passphrase)?;
        vault.set_display_name(&slot, &display_name)?;
        page.set_new_admin_name("".into());
        page.set_new_admin_display_name("".into());
        page.set_new_admin_passphrase("".into());
        self.refresh_settings(window)
    }
}
