#![allow(clippy::unwrap_used)]
//! The deployment files in deploy/: every systemd unit (server and tablet) passes
//! `systemd-analyze verify` without a warning, the units keep their hardening, the nightly
//! backup's command line really makes a backup, and the tablet's udev rule parses.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_fieldkit-sync-server");
const DEPLOY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy");

/// A program every test machine has, standing in for the ones only a tablet has.
const STAND_IN: &str = "/bin/true";

/// The accounts the units run as; they are made at installation, not on a test machine.
const ACCOUNTS: [&str; 2] = ["fieldkit", "fieldkit-sync"];

fn read(relative: &str) -> String {
    std::fs::read_to_string(Path::new(DEPLOY).join(relative)).unwrap()
}

/// Every *.service and *.timer under deploy/, sorted.
fn units(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            units(&path, found);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("service" | "timer")
        ) {
            found.push(path);
        }
    }
    found.sort();
}

/// The unit as it can be checked here. `systemd-analyze verify` refuses a unit whose Exec
/// program is missing, so the server's program becomes the binary this build made, and a
/// program that exists only on an installed tablet (/usr/bin/cage) becomes /bin/true: the
/// check is about the unit's settings, not about what the tablet has installed.
fn checkable(unit: &str) -> String {
    let unit = unit.replace("/usr/bin/fieldkit-sync-server", BIN);
    let mut out = String::new();
    for line in unit.lines() {
        let exec = line
            .split_once('=')
            .filter(|(key, _)| key.starts_with("Exec"));
        match exec {
            Some((key, value)) => {
                // A command may start with the prefixes "-@:+!" before its program.
                let flags = value.len() - value.trim_start_matches(['-', '@', ':', '+', '!']).len();
                let (prefix, command) = value.split_at(flags);
                let (program, arguments) = command.split_once(' ').unwrap_or((command, ""));
                if Path::new(program).exists() {
                    out.push_str(line);
                } else {
                    out.push_str(&format!("{key}={prefix}{STAND_IN} {arguments}"));
                }
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// Whether a complaint is only that a unit's User= or Group= does not exist on this machine
/// (`fieldkit`, `fieldkit-sync`: made by useradd when a tablet or server is installed). Some
/// systemd versions check accounts while verifying; nothing else is forgiven.
fn about_missing_account(line: &str) -> bool {
    let line = line.to_lowercase();
    let names_account = ["user", "group"].iter().any(|kind| {
        ACCOUNTS.iter().any(|name| {
            [" ", " '", " \"", "="]
                .iter()
                .any(|gap| line.contains(&format!("{kind}{gap}{name}")))
        })
    });
    let missing = [
        "not exist",
        "no such",
        "not found",
        "resolve",
        "unknown user",
    ]
    .iter()
    .any(|word| line.contains(word));
    names_account && missing
}

#[test]
fn every_unit_verifies() {
    let mut found = Vec::new();
    units(Path::new(DEPLOY), &mut found);
    let names: Vec<String> = found
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in [
        "fieldkit-sync-server.service",
        "fieldkit-sync-backup.service",
        "fieldkit-sync-backup.timer",
        "fieldkit-kiosk.service",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} not found");
    }
    assert!(Path::new(STAND_IN).exists());
    // One folder for all, so a timer finds its service beside it.
    let dir = tempfile::tempdir().unwrap();
    let mut copies = Vec::new();
    for (path, name) in found.iter().zip(&names) {
        let copy = dir.path().join(name);
        std::fs::write(&copy, checkable(&std::fs::read_to_string(path).unwrap())).unwrap();
        copies.push(copy);
    }
    for copy in &copies {
        let output = Command::new("systemd-analyze")
            .arg("verify")
            .arg(copy)
            .output()
            .expect("systemd-analyze (systemd)");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let complaints: Vec<&str> = stderr
            .lines()
            .filter(|l| !l.trim().is_empty() && !about_missing_account(l))
            .collect();
        assert!(
            complaints.is_empty() && (output.status.success() || !stderr.trim().is_empty()),
            "{}:\n{stderr}",
            copy.display()
        );
    }
}

fn assert_settings(unit: &str, settings: &[&str]) {
    for setting in settings {
        assert!(unit.lines().any(|l| l == *setting), "{setting} missing");
    }
}

#[test]
fn server_unit_is_hardened() {
    let unit = read("server/fieldkit-sync-server.service");
    assert_settings(
        &unit,
        &[
            "ProtectSystem=strict",
            "NoNewPrivileges=true",
            "PrivateTmp=true",
            "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
            "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
            "UMask=0077",
        ],
    );
}

#[test]
fn server_unit_has_room_for_the_documented_connection_cap() {
    let unit = read("server/fieldkit-sync-server.service");
    let nofile: usize = unit
        .lines()
        .find_map(|l| l.strip_prefix("LimitNOFILE="))
        .expect("LimitNOFILE= in the server unit")
        .parse()
        .unwrap();
    let config: toml::Value = toml::from_str(&read("server/sync-server.toml")).unwrap();
    let cap = config["connections"]["max_connections"]
        .as_integer()
        .unwrap() as usize;
    // The database, blob writes, logs and the listener need descriptors beside connections.
    assert!(
        cap + 1024 <= nofile,
        "max_connections {cap} leaves too little of LimitNOFILE={nofile}"
    );
}

#[test]
fn kiosk_unit_waits_for_the_encrypted_vault_and_is_hardened() {
    let unit = read("tablet/fieldkit-kiosk.service");
    assert_settings(
        &unit,
        &[
            "RequiresMountsFor=/var/lib/fieldkit",
            "User=fieldkit",
            "PAMName=login",
            "TTYPath=/dev/tty1",
            "Conflicts=getty@tty1.service",
            "Restart=always",
            "ExecStart=/usr/bin/cage -- /usr/bin/fieldkit --data-dir /var/lib/fieldkit",
            "NoNewPrivileges=true",
            "ProtectSystem=strict",
            "ProtectHome=true",
            "UMask=0077",
        ],
    );
    let writable = unit
        .lines()
        .find_map(|l| l.strip_prefix("ReadWritePaths="))
        .unwrap();
    assert!(writable.split(' ').any(|p| p == "/var/lib/fieldkit"));
}

#[test]
fn backup_unit_is_hardened_and_its_command_makes_a_backup() {
    let unit = read("server/fieldkit-sync-backup.service");
    assert_settings(
        &unit,
        &[
            "Type=oneshot",
            "User=fieldkit-sync",
            "NoNewPrivileges=true",
            "ProtectSystem=strict",
            "ReadWritePaths=/var/lib/fieldkit-sync /var/backups/fieldkit-sync",
            "PrivateNetwork=true",
            "CapabilityBoundingSet=",
            "UMask=0077",
        ],
    );
    let timer = read("server/fieldkit-sync-backup.timer");
    assert_settings(&timer, &["Persistent=true", "WantedBy=timers.target"]);

    // Run the unit's command line as systemd would ("%%" is "%", "$$" is "$" in a unit),
    // against a fresh server's data directory.
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart=/bin/sh -c '"))
        .and_then(|l| l.strip_suffix('\''))
        .expect("ExecStart=/bin/sh -c '…'");
    let root = tempfile::tempdir().unwrap();
    let (data, backups) = (root.path().join("data"), root.path().join("backups"));
    let init = Command::new(BIN)
        .args(["init", "--hostname", "sync.example.ua", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(init.status.success(), "{init:?}");
    let script = exec
        .replace("%%", "%")
        .replace("$$", "$")
        .replace("/usr/bin/fieldkit-sync-server", BIN)
        .replace("/var/lib/fieldkit-sync", data.to_str().unwrap())
        .replace("/var/backups/fieldkit-sync", backups.to_str().unwrap());
    let run = Command::new("/bin/sh")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    let made: Vec<PathBuf> = std::fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(made.len(), 1, "{made:?}");
    let name = made[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.len() == "2026-11-28T023000".len() && name.as_bytes()[10] == b'T',
        "{name}"
    );
    assert!(made[0].join("metadata.sqlite").exists());
    assert!(made[0].join("keys").is_dir());
}

/// One udev rule line as key/operator/value triples, or why it does not parse.
fn parse_rule(line: &str) -> Result<Vec<(String, String, String)>, String> {
    const KEYS: [&str; 13] = [
        "ACTION",
        "SUBSYSTEM",
        "SUBSYSTEMS",
        "KERNEL",
        "ENV",
        "ATTR",
        "ATTRS",
        "GROUP",
        "MODE",
        "OWNER",
        "GOTO",
        "LABEL",
        "TAG",
    ];
    let mut pairs = Vec::new();
    let mut rest = line.trim();
    while !rest.is_empty() {
        let key_end = rest
            .find(['=', '!', '+', '-', ':'])
            .ok_or(format!("no operator in {rest}"))?;
        let key = &rest[..key_end];
        let bare = key.split('{').next().unwrap_or(key);
        if !KEYS.contains(&bare) || (key.contains('{') && !key.ends_with('}')) {
            return Err(format!("unknown key {key}"));
        }
        rest = &rest[key_end..];
        let operator = ["==", "!=", "+=", "-=", ":=", "="]
            .into_iter()
            .find(|op| rest.starts_with(op))
            .ok_or(format!("bad operator after {key}"))?;
        rest = rest[operator.len()..]
            .strip_prefix('"')
            .ok_or(format!("{key}: value not quoted"))?;
        let value_end = rest.find('"').ok_or(format!("{key}: unclosed value"))?;
        pairs.push((
            key.to_owned(),
            operator.to_owned(),
            rest[..value_end].to_owned(),
        ));
        rest = rest[value_end + 1..].trim_start();
        if let Some(next) = rest.strip_prefix(',') {
            rest = next.trim_start();
        } else if !rest.is_empty() {
            return Err(format!("expected a comma before {rest}"));
        }
    }
    Ok(pairs)
}

#[test]
fn scanner_udev_rule_parses() {
    let path = Path::new(DEPLOY).join("tablet/60-fieldkit-scanner.rules");
    let help = Command::new("udevadm").args(["verify", "--help"]).output();
    if help.is_ok_and(|h| h.status.success()) {
        // systemd 254 and newer; names are not resolved (no group scanner needed here).
        let output = Command::new("udevadm")
            .args(["verify", "--resolve-names=never"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let mut rules = Vec::new();
    let mut example = None;
    for line in text.lines() {
        if let Some(commented) = line.strip_prefix("#SUBSYSTEM") {
            example = Some(parse_rule(&format!("SUBSYSTEM{commented}")).unwrap());
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            rules.push(parse_rule(line).unwrap_or_else(|e| panic!("{line}: {e}")));
        }
    }
    let has = |rule: &[(String, String, String)], key: &str, op: &str, value: &str| {
        rule.iter()
            .any(|(k, o, v)| k == key && o == op && v == value)
    };
    let grants = |rule: &[(String, String, String)]| {
        has(rule, "GROUP", "=", "scanner") && has(rule, "MODE", "=", "0660")
    };
    assert!(rules.iter().any(|r| {
        has(r, "ENV{libsane_matched}", "==", "yes") && has(r, "SUBSYSTEM", "==", "usb") && grants(r)
    }));
    let example = example.expect("a commented example for one vendor and product id");
    assert!(grants(&example));
    assert!(example.iter().any(|(k, _, _)| k == "ATTR{idVendor}"));
    assert!(example.iter().any(|(k, _, _)| k == "ATTR{idProduct}"));
    let target = |key: &str| {
        rules
            .iter()
            .flatten()
            .find(|(k, _, _)| k == key)
            .map(|(_, _, v)| v.clone())
    };
    assert_eq!(target("GOTO"), target("LABEL"));
}

/// The Debian packages (`cargo deb`) ship files that exist: every asset source in both
/// packages' metadata is in the repository (the binaries come from the release build), and the
/// units, config and udev rule the guides name are among them.
#[test]
fn package_metadata_ships_files_that_exist() {
    for (manifest, must_ship) in [
        (
            "sync-server/Cargo.toml",
            &[
                "fieldkit-sync-server.service",
                "fieldkit-sync-backup.timer",
                "sync-server.toml",
            ][..],
        ),
        (
            "app/Cargo.toml",
            &[
                "fieldkit-kiosk.service",
                "60-fieldkit-scanner.rules",
                "cups-keep-no-copies.sh",
                "catalog.toml",
                "ua.toml",
            ][..],
        ),
    ] {
        let text = read(&format!("../{manifest}"));
        let parsed: toml::Value = toml::from_str(&text).unwrap();
        let deb = &parsed["package"]["metadata"]["deb"];
        let package_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(manifest)
            .parent()
            .unwrap()
            .to_owned();
        let scripts = package_dir.join(deb["maintainer-scripts"].as_str().unwrap());
        assert!(scripts.join("postinst").exists(), "{manifest}: postinst");
        let assets = deb["assets"].as_array().unwrap();
        for asset in assets {
            let source = asset[0].as_str().unwrap();
            if source.starts_with("target/release/") {
                continue;
            }
            assert!(
                package_dir.join(source).is_file(),
                "{manifest}: {source} does not exist"
            );
        }
        for name in must_ship {
            assert!(
                assets
                    .iter()
                    .any(|a| a[0].as_str().unwrap().ends_with(name)),
                "{manifest} does not ship {name}"
            );
        }
    }
}
