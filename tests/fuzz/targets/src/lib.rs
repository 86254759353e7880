//! fieldkit-fuzz-targets: the body of every fuzz target of fieldkit, one function per parser
//! that takes bytes from outside (a tablet, the central system, a scanner or USB stick, a
//! catalog file, a person typing). Each body feeds the bytes to the real parser and asserts
//! what must hold for any input: no panic, bounded work, and where a format round-trips,
//! `parse(print(x)) == x`.
//!
//! Two runners call the same bodies: libFuzzer (`tests/fuzz`, `cargo fuzz`, nightly flags) to
//! search for new inputs, and the ordinary test suite (`tests/corpora.rs`), which replays every
//! file of `tests/fuzz/corpus/<target>/` on the stable toolchain, so CI keeps every input ever
//! found passing. It must never read files or the clock itself: a body is a pure function of
//! its bytes, so a crash replays exactly.

pub mod capture;
pub mod domain;
pub mod protocol;
pub mod server;

pub use protocol::{FuzzKeys, PART_SEPARATOR};

/// One fuzz target: its name (the libFuzzer binary and the corpus folder) and its body.
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]),
}

/// Every target, in the order `tests/fuzz/run.sh` runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "tus_headers",
        run: server::tus_headers,
    },
    Target {
        name: "central_event",
        run: server::central_event,
    },
    Target {
        name: "manifest",
        run: protocol::manifest,
    },
    Target {
        name: "envelope_open",
        run: protocol::envelope_open,
    },
    Target {
        name: "signature_strokes",
        run: capture::signature_strokes,
    },
    Target {
        name: "image_decode",
        run: capture::image_decode,
    },
    Target {
        name: "qr_detect",
        run: capture::qr_detect,
    },
    Target {
        name: "qr_payload",
        run: capture::qr_payload,
    },
    Target {
        name: "case_number",
        run: domain::case_number,
    },
    Target {
        name: "ink_mark",
        run: domain::ink_mark,
    },
    Target {
        name: "catalog",
        run: domain::catalog,
    },
    Target {
        name: "payment_order",
        run: domain::payment_order,
    },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}
