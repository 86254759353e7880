//! The case register: every envelope that arrived, with the few facts staff filter by (service,
//! centre, administrator, dates, deadline) taken from the case when the back-office first sees
//! it, and the case's state in the back-office. Personal data stays in the sealed envelope.

use fieldkit_domain::calendar::WorkCalendar;
use fieldkit_domain::catalog::Catalog;
use fieldkit_domain::common::ServiceCode;
use fieldkit_domain::workflow::{CaseState, StateName};
use fieldkit_protocol::SealingKeyPair;
use rusqlite::{OptionalExtension, params};
use time::Date;

use super::db::OfficeDb;
use crate::ServerError;
use crate::opened::open_stored;
use crate::store::{BlobStore, MetadataStore, TrackedCase};

/// The states a case can be in once it reached the server, in the order of its life: the
/// inbox filters by each of them. Names and words come from the domain's one vocabulary.
pub fn server_states() -> impl Iterator<Item = CaseState> {
    CaseState::ALL
        .into_iter()
        .filter(|state| state.rank() >= CaseState::Received.rank())
}

/// One row of the register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRow {
    pub case_number: String,
    pub envelope_id: String,
    pub device_id: String,
    pub state: StateName,
    pub service_code: String,
    pub administrator: String,
    pub centre: String,
    pub registered_on: String,
    pub deadline: Option<String>,
    pub received_at: i64,
    pub note: Option<String>,
    pub duplicate_of: Option<String>,
    pub central_number: Option<String>,
}

impl CaseRow {
    /// Overdue on `today` (see [`overdue`]).
    pub fn overdue(&self, calendar: &WorkCalendar, today: Date) -> bool {
        let Some(registered) = parse_date(&self.registered_on) else {
            return false;
        };
        let deadline = self.deadline.as_deref().and_then(parse_date);
        overdue(&self.state, registered, deadline, calendar, today)
    }
}

/// The last day of the service's term for a case registered on `registered`: the catalog's
/// term counted with the working-day calendar; `None` when the catalog has no such service.
/// The register and the public tracking page both count it here.
pub fn deadline(
    catalog: Option<&Catalog>,
    calendar: &WorkCalendar,
    service: &ServiceCode,
    registered: Date,
) -> Option<Date> {
    catalog
        .and_then(|c| c.service(service))
        .map(|service| calendar.deadline(registered, service.term))
}

/// Whether a case in `state`, registered on `registered`, is overdue on `today`: at the centre
/// past the next working day after registration (7.1), or anywhere past the service's term
/// (`deadline`) without a decision.
pub fn overdue(
    state: &StateName,
    registered: Date,
    deadline: Option<Date>,
    calendar: &WorkCalendar,
    today: Date,
) -> bool {
    // A state this build does not know is never called overdue: nobody knows what it means.
    let Some(state) = state.known() else {
        return false;
    };
    let decided = state.decided() || state.is_final();
    let forwarding_late = state.at_centre() && today > calendar.forwarding_deadline(registered);
    let decision_late = !decided && deadline.is_some_and(|deadline| today > deadline);
    forwarding_late || decision_late
}

