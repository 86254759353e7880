//! The parts of the inventory that tell the applicant how to pay the fee and whom to contact:
//! the payment details as text with the NBU payment QR (Resolution No. 97, format 003), and the
//! centre's and the provider's address, phone, e-mail, website and hours (regulation 2.20, 9.4).

use fieldkit_domain::catalog::Office;
use fieldkit_domain::payment::{NbuQrFormat, PaymentOrder, compact_iban};

use crate::document::Block;

/// What the applicant reads beside the payment QR.
pub const PAYMENT_QR_CAPTION: &str = "Оплатіть у застосунку свого банку: відкрийте сканер QR-коду \
     і наведіть на цей код — реквізити й сума заповняться самі. Може оплатити й родич.";

/// Hryvnias and kopecks as printed: "34,00 грн".
pub fn hryvnias(kopecks: u64) -> String {
    format!("{},{:02} грн", kopecks / 100, kopecks % 100)
}

/// The payment section: every detail as text (what the signature binds), then the QR code.
/// When the details cannot go into the QR the text still stands, with the reason.
pub(crate) fn payment_blocks(order: &PaymentOrder) -> Vec<Block> {
    let d = &order.details;
    let mut blocks = vec![
        Block::Paragraph("Оплата адміністративного збору".into()),
        Block::Field {
            label: "Сума".into(),
            value: hryvnias(order.amount_kopecks),
        },
        Block::Field {
            label: "Отримувач".into(),
            value: d.recipient.clone(),
        },
        Block::Field {
            label: "Рахунок отримувача (IBAN)".into(),
            value: compact_iban(&d.iban),
        },
        Block::Field {
            label: "Код отримувача (ЄДРПОУ/РНОКПП)".into(),
            value: d.recipient_code.clone(),
        },
        Block::Field {
            label: "Призначення платежу".into(),
            value: d.purpose.clone(),
        },
    ];
    if let Some(reference) = &order.reference {
        blocks.push(Block::Field {
            label: "Номер для звірки платежу".into(),
            value: reference.clone(),
        });
    }
    match order.nbu_qr(NbuQrFormat::F003) {
        Ok(payload) => blocks.push(Block::PaymentQr {
            payload,
            caption: PAYMENT_QR_CAPTION.into(),
        }),
        Err(problem) => blocks.push(Block::Paragraph(format!(
            "QR-код оплати не сформовано ({problem}); оплатіть за реквізитами вище."
        ))),
    }
    blocks
}

/// One office's contacts, each line only where the catalog has it.
pub(crate) fn contact_blocks(role: &str, office: &Office) -> Vec<Block> {
    let mut blocks = vec![Block::Field {
        label: role.into(),
        value: office.name.clone(),
    }];
    let lines = [
        ("Адреса", Some(&office.address)),
        ("Телефон", office.phone.as_ref()),
        ("Електронна пошта", office.email.as_ref()),
        ("Вебсайт", office.website.as_ref()),
        ("Графік роботи", office.hours.as_ref()),
    ];
    blocks.extend(
        lines
            .into_iter()
            .filter_map(|(label, value)| Some((label, value?)))
            .filter(|(_, value)| !value.trim().is_empty())
            .map(|(label, value)| Block::Field {
                label: label.into(),
                value: value.clone(),
            }),
    );
    blocks
}
