//! Targets over the sync-server: the tus headers a tablet sends with an upload, and the events
//! the central system posts.
//!
//! `Upload-Metadata` has no target: the server reads no upload metadata (a part is named by its
//! content hash in the signed manifest), so that header reaches no parser.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use fieldkit_sync_server::central::events::read_event;
use fieldkit_sync_server::central::signing::{sign, verify};
use fieldkit_sync_server::tus::{check_checksum, header_u64, require_tus};
use ring::digest::{SHA1_FOR_LEGACY_USE_ONLY, SHA256, digest};
use ring::hmac;

/// Request headers, `Name: value` a line, then an empty line and the chunk: the headers are
/// read as the tus handlers read them, and the chunk checked against `Upload-Checksum`.
pub fn tus_headers(data: &[u8]) {
    let (head, chunk) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (data, &[][..]),
    };
    let mut headers = HeaderMap::new();
    for line in head.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        // hyper hands the handlers values without the whitespace around them, as here.
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            headers.append(name, value);
        }
    }

    if require_tus(&headers).is_ok() {
        assert_eq!(
            headers.get("Tus-Resumable").map(HeaderValue::as_bytes),
            Some(&b"1.0.0"[..])
        );
    }
    for name in ["Upload-Length", "Upload-Offset"] {
        let Ok(number) = header_u64(&headers, name) else {
            continue;
        };
        // tus: these are 1*DIGIT. Anything else must be refused, not read as some number.
        let text = headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .trim();
        assert!(
            !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()),
            "{name}: {text:?} read as {number}"
        );
        assert_eq!(
            text.trim_start_matches('0').parse::<u64>().unwrap_or(0),
            number
        );
    }

    if let Some(header) = headers.get("Upload-Checksum").and_then(|v| v.to_str().ok()) {
        let _ = check_checksum(header, chunk);
    }
    // The checksums a client computes honestly are accepted; a changed chunk is not.
    let sha256 = format!("sha256 {}", STANDARD.encode(digest(&SHA256, chunk)));
    let sha1 = format!(
        "sha1 {}",
        STANDARD.encode(digest(&SHA1_FOR_LEGACY_USE_ONLY, chunk))
    );
    assert!(check_checksum(&sha256, chunk).is_ok());
    assert!(check_checksum(&sha1, chunk).is_ok());
    let mut changed = chunk.to_vec();
    changed.push(0);
    assert!(check_checksum(&sha256, &changed).is_err());
}

/// The fixed clock of the central event target (Unix seconds).
const NOW: i64 = 1_790_000_000;

/// A request from the central system: the `X-Fieldkit-Timestamp` and `X-Fieldkit-Signature`
/// values on the first two lines, then the body. The signature check never passes a forged or
/// stale signature and always passes an honest one; the body is read as the handler reads it.
pub fn central_event(data: &[u8]) {
    let mut lines = data.splitn(3, |&b| b == b'\n');
    let timestamp = lines.next().and_then(|l| std::str::from_utf8(l).ok());
    let signature = lines.next().and_then(|l| std::str::from_utf8(l).ok());
    let body = lines.next().unwrap_or_default();

    let key = hmac::Key::new(hmac::HMAC_SHA256, b"fieldkit fuzz central events key!");
    if verify(&key, timestamp, signature, body, NOW).is_ok() {
        // Passing means the tag is the one we make for this timestamp.
        let seconds: i64 = timestamp.unwrap_or_default().trim().parse().unwrap_or(0);
        let honest = sign(&key, seconds, body);
        assert_eq!(
            signature.map(str::trim).map(str::to_ascii_lowercase),
            Some(honest),
            "a signature passed that is not the one for its timestamp"
        );
    }
    let honest = sign(&key, NOW, body);
    assert!(verify(&key, Some(&NOW.to_string()), Some(&honest), body, NOW).is_ok());
    let stale = NOW - 3600;
    let old = sign(&key, stale, body);
    assert!(verify(&key, Some(&stale.to_string()), Some(&old), body, NOW).is_err());

    if let Ok(read) = read_event(body) {
        assert!(!read.event.event_id.trim().is_empty());
        assert!(read.event.envelope_id.is_some() || read.event.case_number.is_some());
    }
}
