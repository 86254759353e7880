//! The register keeps up on its own: a server job takes new envelopes into the case register
//! and supplements (hand-over, withdrawal, correction) into their cases' lives, as a
//! back-office page does before it shows anything. So a hand-over moves the case, and queues
//! its messages, within half a minute of arriving, whether or not anyone opens a page. Both
//! steps are idempotent; the job and a page looking at once take each envelope once.

use std::sync::Arc;
use std::time::Duration;

use fieldkit_domain::calendar::WorkCalendar;
use fieldkit_domain::catalog::Catalog;

use super::register::{self, Sources};
use super::supplements::{self, Taken};
use crate::ServerError;
use crate::central::CentralState;

/// What one pass took in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Intake {
    /// Envelopes added to the register.
    pub indexed: usize,
    /// What became of each supplement looked at, by its envelope id.
    pub supplements: Vec<(String, Taken)>,
}

impl Intake {
    /// Whether a supplement moved a case (and so queued messages).
    pub fn moved_any(&self) -> bool {
        self.supplements
            .iter()
            .any(|(_, taken)| matches!(taken, Taken::Moved(_)))
    }
}

/// The catalog published now, for the register's deadlines; `None` before the first.
fn published_catalog(state: &CentralState) -> Result<Option<Catalog>, ServerError> {
    match state.meta.catalog_since(0)? {
        Some((_, text)) => Catalog::from_toml_str(&text)
            .map(Some)
            .map_err(|e| ServerError::Storage(format!("published catalog: {e}"))),
        None => Ok(None),
    }
}

/// One pass on the server's clock: index what arrived, then take pending supplements.
pub fn run_once(state: &CentralState, calendar: &WorkCalendar) -> Result<Intake, ServerError> {
    let catalog = published_catalog(state)?;
    let now = state.now();
    let indexed = register::index_new(
        &state.db,
        &Sources {
            meta: state.meta.as_ref(),
            blobs: state.blobs.as_ref(),
            sealing_keys: &state.sealing_keys,
            catalog: catalog.as_ref(),
            calendar,
        },
        now,
    )?;
    let supplements = supplements::apply_pending(&state.db, state.meta.as_ref(), now)?;
    Ok(Intake {
        indexed,
        supplements,
    })
}

/// Run the job every `interval` (the first pass at once, for what arrived while the server
/// was down), for as long as the runtime runs. Opening cases is blocking work: off the async
/// threads.
pub fn spawn(
    state: Arc<CentralState>,
    calendar: WorkCalendar,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    let calendar = Arc::new(calendar);
    tokio::spawn(async move {
        loop {
            let (job, days) = (state.clone(), calendar.clone());
            match tokio::task::spawn_blocking(move || run_once(&job, &days)).await {
                Ok(Ok(intake)) => {
                    if intake.moved_any() {
                        // The applicants' notifications these steps queued go out now.
                        crate::central::notify::wake(&state);
                    }
                }
                Ok(Err(error)) => tracing::error!(%error, "the register intake job failed"),
                Err(error) => tracing::error!(%error, "the register intake task failed"),
            }
            tokio::time::sleep(interval).await;
        }
    })
}
