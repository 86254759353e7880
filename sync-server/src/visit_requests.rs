//! Home-visit requests (запити на виїзд адміністратора) between the public form and the
//! back-office: what a request says (sealed at rest as [`RequestDetails`]), the confirmation
//! code, the messages the requester receives, and the notices owed to them once staff planned
//! or declined the request, sent at once and, failing that, by a worker that also forgets
//! requests nobody confirmed within a day.
//!
//! A request is personal data: it is sealed under the personal-data key bound to its id,
//! opened only in the back-office and by the sender of its notice, in memory; nothing here
//! logs a name, phone, address, e-mail or reason, and no message carries more than a date, a
//! time, the staff's reason and the centre's contacts.

use std::sync::Arc;
use std::time::Duration;

use fieldkit_domain::catalog::{Catalog, Office};
use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::ServerError;
use crate::central::CentralState;
use crate::central::notify::{Channel, Message};
use crate::personal_data::PersonalDataKey;
use crate::store::{
    AuditNote, ChannelKind, MetadataStore, NoticeOutcome, NoticeState, RequestState,
    SqliteMetadata, VisitRequest, VisitRequestStore,
};

/// How long a confirmation code may be typed back.
pub const CODE_SECONDS: i64 = 30 * 60;
/// Wrong codes before the request is dropped.
pub const CODE_TRIES: i64 = 5;
/// Unconfirmed requests older than this are forgotten.
pub const UNCONFIRMED_SECONDS: i64 = 24 * 3600;
/// Notice attempts that may fail for now (a mail server down) before staff are asked to act.
pub const NOTICE_ATTEMPTS: i64 = 5;
/// A notice sent at once by a page is not picked up by the worker for this long (longer than a
/// send may take), so it goes out once; if the page's server stops, the worker sends it after.
pub const NOTICE_LEASE_SECONDS: i64 = 120;
/// Who the audit trail names for notices and the sweep.
pub const ACTOR: &str = "visit-requests";
/// How often the worker looks for due notices and stale requests.
const WORKER_INTERVAL: Duration = Duration::from_secs(30);

/// Where the person is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    Home,
    Hospital,
    CareFacility,
}

impl Place {
    pub const ALL: [Place; 3] = [Place::Home, Place::Hospital, Place::CareFacility];

    /// The name `docs/visits.md` gives it (`place`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Home => "home",
            Self::Hospital => "hospital",
            Self::CareFacility => "care_facility",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == text)
    }

    pub fn words(self) -> (&'static str, &'static str) {
        match self {
            Self::Home => ("вдома", "at home"),
            Self::Hospital => ("у лікарні", "in hospital"),
            Self::CareFacility => ("у закладі догляду", "in a care facility"),
        }
    }
}

/// Why the person cannot come to the centre.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Age,
    Disability,
    Illness,
    CareFacility,
}

impl Reason {
    pub const ALL: [Reason; 4] = [
        Reason::Age,
        Reason::Disability,
        Reason::Illness,
        Reason::CareFacility,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Age => "age",
            Self::Disability => "disability",
            Self::Illness => "illness",
            Self::CareFacility => "care_facility",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == text)
    }

    pub fn words(self) -> (&'static str, &'static str) {
        match self {
            Self::Age => ("похилий вік", "old age"),
            Self::Disability => ("інвалідність", "disability"),
            Self::Illness => ("хвороба", "illness"),
            Self::CareFacility => (
                "перебуває в лікарні чи закладі догляду",
                "in hospital or a care facility",
            ),
        }
    }
}

/// The part of the day the person prefers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeOfDay {
    Any,
    Morning,
    Afternoon,
}

impl TimeOfDay {
    pub const ALL: [TimeOfDay; 3] = [TimeOfDay::Any, TimeOfDay::Morning, TimeOfDay::Afternoon];

    pub fn name(self) -> &'static str {
        match self {
            Self::Any => "any",
            Self::Morning => "morning",
            Self::Afternoon => "afternoon",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == text)
    }

    pub fn words(self) -> (&'static str, &'static str) {
        match self {
            Self::Any => ("будь-коли в робочий час", "any time in working hours"),
            Self::Morning => ("до обіду", "morning"),
            Self::Afternoon => ("після обіду", "afternoon"),
        }
    }
}

