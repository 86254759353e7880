//! The application (заява, regulation 6.3) as a document of the one model: generated from the
//! service's form and the case — who applies (or who represents them), the address, the form's
//! answers, how the result is delivered and the applicant notified, the date and the case
//! number — so the screen shows, the applicant signs and the printer prints the same content.
//!
//! The applicant signs the application and the inventory together: each signature binds the
//! SHA-256 of the pair (`fieldkit_capture::signature::signed_set_sha256`, re-exported here),
//! so neither paper can be swapped under it.

use fieldkit_domain::case::{
    Applicant, Case, IdentityDocumentKind, NaturalPerson, PersonName, SignerRole,
};
use fieldkit_domain::catalog::Service;
use time::Date;

use crate::decided::{delivery_line, notification_line};
use crate::document::{Block, Receipt, ReceiptKind, SignatureSlot, substitute_uk};

/// What the application states beyond the case and the service's form.
pub struct ApplicationInput<'a> {
    /// The centre that receives the application (ЦНАП).
    pub centre: &'a str,
    /// The service provider the application is addressed to (суб'єкт надання послуги).
    pub provider: &'a str,
    pub case_number: &'a str,
    /// Date and time of registration as printed, e.g. "27.11.2026 10:30".
    pub registered_at: &'a str,
    pub service: &'a Service,
    /// The case with its form answers, notification and delivery choices.
    pub case: &'a Case,
    pub administrator: &'a str,
}

fn full_name(name: &PersonName) -> String {
    [
        name.surname.as_str(),
        name.given_name.as_str(),
        name.patronymic.as_deref().unwrap_or(""),
    ]
    .iter()
    .map(|s| s.trim())
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(" ")
}

fn date_uk(date: Date) -> String {
    format!(
        "{:02}.{:02}.{}",
        date.day(),
        u8::from(date.month()),
        date.year()
    )
}

fn identity_kind_uk(kind: &IdentityDocumentKind) -> String {
    match kind {
        IdentityDocumentKind::IdCard => "паспорт громадянина України (ID-картка)".into(),
        IdentityDocumentKind::PassportBook => "паспорт громадянина України".into(),
        IdentityDocumentKind::ResidencePermit => "посвідка на проживання".into(),
        IdentityDocumentKind::BirthCertificate => "свідоцтво про народження".into(),
        IdentityDocumentKind::Other(kind) => kind.clone(),
    }
}

/// A natural person's details, one field each, under `role` («Заявник», «Представник»).
fn person_blocks(role: &str, person: &NaturalPerson) -> Vec<Block> {
    let field = |label: String, value: String| Block::Field { label, value };
    let mut blocks = vec![
        field(role.into(), full_name(&person.name)),
        field("Дата народження".into(), date_uk(person.birth_date)),
    ];
    // Printed only when the administrator entered the document: no «№ , виданий» blanks.
    let document = &person.identity_document;
    if !document.number.trim().is_empty() {
        let issued = match document.issued_by.trim() {
            "" => String::new(),
            by => format!(", виданий {by}"),
        };
        blocks.push(field(
            "Документ, що посвідчує особу".into(),
            format!(
                "{} № {}{issued}",
                identity_kind_uk(&document.kind),
                document.number.trim()
            ),
        ));
    }
    if let Some(rnokpp) = &person.rnokpp {
        blocks.push(field("РНОКПП".into(), rnokpp.clone()));
    }
    blocks.push(field("Адреса".into(), person.address.0.clone()));
    if let Some(phone) = &person.phone {
        blocks.push(field("Телефон".into(), phone.0.clone()));
    }
    if let Some(email) = &person.email {
        blocks.push(field("Електронна пошта".into(), email.0.clone()));
    }
    blocks
}

