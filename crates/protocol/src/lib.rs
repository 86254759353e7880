//! fieldkit-protocol: (being written)
