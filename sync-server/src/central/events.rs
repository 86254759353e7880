//! `POST /central/v1/events`: the central system tells us what happened to a case (registered,
//! forwarded to the provider, decided, result ready, delivered). The request is believed only
//! with a valid HMAC over a fresh timestamp and an event id never seen before; then the event
//! is stored, the case register and the tablets' status feed are updated, the step is audited
//! and the applicant's notification is queued, all in one transaction; the notification worker
//! ([`super::notify`]) sends it. Plain HTTP semantics: the central system holds no client
//! certificate, its signature is its credential.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use fieldkit_domain::workflow::{CaseEvent, CaseState, StateName, WorkflowError};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::CentralState;
use super::signing::{SIGNATURE_HEADER, SignatureProblem, TIMESTAMP_HEADER, verify};
use crate::ServerError;
use crate::office::db::audit;

/// Who the audit trail names for what the central system reports.
pub const ACTOR: &str = "central-system";

/// Events are a few hundred bytes; anything near this is not one.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The route to `.merge()` into the server's router.
pub fn router(state: Arc<CentralState>) -> Router {
    Router::new()
        .route("/central/v1/events", post(receive))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// A refusal: HTTP status and the stable `code` of the JSON error body.
#[derive(Debug)]
pub struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ErrorBody {
                code: self.code,
                message: &self.message,
            }),
        )
            .into_response()
    }
}

fn refuse(status: StatusCode, code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        code,
        message: message.into(),
    }
}

impl From<ServerError> for Refusal {
    fn from(error: ServerError) -> Self {
        tracing::error!(error = %error, "a central event could not be stored");
        refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "storage",
            "the event could not be stored; send it again later",
        )
    }
}

impl From<SignatureProblem> for Refusal {
    fn from(problem: SignatureProblem) -> Self {
        let code = match problem {
            SignatureProblem::BadTimestamp => "bad_timestamp",
            SignatureProblem::StaleTimestamp => "stale_timestamp",
            SignatureProblem::BadSignature => "bad_signature",
        };
        refuse(StatusCode::UNAUTHORIZED, code, problem.to_string())
    }
}

/// What the central system sends.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub event_id: String,
    pub envelope_id: Option<String>,
    pub case_number: Option<String>,
    #[serde(rename = "type")]
    pub kind: EventKind,
    pub central_number: Option<String>,
    pub decision: Option<Decision>,
    #[serde(default)]
    pub reasons: Vec<String>,
    /// When it happened at the central system (RFC 3339).
    pub at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Registered,
    ForwardedToProvider,
    Decision,
    ResultReady,
    Delivered,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Issued,
    Refused,
}

impl EventKind {
    fn name(self) -> &'static str {
        match self {
            Self::Registered => "registered",
            Self::ForwardedToProvider => "forwarded_to_provider",
            Self::Decision => "decision",
            Self::ResultReady => "result_ready",
            Self::Delivered => "delivered",
        }
    }
}

/// What we answer to an event we took.
#[derive(Serialize)]
struct Taken {
    event_id: String,
    case_number: String,
    status: &'static str,
    /// False when the case had already gone this far or further: the event is kept, but the
    /// case, the tablets' feed and the applicant hear nothing new.
    applied: bool,
}

/// The step of the case's life the event reports: the workflow's event and the state it leads
/// to. The central system's «delivered» is the centre's own record of a hand-over under the
/// applicant's signature.
fn transition_of(event: &Event) -> Result<(CaseEvent, CaseState), Refusal> {
    Ok(match (event.kind, event.decision) {
        (EventKind::Decision, Some(Decision::Issued)) => (CaseEvent::Issued, CaseState::Issued),
        (EventKind::Decision, Some(Decision::Refused)) => (
            CaseEvent::Refused {
                reasons: event.reasons.clone(),
            },
            CaseState::Refused,
        ),
        (EventKind::Decision, None) => {
            return Err(refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_event",
                "a decision event needs \"decision\": \"issued\" or \"refused\"",
            ));
        }
        (_, Some(_)) => {
            return Err(refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_event",
                "only a decision event carries \"decision\"",
            ));
        }
        (EventKind::Registered, None) => (
            CaseEvent::RegisteredCentrally,
            CaseState::RegisteredCentrally,
        ),
        (EventKind::ForwardedToProvider, None) => (
            CaseEvent::ForwardedToProvider,
            CaseState::ForwardedToProvider,
        ),
        (EventKind::ResultReady, None) => (CaseEvent::ResultReady, CaseState::ResultReady),
        (EventKind::Delivered, None) => (
            CaseEvent::ResultHandedOver {
                applicant_signed: true,
            },
            CaseState::ResultDelivered,
        ),
    })
}

