#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The kiosk really starts: the tablet unit's `ExecStart=` (cage, and the app inside it) runs
//! here on wlroots' headless backend — no GPU, no screen — with a fresh data folder, and the
//! app's first screen («Налаштування планшета», enrollment) is on cage's output: a screenshot
//! taken with `grim` through cage's Wayland socket shows its colours.
//!
//! Needs the Debian packages `cage`, `xwayland` (cage 0.1.4 refuses to start without
//! /usr/bin/Xwayland, even for a Wayland app) and `grim`. cage refuses to run as root, so as
//! root the kiosk runs as `nobody`, as the tablet runs it as `fieldkit`.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const UNIT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../deploy/tablet/fieldkit-kiosk.service"
);
const APP: &str = env!("CARGO_BIN_EXE_fieldkit");
const PACKAGES: &str = "apt-get install cage xwayland grim";

/// Long enough for a debug build on a slow, busy machine; a run here takes about a second.
const FIRST_SCREEN_WITHIN: Duration = Duration::from_secs(90);
const STOP_WITHIN: Duration = Duration::from_secs(10);

/// The user cage runs as when the test runs as root (cage refuses root): `nobody`.
const UNPRIVILEGED: u32 = 65534;

/// The theme's colours on the enrollment screen (app/ui/theme.slint, not high contrast).
const BACKGROUND: [u8; 3] = [0xee, 0xf1, 0xf4];
const PRIMARY: [u8; 3] = [0x0b, 0x4f, 0x9c];
const TEXT: [u8; 3] = [0x10, 0x14, 0x18];

/// The folders of one run, laid out as the unit has them on the tablet.
struct Folders {
    root: tempfile::TempDir,
    runtime: PathBuf,
    data: PathBuf,
    cache: PathBuf,
    /// Copies of the app and its assets that the kiosk's user can reach wherever the checkout
    /// is (a CI checkout may sit in root's private home); the package puts them in /usr.
    app: PathBuf,
    assets: PathBuf,
}

/// Copy a folder, readable by everyone.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir(to).unwrap();
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755)).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
}

impl Folders {
    fn new(owner: Option<u32>) -> Self {
        let root = tempfile::tempdir().unwrap();
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let make = |name: &str| {
            let path = root.path().join(name);
            std::fs::create_dir(&path).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
            if let Some(id) = owner {
                std::os::unix::fs::chown(&path, Some(id), Some(id)).unwrap();
            }
            path
        };
        let (runtime, data, cache) = (make("run"), make("data"), make("cache"));
        let app = root.path().join("fieldkit");
        std::fs::copy(APP, &app).unwrap();
        std::fs::set_permissions(&app, std::fs::Permissions::from_mode(0o755)).unwrap();
        let assets = root.path().join("assets");
        copy_tree(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets"),
            &assets,
        );
        Self {
            root,
            runtime,
            data,
            cache,
            app,
            assets,
        }
    }

    fn log(&self) -> PathBuf {
        self.root.path().join("cage.log")
    }
}

/// The unit's `ExecStart=` as it runs here: the app this build made, the data folder of the
/// run, and the assets the package would have put in /usr/share/fieldkit.
fn exec_start(unit: &str, folders: &Folders) -> Vec<String> {
    let line = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart= in the kiosk unit");
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        words[0], "/usr/bin/cage",
        "the kiosk unit starts cage: {line}"
    );
    assert!(
        words.contains(&"/usr/bin/fieldkit"),
        "cage starts the app: {line}"
    );
    words
        .iter()
        .map(|&word| match word {
            "/usr/bin/fieldkit" => folders.app.to_str().unwrap().to_owned(),
            "/var/lib/fieldkit" => folders.data.to_str().unwrap().to_owned(),
            "/usr/bin/cage" => word.to_owned(),
            other => {
                assert!(
                    !other.starts_with('/'),
                    "{other} in ExecStart= exists only on a tablet: teach this test its stand-in"
                );
                other.to_owned()
            }
        })
        .chain([
            "--assets".to_owned(),
            folders.assets.to_str().unwrap().to_owned(),
        ])
        .collect()
}

/// The unit's `Environment=` settings, with `%C` (the cache root) made the run's cache folder.
fn environment(unit: &str, folders: &Folders) -> Vec<(String, String)> {
    unit.lines()
        .filter_map(|l| l.strip_prefix("Environment="))
        .map(|setting| {
            let (key, value) = setting.split_once('=').expect("Environment=KEY=VALUE");
            let value = value.replace("%C/fieldkit", folders.cache.to_str().unwrap());
            assert!(
                !value.contains('%'),
                "{setting}: teach this test the specifier"
            );
            (key.to_owned(), value)
        })
        .collect()
}

