//! fieldkit-e2e: whole-system walks across the crates, used by the demo binary and the tests.
//! A visit runs here exactly as the tablet will run it: catalog → applicant → documents →
//! conformity → case number → inventory signed → sealed in the vault → opened by the server.
//! Page images are synthetic until the capture crate lands; everything else is the real code.

pub mod outgoing;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use fieldkit_domain::calendar::{WorkCalendar, overdue};
use fieldkit_domain::case::{
    Address, Applicant, CaptureMethod, CapturedDocument, Case, Contact, IdentityDocument,
    IdentityDocumentKind, NaturalPerson, Notification, PageRef, PersonName, ResultDelivery,
    SignatureRef, SignerRole, VisitPlace, VisitPlaceKind,
};
use fieldkit_domain::case_number::CaseNumber;
use fieldkit_domain::catalog::Catalog;
use fieldkit_domain::common::{DocumentForm, RequirementId};
use fieldkit_domain::validators::{MobileNumber, Rnokpp, check_birth_date};
use fieldkit_protocol::{DeviceSigningKey, SealingKeyPair, open, verify_manifest};
use fieldkit_vault::{Clock, SealCase, Vault, VaultOptions};
use ring::digest::{SHA256, digest};
use ring::rand::SystemRandom;
use time::{Date, OffsetDateTime};

