//! fieldkit-vault: (being written)