/// What a request says: sealed at rest, never logged (its `Debug` says nothing).
#[derive(Clone, Serialize, Deserialize)]
pub struct RequestDetails {
    /// The person to visit: surname, given name, patronymic.
    pub person: String,
    /// The phone to call and, if chosen, to send SMS to, as `+380XXXXXXXXX`.
    pub phone: String,
    /// Asked by someone else (a relative, a carer): their name; `None`: by the person.
    pub asked_by: Option<String>,
    pub settlement: String,
    pub street: String,
    pub house: String,
    pub flat: String,
    /// «Як знайти»: floor, entrance code, landmarks.
    pub directions: String,
    pub place: Place,
    pub reasons: Vec<Reason>,
    /// A catalog service code; `None`: «не знаю / порадьте».
    pub service: Option<String>,
    /// Preferred days, `YYYY-MM-DD`; empty: any working day.
    pub days: Vec<String>,
    pub time_of_day: TimeOfDay,
    pub channel: NoticeChannel,
    /// The language the form was filled in (`uk` or `en`).
    pub lang: String,
}

/// How the requester is told: an SMS to the phone given, or an e-mail.
#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NoticeChannel {
    Sms,
    Email { address: String },
}

impl NoticeChannel {
    pub fn kind(&self) -> ChannelKind {
        match self {
            Self::Sms => ChannelKind::Sms,
            Self::Email { .. } => ChannelKind::Email,
        }
    }
}

impl std::fmt::Debug for RequestDetails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestDetails(<redacted>)")
    }
}

impl RequestDetails {
    /// The address as it goes into the case: settlement, street, house, flat.
    pub fn address(&self) -> String {
        let mut parts = vec![
            self.settlement.trim().to_owned(),
            self.street.trim().to_owned(),
            self.house.trim().to_owned(),
        ];
        if !self.flat.trim().is_empty() {
            parts.push(format!("кв. {}", self.flat.trim()));
        }
        parts.retain(|p| !p.is_empty());
        parts.join(", ")
    }

    /// Where and how the requester is told.
    pub fn contact(&self) -> (Channel, &str) {
        match &self.channel {
            NoticeChannel::Sms => (Channel::Sms, &self.phone),
            NoticeChannel::Email { address } => (Channel::Email, address),
        }
    }

    /// Sealed for request `id`.
    pub fn seal(&self, key: &PersonalDataKey, id: &str) -> Result<Vec<u8>, ServerError> {
        let json = Zeroizing::new(
            serde_json::to_vec(self)
                .map_err(|e| ServerError::Storage(format!("visit request: {e}")))?,
        );
        key.seal(&details_context(id), &json)
    }

    /// The request `id` as it was sealed.
    pub fn open(key: &PersonalDataKey, id: &str, sealed: &[u8]) -> Result<Self, ServerError> {
        let json = key.open(&details_context(id), sealed)?;
        serde_json::from_slice(&json)
            .map_err(|e| ServerError::Storage(format!("visit request {id}: {e}")))
    }
}

fn details_context(id: &str) -> String {
    format!("visit_request:{id}")
}

fn reason_context(id: &str) -> String {
    format!("visit_request_reason:{id}")
}

/// A decline's reason, sealed for request `id` (staff may write more than they should).
pub fn seal_reason(key: &PersonalDataKey, id: &str, reason: &str) -> Result<Vec<u8>, ServerError> {
    key.seal(&reason_context(id), reason.as_bytes())
}

pub fn open_reason(key: &PersonalDataKey, id: &str, sealed: &[u8]) -> Result<String, ServerError> {
    let bytes = key.open(&reason_context(id), sealed)?;
    String::from_utf8(bytes.to_vec())
        .map_err(|_| ServerError::Storage(format!("visit request {id}: reason is not text")))
}

fn random_bytes<const N: usize>() -> Result<[u8; N], ServerError> {
    let mut bytes = [0u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| ServerError::Storage("no randomness".into()))?;
    Ok(bytes)
}

