//! The document model shared by the screen and the PDF, and the builders for each receipt.

use fieldkit_domain::case::{MissingDocument, SignerRole};
use fieldkit_domain::catalog::Office;
use fieldkit_domain::common::DocumentForm;
use fieldkit_domain::payment::PaymentOrder;
use ring::digest::{SHA256, digest};

/// Which paper this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptKind {
    /// Опис вхідного пакета документів.
    Inventory,
    /// Розписка про отримання результату.
    Handover,
    /// Розписка про відкликання заяви.
    Withdrawal,
    /// Заява (regulation 6.3), signed together with the inventory.
    Application,
}

impl ReceiptKind {
    /// The name the PDF's document information carries, so a reader of a sealed case tells
    /// the papers apart without extracting their text.
    pub fn code(self) -> &'static str {
        match self {
            ReceiptKind::Inventory => "inventory",
            ReceiptKind::Handover => "handover",
            ReceiptKind::Withdrawal => "withdrawal",
            ReceiptKind::Application => "application",
        }
    }
}

/// A piece of the document, top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Title(String),
    Paragraph(String),
    Field {
        label: String,
        value: String,
    },
    /// A table: column titles, rows, and each column's share of the width.
    Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
        widths: Vec<f32>,
    },
    /// The tracking QR code with its caption and, when the receipt has one, the tracking code
    /// as printed, to type on the tracking page instead of scanning.
    Qr {
        payload: String,
        caption: String,
        code: Option<String>,
    },
    /// The NBU payment QR code (a banking app reads it), drawn as the NBU's rules ask, with a
    /// caption; its payload is not printed as text (the details are, in fields before it).
    PaymentQr {
        payload: String,
        caption: String,
    },
}

/// A place for a signature, by role.
#[derive(Debug, Clone, PartialEq)]
pub struct SignatureSlot {
    pub role: SignerRole,
    pub label: String,
}

/// How the receipt names the tracking code printed beside its QR.
pub const TRACKING_CODE_LABEL: &str = "Код відстеження";

/// One line of the document as text: what the screen shows and the signatures bind to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentLine(pub String);

/// A receipt: its blocks, its signature slots, and the hash of its content.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    pub kind: ReceiptKind,
    pub blocks: Vec<Block>,
    pub signatures: Vec<SignatureSlot>,
}

impl Receipt {
    /// The content as lines of text, in order — exactly what is signed.
    pub fn content_lines(&self) -> Vec<DocumentLine> {
        let mut lines = Vec::new();
        for block in &self.blocks {
            match block {
                Block::Title(text) | Block::Paragraph(text) => {
                    lines.push(DocumentLine(text.clone()))
                }
                Block::Field { label, value } => {
                    lines.push(DocumentLine(format!("{label}: {value}")))
                }
                Block::Table { header, rows, .. } => {
                    lines.push(DocumentLine(header.join(" | ")));
                    lines.extend(rows.iter().map(|row| DocumentLine(row.join(" | "))));
                }
                Block::Qr {
                    payload,
                    caption,
                    code,
                } => {
                    lines.push(DocumentLine(format!("{caption}: {payload}")));
                    // Only a receipt with a code has the line: one signed before keeps its hash.
                    if let Some(code) = code {
                        lines.push(DocumentLine(format!("{TRACKING_CODE_LABEL}: {code}")));
                    }
                }
                Block::PaymentQr { payload, caption } => {
                    lines.push(DocumentLine(format!("{caption}: {payload}")))
                }
            }
        }
        lines.extend(
            self.signatures
                .iter()
                .map(|slot| DocumentLine(format!("Підпис: {}", slot.label))),
        );
        lines
    }

    /// SHA-256 of the content text (lines joined by "\n"), hex: what a signature binds to,
    /// alone or (the application with the inventory) as one of a signed pair.
    pub fn content_sha256(&self) -> String {
        let text: Vec<String> = self.content_lines().into_iter().map(|l| l.0).collect();
        hex::encode(digest(&SHA256, text.join("\n").as_bytes()))
    }
}

/// One document of the input package as the inventory lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct InventoryItem {
    pub title: String,
    pub form: DocumentForm,
    pub pages: usize,
}

/// A conditional document of the card, and whether it applies to this case (and why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionLine {
    pub document: String,
    pub condition: String,
    pub applies: bool,
    /// What decided it: «за датою народження», «відповідь адміністратора», …
    pub basis: String,
}

