//! Notices from the tracking page: the applicant (or whoever holds the receipt) asks to be told
//! of each change by e-mail or SMS, proves the address or phone with a 6-digit code sent to it,
//! and can stop the notices by the link in each of them or by typing the contact again.
//!
//! - The contact is kept only sealed under the personal-data key, bound to its subscription
//!   ("subscription:<id>"), with a keyed hash to find it again; never in clear, never in a log.
//! - A code is kept as a keyed MAC, expires in 15 minutes, and five wrong ones drop the request.
//!   Codes are sent at most five an hour (then one an hour) per address asking, per case and
//!   per contact, so the page cannot be used to flood someone's inbox or phone.
//! - A notice says the case number and the state in the workflow's words (uk, then en) and a
//!   «stop» link: nothing else. The worker polls the status events after each subscription's
//!   cursor and sends each at least once, in order, with back-off and retries.
//! - With no channel configured (`[central.notify]`), the page says notices are unavailable.

use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};

use super::PublicState;
use super::form;
use super::page::{Lang, esc, href, html, lang_field, lang_of};
use super::track::{
    Lookup, address_of, count_miss, form_refused, lang_from_field, lock_of, locked_page, lookup,
    missing_page, too_many_page,
};
use crate::ServerError;
use crate::central::notify::{Channel, Message, message};
use crate::central::outbox::backoff_cap;
use crate::connections::PeerAddress;
use crate::store::{
    Attempt, AttemptKey, AttemptStore, BackOff, DueNotice, NoticeConfirmation, NoticeStore,
    PendingOutcome, PendingSubscription, TrackedCase,
};

/// How long a confirmation code works.
pub const CODE_SECONDS: i64 = 15 * 60;
/// Wrong codes before a request is dropped.
pub const MAX_WRONG_CODES: i64 = 5;
/// Subscriptions (pending or confirmed) a case may have.
pub const MAX_PER_CASE: i64 = 5;
/// Codes sent per address, case and contact: five, then one an hour until a quiet day.
pub const SENDING_POLICY: BackOff = BackOff {
    free: 5,
    first_wait: 3600,
    max_wait: 3600,
};
/// The longest e-mail address (RFC 5321's path limit) or phone number typed.
const MAX_CONTACT: usize = 254;
/// How often the worker looks for new status events.
const POLL: Duration = Duration::from_secs(2);
/// Notices per pass.
const BATCH: i64 = 32;

fn random_hex(bytes: usize) -> Result<String, ServerError> {
    let mut buffer = vec![0u8; bytes];
    SystemRandom::new()
        .fill(&mut buffer)
        .map_err(|_| ServerError::Storage("no randomness".into()))?;
    Ok(hex::encode(buffer))
}

/// Six random digits, uniformly (a value past the last whole million is drawn again).
fn confirmation_code() -> Result<String, ServerError> {
    let rng = SystemRandom::new();
    loop {
        let mut bytes = [0u8; 4];
        rng.fill(&mut bytes)
            .map_err(|_| ServerError::Storage("no randomness".into()))?;
        let value = u32::from_le_bytes(bytes);
        if value < u32::MAX - u32::MAX % 1_000_000 {
            return Ok(format!("{:06}", value % 1_000_000));
        }
    }
}

fn sha256_hex(text: &str) -> String {
    hex::encode(digest(&SHA256, text.as_bytes()))
}

fn contact_context(id: &str) -> String {
    format!("subscription:{id}")
}

fn stop_context(id: &str) -> String {
    format!("subscription-stop:{id}")
}

/// A contact as it is sent to, with the form its keyed hash is made of.
struct Contact {
    to: String,
    key_form: String,
}

