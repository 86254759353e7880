//! Signing in and out, the inbox, one case with its pages and signatures, and the actions on
//! it.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use fieldkit_domain::case::{Applicant, Notification, SignerRole};
use serde::Deserialize;

use super::actions::{self, ActionRefused};
use super::auth::{self, LoginRefused, Role, SESSION_SECONDS};
use super::db::audit_of;
use super::html::{Frame, Lang, csrf_field, esc, page, url, when};
use super::register::{self, Filter, server_states};
use super::web::{
    OfficeError, OfficeState, PageLang, SESSION_COOKIE, Shared, SignedIn, cookie, html,
    html_headers, language_cookie,
};
use crate::central::NotificationState;
use crate::central::notify::Channel;
use crate::central::notify::{NotificationEntry, notifications_of, status_words};
use crate::connections::PeerAddress;
use crate::opened::{OpenedCase, open_stored};
use crate::personal_data::PersonalDataKey;
use crate::store::{MetadataStore, NoticeStore, NoticeSubscription, StoredSupplement};
use fieldkit_domain::workflow::{CaseState, StateName};
use fieldkit_protocol::SupplementKind;

const READERS: [Role; 2] = [Role::Operator, Role::Supervisor];

/// A case's state in words, from the domain's one vocabulary; a state this build does not know
/// says so and shows its name, so staff can report it.
fn state_name(state: &StateName, lang: Lang) -> String {
    let (uk, en) = state.words();
    match state {
        StateName::Known(_) => lang.t(uk, en).to_owned(),
        StateName::Unknown(name) => format!("{} ({name})", lang.t(uk, en)),
    }
}

/// The inbox's state filter: every state a case can have on the server, in words.
fn state_options(chosen: &str, lang: Lang) -> String {
    let mut out = format!("<option value=\"\">{}</option>", esc(lang.t("усі", "any")));
    for state in server_states() {
        let (uk, en) = state.words();
        let _ = write!(
            out,
            "<option value=\"{}\"{}>{}</option>",
            esc(state.name()),
            if state.name() == chosen {
                " selected"
            } else {
                ""
            },
            esc(lang.t(uk, en))
        );
    }
    out
}

/// Where an applicant's notification is, in words.
fn notification_state_name(state: NotificationState, lang: Lang) -> &'static str {
    match state {
        NotificationState::Pending => lang.t("очікує", "waiting"),
        NotificationState::Sent => lang.t("надіслано", "sent"),
        NotificationState::Skipped => lang.t("не потрібно", "not needed"),
        NotificationState::Dead => lang.t("не вдалося", "failed"),
    }
}

/// The section «Доповнення»: the hand-over, withdrawal and correction records that arrived for
/// the case, from which tablet, and what they did (or why the workflow refused them).
fn supplements_section(supplements: &[StoredSupplement], lang: Lang) -> String {
    let mut body = format!("<h2>{}</h2>", lang.t("Доповнення", "Supplements"));
    if supplements.is_empty() {
        let _ = write!(
            body,
            "<p>{}</p>",
            lang.t("Доповнень не надходило.", "No supplements arrived.")
        );
        return body;
    }
    let _ = write!(
        body,
        "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        lang.t("Запис", "Record"),
        lang.t("Пристрій", "Device"),
        lang.t("Конверт", "Envelope"),
        lang.t("Наслідок", "Outcome"),
    );
    for supplement in supplements {
        let kind = match supplement.kind {
            SupplementKind::Handover => lang.t("Видача результату", "Hand-over of the result"),
            SupplementKind::Withdrawal => lang.t("Відкликання заяви", "Withdrawal"),
            SupplementKind::Correction => lang.t("Виправлення", "Correction"),
        };
        let outcome = match (&supplement.refused, supplement.applied_at) {
            (Some(sentence), _) => format!("<span class=\"bad\">{}</span>", esc(sentence)),
            (None, Some(at)) => format!("{} {}", lang.t("враховано", "taken"), esc(&when(at))),
            (None, None) => lang.t("очікує", "waiting").to_owned(),
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{outcome}</td></tr>",
            esc(kind),
            esc(&supplement.envelope.device_id),
            esc(&supplement.envelope.envelope_id),
        );
    }
    body.push_str("</table>");
    body
}

/// The section «Сповіщення заявника»: what the applicant was (to be) told after each event of
/// the central system, and how it went. No contact: the queue holds none, and the errors are
/// our words. An operator may send a notification that failed again.
fn notifications_section(
    notifications: &[NotificationEntry],
    lang: Lang,
    operator_csrf: Option<&str>,
) -> String {
    let mut body = format!(
        "<h2>{}</h2>",
        lang.t("Сповіщення заявника", "Applicant notifications")
    );
    if notifications.is_empty() {
        let _ = write!(
            body,
            "<p>{}</p>",
            lang.t("Сповіщень ще не було.", "No notifications yet.")
        );
        return body;
    }
    let _ = write!(
        body,
        "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr>",
        lang.t("Статус у сповіщенні", "Status announced"),
        lang.t("Стан", "State"),
        lang.t("Спроб", "Attempts"),
        lang.t("У черзі з", "Queued"),
        lang.t("Завершено / наступна спроба", "Done / next attempt"),
        lang.t("Остання помилка", "Last error"),
    );
    for entry in notifications {
        let (uk, en) = status_words(&StateName::parse(&entry.status));
        let done = match (entry.state, entry.done_at) {
            (NotificationState::Pending, _) => format!(
                "{} {}",
                lang.t("наступна спроба", "next attempt"),
                when(entry.next_attempt_at)
            ),
            (_, Some(at)) => when(at),
            (_, None) => "—".to_owned(),
        };
        let retry = match operator_csrf {
            Some(token) if entry.state == NotificationState::Dead => format!(
                "<form method=\"post\" action=\"/office/case/notification/retry\">{}\
                 <input type=\"hidden\" name=\"event\" value=\"{}\"><button>{}</button></form>",
                csrf_field(token),
                esc(&entry.event_id),
                lang.t("Надіслати знову", "Send again"),
            ),
            _ => String::new(),
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{retry}</td></tr>",
            esc(lang.t(uk, en)),
            esc(notification_state_name(entry.state, lang)),
            entry.attempts,
            esc(&when(entry.enqueued_at)),
            esc(&done),
            esc(entry.last_error.as_deref().unwrap_or("—")),
        );
    }
    body.push_str("</table>");
    body
}

