//! Metadata in one SQLite file (WAL, synchronous=FULL): what is acknowledged is on disk.

use std::path::Path;
use std::sync::Mutex;

use fieldkit_domain::workflow::{CaseState, StateName};
use rusqlite::{Connection, OptionalExtension, params};

use super::{
    ConsultationTotal, Device, DeviceOverview, DeviceReport, DeviceState, HandoverPlan,
    MetadataStore, StatusEvent, StoredEnvelope, StoredSupplement, Upload,
};
use crate::ServerError;
use fieldkit_protocol::SupplementKind;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT PRIMARY KEY, public_key BLOB NOT NULL, state TEXT NOT NULL,
    enrolled_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS enroll_codes (
    code_sha256 TEXT PRIMARY KEY, expires_at INTEGER NOT NULL, used_at INTEGER);
CREATE TABLE IF NOT EXISTS device_certificates (
    certificate_sha256 TEXT PRIMARY KEY, device_id TEXT NOT NULL REFERENCES devices(device_id));
-- Certificates good for the command feed only: the tablet keeps this one outside its vault, so
-- it can pick up a wipe while locked; anything else presented with it is refused.
CREATE TABLE IF NOT EXISTS command_certificates (
    certificate_sha256 TEXT PRIMARY KEY, device_id TEXT NOT NULL REFERENCES devices(device_id),
    issued_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS device_reports (
    device_id TEXT PRIMARY KEY REFERENCES devices(device_id), reported_at INTEGER NOT NULL,
    cases_sealed INTEGER NOT NULL, envelopes_waiting INTEGER NOT NULL, last_case_number TEXT,
    audit_seq INTEGER NOT NULL, audit_hash TEXT NOT NULL);
-- Consultations without a case (regulation 2.36) as the device last counted them; '' is
-- «інше питання» (a key column cannot be NULL and still be unique).
CREATE TABLE IF NOT EXISTS consultation_counts (
    device_id TEXT NOT NULL REFERENCES devices(device_id), day TEXT NOT NULL,
    service_code TEXT NOT NULL, count INTEGER NOT NULL, reported_at INTEGER NOT NULL,
    PRIMARY KEY (device_id, day, service_code));
CREATE TABLE IF NOT EXISTS certificate_issuers (
    certificate_sha256 TEXT PRIMARY KEY REFERENCES device_certificates(certificate_sha256),
    ca_sha256 TEXT NOT NULL, issued_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS reported_waiting (
    device_id TEXT NOT NULL REFERENCES devices(device_id), case_number TEXT NOT NULL,
    PRIMARY KEY (device_id, case_number));
CREATE TABLE IF NOT EXISTS audit_anchors (
    device_id TEXT NOT NULL REFERENCES devices(device_id), audit_seq INTEGER NOT NULL,
    audit_hash TEXT NOT NULL, anchored_at INTEGER NOT NULL, PRIMARY KEY (device_id, audit_seq));
CREATE TABLE IF NOT EXISTS catalogs (
    version INTEGER PRIMARY KEY, published_at INTEGER NOT NULL, toml TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS device_commands (
    command_id INTEGER PRIMARY KEY AUTOINCREMENT, device_id TEXT NOT NULL REFERENCES devices(device_id),
    command TEXT NOT NULL, issued_at INTEGER NOT NULL, delivered_at INTEGER);
CREATE TABLE IF NOT EXISTS visits (
    visit_id INTEGER PRIMARY KEY AUTOINCREMENT, device_id TEXT NOT NULL REFERENCES devices(device_id),
    details TEXT NOT NULL, planned_at INTEGER NOT NULL);
-- A visit of kind «видача результату»: its tablet follows the case in its status feed.
CREATE TABLE IF NOT EXISTS handover_plans (
    visit_id INTEGER PRIMARY KEY REFERENCES visits(visit_id),
    device_id TEXT NOT NULL REFERENCES devices(device_id), case_number TEXT NOT NULL,
    planned_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS handover_plans_by_case ON handover_plans(case_number);
CREATE INDEX IF NOT EXISTS handover_plans_by_device ON handover_plans(device_id);
CREATE TABLE IF NOT EXISTS uploads (
    upload_id TEXT PRIMARY KEY, device_id TEXT NOT NULL REFERENCES devices(device_id),
    length INTEGER NOT NULL, offset INTEGER NOT NULL, created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL, terminated INTEGER NOT NULL DEFAULT 0, blob TEXT);
CREATE TABLE IF NOT EXISTS envelopes (
    envelope_id TEXT PRIMARY KEY, device_id TEXT NOT NULL REFERENCES devices(device_id),
    case_number TEXT NOT NULL, manifest BLOB NOT NULL, signature BLOB NOT NULL, receipt TEXT NOT NULL,
    receipt_signature TEXT NOT NULL, received_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS status_events (
    cursor INTEGER PRIMARY KEY AUTOINCREMENT, case_number TEXT NOT NULL, status TEXT NOT NULL,
    at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS status_by_case ON status_events(case_number);
CREATE TABLE IF NOT EXISTS status_details (
    cursor INTEGER PRIMARY KEY REFERENCES status_events(cursor), detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS supplements (
    envelope_id TEXT PRIMARY KEY, device_id TEXT NOT NULL REFERENCES devices(device_id),
    case_number TEXT NOT NULL, kind TEXT NOT NULL, manifest BLOB NOT NULL, signature BLOB NOT NULL,
    receipt TEXT NOT NULL, receipt_signature TEXT NOT NULL, received_at INTEGER NOT NULL,
    applied_at INTEGER, refused TEXT);
CREATE INDEX IF NOT EXISTS supplements_by_case ON supplements(case_number);
CREATE TABLE IF NOT EXISTS supplement_parts (
    envelope_id TEXT NOT NULL REFERENCES supplements(envelope_id), idx INTEGER NOT NULL,
    sha256 TEXT NOT NULL, PRIMARY KEY (envelope_id, idx));
CREATE TABLE IF NOT EXISTS envelope_parts (
    envelope_id TEXT NOT NULL REFERENCES envelopes(envelope_id), idx INTEGER NOT NULL,
    sha256 TEXT NOT NULL, PRIMARY KEY (envelope_id, idx));
-- A device's quota and the sweeper look uploads up by device and by expiry, and parts by blob.
CREATE INDEX IF NOT EXISTS uploads_by_device ON uploads(device_id, expires_at);
CREATE INDEX IF NOT EXISTS uploads_by_expiry ON uploads(expires_at);
CREATE INDEX IF NOT EXISTS envelope_parts_by_blob ON envelope_parts(sha256);
";

/// A certificate issued to a device, with the CA that issued it (so the operator can tell
/// when every tablet has renewed after a device CA rotation).
fn insert_certificate(
    tx: &rusqlite::Transaction<'_>,
    device_id: &str,
    certificate_sha256: &str,
    ca_sha256: &str,
    now: i64,
) -> Result<(), ServerError> {
    tx.execute(
        "INSERT INTO device_certificates (certificate_sha256, device_id) VALUES (?1, ?2)",
        params![certificate_sha256, device_id],
    )?;
    tx.execute(
        "INSERT INTO certificate_issuers (certificate_sha256, ca_sha256, issued_at) VALUES (?1, ?2, ?3)",
        params![certificate_sha256, ca_sha256, now],
    )?;
    Ok(())
}

/// The SQLite metadata store.
pub struct SqliteMetadata {
    conn: Mutex<Connection>,
}

/// A connection to the server's SQLite file as every part of the server opens it: WAL,
/// `synchronous=FULL` (what is acknowledged is on disk), foreign keys, and a wait rather than
/// an error while another connection writes.
pub fn open_connection(path: &Path) -> Result<Connection, ServerError> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

impl SqliteMetadata {
    /// The device whose certificate `certificate_sha256` is, by `query` (one of the
    /// certificate tables); an unknown certificate is unauthenticated.
    fn device_holding(&self, query: &str, certificate_sha256: &str) -> Result<Device, ServerError> {
        let device_id: Option<String> = self.with(|conn| {
            Ok(conn
                .query_row(query, [certificate_sha256], |r| r.get(0))
                .optional()?)
        })?;
        self.device(&device_id.ok_or(ServerError::Unauthenticated)?)
    }

    pub fn open(path: &Path) -> Result<Self, ServerError> {
        let conn = open_connection(path)?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(super::sqlite_attempts::SCHEMA)?;
        conn.execute_batch(super::sqlite_tracking::SCHEMA)?;
        conn.execute_batch(super::sqlite_visit_requests::SCHEMA)?;
        conn.execute_batch(super::sqlite_notices::SCHEMA)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    pub(super) fn with<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, ServerError>,
    ) -> Result<T, ServerError> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| ServerError::Storage("metadata lock poisoned".into()))?;
        work(&mut conn)
    }
}

fn upload_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Upload> {
    Ok(Upload {
        upload_id: row.get(0)?,
        device_id: row.get(1)?,
        length: row.get::<_, i64>(2)? as u64,
        offset: row.get::<_, i64>(3)? as u64,
        expires_at: row.get(4)?,
        terminated: row.get::<_, i64>(5)? != 0,
        blob: row.get(6)?,
    })
}

fn envelope_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEnvelope> {
    Ok(StoredEnvelope {
        envelope_id: row.get(0)?,
        device_id: row.get(1)?,
        case_number: row.get(2)?,
        manifest: row.get(3)?,
        signature: row.get(4)?,
        receipt: row.get(5)?,
        receipt_signature: row.get(6)?,
    })
}

fn supplement_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredSupplement> {
    let kind: String = row.get(7)?;
    let kind = SupplementKind::from_name(&kind).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            7,
            rusqlite::types::Type::Text,
            format!("unknown supplement kind {kind}").into(),
        )
    })?;
    Ok(StoredSupplement {
        envelope: envelope_from_row(row)?,
        kind,
        applied_at: row.get(8)?,
        refused: row.get(9)?,
    })
}

const SUPPLEMENT_COLUMNS: &str =
    "envelope_id, device_id, case_number, manifest, signature, receipt,
    receipt_signature, kind, applied_at, refused";

const ENVELOPE_COLUMNS: &str =
    "envelope_id, device_id, case_number, manifest, signature, receipt, receipt_signature";

impl MetadataStore for SqliteMetadata {
    fn add_device(&self, device: &Device, now: i64) -> Result<(), ServerError> {
        self.with(|conn| {
            conn.execute(
                "INSERT INTO devices (device_id, public_key, state, enrolled_at) VALUES (?1, ?2, 'active', ?3)",
                params![device.device_id, device.public_key.as_slice(), now],
            )?;
            Ok(())
        })
    }

    fn add_enroll_code(&self, code_sha256: &str, expires_at: i64) -> Result<(), ServerError> {
        self.with(|conn| {
            conn.execute(
                "INSERT INTO enroll_codes (code_sha256, expires_at) VALUES (?1, ?2)",
                params![code_sha256, expires_at],
            )?;
            Ok(())
        })
    }

    fn enroll_code_usable(&self, code_sha256: &str, now: i64) -> Result<bool, ServerError> {
        self.with(|conn| {
            Ok(conn
                .query_row(
                    "SELECT 1 FROM enroll_codes WHERE code_sha256 = ?1 AND used_at IS NULL AND expires_at > ?2",
                    params![code_sha256, now],
                    |_| Ok(()),
                )
                .optional()?
                .is_some())
        })
    }

    fn enroll_device(
        &self,
        code_sha256: &str,
        device: &Device,
        certificate_sha256: &str,
        ca_sha256: &str,
        now: i64,
    ) -> Result<(), ServerError> {
        self.with(|conn| {
            let tx = conn.transaction()?;
            let used = tx.execute(
                "UPDATE enroll_codes SET used_at = ?2 WHERE code_sha256 = ?1 AND used_at IS NULL AND expires_at > ?2",
                params![code_sha256, now],
            )?;
            if used != 1 {
                return Err(ServerError::InvalidEnrollCode);
            }
            tx.execute(
                "INSERT INTO devices (device_id, public_key, state, enrolled_at) VALUES (?1, ?2, 'active', ?3)",
                params![device.device_id, device.public_key.as_slice(), now],
            )
            .map_err(|_| ServerError::Conflict(device.device_id.clone()))?;
            insert_certificate(&tx, &device.device_id, certificate_sha256, ca_sha256, now)?;
            tx.commit()?;
            Ok(())
        })
    }

    fn add_certificate(
        &self,
        device_id: &str,
        certificate_sha256: &str,
        ca_sha256: &str,
        now: i64,
    ) -> Result<(), ServerError> {
        self.with(|conn| {
            let tx = conn.transaction()?;
            insert_certificate(&tx, device_id, certificate_sha256, ca_sha256, now)?;
            tx.commit()?;
            Ok(())
        })
    }

    fn active_devices_without_certificate_from(
        &self,
        ca_sha256: &str,
    ) -> Result<Vec<String>, ServerError> {
        self.with(|conn| {
            let mut statement = conn.prepare(
                "SELECT device_id FROM devices d WHERE state = 'active' AND NOT EXISTS (
                   SELECT 1 FROM device_certificates c JOIN certificate_issuers i
                     ON i.certificate_sha256 = c.certificate_sha256
                   WHERE c.device_id = d.device_id AND i.ca_sha256 = ?1)
                 ORDER BY device_id",
            )?;
            let rows = statement
                .query_map([ca_sha256], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(rows)
        })
    }

    fn device_by_certificate(&self, certificate_sha256: &str) -> Result<Device, ServerError> {
        self.device_holding(
            "SELECT device_id FROM device_certificates WHERE certificate_sha256 = ?1",
            certificate_sha256,
        )
    }

    fn set_command_certificate(
        &self,
        device_id: &str,
        certificate_sha256: &str,
        now: i64,
    ) -> Result<(), ServerError> {
        self.with(|conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "DELETE FROM command_certificates WHERE device_id = ?1",
                [device_id],
            )?;
            tx.execute(
                "INSERT INTO command_certificates (certificate_sha256, device_id, issued_at)
                 VALUES (?1, ?2, ?3)",
                params![certificate_sha256, device_id, now],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn device_by_command_certificate(
        &self,
        certificate_sha256: &str,
    ) -> Result<Device, ServerError> {
        self.device_holding(
            "SELECT device_id FROM command_certificates WHERE certificate_sha256 = ?1",
            certificate_sha256,
        )
    }

    fn publish_catalog(&self, version: u64, toml: &str, now: i64) -> Result<(), ServerError> {
        self.with(|conn| {
            let tx = conn.transaction()?;
            let latest: Option<i64> =
                tx.query_row("SELECT MAX(version) FROM catalogs", [], |r| r.get(0))?;
            if let Some(latest) = latest.filter(|v| *v as u64 >= version) {
                return Err(ServerError::Conflict(format!(
                    "catalog version {version} is not newer than {latest}"
                )));
            }
            tx.execute(
                "INSERT INTO catalogs (version, published_at, toml) VALUES (?1, ?2, ?3)",
                params![version as i64, now, toml],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn catalog_since(&self, since: u64) -> Result<Option<(u64, String)>, ServerError> {
        self.with(|conn| {
            Ok(conn
                .query_row(
                    "SELECT version, toml FROM catalogs WHERE version > ?1 ORDER BY version DESC LIMIT 1",
                    [since as i64],
                    |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
                )
                .optional()?)
        })
    }

    fn plan_visit(&self, device_id: &str, details: &str, now: i64) -> Result<i64, ServerError> {
        self.with(|conn| {
            conn.execute(
                "INSERT INTO visits (device_id, details, planned_at) VALUES (?1, ?2, ?3)",
                params![device_id, details, now],
            )
            .map_err(|_| ServerError::UnknownDevice(device_id.into()))?;
            Ok(conn.last_insert_rowid())
        })
    }

    fn plan_handover_visit(
        &self,
        device_id: &str,
        case_number: &str,
        details: &str,
        now: i64,
    ) -> Result<i64, ServerError> {
        self.with(|conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO visits (device_id, details, planned_at) VALUES (?1, ?2, ?3)",
                params![device_id, details, now],
            )
            .map_err(|_| ServerError::UnknownDevice(device_id.into()))?;
            let visit_id = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO handover_plans (visit_id, device_id, case_number, planned_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![visit_id, device_id, case_number, now],
            )?;
            tx.commit()?;
            Ok(visit_id)
        })
    }

    fn handover_plans(&self, case_number: &str) -> Result<Vec<HandoverPlan>, ServerError> {
        self.with(|conn| {
            let mut statement = conn.prepare(
                "SELECT visit_id, device_id, case_number, planned_at FROM handover_plans
                 WHERE case_number = ?1 ORDER BY visit_id",
            )?;
            let rows = statement.query_map([case_number], |r| {
                Ok(HandoverPlan {
                    visit_id: r.get(0)?,
                    device_id: r.get(1)?,
                    case_number: r.get(2)?,
                    planned_at: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn visits_since(&self, device_id: &str, since: i64) -> Result<Vec<(i64, String)>, ServerError> {
        self.with(|conn| {
            let mut statement = conn.prepare(
                "SELECT visit_id, details FROM visits WHERE device_id = ?1 AND visit_id > ?2 ORDER BY visit_id LIMIT 500",
            )?;
            let rows = statement.query_map(params![device_id, since], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn add_command(&self, device_id: &str, command: &str, now: i64) -> Result<i64, ServerError> {
        self.with(|conn| {
            conn.execute(
                "INSERT INTO device_commands (device_id, command, issued_at) VALUES (?1, ?2, ?3)",
                params![device_id, command, now],
            )
            .map_err(|_| ServerError::UnknownDevice(device_id.into()))?;
            Ok(conn.last_insert_rowid())
        })
    }

    fn take_commands(&self, device_id: &str, now: i64) -> Result<Vec<(i64, String)>, ServerError> {
        self.with(|conn| {
            let tx = conn.transaction()?;
            let commands: Vec<(i64, String)> = {
                let mut statement = tx.prepare(
                    "SELECT command_id, command FROM device_commands WHERE device_id = ?1 AND delivered_at IS NULL ORDER BY command_id",
                )?;
                let rows = statement.query_map([device_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            tx.execute(
                "UPDATE device_commands SET delivered_at = ?2 WHERE device_id = ?1 AND delivered_at IS NULL",
                params![device_id, now],
            )?;
            tx.commit()?;
            Ok(commands)
        })
    }

    fn record_report(
        &self,
        device_id: &str,
        report: &DeviceReport,
        now: i64,
    ) -> Result<(), ServerError> {
        self.with(|conn| {
            let tx = conn.transaction()?;
            let latest: Option<(i64, String)> = tx
                .query_row(
                    "SELECT audit_seq, audit_hash FROM audit_anchors WHERE device_id = ?1 ORDER BY audit_seq DESC LIMIT 1",
                    [device_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            if let Some((seq, hash)) = latest {
                let seq = seq as u64;
                // Behind the anchor, or the same event with another hash: the chain was cut
                // or the vault restored from an older copy.
                if report.audit_seq < seq || (report.audit_seq == seq && report.audit_hash != hash) {
                    return Err(ServerError::AuditRollback { anchored: seq });
                }
            }
            tx.execute(
                "INSERT OR IGNORE INTO audit_anchors (device_id, audit_seq, audit_hash, anchored_at) VALUES (?1, ?2, ?3, ?4)",
                params![device_id, report.audit_seq as i64, report.audit_hash, now],
            )?;
            tx.execute(
                "INSERT INTO device_reports (device_id, reported_at, cases_sealed, envelopes_waiting, last_case_number, audit_seq, audit_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(device_id) DO UPDATE SET reported_at = ?2, cases_sealed = ?3, envelopes_waiting = ?4,
                   last_case_number = ?5, audit_seq = ?6, audit_hash = ?7",
                params![
                    device_id,
                    now,
                    report.cases_sealed as i64,
                    report.envelopes_waiting as i64,
                    report.last_case_number,
                    report.audit_seq as i64,
                    report.audit_hash
                ],
            )?;
            // A day the report counts is counted whole: what it says replaces what was there,
            // so a service no longer listed that day drops to nothing.
            for day in report
                .consultations
                .iter()
                .map(|c| c.day.as_str())
                .collect::<std::collections::BTreeSet<_>>()
            {
                tx.execute(
                    "DELETE FROM consultation_counts WHERE device_id = ?1 AND day = ?2",
                    params![device_id, day],
                )?;
            }
            for count in &report.consultations {
                tx.execute(
                    "INSERT INTO consultation_counts (device_id, day, service_code, count, reported_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(device_id, day, service_code) DO UPDATE SET count = count + ?4",
                    params![
                        device_id,
                        count.day,
                        count.service_code.as_deref().unwrap_or(""),
                        count.count as i64,
                        now
                    ],
                )?;
            }
            // Only the latest report counts: what was waiting then and has not arrived since.
            tx.execute("DELETE FROM reported_waiting WHERE device_id = ?1", [device_id])?;
            for case_number in &report.waiting_cases {
                tx.execute(
                    "INSERT OR IGNORE INTO reported_waiting (device_id, case_number) VALUES (?1, ?2)",
                    params![device_id, case_number],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    fn device(&self, device_id: &str) -> Result<Device, ServerError> {
        self.with(|conn| {
            let row: Option<(Vec<u8>, String)> = conn
                .query_row(
                    "SELECT public_key, state FROM devices WHERE device_id = ?1",
                    [device_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let (key, state) = row.ok_or_else(|| ServerError::UnknownDevice(device_id.into()))?;
            let public_key: [u8; 32] = key
                .try_into()
                .map_err(|_| ServerError::Storage(format!("device {device_id}: bad key")))?;
            let state = if state == "revoked" {
                DeviceState::Revoked
            } else {
                DeviceState::Active
            };
            Ok(Device {
                device_id: device_id.into(),
                public_key,
                state,
            })
        })
    }

    fn unsynced(&self, device_id: &str) -> Result<Vec<String>, ServerError> {
        self.device(device_id)?;
        self.with(|conn| {
            let mut statement = conn.prepare(
                "SELECT case_number FROM reported_waiting w WHERE device_id = ?1
                 AND NOT EXISTS (SELECT 1 FROM envelopes e WHERE e.case_number = w.case_number)
                 ORDER BY case_number",
            )?;
            let rows = statement
                .query_map([device_id], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(rows)
        })
    }

    fn devices(&self) -> Result<Vec<DeviceOverview>, ServerError> {
        self.with(|conn| {
            let mut statement = conn.prepare(
                "SELECT d.device_id, d.state, d.enrolled_at, r.reported_at, r.cases_sealed,
                   r.envelopes_waiting, r.last_case_number,
                   (SELECT count(*) FROM reported_waiting w WHERE w.device_id = d.device_id
                      AND NOT EXISTS (SELECT 1 FROM envelopes e WHERE e.case_number = w.case_number)),
                   (SELECT count(*) FROM envelopes e WHERE e.device_id = d.device_id),
                   (SELECT count(*) FROM device_commands c WHERE c.device_id = d.device_id
                      AND c.delivered_at IS NULL)
                 FROM devices d LEFT JOIN device_reports r ON r.device_id = d.device_id
                 ORDER BY d.device_id",
            )?;
            let rows = statement
                .query_map([], |r| {
                    Ok(DeviceOverview {
                        device_id: r.get(0)?,
                        revoked: r.get::<_, String>(1)? == "revoked",
                        enrolled_at: r.get(2)?,
                        last_report_at: r.get(3)?,
                        cases_sealed: r.get::<_, Option<i64>>(4)?.unwrap_or(0) as u64,
                        envelopes_waiting: r.get::<_, Option<i64>>(5)?.unwrap_or(0) as u64,
                        last_case_number: r.get(6)?,
                        unsynced: r.get::<_, i64>(7)? as u64,
                        received: r.get::<_, i64>(8)? as u64,
                        pending_commands: r.get::<_, i64>(9)? as u64,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    fn consultations(&self, day: Option<&str>) -> Result<Vec<ConsultationTotal>, ServerError> {
        self.with(|conn| {
            let mut statement = conn.prepare(
                "SELECT device_id, day, service_code, count FROM consultation_counts
                 WHERE ?1 IS NULL OR day = ?1 ORDER BY device_id, day, service_code",
            )?;
            let rows = statement
                .query_map([day], |r| {
                    let service: String = r.get(2)?;
                    Ok(ConsultationTotal {
                        device_id: r.get(0)?,
                        day: r.get(1)?,
                        service_code: (!service.is_empty()).then_some(service),
                        count: r.get::<_, i64>(3)? as u64,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    fn revoke_device(&self, device_id: &str) -> Result<(), ServerError> {
        self.with(|conn| {
            match conn.execute(
                "UPDATE devices SET state = 'revoked' WHERE device_id = ?1",
                [device_id],
            )? {
                0 => Err(ServerError::UnknownDevice(device_id.into())),
                _ => Ok(()),
            }
        })
    }

    fn create_upload(&self, upload: &Upload, now: i64) -> Result<(), ServerError> {
        self.with(|conn| insert_upload(conn, upload, now))
    }

    fn create_upload_within(
        &self,
        upload: &Upload,
        quota: &crate::tus::DeviceQuota,
        now: i64,
    ) -> Result<(), ServerError> {
        self.with(|conn| {
            // IMMEDIATE: parallel creations (here or in another instance) see each other.
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            // Unfinished uploads by declared length, and finished blobs no committed envelope of
            // the device names yet, each blob once (a tablet that lost its upload addresses
            // uploads the same part again; the server keeps one file).
            let (in_flight, pending): (i64, i64) = tx.query_row(
                "SELECT
                   (SELECT COUNT(*) FROM uploads
                    WHERE device_id = ?1 AND terminated = 0 AND blob IS NULL AND expires_at > ?2),
                   (SELECT COALESCE(SUM(length), 0) FROM uploads
                    WHERE device_id = ?1 AND terminated = 0 AND blob IS NULL AND expires_at > ?2)
                   + (SELECT COALESCE(SUM(length), 0) FROM (
                       SELECT MAX(u.length) AS length FROM uploads u
                       WHERE u.device_id = ?1 AND u.terminated = 0 AND u.blob IS NOT NULL
                         AND u.expires_at > ?2
                         AND NOT EXISTS (
                           SELECT 1 FROM envelope_parts p JOIN envelopes e ON e.envelope_id = p.envelope_id
                           WHERE p.sha256 = u.blob AND e.device_id = u.device_id)
                       GROUP BY u.blob))",
                params![upload.device_id, now],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if in_flight as u64 >= quota.uploads_in_flight {
                return Err(ServerError::TooManyUploads {
                    limit: quota.uploads_in_flight,
                });
            }
            if (pending as u64).saturating_add(upload.length) > quota.pending_bytes {
                return Err(ServerError::PendingBytesQuota {
                    limit: quota.pending_bytes,
                });
            }
            insert_upload(&tx, upload, now)?;
            tx.commit()?;
            Ok(())
        })
    }

    fn expired_partial_uploads(&self, now: i64) -> Result<Vec<String>, ServerError> {
        self.with(|conn| {
            let mut statement = conn
                .prepare("SELECT upload_id FROM uploads WHERE blob IS NULL AND expires_at <= ?1")?;
            let ids = statement
                .query_map([now], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(ids)
        })
    }

    fn delete_upload(&self, upload_id: &str) -> Result<(), ServerError> {
        self.with(|conn| {
            conn.execute(
                "DELETE FROM uploads WHERE upload_id = ?1 AND blob IS NULL",
                [upload_id],
            )?;
            Ok(())
        })
    }

    fn upload(&self, upload_id: &str) -> Result<Upload, ServerError> {
        self.with(|conn| {
            conn.query_row(
                "SELECT upload_id, device_id, length, offset, expires_at, terminated, blob FROM uploads WHERE upload_id = ?1",
                [upload_id],
                upload_from_row,
            )
            .optional()?
            .ok_or(ServerError::NotFound)
        })
    }

    fn advance_upload(&self, upload_id: &str, from: u64, to: u64) -> Result<bool, ServerError> {
        self.with(|conn| {
            let changed = conn.execute(
                "UPDATE uploads SET offset = ?3 WHERE upload_id = ?1 AND offset = ?2 AND terminated = 0",
                params![upload_id, from as i64, to as i64],
            )?;
            Ok(changed == 1)
        })
    }

    fn complete_upload(&self, upload_id: &str, blob: &str) -> Result<(), ServerError> {
        self.with(|conn| {
            conn.execute(
                "UPDATE uploads SET blob = ?2 WHERE upload_id = ?1",
                params![upload_id, blob],
            )?;
            Ok(())
        })
    }

    fn terminate_upload(&self, upload_id: &str) -> Result<(), ServerError> {
        self.with(|conn| {
            conn.execute(
                "UPDATE uploads SET terminated = 1 WHERE upload_id = ?1",
                [upload_id],
            )?;
            Ok(())
        })
    }

    fn status_events(
        &self,
        device_id: &str,
        since: i64,
        limit: u32,
    ) -> Result<Vec<StatusEvent>, ServerError> {
        self.with(|conn| {
            let mut statement = conn.prepare(
                "SELECT s.cursor, s.case_number, s.status, s.at, d.detail FROM status_events s
                 LEFT JOIN status_details d ON d.cursor = s.cursor
                 WHERE s.cursor > ?2 AND (
                   s.case_number IN (SELECT case_number FROM envelopes WHERE device_id = ?1)
                   OR s.case_number IN (SELECT case_number FROM handover_plans WHERE device_id = ?1))
                 ORDER BY s.cursor LIMIT ?3",
            )?;
            let rows = statement.query_map(params![device_id, since, limit], |r| {
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

    fn add_status_event(
        &self,
        case_number: &str,
        state: CaseState,
        detail: Option<&str>,
        now: i64,
    ) -> Result<i64, ServerError> {
        self.with(|conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO status_events (case_number, status, at) VALUES (?1, ?2, ?3)",
                params![case_number, state.name(), now],
            )?;
            let cursor = tx.last_insert_rowid();
            if let Some(detail) = detail {
                tx.execute(
                    "INSERT INTO status_details (cursor, detail) VALUES (?1, ?2)",
                    params![cursor, detail],
                )?;
            }
            tx.commit()?;
            Ok(cursor)
        })
    }

    fn envelope(&self, envelope_id: &str) -> Result<Option<StoredEnvelope>, ServerError> {
        self.with(|conn| {
            Ok(conn
                .query_row(
                    &format!("SELECT {ENVELOPE_COLUMNS} FROM envelopes WHERE envelope_id = ?1"),
                    [envelope_id],
                    envelope_from_row,
                )
                .optional()?)
        })
    }

    fn case_envelope(&self, case_number: &str) -> Result<Option<StoredEnvelope>, ServerError> {
        self.with(|conn| {
            Ok(conn
                .query_row(
                    &format!(
                        "SELECT {ENVELOPE_COLUMNS} FROM envelopes WHERE case_number = ?1
                         ORDER BY received_at, envelope_id LIMIT 1"
                    ),
                    [case_number],
                    envelope_from_row,
                )
                .optional()?)
        })
    }

    fn supplement(&self, envelope_id: &str) -> Result<Option<StoredSupplement>, ServerError> {
        self.with(|conn| {
            Ok(conn
                .query_row(
                    &format!("SELECT {SUPPLEMENT_COLUMNS} FROM supplements WHERE envelope_id = ?1"),
                    [envelope_id],
                    supplement_from_row,
                )
                .optional()?)
        })
    }

    fn insert_supplement(
        &self,
        supplement: &StoredSupplement,
        part_hashes: &[String],
        now: i64,
    ) -> Result<StoredSupplement, ServerError> {
        self.with(|conn| {
            let tx = conn.transaction()?;
            let existing = tx
                .query_row(
                    &format!("SELECT {SUPPLEMENT_COLUMNS} FROM supplements WHERE envelope_id = ?1"),
                    [&supplement.envelope.envelope_id],
                    supplement_from_row,
                )
                .optional()?;
            if let Some(existing) = existing {
                return Ok(existing);
            }
            let envelope = &supplement.envelope;
            tx.execute(
                "INSERT INTO supplements (envelope_id, device_id, case_number, manifest, signature,
                   receipt, receipt_signature, kind, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    envelope.envelope_id,
                    envelope.device_id,
                    envelope.case_number,
                    envelope.manifest,
                    envelope.signature,
                    envelope.receipt,
                    envelope.receipt_signature,
                    supplement.kind.name(),
                    now
                ],
            )?;
            for (index, sha256) in part_hashes.iter().enumerate() {
                tx.execute(
                    "INSERT INTO supplement_parts (envelope_id, idx, sha256) VALUES (?1, ?2, ?3)",
                    params![envelope.envelope_id, index as i64, sha256],
                )?;
            }
            tx.commit()?;
            Ok(StoredSupplement {
                applied_at: None,
                refused: None,
                ..supplement.clone()
            })
        })
    }

    fn supplements(&self, case_number: Option<&str>) -> Result<Vec<StoredSupplement>, ServerError> {
        self.with(|conn| {
            let mut statement = conn.prepare(&format!(
                "SELECT {SUPPLEMENT_COLUMNS} FROM supplements
                 WHERE ?1 IS NULL OR case_number = ?1 ORDER BY received_at, envelope_id"
            ))?;
            let rows = statement.query_map([case_number], supplement_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn mark_supplement(
        &self,
        envelope_id: &str,
        refused: Option<&str>,
        now: i64,
    ) -> Result<(), ServerError> {
        self.with(|conn| {
            conn.execute(
                "UPDATE supplements SET applied_at = ?2, refused = ?3 WHERE envelope_id = ?1",
                params![envelope_id, now, refused],
            )?;
            Ok(())
        })
    }

    fn insert_envelope(
        &self,
        envelope: &StoredEnvelope,
        part_hashes: &[String],
        now: i64,
    ) -> Result<StoredEnvelope, ServerError> {
        self.with(|conn| {
            let tx = conn.transaction()?;
            let existing = tx
                .query_row(&format!("SELECT {ENVELOPE_COLUMNS} FROM envelopes WHERE envelope_id = ?1"), [&envelope.envelope_id], envelope_from_row)
                .optional()?;
            if let Some(existing) = existing {
                return Ok(existing);
            }
            tx.execute(
                &format!("INSERT INTO envelopes ({ENVELOPE_COLUMNS}, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
                params![
                    envelope.envelope_id,
                    envelope.device_id,
                    envelope.case_number,
                    envelope.manifest,
                    envelope.signature,
                    envelope.receipt,
                    envelope.receipt_signature,
                    now
                ],
            )?;
            tx.execute(
                "INSERT INTO status_events (case_number, status, at) VALUES (?1, ?2, ?3)",
                params![envelope.case_number, CaseState::Received.name(), now],
            )?;
            for (index, sha256) in part_hashes.iter().enumerate() {
                tx.execute(
                    "INSERT INTO envelope_parts (envelope_id, idx, sha256) VALUES (?1, ?2, ?3)",
                    params![envelope.envelope_id, index as i64, sha256],
                )?;
            }
            tx.commit()?;
            Ok(envelope.clone())
        })
    }
}

/// A new upload at offset 0; with or without the device's quota checked first.
fn insert_upload(
    conn: &rusqlite::Connection,
    upload: &Upload,
    now: i64,
) -> Result<(), ServerError> {
    conn.execute(
        "INSERT INTO uploads (upload_id, device_id, length, offset, created_at, expires_at)
         VALUES (?1, ?2, ?3, 0, ?4, ?5)",
        params![
            upload.upload_id,
            upload.device_id,
            upload.length as i64,
            now,
            upload.expires_at
        ],
    )?;
    Ok(())
}
