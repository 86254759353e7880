//! The OpenAPI 3.1 description served at `/v1/openapi.json`. Written by hand next to the
//! router; a test probes every documented operation and checks the router serves it.

use serde_json::{Value, json};

fn error_responses(codes: &[u16]) -> Value {
    let mut map = serde_json::Map::new();
    for code in codes {
        map.insert(code.to_string(), json!({ "description": "JSON error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }));
    }
    Value::Object(map)
}

fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
    base
}

fn tus_headers() -> Value {
    json!([{ "name": "Tus-Resumable", "in": "header", "required": true, "schema": { "const": "1.0.0" } }])
}

/// The document, for a server that takes uploads of at most `max_upload_bytes` (the
/// `Upload-Length` it accepts).
pub fn document(max_upload_bytes: u64) -> Value {
    json!({
        "openapi": "3.1.0",
        "info": { "title": "fieldkit sync API", "version": env!("CARGO_PKG_VERSION"),
                  "description": format!("Mutual TLS 1.3: every /v1 operation except enrollment and this document needs the client certificate issued at enrollment. \
                      JSON bodies are at most {} bytes (a device report {}) and a tus chunk (PATCH) at most {} bytes: a longer body is refused with 413 too_large, \
                      and the connection may be closed before the rest of the body is read.", crate::http::MAX_JSON, crate::http::MAX_REPORT, crate::http::MAX_CHUNK) },
        "paths": {
            "/healthz": { "get": { "summary": "Liveness", "responses": { "200": { "description": "ok" } } } },
            "/metrics": { "get": { "summary": "Prometheus counters, for a scraper with the configured bearer token",
                                   "parameters": [ { "name": "Authorization", "in": "header", "schema": { "type": "string", "pattern": "^Bearer .+$" } } ],
                                   "responses": { "200": { "description": "text exposition format" }, "401": { "description": "the bearer token is missing or wrong" },
                                                  "404": { "description": "off: the server has no metrics_token_file", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } } } } },
            "/v1/openapi.json": { "get": { "summary": "This document", "responses": { "200": { "description": "OpenAPI 3.1" } } } },
            "/v1/enroll": { "post": {
                "summary": "Enroll a tablet with a one-time code",
                "description": "The code is checked before anything is signed. Attempts are counted per address: after five failures the address waits (429 too_many_attempts, Retry-After in seconds), a minute doubling up to an hour; an enrollment that succeeds forgets them.",
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/EnrollRequest" } } } },
                "responses": with(json!({ "200": { "description": "enrolled", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/EnrollResponse" } } } } }), with(error_responses(&[400, 403, 409, 413]), waited_out())) } },
            "/v1/uploads": {
                "options": { "summary": "tus capabilities", "responses": { "204": { "description": "Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm" } } },
                "post": { "summary": "tus creation", "parameters": with_length(max_upload_bytes),
                          "description": "Each tablet may have a limited number of unfinished uploads (429 too_many_uploads) and bytes uploaded but not yet in a committed envelope (507 pending_bytes_quota, counted by declared Upload-Length) at once; finishing, committing, terminating or expiry gives them back. Unfinished uploads past Upload-Expires are deleted by a sweeper.",
                          "responses": with(json!({ "201": { "description": "created; Location names the upload",
                                                             "headers": { "Location": header_text(true), "Upload-Expires": header_text(true), "Tus-Resumable": header_text(true) },
                                                             "links": upload_links() } }), error_responses(&[400, 401, 403, 412, 413, 429, 507])) } },
            "/v1/uploads/{id}": {
                "head": { "summary": "tus offset", "operationId": "tusOffset", "parameters": id_and_tus(),
                          "responses": { "200": { "description": "where the upload is", "headers": { "Upload-Offset": header_text(true), "Upload-Length": header_text(true), "Tus-Resumable": header_text(true) } },
                                         "401": { "description": "no client certificate" }, "403": { "description": "the device is revoked" }, "404": { "description": "unknown" },
                                         "410": { "description": "terminated or expired" }, "412": { "description": "wrong Tus-Resumable" } } },
                "patch": { "summary": "tus append", "operationId": "tusAppend", "parameters": append_headers(),
                           "requestBody": { "required": true, "content": { "application/offset+octet-stream": { "schema": { "type": "string", "format": "binary" } } } },
                           "responses": with(json!({ "204": { "description": "appended", "headers": { "Upload-Offset": header_text(true), "Tus-Resumable": header_text(true) } } }), error_responses(&[400, 401, 403, 404, 409, 410, 412, 413, 415, 460])) },
                "delete": { "summary": "tus termination", "operationId": "tusTerminate", "parameters": id_and_tus(),
                            "responses": with(json!({ "204": { "description": "terminated" } }), error_responses(&[401, 403, 404, 410, 412])) } },
            "/v1/envelopes/{id}": { "put": {
                "summary": "Commit a sealed envelope",
                "description": "A case's first envelope is taken only from the device its case number names (centre/DEVICE/year/sequence-check), in this centre: otherwise 403 with code `case_number_not_yours`. A supplement (the manifest's `supplement`: `handover`, `withdrawal`, `correction`) may come from any active device of the centre and must name a case that arrived: otherwise 422 with code `unknown_case`. Other codes: 400 `bad_envelope`/`mismatch`/`malformed_request`, 403 `device_revoked`, 409 `conflict`, 422 `missing_part`.",
                "parameters": [ { "name": "id", "in": "path", "required": true, "schema": { "type": "string" } } ],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Commit" } } } },
                "responses": with(json!({ "200": { "description": "signed receipt (the same for the same envelope)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/SignedReceipt" } } } } }), error_responses(&[400, 401, 403, 404, 409, 413, 422])) } },
            "/v1/report": { "post": {
                "summary": "The tablet's counts and audit-chain head, at every sync",
                "description": format!("The body is at most {} bytes (413 too_large): room for the most consultation counts a report may carry.", crate::http::MAX_REPORT),
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/DeviceReport" } } } },
                "responses": with(json!({ "204": { "description": "recorded; the audit head is anchored" } }), error_responses(&[400, 401, 403, 409, 413])) } },
            "/v1/catalog": { "get": {
                "summary": "The latest service catalog, if newer than `since`, with the server's limits",
                "parameters": [ { "name": "since", "in": "query", "example": 0, "schema": { "type": "integer", "minimum": 0, "maximum": u64::MAX } } ],
                "responses": with(json!({ "200": { "description": "version, catalog (TOML), max_upload_bytes" }, "204": { "description": "nothing newer" } }), error_responses(&[400, 401, 403])) } },
            "/v1/visits": { "get": {
                "summary": "Visits planned for this tablet after `since`: new applications, and hand-overs of a ready result (kind handover, with the case number; see docs/visits.md)",
                "parameters": [ { "name": "since", "in": "query", "example": 0, "schema": signed_cursor() } ],
                "responses": with(json!({ "200": { "description": "visits and the next cursor" } }), error_responses(&[400, 401, 403])) } },
            "/v1/keys": { "get": {
                "summary": "The current sealing key (changes when rotated) and the receipt key, asked at every sync",
                "responses": with(json!({ "200": { "description": "sealing_key_id, sealing_public_key, receipt_public_key (hex), device_ca (SHA-256 of the CA that issues now), public_url (where applicants follow their cases, when the server has a public side)",
                                                   "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Keys" } } } } }), error_responses(&[401, 403])) } },
            "/v1/certificate": { "post": {
                "summary": "A new client certificate from the current device CA for a new TLS key (after a device CA rotation)",
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["tls_public_key"], "properties": { "tls_public_key": p256_point() } } } } },
                "responses": with(json!({ "200": { "description": "client_certificate (DER, base64) and device_ca (SHA-256 hex)" } }), error_responses(&[400, 401, 403, 422])) } },
            "/v1/commands": { "get": {
                "summary": "Commands for this tablet (such as wipe), each handed over once; also over the tablet's command-only certificate, and to a revoked tablet",
                "responses": with(json!({ "200": { "description": "commands" } }), error_responses(&[401, 403])) } },
            "/v1/commands/certificate": { "post": {
                "summary": "A certificate good for the command feed only, for a TLS key the tablet keeps outside its vault (so a locked tablet picks up a wipe); replaces the earlier one",
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["tls_public_key"], "properties": { "tls_public_key": p256_point() } } } } },
                "responses": with(json!({ "200": { "description": "client_certificate (DER, base64) and device_ca (SHA-256 hex)" } }), error_responses(&[400, 401, 403, 422])) } },
            "/v1/status": { "get": {
                "summary": "Status changes of the cases this tablet sealed or was planned to hand over, and of no other", "parameters": [ { "name": "since", "in": "query", "example": 0, "schema": signed_cursor() } ],
                "responses": with(json!({ "200": { "description": "events and the next cursor" } }), error_responses(&[400, 401, 403])) } }
        },
        "components": { "schemas": {
            "Error": { "type": "object", "required": ["code", "message"], "properties": {
                "code": { "type": "string", "description": "stable: not_found, gone, wrong_offset, checksum_mismatch, unsupported_checksum, too_large, unauthenticated, invalid_enroll_code, tus_version, wrong_content_type, audit_rollback, device_revoked, unknown_device, bad_envelope, missing_part, conflict, mismatch, malformed_request, too_many_attempts (429, with Retry-After), too_many_uploads (429), pending_bytes_quota (507), storage" },
                "message": { "type": "string" } } },
            "EnrollRequest": { "type": "object", "required": ["code", "device_id", "signing_public_key", "tls_public_key"],
                "examples": [ { "code": "K7Q2-99XA", "device_id": "T07", "signing_public_key": "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
                                "tls_public_key": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE" } ],
                "properties": { "code": { "type": "string" }, "device_id": { "type": "string", "pattern": "^[A-Za-z0-9-]{1,32}$" },
                                "signing_public_key": { "type": "string", "pattern": "^[0-9A-Fa-f]{64}$", "description": "Ed25519, 32 bytes, hex" },
                                "tls_public_key": base64_text("the TLS key: uncompressed P-256 point; a string that decodes but is not a point on the curve is refused with 400 mismatch, after the code is checked") } },
            "EnrollResponse": { "type": "object", "properties": { "device_id": { "type": "string" }, "client_certificate": { "type": "string" },
                "sealing_key_id": { "type": "string" }, "sealing_public_key": { "type": "string" }, "receipt_public_key": { "type": "string" } } },
            "Commit": { "type": "object", "required": ["manifest", "signature"], "description": "A manifest that does not open, whose signature does not verify with the tablet's key, or whose envelope id is not the path's, is refused with 400 bad_envelope or mismatch.",
                "properties": { "manifest": base64_text("the signed manifest"), "signature": base64_text("Ed25519 signature of the manifest") } },
            "DeviceReport": { "type": "object", "required": ["cases_sealed", "envelopes_waiting", "audit_seq", "audit_hash"],
                "examples": [ { "cases_sealed": 3, "envelopes_waiting": 1, "last_case_number": "ЦНАП-2026-000123", "audit_seq": 41,
                                "audit_hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "waiting_cases": ["ЦНАП-2026-000123"],
                                "consultations": [ { "day": "2026-12-05", "service_code": "01-002", "count": 2 }, { "day": "2026-12-05", "count": 1 } ] } ],
                "description": "Counts are JSON integers written without a fraction: 1.0, which JSON Schema also calls an integer, is refused with 400 malformed_request.",
                "properties": { "cases_sealed": counter(), "envelopes_waiting": counter(),
                                "last_case_number": { "type": ["string", "null"] }, "audit_seq": counter(), "audit_hash": { "type": "string" },
                                "waiting_cases": { "type": "array", "items": { "type": "string" } },
                                "consultations": { "type": "array", "maxItems": 20000, "items": { "$ref": "#/components/schemas/ConsultationCount" } } } },
            "ConsultationCount": { "type": "object", "required": ["day", "count"],
                "description": "Consultations without a case (regulation 2.36) on one day about one service; no service_code for «інше питання». Counts only, never what was asked.",
                "properties": { "day": { "type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$", "description": "YYYY-MM-DD: month 01–12, day 01–31" },
                                "service_code": { "type": ["string", "null"], "minLength": 1, "maxLength": 64, "description": "1 to 64 bytes of UTF-8; absent or null for «інше питання»" }, "count": counter() } },
            "Keys": { "type": "object", "required": ["sealing_key_id", "sealing_public_key", "receipt_public_key", "device_ca"],
                "properties": { "sealing_key_id": { "type": "string" }, "sealing_public_key": { "type": "string", "pattern": "^[0-9a-f]{64}$" },
                                "receipt_public_key": { "type": "string", "pattern": "^[0-9a-f]{64}$" }, "device_ca": { "type": "string", "pattern": "^[0-9a-f]{64}$" },
                                "public_url": { "type": "string", "description": "The base address of the public tracking page: a receipt's QR is {public_url}/t/{tracking code}. Absent when the server has no public side." } } },
            "SignedReceipt": { "type": "object", "properties": { "receipt": { "type": "string" }, "signature": { "type": "string" } } }
        } }
    })
}

