#![allow(clippy::unwrap_used)]
//! A whole visit through the screens, headless, against real parts: enrollment on a real
//! sync-server on loopback (mutual TLS), unlock with a wrong passphrase first, a planned visit
//! from the centre, the service found by search, the applicant with a wrong РНОКПП corrected,
//! pages from SANE's test scanner and from a folder with a corrupt file, the form and the
//! conformity conclusion, applicant mode (only the inventory and the pad reachable), both
//! signatures, sealing, the receipt (its tracking code, and a QR to the server's public side as
//! the server told it) printed through a real CUPS queue (tests/cups/setup.sh) and
//! e-mailed to a real mail server that refuses the address and quotes it back, sync, and a
//! status change from the centre.
//!
//! It is also the planted-canary test of a whole visit (issue #16): the applicant's distinctive
//! surname, РНОКПП, address, phone, e-mail and birth date must not be left in clear in any file
//! the visit leaves behind on the tablet — every file under the app's data directory (the
//! vault's database, WAL and shared memory, whatever else the app writes there), the app's
//! temporary directory (the visit runs in a child process whose `TMPDIR` is a folder the test
//! owns; scans pass through there), CUPS's spool files of the jobs the visit printed and its
//! filters' temporary files (read where the test runs as root; otherwise CUPS must no longer
//! know the jobs at all), and the app's own messages on stdout and stderr. PDFs are searched by
//! their text (`pdftotext`), since a PDF's text is not its bytes. The printer's output (the
//! paper the applicant takes home) is not the tablet's: the test takes it out of the test
//! queue's folder and deletes it.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use fieldkit_app::ui::{App, Screen};
use fieldkit_receipt::mail::{MailSecurity, MailSettings};
use fieldkit_sync_server::local::LocalServer;
use fieldkit_sync_server::store::MetadataStore;
use i_slint_backend_testing::{AccessibleRole, ElementQuery};
use slint::ComponentHandle;

/// The planted applicant: values found nowhere else in the workspace's tests, so a hit is
/// this visit's and no other test's.
const SURNAME: &str = "Кривоносенко";
const RNOKPP: &str = "1687573840";
const BIRTH_DATE: &str = "15.03.1946";
const ADDRESS: &str = "м. Львів, вул. Джерельна, 47, кв. 19";
const STREET: &str = "Джерельна";
const PHONE: &str = "067 765 43 21";
const EMAIL: &str = "kryvonosenko.maria@example.com";

/// The visit runs in a child process of this test (so that its `TMPDIR` is the test's own).
const CHILD: &str = "FIELDKIT_VISIT_CHILD";
/// The CUPS queue of the workspace's tests and the folder its backend writes the paper into.
const TEST_PRINTER: &str = "fieldkit-test";
const TEST_PAPER: &str = "/var/tmp/fieldkit-print";

/// What must not be found in clear, with a name for the message.
fn needles() -> Vec<(String, Vec<u8>)> {
    let mut needles: Vec<(String, Vec<u8>)> = [
        ("surname", SURNAME),
        ("РНОКПП", RNOKPP),
        ("birth date", BIRTH_DATE),
        ("street", STREET),
        ("phone", PHONE),
        ("phone, digits only", "0677654321"),
        ("phone, international", "380677654321"),
        ("e-mail", EMAIL),
        ("e-mail's local part", "kryvonosenko.maria"),
        ("surname in Latin letters", "kryvonosenko"),
    ]
    .into_iter()
    .map(|(what, text)| (what.to_owned(), text.as_bytes().to_vec()))
    .collect();
    needles.push((
        "surname (UTF-16LE)".into(),
        SURNAME.encode_utf16().flat_map(u16::to_le_bytes).collect(),
    ));
    needles.push((
        "surname (UTF-16BE)".into(),
        SURNAME.encode_utf16().flat_map(u16::to_be_bytes).collect(),
    ));
    needles
}

