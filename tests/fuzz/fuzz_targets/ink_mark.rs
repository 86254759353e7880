#![no_main]
//! libFuzzer's entry to the `ink_mark` body (tests/fuzz/targets/src/domain.rs says what it checks).

libfuzzer_sys::fuzz_target!(|data: &[u8]| fieldkit_fuzz_targets::domain::ink_mark(data));
