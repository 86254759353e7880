//! The documents the applicant signs, as the screen shows them: the very `Receipt` blocks the
//! PDF renders (and whose content text is hashed), turned into rows — the title, fields,
//! paragraphs, a real table — and cut into pages that fit the tablet at the chosen text size,
//! so the applicant turns pages instead of scrolling a long column of text.

use fieldkit_receipt::{Block, Receipt, TRACKING_CODE_LABEL, TextMeasure};

/// What a row of the document is on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    Title = 0,
    Field = 1,
    Paragraph = 2,
    TableHeader = 3,
    TableRow = 4,
    Signature = 5,
}

/// One row of a document on screen.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewRow {
    pub kind: RowKind,
    pub label: String,
    pub value: String,
    pub cells: Vec<String>,
    /// Each table column's share of the width, as the PDF lays it out.
    pub widths: Vec<f32>,
}

impl ViewRow {
    fn text(kind: RowKind, label: &str, value: &str) -> Self {
        Self {
            kind,
            label: label.to_owned(),
            value: value.to_owned(),
            cells: Vec::new(),
            widths: Vec::new(),
        }
    }
}

/// The text sizes the applicant can choose with «Більше» / «Менше», in pixels; the smallest
/// is still above the 20 px floor for applicant-facing text.
pub const TEXT_SIZES: [f32; 4] = [22.0, 26.0, 30.0, 36.0];
pub const DEFAULT_TEXT_LEVEL: usize = 1;

/// The document area on the 1280×800 tablet beside the signature column, in pixels.
const AREA_WIDTH: f32 = 740.0;
const AREA_HEIGHT: f32 = 590.0;
const ROW_GAP: f32 = 8.0;
/// A field's label takes this share of the row; the value the rest.
pub const LABEL_SHARE: f32 = 0.38;

/// The rows of one document, top to bottom, including its signature slots.
pub fn rows(receipt: &Receipt) -> Vec<ViewRow> {
    let mut rows = Vec::new();
    for block in &receipt.blocks {
        match block {
            Block::Title(text) => rows.push(ViewRow::text(RowKind::Title, "", text)),
            Block::Paragraph(text) => rows.push(ViewRow::text(RowKind::Paragraph, "", text)),
            Block::Field { label, value } => rows.push(ViewRow::text(RowKind::Field, label, value)),
            Block::Table {
                header,
                rows: body,
                widths,
            } => {
                let row = |kind, cells: &Vec<String>| ViewRow {
                    kind,
                    label: String::new(),
                    value: String::new(),
                    cells: cells.clone(),
                    widths: widths.clone(),
                };
                rows.push(row(RowKind::TableHeader, header));
                rows.extend(body.iter().map(|cells| row(RowKind::TableRow, cells)));
            }
            // The QR code itself is printed; on screen its caption and address say the same,
            // and the tracking code follows as the paper prints it.
            Block::Qr {
                payload,
                caption,
                code,
            } => {
                rows.push(ViewRow::text(RowKind::Field, caption, payload));
                if let Some(code) = code {
                    rows.push(ViewRow::text(RowKind::Field, TRACKING_CODE_LABEL, code));
                }
            }
            Block::PaymentQr { payload, caption } => {
                rows.push(ViewRow::text(RowKind::Field, caption, payload))
            }
        }
    }
    rows.extend(
        receipt
            .signatures
            .iter()
            .map(|slot| ViewRow::text(RowKind::Signature, "Підпис", &slot.label)),
    );
    rows
}

