#![allow(clippy::unwrap_used)]
//! The demo catalog in assets/catalog loads, validates and is searchable in Ukrainian.

use fieldkit_domain::catalog::{Catalog, Fee, ResultChannel, Service, browse_by_provider};
use fieldkit_domain::common::ServiceCode;

fn demo() -> Catalog {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../assets/catalog/catalog.toml"
    );
    let text = std::fs::read_to_string(path).unwrap();
    Catalog::from_toml_str(&text).unwrap_or_else(|e| panic!("{e:?}"))
}

fn codes(services: Vec<&Service>) -> Vec<&str> {
    services.iter().map(|s| s.code.0.as_str()).collect()
}

#[test]
fn demo_catalog_is_valid_with_at_least_twelve_services() {
    let catalog = demo();
    assert!(
        catalog.services.len() >= 12,
        "{} services",
        catalog.services.len()
    );
    assert!(catalog.problems().is_empty());
}

#[test]
fn every_service_is_in_all_three_groupings() {
    let catalog = demo();
    let by_provider = browse_by_provider(&catalog);
    for service in &catalog.services {
        assert!(!service.life_situations.is_empty() && !service.legal_areas.is_empty());
        assert!(
            by_provider[&service.provider]
                .iter()
                .any(|s| s.code == service.code)
        );
        for situation in &service.life_situations {
            assert!(
                catalog
                    .services_in_life_situation(situation)
                    .iter()
                    .any(|s| s.code == service.code)
            );
        }
        for area in &service.legal_areas {
            assert!(
                catalog
                    .services_in_legal_area(area)
                    .iter()
                    .any(|s| s.code == service.code)
            );
        }
    }
    assert_eq!(
        by_provider.values().map(Vec::len).sum::<usize>(),
        catalog.services.len()
    );
}

#[test]
fn every_card_is_complete_enough_for_a_visit() {
    for service in &demo().services {
        assert!(!service.refusal_grounds.is_empty(), "{}", service.code);
        assert!(!service.legal_acts.is_empty(), "{}", service.code);
        assert!(
            service
                .result_channels
                .contains(&ResultChannel::MobileAdministrator),
            "{}",
            service.code
        );
        if let Fee::Paid {
            amount_kopecks,
            details,
            ..
        } = &service.fee
        {
            assert!(amount_kopecks.is_some());
            let details = details
                .as_ref()
                .expect("payment details for a paid service");
            assert!(details.recipient.contains("демо"), "{}", service.code);
        }
    }
}

#[test]
fn ukrainian_search_finds_services_by_inflected_words() {
    let catalog = demo();
    assert_eq!(codes(catalog.search("субсидію"))[0], "00004");
    assert_eq!(codes(catalog.search("житлової субсидії"))[0], "00004");
    assert!(codes(catalog.search("прописка")).contains(&"00001"));
    assert_eq!(
        codes(catalog.search("декларування місця проживання"))[0],
        "00001"
    );
    assert!(codes(catalog.search("пенсію")).contains(&"00008"));
    assert!(codes(catalog.search("ВПО")).contains(&"00009"));
    assert!(codes(catalog.search("сім’ї")).contains(&"00005"));
    assert!(codes(catalog.search("сімʼї")).contains(&"00005"));
    assert!(codes(catalog.search("кадастрового номера")).contains(&"00012"));
    assert!(catalog.search("космодром").is_empty());
}

#[test]
fn demo_catalog_round_trips_through_toml() {
    let catalog = demo();
    let written = catalog.to_toml_string().unwrap();
    assert_eq!(Catalog::from_toml_str(&written).unwrap(), catalog);
    assert!(
        catalog
            .service(&ServiceCode("00011".into()))
            .unwrap()
            .title
            .contains("ID-картки")
    );
}

/// Found by fuzzing (tests/fuzz, target payment_order): an IBAN whose second character is a
/// Cyrillic letter panicked the whole catalog load. It is now one problem among the others.
#[test]
fn a_catalog_with_a_cyrillic_letter_in_an_iban_is_refused_not_a_crash() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../assets/catalog/catalog.toml"
    );
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains("UA989999990000026007233566001"));
    let text = text.replace(
        "UA989999990000026007233566001",
        "Uр98999999000002600723356600",
    );
    match Catalog::from_toml_str(&text) {
        Err(fieldkit_domain::catalog::CatalogError::Invalid(problems)) => assert!(
            problems
                .iter()
                .all(|p| matches!(p, fieldkit_domain::catalog::CatalogProblem::BadIban { .. })),
            "{problems:?}"
        ),
        other => panic!("{other:?}"),
    }
}