/// The section «Підписки на сповіщення з публічної сторінки»: who asked on the tracking page
/// to be told of the case's changes, opened for staff only (the store keeps contacts sealed).
fn subscriptions_section(
    subscriptions: &[NoticeSubscription],
    personal: &PersonalDataKey,
    lang: Lang,
) -> String {
    let mut body = format!(
        "<h2>{}</h2>",
        lang.t(
            "Підписки на сповіщення з публічної сторінки",
            "Notice subscriptions from the public page"
        )
    );
    if subscriptions.is_empty() {
        let _ = write!(body, "<p>{}</p>", lang.t("Підписок немає.", "None."));
        return body;
    }
    let _ = write!(
        body,
        "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        lang.t("Спосіб", "Channel"),
        lang.t("Контакт", "Contact"),
        lang.t("Підтверджено", "Confirmed"),
        lang.t("Остання помилка", "Last error"),
    );
    for subscription in subscriptions {
        let contact = personal
            .open(
                &format!("subscription:{}", subscription.id),
                &subscription.contact_sealed,
            )
            .map(|plain| String::from_utf8_lossy(&plain).into_owned())
            .unwrap_or_else(|_| lang.t("(не відкривається)", "(does not open)").to_owned());
        let channel = match subscription.channel {
            Channel::Email => "e-mail",
            Channel::Sms => "SMS",
        };
        let confirmed = subscription.confirmed_at.map_or_else(
            || {
                lang.t("ні, чекає коду", "no, waiting for the code")
                    .to_owned()
            },
            when,
        );
        let _ = write!(
            body,
            "<tr><td>{channel}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&contact),
            esc(&confirmed),
            esc(subscription.last_error.as_deref().unwrap_or("—")),
        );
    }
    body.push_str("</table>");
    body
}

/// The sign-in form has no session to take a CSRF token from, so it carries its own: the same
/// random token in a SameSite=Strict cookie and in the form (a cross-site form cannot send the
/// cookie, and a page elsewhere cannot read the token). Without it, another site could sign a
/// member of staff in as someone else.
const LOGIN_COOKIE: &str = "fk_login";

fn login_form(lang: Lang, message: Option<&str>, token: &str) -> String {
    let frame = Frame {
        lang,
        title: lang.t("Вхід", "Sign in"),
        user: None,
    };
    let notice = message
        .map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(m)))
        .unwrap_or_default();
    page(
        &frame,
        &format!(
            "{notice}<form method=\"post\" action=\"/office/login\">{}\
             <p><label>{}<br><input name=\"username\" autocomplete=\"username\" required></label></p>\
             <p><label>{}<br><input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label></p>\
             <p><button class=\"primary\">{}</button></p></form>",
            csrf_field(token),
            lang.t("Користувач", "User name"),
            lang.t("Пароль", "Password"),
            lang.t("Увійти", "Sign in"),
        ),
    )
}