/// Where each planted value is found in clear in `bytes` (a PDF by its text too).
fn found_in(bytes: &[u8]) -> Vec<String> {
    let mut text = Vec::new();
    if bytes.starts_with(b"%PDF") {
        let mut child = Command::new("pdftotext")
            .args(["-", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("pdftotext (poppler-utils; tests/run.sh installs it)");
        let mut stdin = child.stdin.take().unwrap();
        let input = bytes.to_vec();
        let writer = std::thread::spawn(move || {
            use std::io::Write;
            let _ = stdin.write_all(&input);
        });
        text = child.wait_with_output().unwrap().stdout;
        writer.join().unwrap();
    }
    needles()
        .into_iter()
        .filter(|(_, needle)| {
            [bytes, &text[..]]
                .iter()
                .any(|hay| hay.windows(needle.len()).any(|w| w == &needle[..]))
        })
        .map(|(what, _)| what)
        .collect()
}

/// Every planted value found in clear in a file under `dir`, as "what in path".
fn leaks_under(dir: &Path) -> Vec<String> {
    raw_bytes(dir)
        .into_iter()
        .flat_map(|(path, bytes)| {
            found_in(&bytes)
                .into_iter()
                .map(move |what| format!("{what} in {}", path.display()))
        })
        .collect()
}

/// The CUPS jobs of the test queue (`<queue>-<number>`) that `lpstat -W <which>` lists.
fn cups_jobs(which: &str) -> Vec<u64> {
    let output = Command::new("lpstat")
        .args(["-W", which, "-o", TEST_PRINTER])
        .output()
        .expect("lpstat (cups-client)");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter_map(|id| id.strip_prefix(&format!("{TEST_PRINTER}-")))
        .filter_map(|n| n.parse().ok())
        .collect()
}

/// The jobs whose paper the test queue's backend has written.
fn paper_jobs() -> Vec<u64> {
    std::fs::read_dir(TEST_PAPER)
        .map(|entries| {
            entries
                .filter_map(|e| {
                    e.ok()?
                        .file_name()
                        .to_str()?
                        .strip_suffix(".job")?
                        .parse()
                        .ok()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// CUPS's spool folder (`RequestRoot` in cups-files.conf, /var/spool/cups by default).
fn cups_spool() -> PathBuf {
    std::fs::read_to_string("/etc/cups/cups-files.conf")
        .ok()
        .and_then(|conf| {
            conf.lines()
                .filter_map(|l| l.trim().strip_prefix("RequestRoot "))
                .map(|p| PathBuf::from(p.trim()))
                .next_back()
        })
        .unwrap_or_else(|| PathBuf::from("/var/spool/cups"))
}

/// An SMTP server that refuses every recipient the way Postfix does, quoting the address back.
struct RefusingMailServer(std::process::Child, u16);

impl RefusingMailServer {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
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
            .args(["-c", script, &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 with aiosmtpd (tests/run.sh installs it)");
        let server = Self(child, port);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the refusing SMTP server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }
}

impl Drop for RefusingMailServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn screen(app: &fieldkit_app::RunningApp) -> Screen {
    app.window.global::<App>().get_screen()
}

/// A swipe (wheel) over the element whose label contains `part`, its animation run to the end.
fn swipe_up_at(app: &fieldkit_app::RunningApp, part: &str, delta_y: f32) {
    let element = find_containing(app, part);
    let (at, size) = (element.absolute_position(), element.size());
    app.window
        .window()
        .dispatch_event(slint::platform::WindowEvent::PointerScrolled {
            position: slint::LogicalPosition::new(
                at.x + size.width / 2.0,
                at.y + size.height / 2.0,
            ),
            delta_x: 0.0,
            delta_y,
        });
    std::thread::sleep(std::time::Duration::from_millis(400));
    slint::platform::update_timers_and_animations();
    app.pump();
}

#[test]
fn a_whole_visit_by_touch() {
    if let Ok(folder) = std::env::var(CHILD) {
        visit(Path::new(&folder));
        return;
    }
    let folder = tempfile::tempdir().unwrap();
    let temporary = folder.path().join("tmp");
    std::fs::create_dir_all(&temporary).unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "a_whole_visit_by_touch", "--nocapture"])
        .env(CHILD, folder.path())
        .env("TMPDIR", &temporary)
        .output()
        .unwrap();
    let said = [&output.stdout[..], &output.stderr[..]].concat();
    println!("{}", String::from_utf8_lossy(&said));
    assert!(
        output.status.success(),
        "the visit failed (its output is above)"
    );

    // What the visit left behind, with the app gone.
    let mut leaks = leaks_under(&folder.path().join("tablet"));
    leaks.extend(leaks_under(&temporary));
    leaks.extend(
        found_in(&said)
            .into_iter()
            .map(|what| format!("{what} in the app's stdout or stderr")),
    );
    let printed: Vec<u64> = std::fs::read_to_string(folder.path().join("printed-jobs"))
        .unwrap()
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    assert!(!printed.is_empty(), "the visit printed through CUPS");
    let spool = cups_spool();
    match std::fs::read_dir(&spool) {
        Ok(entries) => {
            // CUPS's filters' temporary files (TempDir, spool/tmp by default): whatever is
            // there now, since the planted values are this visit's alone.
            leaks.extend(
                leaks_under(&spool.join("tmp"))
                    .into_iter()
                    .map(|leak| format!("{leak} (CUPS's temporary files)")),
            );
            let ours: Vec<String> = printed
                .iter()
                .flat_map(|n| [format!("c{n:05}"), format!("d{n:05}-")])
                .collect();
            for entry in entries {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if !ours
                    .iter()
                    .any(|o| name == *o || (o.ends_with('-') && name.starts_with(o)))
                {
                    continue;
                }
                let bytes = std::fs::read(&path).unwrap();
                leaks.extend(
                    found_in(&bytes)
                        .into_iter()
                        .map(|what| format!("{what} in CUPS's spool file {}", path.display())),
                );
            }
        }
        Err(error) => {
            // Only root and the lp group read the spool: then CUPS must not know the jobs any
            // more (their files go no later than their history).
            println!(
                "{}: {error}: checking that CUPS forgot the visit's jobs instead",
                spool.display()
            );
            let known = cups_jobs("all");
            for job in &printed {
                if known.contains(job) {
                    leaks.push(format!("CUPS still keeps job {TEST_PRINTER}-{job}"));
                }
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "personal data left behind in clear by a whole visit:\n{}",
        leaks.join("\n")
    );
    let left: Vec<PathBuf> = raw_bytes(&temporary).into_iter().map(|(p, _)| p).collect();
    println!("the app's temporary folder after the visit: {left:?}");
}

/// The visit itself, in the child process.
fn visit(folder: &Path) {
    init_headless();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime
        .block_on(LocalServer::start(&folder.join("server"), now))
        .unwrap();
    server.enroll_code("CODE-0001", now()).unwrap();

    let data = folder.join("tablet");
    let mut config = config(&data);
    config.server_ca = Some(server.server_ca.clone());
    config.printer = TEST_PRINTER.into();
    let mail = RefusingMailServer::start();
    config.mail = Some(MailSettings {
        host: "127.0.0.1".into(),
        port: mail.1,
        security: MailSecurity::None,
        username: None,
        password: None,
        from: "ЦНАП м. Львова <cnap@example.lviv.ua>".into(),
        timeout: Duration::from_secs(10),
    });
    let app = open(config, 1920.0, 1200.0);
    fieldkit_app::i18n::apply(fieldkit_app::i18n::Lang::Uk);

    // First run: enrollment, in Ukrainian.
    assert_eq!(screen(&app), Screen::Enroll);
    type_into(&app, "Адреса сервера", &server.url);
    type_into(&app, "Одноразовий код", "CODE-0001");
    type_into(&app, "Назва планшета", "T07");
    type_into(&app, "ПІБ адміністратора", "Коваленко Олена Петрівна");
    type_into(&app, "Ім'я на екрані входу", "Олена К.");
    type_into(&app, "Нова парольна фраза", "довга-парольна-фраза");
    type_into(&app, "Парольна фраза ще раз", "інша-фраза-зовсім");
    tap(&app, "Зареєструвати планшет");
    assert!(
        has(&app, "Парольні фрази не збігаються."),
        "mismatched passphrases are refused: {:?}",
        labels(&app)
    );
    type_into(&app, "Парольна фраза ще раз", "довга-парольна-фраза");
    tap(&app, "Зареєструвати планшет");
    wait_for(&app, "enrollment", |app| screen(app) == Screen::Today);

    // Lock, a wrong passphrase (clear error, still locked), then the right one.
    tap(&app, "Заблокувати");
    assert_eq!(screen(&app), Screen::Unlock);
    type_into(&app, "Парольна фраза", "не-та-фраза");
    tap(&app, "Розблокувати");
    assert!(
        has_containing(&app, "Неправильна парольна фраза"),
        "{:?}",
        labels(&app)
    );
    assert_eq!(screen(&app), Screen::Unlock);
    type_into(&app, "Парольна фраза", "довга-парольна-фраза");
    tap(&app, "Розблокувати");
    assert_eq!(screen(&app), Screen::Today);

    // The centre plans a visit; it reaches Today with the next sync.
    let visit = serde_json::json!({"time": "2026-11-25 10:00", "place": "home", "address": ADDRESS, "applicant": format!("{SURNAME} Марія Іванівна"), "services": ["00001"]});
    server
        .meta
        .plan_visit("T07", &visit.to_string(), now())
        .unwrap();
    tap(&app, "Налаштування");
    tap(&app, "Синхронізувати зараз");
    tap(&app, "Назад");
    wait_for(&app, "the planned visit", |app| {
        has(app, "Почати виїзд 2026-11-25 10:00")
    });

    // A new visit; the service found by search, its card read, chosen.
    tap(&app, "Новий виїзд");
    assert_eq!(screen(&app), Screen::Service);
    tap(&app, "Пошук");
    type_into(&app, "Слова з назви послуги", "декларування");
    tap(&app, "Декларування місця проживання");
    assert!(
        has_containing(&app, "Строк:"),
        "the information card is shown"
    );
    // The fee's payment details, and (after a swipe down the card) whom to contact, when: the
    // provider and the centre.
    for line in [
        "Платіжні реквізити",
        "Отримувач: Демо-отримувач адміністративних зборів (демо, вигаданий рахунок)",
        "IBAN: UA989999990000026007233566001",
        "Код отримувача (ЄДРПОУ/РНОКПП): 12345678",
        "Призначення платежу: Адміністративний збір за декларування місця проживання (демо)",
    ] {
        assert!(
            has_containing(&app, line),
            "{line:?} on the card: {:?}",
            labels(&app)
        );
    }
    swipe_up_at(&app, "Плата: 34,00 грн", -3000.0);
    for line in [
        "Суб'єкт надання: контакти й графік роботи",
        "Графік роботи: Пн–Чт 09:00–18:00, Пт 09:00–16:45, обідня перерва 13:00–13:45",
        "Ел. пошта: residence@example.lviv.ua",
        "ЦНАП: контакти й графік роботи",
        "Вебсайт: https://example.lviv.ua/cnap",
    ] {
        assert!(
            has_containing(&app, line),
            "{line:?} on the card: {:?}",
            labels(&app)
        );
    }
    tap(&app, "Подати заяву на цю послугу");
    assert_eq!(screen(&app), Screen::Applicant);

    // The applicant: a mistyped РНОКПП is caught and shown under its field.
    type_into(&app, "Прізвище", SURNAME);
    type_into(&app, "Ім'я", "Марія");
    type_into(&app, "По батькові", "Іванівна");
    type_into(&app, "РНОКПП (податковий номер)", "1687545621");
    type_into(&app, "Дата народження (ДД.ММ.РРРР)", BIRTH_DATE);
    type_into(&app, "Адреса", ADDRESS);
    type_into(&app, "Мобільний телефон", PHONE);
    type_into(&app, "Електронна пошта", EMAIL);
    tap(&app, "Далі: документи");
    assert_eq!(
        screen(&app),
        Screen::Applicant,
        "a wrong РНОКПП stops the visit here"
    );
    assert!(has(&app, "Перевірте позначені поля."));
    type_into(&app, "РНОКПП (податковий номер)", RNOKPP);
    tap(&app, "Далі: документи");
    assert_eq!(screen(&app), Screen::Documents);
    // The fee is asked before anything is counted; paid later, no payment document is due.
    assert!(has(&app, "Дайте відповідь щодо умов: 1"));
    tap(&app, "Пізніше");
    assert!(has_containing(&app, "Бракує документів: 2"));

    // Pages: the declaration from SANE's test scanner (feeder, 3 pages), the passport from a
    // folder that also holds a corrupt file.
    tap_containing(&app, "Декларація про місце проживання");
    tap(&app, "Подавач: вимк.");
    tap(&app, "Сканувати");
    wait_for(&app, "the scan", |app| {
        has_containing(
            app,
            "Декларація про місце проживання (за формою, встановленою КМУ) — 3 арк.",
        )
    });
    let import = folder.join("import");
    std::fs::create_dir_all(&import).unwrap();
    let page = image::GrayImage::from_fn(1240, 1754, |x, y| {
        image::Luma([if (x / 40 + y / 40) % 7 == 0 { 30 } else { 240 }])
    });
    page.save(import.join("a-passport.png")).unwrap();
    std::fs::write(import.join("b-broken.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    tap_containing(&app, "Паспорт громадянина України");
    type_into(&app, "Тека для імпорту", import.to_str().unwrap());
    tap(&app, "Імпорт із теки");
    wait_for(&app, "the import", |app| {
        has_containing(
            app,
            "Паспорт громадянина України або інший документ, що посвідчує особу — 1 арк.",
        )
    });
    assert!(
        has_containing(&app, "Файл b-broken.png не прийнято"),
        "the corrupt file is named: {:?}",
        labels(&app)
    );
    assert!(has(&app, "Документи є; ще вирішиться в заяві умов: 1"));

    // The form: required fields, then the conformity conclusion computed from the checklist.
    tap(&app, "Далі: заява");
    assert_eq!(screen(&app), Screen::Form);
    tap(&app, "Далі: повідомлення і отримання");
    assert!(
        has_containing(&app, "Заповніть:"),
        "required form fields are enforced"
    );
    type_into(
        &app,
        "Попереднє місце проживання *",
        "м. Київ, вул. Садова, 1",
    );
    type_into(&app, "Адреса житла, яке декларується *", ADDRESS);
    tap(&app, "власник");
    assert!(has(
        &app,
        "Обчислено: пакет відповідає інформаційній картці."
    ));
    tap(&app, "Далі: повідомлення і отримання");
    assert_eq!(screen(&app), Screen::Choices);
    tap(&app, "Далі: опис і підписи");
    assert_eq!(screen(&app), Screen::Sign);
    assert!(
        has_containing(&app, SURNAME),
        "the inventory names the applicant"
    );

    // Applicant mode: nothing but the inventory and the pad.
    tap(&app, "Передати планшет заявнику на підпис");
    let buttons: Vec<String> = ElementQuery::from_root(&app.window)
        .match_accessible_role(AccessibleRole::Button)
        .find_all()
        .iter()
        .filter_map(|e| e.accessible_label().map(|l| l.to_string()))
        .collect();
    assert_eq!(
        buttons,
        [
            "Назад",
            "Далі",
            "Менше",
            "Більше",
            "Очистити",
            "Підписати",
            "Адміністратор"
        ],
        "applicant mode offers only the pages, the text size, the pad and the way back"
    );
    for hidden in [
        "Заблокувати",
        "Сьогодні",
        "Клавіатура",
        "Запечатати справу",
        "Справи",
    ] {
        assert!(
            !has(&app, hidden),
            "{hidden} must not be reachable in applicant mode"
        );
    }
    tap(&app, "Підписати");
    assert!(
        has_containing(&app, "Підпис порожній"),
        "an empty pad is refused"
    );
    draw_signature(&app, "Підпис заявника");
    tap(&app, "Підписати");
    assert!(has(
        &app,
        "Дякуємо! Поверніть, будь ласка, планшет адміністратору."
    ));
    tap(&app, "Адміністратор");
    type_into(&app, "Парольна фраза адміністратора", "вгадую-пароль");
    tap(&app, "Повернути адміністратору");
    assert!(
        app.window.global::<App>().get_applicant_mode(),
        "a wrong passphrase keeps applicant mode"
    );
    type_into(
        &app,
        "Парольна фраза адміністратора",
        "довга-парольна-фраза",
    );
    tap(&app, "Повернути адміністратору");
    assert!(!app.window.global::<App>().get_applicant_mode());
    draw_signature(&app, "Підпис адміністратора");
    tap(&app, "Підписати як адміністратор");
    tap(&app, "Запечатати справу");
    assert_eq!(screen(&app), Screen::Receipt);
    let number = find_containing(&app, "Номер справи ")
        .accessible_label()
        .unwrap()
        .replace("Номер справи ", "");
    assert!(has(&app, "QR-код відстеження"));
    // The receipt's tracking code in large type, and its QR: the server's public address and
    // the code in its canonical form (no hyphens); the case number opens nothing.
    let code = tracking_code_on_screen(&app);
    assert!(
        has_containing(&app, &format!("Код відстеження {code}")),
        "shown in groups of four: {:?}",
        labels(&app)
    );
    // The server has a public side and tells the tablet its address at every sync.
    let qr = qr_codes_on_screen(&app);
    assert_eq!(
        qr,
        [format!("{}/t/{}", server.public_url, code.canonical())]
    );
    assert!(!qr[0].contains(&number), "{qr:?}");

    // The receipt by e-mail: the mail server refuses the address and quotes it; the copy waits
    // in the outgoing queue with the error, and the error is kept without the address.
    type_into(&app, "Електронна пошта заявника", EMAIL);
    tap(&app, "Надіслати квитанцію поштою");
    assert!(
        has_containing(&app, "Не вдалося зараз; у черзі: "),
        "{:?}",
        labels(&app)
    );
    // On paper, through CUPS: the applicant's copies (the application, the inventory), one job
    // each. The test queue's backend writes each job's paper as <job>.job; this visit's are the
    // ones naming the planted applicant (other tests may print to the same queue meanwhile).
    let paper = |job: u64| Path::new(TEST_PAPER).join(format!("{job}.job"));
    let before = paper_jobs();
    tap(&app, "Надрукувати квитанцію");
    let deadline = Instant::now() + Duration::from_secs(30);
    let printed = loop {
        let ours: Vec<u64> = paper_jobs()
            .into_iter()
            .filter(|job| !before.contains(job))
            .filter(|job| {
                std::fs::read(paper(*job))
                    .is_ok_and(|pdf| found_in(&pdf).contains(&"surname".to_owned()))
            })
            .collect();
        if ours.len() >= 2 {
            break ours;
        }
        assert!(
            Instant::now() < deadline,
            "the receipt did not come out of CUPS ({TEST_PRINTER}: is tests/cups/setup.sh run?)"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    // The paper went home with the applicant; CUPS finishes the jobs.
    for job in &printed {
        std::fs::remove_file(paper(*job)).unwrap();
    }
    while cups_jobs("not-completed")
        .iter()
        .any(|job| printed.contains(job))
    {
        assert!(
            Instant::now() < deadline,
            "CUPS did not finish the receipt's jobs"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let printed: Vec<String> = printed.iter().map(u64::to_string).collect();
    std::fs::write(folder.join("printed-jobs"), printed.join(" ")).unwrap();

    // Sync: the envelope reaches the server; then the centre's decision comes back.
    tap(&app, "Завершити виїзд");
    wait_for(&app, "delivery", |app| has(app, "Усе доставлено"));
    server
        .meta
        .add_status_event(
            &number,
            fieldkit_domain::workflow::CaseState::Issued,
            None,
            now(),
        )
        .unwrap();
    tap(&app, "Налаштування");
    tap(&app, "Синхронізувати зараз");
    wait_for(&app, "the status change", |app| {
        has_containing(app, "нових статусів: 1")
    });
    tap(&app, "Назад");
    tap(&app, "Справи");
    assert!(
        has_containing(
            &app,
            &format!("{number} · 00001 · доставлено · Рішення прийнято: видано")
        ),
        "{:?}",
        labels(&app)
    );
    // A decided case: its result can be handed over, the application no longer withdrawn.
    tap_containing(&app, &format!("{number} · 00001"));
    assert!(has(&app, "Видати результат"), "{:?}", labels(&app));
    assert!(!has(&app, "Записати відкликання"), "{:?}", labels(&app));

    // The decision corrected to a refusal: the provider's reasons reach «Справи».
    server
        .meta
        .add_status_event(
            &number,
            fieldkit_domain::workflow::CaseState::Refused,
            Some("Не подано згоду власника житла"),
            now(),
        )
        .unwrap();
    tap(&app, "Назад");
    tap(&app, "Налаштування");
    tap(&app, "Синхронізувати зараз");
    wait_for(&app, "the refusal", |app| {
        has_containing(app, "нових статусів: 1")
    });
    tap(&app, "Назад");
    tap(&app, "Справи");
    assert!(
        has_containing(
            &app,
            "Рішення прийнято: відмовлено: Не подано згоду власника житла"
        ),
        "{:?}",
        labels(&app)
    );

    // The refusal handed over under the applicant's signature: the hand-over travels as an
    // envelope of its own under the case's number, and the case is still one row, before and
    // after it syncs.
    let rows_of_the_case = |app: &fieldkit_app::RunningApp| {
        labels(app)
            .iter()
            .filter(|l| l.starts_with(&format!("{number} · ")))
            .count()
    };
    // Each row is read twice (the row and its text): what one row counts here.
    let one_row = rows_of_the_case(&app);
    assert!(one_row > 0, "{:?}", labels(&app));
    tap_containing(&app, &format!("{number} · 00001"));
    tap(&app, "Видати результат");
    draw_signature(&app, "Підпис заявника");
    tap(&app, "Підтвердити");
    assert!(
        has_containing(&app, "доповнення чекає на надсилання"),
        "{:?}",
        labels(&app)
    );
    assert_eq!(rows_of_the_case(&app), one_row, "{:?}", labels(&app));
    tap(&app, "Гаразд");
    tap(&app, "Назад");
    tap(&app, "Налаштування");
    tap(&app, "Синхронізувати зараз");
    wait_for(&app, "the hand-over delivered", |app| {
        has(app, "Усе доставлено")
    });
    tap(&app, "Назад");
    tap(&app, "Справи");
    assert!(!has_containing(&app, "доповнення чекає на надсилання"));
    assert_eq!(rows_of_the_case(&app), one_row, "{:?}", labels(&app));

    // Lock: nothing personal on screen; the files are searched when this process has ended.
    tap(&app, "Заблокувати");
    assert!(!has_containing(&app, SURNAME));
    drop(app);
    server.stop();
}
