#![allow(clippy::unwrap_used)]
//! No personal data, image or signature is stored in clear: plant known strings and bytes
//! through the API and search every byte the vault wrote, with the vault open and closed.

mod common;
use common::*;

const NAME: &str = "Шевченко Тарас Григорович";
const TAX_NUMBER: &str = "3012345678";
/// A consultation's question (regulation 2.36): it tells of the person's circumstances.
const QUESTION: &str = "Чи можна оформити субсидію, якщо син живе окремо?";
/// What the unlock screen shows for the administrator: on screen, but never in a file in clear.
const DISPLAY_NAME: &str = "Олена К., мобільна група";
const EMAIL: &str = "taras.shevchenko@example.com";
const PHONE: &str = "+380671234567";

fn page_image() -> Vec<u8> {
    // A distinctive 64 KiB pattern that no encryption would produce by chance.
    (0..65_536u32)
        .map(|i| ((i * 31 + i / 251) % 253) as u8)
        .collect()
}

fn planted_needles() -> Vec<(String, Vec<u8>)> {
    let mut needles = vec![
        ("name (UTF-8)".to_string(), NAME.as_bytes().to_vec()),
        (
            "surname (UTF-8)".to_string(),
            "Шевченко".as_bytes().to_vec(),
        ),
        (
            "name (UTF-16LE)".to_string(),
            NAME.encode_utf16().flat_map(|u| u.to_le_bytes()).collect(),
        ),
        (
            "name (UTF-16BE)".to_string(),
            NAME.encode_utf16().flat_map(|u| u.to_be_bytes()).collect(),
        ),
        ("tax number".to_string(), TAX_NUMBER.as_bytes().to_vec()),
        (
            "consultation question".to_string(),
            QUESTION.as_bytes().to_vec(),
        ),
        (
            "a word of the question".to_string(),
            "субсидію".as_bytes().to_vec(),
        ),
        ("administrator".to_string(), "Коваленко".as_bytes().to_vec()),
        (
            "display name (UTF-8)".to_string(),
            DISPLAY_NAME.as_bytes().to_vec(),
        ),
        (
            "display name (UTF-16LE)".to_string(),
            DISPLAY_NAME
                .encode_utf16()
                .flat_map(|u| u.to_le_bytes())
                .collect(),
        ),
        ("e-mail address".to_string(), EMAIL.as_bytes().to_vec()),
        (
            "e-mail's local part".to_string(),
            b"taras.shevchenko".to_vec(),
        ),
        ("phone".to_string(), PHONE.as_bytes().to_vec()),
        ("phone's last digits".to_string(), b"1234567".to_vec()),
    ];
    let image = page_image();
    for offset in [0usize, 1_000, 20_000, 40_000, 65_000] {
        needles.push((
            format!("image window at {offset}"),
            image[offset..offset + 32].to_vec(),
        ));
    }
    needles
}

fn assert_nothing_in_clear(dir: &std::path::Path, moment: &str) {
    let files = all_files_bytes(dir);
    assert!(!files.is_empty());
    for (path, bytes) in &files {
        for (what, needle) in planted_needles() {
            assert!(
                !contains(bytes, &needle),
                "{moment}: {what} found in clear in {}",
                path.display()
            );
        }
    }
}

#[test]
fn planted_personal_data_never_appears_in_any_file() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_790_000_000);
    let mut vault = create(dir.path(), clock.clone());
    let record = format!(r#"{{"applicant":"{NAME}","rnokpp":"{TAX_NUMBER}"}}"#);
    vault
        .put_draft("case-0001", "draft", record.as_bytes())
        .unwrap();
    vault
        .put_blob("case-0001", "page", 0, &page_image())
        .unwrap();
    vault
        .put_blob("case-0001", "signature", 1, NAME.as_bytes())
        .unwrap();
    vault
        .put_setting("last_applicant", NAME.as_bytes())
        .unwrap();
    let consultation = format!(r#"{{"service":"00004","question":"{QUESTION}"}}"#);
    let consultation_id = vault
        .transaction(|tx| tx.put_consultation(consultation.as_bytes()))
        .unwrap();
    let slot = vault.slot().clone();
    vault.set_display_name(&slot, DISPLAY_NAME).unwrap();
    // A receipt that could not go: the mail server's and the SMS gateway's answers quote the
    // recipient, and the queue keeps the last error in a column that is not encrypted.
    vault
        .transaction(|tx| {
            let email = tx.enqueue_outgoing("email", EMAIL, "LV01/T07/2026/000123-5", b"%PDF")?;
            tx.mark_outgoing_failed(
                &email,
                &format!(
                    "permanent error (550): 5.1.1 <{EMAIL}>: Recipient address rejected: {NAME}"
                ),
            )?;
            let sms = tx.enqueue_outgoing("sms", PHONE, "LV01/T07/2026/000123-5", b"text")?;
            tx.mark_outgoing_failed(&sms, &format!("gateway refused {PHONE} ({NAME})"))?;
            Ok(())
        })
        .unwrap();

    // The errors are kept for the administrator, with what they quoted redacted.
    let raw = rusqlite::Connection::open(common::vault_path(dir.path())).unwrap();
    let errors: Vec<String> = raw
        .prepare("SELECT last_error FROM outgoing ORDER BY kind")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        errors,
        [
            "permanent error (550): 5.1.1 <<e-mail>>: Recipient address rejected: <name>",
            "gateway refused <number> (<name>)",
        ]
    );
    drop(raw);

    // Open: the WAL holds the latest pages.
    let wal = common::vault_path(dir.path()).with_extension("sqlite-wal");
    assert!(
        std::fs::metadata(&wal).unwrap().len() > 0,
        "the WAL should hold the writes"
    );
    assert_nothing_in_clear(dir.path(), "vault open");

    // The data is really there, readable only through the vault.
    assert_eq!(
        &vault.get_draft("case-0001").unwrap()[..],
        record.as_bytes()
    );
    let kept = vault.transaction(|tx| tx.consultations()).unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].consultation_id, consultation_id);
    assert_eq!(&kept[0].record[..], consultation.as_bytes());

    let locked = vault.lock();
    assert_nothing_in_clear(dir.path(), "vault closed");
    assert_eq!(
        locked.slots().unwrap()[0].display_name.as_deref(),
        Some(DISPLAY_NAME),
        "the locked vault gives the unlock screen its display name"
    );
    assert!(
        all_files_bytes(dir.path()).len() > 1,
        "the display key is a file of its own beside the vault"
    );
}
