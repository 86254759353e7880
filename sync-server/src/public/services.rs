//! The published catalog as the public reads it: the same catalog the tablets get, grouped
//! three ways (life situation, legal area, provider, regulation 2.31), searched by Ukrainian
//! words, each information card in full (Law «Про адміністративні послуги», Art. 8), and the
//! centre and the providers with their addresses and hours.
//!
//! Every phrase about the card — the term, the fee, a document's form, a condition's rule, how
//! the result is received, an office's contacts — is the domain's words, the same the tablet
//! shows. Pages read the catalog through `PublicState::catalog`, so a catalog published in the
//! back-office is on them at the next request. A search query is never logged: a person may
//! type anything into it.

use std::sync::Arc;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use fieldkit_domain::catalog::{Catalog, Fee, Group, Service};
use fieldkit_domain::common::{Necessity, ProviderId, ServiceCode, plural_form_uk};
use fieldkit_domain::payment::compact_iban;
use serde::Deserialize;

use super::page::{Lang, esc, href, html, lang_field, lang_of, uk_only, url};
use super::{PublicState, contacts_html, not_found};

/// The longest search query taken, in characters (the rest is cut): the words of a service's
/// name fit well within it.
const MAX_QUERY_CHARS: usize = 100;

/// How many example words a search that found nothing suggests.
const SUGGESTED_WORDS: usize = 6;

/// `?q=` of `/services`.
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
}

/// The catalog published now, or the page a request gets instead: the plain sentence that
/// nothing is published yet (with `status`), or the failure page.
fn published(
    state: &PublicState,
    lang: Lang,
    path: &str,
    status: StatusCode,
) -> Result<Arc<Catalog>, Box<Response>> {
    match state.catalog() {
        Ok(Some(catalog)) => Ok(catalog),
        Ok(None) => {
            let body = format!(
                "<p>{}</p><p><a href=\"{}\">{}</a></p>",
                lang.t(
                    "Перелік послуг ще не опубліковано. Загляньте пізніше або зателефонуйте до центру.",
                    "The list of services is not published yet. Please look again later or call the centre."
                ),
                href(lang, "/"),
                lang.t("На головну", "Home page"),
            );
            let title = lang.t("Послуги", "Services");
            Err(Box::new(html(status, state.page(lang, title, path, &body))))
        }
        Err(error) => Err(Box::new(state.failure(lang, &error))),
    }
}

/// A title from the catalog in the page's language: the English one where the catalog has it.
fn title_in<'a>(lang: Lang, uk: &'a str, en: Option<&'a str>) -> &'a str {
    match (lang, en) {
        (Lang::En, Some(en)) => en,
        _ => uk,
    }
}

/// The same, as HTML: a Ukrainian title on an English page is marked as Ukrainian.
fn title_html(lang: Lang, uk: &str, en: Option<&str>) -> String {
    match (lang, en) {
        (Lang::En, Some(en)) => esc(en),
        _ => uk_only(lang, uk),
    }
}

/// «5 послуг» / «5 services».
fn count_services(lang: Lang, n: usize) -> String {
    match lang {
        Lang::Uk => {
            let form = ["послуга", "послуги", "послуг"][plural_form_uk(n as u64)];
            format!("{n} {form}")
        }
        Lang::En if n == 1 => "1 service".to_owned(),
        Lang::En => format!("{n} services"),
    }
}

fn service_path(service: &Service) -> String {
    format!("/services/{}", url(&service.code.0))
}

/// The services as a list of links, each with its term and fee under it.
fn service_list(lang: Lang, services: &[&Service]) -> String {
    let mut out = String::from("<ul class=\"links\">");
    for service in services {
        let (term_uk, term_en) = service.term.words();
        let (fee_uk, fee_en) = service.fee.amount_words();
        out.push_str(&format!(
            "<li><a href=\"{}\">{}</a><span class=\"hint\">{}: {} · {}: {}</span></li>",
            esc(&href(lang, &service_path(service))),
            title_html(lang, &service.title, service.title_en.as_deref()),
            lang.t("Строк", "Term"),
            lang.t(&term_uk, &term_en),
            lang.t("Плата", "Fee"),
            lang.t(&fee_uk, &fee_en),
        ));
    }
    out.push_str("</ul>");
    out
}