/// Everything the inventory of the input package states (regulation 6.12).
#[derive(Debug, Clone, PartialEq)]
pub struct InventoryInput {
    pub centre: String,
    pub case_number: String,
    /// Date and time of registration as printed, e.g. "27.11.2026 10:30".
    pub registered_at: String,
    pub service: String,
    pub applicant: String,
    pub representative: Option<String>,
    pub documents: Vec<InventoryItem>,
    /// The card's conditional documents, each decided (the conclusion rests on them).
    pub conditions: Vec<ConditionLine>,
    /// The administrative fee as the case records it («34,00 грн — сплачено»); `None` when
    /// the service is free.
    pub fee: Option<String>,
    pub conforms: bool,
    pub missing: Vec<MissingDocument>,
    pub override_note: Option<String>,
    pub notification: String,
    pub delivery: String,
    pub administrator: String,
    /// Where the applicant follows the case; encoded in the QR code.
    pub tracking_url: String,
    /// The tracking code as printed (groups of four), beside the QR; `None` for a case
    /// registered before receipts carried one (its signed text stays as it was).
    pub tracking_code: Option<String>,
    /// When the applicant cannot sign: why, and who signs instead.
    pub applicant_cannot_sign: Option<SignedInstead>,
    /// The fee, when it is to be paid: its details as text and the NBU payment QR.
    pub payment: Option<PaymentOrder>,
    /// The centre's contacts and hours (regulation 2.20, 9.4).
    pub centre_contacts: Option<Office>,
    /// The service provider's contacts and hours.
    pub provider_contacts: Option<Office>,
}

/// Who signs for an applicant who cannot (заявник не може підписати), as the inventory prints it.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedInstead {
    /// The reason as printed: the ground and the administrator's note.
    pub reason: String,
    /// `Witness` or `Representative`: the role of the signature slot.
    pub role: SignerRole,
    pub name: String,
    /// A witness's identity document, or the representative's authority document.
    pub document: String,
}

pub(crate) fn substitute_uk(role: SignerRole) -> &'static str {
    match role {
        SignerRole::Representative => "Представник",
        _ => "Свідок",
    }
}

fn form_uk(form: DocumentForm) -> &'static str {
    form.words().0
}

/// The inventory of the input package, with the applicant's and the administrator's slots.
pub fn inventory(input: &InventoryInput) -> Receipt {
    let mut blocks = vec![
        Block::Title("Опис вхідного пакета документів".into()),
        Block::Paragraph(input.centre.clone()),
        Block::Field {
            label: "Справа №".into(),
            value: input.case_number.clone(),
        },
        Block::Field {
            label: "Дата і час реєстрації".into(),
            value: input.registered_at.clone(),
        },
        Block::Field {
            label: "Послуга".into(),
            value: input.service.clone(),
        },
        Block::Field {
            label: "Заявник".into(),
            value: input.applicant.clone(),
        },
    ];
    if let Some(representative) = &input.representative {
        blocks.push(Block::Field {
            label: "Представник".into(),
            value: representative.clone(),
        });
    }
    blocks.push(Block::Table {
        header: vec![
            "№".into(),
            "Документ".into(),
            "Форма".into(),
            "Аркушів".into(),
        ],
        rows: input
            .documents
            .iter()
            .enumerate()
            .map(|(i, d)| {
                vec![
                    (i + 1).to_string(),
                    d.title.clone(),
                    form_uk(d.form).into(),
                    d.pages.to_string(),
                ]
            })
            .collect(),
        widths: vec![0.07, 0.61, 0.2, 0.12],
    });
    if !input.conditions.is_empty() {
        blocks.push(Block::Table {
            header: vec![
                "Документ, що подається за умови".into(),
                "Умова".into(),
                "Стосується".into(),
            ],
            rows: input
                .conditions
                .iter()
                .map(|c| {
                    let applies = if c.applies { "так" } else { "ні" };
                    vec![
                        c.document.clone(),
                        c.condition.clone(),
                        format!("{applies} ({})", c.basis),
                    ]
                })
                .collect(),
            widths: vec![0.4, 0.33, 0.27],
        });
    }
    if let Some(fee) = &input.fee {
        blocks.push(Block::Field {
            label: "Адміністративний збір".into(),
            value: fee.clone(),
        });
    }
    let conclusion = if input.conforms {
        "відповідає"
    } else {
        "не відповідає"
    };
    blocks.push(Block::Field {
        label: "Висновок про відповідність пакета інформаційній картці".into(),
        value: conclusion.into(),
    });
    if !input.missing.is_empty() {
        let titles: Vec<&str> = input.missing.iter().map(|m| m.title.as_str()).collect();
        blocks.push(Block::Field {
            label: "Відсутні документи".into(),
            value: titles.join("; "),
        });
    }
    if let Some(note) = &input.override_note {
        blocks.push(Block::Field {
            label: "Примітка адміністратора".into(),
            value: note.clone(),
        });
    }
    blocks.push(Block::Field {
        label: "Повідомлення про результат".into(),
        value: input.notification.clone(),
    });
    blocks.push(Block::Field {
        label: "Спосіб отримання результату".into(),
        value: input.delivery.clone(),
    });
    blocks.push(Block::Field {
        label: "Адміністратор".into(),
        value: input.administrator.clone(),
    });
    let mut signatures = Vec::new();
    match &input.applicant_cannot_sign {
        None => signatures.push(SignatureSlot {
            role: SignerRole::Applicant,
            label: "Заявник".into(),
        }),
        Some(instead) => {
            blocks.push(Block::Field {
                label: "Заявник не може підписати".into(),
                value: instead.reason.clone(),
            });
            blocks.push(Block::Field {
                label: "Підписує замість заявника".into(),
                value: format!(
                    "{} {}, {}",
                    substitute_uk(instead.role).to_lowercase(),
                    instead.name,
                    instead.document
                ),
            });
            signatures.push(SignatureSlot {
                role: instead.role,
                // The name is in the field above: the slot stays short enough for its box.
                label: format!("{} (за заявника)", substitute_uk(instead.role)),
            });
        }
    }
    signatures.push(SignatureSlot {
        role: SignerRole::Administrator,
        label: "Адміністратор".into(),
    });
    if let Some(order) = &input.payment {
        blocks.extend(crate::payment::payment_blocks(order));
    }
    if let Some(office) = &input.centre_contacts {
        blocks.extend(crate::payment::contact_blocks(
            "Центр надання адміністративних послуг",
            office,
        ));
    }
    if let Some(office) = &input.provider_contacts {
        blocks.extend(crate::payment::contact_blocks(
            "Суб'єкт надання послуги",
            office,
        ));
    }
    blocks.push(Block::Qr {
        payload: input.tracking_url.clone(),
        caption: "Стежити за справою".into(),
        code: input.tracking_code.clone(),
    });
    Receipt {
        kind: ReceiptKind::Inventory,
        blocks,
        signatures,
    }
}

