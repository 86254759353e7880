//! The tracking page (issue #13): a case found by the tracking code printed on the applicant's
//! receipt — its service, number, state in the workflow's own words, a dated timeline, the
//! deadline and whether it is late, what happens next and how to ask for notices.
//!
//! The page is made only of what the tracking store keeps (number, service, centre, dates,
//! status events) and the published catalog: no name, address, tax number or document of the
//! applicant, ever. A code that finds nothing — malformed, unknown, or a case number — gets the
//! same «не знайдено» page; such misses are counted per client address, and an address over
//! its allowance gets a 429 page without its lookup being tried. A lookup that finds its case
//! costs nothing and resets nothing.

use std::fmt::Write;
use std::sync::Arc;

use axum::Extension;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use fieldkit_domain::calendar::archive_due;
use fieldkit_domain::catalog::{Catalog, ResultChannel, Service};
use fieldkit_domain::common::{DayKind, ServiceCode};
use fieldkit_domain::tracking::{CODE_SYMBOLS, TrackingCode, TrackingCodeError, is_separator};
use fieldkit_domain::workflow::{CaseState, StateName};
use ring::digest::{SHA256, digest};

use super::form::FormError;
use super::page::{Lang, esc, href, html, lang_field, lang_of};
use super::{PublicState, kyiv, notices};
use crate::ServerError;
use crate::connections::PeerAddress;
use crate::office::register;
use crate::store::{AttemptKey, AttemptStore, BackOff, StatusEvent, TrackedCase, TrackingStore};

/// Misses per address: 20 free, then waits that double from a minute up to an hour. A person
/// who mistypes a code a few times never waits; a guesser gets about 24 tries a day once the
/// waits are at their ceiling, against a code of 135 random bits.
pub const LOOKUP_POLICY: BackOff = BackOff {
    free: 20,
    first_wait: 60,
    max_wait: 3600,
};

/// A tracking code in its canonical form: upper case, no separators.
/// Read by the domain's [`TrackingCode`], the one reader of a code's text.
pub(super) struct Code {
    canonical: String,
}

/// Redacted: a code opens a case's page, so it stays out of logs.
impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Code(<redacted>)")
    }
}

impl Code {
    pub(super) fn canonical(&self) -> &str {
        &self.canonical
    }

    /// What the tracking store keys a case by: lower-case hex SHA-256 of the canonical form.
    pub(super) fn sha256_hex(&self) -> String {
        hex::encode(digest(&SHA256, self.canonical.as_bytes()))
    }
}

/// Why a typed code is not a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CodeError {
    Length(usize),
    Symbol(char),
    /// The check symbol does not match: a symbol typed wrong or two swapped.
    Mistyped,
}

impl CodeError {
    fn sentence(self, lang: Lang) -> String {
        match (self, lang) {
            (Self::Length(found), Lang::Uk) => format!(
                "Код відстеження має {CODE_SYMBOLS} латинських літер і цифр, а введено {found}. Перевірте код на розписці."
            ),
            (Self::Length(found), Lang::En) => format!(
                "A tracking code has {CODE_SYMBOLS} Latin letters and digits; {found} were typed. Check the code on the receipt."
            ),
            (Self::Symbol(c), Lang::Uk) => format!(
                "У коді відстеження не буває символу «{c}». Вводьте латинські літери й цифри з розписки."
            ),
            (Self::Symbol(c), Lang::En) => format!(
                "A tracking code has no «{c}». Type the Latin letters and digits from the receipt."
            ),
            (Self::Mistyped, Lang::Uk) => "Код відстеження введено з помилкою: якийсь символ не той або два переставлено. Перевірте код на розписці.".to_owned(),
            (Self::Mistyped, Lang::En) => "The tracking code is mistyped: a symbol is wrong or two are swapped. Check the code on the receipt.".to_owned(),
        }
    }
}