/// Groups as a list of links, each with how many services it holds.
fn group_list(lang: Lang, kind: &str, groups: &[Group], count: impl Fn(&str) -> usize) -> String {
    let mut out = String::from("<ul class=\"links\">");
    for group in groups {
        out.push_str(&format!(
            "<li><a href=\"{}\">{}</a><span class=\"hint\">{}</span></li>",
            esc(&href(lang, &format!("/services/{kind}/{}", url(&group.id)))),
            title_html(lang, &group.title, group.title_en.as_deref()),
            count_services(lang, count(&group.id)),
        ));
    }
    out.push_str("</ul>");
    out
}

/// The search form, with the query typed so far.
fn search_form(lang: Lang, query: &str) -> String {
    format!(
        "<form class=\"search\" method=\"get\" action=\"/services\" role=\"search\">\
         <label for=\"q\">{}</label><p class=\"hint\" id=\"q-hint\">{}</p>\
         <div class=\"row\"><input id=\"q\" name=\"q\" type=\"search\" value=\"{}\" \
         maxlength=\"{MAX_QUERY_CHARS}\" aria-describedby=\"q-hint\">{}\
         <button type=\"submit\">{}</button></div></form>",
        lang.t("Пошук послуги", "Find a service"),
        lang.t(
            "Слово з назви, наприклад «пенсія», «субсидія», «прописка».",
            "A word of its name, e.g. «pension», «subsidy», or in Ukrainian \
             «<span lang=\"uk\">прописка</span>».",
        ),
        esc(query),
        lang_field(lang),
        lang.t("Знайти", "Search"),
    )
}