/// The applicant received the result (regulation 8.3).
pub fn handover_receipt(
    case_number: &str,
    result: &str,
    handed_over_at: &str,
    administrator: &str,
) -> Receipt {
    Receipt {
        kind: ReceiptKind::Handover,
        blocks: vec![
            Block::Title("Розписка про отримання результату".into()),
            Block::Field {
                label: "Справа №".into(),
                value: case_number.into(),
            },
            Block::Field {
                label: "Результат".into(),
                value: result.into(),
            },
            Block::Field {
                label: "Видано".into(),
                value: handed_over_at.into(),
            },
            Block::Field {
                label: "Адміністратор".into(),
                value: administrator.into(),
            },
            Block::Paragraph("Результат надання адміністративної послуги отримав(ла).".into()),
        ],
        signatures: vec![
            SignatureSlot {
                role: SignerRole::Applicant,
                label: "Заявник".into(),
            },
            SignatureSlot {
                role: SignerRole::Administrator,
                label: "Адміністратор".into(),
            },
        ],
    }
}

/// The applicant withdrew the application (regulation 8.12–8.14).
pub fn withdrawal_receipt(
    case_number: &str,
    reason: &str,
    withdrawn_at: &str,
    administrator: &str,
) -> Receipt {
    Receipt {
        kind: ReceiptKind::Withdrawal,
        blocks: vec![
            Block::Title("Розписка про відкликання заяви".into()),
            Block::Field {
                label: "Справа №".into(),
                value: case_number.into(),
            },
            Block::Field {
                label: "Причина".into(),
                value: reason.into(),
            },
            Block::Field {
                label: "Дата".into(),
                value: withdrawn_at.into(),
            },
            Block::Field {
                label: "Адміністратор".into(),
                value: administrator.into(),
            },
            Block::Paragraph("Заяву відкликаю; вхідний пакет документів повернуто.".into()),
        ],
        signatures: vec![
            SignatureSlot {
                role: SignerRole::Applicant,
                label: "Заявник".into(),
            },
            SignatureSlot {
                role: SignerRole::Administrator,
                label: "Адміністратор".into(),
            },
        ],
    }
}
