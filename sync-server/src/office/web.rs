//! The back-office's HTTP side: its state, routes, the signed-in user taken from the session
//! cookie, the CSRF check on every form, and errors as pages.

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use fieldkit_domain::calendar::WorkCalendar;
use fieldkit_domain::catalog::Catalog;
use fieldkit_protocol::SealingKeyPair;

use super::auth::{Role, Staff, same_token, session};
use super::db::OfficeDb;
use super::html::{Frame, Lang, esc, page};
use super::{admin_pages, case_pages, visit_requests};
use crate::ServerError;
use crate::store::{FileBlobStore, MetadataStore, SqliteMetadata};

pub const SESSION_COOKIE: &str = "fk_session";
const LANG_COOKIE: &str = "fk_lang";

/// Everything the back-office pages need.
pub struct OfficeState {
    pub db: OfficeDb,
    pub meta: Arc<SqliteMetadata>,
    pub blobs: Arc<FileBlobStore>,
    /// Every case-sealing key, to open cases on request.
    pub sealing_keys: Vec<SealingKeyPair>,
    pub calendar: WorkCalendar,
    pub clock: fn() -> i64,
    /// The address tablets enroll at and the CA they pin, for the enrollment QR.
    pub public_url: String,
    pub server_ca: Vec<u8>,
    /// Cases opened in the last minutes, so a case's images do not each open it again.
    pub opened: super::opened_cache::OpenedCases<crate::opened::OpenedCase>,
    /// The central connector, when the server runs one: a notification sent again is handed
    /// to its worker at once instead of at the worker's next check.
    pub central: Option<Arc<crate::central::CentralState>>,
    /// Opens what the public side keeps sealed (home-visit requests, contacts for notices) and
    /// seals the visits planned from requests; for staff only.
    pub personal: Arc<crate::personal_data::PersonalDataKey>,
}

impl OfficeState {
    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    pub fn today(&self) -> time::Date {
        time::OffsetDateTime::from_unix_timestamp(self.now())
            .map(|t| t.date())
            .unwrap_or(time::Date::MIN)
    }

    /// Add the envelopes that arrived since the last look to the case register, then take
    /// the supplements that arrived into their cases' lives.
    pub fn index_new_cases(&self, catalog: Option<&Catalog>) -> Result<usize, ServerError> {
        let added = super::register::index_new(
            &self.db,
            &super::register::Sources {
                meta: self.meta.as_ref(),
                blobs: self.blobs.as_ref(),
                sealing_keys: &self.sealing_keys,
                catalog,
                calendar: &self.calendar,
            },
            self.now(),
        )?;
        let taken = super::supplements::apply_pending(&self.db, self.meta.as_ref(), self.now())?;
        let moved = taken
            .iter()
            .any(|(_, t)| matches!(t, super::supplements::Taken::Moved(_)));
        if let (true, Some(central)) = (moved, &self.central) {
            // The applicants' notifications those steps queued go out now.
            crate::central::notify::wake(central);
        }
        Ok(added)
    }

    /// The catalog published now, if any.
    pub fn catalog(&self) -> Result<Option<(u64, Catalog)>, ServerError> {
        match self.meta.catalog_since(0)? {
            Some((version, text)) => Ok(Some((
                version,
                Catalog::from_toml_str(&text)
                    .map_err(|e| ServerError::Storage(format!("published catalog: {e}")))?,
            ))),
            None => Ok(None),
        }
    }
}

pub type Shared = axum::extract::State<Arc<OfficeState>>;

/// The routes under /office.
pub fn router(state: Arc<OfficeState>) -> Router {
    Router::new()
        .route("/office", get(|| async { Redirect::to("/office/inbox") }))
        .route(
            "/office/login",
            get(case_pages::login_page).post(case_pages::login),
        )
        .route("/office/logout", post(case_pages::logout))
        .route("/office/lang", get(case_pages::switch_language))
        .route("/office/inbox", get(case_pages::inbox))
        .route("/office/case", get(case_pages::case_view))
        .route("/office/case/page", get(case_pages::page_image))
        .route("/office/case/signature", get(case_pages::signature_image))
        .route("/office/case/inventory", get(case_pages::inventory_pdf))
        .route("/office/case/application", get(case_pages::application_pdf))
        .route("/office/case/accept", post(case_pages::accept))
        .route("/office/case/return", post(case_pages::return_case))
        .route("/office/case/duplicate", post(case_pages::duplicate))
        .route("/office/case/handover", post(super::handover::plan_page))
        .route(
            "/office/case/notification/retry",
            post(case_pages::retry_notification),
        )
        .route(
            "/office/visits",
            get(admin_pages::visits_page).post(admin_pages::plan_visit),
        )
        .route("/office/visit-requests", get(visit_requests::list))
        .route("/office/visit-request", get(visit_requests::show))
        .route("/office/visit-request/plan", post(visit_requests::plan))
        .route(
            "/office/visit-request/decline",
            post(visit_requests::decline),
        )
        .route(
            "/office/visit-request/notify",
            post(visit_requests::notify_again),
        )
        .route("/office/catalog", get(admin_pages::catalog_page))
        .route(
            "/office/catalog/preview",
            post(admin_pages::catalog_preview),
        )
        .route(
            "/office/catalog/publish",
            post(admin_pages::catalog_publish),
        )
        .route("/office/devices", get(admin_pages::devices_page))
        .route("/office/devices/code", post(admin_pages::new_enroll_code))
        .route("/office/devices/revoke", post(admin_pages::revoke))
        .route(
            "/office/reconciliation",
            get(admin_pages::reconciliation_page),
        )
        .route(
            "/office/dead-letters/retry",
            post(admin_pages::retry_dead_letter),
        )
        .layer(axum::extract::DefaultBodyLimit::max(8 * 1024 * 1024))
        .layer(axum::middleware::map_response(super::security_headers::add))
        .with_state(state)
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The language of the request (cookie).
pub struct PageLang(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for PageLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(PageLang(Lang::from_cookie(cookie(
            &parts.headers,
            LANG_COOKIE,
        ))))
    }
}