/// What an event does to the case where it is now.
enum Outcome {
    /// The case moves to this state.
    Applied(CaseState),
    /// Old news: the case went as far or further. Kept for the record, nothing else changes.
    Superseded,
}

/// The workflow decides; a step it refuses is refused to the central system with the same
/// sentence staff read.
fn outcome(current: &StateName, event: &CaseEvent, target: CaseState) -> Result<Outcome, Refusal> {
    let current = match current {
        StateName::Known(state) => *state,
        StateName::Unknown(name) => {
            return Err(refuse(
                StatusCode::CONFLICT,
                "transition_refused",
                format!("the case is in a state this server does not know ({name})"),
            ));
        }
    };
    match current.apply(event) {
        Ok(next) => Ok(Outcome::Applied(next)),
        Err(WorkflowError::NotAllowed { .. }) if current.already_past(target) => {
            Ok(Outcome::Superseded)
        }
        Err(error) => Err(transition_refused(&error)),
    }
}

/// The one refusal of a step the workflow does not allow, for every caller of the server.
pub fn transition_refused(error: &WorkflowError) -> Refusal {
    refuse(
        StatusCode::CONFLICT,
        "transition_refused",
        format!("{error} ({})", error.sentence_uk()),
    )
}

fn plain_text(value: &str, max: usize) -> bool {
    !value.trim().is_empty() && value.len() <= max && !value.chars().any(char::is_control)
}

/// Check what signature and JSON cannot: ids, time, the case it names.
fn check(event: &Event) -> Result<i64, Refusal> {
    let invalid = |message: &str| {
        refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_event",
            message.to_owned(),
        )
    };
    if !plain_text(&event.event_id, 128) {
        return Err(invalid("event_id: 1–128 characters"));
    }
    if event.envelope_id.is_none() && event.case_number.is_none() {
        return Err(invalid("name the case by envelope_id or case_number"));
    }
    if event
        .central_number
        .as_deref()
        .is_some_and(|n| !plain_text(n, 64))
    {
        return Err(invalid("central_number: 1–64 characters"));
    }
    if event.reasons.len() > 50 || event.reasons.iter().any(|r| r.len() > 2000) {
        return Err(invalid("reasons: at most 50, each at most 2000 characters"));
    }
    time::OffsetDateTime::parse(&event.at, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| invalid("at: an RFC 3339 date and time, e.g. 2026-03-02T10:15:00+02:00"))
}

/// An event body read and checked as far as it can be without the database.
pub struct ReadEvent {
    pub event: Event,
    /// When it happened, Unix seconds.
    pub at: i64,
    /// The step of the workflow it reports, and the state that step leads to.
    pub step: CaseEvent,
    pub target: CaseState,
}

/// Read a (signature-checked) body: JSON, then what JSON cannot check, then the step it
/// reports. Pure, so the fuzz targets (tests/fuzz) reach every byte a caller could send.
pub fn read_event(body: &[u8]) -> Result<ReadEvent, Refusal> {
    let event: Event = serde_json::from_slice(body).map_err(|e| {
        refuse(
            StatusCode::BAD_REQUEST,
            "malformed_event",
            format!("the body is not an event: {e}"),
        )
    })?;
    let at = check(&event)?;
    let (step, target) = transition_of(&event)?;
    Ok(ReadEvent {
        event,
        at,
        step,
        target,
    })
}

