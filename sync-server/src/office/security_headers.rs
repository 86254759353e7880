//! The headers every back-office response carries: HTTPS only from now on (HSTS), no content
//! sniffing, a content policy with no scripts and no framing, and no Referer (case numbers
//! are in back-office URLs).

use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;

/// The back-office works without JavaScript: nothing is loaded but images from the back-office
/// or inline (the enrollment QR code) and the page's own inline styles; forms post only here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A year; browsers then refuse plain HTTP to this host even when a link asks for it.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

const HEADERS: [(HeaderName, &str); 5] = [
    (header::STRICT_TRANSPORT_SECURITY, STRICT_TRANSPORT_SECURITY),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::REFERRER_POLICY, "no-referrer"),
    // For browsers older than frame-ancestors.
    (header::X_FRAME_OPTIONS, "DENY"),
];

/// Add the headers, keeping a stricter policy a handler set itself (a served image or PDF
/// has `default-src 'none'`).
pub async fn add(response: Response) -> Response {
    let mut response = response;
    let headers = response.headers_mut();
    for (name, value) in HEADERS {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}
