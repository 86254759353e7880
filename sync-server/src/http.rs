//! The HTTP API under /v1 over mutual TLS: enrollment (the one call without a client
//! certificate), tus uploads, envelope commit. Each request learns its device from the client
//! certificate it presented; a revoked device is refused on its next request.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use base64::Engine;
use fieldkit_protocol::{SealingPublicKey, SignedReceipt};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::ServerError;
use crate::commit::{CommitRequest, ServerSigningKey, commit};
use crate::connections::{
    Activity, ConnectionLimits, ConnectionSlots, PeerAddress, Watched, pause_after_accept_error,
};
use crate::metrics::MetricsAccess;
use crate::store::{Attempt, AttemptKey, BackOff, BlobStore, Device, DeviceState, MetadataStore};
use crate::tls::{CertificateAuthority, certificate_fingerprint};
use crate::tus::{CHECKSUM_ALGORITHMS, TusLimits, Uploads, header_u64, require_tus};

/// What every handler shares.
pub struct AppState {
    pub meta: Arc<dyn MetadataStore>,
    pub blobs: Arc<dyn BlobStore>,
    pub limits: TusLimits,
    pub receipt_key: ServerSigningKey,
    pub sealing_key: SealingPublicKey,
    pub device_ca: CertificateAuthority,
    /// Unix seconds; a function so tests can move time.
    pub clock: fn() -> i64,
    pub metrics: crate::metrics::Metrics,
    /// Opens the planned visits the back-office sealed (`crate::sealed_visits`).
    pub personal: Arc<crate::personal_data::PersonalDataKey>,
    /// The base address of the server's public side (e.g. `https://track.cnap.example.ua`),
    /// told to tablets with the keys at every sync: their receipts' QR points to
    /// `{it}/t/{tracking code}`. `None` when the server has no public side: tablets then use
    /// the centre's website from the catalog.
    pub public_tracking_url: Option<String>,
}

/// The SHA-256 of the client certificate presented on this connection, if any.
#[derive(Clone, Debug)]
pub struct ClientCertificate(pub Option<String>);

#[derive(Serialize)]
struct ErrorBody {
    code: &'static str,
    message: String,
}

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (
            status,
            Json(ErrorBody {
                code: self.code(),
                message: self.to_string(),
            }),
        )
            .into_response();
        if let ServerError::TooManyAttempts { retry_after } = self
            && let Ok(value) = HeaderValue::from_str(&retry_after.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if matches!(self, ServerError::TusVersion) {
            response
                .headers_mut()
                .insert("Tus-Version", HeaderValue::from_static("1.0.0"));
        }
        response
    }
}

type Shared = State<Arc<AppState>>;

/// Body rejections (malformed JSON, a body over its limit) answer in the same JSON error form
/// as every other refusal.
fn rejected(status: StatusCode, text: String) -> ServerError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ServerError::TooLarge
    } else {
        ServerError::Malformed(text)
    }
}

impl From<axum::extract::rejection::JsonRejection> for ServerError {
    fn from(rejection: axum::extract::rejection::JsonRejection) -> Self {
        rejected(rejection.status(), rejection.body_text())
    }
}

impl From<axum::extract::rejection::BytesRejection> for ServerError {
    fn from(rejection: axum::extract::rejection::BytesRejection) -> Self {
        rejected(rejection.status(), rejection.body_text())
    }
}

type JsonBody<T> = Result<Json<T>, axum::extract::rejection::JsonRejection>;

impl From<axum::extract::rejection::QueryRejection> for ServerError {
    fn from(rejection: axum::extract::rejection::QueryRejection) -> Self {
        ServerError::Malformed(rejection.body_text())
    }
}

/// A feed's query string, refused (a cursor that is not a number, or given twice) in the same
/// JSON error form as every other refusal rather than axum's plain text.
type FeedQuery<T> = Result<axum::extract::Query<T>, axum::extract::rejection::QueryRejection>;

fn device_of(state: &AppState, certificate: &ClientCertificate) -> Result<Device, ServerError> {
    let fingerprint = certificate
        .0
        .as_deref()
        .ok_or(ServerError::Unauthenticated)?;
    // The full certificate only: a command-only one is refused here.
    let device = state.meta.device_by_certificate(fingerprint)?;
    if device.state == DeviceState::Revoked {
        return Err(ServerError::Revoked(device.device_id));
    }
    Ok(device)
}