fn with_length(max_upload_bytes: u64) -> Value {
    let mut parameters = tus_headers();
    if let Some(list) = parameters.as_array_mut() {
        // Longer than the server's maximum is 413 too_large (Tus-Max-Size says the same).
        list.push(json!({ "name": "Upload-Length", "in": "header", "required": true, "schema": { "type": "integer", "minimum": 0, "maximum": max_upload_bytes } }));
    }
    parameters
}

fn id_and_tus() -> Value {
    let mut parameters = tus_headers();
    if let Some(list) = parameters.as_array_mut() {
        list.push(
            json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "pattern": "^[0-9a-f]{32}$" } }),
        );
    }
    parameters
}

/// PATCH's headers: where the chunk starts, and optionally its checksum (tus checksum
/// extension: "sha1 <base64>" or "sha256 <base64>"; one that does not match is 460).
fn append_headers() -> Value {
    let mut parameters = id_and_tus();
    if let Some(list) = parameters.as_array_mut() {
        list.push(json!({ "name": "Upload-Offset", "in": "header", "required": true, "schema": { "type": "integer", "minimum": 0, "maximum": u64::MAX } }));
        list.push(json!({ "name": "Upload-Checksum", "in": "header", "required": false,
                          "schema": { "type": "string", "pattern": "^(sha1|sha256) (?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$" } }));
    }
    parameters
}