/// The sign-in page with a fresh form token, set in its cookie too.
fn login_response(
    status: StatusCode,
    lang: Lang,
    message: Option<&str>,
) -> Result<Response, OfficeError> {
    let token = auth::new_login_token()?;
    let mut response = (status, html_headers(), login_form(lang, message, &token)).into_response();
    let cookie = format!(
        "{LOGIN_COOKIE}={token}; Path=/office/login; HttpOnly; Secure; SameSite=Strict; Max-Age=3600"
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

pub async fn login_page(PageLang(lang): PageLang) -> Result<Response, OfficeError> {
    login_response(StatusCode::OK, lang, None)
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

pub async fn login(
    State(state): Shared,
    PageLang(lang): PageLang,
    headers: HeaderMap,
    peer: Option<Extension<PeerAddress>>,
    Form(form): Form<LoginForm>,
) -> Result<Response, OfficeError> {
    let form_token_matches = cookie(&headers, LOGIN_COOKIE)
        .is_some_and(|expected| !form.csrf.is_empty() && auth::same_token(&form.csrf, expected));
    if !form_token_matches {
        // Refused before the password is looked at, so it counts as no attempt either way.
        return login_response(
            StatusCode::FORBIDDEN,
            lang,
            Some(lang.t(
                "Форму входу відхилено: вона застаріла або надіслана не з цієї сторінки. Увійдіть ще раз.",
                "The sign-in form was refused: it is stale or was not sent from this page. Sign in again.",
            )),
        );
    }
    // Served without our listener (a test's router) there is no address: one shared key.
    let address = peer.map_or_else(
        || "unknown".to_owned(),
        |Extension(p)| p.limited_as().to_string(),
    );
    let outcome = auth::login(
        &state.db,
        state.meta.as_ref(),
        form.username.trim(),
        &form.password,
        &address,
        state.now(),
    )?;
    match outcome {
        Ok(session) => {
            let cookie = format!(
                "{SESSION_COOKIE}={}; Path=/office; HttpOnly; Secure; SameSite=Strict; Max-Age={SESSION_SECONDS}",
                session.token
            );
            let mut response = Redirect::to("/office/inbox").into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            // The form token has done its job; a new sign-in page makes a new one.
            response.headers_mut().append(
                header::SET_COOKIE,
                HeaderValue::from_static(
                    "fk_login=; Path=/office/login; HttpOnly; Secure; SameSite=Strict; Max-Age=0",
                ),
            );
            Ok(response)
        }
        Err(refused) => {
            let message = match refused {
                LoginRefused::WrongCredentials => lang
                    .t(
                        "Невірне ім’я користувача або пароль.",
                        "Wrong user name or password.",
                    )
                    .to_owned(),
                LoginRefused::Wait(seconds) => match lang {
                    Lang::Uk => {
                        format!("Забагато невдалих спроб. Спробуйте знову через {seconds} с.")
                    }
                    Lang::En => format!("Too many failed attempts. Try again in {seconds} s."),
                },
            };
            login_response(StatusCode::UNAUTHORIZED, lang, Some(&message))
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(state): Shared,
    user: SignedIn,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, OfficeError> {
    user.check_csrf(&form.csrf)?;
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        auth::logout(&state.db, token, state.now())?;
    }
    let mut response = Redirect::to("/office/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "fk_session=; Path=/office; HttpOnly; Secure; SameSite=Strict; Max-Age=0",
        ),
    );
    Ok(response)
}

#[derive(Deserialize)]
pub struct LangQuery {
    to: String,
}

pub async fn switch_language(Query(query): Query<LangQuery>) -> Response {
    let lang = Lang::from_cookie(Some(&query.to));
    let mut response = Redirect::to("/office/inbox").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, language_cookie(lang));
    response
}

fn options(values: &[String], chosen: &str, any: &str) -> String {
    let mut out = format!("<option value=\"\">{}</option>", esc(any));
    for value in values {
        let _ = write!(
            out,
            "<option value=\"{0}\"{1}>{0}</option>",
            esc(value),
            if value == chosen { " selected" } else { "" }
        );
    }
    out
}

pub async fn inbox(
    State(state): Shared,
    user: SignedIn,
    Query(filter): Query<Filter>,
) -> Result<Response, OfficeError> {
    user.require(&READERS)?;
    let lang = user.lang;
    let catalog = state.catalog()?;
    state.index_new_cases(catalog.as_ref().map(|(_, c)| c))?;
    let mut counts = register::counts(&state.db)?;
    counts.sort_by_key(|(state, _)| state.known().map_or(u8::MAX, CaseState::rank));
    let rows = register::list(&state.db, &filter, &state.calendar, state.today())?;
    let mut body = String::from("<p class=\"counts\">");
    let total: i64 = counts.iter().map(|(_, n)| n).sum();
    let _ = write!(
        body,
        "<a href=\"/office/inbox\">{} ({total})</a>",
        lang.t("Усі", "All")
    );
    for (code, count) in &counts {
        let _ = write!(
            body,
            "<a href=\"/office/inbox?state={}\">{} ({count})</a>",
            url(code.name()),
            esc(&state_name(code, lang))
        );
    }
    body.push_str("</p>");
    let _ = write!(
        body,
        "<form method=\"get\" action=\"/office/inbox\" aria-label=\"{}\">\
         <label>{} <select name=\"state\">{}</select></label> \
         <label>{} <select name=\"centre\">{}</select></label> \
         <label>{} <select name=\"administrator\">{}</select></label> \
         <label>{} <select name=\"service\">{}</select></label> \
         <label>{} <input type=\"date\" name=\"from\" value=\"{}\"></label> \
         <label>{} <input type=\"date\" name=\"to\" value=\"{}\"></label> \
         <label><input type=\"checkbox\" name=\"overdue\" value=\"1\"{}> {}</label> \
         <button>{}</button></form>",
        lang.t("Фільтр", "Filter"),
        lang.t("Стан", "State"),
        state_options(&filter.state, lang),
        lang.t("Центр", "Centre"),
        options(
            &register::distinct(&state.db, "centre")?,
            &filter.centre,
            lang.t("усі", "any")
        ),
        lang.t("Адміністратор", "Administrator"),
        options(
            &register::distinct(&state.db, "administrator")?,
            &filter.administrator,
            lang.t("усі", "any")
        ),
        lang.t("Послуга", "Service"),
        options(
            &register::distinct(&state.db, "service_code")?,
            &filter.service,
            lang.t("усі", "any")
        ),
        lang.t("Зареєстровано з", "Registered from"),
        esc(&filter.from),
        lang.t("по", "to"),
        esc(&filter.to),
        if filter.overdue.is_empty() {
            ""
        } else {
            " checked"
        },
        lang.t("лише прострочені", "overdue only"),
        lang.t("Показати", "Show"),
    );
    let _ = write!(
        body,
        "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        lang.t("Номер справи", "Case number"),
        lang.t("Стан", "State"),
        lang.t("Послуга", "Service"),
        lang.t("Центр", "Centre"),
        lang.t("Адміністратор", "Administrator"),
        lang.t("Зареєстровано", "Registered"),
        lang.t("Строк", "Deadline"),
        lang.t("Прострочено", "Overdue"),
    );
    for row in &rows {
        let service = catalog
            .as_ref()
            .and_then(|(_, c)| {
                c.service(&fieldkit_domain::common::ServiceCode(
                    row.service_code.clone(),
                ))
            })
            .map_or_else(
                || row.service_code.clone(),
                |s| format!("{} {}", row.service_code, s.title),
            );
        let overdue = row.overdue(&state.calendar, state.today());
        let _ = write!(
            body,
            "<tr><td><a href=\"/office/case?n={}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            url(&row.case_number),
            esc(&row.case_number),
            esc(&state_name(&row.state, lang)),
            esc(&service),
            esc(&row.centre),
            esc(&row.administrator),
            esc(&row.registered_on),
            esc(row.deadline.as_deref().unwrap_or("—")),
            if overdue {
                format!("<span class=\"bad\">{}</span>", lang.t("так", "yes"))
            } else {
                String::new()
            },
        );
    }
    body.push_str("</tbody></table>");
    if rows.is_empty() {
        let _ = write!(body, "<p>{}</p>", lang.t("Справ немає.", "No cases."));
    }
    Ok(html(page(
        &user.frame(lang.t("Вхідні справи", "Inbox")),
        &body,
    )))
}

#[derive(Deserialize)]
pub struct CaseQuery {
    n: String,
    #[serde(default)]
    i: usize,
}

/// The case's register row and the case opened from its envelope (kept a short while in
/// memory, see `opened_cache`).
async fn open_case(
    state: &Arc<OfficeState>,
    lang: Lang,
    case_number: &str,
) -> Result<(register::CaseRow, Arc<OpenedCase>), OfficeError> {
    let row = register::get(&state.db, case_number)?.ok_or(OfficeError::NotFound(lang))?;
    let opener = state.clone();
    let envelope_id = row.envelope_id.clone();
    let opened = state
        .opened
        .get_or_open(&row.envelope_id, state.now(), move || {
            open_stored(
                opener.meta.as_ref(),
                opener.blobs.as_ref(),
                &opener.sealing_keys,
                &envelope_id,
            )
        })
        .await?;
    Ok((row, opened))
}

fn person_text(person: &fieldkit_domain::case::NaturalPerson, lang: Lang) -> String {
    let name = &person.name;
    format!(
        "{} {} {}; {}: {}; {}: {}; {}: {}; {}: {} {}; {}: {}; {}: {}",
        name.surname,
        name.given_name,
        name.patronymic.as_deref().unwrap_or(""),
        lang.t("РНОКПП", "RNOKPP"),
        person.rnokpp.as_deref().unwrap_or("—"),
        lang.t("дата народження", "born"),
        person.birth_date,
        lang.t("адреса", "address"),
        person.address.0,
        lang.t("документ", "document"),
        person.identity_document.number,
        person.identity_document.issued_by,
        lang.t("телефон", "phone"),
        person.phone.as_ref().map_or("—", |c| c.0.as_str()),
        lang.t("e-mail", "e-mail"),
        person.email.as_ref().map_or("—", |c| c.0.as_str()),
    )
}

fn role_name(role: SignerRole, lang: Lang) -> &'static str {
    match role {
        SignerRole::Applicant => lang.t("заявник", "applicant"),
        SignerRole::Representative => lang.t("представник", "representative"),
        SignerRole::Witness => lang.t("свідок", "witness"),
        SignerRole::Administrator => lang.t("адміністратор", "administrator"),
    }
}

pub async fn case_view(
    State(state): Shared,
    user: SignedIn,
    Query(query): Query<CaseQuery>,
) -> Result<Response, OfficeError> {
    user.require(&READERS)?;
    let lang = user.lang;
    let (row, opened) = open_case(&state, lang, &query.n).await?;
    let case = &opened.case;
    let catalog = state.catalog()?;
    let service = catalog.as_ref().and_then(|(_, c)| c.service(&case.service));
    let n = url(&row.case_number);
    let mut body = String::new();
    let _ = write!(
        body,
        "<table><tr><th>{}</th><td>{}</td></tr><tr><th>{}</th><td>{}</td></tr>\
         <tr><th>{}</th><td>{} {}</td></tr><tr><th>{}</th><td>{}</td></tr>\
         <tr><th>{}</th><td>{} · {}</td></tr><tr><th>{}</th><td>{}</td></tr>\
         <tr><th>{}</th><td>{}</td></tr>",
        lang.t("Стан", "State"),
        esc(&state_name(&row.state, lang)),
        lang.t("Номер у центральній системі", "Central case number"),
        esc(row.central_number.as_deref().unwrap_or("—")),
        lang.t("Послуга", "Service"),
        esc(&case.service.0),
        esc(service.map_or("", |s| s.title.as_str())),
        lang.t("Зареєстровано / строк", "Registered / deadline"),
        esc(&format!(
            "{} / {}",
            row.registered_on,
            row.deadline.as_deref().unwrap_or("—")
        )),
        lang.t("Планшет / адміністратор", "Tablet / administrator"),
        esc(&row.device_id),
        esc(&row.administrator),
        lang.t("Запечатано на планшеті", "Sealed on the tablet"),
        esc(&when(opened.sealed_at)),
        lang.t("Примітка", "Note"),
        esc(row
            .note
            .as_deref()
            .or(row.duplicate_of.as_deref())
            .unwrap_or("—")),
    );
    let applicant = match &case.applicant {
        Applicant::NaturalPerson(person) => person_text(person, lang),
        Applicant::LegalEntity(entity) => format!(
            "{} ({}: {}), {}; {}: {} {} ({})",
            entity.name,
            lang.t("ЄДРПОУ", "EDRPOU"),
            entity.edrpou,
            entity.address.0,
            lang.t("діє", "acting"),
            entity.acting_person.surname,
            entity.acting_person.given_name,
            entity.acting_as
        ),
    };
    let _ = write!(
        body,
        "<tr><th>{}</th><td>{}</td></tr>",
        lang.t("Заявник", "Applicant"),
        esc(&applicant)
    );
    if let Some(representative) = &case.representative {
        let _ = write!(
            body,
            "<tr><th>{}</th><td>{}; {}: {} {}</td></tr>",
            lang.t("Представник", "Representative"),
            esc(&person_text(&representative.person, lang)),
            lang.t("документ про повноваження", "authority document"),
            esc(&representative.authority.number),
            esc(&representative.authority.date.to_string()),
        );
    }
    let notification = match &case.notification {
        Some(Notification::Email { address }) => format!("e-mail {}", address.0),
        Some(Notification::Sms { phone }) => format!("SMS {}", phone.0),
        Some(Notification::PhoneCall { phone }) => {
            format!("{} {}", lang.t("дзвінок", "call"), phone.0)
        }
        None => "—".to_owned(),
    };
    body.push_str(&super::waiver_view::waiver_rows(case, lang));
    let _ = write!(
        body,
        "<tr><th>{}</th><td>{}</td></tr></table>",
        lang.t("Повідомити про результат", "Notify of the result"),
        esc(&notification)
    );
    body.push_str(&application_section(&opened, service, &n, lang));

    let _ = write!(
        body,
        "<h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
        lang.t("Документи", "Documents"),
        lang.t("Вимога", "Requirement"),
        lang.t("Форма", "Form"),
        lang.t("Сторінок", "Pages")
    );
    for document in &case.documents {
        let title = service
            .and_then(|s| s.documents.iter().find(|d| d.id == document.requirement))
            .map_or_else(|| document.requirement.0.clone(), |d| d.title.clone());
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{:?}</td><td>{}</td></tr>",
            esc(&title),
            document.form,
            document.page_count()
        );
    }
    body.push_str("</table>");
    if opened.inventory_pdf.is_some() {
        let _ = write!(
            body,
            "<p><a href=\"/office/case/inventory?n={n}\">{}</a></p>",
            lang.t(
                "Опис вхідного пакета (PDF)",
                "Inventory of the input package (PDF)"
            )
        );
    }

    let _ = write!(
        body,
        "<h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        lang.t("Підписи", "Signatures"),
        lang.t("Хто", "Who"),
        lang.t("Коли", "When"),
        lang.t("Перевірка", "Check"),
        lang.t("Підпис", "Signature")
    );
    for (index, signature) in opened.signatures.iter().enumerate() {
        let check = if signature.valid() {
            format!(
                "<span class=\"ok\">{}</span>",
                lang.t(
                    "штрихи відповідають зображенню; підписано заяву й опис, зазначені у справі",
                    "strokes match the image; signs the application and inventory the case states"
                )
            )
        } else {
            format!(
                "<span class=\"bad\">{}{}</span>",
                if signature.strokes_match_image {
                    ""
                } else {
                    lang.t(
                        "штрихи не відповідають зображенню. ",
                        "strokes do not match the image. ",
                    )
                },
                if signature.bound_to_papers {
                    ""
                } else {
                    lang.t("підписано інший документ.", "signs another document.")
                },
            )
        };
        let _ = write!(
            body,
            "<tr><td>{} {}</td><td>{}</td><td>{check}<br><small>SHA-256 {}</small></td><td><img alt=\"{}\" src=\"/office/case/signature?n={n}&amp;i={index}\" height=\"80\"></td></tr>",
            esc(role_name(signature.role, lang)),
            esc(&signature.signer),
            esc(&when(signature.signed_at)),
            esc(&signature.document_sha256),
            esc(lang.t("підпис", "signature")),
        );
    }
    body.push_str("</table>");

    let _ = write!(
        body,
        "<h2>{} ({})</h2><div class=\"pages\">",
        lang.t("Сторінки", "Pages"),
        opened.pages.len()
    );
    for (index, page_image) in opened.pages.iter().enumerate() {
        let _ = write!(
            body,
            "<figure><img class=\"page\" loading=\"lazy\" alt=\"{} {} ({})\" src=\"/office/case/page?n={n}&amp;i={index}\"><figcaption>{} · SHA-256 {}…</figcaption></figure>",
            lang.t("сторінка", "page"),
            index + 1,
            esc(&page_image.requirement),
            esc(&page_image.requirement),
            esc(&page_image.sha256[..16.min(page_image.sha256.len())]),
        );
    }
    body.push_str("</div>");

    if user.staff.may(&[Role::Operator]) && row.state.known() == Some(CaseState::Received) {
        let csrf = csrf_field(&user.staff.csrf_token);
        let number = esc(&row.case_number);
        let _ = write!(
            body,
            "<h2>{}</h2>\
             <form method=\"post\" action=\"/office/case/accept\">{csrf}<input type=\"hidden\" name=\"n\" value=\"{number}\"><button class=\"primary\">{}</button></form>\
             <form method=\"post\" action=\"/office/case/return\">{csrf}<input type=\"hidden\" name=\"n\" value=\"{number}\">\
             <p><label>{}<br><textarea name=\"reason\" rows=\"3\" cols=\"60\" required></textarea></label></p><button>{}</button></form>\
             <form method=\"post\" action=\"/office/case/duplicate\">{csrf}<input type=\"hidden\" name=\"n\" value=\"{number}\">\
             <p><label>{} <input name=\"original\" required></label> <button>{}</button></p></form>",
            lang.t("Дії", "Actions"),
            lang.t("Прийняти й передати", "Accept and forward"),
            lang.t(
                "Причина повернення (що виправити чи додати)",
                "Reason for returning (what to correct or add)"
            ),
            lang.t("Повернути адміністратору", "Return to the administrator"),
            lang.t("Номер справи-оригіналу", "Original case number"),
            lang.t("Позначити як дублікат", "Mark as duplicate"),
        );
    }

    let operator_csrf = user
        .staff
        .may(&[Role::Operator])
        .then_some(user.staff.csrf_token.as_str());
    body.push_str(&super::handover::section(
        &row,
        &state.meta.handover_plans(&row.case_number)?,
        &state.meta.devices()?,
        operator_csrf,
        lang,
    ));
    body.push_str(&supplements_section(
        &state.meta.supplements(Some(&row.case_number))?,
        lang,
    ));

    let notifications = notifications_of(&state.db, &row.case_number)?;
    body.push_str(&notifications_section(&notifications, lang, operator_csrf));
    body.push_str(&subscriptions_section(
        &state.meta.case_subscriptions(&row.case_number)?,
        &state.personal,
        lang,
    ));

    let events = state.db.transaction(|tx| audit_of(tx, &row.case_number))?;
    let _ = write!(
        body,
        "<h2>{}</h2><table>",
        lang.t("Журнал дій", "Audit trail")
    );
    for event in events {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&when(event.at)),
            esc(&event.actor),
            esc(&event.action),
            esc(&event.detail)
        );
    }
    body.push_str("</table>");
    Ok(html(page(&user.frame(&row.case_number), &body)))
}