/// The demo applicant: a fictional person with a valid РНОКПП for her birth date.
pub const DEMO_APPLICANT: &str = "Шевченко Марія Іванівна";
const DEMO_RNOKPP: &str = "1687545620";
const DEMO_PASSPHRASE: &str = "демо-пароль-адміністратора";

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("catalog: {0}")]
    Catalog(#[from] fieldkit_domain::catalog::CatalogError),
    #[error("calendar: {0}")]
    Calendar(#[from] fieldkit_domain::calendar::CalendarError),
    #[error("validation: {0}")]
    Validation(#[from] fieldkit_domain::validators::ValidationError),
    #[error("case: {0}")]
    Case(#[from] fieldkit_domain::case::CaseError),
    #[error("case number: {0}")]
    CaseNumber(#[from] fieldkit_domain::case_number::CaseNumberError),
    #[error("vault: {0}")]
    Vault(#[from] fieldkit_vault::VaultError),
    #[error("envelope: {0}")]
    Envelope(#[from] fieldkit_protocol::EnvelopeError),
    #[error("record: {0}")]
    Json(#[from] serde_json::Error),
    #[error("output: {0}")]
    Output(#[from] std::io::Error),
    #[error("{0}")]
    Demo(&'static str),
}

/// What a visit produced, for the tests to check.
#[derive(Debug)]
pub struct VisitReport {
    pub case_number: String,
    pub service_code: String,
    pub conforms: bool,
    pub forwarding_deadline: Date,
    pub decision_deadline: Date,
    pub manifest: Vec<u8>,
    pub envelope_bytes: usize,
    pub drafts_left: usize,
    pub server_saw_applicant: bool,
}

struct FixedClock(i64);
impl Clock for FixedClock {
    fn now(&self) -> i64 {
        self.0
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(digest(&SHA256, bytes))
}

fn read(path: &Path) -> Result<String, DemoError> {
    std::fs::read_to_string(path).map_err(|source| DemoError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// A synthetic grey page: stands in for a scan until the capture crate is there.
fn synthetic_page(seed: u8) -> Vec<u8> {
    (0..200_000u32)
        .map(|i| (i.wrapping_mul(31) as u8) ^ seed)
        .collect()
}

/// Walk one home visit for residence declaration, writing what happens to `out`.
pub fn run_visit(
    assets: &Path,
    vault_dir: &Path,
    now: OffsetDateTime,
    out: &mut dyn Write,
) -> Result<VisitReport, DemoError> {
    let today = now.date();
    let catalog = Catalog::from_toml_str(&read(&assets.join("catalog/catalog.toml"))?)?;
    let calendar = WorkCalendar::from_toml_str(&read(&assets.join("calendar/ua.toml"))?)?;
    writeln!(
        out,
        "Каталог v{}: {} послуг / catalog v{}: {} services",
        catalog.version,
        catalog.services.len(),
        catalog.version,
        catalog.services.len()
    )?;

    let query = "декларування місця проживання";
    let service = *catalog
        .search(query)
        .first()
        .ok_or(DemoError::Demo("no service found"))?;
    writeln!(out, "Пошук «{query}» → {} {}", service.code, service.title)?;

    // Keys: the server's sealing key (normally from enrollment) and this tablet's signing key.
    let rng = SystemRandom::new();
    let server = SealingKeyPair::generate("seal-demo-1", &rng)?;
    let device = DeviceSigningKey::generate("T07", &rng)?;

    let clock: Arc<dyn Clock> = Arc::new(FixedClock(now.unix_timestamp()));
    let mut vault = Vault::create(
        &vault_dir.join("vault.sqlite"),
        "Коваленко Олена",
        DEMO_PASSPHRASE,
        VaultOptions::default(),
        clock,
    )?;
    writeln!(
        out,
        "Сховище створено, ключ у слоті адміністратора / vault created"
    )?;

    // The applicant, with checked identifiers.
    let birth = Date::from_calendar_date(1946, time::Month::March, 15)
        .map_err(|_| DemoError::Demo("date"))?;
    check_birth_date(birth, today)?;
    let rnokpp = Rnokpp::parse(DEMO_RNOKPP)?;
    rnokpp.check_birth_date(birth)?;
    let phone = MobileNumber::parse("067 123 45 67")?;
    let person = NaturalPerson {
        name: PersonName {
            surname: "Шевченко".into(),
            given_name: "Марія".into(),
            patronymic: Some("Іванівна".into()),
        },
        rnokpp: Some(rnokpp.as_str().into()),
        birth_date: birth,
        identity_document: IdentityDocument {
            kind: IdentityDocumentKind::IdCard,
            number: "001234567".into(),
            issued_by: "4610".into(),
            issued_on: None,
        },
        address: Address("м. Львів, вул. Зелена, 12, кв. 3".into()),
        phone: Some(Contact(phone.as_str().into())),
        email: None,
    };
    let place = VisitPlace {
        kind: VisitPlaceKind::Home,
        address: Address("м. Львів, вул. Зелена, 12, кв. 3".into()),
    };
    let case_id = "visit-0001";
    let mut case = Case::new_draft(
        case_id,
        service.code.clone(),
        Applicant::NaturalPerson(person),
        place,
    );
    vault.put_draft(case_id, "draft", &serde_json::to_vec(&case)?)?;

    // Documents: each page goes into the vault as it is captured.
    for (position, requirement) in ["declaration", "passport"].into_iter().enumerate() {
        let page = synthetic_page(position as u8);
        let blob = vault.put_blob(case_id, "page", position as i64, &page)?;
        case.documents.push(CapturedDocument {
            requirement: RequirementId(requirement.into()),
            form: DocumentForm::Original,
            method: CaptureMethod::Scanned,
            pages: vec![PageRef {
                blob_id: blob.0,
                sha256: sha256_hex(&page),
            }],
            qr_payloads: Vec::new(),
        });
        vault.put_draft(case_id, "draft", &serde_json::to_vec(&case)?)?;
    }
    case.notification = Some(Notification::Sms {
        phone: Contact(phone.as_str().into()),
    });
    case.delivery = Some(ResultDelivery::MobileAdministrator {
        address: case.visit_place.address.clone(),
    });
    let conclusion = case.conformity(&service.required_documents());
    writeln!(
        out,
        "Висновок: {} / conformity: {:?}",
        if conclusion.conforms() {
            "відповідає"
        } else {
            "не відповідає"
        },
        conclusion.computed
    )?;

    // Case number from the vault's durable sequence, inventory, signatures, registration.
    let sequence = vault.next_case_sequence()?;
    let number = CaseNumber::new(
        &catalog.centre.code,
        device.device_id(),
        today.year() as u16,
        sequence as u32,
    )?;
    let inventory = format!(
        "Опис вхідного пакета документів\nСправа {number}\nДата {today}\nПослуга {} {}\nДокументів: {}\nВисновок: {}\n",
        service.code,
        service.title,
        case.documents.len(),
        conclusion.conforms()
    );
    let inventory_hash = sha256_hex(inventory.as_bytes());
    for (position, role) in [(10, SignerRole::Applicant), (11, SignerRole::Administrator)] {
        let strokes = format!(
            "{{\"role\":\"{role:?}\",\"inventory\":\"{inventory_hash}\",\"points\":[[10,20,0],[40,25,80],[90,22,160]]}}"
        );
        let blob = vault.put_blob(case_id, "signature", position, strokes.as_bytes())?;
        case.signatures.push(SignatureRef {
            role,
            record_id: blob.0,
            signed_document_sha256: inventory_hash.clone(),
        });
    }
    case.register(number.clone(), &inventory_hash, today)?;
    vault.put_draft(case_id, "registered", &serde_json::to_vec(&case)?)?;
    let dates = case
        .dates
        .ok_or(DemoError::Demo("registered case has dates"))?;
    let forwarding_deadline = calendar.forwarding_deadline(dates.registered);
    let decision_deadline = calendar.deadline(dates.registered, service.term);
    writeln!(
        out,
        "Справа {number} зареєстрована; передати до {forwarding_deadline}, рішення до {decision_deadline}"
    )?;
    let late = overdue(&calendar, &dates, service.term, today);
    writeln!(
        out,
        "Прострочено сьогодні: {} / overdue today: {}",
        late.any(),
        late.any()
    )?;

    // Seal: the draft becomes an envelope only the server can open.
    let envelope = vault.seal_case(&SealCase {
        case_id,
        envelope_id: "env-visit-0001",
        case_number: &number.to_string(),
        recipient: &server.public_key(),
        device: &device,
    })?;
    let envelope_bytes =
        envelope.manifest_bytes.len() + envelope.parts.iter().map(Vec::len).sum::<usize>();
    let drafts_left = vault.list_drafts()?.len();
    writeln!(
        out,
        "Запечатано: {} частин, {envelope_bytes} байт; чернеток лишилось: {drafts_left}",
        envelope.parts.len()
    )?;
    vault.verify_audit_chain()?;
    let head = vault.audit_head()?;
    writeln!(
        out,
        "Журнал аудиту цілий, голова #{} {}",
        head.seq,
        hex::encode(&head.hash[..8])
    )?;
    drop(vault.lock());

    // The server's side: verify without opening, then open and read the case.
    let manifest = verify_manifest(
        &envelope.manifest_bytes,
        &envelope.signature,
        &device.public_key(),
    )?;
    writeln!(
        out,
        "Сервер: підпис пристрою {} перевірено, частин {}",
        manifest.device_id,
        manifest.parts.len()
    )?;
    let parts = open(&envelope, &server, &device.public_key())?;
    let record = parts
        .first()
        .ok_or(DemoError::Demo("envelope without record"))?;
    let opened: Case = serde_json::from_slice(&record.bytes)?;
    let server_saw_applicant =
        matches!(&opened.applicant, Applicant::NaturalPerson(p) if p.name.surname == "Шевченко");
    writeln!(
        out,
        "Сервер відкрив справу {}: стан {:?}, документів {}",
        opened
            .number
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        opened.state,
        opened.documents.len()
    )?;

    Ok(VisitReport {
        case_number: number.to_string(),
        service_code: service.code.0.clone(),
        conforms: conclusion.conforms(),
        forwarding_deadline,
        decision_deadline,
        manifest: envelope.manifest_bytes,
        envelope_bytes,
        drafts_left,
        server_saw_applicant,
    })
}