/// How tall a row is expected to be at `px`, in pixels, wrapped as the screen wraps it.
fn height(measure: &TextMeasure, row: &ViewRow, px: f32) -> f32 {
    // Bold runs a little wider than the regular face the measure knows.
    let lines = |text: &str, width: f32, bold: bool| {
        let width = if bold { width * 0.9 } else { width };
        measure.lines(text, px, width) as f32
    };
    let leading = px * 1.2;
    let text_lines = match row.kind {
        RowKind::Title => {
            return lines(&row.value, AREA_WIDTH / 1.25, true) * px * 1.25 * 1.2 + ROW_GAP;
        }
        RowKind::Field => {
            let label = (AREA_WIDTH - 12.0) * LABEL_SHARE;
            lines(&row.label, label, false).max(lines(&row.value, AREA_WIDTH - 12.0 - label, true))
        }
        RowKind::Paragraph => lines(&row.value, AREA_WIDTH, false),
        RowKind::Signature => lines(
            &format!("{}: {}  ______________", row.label, row.value),
            AREA_WIDTH,
            false,
        ),
        RowKind::TableHeader | RowKind::TableRow => {
            // Cells share what is left after the padding and the gaps between them.
            let free = AREA_WIDTH - 12.0 - 8.0 * row.cells.len().saturating_sub(1) as f32;
            row.cells
                .iter()
                .zip(&row.widths)
                .map(|(cell, share)| lines(cell, free * share, row.kind == RowKind::TableHeader))
                .fold(1.0, f32::max)
        }
    };
    let frame = if row.cells.is_empty() { 0.0 } else { 14.0 };
    text_lines * leading + ROW_GAP + frame
}

/// The PDF's column shares, widened where a header word would not fit on screen at `px`
/// («Аркушів» in a 12 % column at large type), the width taken from the widest column.
fn fit_columns(header: &[String], widths: &[f32], px: f32, measure: &TextMeasure) -> Vec<f32> {
    let free = AREA_WIDTH - 12.0 - 8.0 * header.len().saturating_sub(1) as f32;
    let mut fitted = widths.to_vec();
    for (index, title) in header.iter().enumerate() {
        // The narrowest share in which every word of the title stays on one line (bold).
        let needed = title
            .split(' ')
            .map(|word| {
                (1..=100)
                    .map(|percent| percent as f32 / 100.0)
                    .find(|share| measure.lines(word, px, free * share * 0.9) == 1)
                    .unwrap_or(1.0)
            })
            .fold(0.0, f32::max);
        let Some(current) = fitted.get(index).copied() else {
            continue;
        };
        if needed > current {
            let widest = (0..fitted.len())
                .filter(|i| *i != index)
                .max_by(|a, b| fitted[*a].total_cmp(&fitted[*b]));
            if let Some(widest) = widest {
                let moved = (needed - current).min(fitted[widest] * 0.5);
                fitted[widest] -= moved;
                fitted[index] += moved;
            }
        }
    }
    fitted
}