/// Read a code as typed or scanned, as the domain reads it (any case, separators ignored,
/// Crockford's and Cyrillic look-alikes forgiven, the check symbol checked); a refusal names the
/// symbol no code has, or the length, in the person's words.
pub(super) fn parse_code(text: &str) -> Result<Code, CodeError> {
    match TrackingCode::parse(text) {
        Ok(code) => Ok(Code {
            canonical: code.canonical().to_owned(),
        }),
        Err(TrackingCodeError::BadCharacter { position }) => Err(CodeError::Symbol(
            text.chars()
                .filter(|&c| !is_separator(c))
                .nth(position.saturating_sub(1))
                .unwrap_or('?'),
        )),
        Err(TrackingCodeError::BadLength { found }) => Err(CodeError::Length(found)),
        Err(TrackingCodeError::Mistyped | TrackingCodeError::NoRandomness) => {
            Err(CodeError::Mistyped)
        }
    }
}

/// The client's address as limits count it (an IPv6 /64 is one).
pub(super) fn address_of(peer: Option<Extension<PeerAddress>>) -> String {
    peer.map_or_else(
        || "unknown".to_owned(),
        |Extension(peer)| peer.limited_as().to_string(),
    )
}

/// What a lookup by tracking code found.
pub(super) enum Lookup {
    Found(TrackedCase),
    Missing,
    /// The address is over its allowance for this many seconds: nothing was looked up.
    Locked(i64),
}

/// Is `address` locked out of lookups? A look at a lock counts as a miss too, so hammering a
/// lock keeps it.
pub(super) fn lock_of(state: &PublicState, address: &str) -> Result<Option<i64>, ServerError> {
    let key = AttemptKey::tracking_lookup(address);
    let now = state.now();
    if state.meta.lock_remaining(&key, now)?.is_none() {
        return Ok(None);
    }
    Ok(Some(
        match state.meta.begin_attempt(&key, &LOOKUP_POLICY, now)? {
            crate::store::Attempt::Locked { seconds } => seconds,
            // The lock ran out between the look and the count: this one, counted already,
            // is still refused (at worst a second's wait), rather than counted twice.
            crate::store::Attempt::Allowed { wait_if_failed } => wait_if_failed.max(1),
        },
    ))
}

/// Count a miss by `address`.
pub(super) fn count_miss(state: &PublicState, address: &str) -> Result<(), ServerError> {
    state.meta.begin_attempt(
        &AttemptKey::tracking_lookup(address),
        &LOOKUP_POLICY,
        state.now(),
    )?;
    Ok(())
}

/// Find the case of tracking code `text` for `address`. Only a miss is counted: the lock is
/// read first, the lookup tried, and a miss counted after. Misses already in flight when the
/// lock falls are all counted, so the waits still grow with every one.
pub(super) fn lookup(
    state: &PublicState,
    address: &str,
    text: &str,
) -> Result<Lookup, ServerError> {
    if let Some(seconds) = lock_of(state, address)? {
        return Ok(Lookup::Locked(seconds));
    }
    let found = match parse_code(text) {
        Ok(code) => state.meta.tracked_case(&code.sha256_hex())?,
        Err(_) => None,
    };
    match found {
        Some(case) => Ok(Lookup::Found(case)),
        None => {
            count_miss(state, address)?;
            Ok(Lookup::Missing)
        }
    }
}

/// The one page every miss gets, whatever was typed (it does not repeat it).
pub(super) fn missing_page(state: &PublicState, lang: Lang) -> Response {
    let body = format!(
        "<p>{}</p><p>{}</p><p><a href=\"{}\">{}</a></p>",
        lang.t(
            "Справу з таким кодом відстеження не знайдено.",
            "No case was found with this tracking code."
        ),
        lang.t(
            "Перевірте код на розписці, яку вам залишив адміністратор: 28 латинських літер і цифр. Номер справи для пошуку не підходить.",
            "Check the code on the receipt the administrator left with you: 28 Latin letters and digits. A case number cannot be used to search."
        ),
        href(lang, "/t"),
        lang.t("Ввести код ще раз", "Type the code again"),
    );
    let title = lang.t("Справу не знайдено", "Case not found");
    html(StatusCode::NOT_FOUND, state.page(lang, title, "/t", &body))
}