/// A running process (zombies are dead already: whoever adopted them reaps them).
struct Process {
    pid: u32,
    parent: u32,
    group: u32,
    name: String,
}

fn running_processes() -> Vec<Process> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
        let Some((head, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let fields: Vec<&str> = rest.split(' ').collect();
        if fields.len() < 3 || fields[0] == "Z" {
            continue;
        }
        found.push(Process {
            pid,
            parent: fields[1].parse().unwrap_or(0),
            group: fields[2].parse().unwrap_or(0),
            name: head.split_once(" (").map_or("", |(_, n)| n).to_owned(),
        });
    }
    found
}

/// What is still running in a process group, as "pid name".
fn live_in_group(group: u32) -> Vec<String> {
    running_processes()
        .into_iter()
        .filter(|p| p.group == group)
        .map(|p| format!("{} {}", p.pid, p.name))
        .collect()
}

/// `kill -s SIGNAL -- TARGET` with the shell's own `kill` (no procps needed); a target "-PGID"
/// is a whole process group.
fn signal(target: &str, signal: &str) {
    let _ = Command::new("/bin/sh")
        .args(["-c", "kill -s \"$0\" -- \"$1\" 2>/dev/null", signal, target])
        .status();
}

fn wait_until_empty(group: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if live_in_group(group).is_empty() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    live_in_group(group).is_empty()
}

/// cage and everything it started (the app, Xwayland), in a process group of their own, all
/// stopped when this is dropped, also when the test fails.
struct Kiosk {
    cage: Child,
    group: u32,
    stopped: bool,
}

impl Kiosk {
    fn start(
        command: &[String],
        env: &[(String, String)],
        folders: &Folders,
        user: Option<u32>,
    ) -> Self {
        let log = std::fs::File::create(folders.log()).unwrap();
        // setpriv (util-linux) execs cage in its place: as `nobody` when the test runs as root,
        // and killed if this test's thread dies without stopping it (a harness killed by ^C).
        let mut setpriv = Command::new("setpriv");
        if let Some(id) = user {
            setpriv.args(["--reuid", &id.to_string(), "--regid", &id.to_string()]);
            setpriv.arg("--clear-groups");
        }
        setpriv
            .args(["--pdeathsig", "KILL", "--"])
            .args(command)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", folders.root.path())
            .env("XDG_RUNTIME_DIR", &folders.runtime)
            .envs(env.iter().map(|(k, v)| (k, v)))
            // wlroots without screen, GPU or input devices: a 1280×720 output in memory.
            .env("WLR_BACKENDS", "headless")
            .env("WLR_RENDERER", "pixman")
            .env("WLR_LIBINPUT_NO_DEVICES", "1")
            .current_dir(folders.root.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0);
        let cage = setpriv
            .spawn()
            .unwrap_or_else(|e| panic!("setpriv (util-linux) for {}: {e}", command[0]));
        let group = cage.id();
        Self {
            cage,
            group,
            stopped: false,
        }
    }

    /// SIGTERM to the app: cage then leaves by itself and cleans up (Xwayland's sockets and
    /// lock files in /tmp). If anything is left, SIGTERM to the whole group (as `systemctl
    /// stop` does to the unit's cgroup; cage 0.1.4 aborts on it, cleaning up nothing), then
    /// SIGKILL.
    fn stop(&mut self) -> bool {
        if self.stopped {
            return true;
        }
        self.stopped = true;
        let cage = self.cage.id();
        for app in running_processes().iter().filter(|p| p.parent == cage) {
            signal(&app.pid.to_string(), "TERM");
        }
        let group = format!("-{}", self.group);
        let mut empty = wait_until_empty(self.group, STOP_WITHIN);
        for last_resort in ["TERM", "KILL"] {
            if !empty {
                signal(&group, last_resort);
                empty = wait_until_empty(self.group, STOP_WITHIN);
            }
        }
        // Reaped only now: until then its pid, the group's id, cannot be given to another.
        let _ = self.cage.kill();
        let _ = self.cage.wait();
        empty
    }
}

impl Drop for Kiosk {
    fn drop(&mut self) {
        self.stop();
    }
}