/// The application (заява) as signed: the form's answers under their labels, whether the
/// application in the envelope is the one the case states, and its PDF to download.
fn application_section(
    opened: &OpenedCase,
    service: Option<&fieldkit_domain::catalog::Service>,
    n: &str,
    lang: Lang,
) -> String {
    let case = &opened.case;
    let mut body = format!("<h2>{}</h2>", lang.t("Заява", "Application"));
    match (&opened.application_sha256, opened.application_as_stated) {
        (Some(sha256), true) => {
            let _ = write!(
                body,
                "<p><span class=\"ok\">{}</span><br><small>SHA-256 {}</small></p>",
                lang.t(
                    "заява, підписана разом з описом, відповідає зазначеній у справі",
                    "the application signed with the inventory is the one the case states"
                ),
                esc(sha256)
            );
        }
        (None, true) => {
            let _ = write!(
                body,
                "<p>{}</p>",
                lang.t(
                    "Справу запечатано до того, як заява стала окремим документом.",
                    "The case was sealed before the application was a document of its own."
                )
            );
        }
        (_, false) => {
            let _ = write!(
                body,
                "<p><span class=\"bad\">{}</span></p>",
                lang.t(
                    "заява в справі не та, що зазначена в записі справи: підписи її не скріплюють",
                    "the application in the envelope is not the one the case record states: the signatures do not bind it"
                )
            );
        }
    }
    if !case.form_answers.is_empty() {
        body.push_str("<table>");
        let label = |id: &str| {
            service
                .and_then(|s| s.form_field(id))
                .map_or_else(|| id.to_owned(), |f| f.label.clone())
        };
        for (field, answer) in &case.form_answers {
            let _ = write!(
                body,
                "<tr><th>{}</th><td>{}</td></tr>",
                esc(&label(field)),
                esc(answer)
            );
        }
        body.push_str("</table>");
    }
    if opened.application_pdf.is_some() {
        let _ = write!(
            body,
            "<p><a href=\"/office/case/application?n={n}\">{}</a></p>",
            lang.t("Заява (PDF)", "Application (PDF)")
        );
    }
    body
}

