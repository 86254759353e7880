//! fieldkit-e2e: whole-system walks across the crates, used by the demo binary and the tests.
//! A visit runs here exactly as the tablet will run it: catalog → applicant → documents →
//! conformity → case number → inventory signed → sealed in the vault → opened by the server.
//! The pages are generated scans (there is no scanner in a demo) that go through the real page
//! pipeline; the signatures are real stroke records; the inventory is the real PDF.

// The tablet's sync pass and outgoing queue live in the app; the whole-system tests use them.
pub use fieldkit_app::outgoing;
pub use fieldkit_app::sync_pass as sync;
pub mod office;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use fieldkit_capture::pipeline::process_page;
use fieldkit_capture::signature::{Point, Stroke, Strokes, sign, signed_set_sha256};
use fieldkit_domain::calendar::{WorkCalendar, overdue};
use fieldkit_domain::case::{
    Address, Applicant, CaptureMethod, CapturedDocument, Case, Conformity, Contact,
    IdentityDocument, IdentityDocumentKind, NaturalPerson, Notification, PageRef, PersonName,
    ResultDelivery, SignatureRef, SignedPapers, SignerRole, VisitPlace, VisitPlaceKind,
};
use fieldkit_domain::case_number::CaseNumber;
use fieldkit_domain::catalog::Catalog;
use fieldkit_domain::common::{DocumentForm, RequirementId};
use fieldkit_domain::conditions::{ConditionOutcome, FeePayment};
use fieldkit_domain::validators::{MobileNumber, Rnokpp, check_birth_date};
use fieldkit_protocol::{DeviceSigningKey, SealingKeyPair, open, verify_manifest};
use fieldkit_receipt::{
    ApplicationInput, InventoryInput, InventoryItem, SignedBy, application, condition_lines,
    fee_line, inventory, render_pdf,
};
use fieldkit_vault::{Clock, SealCase, Vault, VaultOptions};
use ring::digest::{SHA256, digest};
use ring::rand::SystemRandom;
use time::{Date, OffsetDateTime};

