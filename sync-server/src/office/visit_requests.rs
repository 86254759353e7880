//! «Запити на виїзд»: home-visit requests confirmed on the public form, for operators to plan
//! as a visit to a tablet or decline with a reason. The list shows no personal data; a request
//! is opened (decrypted in memory) only on its own page, and every opening is in the audit
//! trail (who, when, which request: never what it says). Planning writes the visit into the
//! tablet's feed sealed, marks the request and owes the requester a notice, in one
//! transaction; the notice is sent at once and, if it cannot be, the page says so and offers to
//! send it again (the worker in `crate::visit_requests` retries what may work later).

use std::fmt::Write;

use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use fieldkit_domain::catalog::Catalog;
use serde::Deserialize;

use super::auth::Role;
use super::db::audit;
use super::html::{Lang, csrf_field, esc, page, url, when};
use super::register;
use super::web::{OfficeError, OfficeState, Shared, SignedIn, html};
use crate::store::{
    AuditNote, ChannelKind, DeviceState, MetadataStore, NotNew, NoticeState, PlannedFromRequest,
    RequestState, VisitRequest, VisitRequestStore,
};
use crate::visit_requests::{
    NOTICE_LEASE_SECONDS, NoticeChannel, Notices, Place, RequestDetails, open_reason, seal_reason,
};

/// Who works with requests: they plan visits.
const STAFF: [Role; 1] = [Role::Operator];
/// The longest reason for declining, in characters (it goes out by SMS too).
const MAX_REASON: usize = 500;

fn state_words(state: RequestState, lang: Lang) -> &'static str {
    match state {
        RequestState::Unconfirmed => lang.t("не підтверджено", "unconfirmed"),
        RequestState::New => lang.t("новий", "new"),
        RequestState::Planned => lang.t("заплановано", "planned"),
        RequestState::Declined => lang.t("відхилено", "declined"),
    }
}

fn channel_words(channel: ChannelKind, lang: Lang) -> &'static str {
    match channel {
        ChannelKind::Sms => "SMS",
        ChannelKind::Email => lang.t("e-mail", "e-mail"),
    }
}

/// The notice's state in words, as the list and the page say it.
fn notice_words(request: &VisitRequest, lang: Lang) -> String {
    match request.notice {
        None => "—".to_owned(),
        Some(NoticeState::Sent) => lang.t("повідомлено", "told").to_owned(),
        Some(NoticeState::Pending) if request.notice_attempts == 0 => {
            lang.t("надсилається", "being sent").to_owned()
        }
        Some(NoticeState::Pending) => format!(
            "{} ({} {}{})",
            lang.t("ще не повідомлено", "not told yet"),
            lang.t("спроб", "attempts"),
            request.notice_attempts,
            request
                .notice_next_at
                .map(|at| format!(", {} {}", lang.t("наступна", "next"), when(at)))
                .unwrap_or_default()
        ),
        Some(NoticeState::Failed) => lang
            .t("не вдалося повідомити", "could not be told")
            .to_owned(),
    }
}

fn service_title(catalog: Option<&Catalog>, code: Option<&str>, lang: Lang) -> String {
    let Some(code) = code else {
        return lang
            .t("не знає — порадити", "does not know — advise")
            .to_owned();
    };
    let title = catalog
        .and_then(|c| c.service(&fieldkit_domain::common::ServiceCode(code.to_owned())))
        .map(|s| match (lang, &s.title_en) {
            (Lang::En, Some(en)) => en.clone(),
            _ => s.title.clone(),
        });
    match title {
        Some(title) => format!("{code} · {title}"),
        None => code.to_owned(),
    }
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    state: String,
}

