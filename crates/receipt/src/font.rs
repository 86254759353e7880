//! The embedded font: DejaVu Sans from assets, measured with ttf-parser so lines wrap right.

use std::collections::BTreeMap;

use ttf_parser::Face;

use crate::ReceiptError;

pub(crate) static FONT_DATA: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

pub(crate) struct Font {
    face: Face<'static>,
    units_per_em: f32,
}

impl Font {
    pub(crate) fn load() -> Result<Self, ReceiptError> {
        let face = Face::parse(FONT_DATA, 0).map_err(|e| ReceiptError::Font(e.to_string()))?;
        let units_per_em = f32::from(face.units_per_em());
        Ok(Self { face, units_per_em })
    }

    pub(crate) fn glyph(&self, c: char) -> u16 {
        self.face.glyph_index(c).map_or(0, |g| g.0)
    }

    /// Advance of a glyph in thousandths of the font size (PDF's unit for widths).
    pub(crate) fn advance(&self, glyph: u16) -> f32 {
        let units = self
            .face
            .glyph_hor_advance(ttf_parser::GlyphId(glyph))
            .unwrap_or(0);
        f32::from(units) * 1000.0 / self.units_per_em
    }

    pub(crate) fn width(&self, text: &str, size: f32) -> f32 {
        text.chars()
            .map(|c| self.advance(self.glyph(c)))
            .sum::<f32>()
            * size
            / 1000.0
    }

    pub(crate) fn ascent(&self) -> f32 {
        f32::from(self.face.ascender()) * 1000.0 / self.units_per_em
    }

    pub(crate) fn descent(&self) -> f32 {
        f32::from(self.face.descender()) * 1000.0 / self.units_per_em
    }

    /// Break `text` into lines no wider than `max_width` at `size`, at spaces where possible.
    pub(crate) fn wrap(&self, text: &str, size: f32, max_width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split(' ') {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if self.width(&candidate, size) <= max_width || line.is_empty() {
                line = candidate;
            } else {
                lines.push(std::mem::take(&mut line));
                line = word.to_owned();
            }
            // A single word wider than the line is cut by characters.
            while self.width(&line, size) > max_width && line.chars().count() > 1 {
                let mut head = String::new();
                for c in line.chars() {
                    if self.width(&format!("{head}{c}"), size) > max_width {
                        break;
                    }
                    head.push(c);
                }
                let rest: String = line.chars().skip(head.chars().count().max(1)).collect();
                lines.push(if head.is_empty() {
                    line.chars().take(1).collect()
                } else {
                    head
                });
                line = rest;
            }
        }
        if !line.is_empty() || lines.is_empty() {
            lines.push(line);
        }
        lines
    }
}

/// The glyphs a document used, for the PDF's widths and ToUnicode map (so text can be copied
/// and searched, and `pdftotext` reads it back exactly).
#[derive(Default)]
pub(crate) struct UsedGlyphs(pub(crate) BTreeMap<u16, char>);

impl UsedGlyphs {
    /// Glyph ids of `text` as the two-byte codes of an Identity-H font, recording each.
    pub(crate) fn encode(&mut self, font: &Font, text: &str) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            let glyph = font.glyph(c);
            self.0.entry(glyph).or_insert(c);
            bytes.extend_from_slice(&glyph.to_be_bytes());
        }
        bytes
    }
}

/// Text measured in the receipts' typeface, DejaVu Sans — also the screens' — so the tablet
/// cuts the very document it shows into pages that fit, with the PDF's line breaking.
pub struct TextMeasure(Font);

impl TextMeasure {
    pub fn new() -> Result<Self, ReceiptError> {
        Font::load().map(Self)
    }

    /// How many lines `text` takes at `size` (points or pixels alike) in `width`.
    pub fn lines(&self, text: &str, size: f32, width: f32) -> usize {
        self.0.wrap(text, size, width).len()
    }
}
