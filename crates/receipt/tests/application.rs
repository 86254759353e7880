#![allow(clippy::unwrap_used)]
//! The application (заява) as a real PDF: generated from the demo catalog's residence form and
//! a case, `qpdf --check` passes, `pdftotext` reads back the Ukrainian text with the case
//! number, the applicant, the representative, the form's answers and the delivery choice, and
//! the document information names it as the application with its content hash.

use std::path::Path;
use std::process::Command;

use fieldkit_domain::case::{
    Address, Applicant, AuthorityDocument, AuthorityKind, Case, Contact, IdentityDocument,
    IdentityDocumentKind, NaturalPerson, Notification, PersonName, Representative, ResultDelivery,
    SignerRole, VisitPlace, VisitPlaceKind,
};
use fieldkit_domain::catalog::Catalog;
use fieldkit_domain::common::ServiceCode;
use fieldkit_receipt::{ApplicationInput, ReceiptKind, application, render_pdf};
use time::macros::date;

fn person(surname: &str, given: &str, patronymic: &str, address: &str) -> NaturalPerson {
    NaturalPerson {
        name: PersonName {
            surname: surname.into(),
            given_name: given.into(),
            patronymic: Some(patronymic.into()),
        },
        rnokpp: Some("1687545620".into()),
        birth_date: date!(1946 - 03 - 15),
        identity_document: IdentityDocument {
            kind: IdentityDocumentKind::IdCard,
            number: "001234567".into(),
            issued_by: "4601".into(),
            issued_on: None,
        },
        address: Address(address.into()),
        phone: Some(Contact("+380671234567".into())),
        email: None,
    }
}

fn residence_case() -> Case {
    let mut case = Case::new_draft(
        "case-1",
        ServiceCode("00001".into()),
        Applicant::NaturalPerson(person(
            "Шевченко",
            "Марія",
            "Іванівна",
            "м. Львів, вул. Зелена, 12, кв. 3",
        )),
        VisitPlace {
            kind: VisitPlaceKind::Home,
            address: Address("м. Львів, вул. Зелена, 12, кв. 3".into()),
        },
    );
    for (id, answer) in [
        ("previous_address", "м. Стрий, вул. Шевченка, 5"),
        ("new_address", "м. Львів, вул. Зелена, 12, кв. 3"),
        ("housing_basis", "член сім'ї власника"),
        ("extract_wanted", "так"),
    ] {
        case.form_answers.insert(id.into(), answer.into());
    }
    case.notification = Some(Notification::Sms {
        phone: Contact("+380671234567".into()),
    });
    case.delivery = Some(ResultDelivery::MobileAdministrator {
        address: Address("м. Львів, вул. Зелена, 12, кв. 3".into()),
    });
    case
}

fn catalog() -> Catalog {
    Catalog::from_toml_str(include_str!("../../../assets/catalog/catalog.toml")).unwrap()
}

fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn pdf_text(dir: &Path, pdf: &[u8]) -> (String, String) {
    let path = dir.join("application.pdf");
    std::fs::write(&path, pdf).unwrap();
    let path = path.to_str().unwrap();
    run("qpdf", &["--check", path]);
    let text = run("pdftotext", &["-enc", "UTF-8", path, "-"]);
    (text, run("pdfinfo", &[path]))
}

#[test]
fn the_application_prints_the_case_the_form_answers_and_the_choices_in_ukrainian() {
    let catalog = catalog();
    let service = catalog
        .services
        .iter()
        .find(|s| s.code.0 == "00001")
        .unwrap();
    let case = residence_case();
    let document = application(&ApplicationInput {
        centre: "Центр надання адміністративних послуг міста Львова",
        provider: "Відділ реєстрації місця проживання",
        case_number: "LV01/T07/2026/000123-5",
        registered_at: "27.11.2026 10:30",
        service,
        case: &case,
        administrator: "Коваленко Олена Петрівна",
    });
    assert_eq!(document.kind, ReceiptKind::Application);
    let dir = tempfile::tempdir().unwrap();
    let (text, info) = pdf_text(dir.path(), &render_pdf(&document, &[]).unwrap());

    let hash = document.content_sha256();
    assert!(info.contains("fieldkit-document:application"), "{info}");
    assert!(
        info.contains(&format!("fieldkit-content-sha256:{hash}")),
        "{info}"
    );
    // Fields wrap at the page's width: compare with the line breaks as spaces.
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        "Заява",
        "Справа №: LV01/T07/2026/000123-5",
        "Дата: 27.11.2026 10:30",
        "Заявник: Шевченко Марія Іванівна",
        "Дата народження: 15.03.1946",
        "Документ, що посвідчує особу: паспорт громадянина України (ID-картка) № 001234567, виданий 4601",
        "РНОКПП: 1687545620",
        "Адреса: м. Львів, вул. Зелена, 12, кв. 3",
        "Прошу надати адміністративну послугу: 00001 Декларування місця проживання.",
        "Попереднє місце проживання",
        "м. Стрий, вул. Шевченка, 5",
        "Підстава проживання",
        "член сім'ї власника",
        "Потрібен витяг з реєстру",
        "Повідомлення про результат: SMS на +380671234567",
        "Спосіб отримання результату: мобільним адміністратором: м. Львів, вул. Зелена, 12, кв. 3",
        "Заяву прийняв адміністратор: Коваленко Олена Петрівна",
        "Підпис: Заявник",
        "Підпис: Адміністратор",
        &hash,
    ] {
        assert!(flat.contains(expected), "missing «{expected}» in:\n{text}");
    }
    assert!(!flat.contains("Представник"), "{text}");
}

#[test]
fn a_representative_is_stated_with_the_authority_and_changes_the_content() {
    let catalog = catalog();
    let service = catalog
        .services
        .iter()
        .find(|s| s.code.0 == "00001")
        .unwrap();
    let alone = residence_case();
    let mut represented = residence_case();
    represented.representative = Some(Representative {
        person: person(
            "Шевченко",
            "Петро",
            "Миколайович",
            "м. Львів, вул. Липова, 4",
        ),
        authority: AuthorityDocument {
            kind: AuthorityKind::PowerOfAttorney,
            number: "НВМ 123456".into(),
            date: date!(2026 - 10 - 01),
            issued_by: "приватний нотаріус Львівського МНО Іваненко І. І.".into(),
            valid_until: None,
        },
    });
    let input = |case| ApplicationInput {
        centre: "ЦНАП міста Львова",
        provider: "Відділ реєстрації місця проживання",
        case_number: "LV01/T07/2026/000123-5",
        registered_at: "27.11.2026 10:30",
        service,
        case,
        administrator: "Коваленко Олена Петрівна",
    };
    let document = application(&input(&represented));
    assert_ne!(
        document.content_sha256(),
        application(&input(&alone)).content_sha256()
    );
    let dir = tempfile::tempdir().unwrap();
    let (text, _) = pdf_text(dir.path(), &render_pdf(&document, &[]).unwrap());
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        "Представник: Шевченко Петро Миколайович",
        "Документ, що підтверджує повноваження: № НВМ 123456 від 01.10.2026",
    ] {
        assert!(flat.contains(expected), "missing «{expected}» in:\n{text}");
    }
    assert!(
        document
            .signatures
            .iter()
            .any(|s| s.role == SignerRole::Applicant)
    );
}