/// `GET /office/visit-requests?state=new|planned|declined`
pub async fn list(
    State(state): Shared,
    user: SignedIn,
    Query(query): Query<ListQuery>,
) -> Result<Response, OfficeError> {
    user.require(&STAFF)?;
    let lang = user.lang;
    let shown = match RequestState::parse(&query.state) {
        Some(RequestState::Unconfirmed) | None => RequestState::New,
        Some(other) => other,
    };
    let counts = state.meta.visit_request_counts()?;
    let catalog = state.catalog()?;
    let catalog = catalog.as_ref().map(|(_, c)| c);
    let mut body = String::from("<p class=\"counts\">");
    for tab in [
        RequestState::New,
        RequestState::Planned,
        RequestState::Declined,
    ] {
        let label = format!("{} ({})", state_words(tab, lang), counts.of(tab));
        if tab == shown {
            let _ = write!(body, "<strong>{}</strong> ", esc(&label));
        } else {
            let _ = write!(
                body,
                "<a href=\"/office/visit-requests?state={}\">{}</a>",
                tab.name(),
                esc(&label)
            );
        }
    }
    let _ = write!(
        body,
        "</p><p>{} {}. {}</p>",
        lang.t("Очікують підтвердження коду:", "Waiting for their code:"),
        counts.unconfirmed,
        lang.t(
            "Непідтверджені запити зникають через добу.",
            "Unconfirmed requests go after a day."
        ),
    );
    let requests = state.meta.visit_requests(shown)?;
    if requests.is_empty() {
        let _ = write!(body, "<p>{}</p>", lang.t("Запитів немає.", "No requests."));
    } else {
        let _ = write!(
            body,
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr>",
            lang.t("Підтверджено", "Confirmed"),
            lang.t("Послуга", "Service"),
            lang.t("Повідомлення", "Notice"),
            lang.t("Виїзд", "Visit"),
            lang.t("Рішення", "Decided"),
        );
        for request in &requests {
            let visit = match (&request.device_id, &request.planned_time) {
                (Some(device), Some(time)) => format!("{} · {}", esc(device), esc(time)),
                _ => "—".to_owned(),
            };
            let decided = match (&request.decided_by, request.decided_at) {
                (Some(by), Some(at)) => format!("{} · {}", esc(by), when(at)),
                _ => "—".to_owned(),
            };
            let notice = notice_words(request, lang);
            let notice = if request.notice == Some(NoticeState::Failed) {
                format!("<span class=\"bad\">{}</span>", esc(&notice))
            } else {
                esc(&notice)
            };
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{notice}</td><td>{visit}</td><td>{decided}</td>\
                 <td><a href=\"/office/visit-request?id={}\">{}</a></td></tr>",
                request.confirmed_at.map_or_else(|| "—".to_owned(), when),
                esc(&service_title(
                    catalog,
                    request.service_code.as_deref(),
                    lang
                )),
                url(&request.id),
                lang.t("Відкрити", "Open"),
            );
        }
        body.push_str("</table>");
    }
    Ok(html(page(
        &user.frame(lang.t("Запити на виїзд", "Home-visit requests")),
        &body,
    )))
}

#[derive(Deserialize)]
pub struct RequestQuery {
    #[serde(default)]
    id: String,
}

/// The request `id`, opened; the opening is audited first.
fn open_request(
    state: &OfficeState,
    user: &SignedIn,
    id: &str,
) -> Result<(VisitRequest, RequestDetails), OfficeError> {
    let request = state
        .meta
        .visit_request(id)?
        .filter(|r| r.state != RequestState::Unconfirmed)
        .ok_or(OfficeError::NotFound(user.lang))?;
    state.db.transaction(|tx| {
        audit(
            tx,
            &user.staff.username,
            "visit_request.opened",
            id,
            "",
            state.now(),
        )
    })?;
    let details = RequestDetails::open(&state.personal, id, &request.sealed)?;
    Ok((request, details))
}

