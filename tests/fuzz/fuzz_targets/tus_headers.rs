#![no_main]
//! libFuzzer's entry to the `tus_headers` body (tests/fuzz/targets/src/server.rs says what it checks).

libfuzzer_sys::fuzz_target!(|data: &[u8]| fieldkit_fuzz_targets::server::tus_headers(data));