/// The documents cut into pages at text size `px`: each document starts on a new page, a
/// table continued on the next page repeats its header there, and a header never ends a page.
pub fn pages(documents: &[Vec<ViewRow>], px: f32, measure: &TextMeasure) -> Vec<Vec<ViewRow>> {
    let mut pages = Vec::new();
    for rows in documents {
        let mut page: Vec<ViewRow> = Vec::new();
        let mut used = 0.0;
        let mut header: Option<ViewRow> = None;
        let mut widths = Vec::new();
        for row in rows {
            if row.kind == RowKind::TableHeader {
                widths = fit_columns(&row.cells, &row.widths, px, measure);
            }
            let fitted;
            let row = if row.cells.is_empty() {
                row
            } else {
                fitted = ViewRow {
                    widths: widths.clone(),
                    ..row.clone()
                };
                &fitted
            };
            match row.kind {
                RowKind::TableHeader => header = Some(row.clone()),
                RowKind::TableRow => {}
                _ => header = None,
            }
            let needed = height(measure, row, px);
            if !page.is_empty() && used + needed > AREA_HEIGHT {
                if row.kind == RowKind::TableRow
                    && page.last().is_some_and(|r| r.kind == RowKind::TableHeader)
                {
                    page.pop();
                }
                if !page.is_empty() {
                    pages.push(std::mem::take(&mut page));
                }
                used = 0.0;
                if let (RowKind::TableRow, Some(header)) = (row.kind, &header) {
                    used += height(measure, header, px);
                    page.push(header.clone());
                }
            }
            used += needed;
            page.push(row.clone());
        }
        if !page.is_empty() {
            pages.push(page);
        }
    }
    pages
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldkit_domain::common::DocumentForm;
    use fieldkit_receipt::{InventoryInput, InventoryItem, inventory};

    fn measure() -> TextMeasure {
        TextMeasure::new().unwrap()
    }

    fn receipt(documents: usize) -> Receipt {
        inventory(&InventoryInput {
            centre: "ЦНАП міста Львова".into(),
            case_number: "LV01/T07/2026/000123-5".into(),
            registered_at: "27.11.2026 10:30".into(),
            service: "00001 Декларування місця проживання".into(),
            applicant: "Шевченко Марія Іванівна".into(),
            representative: None,
            documents: (0..documents)
                .map(|i| InventoryItem {
                    title: format!("Документ № {} — довідка з пенсійного фонду", i + 1),
                    form: DocumentForm::Copy,
                    pages: 1,
                })
                .collect(),
            conditions: Vec::new(),
            fee: None,
            conforms: true,
            missing: Vec::new(),
            override_note: None,
            notification: "SMS на +380671234567".into(),
            delivery: "у ЦНАП".into(),
            administrator: "Коваленко Олена Петрівна".into(),
            tracking_url: "https://cnap.example.ua/track/LV01/T07/2026/000123-5".into(),
            tracking_code: None,
            applicant_cannot_sign: None,
            payment: None,
            centre_contacts: None,
            provider_contacts: None,
        })
    }

    #[test]
    fn the_screen_shows_every_line_that_is_signed_and_the_title_once() {
        let receipt = receipt(3);
        let rows = rows(&receipt);
        let titles = rows.iter().filter(|r| r.kind == RowKind::Title).count();
        assert_eq!(titles, 1);
        let table_rows = rows.iter().filter(|r| r.kind == RowKind::TableRow).count();
        assert_eq!(table_rows, 3);
        // Every signed line appears on screen, as a field, a cell or a slot.
        let shown: String = rows
            .iter()
            .map(|r| format!("{} {} {}", r.label, r.value, r.cells.join(" ")))
            .collect::<Vec<_>>()
            .join("\n");
        for line in receipt.content_lines() {
            let words = line.0.replace(" | ", " ");
            for word in words.split([' ', ':']).filter(|w| !w.is_empty()) {
                assert!(shown.contains(word), "«{word}» of «{}» not shown", line.0);
            }
        }
    }

    #[test]
    fn a_long_table_continues_on_the_next_page_under_its_header() {
        let documents = [rows(&receipt(30))];
        let pages = pages(&documents, TEXT_SIZES[DEFAULT_TEXT_LEVEL], &measure());
        assert!(pages.len() >= 3, "{} pages", pages.len());
        let second = &pages[1];
        assert_eq!(second[0].kind, RowKind::TableHeader);
        assert_eq!(second[1].kind, RowKind::TableRow);
        // Nothing lost or doubled apart from the repeated headers.
        let body: usize = pages
            .iter()
            .flatten()
            .filter(|r| r.kind != RowKind::TableHeader)
            .count();
        assert_eq!(body, documents[0].len() - 1);
    }

    #[test]
    fn larger_text_takes_more_pages() {
        let documents = [rows(&receipt(8))];
        let small = pages(&documents, TEXT_SIZES[0], &measure()).len();
        let large = pages(&documents, TEXT_SIZES[3], &measure()).len();
        assert!(large > small, "{small} pages at 22 px, {large} at 36 px");
    }

    #[test]
    fn each_document_starts_on_its_own_page() {
        let documents = [rows(&receipt(1)), rows(&receipt(1))];
        let pages = pages(&documents, TEXT_SIZES[0], &measure());
        let starts: Vec<usize> = pages
            .iter()
            .enumerate()
            .filter(|(_, p)| p[0].kind == RowKind::Title)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(starts.len(), 2);
        assert_eq!(
            pages
                .iter()
                .flatten()
                .filter(|r| r.kind == RowKind::Title)
                .count(),
            2
        );
    }
}