/// Read a typed contact for `channel`; `Err` is the sentence to show beside the field.
fn parse_contact(channel: Channel, typed: &str, lang: Lang) -> Result<Contact, &'static str> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Err(match channel {
            Channel::Email => lang.t(
                "Введіть адресу електронної пошти.",
                "Type an e-mail address.",
            ),
            Channel::Sms => lang.t("Введіть номер телефону.", "Type a phone number."),
        });
    }
    match channel {
        Channel::Email => {
            let valid = typed.len() <= MAX_CONTACT
                && typed.parse::<lettre::Address>().is_ok()
                && typed.rsplit('@').next().is_some_and(|d| d.contains('.'));
            if !valid {
                return Err(lang.t(
                    "Це не схоже на адресу електронної пошти: потрібна адреса на кшталт name@example.com.",
                    "This does not look like an e-mail address: it should be like name@example.com.",
                ));
            }
            Ok(Contact {
                to: typed.to_owned(),
                key_form: format!("email:{}", typed.to_lowercase()),
            })
        }
        Channel::Sms => {
            let allowed = typed
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.'));
            let digits: String = typed.chars().filter(char::is_ascii_digit).collect();
            let international = typed.starts_with('+');
            let number = match (international, digits.len()) {
                _ if !allowed || typed.len() > 32 => None,
                (true, 8..=15) if !digits.starts_with('0') => Some(format!("+{digits}")),
                (false, 12) if digits.starts_with("380") => Some(format!("+{digits}")),
                (false, 10) if digits.starts_with('0') => Some(format!("+38{digits}")),
                _ => None,
            };
            let number = number.ok_or(lang.t(
                "Номер телефону вводьте як 0XX XXX XX XX або +380 XX XXX XX XX.",
                "Type the phone number as 0XX XXX XX XX or +380 XX XXX XX XX.",
            ))?;
            Ok(Contact {
                key_form: format!("sms:{number}"),
                to: number,
            })
        }
    }
}

fn channel_label(channel: Channel, lang: Lang) -> &'static str {
    match channel {
        Channel::Email => lang.t("Електронною поштою", "By e-mail"),
        Channel::Sms => lang.t("SMS на телефон", "By SMS"),
    }
}

fn channels(state: &PublicState) -> Vec<Channel> {
    [Channel::Email, Channel::Sms]
        .into_iter()
        .filter(|&channel| state.central.can_send(channel))
        .collect()
}

/// The choice of channel and the contact field, for the form named `form` (ids stay unique
/// when two forms share a page).
fn contact_fields(
    form: &str,
    legend: &str,
    channels: &[Channel],
    lang: Lang,
    error: Option<&str>,
) -> String {
    let mut out = format!("<fieldset><legend>{legend}</legend>");
    for (index, &channel) in channels.iter().enumerate() {
        let _ = write!(
            out,
            "<label><input type=\"radio\" name=\"channel\" value=\"{}\"{}>{}</label>",
            channel.name(),
            if index == 0 { " checked" } else { "" },
            channel_label(channel, lang)
        );
    }
    let (error_html, invalid, described) = match error {
        Some(error) => (
            format!("<p id=\"{form}-error\" class=\"error\">{}</p>", esc(error)),
            " aria-invalid=\"true\"",
            format!(" aria-describedby=\"{form}-error\""),
        ),
        None => (String::new(), "", String::new()),
    };
    let _ = write!(
        out,
        "</fieldset><label for=\"{form}-contact\">{}</label>{error_html}\
         <input id=\"{form}-contact\" name=\"contact\" maxlength=\"{MAX_CONTACT}\" autocomplete=\"off\" \
         spellcheck=\"false\" autocapitalize=\"none\" required{invalid}{described}>",
        lang.t(
            "Адреса електронної пошти або номер телефону",
            "E-mail address or phone number"
        ),
    );
    out
}

fn subscribe_form(state: &PublicState, lang: Lang, code: &str, error: Option<&str>) -> String {
    let channels = channels(state);
    if channels.is_empty() {
        return format!(
            "<p class=\"notice\">{}</p>",
            lang.t(
                "Сповіщення електронною поштою чи SMS зараз недоступні: центр їх не налаштував. Стан справи завжди видно на цій сторінці.",
                "Notices by e-mail or SMS are not available now: the centre has not set them up. This page always shows the case's state."
            )
        );
    }
    format!(
        "<p>{}</p><form method=\"post\" action=\"/t/{code}/notices\">{}{}<button>{}</button></form>",
        lang.t(
            "Ми надішлемо повідомлення про кожну зміну стану справи: лише номер справи й новий стан. Спершу надішлемо код, щоб переконатися, що адреса чи номер ваші.",
            "We will tell you of every change in the case's state: only the case number and the new state. First we send a code, to be sure the address or number is yours."
        ),
        lang_field(lang),
        contact_fields(
            "notices",
            lang.t("Як повідомляти", "How to tell you"),
            &channels,
            lang,
            error
        ),
        lang.t("Надіслати код підтвердження", "Send a confirmation code"),
    )
}