/// The device a certificate belongs to, revoked or not, by its full certificate or its
/// command-only one: only the command feed takes this, so a lost tablet that was revoked, or
/// that is locked (its full certificate's key is in the vault), still picks up its wipe.
fn known_device(state: &AppState, certificate: &ClientCertificate) -> Result<Device, ServerError> {
    let fingerprint = certificate
        .0
        .as_deref()
        .ok_or(ServerError::Unauthenticated)?;
    match state.meta.device_by_certificate(fingerprint) {
        Err(ServerError::Unauthenticated) => state.meta.device_by_command_certificate(fingerprint),
        found => found,
    }
}

fn uploads(state: &AppState) -> Uploads<'_> {
    Uploads {
        meta: state.meta.as_ref(),
        blobs: state.blobs.as_ref(),
        limits: state.limits,
    }
}

fn tus_response(status: StatusCode) -> axum::http::response::Builder {
    Response::builder()
        .status(status)
        .header("Tus-Resumable", "1.0.0")
        .header(header::CACHE_CONTROL, "no-store")
}

fn built(response: Result<Response, axum::http::Error>) -> Response {
    response.unwrap_or_else(|e| ServerError::Storage(e.to_string()).into_response())
}

/// Enrollment request: a one-time code, the device's Ed25519 key for manifests (hex) and the
/// public half of the P-256 TLS key it made for its client certificate (uncompressed, base64).
#[derive(Deserialize)]
pub struct EnrollRequest {
    pub code: String,
    pub device_id: String,
    pub signing_public_key: String,
    pub tls_public_key: String,
}

#[derive(Serialize, Deserialize)]
pub struct EnrollResponse {
    pub device_id: String,
    pub client_certificate: String,
    pub sealing_key_id: String,
    pub sealing_public_key: String,
    pub receipt_public_key: String,
    /// SHA-256 of the device CA that issued the certificate; the keys feed names the current
    /// one, and a tablet renews when the two differ.
    pub device_ca: String,
}

/// Enrollment attempts per address: five free, then a minute doubling up to an hour. A
/// successful enrollment forgets the address's failures (a centre enrolls its tablets in a row).
pub const ENROLL_BACK_OFF: BackOff = BackOff {
    free: 5,
    first_wait: 60,
    max_wait: 3600,
};

async fn enroll(
    State(state): Shared,
    peer: Option<Extension<PeerAddress>>,
    body: JsonBody<EnrollRequest>,
) -> Result<Json<EnrollResponse>, ServerError> {
    let Json(request) = body?;
    let valid_id = !request.device_id.is_empty()
        && request.device_id.len() <= 32
        && request
            .device_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !valid_id {
        return Err(ServerError::Mismatch(
            "device id: 1–32 letters, digits or hyphens",
        ));
    }
    let signing: [u8; 32] = hex::decode(&request.signing_public_key)
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or(ServerError::Mismatch("signing_public_key: 32 bytes, hex"))?;
    let spki = base64::engine::general_purpose::STANDARD
        .decode(&request.tls_public_key)
        .map_err(|_| ServerError::Mismatch("tls_public_key: base64"))?;
    // Counted before the code is looked at, so parallel guesses each count.
    let address = peer.map_or_else(
        || "unknown".to_owned(),
        |Extension(p)| p.limited_as().to_string(),
    );
    let attempt_key = AttemptKey::enrollment(&address);
    let now = (state.clock)();
    if let Attempt::Locked { seconds } =
        state
            .meta
            .begin_attempt(&attempt_key, &ENROLL_BACK_OFF, now)?
    {
        return Err(ServerError::TooManyAttempts {
            retry_after: seconds,
        });
    }
    // Nothing is signed for a code that could not enroll.
    let code_sha256 = certificate_fingerprint(request.code.trim().as_bytes());
    if !state.meta.enroll_code_usable(&code_sha256, now)? {
        return Err(ServerError::InvalidEnrollCode);
    }
    let certificate = state.device_ca.issue_device(&request.device_id, &spki)?;
    let device = Device {
        device_id: request.device_id.clone(),
        public_key: signing,
        state: DeviceState::Active,
    };
    let device_ca = certificate_fingerprint(state.device_ca.certificate_der());
    state.meta.enroll_device(
        &code_sha256,
        &device,
        &certificate_fingerprint(&certificate),
        &device_ca,
        now,
    )?;
    state.meta.attempt_succeeded(&attempt_key)?;
    Ok(Json(EnrollResponse {
        device_id: request.device_id,
        client_certificate: base64::engine::general_purpose::STANDARD.encode(&certificate),
        sealing_key_id: state.sealing_key.key_id.clone(),
        sealing_public_key: hex::encode(state.sealing_key.bytes),
        receipt_public_key: hex::encode(state.receipt_key.public_key()),
        device_ca,
    }))
}

