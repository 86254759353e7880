//! Rendering a receipt to PDF: A4 pages, DejaVu Sans embedded as a CID font with a ToUnicode
//! map, the QR code and the signatures as vector drawing, a footer with the content's SHA-256.

use fieldkit_capture::signature::{Strokes, smooth};
use fieldkit_domain::case::SignerRole;
use fieldkit_domain::ink::{InkDocument, InkMark};
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use qrcode::{Color, EcLevel, QrCode, Version};

use crate::document::{Block, Receipt, TRACKING_CODE_LABEL};
use crate::font::{FONT_DATA, Font, UsedGlyphs};

/// Why a receipt could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error("the font cannot be read: {0}")]
    Font(String),
    #[error("the QR code cannot be made: {0}")]
    Qr(String),
}

/// A signature to draw in the slot of its role.
pub struct SignedBy<'a> {
    pub role: SignerRole,
    pub strokes: &'a Strokes,
}

const PAGE_WIDTH: f32 = 595.28;
const PAGE_HEIGHT: f32 = 841.89;
const MARGIN: f32 = 50.0;
const BODY: f32 = 11.0;
const SMALL: f32 = 8.0;
const TITLE: f32 = 16.0;
const FOOTER_SPACE: f32 = 36.0;

enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        text: String,
    },
    Fill {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width: f32,
    },
    /// A white disc (the ground of the hryvnia sign in the payment QR).
    WhiteDisc {
        cx: f32,
        cy: f32,
        r: f32,
    },
}

/// Lays blocks out top to bottom, starting a new page when one is full.
struct Layout<'f> {
    font: &'f Font,
    pages: Vec<Vec<Op>>,
    y: f32,
    /// Where the content of every page starts (lower when a corner mark sits above it).
    top: f32,
}

