//! `fieldkit`: the tablet app. `fieldkit --demo` runs the whole kit on one machine.

use std::path::PathBuf;
use std::process::ExitCode;

use fieldkit_app::config::{AppConfig, default_assets_dir};
use slint::ComponentHandle;

const HELP: &str = "fieldkit — польовий набір мобільного адміністратора ЦНАП / the mobile administrator's field kit

USAGE:
  fieldkit [--data-dir DIR] [--assets DIR] [--server-ca FILE.der] [--printer QUEUE]
           [--scanner DEVICE]
  fieldkit --demo      a sync-server on loopback, an enrolled tablet, a demo administrator
                       (passphrase: демо-пароль) and two planned visits, in a temporary folder

The data directory holds the encrypted vault; put it on the encrypted partition
(default: $XDG_DATA_HOME/fieldkit or ~/.local/share/fieldkit).";

fn default_data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("fieldkit")
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut demo_mode = false;
    let mut data_dir = None;
    let mut assets = default_assets_dir();
    let mut server_ca = None;
    let mut printer = None;
    let mut scanner = None;
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--demo" => demo_mode = true,
            "--data-dir" => data_dir = Some(PathBuf::from(value("--data-dir")?)),
            "--assets" => assets = PathBuf::from(value("--assets")?),
            "--server-ca" => server_ca = Some(PathBuf::from(value("--server-ca")?)),
            "--printer" => printer = Some(value("--printer")?),
            "--scanner" => scanner = Some(value("--scanner")?),
            "-h" | "--help" => {
                println!("{HELP}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}\n\n{HELP}")),
        }
    }
    let temporary = if demo_mode && data_dir.is_none() {
        Some(tempfile::tempdir().map_err(|e| e.to_string())?)
    } else {
        None
    };
    let data_dir = match (&temporary, data_dir) {
        (Some(dir), _) => dir.path().to_owned(),
        (None, Some(dir)) => dir,
        (None, None) => default_data_dir(),
    };
    let mut config = AppConfig::new(data_dir, assets);
    if let Some(path) = server_ca {
        config.server_ca =
            Some(std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?);
    }
    if let Some(queue) = printer {
        config.printer = queue;
    }
    if let Some(device) = scanner {
        config.scanner.device = Some(device);
    }
    let demo = if demo_mode {
        Some(start_demo(&mut config)?)
    } else {
        None
    };
    let app = fieldkit_app::build(config).map_err(|e| e.to_string())?;
    if let Some(demo) = &demo {
        let message = fieldkit_app::i18n::Message::new(
            format!("Демо: парольна фраза «{}»", demo.passphrase),
            format!("Demo: the passphrase is «{}»", demo.passphrase),
        );
        let controller = app.controller.borrow();
        controller.notify(&app.window, &message, false);
    }
    app.window.run().map_err(|e| e.to_string())
}

/// The demo's server and enrolled tablet, kept alive while the app runs. (A build without the
/// `demo` feature never makes one: it refuses `--demo` instead.)
#[cfg_attr(not(feature = "demo"), allow(dead_code))]
struct RunningDemo {
    passphrase: &'static str,
    _server: Box<dyn std::any::Any>,
}

/// The in-process server exists only in builds with the `demo` feature (the developer's
/// default); the tablet's package is built without it.
#[cfg(feature = "demo")]
fn start_demo(config: &mut AppConfig) -> Result<RunningDemo, String> {
    use fieldkit_app::demo;
    let running = demo::prepare(config).map_err(|e| e.to_string())?;
    println!(
        "Демо / demo: сервер {} ; публічні сторінки / public pages {} ; парольна фраза / passphrase «{}»",
        running.server.url,
        running.server.public_url,
        demo::DEMO_PASSPHRASE
    );
    Ok(RunningDemo {
        passphrase: demo::DEMO_PASSPHRASE,
        _server: Box::new(running),
    })
}

#[cfg(not(feature = "demo"))]
fn start_demo(_config: &mut AppConfig) -> Result<RunningDemo, String> {
    Err(
        "у цій збірці немає демо-режиму / this build has no demo mode \
         (built without the `demo` feature)"
            .to_owned(),
    )
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("fieldkit: {message}");
            ExitCode::FAILURE
        }
    }
}
