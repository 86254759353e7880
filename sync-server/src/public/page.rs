//! The frame of every public page: small, server-rendered, no JavaScript, large type and high
//! contrast for a cheap phone in an applicant's hand; Ukrainian first, English by `?lang=en`
//! (carried in every link, so no cookie is needed).

use std::fmt::Write;

use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

pub use crate::office::html::{Lang, esc, url};

/// The language a request asks for: `lang=en` in its query, otherwise Ukrainian.
pub fn lang_of(uri: &Uri) -> Lang {
    let english = uri
        .query()
        .is_some_and(|q| q.split('&').any(|pair| pair == "lang=en"));
    if english { Lang::En } else { Lang::Uk }
}

/// `path` (which may carry its own query) as a link that keeps the language.
pub fn href(lang: Lang, path: &str) -> String {
    match lang {
        Lang::Uk => path.to_owned(),
        Lang::En if path.contains('?') => format!("{path}&lang=en"),
        Lang::En => format!("{path}?lang=en"),
    }
}

/// Text the catalog has only in Ukrainian (a document's title, an address): on an English page
/// it is marked as Ukrainian, so a screen reader reads it as such (WCAG 3.1.2).
pub fn uk_only(lang: Lang, text: &str) -> String {
    match lang {
        Lang::Uk => esc(text),
        Lang::En => format!("<span lang=\"uk\">{}</span>", esc(text)),
    }
}

/// A hidden form field that keeps the language across a form's submission.
pub fn lang_field(lang: Lang) -> &'static str {
    match lang {
        Lang::Uk => "",
        Lang::En => "<input type=\"hidden\" name=\"lang\" value=\"en\">",
    }
}

const STYLE: &str = "
*{box-sizing:border-box}
body{font-family:'DejaVu Sans',Arial,sans-serif;margin:0;color:#000;background:#fff;font-size:20px;line-height:1.5}
header{background:#0b3d91;color:#fff;padding:12px 16px}
header a{color:#fff}
header .site{font-size:22px;font-weight:bold;display:block;margin-bottom:6px;text-decoration:none}
nav{display:flex;flex-wrap:wrap;gap:6px 18px}
main{padding:16px;max-width:44em;margin:0 auto}
footer{border-top:2px solid #0b3d91;padding:16px;max-width:44em;margin:24px auto 0;font-size:18px}
a{color:#0645ad}
a:focus,button:focus,input:focus,select:focus,textarea:focus{outline:3px solid #c60;outline-offset:2px}
h1{font-size:28px;line-height:1.25;margin:8px 0 16px}
h2{font-size:23px;margin:24px 0 8px}
label{display:block;font-weight:bold;margin:14px 0 4px}
input,select,textarea{font-size:20px;padding:10px;width:100%;border:2px solid #333;border-radius:4px;background:#fff;color:#000}
input[type=checkbox],input[type=radio]{width:auto;transform:scale(1.4);margin:0 10px 0 4px}
button{font-size:21px;padding:12px 22px;min-height:48px;background:#0b3d91;color:#fff;border:0;border-radius:4px;cursor:pointer;margin-top:16px}
button.secondary{background:#fff;color:#0b3d91;border:2px solid #0b3d91}
.notice{background:#fff3cd;border:2px solid #8a6d00;padding:10px 14px;margin:12px 0}
.error{background:#fde2e1;border:2px solid #b42318;padding:10px 14px;margin:12px 0}
.ok{background:#e3f4e8;border:2px solid #116329;padding:10px 14px;margin:12px 0}
.state{font-size:24px;font-weight:bold}
.late{color:#b42318;font-weight:bold}
ol.timeline{padding-left:1.4em}ol.timeline li{margin:6px 0}
dl dt{font-weight:bold;margin-top:10px}dl dd{margin:0 0 0 0}
.hint{color:#333;font-size:18px}
ul.links{list-style:none;padding:0;margin:0}
ul.links li{padding:6px 0 10px;border-bottom:1px solid #767676}
ul.links a{font-weight:bold;display:inline-block;padding:8px 0}
ul.links .hint,ol.documents .line{display:block}
ol.documents{padding-left:1.4em}ol.documents li{margin:0 0 16px}
.doc{font-weight:bold;display:block}
.wrap{overflow-wrap:anywhere}
.iban{font-family:'DejaVu Sans Mono',monospace;font-size:18px}
.amount{font-size:24px;font-weight:bold}
form.search .row{display:flex;flex-wrap:wrap;gap:8px}
form.search input{flex:1 1 12em;width:auto}
form.search button{margin-top:0}
form.search .hint{margin:0 0 6px}
ul.suggest li{margin:8px 0}
";

/// What a page says about itself.
pub struct Frame<'a> {
    pub lang: Lang,
    pub title: &'a str,
    /// This page's path (with its query, without `lang`), for the language switch.
    pub path: &'a str,
    /// The centre's name, address and hours for the footer (from the published catalog).
    pub footer: Option<String>,
}

/// A whole page around `body`.
pub fn page(frame: &Frame<'_>, body: &str) -> String {
    let lang = frame.lang;
    let mut out = String::with_capacity(body.len() + STYLE.len() + 1024);
    let _ = write!(
        out,
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · {}</title><style>{STYLE}</style></head><body>\
         <header><a class=\"site\" href=\"{}\">{}</a><nav aria-label=\"{}\">\
         <a href=\"{}\">{}</a><a href=\"{}\">{}</a><a href=\"{}\">{}</a>",
        lang.code(),
        esc(frame.title),
        lang.t("ЦНАП", "Administrative services centre"),
        href(lang, "/"),
        lang.t("ЦНАП · послуги вдома", "Administrative services · at home"),
        lang.t("Розділи сайту", "Site sections"),
        href(lang, "/t"),
        lang.t("Стан справи", "Track a case"),
        href(lang, "/services"),
        lang.t("Послуги", "Services"),
        href(lang, "/visit"),
        lang.t("Виклик адміністратора додому", "Ask for a home visit"),
    );
    let (other, other_code, other_name) = match lang {
        Lang::Uk => (href(Lang::En, frame.path), "en", "English"),
        Lang::En => (frame.path.to_owned(), "uk", "Українська"),
    };
    let _ = write!(
        out,
        "<a href=\"{}\" lang=\"{other_code}\" hreflang=\"{other_code}\">{other_name}</a></nav></header>\
         <main><h1>{}</h1>{body}</main>",
        esc(&other),
        esc(frame.title),
    );
    if let Some(footer) = &frame.footer {
        let _ = write!(out, "<footer>{footer}</footer>");
    }
    out.push_str("</body></html>");
    out
}

/// An HTML response with `status`.
pub fn html(status: StatusCode, body: String) -> Response {
    let mut response = (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response();
    // An oversized form is refused before the rest of its body is read, so the connection
    // cannot carry another request: the server closes it, and says so, or a browser sending
    // its next request on the same connection would find it cut (seen as a flaky test).
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        response.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_is_asked_for_in_the_query_and_kept_in_links() {
        let uri: Uri = "/services?q=%D0%BF&lang=en".parse().unwrap();
        assert_eq!(lang_of(&uri), Lang::En);
        assert_eq!(lang_of(&"/services".parse().unwrap()), Lang::Uk);
        assert_eq!(lang_of(&"/x?slang=en".parse().unwrap()), Lang::Uk);
        assert_eq!(href(Lang::En, "/services"), "/services?lang=en");
        assert_eq!(href(Lang::En, "/s?q=1"), "/s?q=1&lang=en");
        assert_eq!(href(Lang::Uk, "/s?q=1"), "/s?q=1");
    }
}
