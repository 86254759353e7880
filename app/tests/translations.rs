#![allow(clippy::unwrap_used)]
//! Every string on every screen goes through `@tr` and has its Ukrainian translation in
//! `assets/i18n/uk/LC_MESSAGES/fieldkit-app.po`; no screen shows a literal English word.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn slint_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(slint_files(&path));
        } else if path.extension().is_some_and(|e| e == "slint") {
            files.push(path);
        }
    }
    files
}

/// The string literals that follow `marker` (e.g. `@tr(` or `text:`), unescaped.
fn literals_after(source: &str, marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (index, _) in source.match_indices(marker) {
        let rest = source[index + marker.len()..].trim_start();
        let Some(rest) = rest.strip_prefix('"') else {
            continue;
        };
        let mut value = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => value.extend(chars.next()),
                '"' => break,
                other => value.push(other),
            }
        }
        found.push(value);
    }
    found
}

fn catalog(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut entries = BTreeMap::new();
    let mut msgid = None;
    for line in text.lines() {
        if let Some(id) = literals_after(line, "msgid").first() {
            msgid = Some(id.clone());
        } else if let (Some(id), Some(value)) =
            (msgid.take(), literals_after(line, "msgstr").first())
        {
            entries.insert(id, value.clone());
        }
    }
    entries
}

#[test]
fn every_screen_string_has_its_ukrainian_translation() {
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
    let uk = catalog(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../assets/i18n/uk/LC_MESSAGES/fieldkit-app.po"),
    );
    let mut missing = Vec::new();
    let mut count = 0;
    for file in slint_files(&ui) {
        let source = std::fs::read_to_string(&file).unwrap();
        for string in literals_after(&source, "@tr(") {
            count += 1;
            if uk.get(&string).is_none_or(|t| t.trim().is_empty()) {
                missing.push(format!("{}: {string:?}", file.display()));
            }
        }
    }
    assert!(
        count > 150,
        "the screens have their strings under @tr ({count})"
    );
    assert!(missing.is_empty(), "untranslated:\n{}", missing.join("\n"));
}

#[test]
fn no_screen_shows_a_literal_word() {
    // Language names are written in their own language on purpose; the rest are symbols.
    let allowed = ["Українська", "English", "ABC", "АБВ", "fieldkit"];
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
    let mut literal = Vec::new();
    for file in slint_files(&ui) {
        let source = std::fs::read_to_string(&file).unwrap();
        for marker in ["text:", "label:", "accessible-label:", "title:"] {
            for value in literals_after(&source, marker) {
                if value.chars().any(char::is_alphabetic) && !allowed.contains(&value.trim()) {
                    literal.push(format!("{}: {value:?}", file.display()));
                }
            }
        }
    }
    assert!(
        literal.is_empty(),
        "literal words on screens:\n{}",
        literal.join("\n")
    );
}

#[test]
fn the_catalog_has_no_stale_entries() {
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
    let used: Vec<String> = slint_files(&ui)
        .iter()
        .flat_map(|f| literals_after(&std::fs::read_to_string(f).unwrap(), "@tr("))
        .collect();
    let uk = catalog(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../assets/i18n/uk/LC_MESSAGES/fieldkit-app.po"),
    );
    let stale: Vec<&String> = uk
        .keys()
        .filter(|k| !k.is_empty() && !used.contains(k))
        .collect();
    assert!(stale.is_empty(), "translated but unused: {stale:?}");
}