fn stop_form(lang: Lang, code: &str, error: Option<&str>) -> String {
    format!(
        "<p>{}</p><form method=\"post\" action=\"/t/{code}/stop\">{}{}<button class=\"secondary\">{}</button></form>",
        lang.t(
            "У кожному повідомленні є посилання, щоб зупинити сповіщення. Або введіть тут адресу чи номер, на які вони надходять.",
            "Every notice has a link to stop them. Or type here the address or number they come to."
        ),
        lang_field(lang),
        contact_fields(
            "stop",
            lang.t("Куди надходять сповіщення", "Where the notices come to"),
            &[Channel::Email, Channel::Sms],
            lang,
            error
        ),
        lang.t("Зупинити сповіщення", "Stop the notices"),
    )
}

/// The notices part of the case page (`code`: the canonical tracking code).
pub fn section(state: &PublicState, lang: Lang, code: &str) -> String {
    format!(
        "<h2 id=\"notices\">{}</h2>{}<h2 id=\"stop\">{}</h2>{}",
        lang.t("Сповіщення про зміни", "Notices of changes"),
        subscribe_form(state, lang, code, None),
        lang.t("Зупинити сповіщення", "Stop the notices"),
        stop_form(lang, code, None),
    )
}

/// A small page of its own: a form again with its error, or what a step did.
fn small_page(
    state: &PublicState,
    lang: Lang,
    status: StatusCode,
    title: &str,
    code: &str,
    body: &str,
) -> Response {
    let body = format!(
        "{body}<p><a href=\"{}\">{}</a></p>",
        href(lang, &format!("/t/{code}")),
        lang.t("До сторінки справи", "Back to the case")
    );
    html(
        status,
        state.page(lang, title, &format!("/t/{code}"), &body),
    )
}

#[derive(Debug, serde::Deserialize)]
pub struct ContactForm {
    #[serde(default)]
    channel: String,
    #[serde(default)]
    contact: String,
    #[serde(default)]
    lang: String,
}

#[derive(Debug, serde::Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    s: String,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    lang: String,
}

/// The case a form's address names, or the page to answer with.
fn case_of(
    state: &PublicState,
    lang: Lang,
    address: &str,
    code: Result<Path<String>, PathRejection>,
) -> Result<(TrackedCase, String), Box<Response>> {
    let text = code.map(|Path(code)| code).unwrap_or_default();
    match lookup(state, address, &text) {
        Ok(Lookup::Found(case)) => {
            let canonical = super::track::parse_code(&text)
                .map(|c| c.canonical().to_owned())
                .unwrap_or_default();
            Ok((case, canonical))
        }
        Ok(Lookup::Missing) => Err(Box::new(missing_page(state, lang))),
        Ok(Lookup::Locked(seconds)) => Err(Box::new(locked_page(state, lang, seconds))),
        Err(error) => Err(Box::new(state.failure(lang, &error))),
    }
}

/// A form posted to a case's address, read, with the case it names.
struct CaseForm<F> {
    form: F,
    lang: Lang,
    address: String,
    case: TrackedCase,
    canonical: String,
}

/// A form that carries the page's language in a hidden field.
trait WithLang {
    fn lang_field(&self) -> &str;
}

impl WithLang for ContactForm {
    fn lang_field(&self) -> &str {
        &self.lang
    }
}

impl WithLang for ConfirmForm {
    fn lang_field(&self) -> &str {
        &self.lang
    }
}

/// Read a form posted to `/t/{code}/…` and find its case (counted as a lookup, as the page
/// is), or the page to answer with: the form refused, the case missing, the address locked.
async fn read_case_form<F: serde::de::DeserializeOwned + WithLang>(
    state: &PublicState,
    peer: Option<Extension<PeerAddress>>,
    uri: &Uri,
    code: Result<Path<String>, PathRejection>,
    request: Request,
) -> Result<CaseForm<F>, Response> {
    let mut lang = lang_of(uri);
    let form: F = match form::read(request).await {
        Ok(form) => form,
        Err(error) => return Err(form_refused(state, lang, error)),
    };
    if lang == Lang::Uk {
        lang = lang_from_field(form.lang_field());
    }
    let address = address_of(peer);
    let (case, canonical) = case_of(state, lang, &address, code).map_err(|page| *page)?;
    Ok(CaseForm {
        form,
        lang,
        address,
        case,
        canonical,
    })
}