/// `GET /services`: the three groupings and the search form; `?q=` searches.
pub async fn index(
    State(state): State<Arc<PublicState>>,
    uri: Uri,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> Response {
    let lang = lang_of(&uri);
    let typed = query.ok().and_then(|Query(q)| q.q).unwrap_or_default();
    let typed: String = typed.trim().chars().take(MAX_QUERY_CHARS).collect();
    let path = if typed.is_empty() {
        "/services".to_owned()
    } else {
        format!("/services?q={}", url(&typed))
    };
    let catalog = match published(&state, lang, &path, StatusCode::OK) {
        Ok(catalog) => catalog,
        Err(page) => return *page,
    };
    if !typed.is_empty() {
        return search_page(&state, lang, &catalog, &typed, &path);
    }
    let body = format!(
        "{}<h2>{}</h2>{}<h2>{}</h2>{}<h2>{}</h2>{}<p><a href=\"{}\">{}</a></p>",
        search_form(lang, ""),
        lang.t("За життєвою ситуацією", "By life situation"),
        group_list(lang, "situation", &catalog.life_situations, |id| {
            catalog.services_in_life_situation(id).len()
        }),
        lang.t("За сферою правовідносин", "By legal area"),
        group_list(lang, "area", &catalog.legal_areas, |id| {
            catalog.services_in_legal_area(id).len()
        }),
        lang.t("За суб'єктом надання", "By provider"),
        provider_list(lang, &catalog),
        esc(&href(lang, "/centres")),
        lang.t(
            "Центр і суб'єкти надання: адреси й графік роботи",
            "The centre and the providers: addresses and hours",
        ),
    );
    let title = lang.t("Послуги", "Services");
    html(StatusCode::OK, state.page(lang, title, &path, &body))
}

fn provider_list(lang: Lang, catalog: &Catalog) -> String {
    let mut out = String::from("<ul class=\"links\">");
    for provider in &catalog.providers {
        let (uk, en) = provider.office.names();
        out.push_str(&format!(
            "<li><a href=\"{}\">{}</a><span class=\"hint\">{}</span></li>",
            esc(&href(
                lang,
                &format!("/services/provider/{}", url(&provider.id.0))
            )),
            title_html(lang, uk, (uk != en).then_some(en)),
            count_services(lang, catalog.services_of_provider(&provider.id).len()),
        ));
    }
    out.push_str("</ul>");
    out
}

/// The services a query finds, or the sentence that none is found with what to try instead.
fn search_page(
    state: &PublicState,
    lang: Lang,
    catalog: &Catalog,
    typed: &str,
    path: &str,
) -> Response {
    let found = catalog.search(typed);
    let mut body = search_form(lang, typed);
    if found.is_empty() {
        body.push_str(&format!(
            "<p class=\"notice\" role=\"status\">{} «{}» {}</p>",
            lang.t("За запитом", "For"),
            esc(typed),
            lang.t("нічого не знайдено.", "nothing was found."),
        ));
        body.push_str(&suggestions(lang, catalog, typed));
    } else {
        body.push_str(&format!(
            "<p role=\"status\">{} «{}» {}: {}.</p>",
            lang.t("За запитом", "For"),
            esc(typed),
            lang.t("знайдено", "found"),
            count_services(lang, found.len()),
        ));
        body.push_str(&service_list(lang, &found));
    }
    let title = lang.t("Пошук послуг", "Search for services");
    html(StatusCode::OK, state.page(lang, title, path, &body))
}

/// What to try when a query found nothing: each of its words alone where that finds something,
/// words from the catalog's keywords (single words first), and browsing by group. Each is a
/// link of its own, a finger's size apart.
fn suggestions(lang: Lang, catalog: &Catalog, typed: &str) -> String {
    let search_link = |word: &str, hint: &str| {
        format!(
            "<li><a href=\"{}\">{}</a>{hint}</li>",
            esc(&href(lang, &format!("/services?q={}", url(word)))),
            uk_only(lang, word)
        )
    };
    let mut out = format!("<h2>{}</h2>", lang.t("Що можна спробувати", "What to try"));
    let words: Vec<&str> = typed.split_whitespace().collect();
    if words.len() > 1 {
        let alone: Vec<String> = words
            .iter()
            .filter_map(|word| {
                let hits = catalog.search(word).len();
                (hits > 0).then(|| {
                    let hint =
                        format!("<span class=\"hint\">{}</span>", count_services(lang, hits));
                    search_link(word, &hint)
                })
            })
            .collect();
        if !alone.is_empty() {
            out.push_str(&format!(
                "<p>{}</p><ul class=\"links\">{}</ul>",
                lang.t("Кожне слово окремо знаходить:", "Each word alone finds:"),
                alone.concat()
            ));
        }
    }
    let keywords = || catalog.services.iter().flat_map(|s| s.keywords.iter());
    let mut examples: Vec<&str> = Vec::new();
    let single = keywords().filter(|k| !k.contains(' '));
    let phrases = keywords().filter(|k| k.contains(' '));
    for keyword in single.chain(phrases) {
        if examples.len() < SUGGESTED_WORDS && !examples.contains(&keyword.as_str()) {
            examples.push(keyword);
        }
    }
    if !examples.is_empty() {
        let links: Vec<String> = examples.iter().map(|w| search_link(w, "")).collect();
        out.push_str(&format!(
            "<p>{}</p><ul class=\"links\">{}</ul>",
            lang.t(
                "Напишіть одне слово або лише його початок, наприклад:",
                "Type one word, or only its beginning, in Ukrainian, e.g.:"
            ),
            links.concat()
        ));
    }
    out.push_str(&format!(
        "<p><a href=\"{}\">{}</a></p>",
        esc(&href(lang, "/services")),
        lang.t(
            "Або оберіть послугу за життєвою ситуацією, сферою чи суб'єктом надання",
            "Or choose a service by life situation, legal area or provider"
        )
    ));
    out
}

/// Which grouping a group page shows.
#[derive(Debug, Clone, Copy)]
enum Grouping {
    Situation,
    Area,
}

/// `GET /services/situation/{id}`.
pub async fn situation(
    state: State<Arc<PublicState>>,
    uri: Uri,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    group_page(state, uri, id, Grouping::Situation).await
}

/// `GET /services/area/{id}`.
pub async fn area(
    state: State<Arc<PublicState>>,
    uri: Uri,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    group_page(state, uri, id, Grouping::Area).await
}

async fn group_page(
    State(state): State<Arc<PublicState>>,
    uri: Uri,
    id: Result<Path<String>, PathRejection>,
    grouping: Grouping,
) -> Response {
    let lang = lang_of(&uri);
    let Ok(Path(id)) = id else {
        return not_found(State(state), uri).await;
    };
    let (segment, groups_of): (&str, fn(&Catalog) -> &Vec<Group>) = match grouping {
        Grouping::Situation => ("situation", |c| &c.life_situations),
        Grouping::Area => ("area", |c| &c.legal_areas),
    };
    let path = format!("/services/{segment}/{}", url(&id));
    let catalog = match published(&state, lang, &path, StatusCode::NOT_FOUND) {
        Ok(catalog) => catalog,
        Err(page) => return *page,
    };
    let Some(group) = groups_of(&catalog).iter().find(|g| g.id == id) else {
        return not_found(State(state), uri).await;
    };
    let (kind, services) = match grouping {
        Grouping::Situation => (
            lang.t("Життєва ситуація", "Life situation"),
            catalog.services_in_life_situation(&id),
        ),
        Grouping::Area => (
            lang.t("Сфера правовідносин", "Legal area"),
            catalog.services_in_legal_area(&id),
        ),
    };
    let body = format!(
        "<p class=\"hint\">{kind} · {}</p>{}<p><a href=\"{}\">{}</a></p>",
        count_services(lang, services.len()),
        service_list(lang, &services),
        esc(&href(lang, "/services")),
        lang.t("Усі групи послуг", "All groups of services"),
    );
    let title = title_in(lang, &group.title, group.title_en.as_deref());
    html(StatusCode::OK, state.page(lang, title, &path, &body))
}

/// `GET /services/provider/{id}`: the provider's contacts and its services.
pub async fn provider(
    State(state): State<Arc<PublicState>>,
    uri: Uri,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let lang = lang_of(&uri);
    let Ok(Path(id)) = id else {
        return not_found(State(state), uri).await;
    };
    let path = format!("/services/provider/{}", url(&id));
    let catalog = match published(&state, lang, &path, StatusCode::NOT_FOUND) {
        Ok(catalog) => catalog,
        Err(page) => return *page,
    };
    let id = ProviderId(id);
    let Some(provider) = catalog.provider(&id) else {
        return not_found(State(state), uri).await;
    };
    let services = catalog.services_of_provider(&id);
    let body = format!(
        "<p class=\"hint\">{}</p>{}<h2>{}</h2>{}<p><a href=\"{}\">{}</a></p>",
        lang.t("Суб'єкт надання послуг", "Service provider"),
        contacts_html(lang, &provider.office),
        lang.t("Послуги", "Services"),
        service_list(lang, &services),
        esc(&href(lang, "/services")),
        lang.t("Усі групи послуг", "All groups of services"),
    );
    let (uk, en) = provider.office.names();
    html(
        StatusCode::OK,
        state.page(lang, lang.t(uk, en), &path, &body),
    )
}

/// `GET /services/{code}`: the whole information card.
pub async fn card(
    State(state): State<Arc<PublicState>>,
    uri: Uri,
    code: Result<Path<String>, PathRejection>,
) -> Response {
    let lang = lang_of(&uri);
    let Ok(Path(code)) = code else {
        return not_found(State(state), uri).await;
    };
    let path = format!("/services/{}", url(&code));
    let catalog = match published(&state, lang, &path, StatusCode::NOT_FOUND) {
        Ok(catalog) => catalog,
        Err(page) => return *page,
    };
    let Some(service) = catalog.service(&ServiceCode(code)) else {
        return not_found(State(state), uri).await;
    };
    let body = card_html(lang, &catalog, service);
    let title = title_in(lang, &service.title, service.title_en.as_deref());
    html(StatusCode::OK, state.page(lang, title, &path, &body))
}

/// A list of the catalog's Ukrainian lines.
fn uk_list(lang: Lang, lines: &[String]) -> String {
    let items: Vec<String> = lines
        .iter()
        .map(|line| format!("<li>{}</li>", uk_only(lang, line)))
        .collect();
    format!("<ul>{}</ul>", items.concat())
}

/// The card in the order of the Law's Art. 8: documents, fee, term, result and how it is
/// received, refusal grounds, legal acts, any later fields; then who provides it and how to ask.
fn card_html(lang: Lang, catalog: &Catalog, service: &Service) -> String {
    let mut out = String::new();
    // Where it belongs: the code and the groups, as links.
    let mut groups = Vec::new();
    for (segment, ids, all) in [
        (
            "situation",
            &service.life_situations,
            &catalog.life_situations,
        ),
        ("area", &service.legal_areas, &catalog.legal_areas),
    ] {
        for group in all.iter().filter(|g| ids.contains(&g.id)) {
            groups.push(format!(
                "<a href=\"{}\">{}</a>",
                esc(&href(
                    lang,
                    &format!("/services/{segment}/{}", url(&group.id))
                )),
                title_html(lang, &group.title, group.title_en.as_deref())
            ));
        }
    }
    out.push_str(&format!(
        "<p class=\"hint\">{}: {}</p><p>{}: {}</p>",
        lang.t("Код послуги", "Service code"),
        esc(&service.code.0),
        lang.t("Розділи", "Sections"),
        groups.join(", ")
    ));

    if lang == Lang::En {
        out.push_str(
            "<p class=\"notice\">The card is published in Ukrainian: the titles of documents, \
             the legal texts and the addresses are shown as the centre publishes them.</p>",
        );
    }
    out.push_str(&format!(
        "<h2>{}</h2>{}",
        lang.t("Які документи потрібні", "Documents to bring"),
        documents_html(lang, service)
    ));

    out.push_str(&format!(
        "<h2>{}</h2>{}",
        lang.t("Скільки коштує", "What it costs"),
        fee_html(lang, &service.fee)
    ));

    let (term_uk, term_en) = service.term.words();
    out.push_str(&format!(
        "<h2>{}</h2><p>{}</p>",
        lang.t("Строк надання", "How long it takes"),
        esc(lang.t(&term_uk, &term_en))
    ));

    out.push_str(&format!(
        "<h2>{}</h2><p>{}</p>",
        lang.t("Результат", "The result"),
        uk_only(lang, &service.result)
    ));

    let channels: Vec<String> = service
        .result_channels
        .iter()
        .map(|c| {
            let (uk, en) = c.words();
            format!("<li>{}</li>", esc(lang.t(uk, en)))
        })
        .collect();
    out.push_str(&format!(
        "<h2>{}</h2><ul>{}</ul>",
        lang.t("Як отримати результат", "How to receive the result"),
        channels.concat()
    ));

    out.push_str(&format!(
        "<h2>{}</h2>{}",
        lang.t("Підстави для відмови", "Grounds for refusal"),
        uk_list(lang, &service.refusal_grounds)
    ));
    out.push_str(&format!(
        "<h2>{}</h2>{}",
        lang.t("Нормативно-правові акти", "Legal acts"),
        uk_list(lang, &service.legal_acts)
    ));
    for extra in &service.extra {
        out.push_str(&format!(
            "<h2>{}</h2><p>{}</p>",
            uk_only(lang, &extra.label),
            uk_only(lang, &extra.text)
        ));
    }

    out.push_str(&format!(
        "<h2>{}</h2>",
        lang.t("Хто надає послугу", "Who provides it")
    ));
    if let Some(provider) = catalog.provider(&service.provider) {
        let (uk, en) = provider.office.names();
        out.push_str(&format!(
            "<p><a href=\"{}\">{}</a></p>{}",
            esc(&href(
                lang,
                &format!("/services/provider/{}", url(&provider.id.0))
            )),
            title_html(lang, uk, (uk != en).then_some(en)),
            contacts_html(lang, &provider.office)
        ));
    }

    out.push_str(&format!(
        "<h2>{}</h2><p>{}</p><p><a href=\"{}\">{}</a></p>",
        lang.t("Як звернутися", "How to apply"),
        lang.t(
            "Заяву приймають у центрі. Якщо ви не можете прийти через вік, хворобу чи інвалідність, адміністратор може прийти до вас.",
            "Applications are taken at the centre. If you cannot come because of age, illness or disability, an administrator can come to you."
        ),
        esc(&href(lang, "/visit")),
        lang.t("Попросити про виїзд адміністратора", "Ask for a home visit"),
    ));
    out
}

/// The exhaustive list of documents: each with its form, whether it is always needed or only
/// under its condition (the card's words; on an English page the rule's words where the
/// catalog states one), and its note.
fn documents_html(lang: Lang, service: &Service) -> String {
    let field_label = |id: &str| {
        service
            .form_field(id)
            .map_or_else(|| id.to_owned(), |f| f.label.clone())
    };
    let mut out = String::from("<ol class=\"documents\">");
    for document in &service.documents {
        let (form_uk, form_en) = document.form.words();
        let necessity = match &document.necessity {
            Necessity::Mandatory => esc(lang.t("Потрібен завжди", "Always needed")),
            Necessity::Conditional { condition, rule } => {
                let words = match (lang, rule) {
                    (Lang::En, Some(rule)) => esc(&rule.words(field_label).1),
                    _ => uk_only(lang, condition),
                };
                format!(
                    "<strong>{}</strong> {words}",
                    lang.t("Лише за умови:", "Only:")
                )
            }
        };
        out.push_str(&format!(
            "<li><span class=\"doc\">{}</span><span class=\"line\">{}: {}</span>\
             <span class=\"line\">{necessity}</span>",
            uk_only(lang, &document.title),
            lang.t("Форма", "Form"),
            esc(lang.t(form_uk, form_en)),
        ));
        if let Some(note) = document.note.as_deref().filter(|n| !n.trim().is_empty()) {
            out.push_str(&format!(
                "<span class=\"line hint\">{}</span>",
                uk_only(lang, note)
            ));
        }
        out.push_str("</li>");
    }
    out.push_str("</ol>");
    out
}

/// The amount, its legal basis, the payment details and how to pay.
fn fee_html(lang: Lang, fee: &Fee) -> String {
    let (amount_uk, amount_en) = fee.amount_words();
    let mut out = format!(
        "<p class=\"amount\">{}</p>",
        esc(lang.t(&amount_uk, &amount_en))
    );
    match fee {
        Fee::Free { legal_basis } => {
            if let Some(basis) = legal_basis.as_deref().filter(|b| !b.trim().is_empty()) {
                out.push_str(&format!(
                    "<p>{}: {}</p>",
                    lang.t("Підстава", "Legal basis"),
                    uk_only(lang, basis)
                ));
            }
        }
        Fee::Paid {
            legal_basis,
            payment,
            details,
            ..
        } => {
            if !legal_basis.trim().is_empty() {
                out.push_str(&format!(
                    "<p>{}: {}</p>",
                    lang.t("Підстава", "Legal basis"),
                    uk_only(lang, legal_basis)
                ));
            }
            if let Some(details) = details {
                out.push_str(&format!(
                    "<h3>{}</h3><dl>",
                    lang.t("Платіжні реквізити", "Payment details")
                ));
                let iban = compact_iban(&details.iban);
                for field in details.fields() {
                    // The account in a typewriter face, small enough to stay on one line of a
                    // phone: it is read and typed digit by digit.
                    let class = if field.value == iban {
                        "wrap iban"
                    } else {
                        "wrap"
                    };
                    out.push_str(&format!(
                        "<dt>{}</dt><dd class=\"{class}\">{}</dd>",
                        esc(lang.t(field.label.0, field.label.1)),
                        uk_only(lang, &field.value)
                    ));
                }
                out.push_str("</dl>");
            }
            if !payment.trim().is_empty() {
                out.push_str(&format!(
                    "<p>{}: {}</p>",
                    lang.t("Як сплатити", "How to pay"),
                    uk_only(lang, payment)
                ));
            }
        }
    }
    out
}

/// `GET /centres`: the centre and every provider with address, hours and phone.
pub async fn centres(State(state): State<Arc<PublicState>>, uri: Uri) -> Response {
    let lang = lang_of(&uri);
    let path = "/centres";
    let catalog = match published(&state, lang, path, StatusCode::OK) {
        Ok(catalog) => catalog,
        Err(page) => return *page,
    };
    let (centre_uk, centre_en) = catalog.centre.office.names();
    let mut body = format!(
        "<h2>{}</h2>{}<p><a href=\"{}\">{}</a></p><h2>{}</h2>",
        title_html(
            lang,
            centre_uk,
            (centre_uk != centre_en).then_some(centre_en)
        ),
        contacts_html(lang, &catalog.centre.office),
        esc(&href(lang, "/visit")),
        lang.t(
            "Не можете прийти? Попросіть про виїзд адміністратора",
            "Cannot come? Ask for a home visit"
        ),
        lang.t("Суб'єкти надання послуг", "Service providers"),
    );
    for provider in &catalog.providers {
        let (uk, en) = provider.office.names();
        body.push_str(&format!(
            "<h3>{}</h3>{}<p><a href=\"{}\">{}: {}</a></p>",
            title_html(lang, uk, (uk != en).then_some(en)),
            contacts_html(lang, &provider.office),
            esc(&href(
                lang,
                &format!("/services/provider/{}", url(&provider.id.0))
            )),
            lang.t("Послуги", "Services"),
            count_services(lang, catalog.services_of_provider(&provider.id).len()),
        ));
    }
    let title = lang.t(
        "Центр і суб'єкти надання послуг",
        "The centre and the service providers",
    );
    html(StatusCode::OK, state.page(lang, title, path, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_are_counted_in_ukrainian_plural_forms() {
        assert_eq!(count_services(Lang::Uk, 1), "1 послуга");
        assert_eq!(count_services(Lang::Uk, 3), "3 послуги");
        assert_eq!(count_services(Lang::Uk, 11), "11 послуг");
        assert_eq!(count_services(Lang::Uk, 21), "21 послуга");
        assert_eq!(count_services(Lang::En, 1), "1 service");
        assert_eq!(count_services(Lang::En, 0), "0 services");
    }

    #[test]
    fn a_ukrainian_title_on_an_english_page_is_marked_ukrainian() {
        assert_eq!(title_html(Lang::En, "Пенсія", Some("Pension")), "Pension");
        assert_eq!(
            title_html(Lang::En, "Пенсія", None),
            "<span lang=\"uk\">Пенсія</span>"
        );
        assert_eq!(title_html(Lang::Uk, "Пенсія", Some("Pension")), "Пенсія");
    }
}