/// «Too many tries»: when to come back, with `Retry-After`.
pub(super) fn too_many_page(
    state: &PublicState,
    lang: Lang,
    seconds: i64,
    why: (&str, &str),
) -> Response {
    let seconds = seconds.max(1);
    let minutes = (seconds + 59) / 60;
    let body = format!(
        "<p>{}</p><p>{}</p>",
        lang.t(why.0, why.1),
        match lang {
            Lang::Uk => format!(
                "Спробуйте знову через {minutes} хв (о {} за київським часом).",
                kyiv::clock(state.now() + seconds)
            ),
            Lang::En => format!(
                "Please try again in {minutes} min (at {} Kyiv time).",
                kyiv::clock(state.now() + seconds)
            ),
        }
    );
    let title = lang.t("Забагато спроб", "Too many tries");
    let mut response = html(
        StatusCode::TOO_MANY_REQUESTS,
        state.page(lang, title, "/t", &body),
    );
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// The 429 for an address locked out of lookups.
pub(super) fn locked_page(state: &PublicState, lang: Lang, seconds: i64) -> Response {
    too_many_page(
        state,
        lang,
        seconds,
        (
            "З вашої адреси ввели забагато кодів, яких немає.",
            "Too many codes that do not exist were typed from your address.",
        ),
    )
}

/// A form that could not be read: too large, or not a form of ours.
pub(super) fn form_refused(state: &PublicState, lang: Lang, error: FormError) -> Response {
    let (status, title, text) = if error == FormError::TooLarge {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            lang.t("Форма завелика", "The form is too large"),
            lang.t(
                "Надіслана форма більша, ніж може бути. Поверніться назад і заповніть її ще раз.",
                "The form sent is larger than it can be. Go back and fill it in again.",
            ),
        )
    } else {
        (
            StatusCode::BAD_REQUEST,
            lang.t("Форму не вдалося прочитати", "The form could not be read"),
            lang.t(
                "Надіслана форма не така, як на нашій сторінці. Поверніться назад і заповніть її ще раз.",
                "The form sent is not the one on our page. Go back and fill it in again.",
            ),
        )
    };
    let body = format!(
        "<p>{text}</p><p><a href=\"{}\">{}</a></p>",
        href(lang, "/t"),
        lang.t("До пошуку справи", "Find a case")
    );
    html(status, state.page(lang, title, "/t", &body))
}

/// The form's language field, if it asks for English.
pub(super) fn lang_from_field(field: &str) -> Lang {
    if field == "en" { Lang::En } else { Lang::Uk }
}

fn code_form(lang: Lang, error: Option<&str>) -> String {
    let (error_html, described, invalid) = match error {
        Some(error) => (
            format!("<p id=\"code-error\" class=\"error\">{}</p>", esc(error)),
            "code-hint code-error",
            " aria-invalid=\"true\"",
        ),
        None => (String::new(), "code-hint", ""),
    };
    format!(
        "<form method=\"get\" action=\"/t\">{}\
         <label for=\"code\">{}</label>\
         <p id=\"code-hint\" class=\"hint\">{}</p>{error_html}\
         <input id=\"code\" name=\"code\" maxlength=\"80\" autocomplete=\"off\" inputmode=\"text\" \
         autocapitalize=\"characters\" spellcheck=\"false\" required aria-describedby=\"{described}\"{invalid}>\
         <button>{}</button></form>",
        lang_field(lang),
        lang.t(
            "Введіть код відстеження з розписки",
            "Type the tracking code from the receipt"
        ),
        lang.t(
            "28 латинських літер і цифр, надрукованих групами по чотири: XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX. Дефіси, пробіли й розмір літер не важливі.",
            "28 Latin letters and digits, printed in groups of four: XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX. Hyphens, spaces and letter case do not matter."
        ),
        lang.t("Знайти справу", "Find the case"),
    )
}

