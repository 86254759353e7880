//! fieldkit-capture: turns what the administrator captures into clean, small, trustworthy data —
//! page images (decoded with limits, oriented, cropped, deskewed, normalised, resampled,
//! encoded, checked for quality), QR codes (found, classified, generated) and signatures
//! (strokes checked, smoothed, rendered, bound to the document they sign); and the sources they
//! come from: a SANE scanner (`scanimage`) and image files on a folder or USB stick.
//!
//! It has no UI and stores nothing: the app shows what it returns and the vault keeps it. It must
//! never panic or allocate without bound on bad input: every file is decoded under limits and
//! every failure is a typed error with a message in Ukrainian.

mod decode;
mod document;
mod error;
pub mod pipeline;
pub mod qr;
pub mod quality;
pub mod signature;
pub mod sources;

pub use decode::{DecodeLimits, decode_page};
pub use document::{Document, DocumentError};
pub use error::CaptureError;