async fn tus_options(State(state): Shared) -> Response {
    built(
        tus_response(StatusCode::NO_CONTENT)
            .header("Tus-Version", "1.0.0")
            .header("Tus-Extension", "creation,checksum,termination,expiration")
            .header("Tus-Max-Size", state.limits.max_size.to_string())
            .header("Tus-Checksum-Algorithm", CHECKSUM_ALGORITHMS)
            .body(Body::empty()),
    )
}

async fn tus_create(
    State(state): Shared,
    Extension(cert): Extension<ClientCertificate>,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    require_tus(&headers)?;
    let device = device_of(&state, &cert)?;
    let length = header_u64(&headers, "Upload-Length")?;
    let upload = uploads(&state).create(&device.device_id, length, (state.clock)())?;
    Ok(built(
        tus_response(StatusCode::CREATED)
            .header(
                header::LOCATION,
                format!("/v1/uploads/{}", upload.upload_id),
            )
            .header("Upload-Expires", upload.expires_at.to_string())
            .body(Body::empty()),
    ))
}

async fn tus_head(
    State(state): Shared,
    Extension(cert): Extension<ClientCertificate>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    require_tus(&headers)?;
    let device = device_of(&state, &cert)?;
    let upload = uploads(&state).status(&id, &device.device_id, (state.clock)())?;
    Ok(built(
        tus_response(StatusCode::OK)
            .header("Upload-Offset", upload.offset.to_string())
            .header("Upload-Length", upload.length.to_string())
            .body(Body::empty()),
    ))
}

async fn tus_patch(
    State(state): Shared,
    Extension(cert): Extension<ClientCertificate>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ServerError> {
    let body = body?;
    require_tus(&headers)?;
    let device = device_of(&state, &cert)?;
    if headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        != Some("application/offset+octet-stream")
    {
        return Err(ServerError::WrongContentType);
    }
    let offset = header_u64(&headers, "Upload-Offset")?;
    let checksum = headers.get("Upload-Checksum").and_then(|v| v.to_str().ok());
    let upload = uploads(&state).append(
        &id,
        &device.device_id,
        offset,
        &body,
        checksum,
        (state.clock)(),
    )?;
    Ok(built(
        tus_response(StatusCode::NO_CONTENT)
            .header("Upload-Offset", upload.offset.to_string())
            .body(Body::empty()),
    ))
}

async fn tus_delete(
    State(state): Shared,
    Extension(cert): Extension<ClientCertificate>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    require_tus(&headers)?;
    let device = device_of(&state, &cert)?;
    uploads(&state).terminate(&id, &device.device_id, (state.clock)())?;
    Ok(built(
        tus_response(StatusCode::NO_CONTENT).body(Body::empty()),
    ))
}

/// The body of an envelope commit: the manifest bytes and the device's signature, base64.
#[derive(Serialize, Deserialize)]
pub struct CommitBody {
    pub manifest: String,
    pub signature: String,
}

async fn commit_envelope(
    State(state): Shared,
    Extension(cert): Extension<ClientCertificate>,
    Path(id): Path<String>,
    body: JsonBody<CommitBody>,
) -> Result<Json<SignedReceipt>, ServerError> {
    let Json(body) = body?;
    let device = device_of(&state, &cert)?;
    let decode = |text: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| ServerError::Mismatch("base64"))
    };
    let (manifest, signature) = (decode(&body.manifest)?, decode(&body.signature)?);
    let request = CommitRequest {
        device_id: &device.device_id,
        envelope_id: &id,
        manifest: &manifest,
        signature: &signature,
    };
    let first_time = state.meta.envelope(&id)?.is_none();
    let receipt = commit(
        state.meta.as_ref(),
        state.blobs.as_ref(),
        &state.receipt_key,
        &request,
        (state.clock)(),
    )?;
    if first_time {
        state.metrics.record_commit();
        tracing::info!(device = %device.device_id, "envelope committed");
    }
    Ok(Json(receipt))
}

