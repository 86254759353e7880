//! `cargo run -p fieldkit-e2e --bin fieldkit-demo [-- --pdf FILE]`: one home visit through the
//! real crates, in a temporary folder that is removed afterwards; `--pdf` keeps the applicant's
//! signed inventory (of the fictional demo applicant) to look at.

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
            let mut args = std::env::args().skip(1);
            if let (Some(flag), Some(path)) = (args.next(), args.next())
                && flag == "--pdf"
            {
                if let Err(error) = std::fs::write(&path, &report.inventory_pdf) {
                    eprintln!("Не вдалося записати / cannot write {path}: {error}");
                    return ExitCode::FAILURE;
                }
                println!("Опис збережено / inventory saved: {path}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("Помилка / error: {error}");
            ExitCode::FAILURE
        }
    }
}