/// A new request's id: 128 random bits, the confirmation page's address.
pub fn new_id() -> Result<String, ServerError> {
    Ok(hex::encode(random_bytes::<16>()?))
}

/// A six-digit confirmation code, every value equally likely.
pub fn new_code() -> Result<Zeroizing<String>, ServerError> {
    // 4,294,000,000 is a multiple of 1,000,000: drawing below it keeps the digits uniform.
    loop {
        let n = u32::from_be_bytes(random_bytes::<4>()?);
        if n < 4_294_000_000 {
            return Ok(Zeroizing::new(format!("{:06}", n % 1_000_000)));
        }
    }
}

/// What the store keeps of a code: its hash bound to the request, so one code's hash says
/// nothing of another request's.
pub fn code_hash(id: &str, code: &str) -> String {
    let mut bytes = Vec::new();
    for part in ["visit-request-code", id, code.trim()] {
        bytes.extend_from_slice(&(part.len() as u64).to_be_bytes());
        bytes.extend_from_slice(part.as_bytes());
    }
    hex::encode(digest(&SHA256, &bytes))
}

// ---------------------------------------------------------------------------------------------
// Messages: Ukrainian first, then English; no name, address or phone.

fn centre_contacts(office: Option<&Office>) -> (String, String) {
    let Some(office) = office else {
        return (String::new(), String::new());
    };
    let contact = office
        .phone
        .as_deref()
        .or(office.email.as_deref())
        .unwrap_or_default();
    if contact.is_empty() {
        return (String::new(), String::new());
    }
    (
        format!(" Телефон центру: {contact}."),
        format!(" Centre: {contact}."),
    )
}

/// The confirmation code.
pub fn code_message(code: &str) -> Message {
    let minutes = CODE_SECONDS / 60;
    Message {
        subject: "ЦНАП: код підтвердження запиту на виїзд / Confirmation code".into(),
        text: format!(
            "Добрий день!\n\nКод підтвердження запиту на виїзд адміністратора: {code}\n\
             Він діє {minutes} хвилин. Якщо ви не заповнювали запит, нічого робити не потрібно.\n\n\
             Hello,\n\nThe code to confirm the home-visit request: {code}\n\
             It is valid for {minutes} minutes. If you did not fill in a request, do nothing.\n"
        ),
        sms: format!("ЦНАП: код {code} (діє {minutes} хв). Code {code}."),
    }
}

/// `2026-11-25 10:00` as `25.11.2026 о 10:00`.
fn ukrainian_time(time: &str) -> String {
    match time.split_once(' ') {
        Some((date, clock)) => {
            let parts: Vec<&str> = date.split('-').collect();
            match parts.as_slice() {
                [y, m, d] => format!("{d}.{m}.{y} о {clock}"),
                _ => time.to_owned(),
            }
        }
        None => time.to_owned(),
    }
}

/// The visit is planned for `time` (`YYYY-MM-DD HH:MM`).
pub fn planned_message(time: &str, office: Option<&Office>) -> Message {
    let (contacts_uk, contacts_en) = centre_contacts(office);
    let uk_time = ukrainian_time(time);
    let (date, clock) = time.split_once(' ').unwrap_or((time, ""));
    Message {
        subject: format!("ЦНАП: виїзд адміністратора {uk_time} / Home visit on {date} at {clock}"),
        text: format!(
            "Добрий день!\n\nАдміністратор ЦНАП прийде за вашим запитом {uk_time}.\n\
             Якщо час не підходить, зателефонуйте до центру.{contacts_uk}\n\n\
             Hello,\n\nThe centre's administrator will visit as you asked on {date} at {clock}.\n\
             If the time does not suit you, please call the centre.{contacts_en}\n"
        ),
        sms: format!(
            "ЦНАП: адміністратор прийде {uk_time}.{contacts_uk} Visit on {date} at {clock}."
        ),
    }
}