async fn device_report(
    State(state): Shared,
    Extension(cert): Extension<ClientCertificate>,
    body: JsonBody<crate::store::DeviceReport>,
) -> Result<StatusCode, ServerError> {
    let Json(report) = body?;
    report
        .check_consultations()
        .map_err(ServerError::Malformed)?;
    let device = device_of(&state, &cert)?;
    state
        .meta
        .record_report(&device.device_id, &report, (state.clock)())?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct CatalogQuery {
    #[serde(default)]
    since: u64,
}

/// A newer catalog, with the limits the tablet checks while capturing.
#[derive(Serialize, Deserialize)]
pub struct CatalogFeed {
    pub version: u64,
    /// The catalog file (format of assets/catalog).
    pub catalog: String,
    pub max_upload_bytes: u64,
}

async fn catalog_feed(
    State(state): Shared,
    Extension(cert): Extension<ClientCertificate>,
    query: FeedQuery<CatalogQuery>,
) -> Result<Response, ServerError> {
    device_of(&state, &cert)?;
    let axum::extract::Query(query) = query?;
    Ok(match state.meta.catalog_since(query.since)? {
        Some((version, catalog)) => Json(CatalogFeed {
            version,
            catalog,
            max_upload_bytes: state.limits.max_size,
        })
        .into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// Visits planned for this device after a cursor.
#[derive(Serialize, Deserialize)]
pub struct VisitFeed {
    pub visits: Vec<serde_json::Value>,
    pub next: i64,
}

async fn visit_feed(
    State(state): Shared,
    Extension(cert): Extension<ClientCertificate>,
    query: FeedQuery<StatusQuery>,
) -> Result<Json<VisitFeed>, ServerError> {
    let device = device_of(&state, &cert)?;
    let axum::extract::Query(query) = query?;
    let rows = state.meta.visits_since(&device.device_id, query.since)?;
    let next = rows.last().map_or(query.since, |(id, _)| *id);
    let visits = rows
        .into_iter()
        .map(|(id, details)| {
            let mut visit =
                crate::sealed_visits::open(&state.personal, &device.device_id, &details)
                    .unwrap_or_else(|error| {
                        // The tablet gets the id alone (as for any row it cannot read); the
                        // log names the row, never its content.
                        tracing::error!(visit_id = id, %error, "a planned visit cannot be read");
                        serde_json::Value::default()
                    });
            visit["visit_id"] = id.into();
            visit
        })
        .collect();
    Ok(Json(VisitFeed { visits, next }))
}

/// The server's current public keys: tablets seal new cases to this sealing key (it changes
/// when the operator rotates it) and check receipts with the receipt key.
#[derive(Serialize, Deserialize)]
pub struct KeysFeed {
    pub sealing_key_id: String,
    pub sealing_public_key: String,
    pub receipt_public_key: String,
    /// SHA-256 of the device CA that issues certificates now (see `POST /v1/certificate`).
    pub device_ca: String,
    /// Where applicants follow their cases (the base of `/t/{tracking code}`); absent when the
    /// server has no public side. Older tablets ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
}

async fn keys_feed(
    State(state): Shared,
    Extension(cert): Extension<ClientCertificate>,
) -> Result<Json<KeysFeed>, ServerError> {
    device_of(&state, &cert)?;
    Ok(Json(KeysFeed {
        sealing_key_id: state.sealing_key.key_id.clone(),
        sealing_public_key: hex::encode(state.sealing_key.bytes),
        receipt_public_key: hex::encode(state.receipt_key.public_key()),
        device_ca: certificate_fingerprint(state.device_ca.certificate_der()),
        public_url: state.public_tracking_url.clone(),
    }))
}

#[derive(Serialize, Deserialize)]
pub struct RenewRequest {
    /// The tablet's new TLS public key: an uncompressed P-256 point, base64.
    pub tls_public_key: String,
}

#[derive(Serialize, Deserialize)]
pub struct RenewResponse {
    pub client_certificate: String,
    pub device_ca: String,
}

/// A certificate from the current device CA for the new TLS key in `body`, asked over the
/// device's full certificate; returns the device, the certificate (DER) and the CA's SHA-256.
fn certify_new_key(
    state: &AppState,
    cert: &ClientCertificate,
    body: JsonBody<RenewRequest>,
) -> Result<(Device, rustls::pki_types::CertificateDer<'static>, String), ServerError> {
    let device = device_of(state, cert)?;
    let Json(request) = body?;
    let point = base64::engine::general_purpose::STANDARD
        .decode(&request.tls_public_key)
        .map_err(|_| ServerError::Mismatch("tls_public_key: base64"))?;
    let certificate = state.device_ca.issue_device(&device.device_id, &point)?;
    let device_ca = certificate_fingerprint(state.device_ca.certificate_der());
    Ok((device, certificate, device_ca))
}

fn certified(certificate: &[u8], device_ca: String) -> Json<RenewResponse> {
    Json(RenewResponse {
        client_certificate: base64::engine::general_purpose::STANDARD.encode(certificate),
        device_ca,
    })
}

/// A new client certificate from the current device CA for a new key the tablet made, asked
/// over the tablet's current certificate (after a device CA rotation).
async fn renew_certificate(
    State(state): Shared,
    Extension(cert): Extension<ClientCertificate>,
    body: JsonBody<RenewRequest>,
) -> Result<Json<RenewResponse>, ServerError> {
    let (device, certificate, device_ca) = certify_new_key(&state, &cert, body)?;
    state.meta.add_certificate(
        &device.device_id,
        &certificate_fingerprint(&certificate),
        &device_ca,
        (state.clock)(),
    )?;
    Ok(certified(&certificate, device_ca))
}

/// A certificate for the command feed only, for a key the tablet made to keep outside its
/// vault; asked over the tablet's full certificate. It replaces the device's earlier one.
async fn issue_command_certificate(
    State(state): Shared,
    Extension(cert): Extension<ClientCertificate>,
    body: JsonBody<RenewRequest>,
) -> Result<Json<RenewResponse>, ServerError> {
    let (device, certificate, device_ca) = certify_new_key(&state, &cert, body)?;
    state.meta.set_command_certificate(
        &device.device_id,
        &certificate_fingerprint(&certificate),
        (state.clock)(),
    )?;
    Ok(certified(&certificate, device_ca))
}

/// Commands for this device (such as "wipe"), each handed over once. A revoked device is served
/// here and nowhere else, so a wipe queued for a lost tablet reaches it.
#[derive(Serialize, Deserialize)]
pub struct CommandFeed {
    pub commands: Vec<String>,
}

async fn command_feed(
    State(state): Shared,
    Extension(cert): Extension<ClientCertificate>,
) -> Result<Json<CommandFeed>, ServerError> {
    let device = known_device(&state, &cert)?;
    let commands = state
        .meta
        .take_commands(&device.device_id, (state.clock)())?;
    Ok(Json(CommandFeed {
        commands: commands.into_iter().map(|(_, c)| c).collect(),
    }))
}

/// Count every request by method, route template and status.
async fn count_requests(
    State(state): Shared,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let body_bytes = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    state
        .metrics
        .record_request(&method, &route, status, body_bytes);
    // Route templates and sizes only: never ids from paths, bodies or anything personal.
    let latency_ms = started.elapsed().as_millis() as u64;
    tracing::info!(method, route, status, body_bytes, latency_ms, "request");
    response
}

/// The counters, for a scraper that presents the configured bearer token; off (404) when no
/// token is configured, so they are never public on the tablets' port.
async fn metrics(State(state): Shared, headers: HeaderMap) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match state.metrics.access(authorization) {
        MetricsAccess::Off => ServerError::NotFound.into_response(),
        MetricsAccess::Refused => built(
            Response::builder()
                .status(StatusCode::UNAUTHORIZED)
                .header(header::WWW_AUTHENTICATE, "Bearer")
                .body(Body::empty()),
        ),
        MetricsAccess::Allowed => built(
            Response::builder()
                .header(header::CONTENT_TYPE, "text/plain; version=0.0.4")
                .header(header::CACHE_CONTROL, "no-store")
                .body(Body::from(state.metrics.render())),
        ),
    }
}

#[derive(Deserialize)]
struct StatusQuery {
    #[serde(default)]
    since: i64,
}

/// The status feed: changes to this device's cases after `since`, and the cursor to ask from.
#[derive(Serialize, Deserialize)]
pub struct StatusFeed {
    pub events: Vec<crate::store::StatusEvent>,
    pub next: i64,
}

async fn status_feed(
    State(state): Shared,
    Extension(cert): Extension<ClientCertificate>,
    query: FeedQuery<StatusQuery>,
) -> Result<Json<StatusFeed>, ServerError> {
    let device = device_of(&state, &cert)?;
    let axum::extract::Query(query) = query?;
    let events = state
        .meta
        .status_events(&device.device_id, query.since, 500)?;
    let next = events.last().map_or(query.since, |e| e.cursor);
    Ok(Json(StatusFeed { events, next }))
}

/// Largest request head (request line and headers) accepted.
pub const MAX_HEADERS: usize = 32 * 1024;

/// Largest tus chunk accepted in one PATCH, and largest JSON body.
pub const MAX_CHUNK: usize = 8 * 1024 * 1024;
pub const MAX_JSON: usize = 256 * 1024;
/// Largest device report: the whole consultation count is sent every time, and the most a
/// report may carry (`MAX_CONSULTATION_COUNTS` counts with the longest service codes and
/// counts, 2.64 MB as JSON) must fit, or a busy tablet's every report would be refused.
pub const MAX_REPORT: usize = 4 * 1024 * 1024;

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/v1/enroll",
            post(enroll).layer(DefaultBodyLimit::max(MAX_JSON)),
        )
        .route("/v1/uploads", post(tus_create).options(tus_options))
        .route(
            "/v1/uploads/{id}",
            axum::routing::head(tus_head)
                .patch(tus_patch)
                .delete(tus_delete)
                .layer(DefaultBodyLimit::max(MAX_CHUNK)),
        )
        .route(
            "/v1/envelopes/{id}",
            put(commit_envelope).layer(DefaultBodyLimit::max(MAX_JSON)),
        )
        .route("/v1/status", get(status_feed))
        .route("/v1/catalog", get(catalog_feed))
        .route("/v1/commands", get(command_feed))
        .route(
            "/v1/commands/certificate",
            post(issue_command_certificate).layer(DefaultBodyLimit::max(MAX_JSON)),
        )
        .route("/v1/visits", get(visit_feed))
        .route("/v1/keys", get(keys_feed))
        .route(
            "/v1/certificate",
            post(renew_certificate).layer(DefaultBodyLimit::max(MAX_JSON)),
        )
        .route(
            "/v1/report",
            post(device_report).layer(DefaultBodyLimit::max(MAX_REPORT)),
        )
        .route("/metrics", get(metrics))
        .route(
            "/v1/openapi.json",
            get(|State(state): Shared| async move {
                Json(crate::openapi::document(state.limits.max_size))
            }),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .with_state(state)
}

/// Accept TLS connections on `listener` and serve `app` with the default connection limits.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
) -> std::io::Result<()> {
    serve_with_limits(listener, tls, app, ConnectionLimits::default()).await
}

/// Accept TLS connections on `listener` and serve `app`, telling each request which client
/// certificate its connection presented. Never returns: an accept error (even «too many open
/// files») is waited out, and connections over `limits` are closed on arrival.
pub async fn serve_with_limits(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    limits: ConnectionLimits,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(tls);
    let slots = ConnectionSlots::new(&limits);
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                if let Some(pause) = pause_after_accept_error(&error) {
                    tracing::warn!(%error, "accept failed: out of file descriptors; backing off");
                    tokio::time::sleep(pause).await;
                }
                continue;
            }
        };
        // Over a cap: dropping the socket closes it before it costs anything more.
        let Some(slot) = slots.take(PeerAddress(peer.ip()).limited_as()) else {
            continue;
        };
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            serve_connection(tcp, PeerAddress(peer.ip()), acceptor, app, limits).await;
            drop(slot);
        });
    }
}