fn binary(bytes: Vec<u8>, mime: &'static str) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        bytes,
    )
        .into_response()
}

pub async fn page_image(
    State(state): Shared,
    user: SignedIn,
    Query(query): Query<CaseQuery>,
) -> Result<Response, OfficeError> {
    user.require(&READERS)?;
    let (_, opened) = open_case(&state, user.lang, &query.n).await?;
    let page_image = opened
        .pages
        .get(query.i)
        .ok_or(OfficeError::NotFound(user.lang))?;
    Ok(binary(page_image.bytes.to_vec(), page_image.mime))
}

pub async fn signature_image(
    State(state): Shared,
    user: SignedIn,
    Query(query): Query<CaseQuery>,
) -> Result<Response, OfficeError> {
    user.require(&READERS)?;
    let (_, opened) = open_case(&state, user.lang, &query.n).await?;
    let signature = opened
        .signatures
        .get(query.i)
        .ok_or(OfficeError::NotFound(user.lang))?;
    Ok(binary(signature.image_png.clone(), "image/png"))
}

pub async fn inventory_pdf(
    State(state): Shared,
    user: SignedIn,
    Query(query): Query<CaseQuery>,
) -> Result<Response, OfficeError> {
    user.require(&READERS)?;
    let (_, opened) = open_case(&state, user.lang, &query.n).await?;
    let pdf = opened
        .inventory_pdf
        .as_ref()
        .ok_or(OfficeError::NotFound(user.lang))?;
    Ok(pdf_download(pdf, "attachment; filename=\"inventory.pdf\""))
}