/// The request was declined for `reason`.
pub fn declined_message(reason: &str, office: Option<&Office>) -> Message {
    let (contacts_uk, contacts_en) = centre_contacts(office);
    Message {
        subject: "ЦНАП: запит на виїзд не виконано / Home-visit request declined".into(),
        text: format!(
            "Добрий день!\n\nНа жаль, ваш запит на виїзд адміністратора не може бути виконано.\n\
             Причина: {reason}\n{contacts_uk}\n\n\
             Hello,\n\nUnfortunately the home-visit request cannot be met.\n\
             Reason (in Ukrainian): {reason}\n{contacts_en}\n"
        ),
        sms: format!("ЦНАП: запит на виїзд не виконано. Причина: {reason}.{contacts_uk}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Notices.

/// What sends the notices owed to requesters: the store, the channels, the key.
pub struct Notices {
    pub meta: Arc<SqliteMetadata>,
    pub central: Arc<CentralState>,
    pub personal: Arc<PersonalDataKey>,
    pub clock: fn() -> i64,
}

/// What one pass of the worker did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    pub swept: usize,
    pub sent: usize,
    pub not_sent: usize,
}

fn note(action: &'static str, detail: String) -> AuditNote {
    AuditNote {
        actor: ACTOR.to_owned(),
        action,
        detail,
    }
}

impl Notices {
    pub fn new(
        meta: Arc<SqliteMetadata>,
        central: Arc<CentralState>,
        personal: Arc<PersonalDataKey>,
        clock: fn() -> i64,
    ) -> Self {
        Self {
            meta,
            central,
            personal,
            clock,
        }
    }

    fn now(&self) -> i64 {
        (self.clock)()
    }

    fn centre(&self) -> Option<Office> {
        let (_, text) = self.meta.catalog_since(0).ok().flatten()?;
        Catalog::from_toml_str(&text)
            .ok()
            .map(|catalog| catalog.centre.office)
    }

    /// The message request `request` is owed, and where it goes.
    fn compose(&self, request: &VisitRequest) -> Result<(Channel, String, Message), ServerError> {
        let details = RequestDetails::open(&self.personal, &request.id, &request.sealed)?;
        let office = self.centre();
        let message = match request.state {
            RequestState::Planned => planned_message(
                request.planned_time.as_deref().unwrap_or_default(),
                office.as_ref(),
            ),
            RequestState::Declined => {
                let sealed = request.reason_sealed.as_deref().unwrap_or_default();
                let reason = open_reason(&self.personal, &request.id, sealed)?;
                declined_message(&reason, office.as_ref())
            }
            RequestState::Unconfirmed | RequestState::New => {
                return Err(ServerError::Storage(format!(
                    "visit request {}: a notice is owed only once it is decided",
                    request.id
                )));
            }
        };
        let (channel, to) = details.contact();
        Ok((channel, to.to_owned(), message))
    }

    /// Try the notice of `request` once and record what came of it.
    pub async fn deliver(&self, request: &VisitRequest) -> Result<NoticeOutcome, ServerError> {
        let attempt = request.notice_attempts + 1;
        let outcome = match self.compose(request) {
            // A request that does not open will not open later either.
            Err(error) => NoticeOutcome::Failed {
                reason: format!("the request could not be opened: {error}"),
            },
            Ok((channel, to, message)) => {
                match self.central.send_now(channel, &to, message).await {
                    Ok(()) => NoticeOutcome::Sent,
                    Err(failure) if failure.retry && attempt < NOTICE_ATTEMPTS => {
                        let wait = 60_i64 << (attempt - 1).clamp(0, 10);
                        NoticeOutcome::Retry {
                            next_at: self.now() + wait,
                            reason: failure.reason,
                        }
                    }
                    Err(failure) => NoticeOutcome::Failed {
                        reason: failure.reason,
                    },
                }
            }
        };
        let channel = request.channel.name();
        let audit = match &outcome {
            NoticeOutcome::Sent => note(
                "visit_request.notice_sent",
                format!("channel={channel} attempt={attempt}"),
            ),
            NoticeOutcome::Retry { next_at, reason } => note(
                "visit_request.notice_retry",
                format!("channel={channel} attempt={attempt}: {reason}; next at {next_at}"),
            ),
            NoticeOutcome::Failed { reason } => note(
                "visit_request.notice_failed",
                format!("channel={channel} attempt={attempt}: {reason}"),
            ),
        };
        match &outcome {
            NoticeOutcome::Sent => {}
            NoticeOutcome::Retry { reason, .. } => {
                tracing::warn!(attempt, %reason, "a visit request's notice was not sent; will retry");
            }
            NoticeOutcome::Failed { reason } => {
                tracing::error!(attempt, %reason, "a visit request's notice was not sent; staff must act");
            }
        }
        self.meta
            .record_visit_request_notice(&request.id, &outcome, &audit, self.now())?;
        Ok(outcome)
    }

    /// Send request `id`'s notice now if it is pending (a page just made it so).
    pub async fn deliver_now(&self, id: &str) -> Result<Option<NoticeOutcome>, ServerError> {
        match self.meta.visit_request(id)? {
            Some(request) if request.notice == Some(NoticeState::Pending) => {
                Ok(Some(self.deliver(&request).await?))
            }
            _ => Ok(None),
        }
    }

    /// One pass: forget stale unconfirmed requests, try every due notice once.
    pub async fn run_once(&self) -> Result<PassReport, ServerError> {
        let now = self.now();
        let mut report = PassReport {
            swept: self
                .meta
                .sweep_unconfirmed_visit_requests(now - UNCONFIRMED_SECONDS)?,
            ..PassReport::default()
        };
        for request in self.meta.due_visit_request_notices(now)? {
            match self.deliver(&request).await? {
                NoticeOutcome::Sent => report.sent += 1,
                _ => report.not_sent += 1,
            }
        }
        Ok(report)
    }
}

/// The worker: a pass every half minute.
pub fn spawn(notices: Arc<Notices>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(error) = notices.run_once().await {
                tracing::error!(%error, "the visit requests' pass failed");
            }
            tokio::time::sleep(WORKER_INTERVAL).await;
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn codes_are_six_digits_and_hashed_per_request() {
        for _ in 0..50 {
            let code = new_code().unwrap();
            assert_eq!(code.len(), 6);
            assert!(code.chars().all(|c| c.is_ascii_digit()));
        }
        assert_eq!(code_hash("a", "123456"), code_hash("a", " 123456 "));
        assert_ne!(code_hash("a", "123456"), code_hash("b", "123456"));
        assert_eq!(new_id().unwrap().len(), 32);
    }

    #[test]
    fn messages_say_the_date_or_reason_and_the_centre_and_nothing_else() {
        let office = Office {
            name: "ЦНАП".into(),
            name_en: None,
            address: "вул. Центральна, 1".into(),
            hours: None,
            phone: Some("+380322000000".into()),
            email: None,
            website: None,
        };
        let planned = planned_message("2026-11-25 10:00", Some(&office));
        assert!(
            planned.sms.contains("25.11.2026 о 10:00"),
            "{}",
            planned.sms
        );
        assert!(planned.text.contains("2026-11-25 at 10:00"));
        assert!(planned.text.contains("+380322000000"));
        let declined = declined_message("адреса поза громадою", None);
        assert!(declined.sms.contains("Причина: адреса поза громадою"));
        assert!(code_message("042117").sms.contains("042117"));
    }

    #[test]
    fn details_open_only_for_their_request() {
        let key = PersonalDataKey::generate().unwrap();
        let details = RequestDetails {
            person: "Шевченко Марія Іванівна".into(),
            phone: "+380671234567".into(),
            asked_by: None,
            settlement: "м. Львів".into(),
            street: "вул. Зелена".into(),
            house: "12".into(),
            flat: "3".into(),
            directions: String::new(),
            place: Place::Home,
            reasons: vec![Reason::Age],
            service: None,
            days: vec![],
            time_of_day: TimeOfDay::Any,
            channel: NoticeChannel::Sms,
            lang: "uk".into(),
        };
        assert_eq!(details.address(), "м. Львів, вул. Зелена, 12, кв. 3");
        let sealed = details.seal(&key, "r1").unwrap();
        assert_eq!(
            RequestDetails::open(&key, "r1", &sealed).unwrap().person,
            details.person
        );
        assert!(RequestDetails::open(&key, "r2", &sealed).is_err());
    }
}