#[derive(Debug, serde::Deserialize)]
pub struct CodeQuery {
    #[serde(default)]
    code: Option<String>,
}

/// `GET /t`: the form; `GET /t?code=…` goes to the case's address, or shows the form again
/// with what is wrong with the code. A malformed code typed here is not counted: it looks
/// nothing up.
pub async fn form(
    State(state): State<Arc<PublicState>>,
    uri: Uri,
    query: Result<axum::extract::Query<CodeQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let lang = lang_of(&uri);
    let title = lang.t("Стан справи", "Case status");
    let typed = query.ok().and_then(|q| q.0.code);
    let error = match typed.as_deref().map(parse_code) {
        None => None,
        Some(Ok(code)) => {
            return Redirect::to(&href(lang, &format!("/t/{}", code.canonical()))).into_response();
        }
        Some(Err(error)) => Some(error.sentence(lang)),
    };
    let intro = format!(
        "<p>{}</p>",
        lang.t(
            "Код відстеження надруковано на розписці, яку вам залишив адміністратор, поруч із QR-кодом. Якщо ви відсканували QR-код, сторінка справи вже відкрилася б.",
            "The tracking code is printed on the receipt the administrator left with you, beside the QR code. Scanning the QR code opens the case's page directly."
        )
    );
    let body = format!("{intro}{}", code_form(lang, error.as_deref()));
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    html(status, state.page(lang, title, "/t", &body))
}

/// Anything deeper under `/t/` that is not ours (a case number with its slashes, say): a miss
/// like any other.
pub async fn deeper(
    State(state): State<Arc<PublicState>>,
    peer: Option<Extension<PeerAddress>>,
    uri: Uri,
) -> Response {
    let lang = lang_of(&uri);
    let address = address_of(peer);
    match lock_of(&state, &address) {
        Ok(Some(seconds)) => return locked_page(&state, lang, seconds),
        Ok(None) => {}
        Err(error) => return state.failure(lang, &error),
    }
    match count_miss(&state, &address) {
        Ok(()) => missing_page(&state, lang),
        Err(error) => state.failure(lang, &error),
    }
}

/// Messages a step of the notices leaves for the case page (`?done=`).
fn done_message(uri: &Uri, lang: Lang) -> Option<&'static str> {
    let query = uri.query()?;
    query.split('&').find_map(|pair| match pair {
        "done=subscribed" => Some(lang.t(
            "Сповіщення увімкнено: ви отримуватимете повідомлення про кожну зміну стану справи.",
            "Notices are on: you will be told of every change in the case's state.",
        )),
        "done=stopped" => Some(lang.t(
            "Якщо ця адреса чи номер були підписані, сповіщення на них більше не надходитимуть.",
            "If that address or number was subscribed, no more notices will be sent to it.",
        )),
        _ => None,
    })
}

/// `GET /t/{code}`: the case page.
pub async fn case_page(
    State(state): State<Arc<PublicState>>,
    peer: Option<Extension<PeerAddress>>,
    uri: Uri,
    code: Result<Path<String>, PathRejection>,
) -> Response {
    let lang = lang_of(&uri);
    let address = address_of(peer);
    let text = code.map(|Path(code)| code).unwrap_or_default();
    let case = match lookup(&state, &address, &text) {
        Ok(Lookup::Found(case)) => case,
        Ok(Lookup::Missing) => return missing_page(&state, lang),
        Ok(Lookup::Locked(seconds)) => return locked_page(&state, lang, seconds),
        Err(error) => return state.failure(lang, &error),
    };
    match render_case(&state, lang, &case, &text, done_message(&uri, lang)) {
        Ok(page) => html(StatusCode::OK, page),
        Err(error) => state.failure(lang, &error),
    }
}