/// `GET /office/visit-request?id=…`
pub async fn show(
    State(state): Shared,
    user: SignedIn,
    Query(query): Query<RequestQuery>,
) -> Result<Response, OfficeError> {
    user.require(&STAFF)?;
    let lang = user.lang;
    let (request, details) = open_request(&state, &user, &query.id)?;
    let catalog = state.catalog()?;
    let catalog = catalog.as_ref().map(|(_, c)| c);
    let mut body = String::new();
    let row = |body: &mut String, label: &str, value: &str| {
        let _ = write!(body, "<tr><th>{}</th><td>{value}</td></tr>", esc(label));
    };
    body.push_str("<table>");
    row(
        &mut body,
        lang.t("Стан", "State"),
        &esc(state_words(request.state, lang)),
    );
    row(
        &mut body,
        lang.t("Надійшов / підтверджено", "Sent / confirmed"),
        &format!(
            "{} / {}",
            when(request.created_at),
            request.confirmed_at.map_or_else(|| "—".to_owned(), when)
        ),
    );
    row(&mut body, lang.t("Людина", "Person"), &esc(&details.person));
    row(&mut body, lang.t("Телефон", "Phone"), &esc(&details.phone));
    row(
        &mut body,
        lang.t("Звертається", "Asked by"),
        &match &details.asked_by {
            None => esc(lang.t("сама людина", "the person themself")),
            Some(name) => format!(
                "{} ({})",
                esc(name),
                lang.t("родич чи опікун", "relative or carer")
            ),
        },
    );
    let (place_uk, place_en) = details.place.words();
    row(
        &mut body,
        lang.t("Адреса", "Address"),
        &format!(
            "{} ({})",
            esc(&details.address()),
            lang.t(place_uk, place_en)
        ),
    );
    if !details.directions.is_empty() {
        row(
            &mut body,
            lang.t("Як знайти", "How to find it"),
            &esc(&details.directions),
        );
    }
    row(
        &mut body,
        lang.t("Послуга", "Service"),
        &esc(&service_title(catalog, details.service.as_deref(), lang)),
    );
    let reasons: Vec<&str> = details
        .reasons
        .iter()
        .map(|r| {
            let (uk, en) = r.words();
            lang.t(uk, en)
        })
        .collect();
    row(
        &mut body,
        lang.t("Чому виїзд", "Why a visit"),
        &esc(&reasons.join(", ")),
    );
    let (time_uk, time_en) = details.time_of_day.words();
    row(
        &mut body,
        lang.t("Бажано", "Preferred"),
        &format!(
            "{}; {}",
            if details.days.is_empty() {
                lang.t("будь-який робочий день", "any working day")
                    .to_owned()
            } else {
                esc(&details.days.join(", "))
            },
            lang.t(time_uk, time_en)
        ),
    );
    row(
        &mut body,
        lang.t("Повідомити", "Tell by"),
        &match &details.channel {
            NoticeChannel::Sms => format!("SMS · {}", esc(&details.phone)),
            NoticeChannel::Email { address } => format!("e-mail · {}", esc(address)),
        },
    );
    if let (Some(device), Some(time)) = (&request.device_id, &request.planned_time) {
        row(
            &mut body,
            lang.t("Виїзд", "Visit"),
            &format!(
                "{} {} · {} {}",
                lang.t("планшет", "tablet"),
                esc(device),
                esc(time),
                request
                    .visit_id
                    .map(|v| format!("(visit {v})"))
                    .unwrap_or_default()
            ),
        );
    }
    if let Some(sealed) = &request.reason_sealed {
        let reason = open_reason(&state.personal, &request.id, sealed)?;
        row(
            &mut body,
            lang.t("Причина відмови", "Reason declined"),
            &esc(&reason),
        );
    }
    if let (Some(by), Some(at)) = (&request.decided_by, request.decided_at) {
        row(
            &mut body,
            lang.t("Рішення", "Decided"),
            &format!("{} · {}", esc(by), when(at)),
        );
    }
    if request.notice.is_some() {
        let mut notice = esc(&notice_words(&request, lang));
        if request.notice == Some(NoticeState::Failed) {
            notice = format!(
                "<span class=\"bad\">{notice}</span>{}",
                request
                    .notice_error
                    .as_deref()
                    .map(|e| format!(": {}", esc(e)))
                    .unwrap_or_default()
            );
        }
        row(
            &mut body,
            &format!(
                "{} ({})",
                lang.t("Повідомлення", "Notice"),
                channel_words(request.channel, lang)
            ),
            &notice,
        );
    }
    body.push_str("</table>");
    let id = esc(&request.id);
    let csrf = csrf_field(&user.staff.csrf_token);
    if request.notice == Some(NoticeState::Failed) {
        let _ = write!(
            body,
            "<p class=\"error\">{}</p><form method=\"post\" action=\"/office/visit-request/notify\">{csrf}\
             <input type=\"hidden\" name=\"id\" value=\"{id}\"><button class=\"primary\">{}</button></form>",
            lang.t(
                "Людину не вдалося повідомити. Перевірте, чи працює пошта чи SMS-шлюз, або зателефонуйте їй, і надішліть повідомлення знову.",
                "The person could not be told. Check that mail or the SMS gateway works, or call them, and send the notice again."
            ),
            lang.t("Надіслати повідомлення знову", "Send the notice again"),
        );
    }
    if request.state == RequestState::New {
        body.push_str(&decision_forms(
            &state, lang, &csrf, &request, &details, catalog,
        )?);
    }
    let _ = write!(
        body,
        "<p><a href=\"/office/visit-requests\">{}</a></p>",
        lang.t("До запитів", "To the requests")
    );
    Ok(html(page(
        &user.frame(lang.t("Запит на виїзд", "Home-visit request")),
        &body,
    )))
}

