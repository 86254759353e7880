#![allow(clippy::unwrap_used)]
//! A receipt e-mailed through a real SMTP server (Python's aiosmtpd on loopback): while the
//! server is down the receipt waits in the vault; when it is up the applicant gets the same PDF.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use fieldkit_e2e::outgoing::{DrainReport, EMAIL, drain};
use fieldkit_receipt::mail::{MailSecurity, MailSettings};
use fieldkit_receipt::{render_pdf, withdrawal_receipt};
use fieldkit_vault::{Clock, Vault, VaultOptions};

struct TestClock(AtomicI64);
impl Clock for TestClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_smtp(port: u16, maildir: &std::path::Path) -> Server {
    let child = Command::new("python3")
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-c",
            "aiosmtpd.handlers.Mailbox",
        ])
        .arg(maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 with aiosmtpd (tests/run.sh installs it)");
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "aiosmtpd did not start (pip install aiosmtpd)"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

#[test]
fn receipt_waits_while_mail_is_down_and_reaches_the_applicant_when_it_is_up() {
    let pdf = render_pdf(
        &withdrawal_receipt(
            "LV01/T07/2026/000123-5",
            "особисте рішення",
            "01.12.2026",
            "Коваленко О. П.",
        ),
        &[],
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(TestClock(AtomicI64::new(5_000)));
    let mut vault = Vault::create(
        &dir.path().join("vault.sqlite"),
        "Адміністратор",
        "пароль-для-пошти",
        VaultOptions::default(),
        clock.clone(),
    )
    .unwrap();
    vault
        .transaction(|tx| {
            tx.enqueue_outgoing(
                EMAIL,
                "maria.shevchenko@example.com",
                "LV01/T07/2026/000123-5",
                &pdf,
            )
        })
        .unwrap();

    let port = free_port();
    let settings = MailSettings {
        host: "127.0.0.1".into(),
        port,
        security: MailSecurity::None,
        username: None,
        password: None,
        from: "ЦНАП м. Львова <cnap@example.lviv.ua>".into(),
        timeout: Duration::from_secs(5),
    };

    // Nobody listens yet: the receipt stays queued.
    assert_eq!(
        drain(&mut vault, Some(&settings)).unwrap(),
        DrainReport {
            sent: 0,
            failed: 1,
            waiting: 1
        }
    );

    let maildir = dir.path().join("maildir");
    let _server = start_smtp(port, &maildir);
    clock.0.fetch_add(60, Ordering::SeqCst);
    assert_eq!(
        drain(&mut vault, Some(&settings)).unwrap(),
        DrainReport {
            sent: 1,
            failed: 0,
            waiting: 0
        }
    );

    // Read the delivered message with Python's own e-mail parser: headers and attachment.
    let attachment = dir.path().join("attachment.pdf");
    let script = r#"
import email, email.policy, mailbox, sys
box = mailbox.Maildir(sys.argv[1], create=False)
messages = [email.message_from_bytes(m.as_bytes(), policy=email.policy.default) for m in box]
assert len(messages) == 1, len(messages)
m = messages[0]
print(m["To"])
print(m["Subject"])
for part in m.iter_attachments():
    print(part.get_filename())
    open(sys.argv[2], "wb").write(part.get_content())
"#;
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&maildir)
        .arg(&attachment)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let headers = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = headers.lines().collect();
    assert_eq!(lines[0], "maria.shevchenko@example.com");
    assert_eq!(
        lines[1],
        "Справа LV01/T07/2026/000123-5: опис документів / case LV01/T07/2026/000123-5: inventory"
    );
    assert_eq!(lines[2], "opys-LV01-T07-2026-000123-5.pdf");
    assert_eq!(std::fs::read(&attachment).unwrap(), pdf);
}

/// An SMTP server that refuses every recipient the way Postfix does, quoting the address back.
fn start_rejecting_smtp(port: u16) -> Server {
    let script = r#"
import signal, sys
from aiosmtpd.controller import Controller
class RefuseEveryone:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in virtual mailbox table"
controller = Controller(RefuseEveryone(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
signal.pause()
"#;
    let child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 with aiosmtpd (tests/run.sh installs it)");
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the rejecting SMTP server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The planted-canary check for the outgoing queue: a real mail server refuses the applicant's
/// address and quotes it in its answer; the queue keeps the error, in a column that is not
/// encrypted, with the address redacted. No byte of any file the vault wrote (database, WAL,
/// shared memory, display key) holds the address, with the vault open or locked.
#[test]
fn a_refused_recipient_s_address_never_reaches_the_vault_in_clear() {
    const ADDRESS: &str = "maria.shevchenko@example.com";
    let dir = tempfile::tempdir().unwrap();
    let vault_path = dir.path().join("vault.sqlite");
    let clock = Arc::new(TestClock(AtomicI64::new(5_000)));
    let mut vault = Vault::create(
        &vault_path,
        "Адміністратор",
        "пароль-для-пошти",
        VaultOptions::default(),
        clock,
    )
    .unwrap();
    vault
        .transaction(|tx| {
            tx.enqueue_outgoing(EMAIL, ADDRESS, "LV01/T07/2026/000123-5", b"%PDF-1.7")
        })
        .unwrap();
    let port = free_port();
    let _server = start_rejecting_smtp(port);
    let settings = MailSettings {
        host: "127.0.0.1".into(),
        port,
        security: MailSecurity::None,
        username: None,
        password: None,
        from: "ЦНАП м. Львова <cnap@example.lviv.ua>".into(),
        timeout: Duration::from_secs(5),
    };

    assert_eq!(
        drain(&mut vault, Some(&settings)).unwrap(),
        DrainReport {
            sent: 0,
            failed: 1,
            waiting: 1
        }
    );

    // The server's answer was kept, so the administrator sees why: the refusal, not the address.
    let raw = rusqlite::Connection::open(&vault_path).unwrap();
    let error: String = raw
        .query_row("SELECT last_error FROM outgoing", [], |r| r.get(0))
        .unwrap();
    drop(raw);
    assert!(
        error.contains("Recipient address rejected") && error.contains("<e-mail>"),
        "{error}"
    );

    let needles: [&[u8]; 3] = [ADDRESS.as_bytes(), b"maria.shevchenko", b"shevchenko@"];
    let search = |moment: &str| {
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            for needle in needles {
                assert!(
                    !contains(&bytes, needle),
                    "{moment}: {} found in clear in {}",
                    String::from_utf8_lossy(needle),
                    path.display()
                );
            }
        }
    };
    assert!(
        std::fs::metadata(dir.path().join("vault.sqlite-wal"))
            .unwrap()
            .len()
            > 0
    );
    search("vault open");
    drop(vault.lock());
    search("vault locked");
}
