//! `cargo run -p fieldkit-e2e --bin fieldkit-demo`: one home visit through the real crates, in a
//! temporary folder that is removed afterwards.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets");
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => {
            eprintln!(
                "Не вдалося створити тимчасову теку / cannot create a temporary folder: {error}"
            );
            return ExitCode::FAILURE;
        }
    };
    let now = time::OffsetDateTime::now_utc();
    match fieldkit_e2e::run_visit(&assets, dir.path(), now, &mut std::io::stdout()) {
        Ok(report) => {
            println!("Готово / done: {}", report.case_number);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("Помилка / error: {error}");
            ExitCode::FAILURE
        }
    }
}
