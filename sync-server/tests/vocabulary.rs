#![allow(clippy::unwrap_used)]
//! One vocabulary for a case's states: every state name written in the server, the central
//! connector, the app (Rust and Slint) and the sync client is one of the domain workflow's
//! names, and every state the server and the feed can hold reads back as the domain's.
//!
//! The source scan looks for a quoted snake_case word that follows `state` or `status` within
//! a few characters (`state = 'accepted'`, `status == "issued"`, `state: "sealed".into()`);
//! the only other states allowed there are those of the notification queue and of devices,
//! which are not a case's, and in the visit-request store those of a home-visit request.

use std::path::{Path, PathBuf};

use fieldkit_domain::workflow::{CaseState, StateName};
use fieldkit_sync_server::office::register::server_states;

/// Words that follow `state`/`status` but name something other than a case's state.
const OTHER_STATES: [&str; 6] = [
    // The applicant's notification queue (`NotificationState`).
    "pending", "sent", "skipped", "dead", // A device's standing.
    "active", "revoked",
];

/// Files that hold the life of something that is not a case, and the words of that life: a
/// home-visit request from the public side (unconfirmed → new → planned or declined) and its
/// notice to the requester (pending, sent, failed). Only there are these words allowed.
const OTHER_LIVES: &[(&str, &[&str])] = &[(
    "sync-server/src/store/sqlite_visit_requests.rs",
    &["unconfirmed", "new", "planned", "declined", "failed"],
)];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the server crate sits in the workspace")
        .to_owned()
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("rs" | "slint")
        ) {
            out.push(path);
        }
    }
}

/// Every quoted snake_case word close after `state` or `status` in `text`, with its line.
fn state_words(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let lower = line.to_lowercase();
        for key in ["state", "status"] {
            let mut from = 0;
            while let Some(at) = lower[from..].find(key) {
                let start = from + at + key.len();
                from = start;
                // A few characters of operator between the word and its quoted value.
                let window: String = line[start..].chars().take(16).collect();
                let Some(quote_at) = window.find(['\'', '"']) else {
                    continue;
                };
                let between = &window[..quote_at];
                if !between
                    .chars()
                    .all(|c| c.is_whitespace() || "=!<>:(),.".contains(c))
                    || between.trim().is_empty()
                {
                    continue;
                }
                let quote = window.as_bytes()[quote_at] as char;
                let rest = &line[start + quote_at + 1..];
                let Some(end) = rest.find(quote) else {
                    continue;
                };
                let word = &rest[..end];
                if !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                    found.push((number + 1, word.to_owned()));
                }
            }
        }
    }
    found.extend(match_arms(text));
    found
}

/// The string patterns of every `match` on a state or a status (`match status { "issued" =>`),
/// up to the end of its block.
fn match_arms(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut depth: Option<i32> = None;
    for (number, line) in text.lines().enumerate() {
        if depth.is_none() {
            let lower = line.to_lowercase();
            if let Some(at) = lower.find("match ") {
                let scrutinee = &lower[at..];
                if scrutinee.contains("state") || scrutinee.contains("status") {
                    depth = Some(0);
                }
            }
        }
        let Some(level) = depth.as_mut() else {
            continue;
        };
        if let Some(arrow) = line.find("=>") {
            for pattern in line[..arrow].split('|') {
                let pattern = pattern.trim().trim_start_matches('(');
                if let Some(word) = pattern.strip_prefix('"').and_then(|p| p.split('"').next())
                    && !word.is_empty()
                    && word.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                {
                    found.push((number + 1, word.to_owned()));
                }
            }
        }
        *level += line.matches('{').count() as i32 - line.matches('}').count() as i32;
        if *level <= 0 && line.contains('}') {
            depth = None;
        }
    }
    found
}

#[test]
fn the_scanner_finds_state_names_in_sql_rust_and_slint() {
    let sample = "WHERE c.state = 'accepted' AND n.state = 'pending'\n\
                  if row.status == \"in_progress\" {}\n\
                  state: \"sealed\".into(),\n\
                  let status = format!(\"{x}\");\n\
                  let (uk, en) = match status {\n\
                      \"decision_issued\" | \"issued\" => (1, 2),\n\
                      other => (0, 0),\n\
                  };\n\
                  match kind { \"elsewhere\" => 1 }\n";
    let words: Vec<String> = state_words(sample).into_iter().map(|(_, w)| w).collect();
    assert_eq!(
        words,
        [
            "accepted",
            "pending",
            "in_progress",
            "sealed",
            "decision_issued",
            "issued"
        ]
    );
}

#[test]
fn every_state_name_in_the_server_the_connector_and_the_app_is_the_domains() {
    let root = workspace();
    let mut files = Vec::new();
    for dir in [
        "sync-server/src",
        "app/src",
        "app/ui",
        "crates/sync-client/src",
        "crates/vault/src",
    ] {
        sources(&root.join(dir), &mut files);
    }
    assert!(
        files.len() > 50,
        "the scan found too few files: {}",
        files.len()
    );
    let mut strangers = Vec::new();
    let mut seen = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let relative = file.strip_prefix(&root).unwrap();
        let other_life: &[&str] = OTHER_LIVES
            .iter()
            .find(|(path, _)| relative == Path::new(path))
            .map_or(&[], |(_, words)| words);
        for (line, word) in state_words(&text) {
            seen += 1;
            if CaseState::from_name(&word).is_none()
                && !OTHER_STATES.contains(&word.as_str())
                && !other_life.contains(&word.as_str())
            {
                strangers.push(format!("{}:{line}: {word}", relative.display()));
            }
        }
    }
    assert!(seen > 0, "the scan found no state names at all");
    assert!(
        strangers.is_empty(),
        "state names that are not the domain's:\n{}",
        strangers.join("\n")
    );
}

#[test]
fn every_state_the_server_holds_is_the_domains_and_reads_back() {
    let on_server: Vec<CaseState> = server_states().collect();
    // From the inbox to the archive, the side paths included.
    for state in [
        CaseState::Received,
        CaseState::Accepted,
        CaseState::ReturnedForCorrection,
        CaseState::Duplicate,
        CaseState::Forwarded,
        CaseState::RegisteredCentrally,
        CaseState::ForwardedToProvider,
        CaseState::Issued,
        CaseState::Refused,
        CaseState::ResultReady,
        CaseState::ResultDelivered,
        CaseState::Withdrawn,
        CaseState::Archived,
    ] {
        assert!(
            on_server.contains(&state),
            "{state:?} missing from the inbox"
        );
    }
    for state in on_server {
        assert_eq!(StateName::parse(state.name()), StateName::Known(state));
    }
    assert_eq!(
        StateName::parse("handed_over_by_drone").words(),
        ("Невідомий стан", "Unknown state")
    );
}
