//! `fieldkit`: the tablet app. `fieldkit --demo` runs the whole kit on one machine.

use std::path::PathBuf;
use std::process::ExitCode;

use fieldkit_app::config::{AppConfig, default_assets_dir};
use fieldkit_app::demo;
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
    let _demo = if demo_mode {
        let demo = demo::prepare(&mut config).map_err(|e| e.to_string())?;
        println!(
            "Демо / demo: сервер {} ; парольна фраза / passphrase «{}»",
            demo.server.url,
            demo::DEMO_PASSPHRASE
        );
        Some(demo)
    } else {
        None
    };
    let app = fieldkit_app::build(config).map_err(|e| e.to_string())?;
    if demo_mode {
        let message = fieldkit_app::i18n::Message::new(
            format!("Демо: парольна фраза «{}»", demo::DEMO_PASSPHRASE),
            format!("Demo: the passphrase is «{}»", demo::DEMO_PASSPHRASE),
        );
        let controller = app.controller.borrow();
        controller.notify(&app.window, &message, false);
    }
    app.window.run().map_err(|e| e.to_string())
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
