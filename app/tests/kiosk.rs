#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The kiosk really starts: the tablet unit's `ExecStart=` (cage, and the app inside it) runs
//! here on wlroots' headless backend — no GPU, no screen — with a fresh data folder, and the
//! app's first screen («Налаштування планшета», enrollment) is on cage's output: a screenshot
//! taken with `grim` through cage's Wayland socket shows its colours. The demo started the same
//! way shows its notice above the unlock screen's heading, not over it. That the app fills the
//! whole output (no black band at the bottom) is checked by an ignored test: not fixed yet.
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
/// The border and text of a notice that is not an error (Theme.ok).
const OK: [u8; 3] = [0x17, 0x61, 0x2a];
const BLACK: [u8; 3] = [0, 0, 0];

/// How many rows at the bottom of the output are checked for a black band: a window made a
/// title bar (35 px) shorter than the output leaves that many rows of cage's black background.
const BOTTOM_ROWS: u32 = 8;

/// Two cages at once would race for Xwayland's display number: one kiosk at a time.
static ONE_KIOSK_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

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

fn near(pixel: &image::Rgb<u8>, colour: [u8; 3]) -> bool {
    pixel.0.iter().zip(colour).all(|(a, b)| a.abs_diff(b) <= 3)
}

/// Share of the pixels within a small distance of a colour (anti-aliasing, rounding).
fn share(shot: &image::RgbImage, colour: [u8; 3]) -> f64 {
    let near = shot.pixels().filter(|p| near(p, colour)).count();
    near as f64 / (shot.width() * shot.height()).max(1) as f64
}

/// The app draws to the output's last row: its bottom rows are not cage's black background.
fn no_black_band_at_the_bottom(shot: &image::RgbImage) -> Result<(), String> {
    let rows = BOTTOM_ROWS.min(shot.height());
    let black_rows: Vec<u32> = (shot.height() - rows..shot.height())
        .filter(|&y| (0..shot.width()).all(|x| near(shot.get_pixel(x, y), BLACK)))
        .collect();
    if black_rows.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}×{}: rows {black_rows:?} are all black: the app's window is shorter than the output",
            shot.width(),
            shot.height()
        ))
    }
}

/// First and last row, within the columns `columns`, holding a pixel of `colour`.
fn rows_with(
    shot: &image::RgbImage,
    colour: [u8; 3],
    columns: std::ops::Range<u32>,
) -> Option<(u32, u32)> {
    let rows: Vec<u32> = (0..shot.height())
        .filter(|&y| {
            columns
                .clone()
                .any(|x| x < shot.width() && near(shot.get_pixel(x, y), colour))
        })
        .collect();
    Some((*rows.first()?, *rows.last()?))
}

/// The demo's unlock screen: the notice (ok-green border and text) on top, the heading «Хто
/// працює?» (the first dark text, left of the notice's «OK» button) wholly below it.
fn notice_above_heading(shot: &image::RgbImage) -> Result<(), String> {
    // The notice spans the width but its «OK» button (dark text too) sits at the right end.
    let left = 0..shot.width() * 3 / 4;
    let Some((notice_top, notice_bottom)) = rows_with(shot, OK, left.clone()) else {
        return Err("no notice drawn".to_owned());
    };
    let Some((heading_top, _)) = rows_with(shot, TEXT, left) else {
        return Err("no heading drawn".to_owned());
    };
    if heading_top > notice_bottom {
        Ok(())
    } else {
        Err(format!(
            "the notice (rows {notice_top}–{notice_bottom}) covers the heading (from row {heading_top})"
        ))
    }
}

