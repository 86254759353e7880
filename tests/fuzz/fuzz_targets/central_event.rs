#![no_main]
//! libFuzzer's entry to the `central_event` body (tests/fuzz/targets/src/server.rs says what it checks).

libfuzzer_sys::fuzz_target!(|data: &[u8]| fieldkit_fuzz_targets::server::central_event(data));