/// Count one more code for each of `keys`; the longest wait if any is over its allowance.
fn sending_allowed(state: &PublicState, keys: &[AttemptKey]) -> Result<Option<i64>, ServerError> {
    let now = state.now();
    let mut wait = None;
    for key in keys {
        if let Attempt::Locked { seconds } = state.meta.begin_attempt(key, &SENDING_POLICY, now)? {
            wait = Some(wait.unwrap_or(0).max(seconds));
        }
    }
    Ok(wait)
}

fn confirmation_message(code: &str) -> Message {
    Message {
        subject: format!("Код підтвердження {code} / Confirmation code {code}"),
        text: format!(
            "Добрий день!\n\nКод для підтвердження сповіщень про стан справи: {code}\n\
             Він дійсний 15 хвилин. Якщо ви його не просили, нічого не робіть: без коду \
             сповіщення не надходитимуть.\n\n\
             Hello,\n\nThe code to confirm notices of a case's state: {code}\n\
             It works for 15 minutes. If you did not ask for it, do nothing: without the code \
             no notices are sent.\n"
        ),
        sms: format!("ЦНАП: код підтвердження сповіщень {code} (15 хв). Confirmation code {code}."),
    }
}

fn confirm_form(lang: Lang, code: &str, id: &str, error: Option<&str>) -> String {
    let (error_html, invalid) = match error {
        Some(error) => (
            format!("<p id=\"confirm-error\" class=\"error\">{}</p>", esc(error)),
            " aria-invalid=\"true\" aria-describedby=\"confirm-error\"",
        ),
        None => (String::new(), ""),
    };
    format!(
        "<form method=\"post\" action=\"/t/{code}/confirm\">{}\
         <input type=\"hidden\" name=\"s\" value=\"{}\">\
         <label for=\"confirm\">{}</label>{error_html}\
         <input id=\"confirm\" name=\"confirm\" inputmode=\"numeric\" autocomplete=\"one-time-code\" \
         maxlength=\"12\" required{invalid}><button>{}</button></form>",
        lang_field(lang),
        esc(id),
        lang.t("Код підтвердження (6 цифр)", "Confirmation code (6 digits)"),
        lang.t("Підтвердити", "Confirm"),
    )
}

/// `POST /t/{code}/notices`: send a confirmation code to the contact typed.
pub async fn request_code(
    State(state): State<Arc<PublicState>>,
    peer: Option<Extension<PeerAddress>>,
    uri: Uri,
    code: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    let CaseForm {
        form,
        lang,
        address,
        case,
        canonical,
    } = match read_case_form::<ContactForm>(&state, peer, &uri, code, request).await {
        Ok(read) => read,
        Err(page) => return page,
    };
    let title = lang.t("Сповіщення про зміни", "Notices of changes");
    let again = |error: &str| {
        small_page(
            &state,
            lang,
            StatusCode::BAD_REQUEST,
            title,
            &canonical,
            &subscribe_form(&state, lang, &canonical, Some(error)),
        )
    };
    let channel = match Channel::from_name(&form.channel) {
        Some(channel) if state.central.can_send(channel) => channel,
        Some(_) => {
            return again(lang.t(
                "Цей спосіб зараз недоступний; оберіть інший.",
                "This way is not available now; choose another.",
            ));
        }
        None => {
            return again(lang.t("Оберіть, як вас повідомляти.", "Choose how to tell you."));
        }
    };
    let contact = match parse_contact(channel, &form.contact, lang) {
        Ok(contact) => contact,
        Err(sentence) => return again(sentence),
    };
    match send_code(&state, lang, &address, &case, &canonical, channel, contact).await {
        Ok(response) => response,
        Err(error) => state.failure(lang, &error),
    }
}

