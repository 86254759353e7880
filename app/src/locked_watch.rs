//! While the tablet is locked, a thread asks the server now and then, with the command-only
//! credential, whether the centre has ordered a wipe (a lost or stolen tablet is almost always
//! locked). It holds no vault key and sees no personal data; on a wipe it shreds the vault
//! (`command_credential::wipe_if_commanded`) and tells the screens. Dropping it stops it.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use crate::command_credential::wipe_if_commanded;
use crate::controller::UiMessage;

pub struct LockedWatch {
    /// Dropped with the watch: the thread sees the channel close and ends.
    _stop: mpsc::Sender<()>,
}

impl LockedWatch {
    /// Ask at once (the tablet may have just come online), then every `interval`.
    pub fn spawn(vault_path: PathBuf, to_ui: mpsc::Sender<UiMessage>, interval: Duration) -> Self {
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::spawn(move || watch(&vault_path, &to_ui, &stopped, interval));
        Self { _stop: stop }
    }
}

fn watch(
    vault_path: &std::path::Path,
    to_ui: &mpsc::Sender<UiMessage>,
    stopped: &mpsc::Receiver<()>,
    interval: Duration,
) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    loop {
        // Offline, refused or no credential yet (false or an error): ask again later.
        if let Ok(true) = runtime.block_on(wipe_if_commanded(vault_path)) {
            let _ = to_ui.send(UiMessage::Job(Box::new(|controller, window| {
                controller.wiped_while_locked(window)
            })));
            return;
        }
        match stopped.recv_timeout(interval) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}
