//! «Виклик адміністратора додому»: the form someone who cannot come to the centre (or a
//! relative) fills in, the confirmation code sent to the phone or e-mail they gave, and the page
//! that says what happens next.
//!
//! A request counts only once its code is typed back. It is sealed before it is stored (only
//! its id, state, dates, service code and the channel's kind are in clear), the code is kept as
//! a hash for 30 minutes and five tries, and each address may ask five times an hour and each
//! phone or e-mail receive three codes an hour, so the form cannot be used to flood someone.
//! No page here shows what was typed except the form itself, returned to fix a mistake; the
//! log never holds it.

use std::fmt::Write;
use std::sync::Arc;

use axum::Extension;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use fieldkit_domain::catalog::Catalog;
use fieldkit_domain::validators::{Email, MobileNumber};
use time::{Date, Weekday};

use super::PublicState;
use super::page::{self, Lang, esc, href, html, lang_field};
use crate::ServerError;
use crate::central::notify::SendFailure;
use crate::connections::PeerAddress;
use crate::store::{
    Attempt, AttemptKey, AttemptStore, AuditNote, NewVisitRequest, RequestConfirmation,
    RequestState, VisitRequestStore,
};
use crate::visit_requests::{
    CODE_SECONDS, CODE_TRIES, NoticeChannel, Place, Reason, RequestDetails, TimeOfDay, code_hash,
    code_message, new_code, new_id,
};

/// Working days offered as preferred days.
const DAYS_OFFERED: usize = 10;
/// Requests (each sends a code) from one address: five, then one an hour.
const FROM_ADDRESS: crate::store::BackOff = crate::store::BackOff {
    free: 5,
    first_wait: 3600,
    max_wait: 3600,
};
/// Codes sent to one phone or e-mail: three, then one an hour.
const TO_CONTACT: crate::store::BackOff = crate::store::BackOff {
    free: 3,
    first_wait: 3600,
    max_wait: 3600,
};
/// Working days within which staff answer a confirmed request (said on the page).
const ANSWER_WORKING_DAYS: usize = 2;

/// The longest value of each text field, in characters.
const LIMITS: [(&str, usize); 9] = [
    ("person", 120),
    ("phone", 30),
    ("asked_by", 120),
    ("settlement", 100),
    ("street", 120),
    ("house", 20),
    ("flat", 20),
    ("directions", 300),
    ("email", 254),
];

fn title(lang: Lang) -> &'static str {
    lang.t("Виклик адміністратора додому", "Ask for a home visit")
}

/// The submitted form as name–value pairs (checkboxes repeat a name).
#[derive(Default)]
struct Values(Vec<(String, String)>);

impl Values {
    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn has(&self, name: &str, value: &str) -> bool {
        self.0.iter().any(|(n, v)| n == name && v == value)
    }

    /// A radio group's value, or its default when none was sent (a new form).
    fn choice<'a>(&'a self, name: &str, default: &'a str) -> &'a str {
        match self.get(name) {
            "" => default,
            value => value,
        }
    }

    fn lang(&self, uri: &Uri) -> Lang {
        if self.get("lang") == "en" {
            Lang::En
        } else {
            page::lang_of(uri)
        }
    }
}

