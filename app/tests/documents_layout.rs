//! The Documents checklist at 1280×800, the tablet's own screen: every row keeps its words
//! inside it, however long the document's name (the declaration of residence is «Декларація
//! про місце проживання (за формою, встановленою КМУ)»), in Ukrainian and in English. A
//! screenshot of each is written to the test's output folder.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use fieldkit_app::RunningApp;
use fieldkit_app::demo::DEMO_PASSPHRASE;
use fieldkit_app::i18n::Lang;
use fieldkit_app::ui::{App, DocumentsPage, Screen};
use i_slint_backend_testing::ElementHandle;
use slint::{ComponentHandle, LogicalSize, Model};

const DECLARATION: &str = "Декларація про місце проживання";
/// How a checklist row starts: captured, undecided condition, missing, optional.
const MARKS: [&str; 4] = ["✓ ", "? ", "✗ ", "○ "];

/// Top-left and bottom-right corners of an element, in the window's logical pixels.
fn rect(element: &ElementHandle) -> (f32, f32, f32, f32) {
    let (at, size) = (element.absolute_position(), element.size());
    (at.x, at.y, at.x + size.width, at.y + size.height)
}

fn overlaps(a: (f32, f32, f32, f32), b: (f32, f32, f32, f32)) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

fn inside(inner: (f32, f32, f32, f32), outer: (f32, f32, f32, f32)) -> bool {
    const SLACK: f32 = 1.0;
    inner.0 >= outer.0 - SLACK
        && inner.1 >= outer.1 - SLACK
        && inner.2 <= outer.2 + SLACK
        && inner.3 <= outer.3 + SLACK
}

/// Every element showing a row's title (the row itself, the title's text) lies inside the
/// row, the largest of them, and the row inside the window. Returns how many rows had a text
/// to check, so a layout that exposes no text cannot pass by checking nothing.
fn rows_hold_their_titles(app: &RunningApp, window: (f32, f32)) -> usize {
    let checklist = app.window.global::<DocumentsPage>().get_checklist();
    let mut checked = 0;
    for row in checklist.iter() {
        let title = row.title.to_string();
        let wanted = title.clone();
        let shown: Vec<(String, (f32, f32, f32, f32))> =
            i_slint_backend_testing::ElementQuery::from_root(&app.window)
                .match_predicate(move |e| {
                    e.accessible_label()
                        .is_some_and(|l| l.contains(wanted.as_str()))
                })
                .find_all()
                .iter()
                .map(|e| (e.accessible_label().unwrap().to_string(), rect(e)))
                .collect();
        // The row's label starts with its mark (✓ ? ✗ ○); the pane beside the list may show
        // the same title as its heading, which is no part of the row.
        let Some(row_rect) = shown
            .iter()
            .filter(|(label, _)| MARKS.iter().any(|m| label.starts_with(m)))
            .map(|(_, r)| *r)
            .max_by(|a, b| ((a.2 - a.0) * (a.3 - a.1)).total_cmp(&((b.2 - b.0) * (b.3 - b.1))))
        else {
            panic!("no row for «{title}»: {:?}", labels(app));
        };
        let texts: Vec<(f32, f32, f32, f32)> = shown
            .iter()
            .map(|(_, r)| *r)
            .filter(|r| *r != row_rect && overlaps(*r, row_rect))
            .collect();
        // Rows scrolled below the list's edge are clipped by it, not spilled: only what is in
        // the window is checked.
        if row_rect.3 > window.1 {
            continue;
        }
        assert!(
            inside(row_rect, (0.0, 0.0, window.0, window.1)),
            "the row «{title}» {row_rect:?} leaves the {window:?} window"
        );
        for text in &texts {
            assert!(
                inside(*text, row_rect),
                "«{title}» spills out of its row: text {text:?}, row {row_rect:?}"
            );
        }
        checked += usize::from(!texts.is_empty());
    }
    checked
}

fn save_screenshot(app: &RunningApp, name: &str) {
    let shot = app.window.window().take_snapshot().unwrap();
    let image =
        image::RgbaImage::from_raw(shot.width(), shot.height(), shot.as_bytes().to_vec()).unwrap();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    image.save(&path).unwrap();
    println!("{}", path.display());
}

#[test]
fn long_document_names_stay_inside_their_rows_at_1280_by_800() {
    init_headless();
    let folder = tempfile::tempdir().unwrap();
    let mut demo_config = config(folder.path());
    let _demo = fieldkit_app::demo::prepare(&mut demo_config).unwrap();
    // Tall while typing (no field scrolled out of reach), the tablet's size for the check.
    let app = open(config(folder.path()), 1920.0, 2000.0);
    fieldkit_app::i18n::apply(Lang::Uk);
    type_into(&app, "Парольна фраза", DEMO_PASSPHRASE);
    tap(&app, "Розблокувати");
    tap(&app, "Новий виїзд");
    tap(&app, "Пошук");
    type_into(&app, "Слова з назви послуги", "декларування");
    tap(&app, "Декларування місця проживання");
    tap(&app, "Подати заяву на цю послугу");
    type_into(&app, "Прізвище", "Шевченко");
    type_into(&app, "Ім'я", "Марія");
    type_into(&app, "Дата народження (ДД.ММ.РРРР)", "15.03.1946");
    type_into(&app, "Адреса", "м. Львів, вул. Зелена, 12, кв. 3");
    tap(&app, "Далі: документи");
    assert_eq!(app.window.global::<App>().get_screen(), Screen::Documents);

    // A page for the declaration, so its row carries the page count beside the long name.
    let import = folder.path().join("import");
    std::fs::create_dir_all(&import).unwrap();
    image::GrayImage::from_fn(1240, 1754, |x, y| {
        image::Luma([if (x / 40 + y / 40) % 7 == 0 { 30 } else { 240 }])
    })
    .save(import.join("page.png"))
    .unwrap();
    tap_containing(&app, DECLARATION);
    type_into(&app, "Тека для імпорту", import.to_str().unwrap());
    tap(&app, "Імпорт із теки");
    wait_for(&app, "the imported page on the declaration's row", |app| {
        has_containing(app, "— 1 арк.")
    });

    app.window
        .window()
        .set_size(LogicalSize::new(1280.0, 800.0));
    for (lang, name) in [(Lang::Uk, "uk"), (Lang::En, "en")] {
        fieldkit_app::i18n::apply(lang);
        let checked = rows_hold_their_titles(&app, (1280.0, 800.0));
        assert!(checked > 0, "no row's text was found to check ({name})");
        save_screenshot(&app, &format!("documents-{name}-1280x800.png"));
    }
}