pub fn parse_date(text: &str) -> Option<Date> {
    Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

/// A tracking code's hash as the tablet writes it: 64 lower-case hex digits. Anything else in
/// a case record is not filed (the page looks codes up by exactly this form).
fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn date_text(date: Date) -> String {
    date.format(time::macros::format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// What the register needs to open cases and compute deadlines.
pub struct Sources<'a> {
    pub meta: &'a dyn MetadataStore,
    pub blobs: &'a dyn BlobStore,
    pub sealing_keys: &'a [SealingKeyPair],
    pub catalog: Option<&'a Catalog>,
    pub calendar: &'a WorkCalendar,
}

/// Add every envelope not yet in the register, opening each once in memory for its facts.
/// Returns how many were added; an envelope that does not open is reported, not skipped
/// silently (its row says so, to be looked at).
///
/// A case whose record carries its tracking code's hash is filed for the public tracking page
/// (case number, service, centre, when sealed: nothing personal).
pub fn index_new(db: &OfficeDb, sources: &Sources<'_>, now: i64) -> Result<usize, ServerError> {
    let new: Vec<(String, String, String, i64)> = db.transaction(|tx| {
        let mut statement = tx.prepare(
            "SELECT e.envelope_id, e.case_number, e.device_id, e.received_at FROM envelopes e
             WHERE NOT EXISTS (SELECT 1 FROM office_cases c WHERE c.envelope_id = e.envelope_id)
             ORDER BY e.received_at",
        )?;
        let rows = statement
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    })?;
    for (envelope_id, case_number, device_id, received_at) in &new {
        let centre = case_number.split('/').next().unwrap_or_default().to_owned();
        let received_on = time::OffsetDateTime::from_unix_timestamp(*received_at)
            .map(|t| t.date())
            .unwrap_or(Date::MIN);
        let mut tracked = None;
        let (service_code, administrator, registered, deadline) = match open_stored(
            sources.meta,
            sources.blobs,
            sources.sealing_keys,
            envelope_id,
        ) {
            Ok(opened) => {
                let registered = opened
                    .case
                    .dates
                    .as_ref()
                    .map_or(received_on, |d| d.registered);
                let deadline = deadline(
                    sources.catalog,
                    sources.calendar,
                    &opened.case.service,
                    registered,
                )
                .map(date_text);
                tracked = opened
                    .case
                    .tracking_code_sha256
                    .as_deref()
                    .filter(|hash| is_sha256_hex(hash))
                    .map(|hash| TrackedCase {
                        code_sha256: hash.to_owned(),
                        case_number: case_number.clone(),
                        service_code: opened.case.service.0.clone(),
                        centre_code: centre.clone(),
                        // The tablet seals the case as soon as it is registered and signed.
                        registered_at: opened.sealed_at,
                    });
                (
                    opened.case.service.0.clone(),
                    opened
                        .administrator()
                        .map_or_else(|| device_id.clone(), str::to_owned),
                    registered,
                    deadline,
                )
            }
            Err(error) => (
                format!("(не відкривається: {error})"),
                device_id.clone(),
                received_on,
                None,
            ),
        };
        // Filed for the public tracking page before the register row: if filing fails, the
        // envelope is still new at the next pass and is filed then (filing twice is harmless).
        if let Some(tracked) = &tracked {
            sources.meta.record_tracked_case(tracked)?;
        }
        db.transaction(|tx| {
            tx.execute(
                "INSERT OR IGNORE INTO office_cases (case_number, envelope_id, device_id, state, service_code,
                   administrator, centre, registered_on, deadline, received_at, updated_at)
                 VALUES (?1, ?2, ?3, ?11, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    case_number,
                    envelope_id,
                    device_id,
                    service_code,
                    administrator,
                    centre,
                    date_text(registered),
                    deadline,
                    received_at,
                    now,
                    CaseState::Received.name()
                ],
            )?;
            Ok(())
        })?;
    }
    Ok(new.len())
}

/// The inbox's filters; empty means any.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct Filter {
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub centre: String,
    #[serde(default)]
    pub administrator: String,
    #[serde(default)]
    pub service: String,
    /// Registered on or after, YYYY-MM-DD.
    #[serde(default)]
    pub from: String,
    /// Registered on or before, YYYY-MM-DD.
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub overdue: String,
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CaseRow> {
    Ok(CaseRow {
        case_number: r.get(0)?,
        envelope_id: r.get(1)?,
        device_id: r.get(2)?,
        state: StateName::parse(&r.get::<_, String>(3)?),
        service_code: r.get(4)?,
        administrator: r.get(5)?,
        centre: r.get(6)?,
        registered_on: r.get(7)?,
        deadline: r.get(8)?,
        received_at: r.get(9)?,
        note: r.get(10)?,
        duplicate_of: r.get(11)?,
        central_number: r.get(12)?,
    })
}

const COLUMNS: &str =
    "case_number, envelope_id, device_id, state, service_code, administrator, centre,
    registered_on, deadline, received_at, note, duplicate_of, central_number";

/// The cases matching `filter`, newest first.
pub fn list(
    db: &OfficeDb,
    filter: &Filter,
    calendar: &WorkCalendar,
    today: Date,
) -> Result<Vec<CaseRow>, ServerError> {
    let rows = db.transaction(|tx| {
        let mut statement = tx.prepare(&format!(
            "SELECT {COLUMNS} FROM office_cases
             WHERE (?1 = '' OR state = ?1) AND (?2 = '' OR centre = ?2)
               AND (?3 = '' OR administrator = ?3) AND (?4 = '' OR service_code = ?4)
               AND (?5 = '' OR registered_on >= ?5) AND (?6 = '' OR registered_on <= ?6)
             ORDER BY received_at DESC, case_number LIMIT 1000"
        ))?;
        let rows = statement
            .query_map(
                params![
                    filter.state,
                    filter.centre,
                    filter.administrator,
                    filter.service,
                    filter.from,
                    filter.to
                ],
                row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    })?;
    Ok(if filter.overdue.is_empty() {
        rows
    } else {
        rows.into_iter()
            .filter(|r| r.overdue(calendar, today))
            .collect()
    })
}

/// How many cases are in each state.
pub fn counts(db: &OfficeDb) -> Result<Vec<(StateName, i64)>, ServerError> {
    db.transaction(|tx| {
        let mut statement =
            tx.prepare("SELECT state, count(*) FROM office_cases GROUP BY state ORDER BY state")?;
        let rows = statement
            .query_map([], |r| {
                Ok((StateName::parse(&r.get::<_, String>(0)?), r.get(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    })
}

pub fn get(db: &OfficeDb, case_number: &str) -> Result<Option<CaseRow>, ServerError> {
    db.transaction(|tx| {
        Ok(tx
            .query_row(
                &format!("SELECT {COLUMNS} FROM office_cases WHERE case_number = ?1"),
                [case_number],
                row,
            )
            .optional()?)
    })
}

/// Distinct values of a column, for the filter lists.
pub fn distinct(db: &OfficeDb, column: &str) -> Result<Vec<String>, ServerError> {
    let column = match column {
        "centre" | "administrator" | "service_code" => column,
        _ => return Ok(Vec::new()),
    };
    db.transaction(|tx| {
        let mut statement = tx.prepare(&format!(
            "SELECT DISTINCT {column} FROM office_cases ORDER BY {column}"
        ))?;
        let rows = statement
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(rows)
    })
}