/// The signed application's PDF, downloaded rather than shown in the browser.
pub async fn application_pdf(
    State(state): Shared,
    user: SignedIn,
    Query(query): Query<CaseQuery>,
) -> Result<Response, OfficeError> {
    user.require(&READERS)?;
    let (_, opened) = open_case(&state, user.lang, &query.n).await?;
    let pdf = opened
        .application_pdf
        .as_ref()
        .ok_or(OfficeError::NotFound(user.lang))?;
    Ok(pdf_download(
        pdf,
        "attachment; filename=\"application.pdf\"",
    ))
}

/// A PDF a tablet wrote: downloaded, never shown inside the back-office's origin.
fn pdf_download(pdf: &[u8], disposition: &'static str) -> Response {
    let mut response = binary(pdf.to_vec(), "application/pdf");
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static(disposition),
    );
    response
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    n: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    original: String,
}

fn refused(lang: Lang, refusal: ActionRefused) -> OfficeError {
    let message = match refusal {
        ActionRefused::UnknownCase => return OfficeError::NotFound(lang),
        ActionRefused::NotAllowed(error) => match lang {
            Lang::Uk => format!("{} Нічого не змінено.", error.sentence_uk()),
            Lang::En => format!("{}: nothing was done.", capitalised(&error.to_string())),
        },
        ActionRefused::UnknownState(name) => match lang {
            Lang::Uk => format!("Справа в невідомому стані «{name}»: дію не виконано."),
            Lang::En => format!("The case is in an unknown state \"{name}\": nothing was done."),
        },
        ActionRefused::ReasonRequired => lang
            .t(
                "Напишіть причину повернення: її побачить адміністратор.",
                "Write the reason: the administrator will see it.",
            )
            .to_owned(),
        ActionRefused::UnknownOriginal => lang
            .t(
                "Справи-оригіналу з таким номером немає.",
                "There is no original case with that number.",
            )
            .to_owned(),
        ActionRefused::SameCase => lang
            .t(
                "Справа не може бути дублікатом самої себе.",
                "A case cannot duplicate itself.",
            )
            .to_owned(),
        ActionRefused::UnknownNotification => return OfficeError::NotFound(lang),
        ActionRefused::NotificationNotDead(state) => match lang {
            Lang::Uk => format!(
                "Сповіщення в стані «{}»: знову надсилають лише те, що не вдалося. Нічого не змінено.",
                notification_state_name(state, lang)
            ),
            Lang::En => format!(
                "The notification is \"{}\": only a failed one is sent again. Nothing was changed.",
                notification_state_name(state, lang)
            ),
        },
    };
    OfficeError::BadInput(lang, message)
}