async fn send_code(
    state: &Arc<PublicState>,
    lang: Lang,
    address: &str,
    case: &TrackedCase,
    canonical: &str,
    channel: Channel,
    contact: Contact,
) -> Result<Response, ServerError> {
    let title = lang.t("Сповіщення про зміни", "Notices of changes");
    let contact_key = state
        .personal
        .keyed_hash("notice-contact", contact.key_form.as_bytes());
    let keys = [
        AttemptKey::notice_code_from(address),
        AttemptKey::notice_code_for_case(&case.case_number),
        AttemptKey::notice_code_to(&contact_key),
    ];
    if let Some(seconds) = sending_allowed(state, &keys)? {
        return Ok(too_many_page(
            state,
            lang,
            seconds,
            (
                "Коди підтвердження вже надсилали кілька разів. Щоб сторінкою не можна було засипати когось повідомленнями, наступний код можна попросити пізніше.",
                "Confirmation codes were sent several times already. So that this page cannot be used to flood anyone with messages, the next code can be asked for later.",
            ),
        ));
    }
    let id = random_hex(16)?;
    let code = confirmation_code()?;
    let pending = PendingSubscription {
        id: id.clone(),
        case_number: case.case_number.clone(),
        channel,
        contact_sealed: state
            .personal
            .seal(&contact_context(&id), contact.to.as_bytes())?,
        contact_key: contact_key.clone(),
        code_mac: state
            .personal
            .keyed_hash("notice-code", format!("{id}:{code}").as_bytes()),
        code_expires_at: state.now() + CODE_SECONDS,
    };
    match state
        .meta
        .add_pending_subscription(&pending, MAX_PER_CASE, state.now())?
    {
        PendingOutcome::Added => {}
        PendingOutcome::AlreadySubscribed => {
            let text = lang.t(
                "На цю адресу чи номер уже надходять сповіщення про цю справу.",
                "Notices of this case already go to this address or number.",
            );
            return Ok(small_page(
                state,
                lang,
                StatusCode::OK,
                title,
                canonical,
                &format!("<p class=\"ok\">{text}</p>"),
            ));
        }
        PendingOutcome::TooMany => {
            let text = match lang {
                Lang::Uk => format!(
                    "Сповіщення про цю справу вже отримують {MAX_PER_CASE} адрес чи номерів — більше не можна. Зупиніть одну з підписок, щоб додати іншу."
                ),
                Lang::En => format!(
                    "{MAX_PER_CASE} addresses or numbers already get this case's notices, which is the most. Stop one to add another."
                ),
            };
            return Ok(small_page(
                state,
                lang,
                StatusCode::CONFLICT,
                title,
                canonical,
                &format!("<p class=\"error\">{}</p>", esc(&text)),
            ));
        }
    }
    if let Err(failure) = state
        .central
        .send_now(channel, &contact.to, confirmation_message(&code))
        .await
    {
        // The request cannot be confirmed: drop it rather than keep a contact for nothing.
        state
            .meta
            .stop_by_contact(&case.case_number, &contact_key)?;
        tracing::warn!(channel = channel.name(), reason = %failure.reason, "a confirmation code could not be sent");
        let text = lang.t(
            "Код не вдалося надіслати. Перевірте адресу чи номер або спробуйте пізніше.",
            "The code could not be sent. Check the address or number, or try again later.",
        );
        return Ok(small_page(
            state,
            lang,
            StatusCode::SERVICE_UNAVAILABLE,
            title,
            canonical,
            &format!("<p class=\"error\">{text}</p>"),
        ));
    }
    let sent = match channel {
        Channel::Email => lang.t(
            "Ми надіслали код із 6 цифр на вказану адресу електронної пошти. Він дійсний 15 хвилин.",
            "We sent a 6-digit code to the e-mail address given. It works for 15 minutes.",
        ),
        Channel::Sms => lang.t(
            "Ми надіслали код із 6 цифр у SMS на вказаний номер. Він дійсний 15 хвилин.",
            "We sent a 6-digit code by SMS to the number given. It works for 15 minutes.",
        ),
    };
    Ok(small_page(
        state,
        lang,
        StatusCode::OK,
        lang.t("Введіть код підтвердження", "Type the confirmation code"),
        canonical,
        &format!("<p>{sent}</p>{}", confirm_form(lang, canonical, &id, None)),
    ))
}

