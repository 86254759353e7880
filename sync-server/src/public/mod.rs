//! The applicant's side of the server: a listener of its own (`[public]` in the config, off
//! unless configured) with its own certificate from a CA browsers trust and no client
//! certificates. Server-rendered pages, no JavaScript, Ukrainian first: follow a case from the
//! receipt's tracking code, read the published catalog, ask for a home visit.
//!
//! Nothing here reads a sealed case or shows personal data: the tracking page knows a case only
//! by what the tracking store keeps (number, service, centre, dates, status events).

pub mod form;
pub mod kyiv;
pub mod notices;
pub mod page;
pub mod services;
pub mod track;
pub mod visit_request;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use fieldkit_domain::calendar::WorkCalendar;
use fieldkit_domain::catalog::{Catalog, Contact, Office};
use serde::Deserialize;

use crate::ServerError;
use crate::central::CentralState;
use crate::personal_data::PersonalDataKey;
use crate::store::{MetadataStore, SqliteMetadata};
use page::{Frame, Lang, esc, href, html};

/// `[public]` in the server's TOML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicConfig {
    /// Address and port, e.g. "0.0.0.0:443".
    pub listen: String,
    /// The address applicants open, e.g. "https://track.cnap.example.ua": receipts' QR codes
    /// point under it (the tablets learn it at each sync).
    pub url: String,
    /// The certificate chain (PEM) browsers check, e.g. from the centre's ACME client.
    pub certificate_file: PathBuf,
    /// Its private key (PEM).
    pub key_file: PathBuf,
}

/// What the public pages share.
pub struct PublicState {
    pub meta: Arc<SqliteMetadata>,
    /// For confirmation codes and notices (the `[central.notify]` channels).
    pub central: Arc<CentralState>,
    /// Contacts and requests are kept encrypted under this key.
    pub personal: Arc<PersonalDataKey>,
    pub calendar: WorkCalendar,
    pub clock: fn() -> i64,
    /// The public base address (see [`PublicConfig::url`]).
    pub url: String,
    catalog: Mutex<Option<(u64, Arc<Catalog>)>>,
}

impl PublicState {
    pub fn new(
        meta: Arc<SqliteMetadata>,
        central: Arc<CentralState>,
        personal: Arc<PersonalDataKey>,
        clock: fn() -> i64,
        url: String,
    ) -> Result<Self, ServerError> {
        Ok(Self {
            meta,
            central,
            personal,
            calendar: crate::office::calendar()?,
            clock,
            url,
            catalog: Mutex::new(None),
        })
    }

    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    /// The catalog published now (parsed once per version: a newly published one shows at
    /// the next request); `None` before the first.
    pub fn catalog(&self) -> Result<Option<Arc<Catalog>>, ServerError> {
        let mut cached = self
            .catalog
            .lock()
            .map_err(|_| ServerError::Storage("catalog cache lock poisoned".into()))?;
        let since = cached.as_ref().map_or(0, |(version, _)| *version);
        if let Some((version, text)) = self.meta.catalog_since(since)? {
            let catalog = Catalog::from_toml_str(&text)
                .map_err(|e| ServerError::Storage(format!("published catalog: {e}")))?;
            *cached = Some((version, Arc::new(catalog)));
        }
        Ok(cached.as_ref().map(|(_, catalog)| catalog.clone()))
    }

    /// The centre's name, address, hours and contacts for a page's footer.
    pub fn footer(&self, lang: Lang) -> Option<String> {
        let catalog = self.catalog().ok().flatten()?;
        Some(office_html(lang, &catalog.centre.office))
    }

    /// A whole page in the public frame.
    pub fn page(&self, lang: Lang, title: &str, path: &str, body: &str) -> String {
        page::page(
            &Frame {
                lang,
                title,
                path,
                footer: self.footer(lang),
            },
            body,
        )
    }

    /// The page a request gets when the server failed: no detail (it is in the log).
    pub fn failure(&self, lang: Lang, error: &ServerError) -> Response {
        tracing::error!(%error, "a public page failed");
        html(
            StatusCode::INTERNAL_SERVER_ERROR,
            page::page(
                &Frame {
                    lang,
                    title: lang.t("Сталася помилка", "Something went wrong"),
                    path: "/",
                    footer: None,
                },
                &format!(
                    "<p>{}</p>",
                    lang.t(
                        "Сторінку зараз не вдалося показати. Спробуйте ще раз за кілька хвилин.",
                        "The page could not be shown just now. Please try again in a few minutes."
                    )
                ),
            ),
        )
    }
}

/// An office's name, then its contacts and hours, as a definition list.
pub fn office_html(lang: Lang, office: &Office) -> String {
    let (uk, en) = office.names();
    let name = match (lang, office.name_en.is_some()) {
        (Lang::En, true) => esc(en),
        _ => page::uk_only(lang, uk),
    };
    format!(
        "<dl><dt>{}</dt><dd>{name}</dd>{}</dl>",
        lang.t("Центр", "Centre"),
        contact_items(lang, office)
    )
}