/// One connection: the TLS handshake within its deadline, then HTTP until the client leaves or
/// stays silent for the idle timeout.
async fn serve_connection(
    tcp: tokio::net::TcpStream,
    peer: PeerAddress,
    acceptor: TlsAcceptor,
    app: Router,
    limits: ConnectionLimits,
) {
    let activity = Activity::new();
    let watched = Watched::new(tcp, activity.clone());
    // A failed or too slow handshake (no TLS, wrong CA, silence) just closes that connection.
    let Ok(Ok(stream)) =
        tokio::time::timeout(limits.tls_handshake_timeout(), acceptor.accept(watched)).await
    else {
        return;
    };
    let fingerprint = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| certificate_fingerprint(c));
    let identity = ClientCertificate(fingerprint);
    let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(identity.clone());
        request.extensions_mut().insert(peer);
        app.clone().oneshot(request)
    });
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    // Headers are small in this API: cap them (HTTP/1 read buffer, HTTP/2 header list), and
    // close a connection whose request head trickles in (slow-loris).
    builder
        .http1()
        .max_buf_size(MAX_HEADERS)
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout());
    builder.http2().max_header_list_size(MAX_HEADERS as u32);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        () = activity.silent(limits.idle_timeout()) => {
            // No byte either way for the whole idle timeout: a client that went away, or one
            // holding a slot; dropping the connection closes it. (No handler here works that
            // long without writing.)
        }
    }
}