/// The service's name as the public reads it, or «послуга XYZ» when the catalog lacks it.
fn service_title(service: Option<&Service>, code: &str, lang: Lang) -> String {
    match (service, lang) {
        (Some(service), Lang::En) => service.title_en.as_deref().unwrap_or(&service.title).into(),
        (Some(service), Lang::Uk) => service.title.clone(),
        (None, Lang::Uk) => format!("послуга {code}"),
        (None, Lang::En) => format!("service {code}"),
    }
}

fn words(state: &StateName, lang: Lang) -> &'static str {
    let (uk, en) = state.words();
    lang.t(uk, en)
}

/// «5 робочих днів», «1 календарний день», "5 working days".
fn term_text(days: u32, kind: DayKind, lang: Lang) -> String {
    let working = kind == DayKind::Working;
    match lang {
        Lang::En => format!(
            "{days} {} day{}",
            if working { "working" } else { "calendar" },
            if days == 1 { "" } else { "s" }
        ),
        Lang::Uk => {
            let (one, few, many) = if working {
                ("робочий день", "робочі дні", "робочих днів")
            } else {
                ("календарний день", "календарні дні", "календарних днів")
            };
            let form = match (days % 10, days % 100) {
                (1, n) if n != 11 => one,
                (2..=4, n) if !(12..=14).contains(&n) => few,
                _ => many,
            };
            format!("{days} {form}")
        }
    }
}

/// The whole case page.
fn render_case(
    state: &PublicState,
    lang: Lang,
    case: &TrackedCase,
    code_text: &str,
    done: Option<&str>,
) -> Result<String, ServerError> {
    let catalog = state.catalog()?;
    let service_code = ServiceCode(case.service_code.clone());
    let service = catalog.as_ref().and_then(|c| c.service(&service_code));
    let events = state.meta.case_status_events(&case.case_number)?;
    let current = events
        .last()
        .map_or(StateName::Known(CaseState::Registered), |e| {
            e.status.clone()
        });
    // The canonical code for the page's own links (the address may have been typed loosely).
    let canonical = parse_code(code_text)
        .map(|c| c.canonical().to_owned())
        .unwrap_or_default();
    let path = format!("/t/{canonical}");

    let mut body = String::new();
    if let Some(done) = done {
        let _ = write!(body, "<p class=\"ok\" role=\"status\">{}</p>", esc(done));
    }
    let _ = write!(
        body,
        "<p>{}</p><p class=\"state\">{}</p><dl><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd>\
         <dt>{}</dt><dd>{}</dd></dl>",
        lang.t("Стан справи зараз:", "The case now:"),
        esc(words(&current, lang)),
        lang.t("Послуга", "Service"),
        esc(&service_title(service, &case.service_code, lang)),
        lang.t("Номер справи", "Case number"),
        esc(&case.case_number),
        lang.t("Зареєстровано", "Registered"),
        esc(&kyiv::when(case.registered_at)),
    );
    body.push_str(&refusal_section(&events, lang));
    body.push_str(&deadline_section(
        state,
        lang,
        case,
        catalog.as_deref(),
        &current,
    ));
    body.push_str(&next_section(
        lang,
        &current,
        &events,
        service,
        catalog.as_deref(),
    ));
    body.push_str(&timeline_section(lang, case, &events));
    body.push_str(&notices::section(state, lang, &canonical));
    // The case number is in the list below: in a heading it breaks across a phone's screen.
    let title = lang.t("Стан справи", "Case status");
    Ok(state.page(lang, title, &path, &body))
}

