#![no_main]
//! libFuzzer's entry to the `envelope_open` body (tests/fuzz/targets/src/protocol.rs says what it checks).

libfuzzer_sys::fuzz_target!(|data: &[u8]| fieldkit_fuzz_targets::protocol::envelope_open(data));
