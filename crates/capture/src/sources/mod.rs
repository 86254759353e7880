//! Where pages come from: a SANE scanner, or image files on a folder or USB stick.

pub mod files;
pub mod sane;
