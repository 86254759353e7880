//! Quality checks before a page is accepted: too dark, washed out, blurred, cut off at an edge,
//! resolution too low to read. Each issue has a message for the administrator in Ukrainian.

use image::GrayImage;

use crate::pipeline::{normalize_contrast, otsu_threshold, percentile, thumbnail};

/// Mean grey below which a page is too dark to read.
pub const TOO_DARK_MEAN: f64 = 80.0;
/// If even the darkest 1% of pixels are this light, the ink is washed out.
pub const WASHED_OUT_DARKEST: u8 = 150;
/// Variance of the Laplacian (on a 1000-pixel-wide, contrast-stretched copy) below which text
/// is blurred. Measured on generated A4 text pages: sharp ≈ 9200, Gaussian blur σ=1 ≈ 5200,
/// σ=1.5 ≈ 2800, σ=2 ≈ 1500, σ=3 ≈ 520.
pub const BLUR_VARIANCE: f64 = 1500.0;
/// Below this many dots per inch small print is not legible.
pub const MIN_DPI: u32 = 150;

/// One reason to retake a page.
#[derive(Debug, Clone, PartialEq)]
pub enum QualityIssue {
    TooDark { mean: f64 },
    TooBright { darkest: u8 },
    Blurred { sharpness: f64 },
    CutOff { edge: Edge },
    LowResolution { dpi: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    Top,
    Bottom,
    Left,
    Right,
}

impl Edge {
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Edge::Top => ("верхній", "top"),
            Edge::Bottom => ("нижній", "bottom"),
            Edge::Left => ("лівий", "left"),
            Edge::Right => ("правий", "right"),
        }
    }
}

fn cut_off_message(edges: &[Edge]) -> (String, String) {
    let (uk, en): (Vec<_>, Vec<_>) = edges.iter().map(|e| e.names()).unzip();
    let (uk, en) = (uk.join(", "), en.join(", "));
    if edges.len() == 1 {
        (
            format!("Текст обрізано біля краю ({uk} край): захопіть усю сторінку"),
            format!("Text is cut off at the {en} edge: capture the whole page"),
        )
    } else {
        (
            format!("Текст обрізано біля країв ({uk}): захопіть усю сторінку"),
            format!("Text is cut off at the edges ({en}): capture the whole page"),
        )
    }
}

impl QualityIssue {
    pub fn message_uk(&self) -> String {
        self.messages().0
    }

    /// What the administrator reads: Ukrainian, English.
    pub fn messages(&self) -> (String, String) {
        match self {
            Self::TooDark { .. } => (
                "Сторінка надто темна: додайте світла або увімкніть спалах".into(),
                "The page is too dark: add light or turn on the flash".into(),
            ),
            Self::TooBright { .. } => (
                "Сторінка надто світла, текст блідий: приберіть відблиск".into(),
                "The page is too bright and the text faint: avoid the glare".into(),
            ),
            Self::Blurred { .. } => (
                "Сторінка розмита: тримайте планшет нерухомо й наведіть різкість".into(),
                "The page is blurred: hold the tablet still and focus".into(),
            ),
            Self::CutOff { edge } => cut_off_message(&[*edge]),
            Self::LowResolution { dpi } => (
                format!("Замала роздільність (≈{dpi} dpi): потрібно щонайменше {MIN_DPI} dpi"),
                format!("The resolution is too low (≈{dpi} dpi): at least {MIN_DPI} dpi is needed"),
            ),
        }
    }
}

/// A page's issues as messages (Ukrainian, English), in order; the edges it is cut off at make
/// one message, so a page cut all round reads as one line, not four.
pub fn messages(issues: &[QualityIssue]) -> Vec<(String, String)> {
    let edges: Vec<Edge> = issues
        .iter()
        .filter_map(|i| match i {
            QualityIssue::CutOff { edge } => Some(*edge),
            _ => None,
        })
        .collect();
    let mut out = Vec::new();
    let mut edges_said = false;
    for issue in issues {
        match issue {
            QualityIssue::CutOff { .. } if edges_said => {}
            QualityIssue::CutOff { .. } => {
                out.push(cut_off_message(&edges));
                edges_said = true;
            }
            other => out.push(other.messages()),
        }
    }
    out
}

fn mean(image: &GrayImage) -> f64 {
    image.pixels().map(|p| f64::from(p.0[0])).sum::<f64>() / image.len().max(1) as f64
}