async fn act(
    state: Shared,
    user: SignedIn,
    form: ActionForm,
    action: impl FnOnce(
        &super::web::OfficeState,
        &ActionForm,
        &str,
        i64,
    ) -> Result<Result<(), ActionRefused>, crate::ServerError>,
) -> Result<Response, OfficeError> {
    user.require(&[Role::Operator])?;
    user.check_csrf(&form.csrf)?;
    let State(state) = state;
    action(&state, &form, &user.staff.username, state.now())?.map_err(|r| refused(user.lang, r))?;
    Ok(Redirect::to(&format!("/office/case?n={}", url(&form.n))).into_response())
}

pub async fn accept(
    state: Shared,
    user: SignedIn,
    Form(form): Form<ActionForm>,
) -> Result<Response, OfficeError> {
    act(state, user, form, |s, f, actor, now| {
        actions::accept(&s.db, &f.n, actor, now)
    })
    .await
}

pub async fn return_case(
    state: Shared,
    user: SignedIn,
    Form(form): Form<ActionForm>,
) -> Result<Response, OfficeError> {
    act(state, user, form, |s, f, actor, now| {
        actions::return_to_administrator(&s.db, &f.n, &f.reason, actor, now)
    })
    .await
}

pub async fn duplicate(
    state: Shared,
    user: SignedIn,
    Form(form): Form<ActionForm>,
) -> Result<Response, OfficeError> {
    act(state, user, form, |s, f, actor, now| {
        actions::mark_duplicate(&s.db, &f.n, &f.original, actor, now)
    })
    .await
}

#[derive(Deserialize)]
pub struct NotificationForm {
    #[serde(default)]
    csrf: String,
    /// The event whose notification failed.
    #[serde(default)]
    event: String,
}

/// «Надіслати знову»: an operator sends an applicant's notification that failed (dead) again.
/// The notification worker is woken at once when the server runs the connector; otherwise it
/// finds the row at its next look (at least every 5 s).
pub async fn retry_notification(
    State(state): Shared,
    user: SignedIn,
    Form(form): Form<NotificationForm>,
) -> Result<Response, OfficeError> {
    user.require(&[Role::Operator])?;
    user.check_csrf(&form.csrf)?;
    let case_number =
        actions::retry_notification(&state.db, &form.event, &user.staff.username, state.now())?
            .map_err(|r| refused(user.lang, r))?;
    if let Some(central) = &state.central {
        crate::central::notify::wake(central);
    }
    Ok(Redirect::to(&format!("/office/case?n={}", url(&case_number))).into_response())
}

#[cfg(test)]
mod tests {
    use fieldkit_domain::case::{
        Address, Applicant, Case, IdentityDocument, IdentityDocumentKind, NaturalPerson,
        PersonName, VisitPlace, VisitPlaceKind,
    };
    use fieldkit_domain::common::ServiceCode;
    use zeroize::Zeroizing;

    use super::*;