/// «Запланувати» (tablet, date, time, place, service) and «Відмовити» (a reason).
fn decision_forms(
    state: &OfficeState,
    lang: Lang,
    csrf: &str,
    request: &VisitRequest,
    details: &RequestDetails,
    catalog: Option<&Catalog>,
) -> Result<String, OfficeError> {
    let id = esc(&request.id);
    let mut devices = String::new();
    for device in state.meta.devices()?.iter().filter(|d| !d.revoked) {
        let _ = write!(devices, "<option>{}</option>", esc(&device.device_id));
    }
    let mut places = String::new();
    for place in Place::ALL {
        let (uk, en) = place.words();
        let _ = write!(
            places,
            "<option value=\"{}\"{}>{}</option>",
            place.name(),
            if place == details.place {
                " selected"
            } else {
                ""
            },
            lang.t(uk, en)
        );
    }
    let mut services = String::new();
    if let Some(catalog) = catalog {
        for service in &catalog.services {
            let code = service.code.0.as_str();
            let _ = write!(
                services,
                "<option value=\"{}\"{}>{} · {}</option>",
                esc(code),
                if details.service.as_deref() == Some(code) {
                    " selected"
                } else {
                    ""
                },
                esc(code),
                esc(&service.title)
            );
        }
    }
    let first_day = details.days.first().cloned().unwrap_or_default();
    Ok(format!(
        "<h2>{}</h2><form method=\"post\" action=\"/office/visit-request/plan\">{csrf}\
         <input type=\"hidden\" name=\"id\" value=\"{id}\">\
         <p><label>{}<br><select name=\"device\" required>{devices}</select></label></p>\
         <p><label>{}<br><input type=\"date\" name=\"date\" value=\"{}\" required></label> \
         <label>{}<br><input type=\"time\" name=\"time\" required></label></p>\
         <p><label>{}<br><select name=\"place\">{places}</select></label></p>\
         <p><label>{}<br><select name=\"service\" required>{services}</select></label></p>\
         <p><button class=\"primary\">{}</button></p></form>\
         <h2>{}</h2><form method=\"post\" action=\"/office/visit-request/decline\">{csrf}\
         <input type=\"hidden\" name=\"id\" value=\"{id}\">\
         <p><label>{}<br><textarea name=\"reason\" rows=\"3\" cols=\"60\" maxlength=\"{MAX_REASON}\" required></textarea></label></p>\
         <p><button>{}</button></p></form>",
        lang.t("Запланувати виїзд", "Plan the visit"),
        lang.t("Планшет (адміністратор)", "Tablet (administrator)"),
        esc(&first_day),
        lang.t("Дата", "Date"),
        lang.t("Час", "Time"),
        lang.t("Місце", "Place"),
        lang.t("Послуга", "Service"),
        lang.t("Запланувати й повідомити", "Plan and tell the person"),
        lang.t("Відмовити", "Decline"),
        lang.t(
            "Причина (її отримає людина; без зайвих персональних даних)",
            "Reason (the person receives it; no needless personal data)"
        ),
        lang.t("Відмовити й повідомити", "Decline and tell the person"),
    ))
}

#[derive(Deserialize)]
pub struct PlanForm {
    #[serde(default)]
    csrf: String,
    id: String,
    device: String,
    date: String,
    time: String,
    place: String,
    #[serde(default)]
    service: String,
}

fn valid_time(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 5
        && bytes[2] == b':'
        && text[..2].parse::<u8>().is_ok_and(|h| h < 24)
        && text[3..].parse::<u8>().is_ok_and(|m| m < 60)
        && bytes[..2].iter().chain(&bytes[3..]).all(u8::is_ascii_digit)
}