/// A field's value as kept: trimmed, control characters (but a note's line breaks) made spaces.
fn clean(value: &str, multiline: bool) -> String {
    value
        .trim()
        .chars()
        .map(|c| {
            if c.is_control() && !(multiline && c == '\n') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// One field's error: the field's id and the sentence shown beside it.
type FieldError = (&'static str, String);

fn today(state: &PublicState) -> Date {
    time::OffsetDateTime::from_unix_timestamp(state.now())
        .map(|t| t.date())
        .unwrap_or(Date::MIN)
}

/// The next working days after today (the centre's calendar: weekends, holidays).
fn offered_days(state: &PublicState) -> Vec<Date> {
    let mut days = Vec::with_capacity(DAYS_OFFERED);
    let mut day = today(state);
    for _ in 0..DAYS_OFFERED {
        day = state.calendar.next_working_day_after(day);
        days.push(day);
    }
    days
}

fn iso(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

fn day_label(lang: Lang, date: Date) -> String {
    let (uk, en) = match date.weekday() {
        Weekday::Monday => ("понеділок", "Monday"),
        Weekday::Tuesday => ("вівторок", "Tuesday"),
        Weekday::Wednesday => ("середа", "Wednesday"),
        Weekday::Thursday => ("четвер", "Thursday"),
        Weekday::Friday => ("п’ятниця", "Friday"),
        Weekday::Saturday => ("субота", "Saturday"),
        Weekday::Sunday => ("неділя", "Sunday"),
    };
    match lang {
        Lang::Uk => format!("{uk}, {:02}.{:02}", date.day(), u8::from(date.month())),
        Lang::En => format!("{en}, {}", iso(date)),
    }
}

fn validate(
    values: &Values,
    days: &[Date],
    catalog: Option<&Catalog>,
    lang: Lang,
) -> Result<RequestDetails, Vec<FieldError>> {
    let mut errors: Vec<FieldError> = Vec::new();
    macro_rules! fail {
        ($field:expr, $uk:expr, $en:expr $(,)?) => {
            errors.push(($field, lang.t($uk, $en).to_owned()))
        };
    }
    for (field, limit) in LIMITS {
        if values.get(field).chars().count() > limit {
            let message = match lang {
                Lang::Uk => format!("Занадто довго: не більше {limit} символів."),
                Lang::En => format!("Too long: at most {limit} characters."),
            };
            errors.push((field, message));
        }
    }
    let text = |name: &str| clean(values.get(name), name == "directions");

    let person = text("person");
    if person.split_whitespace().count() < 2 {
        fail!(
            "person",
            "Вкажіть прізвище та ім’я людини, до якої має прийти адміністратор.",
            "Give the surname and given name of the person to visit.",
        );
    }
    let phone = match MobileNumber::parse(values.get("phone")) {
        Ok(phone) => phone.as_str().to_owned(),
        Err(error) => {
            let message = match lang {
                Lang::Uk => format!(
                    "{}. Вкажіть номер у форматі +380XXXXXXXXX або 0XXXXXXXXX.",
                    error.message_uk()
                ),
                Lang::En => {
                    format!("The phone is {error}. Write it as +380XXXXXXXXX or 0XXXXXXXXX.")
                }
            };
            errors.push(("phone", message));
            String::new()
        }
    };
    let asked_by = match values.choice("asker", "self") {
        "self" => None,
        "relative" => {
            let name = text("asked_by");
            if name.is_empty() {
                fail!(
                    "asked_by",
                    "Вкажіть ваше ім’я: ви звертаєтеся за іншу людину.",
                    "Give your name: you are asking for someone else.",
                );
            }
            Some(name)
        }
        _ => {
            fail!(
                "asker",
                "Оберіть, хто звертається.",
                "Choose who is asking."
            );
            None
        }
    };
    for (field, uk, en) in [
        (
            "settlement",
            "Вкажіть населений пункт.",
            "Give the town or village.",
        ),
        ("street", "Вкажіть вулицю.", "Give the street."),
        ("house", "Вкажіть номер будинку.", "Give the house number."),
    ] {
        if text(field).is_empty() {
            fail!(field, uk, en);
        }
    }
    let place = Place::parse(values.choice("place", "home"));
    if place.is_none() {
        fail!(
            "place",
            "Оберіть, де перебуває людина.",
            "Choose where the person is."
        );
    }
    let service = match values.get("service") {
        "" => None,
        code => {
            let known = catalog.is_some_and(|c| {
                c.service(&fieldkit_domain::common::ServiceCode(code.to_owned()))
                    .is_some()
            });
            if !known {
                fail!(
                    "service",
                    "Такої послуги немає в переліку; оберіть зі списку або «Не знаю».",
                    "There is no such service; choose one from the list or «I do not know».",
                );
            }
            Some(code.to_owned())
        }
    };
    let mut reasons = Vec::new();
    for value in values.all("reason") {
        match Reason::parse(value) {
            Some(reason) if !reasons.contains(&reason) => reasons.push(reason),
            Some(_) => {}
            None => fail!(
                "reason",
                "Оберіть причину зі списку.",
                "Choose a reason from the list."
            ),
        }
    }
    if reasons.is_empty() {
        fail!(
            "reason",
            "Позначте хоча б одну причину, чому людина не може прийти до центру.",
            "Tick at least one reason why the person cannot come to the centre.",
        );
    }
    let offered: Vec<String> = days.iter().map(|d| iso(*d)).collect();
    let mut chosen_days = Vec::new();
    for value in values.all("day") {
        if !offered.iter().any(|d| d == value) {
            fail!(
                "day",
                "Оберіть дні зі списку (список оновився: перевірте його ще раз).",
                "Choose days from the list (it has changed: check it again).",
            );
            break;
        }
        if !chosen_days.iter().any(|d: &String| d == value) {
            chosen_days.push(value.to_owned());
        }
    }
    let time_of_day = TimeOfDay::parse(values.choice("time", "any"));
    if time_of_day.is_none() {
        fail!("time", "Оберіть час дня.", "Choose a time of day.");
    }
    let channel = match values.choice("notify", "sms") {
        "sms" => Some(NoticeChannel::Sms),
        "email" => match Email::parse(values.get("email")) {
            Ok(address) => Some(NoticeChannel::Email {
                address: address.as_str().to_owned(),
            }),
            Err(_) => {
                fail!(
                    "email",
                    "Вкажіть адресу електронної пошти, наприклад ім’я@ukr.net, або оберіть SMS.",
                    "Give an e-mail address, e.g. name@example.com, or choose SMS.",
                );
                None
            }
        },
        _ => {
            fail!(
                "notify",
                "Оберіть, як вас повідомити.",
                "Choose how to be told."
            );
            None
        }
    };
    if values.get("consent") != "yes" {
        fail!(
            "consent",
            "Без згоди на обробку персональних даних запит не можна прийняти.",
            "The request cannot be taken without consent to processing personal data.",
        );
    }
    match (place, time_of_day, channel) {
        (Some(place), Some(time_of_day), Some(channel)) if errors.is_empty() => {
            Ok(RequestDetails {
                person,
                phone,
                asked_by,
                settlement: text("settlement"),
                street: text("street"),
                house: text("house"),
                flat: text("flat"),
                directions: text("directions"),
                place,
                reasons,
                service,
                days: chosen_days,
                time_of_day,
                channel,
                lang: lang.code().to_owned(),
            })
        }
        _ => Err(errors),
    }
}

// ---------------------------------------------------------------------------------------------
// The form.

/// Renders fields with their errors.
struct FormHtml<'a> {
    lang: Lang,
    values: &'a Values,
    errors: &'a [FieldError],
    out: String,
}

impl FormHtml<'_> {
    fn error_of(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    /// The sentence beside a field, and the attributes that tie it to the field.
    fn error_html(&self, field: &str) -> (String, String) {
        match self.error_of(field) {
            Some(message) => (
                format!("<p class=\"error\" id=\"e-{field}\">{}</p>", esc(message)),
                format!(" aria-invalid=\"true\" aria-describedby=\"e-{field}\""),
            ),
            None => (String::new(), String::new()),
        }
    }

    fn text(
        &mut self,
        field: &'static str,
        label: (&str, &str),
        kind: &str,
        extra: &str,
        hint: Option<(&str, &str)>,
    ) {
        let lang = self.lang;
        let (error, _) = self.error_html(field);
        let limit = LIMITS
            .iter()
            .find(|(f, _)| *f == field)
            .map_or(100, |(_, l)| *l);
        let hint_html = hint.map_or_else(String::new, |(uk, en)| {
            format!(
                "<p class=\"hint\" id=\"h-{field}\">{}</p>",
                esc(lang.t(uk, en))
            )
        });
        // The field is described by its hint and its error, whichever it has.
        let mut described = Vec::new();
        if hint.is_some() {
            described.push(format!("h-{field}"));
        }
        if !error.is_empty() {
            described.push(format!("e-{field}"));
        }
        let mut aria = String::new();
        if !error.is_empty() {
            aria.push_str(" aria-invalid=\"true\"");
        }
        if !described.is_empty() {
            let _ = write!(aria, " aria-describedby=\"{}\"", described.join(" "));
        }
        let _ = write!(
            self.out,
            "<label for=\"f-{field}\">{}</label>{hint_html}{error}\
             <input id=\"f-{field}\" name=\"{field}\" type=\"{kind}\" maxlength=\"{limit}\" value=\"{}\"{extra}{aria}>",
            esc(lang.t(label.0, label.1)),
            esc(self.values.get(field)),
        );
    }

    /// A group of radio buttons or checkboxes in a fieldset.
    fn group(
        &mut self,
        field: &'static str,
        legend: (&str, &str),
        kind: &str,
        options: &[(String, String)],
        checked: &dyn Fn(&str) -> bool,
    ) {
        let lang = self.lang;
        let (error, _) = self.error_html(field);
        // A group (fieldset) takes no aria-invalid; the sentence is tied to it as its description.
        let aria = if error.is_empty() {
            String::new()
        } else {
            format!(" aria-describedby=\"e-{field}\"")
        };
        let _ = write!(
            self.out,
            "<fieldset id=\"f-{field}\"{aria}><legend>{}</legend>{error}",
            esc(lang.t(legend.0, legend.1))
        );
        for (i, (value, label)) in options.iter().enumerate() {
            let _ = write!(
                self.out,
                // The box inside its label: on one line with its words (labels are blocks).
                "<div class=\"choice\"><label for=\"f-{field}-{i}\"><input type=\"{kind}\" id=\"f-{field}-{i}\" name=\"{field}\" value=\"{}\"{}> {}</label></div>",
                esc(value),
                if checked(value) { " checked" } else { "" },
                esc(label)
            );
        }
        self.out.push_str("</fieldset>");
    }
}

/// The form page's body: the errors summed up first (each a link to its field), then the form.
fn form_body(
    state: &PublicState,
    lang: Lang,
    values: &Values,
    errors: &[FieldError],
    notice: Option<&str>,
) -> Result<String, ServerError> {
    let catalog = state.catalog()?;
    let days = offered_days(state);
    let mut out = String::new();
    let _ = write!(
        out,
        "<p>{}</p>",
        lang.t(
            "Якщо людина не може прийти до центру через вік, інвалідність чи хворобу або перебуває в лікарні чи закладі догляду, адміністратор центру прийде до неї з планшетом. Запит може надіслати сама людина або її рідні.",
            "If a person cannot come to the centre because of age, disability or illness, or is in hospital or a care facility, an administrator of the centre comes to them with a tablet. The person or their family may ask."
        )
    );
    if let Some(notice) = notice {
        let _ = write!(
            out,
            "<div class=\"error\" role=\"alert\"><p>{}</p></div>",
            esc(notice)
        );
    }
    if !errors.is_empty() {
        let _ = write!(
            out,
            "<div class=\"error\" role=\"alert\"><h2>{}</h2><ul>",
            lang.t("Перевірте форму", "Please check the form")
        );
        for (field, message) in errors {
            let _ = write!(out, "<li><a href=\"#f-{field}\">{}</a></li>", esc(message));
        }
        out.push_str("</ul></div>");
    }
    let mut form = FormHtml {
        lang,
        values,
        errors,
        out: String::new(),
    };
    let _ = write!(
        form.out,
        "<form method=\"post\" action=\"{}\">{}",
        esc(&href(lang, "/visit")),
        lang_field(lang)
    );

    let _ = write!(
        form.out,
        "<h2>{}</h2>",
        lang.t("До кого прийти", "Whom to visit")
    );
    form.text(
        "person",
        (
            "Прізвище, ім’я та по батькові",
            "Surname, given name and patronymic",
        ),
        "text",
        " required autocomplete=\"name\"",
        None,
    );
    form.text(
        "phone",
        ("Телефон для зв’язку", "Phone to call"),
        "tel",
        " required autocomplete=\"tel\" inputmode=\"tel\"",
        Some((
            "Мобільний номер: +380XXXXXXXXX або 0XXXXXXXXX. За ним адміністратор зателефонує перед виїздом.",
            "A mobile number: +380XXXXXXXXX or 0XXXXXXXXX. The administrator calls it before the visit.",
        )),
    );
    let asker = values.choice("asker", "self").to_owned();
    form.group(
        "asker",
        ("Хто звертається", "Who is asking"),
        "radio",
        &[
            (
                "self".into(),
                lang.t("Сама людина", "The person themself").into(),
            ),
            (
                "relative".into(),
                lang.t("Родич, опікун чи доглядальник", "A relative or carer")
                    .into(),
            ),
        ],
        &|v| v == asker,
    );
    form.text(
        "asked_by",
        (
            "Ваше ім’я (якщо звертаєтеся за іншу людину)",
            "Your name (if you ask for someone else)",
        ),
        "text",
        "",
        None,
    );

    let _ = write!(form.out, "<h2>{}</h2>", lang.t("Адреса", "Address"));
    let place = values.choice("place", "home").to_owned();
    let places: Vec<(String, String)> = Place::ALL
        .iter()
        .map(|p| {
            let (uk, en) = match p {
                Place::Home => ("Вдома", "At home"),
                Place::Hospital => ("У лікарні", "In hospital"),
                Place::CareFacility => ("У закладі догляду", "In a care facility"),
            };
            (p.name().to_owned(), lang.t(uk, en).to_owned())
        })
        .collect();
    form.group(
        "place",
        ("Де перебуває людина", "Where the person is"),
        "radio",
        &places,
        &|v| v == place,
    );
    form.text(
        "settlement",
        ("Населений пункт", "Town or village"),
        "text",
        " required autocomplete=\"address-level2\"",
        None,
    );
    form.text("street", ("Вулиця", "Street"), "text", " required", None);
    form.text("house", ("Будинок", "House"), "text", " required", None);
    form.text(
        "flat",
        ("Квартира чи палата (якщо є)", "Flat or ward (if any)"),
        "text",
        "",
        None,
    );
    {
        let (error, aria) = form.error_html("directions");
        let _ = write!(
            form.out,
            "<label for=\"f-directions\">{}</label><p class=\"hint\" id=\"h-directions\">{}</p>{error}\
             <textarea id=\"f-directions\" name=\"directions\" rows=\"3\" maxlength=\"300\"{}>{}</textarea>",
            lang.t("Як знайти (необов’язково)", "How to find it (optional)"),
            lang.t(
                "Під’їзд, поверх, код домофону, орієнтир.",
                "Entrance, floor, door code, a landmark."
            ),
            if aria.is_empty() {
                " aria-describedby=\"h-directions\"".to_owned()
            } else {
                aria
            },
            esc(values.get("directions")),
        );
    }

    let _ = write!(form.out, "<h2>{}</h2>", lang.t("Послуга", "Service"));
    {
        let (error, aria) = form.error_html("service");
        let chosen = values.get("service");
        let _ = write!(
            form.out,
            "<label for=\"f-service\">{}</label>{error}<select id=\"f-service\" name=\"service\"{aria}>\
             <option value=\"\">{}</option>",
            lang.t("Яка послуга потрібна", "Which service is needed"),
            lang.t("Не знаю — порадьте", "I do not know — please advise"),
        );
        if let Some(catalog) = catalog.as_deref() {
            let mut services: Vec<(&str, &str)> = catalog
                .services
                .iter()
                .map(|s| {
                    let name = match (lang, &s.title_en) {
                        (Lang::En, Some(en)) => en.as_str(),
                        _ => s.title.as_str(),
                    };
                    (s.code.0.as_str(), name)
                })
                .collect();
            services.sort_by(|a, b| a.1.cmp(b.1));
            for (code, name) in services {
                let _ = write!(
                    form.out,
                    "<option value=\"{}\"{}>{}</option>",
                    esc(code),
                    if code == chosen { " selected" } else { "" },
                    esc(name)
                );
            }
        }
        form.out.push_str("</select>");
    }

    let reasons: Vec<(String, String)> = Reason::ALL
        .iter()
        .map(|r| {
            let (uk, en) = match r {
                Reason::Age => ("Похилий вік", "Old age"),
                Reason::Disability => ("Інвалідність", "Disability"),
                Reason::Illness => ("Хвороба", "Illness"),
                Reason::CareFacility => (
                    "Перебуває в лікарні чи закладі догляду",
                    "In hospital or a care facility",
                ),
            };
            (r.name().to_owned(), lang.t(uk, en).to_owned())
        })
        .collect();
    form.group(
        "reason",
        (
            "Чому людина не може прийти до центру (позначте все, що підходить)",
            "Why the person cannot come to the centre (tick all that apply)",
        ),
        "checkbox",
        &reasons,
        &|v| values.has("reason", v),
    );

    let _ = write!(
        form.out,
        "<h2>{}</h2>",
        lang.t("Коли зручно", "When it suits")
    );
    let day_options: Vec<(String, String)> = days
        .iter()
        .map(|d| (iso(*d), day_label(lang, *d)))
        .collect();
    form.group(
        "day",
        (
            "Бажані дні (можна кілька; якщо підходить будь-який — не позначайте)",
            "Preferred days (several if you like; leave empty if any day suits)",
        ),
        "checkbox",
        &day_options,
        &|v| values.has("day", v),
    );
    let time = values.choice("time", "any").to_owned();
    let times: Vec<(String, String)> = TimeOfDay::ALL
        .iter()
        .map(|t| {
            let (uk, en) = t.words();
            (t.name().to_owned(), lang.t(uk, en).to_owned())
        })
        .collect();
    form.group(
        "time",
        ("Час дня", "Time of day"),
        "radio",
        &times,
        &|v| v == time,
    );

    let _ = write!(
        form.out,
        "<h2>{}</h2>",
        lang.t("Як повідомити про виїзд", "How to tell you")
    );
    let notify = values.choice("notify", "sms").to_owned();
    form.group(
        "notify",
        (
            "Код підтвердження й дату виїзду надішлемо",
            "We send the confirmation code and the visit's date",
        ),
        "radio",
        &[
            (
                "sms".into(),
                lang.t("SMS на телефон, указаний вище", "By SMS to the phone above")
                    .into(),
            ),
            (
                "email".into(),
                lang.t("Електронною поштою", "By e-mail").into(),
            ),
        ],
        &|v| v == notify,
    );
    form.text(
        "email",
        (
            "Електронна пошта (якщо обрали пошту)",
            "E-mail address (if you chose e-mail)",
        ),
        "email",
        " autocomplete=\"email\"",
        None,
    );

    {
        let (error, aria) = form.error_html("consent");
        let _ = write!(
            form.out,
            "<h2>{}</h2>{error}<div class=\"choice\"><label for=\"f-consent\"><input type=\"checkbox\" id=\"f-consent\" name=\"consent\" value=\"yes\" required{}{aria}> {}</label></div>",
            lang.t("Згода", "Consent"),
            if values.get("consent") == "yes" { " checked" } else { "" },
            lang.t(
                "Я погоджуюся, щоб центр обробляв ці персональні дані, аби організувати виїзд (Закон України «Про захист персональних даних»).",
                "I agree that the centre processes these personal data to arrange the visit (the Law of Ukraine on personal data protection)."
            ),
        );
    }
    let _ = write!(
        form.out,
        "<button type=\"submit\">{}</button></form>",
        lang.t("Надіслати запит", "Send the request")
    );
    out.push_str(&form.out);
    Ok(out)
}

/// The form page with `status`.
fn form_page(
    state: &PublicState,
    lang: Lang,
    status: StatusCode,
    values: &Values,
    errors: &[FieldError],
    notice: Option<&str>,
) -> Response {
    match form_body(state, lang, values, errors, notice) {
        Ok(body) => html(status, state.page(lang, title(lang), "/visit", &body)),
        Err(error) => state.failure(lang, &error),
    }
}

/// `GET /visit`
pub async fn show_form(State(state): State<Arc<PublicState>>, uri: Uri) -> Response {
    let lang = page::lang_of(&uri);
    form_page(&state, lang, StatusCode::OK, &Values::default(), &[], None)
}

/// A page with one message and a link back to the form.
fn message_page(
    state: &PublicState,
    lang: Lang,
    status: StatusCode,
    title: &str,
    text: &str,
) -> Response {
    let body = format!(
        "<p>{}</p><p><a href=\"{}\">{}</a></p>",
        esc(text),
        esc(&href(lang, "/visit")),
        lang.t("До форми запиту", "To the request form"),
    );
    html(status, state.page(lang, title, "/visit", &body))
}

/// A form the server cannot read: too large (413), or not a form (400).
fn unreadable(state: &PublicState, lang: Lang, rejection: &FormRejection) -> Response {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        message_page(
            state,
            lang,
            StatusCode::PAYLOAD_TOO_LARGE,
            lang.t("Форма завелика", "The form is too large"),
            lang.t(
                "Надіслана форма більша, ніж може бути. Заповніть її ще раз коротше.",
                "The form sent is larger than it can be. Please fill it in again, shorter.",
            ),
        )
    } else {
        message_page(
            state,
            lang,
            StatusCode::BAD_REQUEST,
            lang.t("Форму не прочитано", "The form could not be read"),
            lang.t(
                "Форму не вдалося прочитати. Відкрийте її ще раз і заповніть.",
                "The form could not be read. Please open it again and fill it in.",
            ),
        )
    }
}

fn too_many(state: &PublicState, lang: Lang, seconds: i64, text: (&str, &str)) -> Response {
    let minutes = (seconds + 59) / 60;
    let wait = match lang {
        Lang::Uk => format!("{} Спробуйте через {minutes} хв.", text.0),
        Lang::En => format!("{} Please try again in {minutes} min.", text.1),
    };
    let mut response = message_page(
        state,
        lang,
        StatusCode::TOO_MANY_REQUESTS,
        lang.t("Забагато запитів", "Too many requests"),
        &wait,
    );
    if let Ok(value) = HeaderValue::from_str(&seconds.max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// `POST /visit`: check the form; store the request sealed and send its code; show the code's
/// page.
pub async fn submit(
    State(state): State<Arc<PublicState>>,
    uri: Uri,
    peer: Option<Extension<PeerAddress>>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let values = match form {
        Ok(Form(pairs)) => Values(pairs),
        Err(rejection) => return unreadable(&state, page::lang_of(&uri), &rejection),
    };
    let lang = values.lang(&uri);
    match accept(&state, lang, &values, peer.map(|Extension(p)| p)).await {
        Ok(response) => response,
        Err(error) => state.failure(lang, &error),
    }
}

async fn accept(
    state: &PublicState,
    lang: Lang,
    values: &Values,
    peer: Option<PeerAddress>,
) -> Result<Response, ServerError> {
    let catalog = state.catalog()?;
    let details = match validate(values, &offered_days(state), catalog.as_deref(), lang) {
        Ok(details) => details,
        Err(errors) => {
            return Ok(form_page(
                state,
                lang,
                StatusCode::UNPROCESSABLE_ENTITY,
                values,
                &errors,
                None,
            ));
        }
    };
    // Counted only for forms that would send a code: a mistyped form costs nothing.
    let now = state.now();
    let address = peer.map_or_else(|| "unknown".to_owned(), |p| p.limited_as().to_string());
    if let Attempt::Locked { seconds } = state.meta.begin_attempt(
        &AttemptKey::visit_request_from(&address),
        &FROM_ADDRESS,
        now,
    )? {
        return Ok(too_many(
            state,
            lang,
            seconds,
            (
                "З вашої адреси вже надіслано кілька запитів.",
                "Several requests have already come from your address.",
            ),
        ));
    }
    let (channel, to) = details.contact();
    let contact_key = state
        .personal
        .keyed_hash("visit-request-contact", to.as_bytes());
    if let Attempt::Locked { seconds } = state.meta.begin_attempt(
        &AttemptKey::visit_request_to(&contact_key),
        &TO_CONTACT,
        now,
    )? {
        return Ok(too_many(
            state,
            lang,
            seconds,
            (
                "На цей телефон чи адресу вже надіслано кілька кодів.",
                "Several codes have already been sent to this phone or address.",
            ),
        ));
    }
    let id = new_id()?;
    let code = new_code()?;
    state.meta.add_visit_request(&NewVisitRequest {
        id: id.clone(),
        created_at: now,
        service_code: details.service.clone(),
        channel: details.channel.kind(),
        sealed: details.seal(&state.personal, &id)?,
        code_sha256: code_hash(&id, &code),
        code_expires_at: now + CODE_SECONDS,
    })?;
    let to = to.to_owned();
    if let Err(SendFailure { reason, retry }) = state
        .central
        .send_now(channel, &to, code_message(&code))
        .await
    {
        // Nothing is kept of a request whose code did not go out.
        state.meta.drop_unconfirmed_visit_request(&id)?;
        tracing::warn!(%reason, retry, "a visit request's confirmation code was not sent");
        let notice = if retry {
            lang.t(
                "Зараз не вдалося надіслати код підтвердження. Спробуйте ще раз за кілька хвилин.",
                "The confirmation code could not be sent just now. Please try again in a few minutes.",
            )
        } else {
            lang.t(
                "Код підтвердження не вдалося надіслати. Перевірте номер телефону чи адресу пошти або оберіть інший спосіб.",
                "The confirmation code could not be sent. Check the phone number or e-mail address, or choose the other way.",
            )
        };
        let status = if retry {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        return Ok(form_page(state, lang, status, values, &[], Some(notice)));
    }
    Ok(Redirect::to(&href(lang, &format!("/visit/{id}"))).into_response())
}

// ---------------------------------------------------------------------------------------------
// The code.

/// A request id as the form makes them (32 hex digits); anything else is not looked up.
fn plausible_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

fn unknown_request(state: &PublicState, lang: Lang, status: StatusCode) -> Response {
    message_page(
        state,
        lang,
        status,
        lang.t("Запит не знайдено", "Request not found"),
        lang.t(
            "Такого запиту немає: можливо, минуло більше доби, код застарів або його введено неправильно забагато разів. Заповніть форму ще раз.",
            "There is no such request: perhaps more than a day has passed, the code expired or was mistyped too many times. Please fill in the form again.",
        ),
    )
}

fn code_form(
    state: &PublicState,
    lang: Lang,
    status: StatusCode,
    id: &str,
    channel: crate::store::ChannelKind,
    error: Option<&str>,
) -> Response {
    let sent_to = match channel {
        crate::store::ChannelKind::Sms => lang.t(
            "Ми надіслали SMS із кодом на телефон, указаний у запиті.",
            "We sent an SMS with a code to the phone given in the request.",
        ),
        crate::store::ChannelKind::Email => lang.t(
            "Ми надіслали лист із кодом на адресу, указану в запиті.",
            "We sent an e-mail with a code to the address given in the request.",
        ),
    };
    let (error_html, aria) = match error {
        Some(message) => (
            format!("<p class=\"error\" id=\"e-code\">{}</p>", esc(message)),
            " aria-invalid=\"true\" aria-describedby=\"e-code\"",
        ),
        None => (String::new(), ""),
    };
    let body = format!(
        "<p class=\"ok\" role=\"status\">{sent_to}</p>\
         <p>{}</p>\
         <form method=\"post\" action=\"{}\">{}\
         <label for=\"f-code\">{}</label>{error_html}\
         <input id=\"f-code\" name=\"code\" type=\"text\" inputmode=\"numeric\" autocomplete=\"one-time-code\" maxlength=\"12\" required{aria}>\
         <button type=\"submit\">{}</button></form>\
         <p class=\"hint\">{}</p>",
        lang.t(
            "Запит буде прийнято, коли ви введете код тут.",
            "The request counts once you type the code here."
        ),
        esc(&href(lang, &format!("/visit/{id}"))),
        lang_field(lang),
        lang.t("Код із 6 цифр", "The 6-digit code"),
        lang.t("Підтвердити запит", "Confirm the request"),
        lang.t(
            "Код діє 30 хвилин; можна помилитися не більше 4 разів. Якщо код не прийшов, заповніть форму ще раз.",
            "The code is valid for 30 minutes; at most 4 mistakes are allowed. If it did not come, fill in the form again."
        ),
    );
    html(
        status,
        state.page(
            lang,
            lang.t("Підтвердіть запит", "Confirm the request"),
            &format!("/visit/{id}"),
            &body,
        ),
    )
}

/// The page once a request is confirmed: what happens next and the centre's contacts.
fn accepted(state: &PublicState, lang: Lang, id: &str) -> Response {
    let mut answer_by = today(state);
    for _ in 0..ANSWER_WORKING_DAYS {
        answer_by = state.calendar.next_working_day_after(answer_by);
    }
    let by = match lang {
        Lang::Uk => format!(
            "{:02}.{:02}.{}",
            answer_by.day(),
            u8::from(answer_by.month()),
            answer_by.year()
        ),
        Lang::En => iso(answer_by),
    };
    // The centre's phone in the sentence that asks to call; its name, address and hours are
    // in every page's footer.
    let phone = state
        .catalog()
        .ok()
        .flatten()
        .and_then(|catalog| catalog.centre.office.phone.clone())
        .map(|phone| format!(" ({})", esc(&phone)))
        .unwrap_or_default();
    let body = format!(
        "<p class=\"ok\" role=\"status\">{}</p><h2>{}</h2><ol>\
         <li>{}</li><li>{}</li><li>{}{phone}.</li></ol>",
        lang.t("Запит прийнято.", "The request is accepted."),
        lang.t("Що далі", "What happens next"),
        match lang {
            Lang::Uk => format!(
                "Працівник центру розгляне запит протягом {ANSWER_WORKING_DAYS} робочих днів, до {by}."
            ),
            Lang::En => format!(
                "Staff of the centre look at the request within {ANSWER_WORKING_DAYS} working days, by {by}."
            ),
        },
        lang.t(
            "Дату й час виїзду (або причину, якщо виїзд неможливий) ми повідомимо так, як ви обрали: SMS або листом. Перед виїздом адміністратор зателефонує.",
            "We tell you the date and time of the visit (or why a visit is not possible) the way you chose: by SMS or e-mail. The administrator calls before coming."
        ),
        lang.t(
            "Підготуйте паспорт або ID-картку, РНОКПП і документи для послуги. Якщо щось зміниться, зателефонуйте до центру",
            "Have the passport or ID card, the tax number and the service's documents ready. If anything changes, call the centre"
        ),
    );
    html(
        StatusCode::OK,
        state.page(
            lang,
            lang.t("Запит прийнято", "Request accepted"),
            &format!("/visit/{id}"),
            &body,
        ),
    )
}

/// `GET /visit/{id}`: the code's form, or the accepted page once confirmed.
pub async fn show_code(
    State(state): State<Arc<PublicState>>,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    let lang = page::lang_of(&uri);
    if !plausible_id(&id) {
        return unknown_request(&state, lang, StatusCode::NOT_FOUND);
    }
    match state.meta.visit_request(&id) {
        Ok(None) => unknown_request(&state, lang, StatusCode::NOT_FOUND),
        Ok(Some(request)) if request.state == RequestState::Unconfirmed => {
            code_form(&state, lang, StatusCode::OK, &id, request.channel, None)
        }
        Ok(Some(_)) => accepted(&state, lang, &id),
        Err(error) => state.failure(lang, &error),
    }
}

/// `POST /visit/{id}`: the code typed back.
pub async fn confirm(
    State(state): State<Arc<PublicState>>,
    Path(id): Path<String>,
    uri: Uri,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let values = match form {
        Ok(Form(pairs)) => Values(pairs),
        Err(rejection) => return unreadable(&state, page::lang_of(&uri), &rejection),
    };
    let lang = values.lang(&uri);
    if !plausible_id(&id) {
        return unknown_request(&state, lang, StatusCode::NOT_FOUND);
    }
    match check_code(&state, lang, &id, &values) {
        Ok(response) => response,
        Err(error) => state.failure(lang, &error),
    }
}

fn check_code(
    state: &PublicState,
    lang: Lang,
    id: &str,
    values: &Values,
) -> Result<Response, ServerError> {
    let Some(request) = state.meta.visit_request(id)? else {
        return Ok(unknown_request(state, lang, StatusCode::NOT_FOUND));
    };
    let code: String = values
        .get("code")
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if request.state == RequestState::Unconfirmed
        && (code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()))
    {
        // Not a guess at all: not counted.
        return Ok(code_form(
            state,
            lang,
            StatusCode::UNPROCESSABLE_ENTITY,
            id,
            request.channel,
            Some(lang.t(
                "Код — це 6 цифр із повідомлення.",
                "The code is the 6 digits from the message.",
            )),
        ));
    }
    let audit = AuditNote {
        actor: "public-form".to_owned(),
        action: "visit_request.confirmed",
        detail: format!(
            "channel={} service={}",
            request.channel.name(),
            request.service_code.as_deref().unwrap_or("-")
        ),
    };
    let answer = state.meta.confirm_visit_request(
        id,
        &code_hash(id, &code),
        CODE_TRIES,
        &audit,
        state.now(),
    )?;
    Ok(match answer {
        RequestConfirmation::Confirmed | RequestConfirmation::AlreadyConfirmed => accepted(state, lang, id),
        RequestConfirmation::Wrong { tries_left } => {
            let message = match lang {
                Lang::Uk => format!("Код неправильний. Залишилося спроб: {tries_left}."),
                Lang::En => format!("The code is wrong. Tries left: {tries_left}."),
            };
            code_form(
                state,
                lang,
                StatusCode::UNPROCESSABLE_ENTITY,
                id,
                request.channel,
                Some(&message),
            )
        }
        RequestConfirmation::Expired => message_page(
            state,
            lang,
            StatusCode::GONE,
            lang.t("Код застарів", "The code has expired"),
            lang.t(
                "Код діяв 30 хвилин, і цей час минув. Запит скасовано; заповніть форму ще раз.",
                "The code was valid for 30 minutes, and they have passed. The request is cancelled; please fill in the form again.",
            ),
        ),
        RequestConfirmation::Dropped => message_page(
            state,
            lang,
            StatusCode::GONE,
            lang.t("Запит скасовано", "Request cancelled"),
            lang.t(
                "Код введено неправильно забагато разів. Запит скасовано; заповніть форму ще раз.",
                "The code was mistyped too many times. The request is cancelled; please fill in the form again.",
            ),
        ),
        RequestConfirmation::Unknown => unknown_request(state, lang, StatusCode::NOT_FOUND),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> Values {
        Values(
            pairs
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    fn good() -> Vec<(&'static str, &'static str)> {
        vec![
            ("person", "Шевченко Марія Іванівна"),
            ("phone", "067 123 45 67"),
            ("asker", "relative"),
            ("asked_by", "Шевченко Олег"),
            ("place", "home"),
            ("settlement", "м. Львів"),
            ("street", "вул. Зелена"),
            ("house", "12"),
            ("flat", "3"),
            ("reason", "age"),
            ("reason", "illness"),
            ("day", "2026-11-25"),
            ("time", "morning"),
            ("notify", "sms"),
            ("consent", "yes"),
        ]
    }

    fn days() -> Vec<Date> {
        vec![time::macros::date!(2026 - 11 - 25)]
    }

    #[test]
    fn a_good_form_is_taken_with_the_phone_normalised() {
        let details = validate(&values(&good()), &days(), None, Lang::Uk).unwrap();
        assert_eq!(details.phone, "+380671234567");
        assert_eq!(details.reasons, [Reason::Age, Reason::Illness]);
        assert_eq!(details.asked_by.as_deref(), Some("Шевченко Олег"));
        assert_eq!(details.days, ["2026-11-25"]);
    }

    #[test]
    fn each_mistake_is_named_beside_its_field() {
        let mut form = good();
        form.retain(|(n, _)| !["consent", "reason", "asked_by"].contains(n));
        form.push(("day", "2020-01-01"));
        form.push(("notify", "email"));
        form.retain(|(n, v)| !(*n == "notify" && *v == "sms"));
        for (n, v) in form.iter_mut() {
            if *n == "phone" {
                *v = "12345";
            }
        }
        let errors = validate(&values(&form), &days(), None, Lang::Uk).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            fields,
            ["phone", "asked_by", "reason", "day", "email", "consent"],
            "{errors:?}"
        );
    }

    #[test]
    fn an_unknown_service_and_an_overlong_name_are_refused() {
        let mut form = good();
        form.push(("service", "99999"));
        let long = "Ш".repeat(121);
        form.retain(|(n, _)| *n != "person");
        let mut pairs = values(&form);
        pairs.0.push(("person".into(), format!("{long} Марія")));
        let errors = validate(&pairs, &days(), None, Lang::En).unwrap_err();
        assert!(
            errors
                .iter()
                .any(|(f, m)| *f == "person" && m.contains("120"))
        );
        assert!(errors.iter().any(|(f, _)| *f == "service"));
    }
}