/// `POST /t/{code}/confirm`: the code sent, typed back.
pub async fn confirm(
    State(state): State<Arc<PublicState>>,
    peer: Option<Extension<PeerAddress>>,
    uri: Uri,
    code: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    let CaseForm {
        form,
        lang,
        address: _,
        case,
        canonical,
    } = match read_case_form::<ConfirmForm>(&state, peer, &uri, code, request).await {
        Ok(read) => read,
        Err(page) => return page,
    };
    match check_code(&state, lang, &case, &canonical, &form) {
        Ok(response) => response,
        Err(error) => state.failure(lang, &error),
    }
}

fn check_code(
    state: &PublicState,
    lang: Lang,
    case: &TrackedCase,
    canonical: &str,
    form: &ConfirmForm,
) -> Result<Response, ServerError> {
    let title = lang.t("Введіть код підтвердження", "Type the confirmation code");
    let id = form.s.trim();
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(small_page(
            state,
            lang,
            StatusCode::BAD_REQUEST,
            title,
            canonical,
            &format!(
                "<p class=\"error\">{}</p>",
                lang.t(
                    "Цей запит уже не діє. Попросіть новий код на сторінці справи.",
                    "This request no longer works. Ask for a new code on the case's page."
                )
            ),
        ));
    }
    let typed: String = form
        .confirm
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if typed.len() != 6 || !typed.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(small_page(
            state,
            lang,
            StatusCode::BAD_REQUEST,
            title,
            canonical,
            &confirm_form(
                lang,
                canonical,
                id,
                Some(lang.t(
                    "Код підтвердження — 6 цифр з повідомлення.",
                    "The confirmation code is the 6 digits from the message.",
                )),
            ),
        ));
    }
    let stop = random_hex(16)?;
    let outcome = state.meta.confirm_subscription(
        id,
        &case.case_number,
        &state
            .personal
            .keyed_hash("notice-code", format!("{id}:{typed}").as_bytes()),
        &sha256_hex(&stop),
        &state.personal.seal(&stop_context(id), stop.as_bytes())?,
        MAX_WRONG_CODES,
        state.now(),
    )?;
    let ended = |text: &str| {
        small_page(
            state,
            lang,
            StatusCode::BAD_REQUEST,
            title,
            canonical,
            &format!("<p class=\"error\">{}</p>", esc(text)),
        )
    };
    Ok(match outcome {
        NoticeConfirmation::Confirmed => Redirect::to(&href(
            lang,
            &format!("/t/{canonical}?done=subscribed"),
        ))
        .into_response(),
        NoticeConfirmation::WrongCode { tries_left } => {
            let error = match lang {
                Lang::Uk => format!("Код не підходить. Залишилося спроб: {tries_left}."),
                Lang::En => format!("The code is not right. Tries left: {tries_left}."),
            };
            small_page(
                state,
                lang,
                StatusCode::BAD_REQUEST,
                title,
                canonical,
                &confirm_form(lang, canonical, id, Some(&error)),
            )
        }
        NoticeConfirmation::TooManyWrong => ended(lang.t(
            "Код введено неправильно п’ять разів, тож запит скасовано. Попросіть новий код на сторінці справи.",
            "The code was typed wrong five times, so the request is cancelled. Ask for a new code on the case's page.",
        )),
        NoticeConfirmation::Expired => ended(lang.t(
            "Час дії коду (15 хвилин) минув. Попросіть новий код на сторінці справи.",
            "The code's 15 minutes are over. Ask for a new code on the case's page.",
        )),
        NoticeConfirmation::Unknown => ended(lang.t(
            "Цей запит уже не діє. Попросіть новий код на сторінці справи.",
            "This request no longer works. Ask for a new code on the case's page.",
        )),
    })
}

/// `POST /t/{code}/stop`: stop the notices to the contact typed. The answer is the same
/// whether it was subscribed or not.
pub async fn stop_by_contact(
    State(state): State<Arc<PublicState>>,
    peer: Option<Extension<PeerAddress>>,
    uri: Uri,
    code: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    let CaseForm {
        form,
        lang,
        address: _,
        case,
        canonical,
    } = match read_case_form::<ContactForm>(&state, peer, &uri, code, request).await {
        Ok(read) => read,
        Err(page) => return page,
    };
    let again = |error: &str| {
        small_page(
            &state,
            lang,
            StatusCode::BAD_REQUEST,
            lang.t("Зупинити сповіщення", "Stop the notices"),
            &canonical,
            &stop_form(lang, &canonical, Some(error)),
        )
    };
    let Some(channel) = Channel::from_name(&form.channel) else {
        return again(lang.t(
            "Оберіть, куди надходять сповіщення.",
            "Choose where the notices come to.",
        ));
    };
    let contact = match parse_contact(channel, &form.contact, lang) {
        Ok(contact) => contact,
        Err(sentence) => return again(sentence),
    };
    let contact_key = state
        .personal
        .keyed_hash("notice-contact", contact.key_form.as_bytes());
    match state.meta.stop_by_contact(&case.case_number, &contact_key) {
        Ok(_) => Redirect::to(&href(lang, &format!("/t/{canonical}?done=stopped"))).into_response(),
        Err(error) => state.failure(lang, &error),
    }
}

