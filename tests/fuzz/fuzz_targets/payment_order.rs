#![no_main]
//! libFuzzer's entry to the `payment_order` body (tests/fuzz/targets/src/domain.rs says what it checks).

libfuzzer_sys::fuzz_target!(|data: &[u8]| fieldkit_fuzz_targets::domain::payment_order(data));