impl<'f> Layout<'f> {
    fn new(font: &'f Font, top: f32) -> Self {
        Self {
            font,
            pages: vec![Vec::new()],
            y: top,
            top,
        }
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// Make room for `height` points, on a new page if needed.
    fn reserve(&mut self, height: f32) {
        if self.y - height < MARGIN + FOOTER_SPACE {
            self.pages.push(Vec::new());
            self.y = self.top;
        }
    }

    fn text_lines(&mut self, x: f32, width: f32, text: &str, size: f32) {
        for line in self.font.wrap(text, size, width) {
            let leading = size * 1.35;
            self.reserve(leading);
            self.y -= leading;
            let y = self.y;
            self.ops().push(Op::Text {
                x,
                y,
                size,
                text: line,
            });
        }
    }

    fn table(&mut self, header: &[String], rows: &[Vec<String>], widths: &[f32]) {
        let total = PAGE_WIDTH - 2.0 * MARGIN;
        let columns: Vec<f32> = widths.iter().map(|w| w * total).collect();
        let size = BODY - 1.0;
        for (index, row) in std::iter::once(header)
            .chain(rows.iter().map(Vec::as_slice))
            .enumerate()
        {
            let wrapped: Vec<Vec<String>> = row
                .iter()
                .zip(&columns)
                .map(|(cell, w)| self.font.wrap(cell, size, w - 6.0))
                .collect();
            let line_count = wrapped.iter().map(Vec::len).max().unwrap_or(1);
            let height = line_count as f32 * size * 1.3 + 6.0;
            self.reserve(height);
            let top = self.y;
            let mut x = MARGIN;
            for (cell, width) in wrapped.iter().zip(&columns) {
                for (i, line) in cell.iter().enumerate() {
                    let y = top - 3.0 - size * 1.05 - i as f32 * size * 1.3;
                    self.ops().push(Op::Text {
                        x: x + 3.0,
                        y,
                        size,
                        text: line.clone(),
                    });
                }
                x += width;
            }
            self.y -= height;
            let weight = if index == 0 { 1.0 } else { 0.4 };
            let y = self.y;
            self.ops().push(Op::Line {
                x1: MARGIN,
                y1: y,
                x2: MARGIN + total,
                y2: y,
                width: weight,
            });
        }
        self.y -= 6.0;
    }

    /// The QR with, beside it, its caption, the tracking code in large type (to type instead
    /// of scanning) and the address it encodes.
    fn qr(&mut self, payload: &str, caption: &str, code: Option<&str>) -> Result<(), ReceiptError> {
        let module = 2.6;
        let modules = qr_width(payload)?;
        let side = modules as f32 * module;
        let text_x = MARGIN + 4.0 * module + side + 6.0 * module;
        let width = PAGE_WIDTH - MARGIN - text_x;
        let mut lines = vec![(caption.to_owned(), BODY)];
        if let Some(code) = code {
            lines.push((format!("{TRACKING_CODE_LABEL}:"), SMALL + 1.0));
            let large = BODY + 3.0;
            lines.extend(
                self.font
                    .wrap(code, large, width)
                    .into_iter()
                    .map(|l| (l, large)),
            );
        }
        let small = SMALL + 1.0;
        lines.extend(
            self.font
                .wrap(payload, small, width)
                .into_iter()
                .map(|l| (l, small)),
        );
        let text_height: f32 = lines.iter().map(|(_, size)| size * 1.5).sum();
        self.reserve(side.max(text_height) + 30.0);
        self.y -= 10.0;
        let (left, top) = (MARGIN + 4.0 * module, self.y);
        draw_qr(payload, left, top, module, self.ops())?;
        let mut y = top - BODY * 1.2;
        for (index, (text, size)) in lines.into_iter().enumerate() {
            if index > 0 {
                y -= size * 1.5;
            }
            self.ops().push(Op::Text {
                x: text_x,
                y,
                size,
                text,
            });
        }
        // Below the QR, or below the text when the text runs longer.
        self.y = (top - side - 8.0 * module).min(y - 8.0 * module);
        Ok(())
    }

    /// The NBU payment QR (Resolution No. 97, annex 1): version 10–17, correction level Q (M
    /// only when the data need it), modules of 2.2 pt (0.78 mm, above the 0.5 mm minimum), a
    /// quiet zone of four modules, and the hryvnia sign on a white disc in the centre.
    fn payment_qr(&mut self, payload: &str, caption: &str) -> Result<(), ReceiptError> {
        let code = nbu_payment_code(payload)?;
        let version = match code.version() {
            Version::Normal(v) | Version::Micro(v) => v,
        };
        let modules = code.width();
        let module = 2.2;
        let side = modules as f32 * module;
        self.reserve(side + 8.0 * module + 10.0);
        self.y -= 4.0 * module;
        let (left, top) = (MARGIN + 4.0 * module, self.y);
        draw_code(&code, left, top, module, self.ops());
        // Annex 1, p. 11: the disc grows from 17 modules across at version 10 to 25 at 17.
        let disc = 17.0 + (f32::from(version) - 10.0) * 8.0 / 7.0;
        let (cx, cy) = (left + side / 2.0, top - side / 2.0);
        let r = disc * module / 2.0;
        self.ops().push(Op::WhiteDisc { cx, cy, r });
        let sign = "₴";
        let size = r * 1.45;
        let width = self.font.width(sign, size);
        self.ops().push(Op::Text {
            x: cx - width / 2.0,
            y: cy - size * 0.36,
            size,
            text: sign.into(),
        });
        let text_x = left + side + 8.0 * module;
        let width = PAGE_WIDTH - MARGIN - text_x;
        for (i, line) in self.font.wrap(caption, BODY, width).into_iter().enumerate() {
            let y = top - BODY * 1.2 - i as f32 * BODY * 1.35;
            self.ops().push(Op::Text {
                x: text_x,
                y,
                size: BODY,
                text: line,
            });
        }
        self.y = top - side - 6.0 * module;
        Ok(())
    }

    fn signature_boxes(&mut self, receipt: &Receipt, signed: &[SignedBy<'_>]) {
        let (box_w, box_h) = (220.0, 70.0);
        self.reserve(box_h + 40.0);
        self.y -= 14.0;
        for (i, slot) in receipt.signatures.iter().enumerate() {
            let x = MARGIN + i as f32 * (box_w + 35.0);
            let bottom = self.y - box_h;
            self.ops().push(Op::Line {
                x1: x,
                y1: bottom,
                x2: x + box_w,
                y2: bottom,
                width: 0.6,
            });
            self.ops().push(Op::Text {
                x,
                y: bottom - 12.0,
                size: SMALL + 1.0,
                text: format!("Підпис: {}", slot.label),
            });
            if let Some(signature) = signed.iter().find(|s| s.role == slot.role) {
                self.draw_strokes(signature.strokes, x, bottom, box_w, box_h);
            }
        }
        self.y -= box_h + 24.0;
    }

    /// Fit the pad into the box, keeping proportions; PDF's y axis points up.
    fn draw_strokes(&mut self, strokes: &Strokes, x: f32, bottom: f32, w: f32, h: f32) {
        let scale = (w / strokes.width.max(1) as f32).min(h / strokes.height.max(1) as f32);
        for stroke in &strokes.strokes {
            let ink = smooth(stroke);
            for pair in ink.windows(2) {
                self.ops().push(Op::Line {
                    x1: x + pair[0].x * scale,
                    y1: bottom + h - pair[0].y * scale,
                    x2: x + pair[1].x * scale,
                    y2: bottom + h - pair[1].y * scale,
                    width: (pair[0].width + pair[1].width) / 2.0 * scale,
                });
            }
        }
    }
}

fn qr_code(payload: &str) -> Result<QrCode, ReceiptError> {
    QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)
        .map_err(|e| ReceiptError::Qr(e.to_string()))
}

/// Modules on a side of the QR code for `payload`.
fn qr_width(payload: &str) -> Result<usize, ReceiptError> {
    Ok(qr_code(payload)?.width())
}

/// Draw the QR code for `payload` with its top-left corner at (`left`, `top`).
fn draw_qr(
    payload: &str,
    left: f32,
    top: f32,
    module: f32,
    ops: &mut Vec<Op>,
) -> Result<(), ReceiptError> {
    draw_code(&qr_code(payload)?, left, top, module, ops);
    Ok(())
}

/// Draw the dark modules of `code` with its top-left corner at (`left`, `top`).
fn draw_code(code: &QrCode, left: f32, top: f32, module: f32, ops: &mut Vec<Op>) {
    let modules = code.width();
    let colors = code.to_colors();
    for row in 0..modules {
        // One rectangle per run of dark modules keeps the PDF small.
        let mut column = 0;
        while column < modules {
            if colors[row * modules + column] != Color::Dark {
                column += 1;
                continue;
            }
            let start = column;
            while column < modules && colors[row * modules + column] == Color::Dark {
                column += 1;
            }
            ops.push(Op::Fill {
                x: left + start as f32 * module,
                y: top - (row + 1) as f32 * module,
                w: (column - start) as f32 * module,
                h: module,
            });
        }
    }
}

/// A mark's module: 0.85 mm, five pixels in a 150 dpi scan: smaller ones are missed beside a
/// larger code on the same sheet (the reader looks at a reduced page first).
const MARK_MODULE: f32 = 2.4;

/// Render `receipt` with the signatures given (none for the copy shown before signing).
pub fn render_pdf(receipt: &Receipt, signed: &[SignedBy<'_>]) -> Result<Vec<u8>, ReceiptError> {
    let font = Font::load()?;
    let layout = lay_out(&font, receipt, signed, PAGE_HEIGHT - MARGIN)?;
    write_pdf(&font, layout.pages, receipt)
}

/// Render `receipt` to be signed in ink: the same content, with a mark (the case number, the
/// document, the sheet and the content's hash, see `fieldkit_domain::ink`) as a QR code in the
/// top right corner of every sheet, so a scan of each signed sheet can be bound to exactly
/// this content.
pub fn render_pdf_for_ink(
    receipt: &Receipt,
    signed: &[SignedBy<'_>],
    case_number: &str,
    document: InkDocument,
) -> Result<Vec<u8>, ReceiptError> {
    let font = Font::load()?;
    let mark = |sheet: usize, sheets: usize| InkMark {
        case_number: case_number.to_owned(),
        document,
        content_sha256: receipt.content_sha256(),
        sheet: u16::try_from(sheet).unwrap_or(u16::MAX),
        sheets: u16::try_from(sheets).unwrap_or(u16::MAX),
    };
    // The widest mark a document of many sheets can carry sets the room left above content.
    let side = qr_width(&mark(999, 999).payload())? as f32 * MARK_MODULE;
    let top = (PAGE_HEIGHT - 18.0 - side - 6.0 * MARK_MODULE).min(PAGE_HEIGHT - MARGIN);
    let mut layout = lay_out(&font, receipt, signed, top)?;
    let sheets = layout.pages.len();
    for (index, page) in layout.pages.iter_mut().enumerate() {
        let payload = mark(index + 1, sheets).payload();
        let side = qr_width(&payload)? as f32 * MARK_MODULE;
        draw_qr(
            &payload,
            PAGE_WIDTH - MARGIN - side,
            PAGE_HEIGHT - 18.0,
            MARK_MODULE,
            page,
        )?;
    }
    write_pdf(&font, layout.pages, receipt)
}

fn lay_out<'f>(
    font: &'f Font,
    receipt: &Receipt,
    signed: &[SignedBy<'_>],
    top: f32,
) -> Result<Layout<'f>, ReceiptError> {
    let mut layout = Layout::new(font, top);
    let text_width = PAGE_WIDTH - 2.0 * MARGIN;
    for block in &receipt.blocks {
        match block {
            Block::Title(text) => {
                layout.text_lines(MARGIN, text_width, text, TITLE);
                layout.y -= 8.0;
            }
            Block::Paragraph(text) => layout.text_lines(MARGIN, text_width, text, BODY),
            Block::Field { label, value } => {
                layout.text_lines(MARGIN, text_width, &format!("{label}: {value}"), BODY)
            }
            Block::Table {
                header,
                rows,
                widths,
            } => {
                layout.y -= 6.0;
                layout.table(header, rows, widths);
            }
            Block::Qr {
                payload,
                caption,
                code,
            } => layout.qr(payload, caption, code.as_deref())?,
            Block::PaymentQr { payload, caption } => layout.payment_qr(payload, caption)?,
        }
    }
    layout.signature_boxes(receipt, signed);
    Ok(layout)
}

/// The smallest code of version 10 to 17 that holds `payload`, at level Q if it fits there and
/// at M otherwise: the resolution allows no other versions, and L not under the hryvnia sign.
fn nbu_payment_code(payload: &str) -> Result<QrCode, ReceiptError> {
    [EcLevel::Q, EcLevel::M]
        .into_iter()
        .flat_map(|level| (10..=17).map(move |version| (level, version)))
        .find_map(|(level, version)| {
            QrCode::with_version(payload.as_bytes(), Version::Normal(version), level).ok()
        })
        .ok_or_else(|| {
            ReceiptError::Qr("the payment data do not fit a QR code of version 10–17".into())
        })
}

fn write_pdf(font: &Font, pages: Vec<Vec<Op>>, receipt: &Receipt) -> Result<Vec<u8>, ReceiptError> {
    let content_sha256 = receipt.content_sha256();
    let mut pdf = Pdf::new();
    let mut next = 1;
    let mut new_ref = || {
        next += 1;
        Ref::new(next - 1)
    };
    let (catalog, page_tree, font_ref, cid_ref, descriptor, font_file, cmap_ref) = (
        new_ref(),
        new_ref(),
        new_ref(),
        new_ref(),
        new_ref(),
        new_ref(),
        new_ref(),
    );
    let page_refs: Vec<(Ref, Ref)> = pages.iter().map(|_| (new_ref(), new_ref())).collect();
    let font_name = Name(b"F1");
    let mut used = UsedGlyphs::default();
    let page_count = pages.len();

    for (number, (ops, (page_ref, content_ref))) in pages.into_iter().zip(&page_refs).enumerate() {
        let mut content = Content::new();
        let footer = format!(
            "SHA-256 змісту, який підписано: {content_sha256} · сторінка {} з {page_count}",
            number + 1
        );
        let all = ops.into_iter().chain(std::iter::once(Op::Text {
            x: MARGIN,
            y: MARGIN - 8.0,
            size: 6.5,
            text: footer,
        }));
        for op in all {
            match op {
                Op::Text { x, y, size, text } => {
                    let encoded = used.encode(font, &text);
                    content
                        .begin_text()
                        .set_font(font_name, size)
                        .next_line(x, y)
                        .show(Str(&encoded))
                        .end_text();
                }
                Op::Fill { x, y, w, h } => {
                    content.set_fill_gray(0.0).rect(x, y, w, h).fill_nonzero();
                }
                Op::WhiteDisc { cx, cy, r } => {
                    // Four Bézier quarters; the state is restored so text after it stays black.
                    let k = 0.552_285 * r;
                    content.save_state().set_fill_gray(1.0);
                    content.move_to(cx + r, cy);
                    content.cubic_to(cx + r, cy + k, cx + k, cy + r, cx, cy + r);
                    content.cubic_to(cx - k, cy + r, cx - r, cy + k, cx - r, cy);
                    content.cubic_to(cx - r, cy - k, cx - k, cy - r, cx, cy - r);
                    content.cubic_to(cx + k, cy - r, cx + r, cy - k, cx + r, cy);
                    content.close_path().fill_nonzero().restore_state();
                }
                Op::Line {
                    x1,
                    y1,
                    x2,
                    y2,
                    width,
                } => {
                    content
                        .set_stroke_gray(0.0)
                        .set_line_width(width.max(0.3))
                        .set_line_cap(pdf_writer::types::LineCapStyle::RoundCap)
                        .move_to(x1, y1)
                        .line_to(x2, y2)
                        .stroke();
                }
            }
        }
        let data = content.finish();
        pdf.stream(*content_ref, &data);
        let mut page = pdf.page(*page_ref);
        page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT))
            .parent(page_tree)
            .contents(*content_ref);
        page.resources().fonts().pair(font_name, font_ref);
        page.finish();
    }