/// What the enrollment and unlock screens look like from afar: the theme's background over
/// most of it, the wide primary button («Зареєструвати планшет», «Розблокувати»), dark text.
fn first_screen_drawn(shot: &image::RgbImage) -> Result<(), String> {
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

/// Starts the kiosk unit's command (with `extra` arguments after the app's own), waits until
/// `drawn` accepts a screenshot of cage's output, stops everything and returns that screenshot
/// (also saved as `name`.png in the test's folder).
fn kiosk_screenshot(
    extra: &[&str],
    drawn: fn(&image::RgbImage) -> Result<(), String>,
    name: &str,
) -> image::RgbImage {
    let _alone = ONE_KIOSK_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let user = running_as_root().then_some(UNPRIVILEGED);
    let folders = Folders::new(user);
    let unit = std::fs::read_to_string(UNIT).unwrap();
    let mut command = exec_start(&unit, &folders);
    command.extend(extra.iter().map(|&a| a.to_owned()));
    let env = environment(&unit, &folders);
    assert!(
        Path::new(&command[0]).exists(),
        "{} is missing: {PACKAGES}",
        command[0]
    );

    let started = Instant::now();
    let mut kiosk = Kiosk::start(&command, &env, &folders, user);
    let mut last = String::from("no Wayland socket yet");
    let kept = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-last.png"));
    let shot = loop {
        if let Some(status) = kiosk.cage.try_wait().unwrap() {
            panic!(
                "cage exited ({status}) before the app's first screen:\n{}",
                log_tail(&folders)
            );
        }
        assert!(
            started.elapsed() < FIRST_SCREEN_WITHIN,
            "no first screen on cage's output within {FIRST_SCREEN_WITHIN:?} ({last}, {}):\n{}",
            kept.display(),
            log_tail(&folders)
        );
        if let Some(socket) = wayland_socket(&folders.runtime) {
            match screenshot(&folders.runtime, &socket) {
                Ok(shot) => match drawn(&shot) {
                    Ok(()) => break shot,
                    Err(summary) => {
                        // Kept for a person to look at when the wait runs out.
                        let _ = shot.save(&kept);
                        last = summary;
                    }
                },
                Err(e) => last = e,
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let first_screen = started.elapsed();
    let saved = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.png"));
    shot.save(&saved).unwrap();
    println!("first screen after {first_screen:?}: {}", saved.display());

    let group = kiosk.group;
    assert!(
        kiosk.stop(),
        "still running after SIGKILL: {:?}",
        live_in_group(group)
    );
    assert!(live_in_group(group).is_empty());
    shot
}

#[test]
fn kiosk_unit_starts_cage_and_the_app_draws_its_first_screen() {
    kiosk_screenshot(&[], first_screen_drawn, "kiosk-first-screen");
}

/// Fails today: under cage 0.1.4 winit draws its own window frame (cage offers no server-side
/// decorations) and makes the window one title bar (35 px, sctk-adwaita's header) shorter than
/// the output, its header off screen above and cage's black background below. Hiding the frame
/// (`no-frame`) gives the right size, but cage's headless output then kept showing the app's
/// first frame (a notice set later never appeared), so that is not the fix either; fullscreen
/// is ignored by cage 0.1.4. cage's `-d` (server-side decorations) gave the whole output in one
/// run of three here; in the other two the app kept its first layout, taller than the output,
/// with the primary button below the screen: the same missed redraw after cage's configure.
/// Run it with `--ignored` when trying a fix.
#[test]
#[ignore = "issue #15: the 35 px band under cage is not fixed yet (see the comment)"]
fn kiosk_fills_the_whole_output() {
    let shot = kiosk_screenshot(&[], first_screen_drawn, "kiosk-whole-output");
    if let Err(band) = no_black_band_at_the_bottom(&shot) {
        panic!("{band}");
    }
}

#[test]
fn demo_in_the_kiosk_shows_its_notice_above_the_heading() {
    // The demo's notice (its passphrase) is on screen from the start, over the unlock screen.
    let shot = kiosk_screenshot(
        &["--demo"],
        |shot| {
            first_screen_drawn(shot)?;
            rows_with(shot, OK, 0..shot.width())
                .map(|_| ())
                .ok_or_else(|| "no notice yet".to_owned())
        },
        "kiosk-demo-unlock",
    );
    if let Err(overlap) = notice_above_heading(&shot) {
        panic!("{overlap}");
    }
}
