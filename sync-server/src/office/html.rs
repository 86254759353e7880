//! HTML for the back-office: escaping, the page frame and the two languages. Pages are plain
//! server-rendered forms; nothing needs JavaScript.

use std::fmt::Write;

/// The back-office language: Ukrainian first, English second (a cookie remembers the choice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Uk,
    En,
}

impl Lang {
    pub fn from_cookie(value: Option<&str>) -> Self {
        match value {
            Some("en") => Lang::En,
            _ => Lang::Uk,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Uk => "uk",
            Lang::En => "en",
        }
    }

    /// The text in this language.
    pub fn t<'a>(self, uk: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Uk => uk,
            Lang::En => en,
        }
    }
}

/// Escape text for HTML element content and quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Escape a query-string value.
pub fn url(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
    out
}

const STYLE: &str = "
body{font-family:'DejaVu Sans',sans-serif;margin:0;color:#111;background:#f4f6f8;font-size:17px}
header{background:#0b4f9c;color:#fff;padding:10px 20px;display:flex;gap:18px;align-items:center;flex-wrap:wrap}
header a,header button{color:#fff;font-size:17px}
header form{display:inline;margin:0}
header button{background:none;border:1px solid #fff;padding:4px 10px;cursor:pointer}
main{padding:16px 20px;max-width:1300px}
table{border-collapse:collapse;background:#fff;width:100%}
th,td{border:1px solid #c9d1d9;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#e8edf2}
.notice{background:#fff3cd;border:1px solid #c9a227;padding:8px 12px;margin:8px 0}
.error{background:#fde2e1;border:1px solid #b42318;padding:8px 12px;margin:8px 0}
.ok{color:#116329;font-weight:bold}.bad{color:#b42318;font-weight:bold}
.counts a{margin-right:14px}
form.inline{display:inline}
input,select,textarea,button{font-size:17px;padding:6px}
button.primary{background:#0b4f9c;color:#fff;border:0;padding:8px 16px}
img.page{max-width:100%;border:1px solid #888;background:#fff}
.pages{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:12px}
pre{white-space:pre-wrap;background:#fff;border:1px solid #c9d1d9;padding:8px}
";

/// The signed-in user as the frame shows them.
pub struct Frame<'a> {
    pub lang: Lang,
    pub title: &'a str,
    /// Username and role, and the CSRF token for the sign-out form; None on the login page.
    pub user: Option<(&'a str, &'a str, &'a str)>,
}

/// A whole page around `body`.
pub fn page(frame: &Frame<'_>, body: &str) -> String {
    let lang = frame.lang;
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · fieldkit</title><style>{STYLE}</style></head><body><header>\
         <strong>fieldkit · {}</strong>",
        lang.code(),
        esc(frame.title),
        lang.t("бек-офіс ЦНАП", "centre back-office"),
    );
    if let Some((user, role, csrf)) = frame.user {
        let _ = write!(
            out,
            "<a href=\"/office/inbox\">{}</a><a href=\"/office/reconciliation\">{}</a>\
             <a href=\"/office/visits\">{}</a><a href=\"/office/visit-requests\">{}</a>\
             <a href=\"/office/catalog\">{}</a>\
             <a href=\"/office/devices\">{}</a><span>{} ({})</span>\
             <form method=\"post\" action=\"/office/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button>{}</button></form>",
            lang.t("Вхідні", "Inbox"),
            lang.t("Звірка", "Reconciliation"),
            lang.t("Виїзди", "Visits"),
            lang.t("Запити на виїзд", "Visit requests"),
            lang.t("Каталог", "Catalog"),
            lang.t("Пристрої", "Devices"),
            esc(user),
            esc(role),
            esc(csrf),
            lang.t("Вийти", "Sign out"),
        );
    }
    let other = match lang {
        Lang::Uk => ("en", "English"),
        Lang::En => ("uk", "Українська"),
    };
    let _ = write!(
        out,
        "<a href=\"/office/lang?to={}\" lang=\"{}\">{}</a></header><main><h1>{}</h1>{body}</main></body></html>",
        other.0,
        other.0,
        other.1,
        esc(frame.title)
    );
    out
}

/// A hidden CSRF field for a form.
pub fn csrf_field(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(token)
    )
}

/// A Unix time as staff read it (UTC).
pub fn when(at: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| at.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
        assert_eq!(url("ЦНАП 1&x"), "%D0%A6%D0%9D%D0%90%D0%9F%201%26x");
    }
}