/// Sharpness: variance of the 4-neighbour Laplacian on a copy 1000 pixels wide, so the figure
/// does not depend on the scan's resolution.
pub fn sharpness(image: &GrayImage) -> f64 {
    let small = if image.width() > 1000 {
        let height = (image.height() as f64 * 1000.0 / image.width() as f64)
            .round()
            .max(1.0) as u32;
        image::imageops::resize(image, 1000, height, image::imageops::FilterType::Triangle)
    } else {
        image.clone()
    };
    let (width, height) = small.dimensions();
    if width < 3 || height < 3 {
        return 0.0;
    }
    let p = |x: u32, y: u32| f64::from(small.get_pixel(x, y).0[0]);
    let mut values = Vec::with_capacity(((width - 2) * (height - 2)) as usize);
    for y in 1..height - 1 {
        for x in 1..width - 1 {
            values.push(p(x - 1, y) + p(x + 1, y) + p(x, y - 1) + p(x, y + 1) - 4.0 * p(x, y));
        }
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64
}

/// Dots per inch, from the scanner when known, else assuming the page is A4 (8.27 in wide).
pub fn effective_dpi(image: &GrayImage, source_dpi: Option<u32>) -> u32 {
    source_dpi
        .unwrap_or_else(|| (f64::from(image.width().min(image.height())) / 8.27).round() as u32)
}

fn edge_is_cut(image: &GrayImage, edge: Edge, threshold: u8) -> bool {
    let (width, height) = image.dimensions();
    let band = (width.min(height) / 100).max(3);
    let (xs, ys) = match edge {
        Edge::Top => (0..width, 0..band.min(height)),
        Edge::Bottom => (0..width, height.saturating_sub(band)..height),
        Edge::Left => (0..band.min(width), 0..height),
        Edge::Right => (width.saturating_sub(band)..width, 0..height),
    };
    let total = (xs.len() * ys.len()).max(1);
    let dark = ys
        .flat_map(|y| xs.clone().map(move |x| (x, y)))
        .filter(|&(x, y)| image.get_pixel(x, y).0[0] <= threshold)
        .count();
    // Text crossing the edge leaves ink in the outermost band; a clean margin leaves none.
    dark * 100 > total * 4
}

/// Everything wrong with a page, worst first; empty when it is fine.
pub fn assess(image: &GrayImage, source_dpi: Option<u32>) -> Vec<QualityIssue> {
    let mut issues = Vec::new();
    let dpi = effective_dpi(image, source_dpi);
    if dpi < MIN_DPI {
        issues.push(QualityIssue::LowResolution { dpi });
    }
    let mean = mean(image);
    if mean < TOO_DARK_MEAN {
        issues.push(QualityIssue::TooDark { mean });
        return issues;
    }
    // Judge sharpness with the contrast stretched, so a pale but crisp page is not "blurred";
    // on a copy about 1000 pixels wide (A4 portrait), which is also what keeps this quick.
    let sharpness = sharpness(&normalize_contrast(&thumbnail(image, 1414)));
    let darkest = percentile(image, 0.01);
    if sharpness < BLUR_VARIANCE {
        issues.push(QualityIssue::Blurred { sharpness });
    } else if darkest > WASHED_OUT_DARKEST {
        issues.push(QualityIssue::TooBright { darkest });
        return issues;
    }
    let threshold = otsu_threshold(image).min(128);
    for edge in [Edge::Top, Edge::Bottom, Edge::Left, Edge::Right] {
        if edge_is_cut(image, edge, threshold) {
            issues.push(QualityIssue::CutOff { edge });
        }
    }
    issues
}

#[cfg(test)]
mod message_tests {
    use super::*;

    #[test]
    fn a_page_cut_all_round_is_one_message_in_each_language() {
        let issues = [
            QualityIssue::Blurred { sharpness: 900.0 },
            QualityIssue::CutOff { edge: Edge::Top },
            QualityIssue::CutOff { edge: Edge::Bottom },
            QualityIssue::CutOff { edge: Edge::Left },
            QualityIssue::CutOff { edge: Edge::Right },
        ];
        let said = messages(&issues);
        assert_eq!(said.len(), 2);
        assert!(said[0].0.contains("розмита"));
        assert_eq!(
            said[1],
            (
                "Текст обрізано біля країв (верхній, нижній, лівий, правий): захопіть усю сторінку"
                    .to_owned(),
                "Text is cut off at the edges (top, bottom, left, right): capture the whole page"
                    .to_owned()
            )
        );
        assert_eq!(
            messages(&[QualityIssue::CutOff { edge: Edge::Left }])[0].1,
            "Text is cut off at the left edge: capture the whole page"
        );
    }
}