/// The notice of request `id` goes out now, if the server has channels; whatever comes of it
/// is on the request's row.
async fn tell(state: &OfficeState, id: &str) -> Result<(), OfficeError> {
    let Some(central) = &state.central else {
        return Ok(());
    };
    let notices = Notices::new(
        state.meta.clone(),
        central.clone(),
        state.personal.clone(),
        state.clock,
    );
    notices.deliver_now(id).await?;
    Ok(())
}

fn not_new(lang: Lang, refused: NotNew) -> OfficeError {
    OfficeError::BadInput(
        lang,
        format!(
            "{} {}.",
            lang.t("Запит уже не новий:", "The request is no longer new:"),
            state_words(refused.0, lang)
        ),
    )
}

fn back_to(id: &str) -> Response {
    Redirect::to(&format!("/office/visit-request?id={}", url(id))).into_response()
}

/// `POST /office/visit-request/plan`
pub async fn plan(
    State(state): Shared,
    user: SignedIn,
    Form(form): Form<PlanForm>,
) -> Result<Response, OfficeError> {
    user.require(&STAFF)?;
    user.check_csrf(&form.csrf)?;
    let lang = user.lang;
    let bad = |uk: &str, en: &str| OfficeError::BadInput(lang, lang.t(uk, en).to_owned());
    let Some(date) = register::parse_date(&form.date) else {
        return Err(bad("Вкажіть дату виїзду.", "Give the visit's date."));
    };
    if !valid_time(&form.time) {
        return Err(bad(
            "Вкажіть час виїзду (ГГ:ХХ).",
            "Give the visit's time (HH:MM).",
        ));
    }
    if date < state.today() {
        return Err(bad(
            "Дата виїзду вже минула.",
            "The visit's date has passed.",
        ));
    }
    let place =
        Place::parse(&form.place).ok_or_else(|| bad("Невідоме місце.", "Unknown place."))?;
    let catalog = state.catalog()?;
    let known = catalog.as_ref().is_some_and(|(_, c)| {
        c.service(&fieldkit_domain::common::ServiceCode(form.service.clone()))
            .is_some()
    });
    if !known {
        return Err(bad(
            "Оберіть послугу з опублікованого каталогу.",
            "Choose a service of the published catalog.",
        ));
    }
    let device = state.meta.device(&form.device).map_err(|e| match e {
        crate::ServerError::UnknownDevice(_) | crate::ServerError::NotFound => {
            bad("Такого планшета немає.", "No such tablet.")
        }
        other => other.into(),
    })?;
    if device.state != DeviceState::Active {
        return Err(bad("Цей планшет відкликано.", "This tablet is revoked."));
    }
    // Refused before it is opened: a request already decided needs no decrypting.
    if let Some(request) = state.meta.visit_request(&form.id)?
        && request.state != RequestState::New
        && request.state != RequestState::Unconfirmed
    {
        return Err(not_new(lang, NotNew(request.state)));
    }
    let (request, details) = open_request(&state, &user, &form.id)?;
    if request.state != RequestState::New {
        return Err(not_new(lang, NotNew(request.state)));
    }
    let time = format!("{} {}", form.date, form.time);
    // The object of docs/visits.md, plus `note` (how to find the place).
    let mut visit = serde_json::json!({
        "time": time,
        "place": place.name(),
        "address": details.address(),
        "applicant": details.person,
        "phone": details.phone,
        "services": [form.service],
    });
    if !details.directions.is_empty() {
        visit["note"] = details.directions.clone().into();
    }
    let sealed = crate::sealed_visits::seal(&state.personal, &form.device, &request.id, &visit)?;
    let audit = AuditNote {
        actor: user.staff.username.clone(),
        action: "visit_request.planned",
        detail: format!("device={} time={time}", form.device),
    };
    let now = state.now();
    state
        .meta
        .plan_visit_request(
            &request.id,
            &PlannedFromRequest {
                device_id: &form.device,
                visit_details: &sealed,
                time: &time,
            },
            &audit,
            now,
            now + NOTICE_LEASE_SECONDS,
        )?
        .map_err(|refused| not_new(lang, refused))?;
    tell(&state, &request.id).await?;
    Ok(back_to(&request.id))
}

