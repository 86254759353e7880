#![no_main]
//! libFuzzer's entry to the `manifest` body (tests/fuzz/targets/src/protocol.rs says what it checks).

libfuzzer_sys::fuzz_target!(|data: &[u8]| fieldkit_fuzz_targets::protocol::manifest(data));