    fn opened(application_sha256: Option<&str>, as_stated: bool) -> OpenedCase {
        let mut case = Case::new_draft(
            "case-1",
            ServiceCode("00001".into()),
            Applicant::NaturalPerson(NaturalPerson {
                name: PersonName {
                    surname: "Шевченко".into(),
                    given_name: "Марія".into(),
                    patronymic: None,
                },
                rnokpp: None,
                birth_date: time::macros::date!(1946 - 03 - 15),
                identity_document: IdentityDocument {
                    kind: IdentityDocumentKind::IdCard,
                    number: String::new(),
                    issued_by: String::new(),
                    issued_on: None,
                },
                address: Address("м. Львів".into()),
                phone: None,
                email: None,
            }),
            VisitPlace {
                kind: VisitPlaceKind::Home,
                address: Address("м. Львів".into()),
            },
        );
        case.form_answers
            .insert("housing_basis".into(), "власник".into());
        OpenedCase {
            envelope_id: "env-1".into(),
            case_number: "LV01/T07/2026/000001-5".into(),
            device_id: "T07".into(),
            sealed_at: 0,
            case,
            pages: Vec::new(),
            signatures: Vec::new(),
            inventory_pdf: None,
            inventory_sha256: None,
            application_pdf: application_sha256.map(|_| Zeroizing::new(b"%PDF-1.7".to_vec())),
            application_sha256: application_sha256.map(str::to_owned),
            application_as_stated: as_stated,
            signed_sha256: None,
        }
    }

    #[test]
    fn the_case_page_shows_the_signed_application_and_its_pdf() {
        let section =
            application_section(&opened(Some(&"a".repeat(64)), true), None, "n", Lang::Uk);
        assert!(section.contains("заява, підписана разом з описом, відповідає"));
        assert!(section.contains(&"a".repeat(64)));
        assert!(section.contains("/office/case/application?n=n"));
        assert!(section.contains("housing_basis") && section.contains("власник"));
    }

    #[test]
    fn an_application_other_than_the_stated_one_is_shown_as_unbound() {
        let section =
            application_section(&opened(Some(&"b".repeat(64)), false), None, "n", Lang::Uk);
        assert!(section.contains("class=\"bad\""));
        assert!(section.contains("підписи її не скріплюють"));
        assert!(!section.contains("class=\"ok\""));
        let older = application_section(&opened(None, true), None, "n", Lang::En);
        assert!(older.contains("sealed before the application was a document"));
        assert!(!older.contains("/office/case/application"));
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

#[cfg(test)]
mod supplement_tests {
    use super::*;
    use crate::store::StoredEnvelope;

    fn supplement(kind: SupplementKind, refused: Option<&str>) -> StoredSupplement {
        StoredSupplement {
            envelope: StoredEnvelope {
                envelope_id: format!("env-{}", kind.name()),
                device_id: "T08".into(),
                case_number: "LV01/T07/2026/000001-0".into(),
                manifest: Vec::new(),
                signature: Vec::new(),
                receipt: String::new(),
                receipt_signature: String::new(),
            },
            kind,
            applied_at: Some(1_795_000_000),
            refused: refused.map(str::to_owned),
        }
    }

    #[test]
    fn the_case_page_lists_each_supplement_with_its_device_and_what_it_did() {
        let html = supplements_section(
            &[
                supplement(SupplementKind::Handover, None),
                supplement(
                    SupplementKind::Withdrawal,
                    Some("Справу в стані «Рішення прийнято: видано» не можна відкликати."),
                ),
            ],
            Lang::Uk,
        );
        assert!(html.contains("Видача результату"), "{html}");
        assert!(html.contains("Відкликання заяви"), "{html}");
        assert!(html.contains("T08"), "{html}");
        assert!(html.contains("враховано"), "{html}");
        assert!(html.contains("не можна відкликати"), "{html}");
        let none = supplements_section(&[], Lang::En);
        assert!(none.contains("No supplements arrived."), "{none}");
    }
}

#[cfg(test)]
mod subscription_tests {
    use super::*;

    fn subscription(
        key: &PersonalDataKey,
        id: &str,
        channel: Channel,
        contact: &str,
        confirmed_at: Option<i64>,
    ) -> NoticeSubscription {
        NoticeSubscription {
            id: id.into(),
            case_number: "LV01/T07/2026/000001-0".into(),
            channel,
            contact_sealed: key
                .seal(&format!("subscription:{id}"), contact.as_bytes())
                .unwrap(),
            created_at: 1_795_000_000,
            confirmed_at,
            last_cursor: 0,
            attempts: 0,
            last_error: None,
        }
    }

    #[test]
    fn staff_see_each_subscription_opened_with_its_channel_and_confirmation() {
        let key = PersonalDataKey::generate().unwrap();
        let mut moved = subscription(&key, "c", Channel::Email, "moved@example.org", None);
        // A contact sealed for another subscription does not open here.
        moved.id = "d".into();
        let html = subscriptions_section(
            &[
                subscription(
                    &key,
                    "a",
                    Channel::Email,
                    "olena@example.org",
                    Some(1_795_000_600),
                ),
                subscription(&key, "b", Channel::Sms, "+380501234567", None),
                moved,
            ],
            &key,
            Lang::Uk,
        );
        assert!(
            html.contains("Підписки на сповіщення з публічної сторінки"),
            "{html}"
        );
        assert!(
            html.contains("<td>e-mail</td><td>olena@example.org</td>"),
            "{html}"
        );
        assert!(
            html.contains("<td>SMS</td><td>+380501234567</td>"),
            "{html}"
        );
        assert!(html.contains("ні, чекає коду"), "{html}");
        assert!(html.contains("(не відкривається)"), "{html}");
        assert!(!html.contains("moved@example.org"), "{html}");
        let none = subscriptions_section(&[], &key, Lang::En);
        assert!(none.contains("None."), "{none}");
    }
}