/// A «stop» token from a link: 32 hex digits, or nothing.
fn stop_token(token: Result<Path<String>, PathRejection>) -> Option<String> {
    let Path(token) = token.ok()?;
    let token = token.trim().to_ascii_lowercase();
    (token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit())).then_some(token)
}

fn stopped_page(state: &PublicState, lang: Lang) -> Response {
    let title = lang.t("Сповіщення зупинено", "Notices stopped");
    let body = format!(
        "<p class=\"ok\">{}</p>",
        lang.t(
            "Сповіщення на цю адресу чи номер більше не надходитимуть. Стан справи й далі можна дізнатися за кодом із розписки.",
            "No more notices will be sent to this address or number. The case's state can still be found with the code from the receipt."
        )
    );
    html(StatusCode::OK, state.page(lang, title, "/t", &body))
}

/// `GET /stop/{token}`: the link in a notice asks before it stops (a mail scanner that opens
/// links must not stop anything). An unknown token counts as a miss, like a tracking code.
pub async fn stop_page(
    State(state): State<Arc<PublicState>>,
    peer: Option<Extension<PeerAddress>>,
    uri: Uri,
    token: Result<Path<String>, PathRejection>,
) -> Response {
    let lang = lang_of(&uri);
    let address = address_of(peer);
    match lock_of(&state, &address) {
        Ok(Some(seconds)) => return locked_page(&state, lang, seconds),
        Ok(None) => {}
        Err(error) => return state.failure(lang, &error),
    }
    let found = match stop_token(token) {
        Some(token) => match state.meta.subscription_by_stop(&sha256_hex(&token)) {
            Ok(found) => found,
            Err(error) => return state.failure(lang, &error),
        },
        None => None,
    };
    let Some(subscription) = found else {
        if let Err(error) = count_miss(&state, &address) {
            return state.failure(lang, &error);
        }
        // Already stopped, or never a link of ours: either way nothing comes any more.
        return stopped_page(&state, lang);
    };
    let title = lang.t("Зупинити сповіщення", "Stop the notices");
    let body = format!(
        "<p>{}</p><form method=\"post\">{}<button>{}</button></form>",
        esc(&match lang {
            Lang::Uk => format!(
                "Зупинити сповіщення про справу {} на цю адресу чи номер?",
                subscription.case_number
            ),
            Lang::En => format!(
                "Stop the notices of case {} to this address or number?",
                subscription.case_number
            ),
        }),
        lang_field(lang),
        lang.t("Так, зупинити", "Yes, stop them"),
    );
    html(StatusCode::OK, state.page(lang, title, "/t", &body))
}

/// `POST /stop/{token}`: stop, and say so whether or not it still ran.
pub async fn stop(
    State(state): State<Arc<PublicState>>,
    uri: Uri,
    token: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    let mut lang = lang_of(&uri);
    match form::read::<ContactForm>(request).await {
        Ok(form) if lang == Lang::Uk => lang = lang_from_field(&form.lang),
        Ok(_) => {}
        Err(error) => return form_refused(&state, lang, error),
    }
    if let Some(token) = stop_token(token)
        && let Err(error) = state.meta.stop_by_token(&sha256_hex(&token))
    {
        return state.failure(lang, &error);
    }
    stopped_page(&state, lang)
}

// ---------------------------------------------------------------------------------------------
// The worker.