#[derive(Deserialize)]
pub struct DeclineForm {
    #[serde(default)]
    csrf: String,
    id: String,
    #[serde(default)]
    reason: String,
}

/// `POST /office/visit-request/decline`
pub async fn decline(
    State(state): Shared,
    user: SignedIn,
    Form(form): Form<DeclineForm>,
) -> Result<Response, OfficeError> {
    user.require(&STAFF)?;
    user.check_csrf(&form.csrf)?;
    let lang = user.lang;
    let reason = form.reason.trim();
    if reason.is_empty() {
        return Err(OfficeError::BadInput(
            lang,
            lang.t(
                "Вкажіть причину: її отримає людина.",
                "Give the reason: the person receives it.",
            )
            .to_owned(),
        ));
    }
    if reason.chars().count() > MAX_REASON {
        return Err(OfficeError::BadInput(
            lang,
            format!(
                "{} {MAX_REASON}.",
                lang.t(
                    "Причина задовга; не більше символів:",
                    "The reason is too long; at most characters:"
                )
            ),
        ));
    }
    let request = state
        .meta
        .visit_request(&form.id)?
        .filter(|r| r.state != RequestState::Unconfirmed)
        .ok_or(OfficeError::NotFound(lang))?;
    let audit = AuditNote {
        actor: user.staff.username.clone(),
        action: "visit_request.declined",
        // The reason is the staff's words about a person: sealed, not in the audit trail.
        detail: format!("reason: {} characters, sealed", reason.chars().count()),
    };
    let now = state.now();
    state
        .meta
        .decline_visit_request(
            &request.id,
            &seal_reason(&state.personal, &request.id, reason)?,
            &audit,
            now,
            now + NOTICE_LEASE_SECONDS,
        )?
        .map_err(|refused| not_new(lang, refused))?;
    tell(&state, &request.id).await?;
    Ok(back_to(&request.id))
}

#[derive(Deserialize)]
pub struct NotifyForm {
    #[serde(default)]
    csrf: String,
    id: String,
}

/// `POST /office/visit-request/notify`: a failed notice, sent again.
pub async fn notify_again(
    State(state): Shared,
    user: SignedIn,
    Form(form): Form<NotifyForm>,
) -> Result<Response, OfficeError> {
    user.require(&STAFF)?;
    user.check_csrf(&form.csrf)?;
    let lang = user.lang;
    let audit = AuditNote {
        actor: user.staff.username.clone(),
        action: "visit_request.notice_retried",
        detail: String::new(),
    };
    let now = state.now();
    let retried = match state.meta.retry_visit_request_notice(
        &form.id,
        &audit,
        now,
        now + NOTICE_LEASE_SECONDS,
    ) {
        Ok(retried) => retried,
        Err(crate::ServerError::NotFound) => return Err(OfficeError::NotFound(lang)),
        Err(other) => return Err(other.into()),
    };
    if retried {
        tell(&state, &form.id).await?;
    }
    Ok(back_to(&form.id))
}

/// The reconciliation page's section: requests by state, notices not sent.
pub fn reconciliation_section(state: &OfficeState, lang: Lang) -> Result<String, OfficeError> {
    let counts = state.meta.visit_request_counts()?;
    let mut out = format!(
        "<h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        lang.t("Запити на виїзд", "Home-visit requests"),
        lang.t("Не підтверджено", "Unconfirmed"),
        lang.t("Нові", "New"),
        lang.t("Заплановано", "Planned"),
        lang.t("Відхилено", "Declined"),
        lang.t("Повідомлення надсилаються", "Notices pending"),
        lang.t("Не вдалося повідомити", "Notices failed"),
    );
    let failed = if counts.notices_failed > 0 {
        format!("<span class=\"bad\">{}</span>", counts.notices_failed)
    } else {
        "0".to_owned()
    };
    let _ = write!(
        out,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{failed}</td></tr></table>",
        counts.unconfirmed, counts.new, counts.planned, counts.declined, counts.notices_pending,
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_hours_and_minutes() {
        assert!(valid_time("10:00"));
        assert!(valid_time("23:59"));
        assert!(!valid_time("24:00"));
        assert!(!valid_time("9:00"));
        assert!(!valid_time("10:60"));
        assert!(!valid_time("+1:00"));
    }
}
