//! CI's share of the fuzzing: every stored input of every target (the seeds, what the long runs
//! kept, and each crash once fixed) is run through the target's body on the stable toolchain,
//! without libFuzzer. A parser that starts panicking on an input it once took fails here.

use std::path::{Path, PathBuf};

use fieldkit_fuzz_targets::{TARGETS, target};

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus")
}

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            entry
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .path()
        })
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_stored_input_passes_its_target() {
    let mut failed = Vec::new();
    let mut count = 0;
    for target in TARGETS {
        let dir = corpus_root().join(target.name);
        let files = inputs(&dir);
        assert!(!files.is_empty(), "{} has no corpus", target.name);
        for file in files {
            let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            count += 1;
            if std::panic::catch_unwind(|| (target.run)(&bytes)).is_err() {
                failed.push(file.display().to_string());
            }
        }
    }
    assert!(failed.is_empty(), "inputs that fail: {failed:#?}");
    eprintln!("{count} stored inputs replayed");
}

#[test]
fn every_corpus_folder_belongs_to_a_target() {
    for entry in std::fs::read_dir(corpus_root()).unwrap_or_else(|e| panic!("corpus: {e}")) {
        let path = entry.unwrap_or_else(|e| panic!("corpus: {e}")).path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        assert!(target(&name).is_some(), "{name} is no target's corpus");
    }
}