/// An office's address, phone, e-mail, website and hours (the domain's labels, only what the
/// catalog has) as a definition list; a phone, an e-mail and a website are links a phone opens.
pub fn contacts_html(lang: Lang, office: &Office) -> String {
    format!("<dl>{}</dl>", contact_items(lang, office))
}

fn contact_items(lang: Lang, office: &Office) -> String {
    let mut out = String::new();
    for (kind, value) in office.contacts() {
        let shown = match kind {
            Contact::Phone => {
                let dial: String = value
                    .chars()
                    .filter(|c| c.is_ascii_digit() || *c == '+')
                    .collect();
                format!("<a href=\"tel:{}\">{}</a>", esc(&dial), esc(value))
            }
            Contact::Email if !value.contains(char::is_whitespace) => {
                format!("<a href=\"mailto:{0}\">{0}</a>", esc(value))
            }
            Contact::Website if value.starts_with("https://") || value.starts_with("http://") => {
                format!("<a href=\"{0}\">{0}</a>", esc(value))
            }
            _ => page::uk_only(lang, value),
        };
        let (label_uk, label_en) = kind.label();
        out.push_str(&format!(
            "<dt>{}</dt><dd class=\"wrap\">{shown}</dd>",
            lang.t(label_uk, label_en)
        ));
    }
    out
}

async fn home(State(state): State<Arc<PublicState>>, uri: Uri) -> Response {
    let lang = page::lang_of(&uri);
    let body = format!(
        "<p>{}</p>\
         <h2>{}</h2><p>{}</p><p><a href=\"{}\">{}</a></p>\
         <h2>{}</h2><p>{}</p><p><a href=\"{}\">{}</a></p>\
         <h2>{}</h2><p>{}</p><p><a href=\"{}\">{}</a></p>",
        lang.t(
            "Адміністратори центру приходять до тих, хто не може прийти сам: додому, до лікарні, до закладу догляду.",
            "The centre's administrators visit people who cannot come themselves: at home, in hospital, in a care home."
        ),
        lang.t("Стан справи", "Track a case"),
        lang.t(
            "Код відстеження надруковано на розписці, яку вам залишив адміністратор.",
            "The tracking code is printed on the receipt the administrator left with you."
        ),
        href(lang, "/t"),
        lang.t("Дізнатися стан справи", "Find out how the case stands"),
        lang.t("Послуги", "Services"),
        lang.t(
            "Які документи потрібні, скільки коштує, скільки чекати.",
            "Which documents are needed, what it costs, how long it takes."
        ),
        href(lang, "/services"),
        lang.t("Переглянути послуги", "See the services"),
        lang.t("Виклик адміністратора додому", "Ask for a home visit"),
        lang.t(
            "Для людей, які через вік, хворобу чи інвалідність не можуть прийти до центру, або для їхніх рідних.",
            "For people who cannot come to the centre because of age, illness or disability, or for their relatives."
        ),
        href(lang, "/visit"),
        lang.t("Попросити про виїзд", "Ask for a visit"),
    );
    let title = lang.t("Послуги ЦНАП удома", "Centre services at home");
    html(StatusCode::OK, state.page(lang, title, "/", &body))
}

/// The same page for any address nothing serves.
pub async fn not_found(State(state): State<Arc<PublicState>>, uri: Uri) -> Response {
    let lang = page::lang_of(&uri);
    let title = lang.t("Сторінку не знайдено", "Page not found");
    let body = format!(
        "<p>{}</p><p><a href=\"{}\">{}</a></p>",
        lang.t(
            "Такої сторінки немає. Перевірте адресу або почніть з головної сторінки.",
            "There is no such page. Check the address or start from the home page."
        ),
        href(lang, "/"),
        lang.t("На головну", "Home page"),
    );
    html(StatusCode::NOT_FOUND, state.page(lang, title, "/", &body))
}

/// The public pages, with the back-office's security headers (no scripts, no framing, no
/// Referer: a tracking code is in the address).
pub fn router(state: Arc<PublicState>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/healthz", get(|| async { "ok" }))
        .route("/services", get(services::index))
        .route("/services/situation/{id}", get(services::situation))
        .route("/services/area/{id}", get(services::area))
        .route("/services/provider/{id}", get(services::provider))
        .route("/services/{code}", get(services::card))
        .route("/centres", get(services::centres))
        .route(
            "/visit",
            get(visit_request::show_form).post(visit_request::submit),
        )
        .route(
            "/visit/{id}",
            get(visit_request::show_code).post(visit_request::confirm),
        )
        .route("/t", get(track::form))
        .route("/t/{code}", get(track::case_page))
        .route("/t/{code}/{*rest}", get(track::deeper))
        .route("/t/{code}/notices", post(notices::request_code))
        .route("/t/{code}/confirm", post(notices::confirm))
        .route("/t/{code}/stop", post(notices::stop_by_contact))
        .route("/stop/{token}", get(notices::stop_page).post(notices::stop))
        .fallback(not_found)
        .layer(axum::middleware::map_response(
            crate::office::security_headers::add,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_FORM_BYTES))
        .with_state(state)
}

/// The largest form body a public page accepts (a home-visit request is well under it).
pub const MAX_FORM_BYTES: usize = 16 * 1024;
