//! Tracked cases in the metadata SQLite file.

use fieldkit_domain::workflow::StateName;
use rusqlite::{OptionalExtension, params};

use super::StatusEvent;
use super::sqlite::SqliteMetadata;
use super::tracking::{TrackedCase, TrackingStore};
use crate::ServerError;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tracked_cases (
    code_sha256 TEXT PRIMARY KEY, case_number TEXT NOT NULL UNIQUE, service_code TEXT NOT NULL,
    centre_code TEXT NOT NULL, registered_at INTEGER NOT NULL);
";

impl TrackingStore for SqliteMetadata {
    fn record_tracked_case(&self, case: &TrackedCase) -> Result<(), ServerError> {
        self.with(|conn| {
            conn.execute(
                "INSERT OR IGNORE INTO tracked_cases
                 (code_sha256, case_number, service_code, centre_code, registered_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    case.code_sha256,
                    case.case_number,
                    case.service_code,
                    case.centre_code,
                    case.registered_at
                ],
            )?;
            Ok(())
        })
    }

    fn tracked_case(&self, code_sha256: &str) -> Result<Option<TrackedCase>, ServerError> {
        self.with(|conn| {
            Ok(conn
                .query_row(
                    "SELECT code_sha256, case_number, service_code, centre_code, registered_at
                     FROM tracked_cases WHERE code_sha256 = ?1",
                    [code_sha256],
                    |r| {
                        Ok(TrackedCase {
                            code_sha256: r.get(0)?,
                            case_number: r.get(1)?,
                            service_code: r.get(2)?,
                            centre_code: r.get(3)?,
                            registered_at: r.get(4)?,
                        })
                    },
                )
                .optional()?)
        })
    }

    fn case_status_events(&self, case_number: &str) -> Result<Vec<StatusEvent>, ServerError> {
        self.with(|conn| {
            let mut statement = conn.prepare(
                "SELECT s.cursor, s.case_number, s.status, s.at, d.detail FROM status_events s
                 LEFT JOIN status_details d ON d.cursor = s.cursor
                 WHERE s.case_number = ?1 ORDER BY s.cursor",
            )?;
            let rows = statement.query_map(params![case_number], |r| {
                Ok(StatusEvent {
                    cursor: r.get(0)?,
                    case_number: r.get(1)?,
                    status: StateName::parse(&r.get::<_, String>(2)?),
                    at: r.get(3)?,
                    detail: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}
