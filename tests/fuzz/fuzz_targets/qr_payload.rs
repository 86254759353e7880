#![no_main]
//! libFuzzer's entry to the `qr_payload` body (tests/fuzz/targets/src/capture.rs says what it checks).

libfuzzer_sys::fuzz_target!(|data: &[u8]| fieldkit_fuzz_targets::capture::qr_payload(data));