    pdf.catalog(catalog).pages(page_tree);
    // The signed content's hash in the document information too, where a program finds it
    // without extracting text: the server checks signatures against the inventory with it;
    // and which paper it is, for a reader that holds several PDFs of one case.
    let info = new_ref();
    pdf.document_info(info)
        .subject(TextStr(&format!(
            "fieldkit-content-sha256:{content_sha256}"
        )))
        .keywords(TextStr(&format!(
            "fieldkit-document:{}",
            receipt.kind.code()
        )));
    pdf.pages(page_tree)
        .kids(page_refs.iter().map(|(page, _)| *page))
        .count(page_count as i32);

    let base = Name(b"DejaVuSans");
    let system = SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };
    pdf.type0_font(font_ref)
        .base_font(base)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid_ref)
        .to_unicode(cmap_ref);
    let mut cid = pdf.cid_font(cid_ref);
    cid.subtype(CidFontType::Type2)
        .base_font(base)
        .system_info(system)
        .font_descriptor(descriptor);
    cid.cid_to_gid_map_predefined(Name(b"Identity"));
    {
        let mut widths = cid.widths();
        for &glyph in used.0.keys() {
            widths.consecutive(glyph, [font.advance(glyph)]);
        }
    }
    cid.finish();
    pdf.font_descriptor(descriptor)
        .name(base)
        .flags(FontFlags::NON_SYMBOLIC)
        .bbox(Rect::new(-1021.0, -463.0, 1793.0, 1232.0))
        .italic_angle(0.0)
        .ascent(font.ascent())
        .descent(font.descent())
        .cap_height(729.0)
        .stem_v(80.0)
        .font_file2(font_file);
    let mut cmap = UnicodeCmap::new(Name(b"Custom"), system);
    for (&glyph, &c) in &used.0 {
        cmap.pair(glyph, c);
    }
    let cmap_data = cmap.finish();
    pdf.cmap(cmap_ref, &cmap_data);
    let compressed = compressed_font();
    pdf.stream(font_file, compressed)
        .filter(Filter::FlateDecode)
        .pair(Name(b"Length1"), FONT_DATA.len() as i32);
    Ok(pdf.finish())
}

/// The font file, zlib-compressed once per process (miniz_oxide is already in the tree through
/// the PNG codec). The whole font is embedded: subsetting would make receipts smaller.
fn compressed_font() -> &'static [u8] {
    static COMPRESSED: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    COMPRESSED.get_or_init(|| miniz_oxide::deflate::compress_to_vec_zlib(FONT_DATA, 8))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn version(code: &QrCode) -> i16 {
        match code.version() {
            Version::Normal(v) | Version::Micro(v) => v,
        }
    }

    #[test]
    fn payment_code_is_version_10_to_17_at_level_q_while_it_fits() {
        let short = nbu_payment_code("https://qr.bank.gov.ua/QkNE").unwrap();
        assert_eq!(
            (version(&short), short.error_correction_level()),
            (10, EcLevel::Q)
        );
        // 480 bytes pass level Q of version 17 and need M.
        let long = format!("https://qr.bank.gov.ua/{}", "a".repeat(457));
        let code = nbu_payment_code(&long).unwrap();
        assert_eq!(code.error_correction_level(), EcLevel::M);
        assert!((10..=17).contains(&version(&code)));
        assert!(nbu_payment_code(&"a".repeat(700)).is_err());
    }
}
