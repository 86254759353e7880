//! Languages. Screen text lives in the `.slint` files under `@tr` (English source strings, the
//! Ukrainian catalog in `assets/i18n`); the few messages made here in Rust — errors with
//! details, generated notices — carry both languages and are picked by the current one.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    /// Ukrainian is the first language of every screen.
    #[default]
    Uk,
    En,
}

impl Lang {
    /// The catalog folder name; "en" selects the English source strings.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Uk => "uk",
            Lang::En => "en",
        }
    }

    pub fn pick<'a>(self, uk: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Uk => uk,
            Lang::En => en,
        }
    }
}

/// A message in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub uk: String,
    pub en: String,
}

impl Message {
    pub fn new(uk: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            uk: uk.into(),
            en: en.into(),
        }
    }

    pub fn in_lang(&self, lang: Lang) -> &str {
        lang.pick(&self.uk, &self.en)
    }
}

/// Make the screens speak `lang`. Must run after the window exists.
pub fn apply(lang: Lang) {
    // An unknown language only leaves the English source strings on screen: nothing to stop for.
    let _ = slint::select_bundled_translation(lang.code());
}
