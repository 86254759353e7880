//! The back-office: staff reconcile what the tablets sent, forward it to the central case
//! system, plan visits, publish the catalog and manage devices. Server-rendered HTML that works
//! without JavaScript, Ukrainian first.

pub mod actions;
pub mod admin_pages;
pub mod archive;
pub mod auth;
pub mod case_pages;
pub mod consultations;
pub mod db;
pub mod handover;
pub mod html;
pub mod intake;
pub mod opened_cache;
pub mod register;
pub mod security_headers;
pub mod supplements;
pub mod visit_requests;
mod waiver_view;
pub mod web;

pub use web::{OfficeState, router};

use std::path::Path;
use std::sync::Arc;

use fieldkit_domain::calendar::WorkCalendar;
use fieldkit_protocol::SealingKeyPair;

use crate::ServerError;
use crate::setup::Layout;
use crate::store::{FileBlobStore, SqliteMetadata};

/// Ukraine's working-day calendar (holidays, martial law), built in: deadlines in the register
/// come from it.
pub fn calendar() -> Result<WorkCalendar, ServerError> {
    WorkCalendar::from_toml_str(include_str!("../../../assets/calendar/ua.toml"))
        .map_err(|e| ServerError::Storage(format!("calendar: {e}")))
}

/// The back-office of the server whose data directory is `data`.
pub fn load(
    data: &Path,
    meta: Arc<SqliteMetadata>,
    blobs: Arc<FileBlobStore>,
    sealing_keys: Vec<SealingKeyPair>,
    clock: fn() -> i64,
    public_url: String,
) -> Result<OfficeState, ServerError> {
    let layout = Layout::new(data);
    Ok(OfficeState {
        db: db::OfficeDb::open(&layout.database())?,
        meta,
        blobs,
        sealing_keys,
        calendar: calendar()?,
        clock,
        public_url,
        server_ca: std::fs::read(layout.server_ca_certificate())?,
        opened: opened_cache::OpenedCases::new(
            opened_cache::DEFAULT_CAPACITY,
            opened_cache::DEFAULT_TTL_SECONDS,
        ),
        central: None,
        personal: Arc::new(crate::personal_data::PersonalDataKey::load_or_create(
            &layout.keys(),
        )?),
    })
}