/// The refusal's reasons, when the last decision was a refusal.
fn refusal_section(events: &[StatusEvent], lang: Lang) -> String {
    let decision = events.iter().rev().find(|e| {
        matches!(
            e.status.known(),
            Some(CaseState::Refused | CaseState::Issued)
        )
    });
    match decision {
        Some(event) if event.status.known() == Some(CaseState::Refused) => format!(
            "<h2>{}</h2><p>{}</p>",
            lang.t("Причини відмови", "Reasons for the refusal"),
            esc(event.detail.as_deref().unwrap_or(lang.t(
                "Причини буде зазначено в рішенні, яке ви отримаєте.",
                "The reasons are stated in the decision you will receive."
            )))
        ),
        _ => String::new(),
    }
}

/// The term, the deadline counted from registration, and whether the case is late (the
/// register's own rule).
fn deadline_section(
    state: &PublicState,
    lang: Lang,
    case: &TrackedCase,
    catalog: Option<&Catalog>,
    current: &StateName,
) -> String {
    let mut out = format!("<h2>{}</h2>", lang.t("Строк", "Deadline"));
    let service_code = ServiceCode(case.service_code.clone());
    let registered = kyiv::date(case.registered_at);
    let found = catalog
        .and_then(|c| c.service(&service_code))
        .zip(register::deadline(
            catalog,
            &state.calendar,
            &service_code,
            registered,
        ));
    let Some((service, deadline)) = found else {
        let _ = write!(
            out,
            "<p>{}</p>",
            lang.t(
                "Строк залежить від послуги; уточніть його в центрі.",
                "The term depends on the service; ask the centre."
            )
        );
        return out;
    };
    let today = kyiv::date(state.now());
    if service.term.days == 0 {
        let _ = write!(
            out,
            "<p>{}</p>",
            lang.t(
                "Послугу надають у день звернення.",
                "The service is given on the day it is asked for."
            )
        );
    } else {
        let _ = write!(
            out,
            "<p>{}</p>",
            match lang {
                Lang::Uk => format!(
                    "Строк надання послуги — {} від дня реєстрації ({}): рішення має бути не пізніше {}.",
                    term_text(service.term.days, service.term.kind, lang),
                    kyiv::date_text(registered),
                    kyiv::date_text(deadline)
                ),
                Lang::En => format!(
                    "The service's term is {} from registration ({}): the decision is due by {}.",
                    term_text(service.term.days, service.term.kind, lang),
                    kyiv::date_text(registered),
                    kyiv::date_text(deadline)
                ),
            }
        );
    }
    if register::overdue(current, registered, Some(deadline), &state.calendar, today) {
        let late = if today > deadline {
            match lang {
                Lang::Uk => format!(
                    "Строк минув {}, а рішення ще немає. Ви можете звернутися до центру.",
                    kyiv::date_text(deadline)
                ),
                Lang::En => format!(
                    "The term ended on {} and there is no decision yet. You may contact the centre.",
                    kyiv::date_text(deadline)
                ),
            }
        } else {
            let by = state.calendar.forwarding_deadline(registered);
            match lang {
                Lang::Uk => format!(
                    "Справу мали передати суб’єкту надання не пізніше {}; вона затримується в центрі.",
                    kyiv::date_text(by)
                ),
                Lang::En => format!(
                    "The case was due to go to the provider by {}; it is delayed at the centre.",
                    kyiv::date_text(by)
                ),
            }
        };
        let _ = write!(out, "<p class=\"late\">{}</p>", esc(&late));
    }
    out
}

/// The ways the result can be received, from the service's information card.
fn channels_text(service: Option<&Service>, lang: Lang) -> Option<String> {
    let channels = &service?.result_channels;
    if channels.is_empty() {
        return None;
    }
    let items: Vec<&str> = channels
        .iter()
        .map(|channel| match channel {
            ResultChannel::AtCentre => lang.t("у центрі", "at the centre"),
            ResultChannel::Post => lang.t("поштою", "by post"),
            ResultChannel::MobileAdministrator => lang.t(
                "удома, через мобільного адміністратора (домовтеся про час телефоном центру)",
                "at home, from a mobile administrator (agree a time by phoning the centre)",
            ),
            ResultChannel::Electronic => lang.t("в електронній формі", "electronically"),
        })
        .collect();
    Some(items.join("; "))
}