/// The demo applicant: a fictional person with a valid РНОКПП for her birth date.
pub const DEMO_APPLICANT: &str = "Шевченко Марія Іванівна";
const DEMO_RNOKPP: &str = "1687545620";
pub const DEMO_PASSPHRASE: &str = "демо-пароль-адміністратора";

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
    #[error("page: {0}")]
    Capture(#[from] fieldkit_capture::CaptureError),
    #[error("signature: {0}")]
    Signature(#[from] fieldkit_capture::signature::SignatureError),
    #[error("receipt: {0}")]
    Receipt(#[from] fieldkit_receipt::ReceiptError),
    #[error("output: {0}")]
    Output(#[from] std::io::Error),
    #[error("{0}")]
    Demo(&'static str),
    /// Setting up servers and tablets for a test.
    #[error("setup: {0}")]
    Setup(String),
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
    /// Quality remarks on the captured pages.
    pub page_issues: usize,
    /// The signed inventory, as the applicant's copy.
    pub inventory_pdf: Vec<u8>,
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

/// A generated 200 dpi scan of a printed page, a little skewed: lines of text-like marks.
fn scanned_page(seed: u32) -> Result<Vec<u8>, DemoError> {
    let (width, height) = (1654u32, 2339u32);
    let page = image::GrayImage::from_fn(width, height, |x, y| {
        let line = y / 40;
        let in_text = x > 160 && x < width - 160 && y > 200 && y < height - 200 && y % 40 < 22;
        let mark = !(x / 18 + line * 7 + seed).is_multiple_of(9) && (x % 18) < 13;
        image::Luma([
            if in_text && mark && (x % 18 < 2 || y % 40 < 2 || y % 40 > 19) {
                25
            } else {
                242
            },
        ])
    });
    let skewed = fieldkit_capture::pipeline::rotate(&page, -2.0, 242);
    Ok(fieldkit_capture::pipeline::encode_png(&skewed)?.bytes)
}

/// A plausible signature drawn over `seconds` at 100 Hz.
fn drawn_signature(seconds: u32, wobble: f32) -> Strokes {
    let samples = seconds * 100;
    let points = (0..samples)
        .map(|i| {
            let t = i as f32 / samples as f32;
            Point {
                x: 40.0 + 520.0 * t + 25.0 * (t * 40.0 * wobble).sin(),
                y: 100.0 + 40.0 * (t * 13.0).sin() * (t * 3.0 * wobble).cos(),
                t_ms: i * 10,
                pressure: None,
            }
        })
        .collect();
    Strokes {
        width: 600,
        height: 200,
        strokes: vec![Stroke { points }],
    }
}

/// Walk one home visit for residence declaration, writing what happens to `out`.
pub fn run_visit(
    assets: &Path,
    vault_dir: &Path,
    now: OffsetDateTime,
    out: &mut dyn Write,
) -> Result<VisitReport, DemoError> {
    // Keys: the server's sealing key (normally from enrollment) and this tablet's signing key.
    let rng = SystemRandom::new();
    let server = SealingKeyPair::generate("seal-demo-1", &rng)?;
    let device = DeviceSigningKey::generate("T07", &rng)?;
    run_visit_with(
        assets,
        vault_dir,
        now,
        out,
        &SealedBy {
            server: &server,
            device: &device,
            envelope_id: "env-visit-0001",
        },
        1,
    )
}

/// Who a visit's envelope is sealed to and by, and under which id.
pub struct SealedBy<'a> {
    pub server: &'a SealingKeyPair,
    pub device: &'a DeviceSigningKey,
    pub envelope_id: &'a str,
}

/// The same visit sealed to a given server key by a given (enrolled) tablet: the vault keeps
/// the envelope in its outbox, ready to sync. The passport has `passport_pages` pages (a
/// benchmark asks for many).
pub fn run_visit_with(
    assets: &Path,
    vault_dir: &Path,
    now: OffsetDateTime,
    out: &mut dyn Write,
    sealed_by: &SealedBy<'_>,
    passport_pages: u32,
) -> Result<VisitReport, DemoError> {
    let SealedBy {
        server,
        device,
        envelope_id,
    } = *sealed_by;
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
    // The form's answer and the fee decide the card's conditions: she owns her home (no
    // owner's consent), and a group I disability exempts her from the fee (no fee receipt).
    case.form_answers
        .insert("housing_basis".into(), "власник".into());
    case.fee = Some(FeePayment::Exempt {
        ground: "особа з інвалідністю I групи (посвідчення пред'явлено)".into(),
    });
    vault.put_draft(case_id, "draft", &serde_json::to_vec(&case)?)?;

    // Documents: each page goes through the pipeline and into the vault as it is captured.
    let mut page_issues = 0;
    let mut position = 0u32;
    for (requirement, page_count) in [("declaration", 1), ("passport", passport_pages.max(1))] {
        let mut pages = Vec::new();
        for _ in 0..page_count {
            let processed = process_page(&scanned_page(position)?, Some(200))?;
            page_issues += processed.issues.len();
            writeln!(
                out,
                "Сторінка «{requirement}»: {}×{}, вирівняно на {:.1}°, {} КБ {}, зауважень: {}",
                processed.width,
                processed.height,
                processed.skew_degrees,
                processed.image.bytes.len() / 1024,
                processed.image.mime,
                processed.issues.len()
            )?;
            let page = processed.image.bytes;
            let blob = vault.put_blob(case_id, "page", i64::from(position), &page)?;
            pages.push(PageRef {
                blob_id: blob.0,
                sha256: sha256_hex(&page),
            });
            position += 1;
        }
        case.documents.push(CapturedDocument {
            requirement: RequirementId(requirement.into()),
            form: DocumentForm::Original,
            method: CaptureMethod::Scanned,
            pages,
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
    let rules = service.package_rules();
    let assessment = case.assess(&rules, today);
    for check in &assessment.conditions {
        if let ConditionOutcome::Settled { applies, basis } = &check.outcome {
            let label = |id: &str| {
                service
                    .form_field(id)
                    .map_or_else(|| id.to_owned(), |f| f.label.clone())
            };
            writeln!(
                out,
                "Умова «{}» ({}): {}, {}",
                check.title,
                check.condition,
                if *applies {
                    "стосується"
                } else {
                    "не стосується"
                },
                basis.text_uk(label)
            )?;
        }
    }
    let conclusion = case
        .conformity(&rules, today)
        .map_err(fieldkit_domain::case::CaseError::from)?;
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
    let items: Vec<InventoryItem> = case
        .documents
        .iter()
        .map(|d| InventoryItem {
            title: service
                .documents
                .iter()
                .find(|r| r.id == d.requirement)
                .map_or_else(|| d.requirement.0.clone(), |r| r.title.clone()),
            form: d.form,
            pages: d.page_count(),
        })
        .collect();
    let registered_at = format!(
        "{:02}.{:02}.{} {:02}:{:02}",
        today.day(),
        u8::from(today.month()),
        today.year(),
        now.hour(),
        now.minute()
    );
    let receipt = inventory(&InventoryInput {
        centre: catalog.centre.office.name.clone(),
        case_number: number.to_string(),
        registered_at: registered_at.clone(),
        service: format!("{} {}", service.code, service.title),
        applicant: DEMO_APPLICANT.into(),
        representative: None,
        documents: items,
        conditions: condition_lines(&assessment, service),
        fee: fee_line(service, case.fee.as_ref()),
        conforms: conclusion.conforms(),
        missing: match &conclusion.computed {
            Conformity::DoesNotConform { missing } => missing.clone(),
            Conformity::Conforms => Vec::new(),
        },
        override_note: None,
        notification: "SMS".into(),
        delivery: "мобільним адміністратором".into(),
        administrator: "Коваленко Олена Петрівна".into(),
        tracking_url: format!("https://cnap.example.ua/track/{number}"),
        tracking_code: None,
        applicant_cannot_sign: None,
        payment: None,
        centre_contacts: None,
        provider_contacts: None,
    });
    // The application (заява) from the service's form and the case, read before the inventory.
    let provider = catalog
        .provider(&service.provider)
        .map_or_else(|| service.provider.0.clone(), |p| p.office.name.clone());
    let case_number = number.to_string();
    let application_paper = application(&ApplicationInput {
        centre: &catalog.centre.office.name,
        provider: &provider,
        case_number: &case_number,
        registered_at: &registered_at,
        service,
        case: &case,
        administrator: "Коваленко Олена Петрівна",
    });
    // What the applicant reads in applicant mode is these two papers; the hash of the pair is
    // what they sign.
    let inventory_hash = receipt.content_sha256();
    let application_hash = application_paper.content_sha256();
    let papers = SignedPapers {
        signed_sha256: signed_set_sha256(&inventory_hash, &application_hash),
        inventory_sha256: inventory_hash.clone(),
        application_sha256: Some(application_hash),
    };
    let mut records = Vec::new();
    for (position, role, signer, wobble) in [
        (10, SignerRole::Applicant, DEMO_APPLICANT, 1.0),
        (
            11,
            SignerRole::Administrator,
            "Коваленко Олена Петрівна",
            1.3,
        ),
    ] {
        let (record, _png) = sign(
            drawn_signature(4, wobble),
            role,
            signer,
            now.unix_timestamp(),
            &papers.signed_sha256,
        )?;
        let blob = vault.put_blob(
            case_id,
            "signature",
            position,
            &serde_json::to_vec(&record)?,
        )?;
        case.signatures.push(SignatureRef {
            role,
            record_id: blob.0,
            signed_document_sha256: papers.signed_sha256.clone(),
        });
        records.push(record);
    }
    let signed: Vec<SignedBy<'_>> = records
        .iter()
        .map(|r| SignedBy {
            role: r.role,
            strokes: &r.strokes,
        })
        .collect();
    let inventory_pdf = render_pdf(&receipt, &signed)?;
    vault.put_blob(case_id, "inventory", 12, &inventory_pdf)?;
    let application_pdf = render_pdf(&application_paper, &signed)?;
    vault.put_blob(case_id, "application", 13, &application_pdf)?;
    writeln!(
        out,
        "Заяву й опис підписано разом (SHA-256 пари {}…), PDF {} і {} КБ",
        &papers.signed_sha256[..12],
        application_pdf.len() / 1024,
        inventory_pdf.len() / 1024
    )?;
    case.register(&rules, number.clone(), &papers, today)?;
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
        envelope_id,
        case_number: &number.to_string(),
        recipient: &server.public_key(),
        device,
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
    let parts = open(&envelope, server, &device.public_key())?;
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
        page_issues,
        inventory_pdf,
    })
}