/// cage's output, without the line wlroots 0.15's headless backend logs at every frame.
fn log_tail(folders: &Folders) -> String {
    let log = std::fs::read_to_string(folders.log()).unwrap_or_default();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| !l.contains("Basic output test failed"))
        .collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

fn wayland_socket(runtime: &Path) -> Option<String> {
    std::fs::read_dir(runtime)
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|name| name.starts_with("wayland-") && !name.ends_with(".lock"))
}

fn screenshot(runtime: &Path, socket: &str) -> Result<image::RgbImage, String> {
    let grim = Command::new("grim")
        .arg("-")
        .env_clear()
        .env("XDG_RUNTIME_DIR", runtime)
        .env("WAYLAND_DISPLAY", socket)
        .output()
        .map_err(|e| format!("grim: {e}; the test needs it: {PACKAGES}"))?;
    if !grim.status.success() {
        return Err(format!(
            "grim: {}",
            String::from_utf8_lossy(&grim.stderr).trim()
        ));
    }
    image::load_from_memory_with_format(&grim.stdout, image::ImageFormat::Png)
        .map(|i| i.to_rgb8())
        .map_err(|e| format!("grim's PNG: {e}"))
}

/// Share of the pixels within a small distance of a colour (anti-aliasing, rounding).
fn share(shot: &image::RgbImage, colour: [u8; 3]) -> f64 {
    let near = shot
        .pixels()
        .filter(|p| p.0.iter().zip(colour).all(|(a, b)| a.abs_diff(b) <= 3))
        .count();
    near as f64 / (shot.width() * shot.height()).max(1) as f64
}

/// What the enrollment screen looks like from afar: the theme's background over most of it,
/// the wide primary button «Зареєструвати планшет», dark text.
fn enrollment_screen_drawn(shot: &image::RgbImage) -> Result<(), String> {
    let (background, primary, text) = (
        share(shot, BACKGROUND),
        share(shot, PRIMARY),
        share(shot, TEXT),
    );
    let summary = format!(
        "{}×{}: background {:.1}%, primary {:.2}%, text {:.2}%",
        shot.width(),
        shot.height(),
        background * 100.0,
        primary * 100.0,
        text * 100.0
    );
    if shot.width() >= 640
        && shot.height() >= 480
        && background > 0.25
        && primary > 0.02
        && text > 0.001
    {
        Ok(())
    } else {
        Err(summary)
    }
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").unwrap().uid() == 0
}

#[test]
fn kiosk_unit_starts_cage_and_the_app_draws_its_first_screen() {
    let user = running_as_root().then_some(UNPRIVILEGED);
    let folders = Folders::new(user);
    let unit = std::fs::read_to_string(UNIT).unwrap();
    let command = exec_start(&unit, &folders);
    let env = environment(&unit, &folders);
    assert!(
        Path::new(&command[0]).exists(),
        "{} is missing: {PACKAGES}",
        command[0]
    );

    let started = Instant::now();
    let mut kiosk = Kiosk::start(&command, &env, &folders, user);
    let mut last = String::from("no Wayland socket yet");
    let shot = loop {
        if let Some(status) = kiosk.cage.try_wait().unwrap() {
            panic!(
                "cage exited ({status}) before the app's first screen:\n{}",
                log_tail(&folders)
            );
        }
        assert!(
            started.elapsed() < FIRST_SCREEN_WITHIN,
            "no enrollment screen on cage's output within {FIRST_SCREEN_WITHIN:?} ({last}):\n{}",
            log_tail(&folders)
        );
        if let Some(socket) = wayland_socket(&folders.runtime) {
            match screenshot(&folders.runtime, &socket) {
                Ok(shot) => match enrollment_screen_drawn(&shot) {
                    Ok(()) => break shot,
                    Err(summary) => {
                        // Kept for a person to look at when the wait runs out.
                        let _ = shot.save(
                            Path::new(env!("CARGO_TARGET_TMPDIR")).join("kiosk-last-screen.png"),
                        );
                        last = summary;
                    }
                },
                Err(e) => last = e,
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let first_screen = started.elapsed();
    let saved = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kiosk-first-screen.png");
    shot.save(&saved).unwrap();
    println!("first screen after {first_screen:?}: {}", saved.display());

    let group = kiosk.group;
    assert!(
        kiosk.stop(),
        "still running after SIGKILL: {:?}",
        live_in_group(group)
    );
    assert!(live_in_group(group).is_empty());
}