/// What happens next, by the case's state.
fn next_section(
    lang: Lang,
    current: &StateName,
    events: &[StatusEvent],
    service: Option<&Service>,
    catalog: Option<&Catalog>,
) -> String {
    let office = catalog.map(|c| &c.centre.office);
    let hours = office.and_then(|o| o.hours.as_deref());
    let phone = office.and_then(|o| o.phone.as_deref());
    let mut out = format!("<h2>{}</h2>", lang.t("Що далі", "What happens next"));
    let mut say = |text: &str| {
        let _ = write!(out, "<p>{}</p>", esc(text));
    };
    let bring = lang.t(
        "Візьміть із собою документ, що посвідчує особу, і цю розписку.",
        "Bring your identity document and this receipt.",
    );
    match current.known() {
        Some(CaseState::Draft | CaseState::Registered | CaseState::Sealed) => say(lang.t(
            "Адміністратор передасть справу до центру найближчим часом.",
            "The administrator will pass the case to the centre shortly.",
        )),
        Some(CaseState::Received | CaseState::Accepted) => say(lang.t(
            "Центр перевіряє справу й передасть її суб’єкту надання не пізніше наступного робочого дня.",
            "The centre checks the case and passes it to the provider by the next working day.",
        )),
        Some(CaseState::ReturnedForCorrection) => say(lang.t(
            "Справу повернуто адміністраторові, щоб виправити чи доповнити. Якщо знадобляться ваші документи чи підпис, адміністратор зв’яжеться з вами.",
            "The case went back to the administrator to be corrected or completed. If your documents or signature are needed, the administrator will contact you.",
        )),
        Some(CaseState::Duplicate) => say(lang.t(
            "Цю справу позначено як повтор іншої справи з тим самим зверненням; розглядається та справа.",
            "This case was marked as a repeat of another case with the same request; that case is being dealt with.",
        )),
        Some(
            CaseState::Forwarded | CaseState::RegisteredCentrally | CaseState::ForwardedToProvider,
        ) => say(lang.t(
            "Справа в суб’єкта надання; чекаємо на рішення. Коли воно буде, стан на цій сторінці зміниться.",
            "The case is with the provider; the decision is awaited. When it comes, the state on this page changes.",
        )),
        Some(CaseState::Issued | CaseState::Refused | CaseState::ResultReady) => {
            say(lang.t(
                "Результат готовий до видачі.",
                "The result is ready to be handed over.",
            ));
            if let Some(ways) = channels_text(service, lang) {
                say(&format!(
                    "{} {ways}.",
                    lang.t("Як його можна отримати:", "How to receive it:")
                ));
            }
            say(bring);
            // Regulation 8.5: an uncollected result goes to the archive after three months.
            if let Some(ready) = events
                .iter()
                .rev()
                .find(|e| e.status.known().is_some_and(CaseState::result_can_be_handed_over))
            {
                let due = archive_due(kyiv::date(ready.at));
                say(&match lang {
                    Lang::Uk => format!(
                        "Якщо результат не забрати до {}, його передадуть до архіву центру.",
                        kyiv::date_text(due)
                    ),
                    Lang::En => format!(
                        "If the result is not collected by {}, it goes to the centre's archive.",
                        kyiv::date_text(due)
                    ),
                });
            }
        }
        Some(CaseState::ResultDelivered) => say(lang.t(
            "Результат видано; справу завершено.",
            "The result was handed over; the case is closed.",
        )),
        Some(CaseState::Withdrawn) => say(lang.t(
            "Заяву відкликано; справу завершено. Щоб звернутися знову, зателефонуйте до центру.",
            "The application was withdrawn; the case is closed. To apply again, phone the centre.",
        )),
        Some(CaseState::Archived) => {
            say(lang.t(
                "Незабраний результат передано до архіву центру. Його можна отримати в центрі.",
                "The uncollected result went to the centre's archive. It can be collected at the centre.",
            ));
            say(bring);
        }
        None => say(lang.t(
            "Стан справи оновлюється. Якщо маєте запитання, зверніться до центру.",
            "The case's state is being updated. If you have questions, contact the centre.",
        )),
    }
    if let Some(hours) = hours {
        say(&format!(
            "{} {hours}.",
            lang.t("Центр працює:", "The centre is open:")
        ));
    }
    if let Some(phone) = phone {
        say(&format!(
            "{} {phone}.",
            lang.t("Телефон центру:", "The centre's phone:")
        ));
    }
    out
}

