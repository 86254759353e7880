//! On the back-office case page: when the applicant could not sign, why, and who signed the
//! inventory instead (a witness with their identity document, or the representative).

use fieldkit_domain::case::{Case, SignerRole};

use super::html::{Lang, esc};

/// Table rows for the case's summary table; nothing when the applicant signed.
pub fn waiver_rows(case: &Case, lang: Lang) -> String {
    let Some(waiver) = &case.applicant_cannot_sign else {
        return String::new();
    };
    let reason = match lang {
        Lang::Uk => waiver.reason_uk(),
        Lang::En if waiver.note.trim().is_empty() => waiver.ground.title_en().to_owned(),
        // The note is the administrator's own words, kept as written.
        Lang::En => format!("{}; {}", waiver.ground.title_en(), waiver.note.trim()),
    };
    let who = match waiver.signed_instead_by {
        SignerRole::Representative => lang.t("представник", "the representative"),
        _ => lang.t("свідок", "a witness"),
    };
    format!(
        "<tr class=\"waiver\"><th>{}</th><td>{}</td></tr><tr class=\"waiver\"><th>{}</th><td>{} {}, {}</td></tr>",
        lang.t("Заявник не може підписати", "The applicant cannot sign"),
        esc(&reason),
        lang.t("Підписує замість заявника", "Signed instead by"),
        esc(who),
        esc(&waiver.signer_name),
        esc(&waiver.signer_document),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldkit_domain::case::{
        Address, Applicant, LegalEntity, PersonName, Substitute, VisitPlace, VisitPlaceKind,
        WaiverGround,
    };
    use fieldkit_domain::common::ServiceCode;

    fn case() -> Case {
        Case::new_draft(
            "c-1",
            ServiceCode("00001".into()),
            Applicant::LegalEntity(LegalEntity {
                name: "ТОВ «Приклад»".into(),
                edrpou: "32855961".into(),
                address: Address("м. Львів".into()),
                acting_person: PersonName {
                    surname: "Шевченко".into(),
                    given_name: "Марія".into(),
                    patronymic: None,
                },
                acting_as: "директор".into(),
            }),
            VisitPlace {
                kind: VisitPlaceKind::Hospital,
                address: Address("м. Львів".into()),
            },
        )
    }

    #[test]
    fn the_case_page_says_who_signed_instead_and_why() {
        let mut case = case();
        assert_eq!(waiver_rows(&case, Lang::Uk), "");
        case.waive_applicant_signature(
            Some(WaiverGround::Blind),
            "<не бачить текст>",
            Substitute {
                role: SignerRole::Witness,
                name: "Петренко Іван".into(),
                document: "паспорт КА 123456".into(),
            },
        )
        .unwrap();
        let uk = waiver_rows(&case, Lang::Uk);
        assert!(uk.contains("Заявник не може підписати"), "{uk}");
        assert!(
            uk.contains("незрячий або слабозорий; &lt;не бачить текст&gt;"),
            "{uk}"
        );
        assert!(
            uk.contains("свідок Петренко Іван, паспорт КА 123456"),
            "{uk}"
        );
        let en = waiver_rows(&case, Lang::En);
        assert!(en.contains("blind or low vision"), "{en}");
        assert!(en.contains("a witness Петренко Іван"), "{en}");
    }
}