/// What one notice says: the case number and the state in words, and the «stop» link.
fn notice_message(state: &PublicState, notice: &DueNotice, stop: &str) -> Message {
    let link = format!("{}/stop/{stop}", state.url.trim_end_matches('/'));
    let mut message = message(&notice.event.case_number, notice.event.status.name());
    message.text.push_str(&format!(
        "\nЗупинити сповіщення / Stop these notices: {link}\n"
    ));
    message.sms.push_str(&format!(" Стоп/Stop: {link}"));
    message
}

/// Send one notice; `Err((reason, retry))`.
async fn send_notice(state: &PublicState, notice: &DueNotice) -> Result<(), (String, bool)> {
    let id = &notice.subscription_id;
    let opened = state
        .personal
        .open(&contact_context(id), &notice.contact_sealed)
        .and_then(|to| {
            let stop = state
                .personal
                .open(&stop_context(id), &notice.stop_sealed)?;
            Ok((to, stop))
        });
    let (to, stop) = opened.map_err(|e| (e.to_string(), false))?;
    let to = String::from_utf8_lossy(&to).into_owned();
    let stop = String::from_utf8_lossy(&stop).into_owned();
    state
        .central
        .send_now(notice.channel, &to, notice_message(state, notice, &stop))
        .await
        .map_err(|failure| (failure.reason, failure.retry))
}

/// One pass: each due notice tried once; how many were tried.
pub async fn run_notices_once(state: &PublicState) -> Result<usize, ServerError> {
    let now = state.now();
    state.meta.forget_expired_pending(now)?;
    let due = state.meta.due_notices(now, BATCH)?;
    let config = &state.central.config;
    for notice in &due {
        let id = &notice.subscription_id;
        let cursor = notice.event.cursor;
        match send_notice(state, notice).await {
            Ok(()) => {
                state.meta.notice_sent(id, cursor)?;
                tracing::info!(case_number = %notice.event.case_number, channel = notice.channel.name(), status = notice.event.status.name(), "notice sent");
            }
            Err((reason, true)) if notice.attempts + 1 < i64::from(config.max_attempts) => {
                let wait = crate::central::outbox::jittered(backoff_cap(
                    notice.attempts,
                    config.backoff_base_seconds,
                    config.backoff_max_seconds,
                ))
                .max(1);
                state.meta.notice_failed(id, state.now() + wait, &reason)?;
                tracing::warn!(case_number = %notice.event.case_number, %reason, "a notice failed; it is tried again");
            }
            Err((reason, _)) => {
                state.meta.notice_given_up(id, cursor, &reason)?;
                tracing::error!(case_number = %notice.event.case_number, %reason, "a notice was given up");
            }
        }
    }
    Ok(due.len())
}

/// The worker: a pass every couple of seconds (at once again after a full batch). New status
/// events come from the back-office, the central system and the intake, so the worker looks
/// rather than waits to be told.
pub fn spawn(state: Arc<PublicState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match run_notices_once(&state).await {
                Ok(tried) if tried as i64 >= BATCH => continue,
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "the notices pass failed"),
            }
            tokio::time::sleep(POLL).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_read_as_people_here_write_them() {
        let sms = |typed: &str| parse_contact(Channel::Sms, typed, Lang::Uk).map(|c| c.to);
        assert_eq!(sms("050 123 45 67").unwrap(), "+380501234567");
        assert_eq!(sms("+38 (050) 123-45-67").unwrap(), "+380501234567");
        assert_eq!(sms("380501234567").unwrap(), "+380501234567");
        assert_eq!(sms("+48 601 234 567").unwrap(), "+48601234567");
        assert!(sms("12345").is_err());
        assert!(sms("050 123 45 6x").is_err());
        assert!(sms("").is_err());
    }

    #[test]
    fn e_mail_addresses_need_an_at_and_a_domain() {
        let mail = |typed: &str| parse_contact(Channel::Email, typed, Lang::En);
        let ok = mail(" Olena@Example.UA ").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.to, "Olena@Example.UA");
        assert_eq!(ok.key_form, "email:olena@example.ua");
        assert!(mail("olena").is_err());
        assert!(mail("olena@localhost").is_err());
        assert!(mail("Олена <olena@example.ua>").is_err());
        assert!(mail(&format!("{}@example.ua", "a".repeat(260))).is_err());
    }

    #[test]
    fn confirmation_codes_are_six_digits() {
        for _ in 0..100 {
            let code = confirmation_code().unwrap_or_default();
            assert_eq!(code.len(), 6);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