/// The number and the state of the case the event is about, by envelope id or case number;
/// both must agree if both are given.
fn find_case(state: &CentralState, event: &Event) -> Result<(String, StateName), Refusal> {
    let found: Option<(String, String, String)> = state.db.transaction(|tx| {
        Ok(tx
            .query_row(
                "SELECT case_number, envelope_id, state FROM office_cases
                 WHERE envelope_id = ?1 OR case_number = ?2 LIMIT 1",
                params![event.envelope_id, event.case_number],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
    })?;
    let unknown = || {
        refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_case",
            "no case with this envelope_id or case_number was sent from here",
        )
    };
    let (case_number, envelope_id, current) = found.ok_or_else(unknown)?;
    let agrees = event.case_number.as_ref().is_none_or(|n| *n == case_number)
        && event.envelope_id.as_ref().is_none_or(|e| *e == envelope_id);
    if agrees {
        Ok((case_number, StateName::parse(&current)))
    } else {
        Err(unknown())
    }
}

fn replayed(event_id: &str) -> Refusal {
    refuse(
        StatusCode::CONFLICT,
        "replayed",
        format!("event {event_id} was received before; it is not applied twice"),
    )
}

async fn receive(
    State(state): State<Arc<CentralState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Taken>, Refusal> {
    // Over the limit (or cut off): still a JSON error, like every other refusal.
    let body = body.map_err(|e| {
        let (status, code) = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            (StatusCode::PAYLOAD_TOO_LARGE, "too_large")
        } else {
            (StatusCode::BAD_REQUEST, "malformed_event")
        };
        refuse(status, code, e.body_text())
    })?;
    let key = state.events_key.as_ref().ok_or_else(|| {
        refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "events_disabled",
            "this server has no events_hmac_key_file configured",
        )
    })?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    verify(
        key,
        header(TIMESTAMP_HEADER),
        header(SIGNATURE_HEADER),
        &body,
        state.now(),
    )?;
    let ReadEvent {
        event,
        at,
        step,
        target,
    } = read_event(&body)?;
    let (case_number, current) = find_case(&state, &event)?;
    let seen: bool = state.db.transaction(|tx| {
        Ok(tx
            .query_row(
                "SELECT 1 FROM central_events WHERE event_id = ?1",
                [&event.event_id],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    })?;
    if seen {
        return Err(replayed(&event.event_id));
    }
    let next = match outcome(&current, &step, target)? {
        Outcome::Applied(next) => Some(next),
        Outcome::Superseded => None,
    };
    let applied = next.is_some();
    let status = target.name();
    // The tablets' feed first: a crash before the commit below leaves the event unapplied,
    // the central system sends it again, and the feed shows the status twice at worst.
    if let Some(next) = next {
        // A refusal's reasons travel to the tablet, which shows them in «Справи».
        let reasons = (next == CaseState::Refused).then(|| event.reasons.join("; "));
        state
            .meta
            .add_status_event(&case_number, next, reasons.as_deref(), at)?;
    }
    let now = state.now();
    let body_text = String::from_utf8_lossy(&body).into_owned();
    let inserted = state.db.transaction(|tx| {
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO central_events
             (event_id, case_number, type, status, central_number, at, received_at, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                event.event_id,
                case_number,
                event.kind.name(),
                status,
                event.central_number,
                at,
                now,
                body_text
            ],
        )?;
        if inserted == 0 {
            return Ok(false);
        }
        let number = event
            .central_number
            .as_deref()
            .map(|n| format!(" central_number={n}"))
            .unwrap_or_default();
        let detail = format!(
            "event={} type={}{number}",
            event.event_id,
            event.kind.name()
        );
        let Some(next) = next else {
            // Kept and audited for the record; the case stays where it is.
            tx.execute(
                "UPDATE office_cases SET central_number = COALESCE(central_number, ?2)
                 WHERE case_number = ?1",
                params![case_number, event.central_number],
            )?;
            audit(
                tx,
                ACTOR,
                "case.event_superseded",
                &case_number,
                &format!("{detail} status={status}"),
                now,
            )?;
            return Ok(true);
        };
        // Only from the state the workflow decided from: a staff action or another event in
        // between is not overwritten.
        let moved = tx.execute(
            "UPDATE office_cases SET state = ?2, central_number = COALESCE(?3, central_number),
             updated_at = ?4 WHERE case_number = ?1 AND state = ?5",
            params![
                case_number,
                next.name(),
                event.central_number,
                now,
                current.name()
            ],
        )?;
        if moved == 0 {
            return Err(ServerError::Conflict(case_number.clone()));
        }
        audit(
            tx,
            ACTOR,
            &format!("case.{status}"),
            &case_number,
            &detail,
            now,
        )?;
        // Queued with the event: a crash or a mail server that is down cannot lose it.
        super::notify::enqueue(tx, &event.event_id, &case_number, next, now)?;
        Ok(true)
    })?;
    if !inserted {
        // The same event, twice at once: the other request applied it.
        return Err(replayed(&event.event_id));
    }
    if applied {
        tracing::info!(case_number = %case_number, status, "central event applied");
        // Telling the applicant may take a while (SMTP, an SMS gateway): the central system
        // does not wait for it, and its failure never undoes the event. The worker sends it now.
        super::notify::wake(&state);
    } else {
        tracing::info!(case_number = %case_number, status, "central event kept, case already further");
    }
    Ok(Json(Taken {
        event_id: event.event_id,
        case_number,
        status,
        applied,
    }))
}