/// The cursor of the status and visit feeds: a signed 64-bit number.
fn signed_cursor() -> Value {
    json!({ "type": "integer", "minimum": i64::MIN, "maximum": i64::MAX })
}

/// A count the tablet reports: an unsigned 64-bit number.
fn counter() -> Value {
    json!({ "type": "integer", "minimum": 0, "maximum": u64::MAX })
}

/// Standard base64 with padding and no stray bits in the last character: the only form the
/// server decodes.
fn base64_text(description: &str) -> Value {
    json!({ "type": "string", "contentEncoding": "base64", "description": description,
            "pattern": "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$" })
}

/// An uncompressed P-256 point (65 bytes, first 0x04) in standard base64: 88 characters.
fn p256_point() -> Value {
    json!({ "type": "string", "contentEncoding": "base64",
            "description": "uncompressed P-256 point (65 bytes starting 0x04), base64; one that is not on the curve is refused with 400 mismatch",
            "pattern": "^B[A-Za-z0-9+/]{85}[AEIMQUYcgkosw048]=$" })
}

/// A response header the server always (or sometimes) sends.
fn header_text(required: bool) -> Value {
    json!({ "required": required, "schema": { "type": "string" } })
}

/// An upload created is the one its offset, append and termination take: its id is the last
/// part of Location (schemathesis's stateful phase follows these links).
fn upload_links() -> Value {
    let id = "$response.header.Location#regex:/v1/uploads/([0-9a-f]+)$";
    json!({
        "Offset": { "operationId": "tusOffset", "parameters": { "id": id } },
        "Append": { "operationId": "tusAppend", "parameters": { "id": id } },
        "Terminate": { "operationId": "tusTerminate", "parameters": { "id": id } }
    })
}

/// Enrollment's 429 too_many_attempts: the JSON error and how long the address waits.
fn waited_out() -> Value {
    json!({ "429": { "description": "too_many_attempts: this address waits before it may try again",
                     "headers": { "Retry-After": { "required": true, "description": "seconds", "schema": { "type": "string", "pattern": "^[0-9]+$" } } },
                     "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } } })
}
