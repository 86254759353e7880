#![no_main]
//! libFuzzer's entry to the `case_number` body (tests/fuzz/targets/src/domain.rs says what it checks).

libfuzzer_sys::fuzz_target!(|data: &[u8]| fieldkit_fuzz_targets::domain::case_number(data));
