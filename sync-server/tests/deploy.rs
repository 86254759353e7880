#![allow(clippy::unwrap_used)]
//! The systemd unit in deploy/server passes `systemd-analyze verify` without a warning (with
//! ExecStart pointed at the binary this build made), and keeps its hardening.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_fieldkit-sync-server");

#[test]
fn server_unit_verifies_and_is_hardened() {
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/server/fieldkit-sync-server.service"
    ))
    .unwrap();
    for setting in [
        "ProtectSystem=strict",
        "NoNewPrivileges=true",
        "PrivateTmp=true",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
        "UMask=0077",
    ] {
        assert!(unit.lines().any(|l| l == setting), "{setting} missing");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fieldkit-sync-server.service");
    std::fs::write(&path, unit.replace("/usr/bin/fieldkit-sync-server", BIN)).unwrap();
    let output = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze (systemd)");
    let complaints = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && complaints.trim().is_empty(),
        "{complaints}"
    );
}