/// The dated steps: registration on the tablet first, then every status event.
fn timeline_section(lang: Lang, case: &TrackedCase, events: &[StatusEvent]) -> String {
    let mut out = format!(
        "<h2>{}</h2><p class=\"hint\">{}</p><ol class=\"timeline\">",
        lang.t("Як рухалася справа", "How the case moved"),
        lang.t("Дата й час — київські.", "Dates and times are Kyiv time."),
    );
    let registered = StateName::Known(CaseState::Registered);
    let steps = std::iter::once((case.registered_at, &registered))
        .chain(events.iter().map(|e| (e.at, &e.status)));
    for (at, state) in steps {
        let _ = write!(
            out,
            "<li><time datetime=\"{}\">{}</time> — {}</li>",
            esc(&iso(at)),
            esc(&kyiv::when(at)),
            esc(words(state, lang))
        );
    }
    out.push_str("</ol>");
    out
}

fn iso(at: i64) -> String {
    kyiv::local(at)
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_forgivingly_and_hashed_in_canonical_form() {
        let code = parse_code(" 7kq2-m9xa oi1l 0000-0000-0000-000k\n").unwrap();
        assert_eq!(code.canonical(), "7KQ2M9XA0111000000000000000K");
        assert_eq!(
            parse_code("7KQ2M9XA011100000000000000000").unwrap_err(),
            CodeError::Length(29)
        );
        assert_eq!(
            parse_code("7KQ2-M9XA-0111-0000-0000-0000-000K")
                .unwrap()
                .sha256_hex(),
            code.sha256_hex()
        );
        assert_eq!(parse_code("U").unwrap_err(), CodeError::Symbol('U'));
        assert_eq!(
            parse_code("LV01/T07/2026/000123-K").unwrap_err(),
            CodeError::Symbol('/')
        );
        assert_eq!(parse_code("").unwrap_err(), CodeError::Length(0));
        // One symbol wrong, or two swapped: the check symbol says so.
        assert_eq!(
            parse_code("7KQ2-M9XA-0111-0000-0000-0000-000M").unwrap_err(),
            CodeError::Mistyped
        );
        assert_eq!(
            parse_code("K7Q2-M9XA-0111-0000-0000-0000-000K").unwrap_err(),
            CodeError::Mistyped
        );
    }

    #[test]
    fn terms_are_said_with_ukrainian_plurals() {
        assert_eq!(term_text(1, DayKind::Working, Lang::Uk), "1 робочий день");
        assert_eq!(term_text(3, DayKind::Working, Lang::Uk), "3 робочі дні");
        assert_eq!(
            term_text(10, DayKind::Calendar, Lang::Uk),
            "10 календарних днів"
        );
        assert_eq!(term_text(11, DayKind::Working, Lang::Uk), "11 робочих днів");
        assert_eq!(
            term_text(21, DayKind::Calendar, Lang::Uk),
            "21 календарний день"
        );
        assert_eq!(term_text(22, DayKind::Working, Lang::Uk), "22 робочі дні");
        assert_eq!(term_text(1, DayKind::Working, Lang::En), "1 working day");
        assert_eq!(term_text(20, DayKind::Working, Lang::En), "20 working days");
    }
}
