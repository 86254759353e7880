//! Reading a public form. A body over [`super::MAX_FORM_BYTES`] is refused, but read on (and
//! thrown away) up to [`DRAIN_BYTES`] first: a server that answers and closes while the phone
//! is still sending makes the phone's network stack reset the connection, and the person sees
//! a browser error instead of our page saying the form was too large.

use std::pin::Pin;

use axum::Form;
use axum::body::{Body, HttpBody};
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

use super::MAX_FORM_BYTES;

/// How much of an oversized body is read to answer it with a page; past this the connection
/// is simply closed.
const DRAIN_BYTES: usize = 1024 * 1024;

/// Why a form was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormError {
    TooLarge,
    /// Not `application/x-www-form-urlencoded`, not UTF-8, or fields that are not ours.
    NotAForm,
}

/// Read `request`'s body as the form `T`.
pub async fn read<T: DeserializeOwned>(request: Request) -> Result<T, FormError> {
    let (parts, mut body) = request.into_parts();
    let mut kept = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let Ok(frame) = frame else {
            return Err(FormError::NotAForm);
        };
        if let Ok(data) = frame.into_data() {
            total = total.saturating_add(data.len());
            if total > DRAIN_BYTES {
                return Err(FormError::TooLarge);
            }
            if total <= MAX_FORM_BYTES {
                kept.extend_from_slice(&data);
            }
        }
    }
    if total > MAX_FORM_BYTES {
        return Err(FormError::TooLarge);
    }
    let urlencoded = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !urlencoded {
        return Err(FormError::NotAForm);
    }
    let request = Request::from_parts(parts, Body::from(kept));
    Form::<T>::from_request(request, &())
        .await
        .map(|Form(form)| form)
        .map_err(|_| FormError::NotAForm)
}
