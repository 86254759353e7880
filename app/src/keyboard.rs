//! The on-screen keyboard types into whichever field has focus, as a physical keyboard would:
//! its keys become the window's key events.

use slint::platform::{Key, WindowEvent};
use slint::{ComponentHandle, SharedString};

use crate::ui::AppWindow;

fn press(window: &AppWindow, text: SharedString) {
    let window = window.window();
    window.dispatch_event(WindowEvent::KeyPressed { text: text.clone() });
    window.dispatch_event(WindowEvent::KeyReleased { text });
}

pub fn type_text(window: &AppWindow, text: &str) {
    for character in text.chars() {
        press(window, character.to_string().into());
    }
}

pub fn backspace(window: &AppWindow) {
    press(window, Key::Backspace.into());
}