/// The form's answers in the form's order, each under its field's label; answers to fields
/// the form no longer has follow under their ids, so nothing answered is left out.
fn answer_rows(service: &Service, case: &Case) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = service
        .form_fields
        .iter()
        .filter_map(|field| {
            let answer = case.form_answers.get(&field.id)?.trim();
            (!answer.is_empty()).then(|| vec![field.label.clone(), answer.to_owned()])
        })
        .collect();
    rows.extend(
        case.form_answers
            .iter()
            .filter(|(id, answer)| service.form_field(id).is_none() && !answer.trim().is_empty())
            .map(|(id, answer)| vec![id.clone(), answer.trim().to_owned()]),
    );
    rows
}

/// The application for `input.service`, with the applicant's (or their substitute's) slot
/// and the administrator's, who receives it.
pub fn application(input: &ApplicationInput<'_>) -> Receipt {
    let case = input.case;
    let field = |label: &str, value: &str| Block::Field {
        label: label.into(),
        value: value.into(),
    };
    let mut blocks = vec![
        Block::Title("Заява".into()),
        field("Кому", input.provider),
        field("Через", input.centre),
        field("Справа №", input.case_number),
        field("Дата", input.registered_at),
    ];
    match &case.applicant {
        Applicant::NaturalPerson(person) => blocks.extend(person_blocks("Заявник", person)),
        Applicant::LegalEntity(entity) => {
            blocks.push(field("Заявник", &entity.name));
            blocks.push(field("Код ЄДРПОУ", &entity.edrpou));
            blocks.push(field("Адреса", &entity.address.0));
            blocks.push(field(
                "Діє від імені заявника",
                &format!("{}, {}", full_name(&entity.acting_person), entity.acting_as),
            ));
        }
    }
    if let Some(representative) = &case.representative {
        blocks.extend(person_blocks("Представник", &representative.person));
        let authority = &representative.authority;
        blocks.push(field(
            "Документ, що підтверджує повноваження",
            &format!(
                "№ {} від {}, виданий {}",
                authority.number,
                date_uk(authority.date),
                authority.issued_by
            ),
        ));
    }
    blocks.push(Block::Paragraph(format!(
        "Прошу надати адміністративну послугу: {} {}.",
        input.service.code.0, input.service.title
    )));
    let answers = answer_rows(input.service, case);
    if !answers.is_empty() {
        blocks.push(Block::Table {
            header: vec!["Відомості".into(), "Відповідь заявника".into()],
            rows: answers,
            widths: vec![0.5, 0.5],
        });
    }
    if let Some(notification) = &case.notification {
        blocks.push(field(
            "Повідомлення про результат",
            &notification_line(notification),
        ));
    }
    if let Some(delivery) = &case.delivery {
        blocks.push(field(
            "Спосіб отримання результату",
            &delivery_line(delivery),
        ));
    }
    blocks.push(Block::Paragraph(
        "Відомості, наведені в заяві, достовірні. Даю згоду на обробку моїх персональних даних \
         для надання цієї послуги (Закон України «Про захист персональних даних»)."
            .into(),
    ));
    let mut signatures = Vec::new();
    match &case.applicant_cannot_sign {
        None => signatures.push(SignatureSlot {
            role: SignerRole::Applicant,
            label: "Заявник".into(),
        }),
        Some(waiver) => {
            blocks.push(field("Заявник не може підписати", &waiver.reason_uk()));
            blocks.push(field(
                "Підписує замість заявника",
                &format!(
                    "{} {}, {}",
                    substitute_uk(waiver.signed_instead_by).to_lowercase(),
                    waiver.signer_name,
                    waiver.signer_document
                ),
            ));
            signatures.push(SignatureSlot {
                role: waiver.signed_instead_by,
                label: format!("{} (за заявника)", substitute_uk(waiver.signed_instead_by)),
            });
        }
    }
    blocks.push(field("Заяву прийняв адміністратор", input.administrator));
    signatures.push(SignatureSlot {
        role: SignerRole::Administrator,
        label: "Адміністратор".into(),
    });
    Receipt {
        kind: ReceiptKind::Application,
        blocks,
        signatures,
    }
}
