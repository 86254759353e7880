//! Time to build the signed inventory PDF of a 20-document case (prints figures, asserts nothing).
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use fieldkit_capture::signature::{Point, Stroke, Strokes};
use fieldkit_domain::case::SignerRole;
use fieldkit_domain::common::DocumentForm;
use fieldkit_receipt::{InventoryInput, InventoryItem, SignedBy, inventory, render_pdf};

fn main() {
    let input = InventoryInput {
        centre: "Центр надання адміністративних послуг міста Львова".into(),
        case_number: "LV01/T07/2026/000123-5".into(),
        registered_at: "27.11.2026 10:30".into(),
        service: "00004 Призначення житлової субсидії".into(),
        applicant: "Шевченко Марія Іванівна".into(),
        representative: Some("Шевченко Іван Петрович, довіреність НВЕ 123456".into()),
        documents: (1..=20)
            .map(|i| InventoryItem {
                title: format!("Документ № {i}: довідка про доходи члена домогосподарства"),
                form: DocumentForm::Copy,
                pages: 2,
            })
            .collect(),
        conditions: Vec::new(),
        fee: None,
        conforms: true,
        missing: vec![],
        override_note: None,
        notification: "SMS".into(),
        delivery: "мобільним адміністратором".into(),
        administrator: "Коваленко Олена Петрівна".into(),
        tracking_url: "https://cnap.example.ua/track/LV01/T07/2026/000123-5".into(),
        tracking_code: None,
        applicant_cannot_sign: None,
        payment: None,
        centre_contacts: None,
        provider_contacts: None,
    };
    let points = (0..500u32)
        .map(|i| {
            let t = i as f32 / 500.0;
            Point {
                x: 40.0 + 520.0 * t + 25.0 * (t * 40.0).sin(),
                y: 100.0 + 40.0 * (t * 13.0).sin(),
                t_ms: i * 10,
                pressure: None,
            }
        })
        .collect();
    let strokes = Strokes {
        width: 600,
        height: 200,
        strokes: vec![Stroke { points }],
    };
    let signed = [
        SignedBy {
            role: SignerRole::Applicant,
            strokes: &strokes,
        },
        SignedBy {
            role: SignerRole::Administrator,
            strokes: &strokes,
        },
    ];
    let start = Instant::now();
    render_pdf(&inventory(&input), &signed).unwrap();
    let first = start.elapsed().as_secs_f64();
    let mut best = f64::MAX;
    let mut size = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let pdf = render_pdf(&inventory(&input), &signed).unwrap();
        best = best.min(start.elapsed().as_secs_f64());
        size = pdf.len();
    }
    println!(
        "inventory PDF, 20 documents, 2 signatures: {:.1} ms (best of 5; the first, which compresses the embedded font, {:.1} ms), {} KiB",
        best * 1000.0,
        first * 1000.0,
        size / 1024
    );
}