pub fn language_cookie(lang: Lang) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{LANG_COOKIE}={}; Path=/office; Secure; SameSite=Strict; Max-Age=31536000",
        lang.code()
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The signed-in user; a request without a valid session goes to the sign-in page.
pub struct SignedIn {
    pub staff: Staff,
    pub lang: Lang,
}

impl FromRequestParts<Arc<OfficeState>> for SignedIn {
    type Rejection = OfficeError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<OfficeState>,
    ) -> Result<Self, Self::Rejection> {
        let lang = Lang::from_cookie(cookie(&parts.headers, LANG_COOKIE));
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or(OfficeError::SignIn)?;
        let staff = session(&state.db, token, state.now())?.ok_or(OfficeError::SignIn)?;
        Ok(SignedIn { staff, lang })
    }
}

impl SignedIn {
    /// Refuse unless the user's role is one of `allowed`.
    pub fn require(&self, allowed: &[Role]) -> Result<(), OfficeError> {
        if self.staff.may(allowed) {
            Ok(())
        } else {
            Err(OfficeError::Forbidden(self.lang))
        }
    }

    /// Refuse a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, token: &str) -> Result<(), OfficeError> {
        if same_token(token, &self.staff.csrf_token) {
            Ok(())
        } else {
            Err(OfficeError::Csrf(self.lang))
        }
    }

    pub fn frame<'a>(&'a self, title: &'a str) -> Frame<'a> {
        Frame {
            lang: self.lang,
            title,
            user: Some((
                &self.staff.username,
                self.staff.role.as_str(),
                &self.staff.csrf_token,
            )),
        }
    }
}

/// Why a page could not be shown; each is a page of its own with its status.
#[derive(Debug)]
pub enum OfficeError {
    /// No valid session: sign in first.
    SignIn,
    /// The user's role does not allow this.
    Forbidden(Lang),
    /// The form's CSRF token is missing or not this session's.
    Csrf(Lang),
    NotFound(Lang),
    /// The input cannot be used; the message says why.
    BadInput(Lang, String),
    Server(ServerError),
}

impl From<ServerError> for OfficeError {
    fn from(error: ServerError) -> Self {
        OfficeError::Server(error)
    }
}

fn error_page(status: StatusCode, lang: Lang, title: &str, message: &str) -> Response {
    let frame = Frame {
        lang,
        title,
        user: None,
    };
    let body = format!(
        "<p class=\"error\">{}</p><p><a href=\"/office/inbox\">{}</a></p>",
        esc(message),
        lang.t("До вхідних", "To the inbox")
    );
    (status, html_headers(), page(&frame, &body)).into_response()
}

/// Headers every back-office page carries: no caching of personal data, no framing, no
/// scripts from anywhere.
pub fn html_headers() -> [(header::HeaderName, HeaderValue); 5] {
    [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(super::security_headers::CONTENT_SECURITY_POLICY),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
    ]
}

impl IntoResponse for OfficeError {
    fn into_response(self) -> Response {
        match self {
            OfficeError::SignIn => Redirect::to("/office/login").into_response(),
            OfficeError::Forbidden(lang) => error_page(
                StatusCode::FORBIDDEN,
                lang,
                lang.t("Немає доступу", "Not allowed"),
                lang.t(
                    "Ваша роль не дозволяє цю дію.",
                    "Your role does not allow this.",
                ),
            ),
            OfficeError::Csrf(lang) => error_page(
                StatusCode::FORBIDDEN,
                lang,
                lang.t("Форму відхилено", "Form refused"),
                lang.t(
                    "Форма застаріла або надіслана не з цієї сторінки. Відкрийте сторінку знову й повторіть.",
                    "The form is stale or was not sent from this page. Open the page again and repeat.",
                ),
            ),
            OfficeError::NotFound(lang) => error_page(
                StatusCode::NOT_FOUND,
                lang,
                lang.t("Не знайдено", "Not found"),
                lang.t("Такої справи чи сторінки немає.", "No such case or page."),
            ),
            OfficeError::BadInput(lang, message) => error_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                lang,
                lang.t("Перевірте дані", "Check the input"),
                &message,
            ),
            OfficeError::Server(error) => {
                tracing::error!(error = %error, "back-office");
                error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Lang::Uk,
                    "Помилка сервера / Server error",
                    "Дію не виконано; спробуйте ще раз або зверніться до адміністратора. / Nothing was changed; try again or call the administrator.",
                )
            }
        }
    }
}

/// An HTML page response.
pub fn html(body: String) -> Response {
    (StatusCode::OK, html_headers(), body).into_response()
}
