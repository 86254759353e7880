#![no_main]
//! libFuzzer's entry to the `image_decode` body (tests/fuzz/targets/src/capture.rs says what it checks).

libfuzzer_sys::fuzz_target!(|data: &[u8]| fieldkit_fuzz_targets::capture::image_decode(data));
