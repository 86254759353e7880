//! Planning visits, the catalog (check, compare, publish), devices (enrollment codes as text
//! and QR, revocation, last contact) and the reconciliation report with dead letters.

use std::fmt::Write;

use axum::Form;
use axum::extract::{Multipart, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use fieldkit_domain::catalog::{Catalog, CatalogError};
use rusqlite::{OptionalExtension, params};
use serde::Deserialize;

use super::auth::Role;
use super::db::audit;
use super::html::{Lang, csrf_field, esc, page, url, when};
use super::register;
use super::web::{OfficeError, Shared, SignedIn, html};
use crate::store::MetadataStore;
use crate::tls::certificate_fingerprint;

// ---------------------------------------------------------------- visits

#[derive(Deserialize)]
pub struct VisitForm {
    #[serde(default)]
    csrf: String,
    device: String,
    date: String,
    time: String,
    place: String,
    address: String,
    applicant: String,
    #[serde(default)]
    phone: String,
    services: String,
}

pub async fn visits_page(State(state): Shared, user: SignedIn) -> Result<Response, OfficeError> {
    user.require(&[Role::Operator])?;
    let lang = user.lang;
    let devices = state.meta.devices()?;
    let mut device_options = String::new();
    for device in devices.iter().filter(|d| !d.revoked) {
        let _ = write!(
            device_options,
            "<option>{}</option>",
            esc(&device.device_id)
        );
    }
    let body = format!(
        "<p>{}</p><form method=\"post\" action=\"/office/visits\">{}\
         <p><label>{}<br><select name=\"device\" required>{device_options}</select></label></p>\
         <p><label>{}<br><input type=\"date\" name=\"date\" required></label> <label>{}<br><input type=\"time\" name=\"time\" required></label></p>\
         <p><label>{}<br><select name=\"place\"><option value=\"home\">{}</option><option value=\"hospital\">{}</option><option value=\"care_facility\">{}</option></select></label></p>\
         <p><label>{}<br><input name=\"address\" size=\"60\" required></label></p>\
         <p><label>{}<br><input name=\"applicant\" size=\"60\" required></label></p>\
         <p><label>{}<br><input name=\"phone\" type=\"tel\"></label></p>\
         <p><label>{}<br><input name=\"services\" size=\"30\" required></label></p>\
         <p><button class=\"primary\">{}</button></p></form>",
        lang.t(
            "Виїзд за записом по телефону чи з черги центру. Він з’явиться на планшеті після наступної синхронізації.",
            "A visit from a phone booking or the centre's queue. It reaches the tablet at its next sync."
        ),
        csrf_field(&user.staff.csrf_token),
        lang.t("Планшет (адміністратор)", "Tablet (administrator)"),
        lang.t("Дата", "Date"),
        lang.t("Час", "Time"),
        lang.t("Місце", "Place"),
        lang.t("вдома", "at home"),
        lang.t("лікарня", "hospital"),
        lang.t("заклад догляду", "care facility"),
        lang.t("Адреса", "Address"),
        lang.t("Заявник (прізвище, ім’я, по батькові)", "Applicant (surname, given name, patronymic)"),
        lang.t("Телефон", "Phone"),
        lang.t("Коди послуг через кому", "Service codes, comma-separated"),
        lang.t("Запланувати виїзд", "Plan the visit"),
    );
    Ok(html(page(
        &user.frame(lang.t("Планування виїздів", "Planning visits")),
        &body,
    )))
}

pub async fn plan_visit(
    State(state): Shared,
    user: SignedIn,
    Form(form): Form<VisitForm>,
) -> Result<Response, OfficeError> {
    user.require(&[Role::Operator])?;
    user.check_csrf(&form.csrf)?;
    let lang = user.lang;
    let bad = |uk: &str, en: &str| OfficeError::BadInput(lang, lang.t(uk, en).to_owned());
    if register::parse_date(&form.date).is_none() || form.time.len() != 5 {
        return Err(bad("Вкажіть дату й час.", "Give the date and time."));
    }
    if !["home", "hospital", "care_facility"].contains(&form.place.as_str()) {
        return Err(bad("Невідоме місце.", "Unknown place."));
    }
    if form.address.trim().is_empty() || form.applicant.trim().is_empty() {
        return Err(bad(
            "Вкажіть адресу й заявника.",
            "Give the address and the applicant.",
        ));
    }
    let phone = form.phone.trim();
    if !phone.is_empty() && fieldkit_domain::validators::MobileNumber::parse(phone).is_err() {
        return Err(bad(
            "Телефон не схожий на український номер.",
            "The phone is not a Ukrainian number.",
        ));
    }
    let catalog = state.catalog()?;
    let services: Vec<String> = form
        .services
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    let known = |code: &String| {
        catalog.as_ref().is_some_and(|(_, c)| {
            c.service(&fieldkit_domain::common::ServiceCode(code.clone()))
                .is_some()
        })
    };
    if services.is_empty() || !services.iter().all(known) {
        return Err(bad(
            "Вкажіть коди послуг з опублікованого каталогу.",
            "Give service codes of the published catalog.",
        ));
    }
    let device = state.meta.device(&form.device)?;
    if device.state != crate::store::DeviceState::Active {
        return Err(bad("Цей планшет відкликано.", "This tablet is revoked."));
    }
    let visit = serde_json::json!({
        "time": format!("{} {}", form.date, form.time),
        "place": form.place,
        "address": form.address.trim(),
        "applicant": form.applicant.trim(),
        "phone": phone,
        "services": services,
    });
    // Sealed at rest: a visit names a person (see crate::sealed_visits).
    let reference = crate::visit_requests::new_id()?;
    let sealed = crate::sealed_visits::seal(&state.personal, &form.device, &reference, &visit)?;
    let id = state.meta.plan_visit(&form.device, &sealed, state.now())?;
    state.db.transaction(|tx| {
        audit(
            tx,
            &user.staff.username,
            "visit.planned",
            &form.device,
            &format!("visit={id}"),
            state.now(),
        )
    })?;
    let body = format!(
        "<p class=\"notice\" role=\"status\">{} {} · {} {}</p><p><a href=\"/office/visits\">{}</a></p>",
        lang.t("Виїзд заплановано для планшета", "Visit planned for tablet"),
        esc(&form.device),
        esc(&form.date),
        esc(&form.time),
        lang.t("Запланувати ще", "Plan another"),
    );
    Ok(html(page(
        &user.frame(lang.t("Виїзд заплановано", "Visit planned")),
        &body,
    )))
}

// ---------------------------------------------------------------- catalog

pub async fn catalog_page(State(state): Shared, user: SignedIn) -> Result<Response, OfficeError> {
    user.require(&[Role::Supervisor])?;
    let lang = user.lang;
    let current = state.catalog()?;
    let body = format!(
        "<p>{}: <strong>{}</strong></p>\
         <form method=\"post\" action=\"/office/catalog/preview\" enctype=\"multipart/form-data\">{}\
         <p><label>{}<br><input type=\"file\" name=\"catalog\" accept=\".toml\" required></label></p>\
         <p><button class=\"primary\">{}</button></p></form>",
        lang.t("Опублікована версія", "Published version"),
        current.as_ref().map_or_else(
            || "—".to_owned(),
            |(v, c)| format!(
                "{v} ({} {})",
                c.services.len(),
                lang.t("послуг", "services")
            )
        ),
        csrf_field(&user.staff.csrf_token),
        lang.t(
            "Файл каталогу (формат assets/catalog)",
            "Catalog file (the assets/catalog format)"
        ),
        lang.t("Перевірити й порівняти", "Check and compare"),
    );
    Ok(html(page(
        &user.frame(lang.t("Каталог послуг", "Service catalog")),
        &body,
    )))
}

/// What changed between the published catalog and a new one, by service code.
pub fn catalog_diff(
    current: Option<&Catalog>,
    new: &Catalog,
) -> Vec<(String, String, Vec<String>)> {
    let mut changes = Vec::new();
    let as_fields = |service: &fieldkit_domain::catalog::Service| {
        serde_json::to_value(service)
            .ok()
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default()
    };
    for service in &new.services {
        match current.and_then(|c| c.service(&service.code)) {
            None => changes.push((service.code.0.clone(), "added".to_owned(), Vec::new())),
            Some(old) => {
                let (old_fields, new_fields) = (as_fields(old), as_fields(service));
                let changed: Vec<String> = new_fields
                    .iter()
                    .filter(|(key, value)| old_fields.get(*key) != Some(*value))
                    .map(|(key, _)| key.clone())
                    .chain(
                        old_fields
                            .keys()
                            .filter(|k| !new_fields.contains_key(*k))
                            .cloned(),
                    )
                    .collect();
                if !changed.is_empty() {
                    changes.push((service.code.0.clone(), "changed".to_owned(), changed));
                }
            }
        }
    }
    if let Some(current) = current {
        for service in &current.services {
            if new.service(&service.code).is_none() {
                changes.push((service.code.0.clone(), "removed".to_owned(), Vec::new()));
            }
        }
    }
    changes
}

pub async fn catalog_preview(
    State(state): Shared,
    user: SignedIn,
    mut multipart: Multipart,
) -> Result<Response, OfficeError> {
    user.require(&[Role::Supervisor])?;
    let lang = user.lang;
    let mut csrf = String::new();
    let mut text = String::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| OfficeError::BadInput(lang, e.to_string()))?
    {
        match field.name() {
            Some("csrf") => csrf = field.text().await.unwrap_or_default(),
            Some("catalog") => {
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| OfficeError::BadInput(lang, e.to_string()))?;
                text = String::from_utf8(bytes.to_vec()).map_err(|_| {
                    OfficeError::BadInput(
                        lang,
                        lang.t("Файл не в UTF-8.", "The file is not UTF-8.")
                            .to_owned(),
                    )
                })?;
            }
            _ => {}
        }
    }
    user.check_csrf(&csrf)?;
    let new = Catalog::from_toml_str(&text).map_err(|e| {
        let detail = match e {
            CatalogError::Invalid(problems) => problems
                .iter()
                .map(|p| format!("• {p}"))
                .collect::<Vec<_>>()
                .join("\n"),
            other => other.to_string(),
        };
        OfficeError::BadInput(
            lang,
            format!(
                "{}\n{detail}",
                lang.t("Каталог має помилки:", "The catalog has problems:")
            ),
        )
    })?;
    let current = state.catalog()?;
    if current.as_ref().is_some_and(|(v, _)| new.version <= *v) {
        return Err(OfficeError::BadInput(
            lang,
            format!(
                "{} {} ≤ {}",
                lang.t(
                    "Версія має бути новішою за опубліковану:",
                    "The version must be newer than the published one:"
                ),
                new.version,
                current.as_ref().map_or(0, |(v, _)| *v)
            ),
        ));
    }
    let draft_id = state.db.transaction(|tx| {
        tx.execute(
            "INSERT INTO catalog_drafts (toml, uploaded_by, uploaded_at) VALUES (?1, ?2, ?3)",
            params![text, user.staff.username, state.now()],
        )?;
        Ok(tx.last_insert_rowid())
    })?;
    let changes = catalog_diff(current.as_ref().map(|(_, c)| c), &new);
    let mut body = format!(
        "<p>{} {} → {}</p><table><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
        lang.t("Версія", "Version"),
        current
            .as_ref()
            .map_or_else(|| "—".to_owned(), |(v, _)| v.to_string()),
        new.version,
        lang.t("Послуга", "Service"),
        lang.t("Зміна", "Change"),
        lang.t("Поля", "Fields"),
    );
    for (code, change, fields) in &changes {
        let change = match change.as_str() {
            "added" => lang.t("додано", "added"),
            "removed" => lang.t("вилучено", "removed"),
            _ => lang.t("змінено", "changed"),
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(code),
            change,
            esc(&fields.join(", "))
        );
    }
    let _ = write!(
        body,
        "</table><form method=\"post\" action=\"/office/catalog/publish\">{}<input type=\"hidden\" name=\"draft\" value=\"{draft_id}\"><p><button class=\"primary\">{}</button></p></form>",
        csrf_field(&user.staff.csrf_token),
        lang.t("Опублікувати цю версію", "Publish this version"),
    );
    Ok(html(page(
        &user.frame(lang.t("Новий каталог: порівняння", "New catalog: comparison")),
        &body,
    )))
}

#[derive(Deserialize)]
pub struct PublishForm {
    #[serde(default)]
    csrf: String,
    draft: i64,
}

pub async fn catalog_publish(
    State(state): Shared,
    user: SignedIn,
    Form(form): Form<PublishForm>,
) -> Result<Response, OfficeError> {
    user.require(&[Role::Supervisor])?;
    user.check_csrf(&form.csrf)?;
    let lang = user.lang;
    let text: String = state
        .db
        .transaction(|tx| {
            Ok(tx
                .query_row(
                    "SELECT toml FROM catalog_drafts WHERE draft_id = ?1",
                    [form.draft],
                    |r| r.get(0),
                )
                .optional()?)
        })?
        .ok_or(OfficeError::NotFound(lang))?;
    let catalog =
        Catalog::from_toml_str(&text).map_err(|e| OfficeError::BadInput(lang, e.to_string()))?;
    state
        .meta
        .publish_catalog(catalog.version, &text, state.now())
        .map_err(|e| OfficeError::BadInput(lang, e.to_string()))?;
    state.db.transaction(|tx| {
        tx.execute(
            "DELETE FROM catalog_drafts WHERE draft_id = ?1",
            [form.draft],
        )?;
        audit(
            tx,
            &user.staff.username,
            "catalog.published",
            "catalog",
            &catalog.version.to_string(),
            state.now(),
        )
    })?;
    let body = format!(
        "<p class=\"notice\" role=\"status\">{} {}</p>",
        lang.t("Опубліковано версію", "Published version"),
        catalog.version
    );
    Ok(html(page(
        &user.frame(lang.t("Каталог опубліковано", "Catalog published")),
        &body,
    )))
}

// ---------------------------------------------------------------- devices

pub async fn devices_page(State(state): Shared, user: SignedIn) -> Result<Response, OfficeError> {
    user.require(&[Role::DeviceAdmin])?;
    let lang = user.lang;
    let csrf = csrf_field(&user.staff.csrf_token);
    let mut body = format!(
        "<form method=\"post\" action=\"/office/devices/code\">{csrf}<button class=\"primary\">{}</button></form>\
         <table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr>",
        lang.t(
            "Новий код реєстрації планшета",
            "New tablet enrollment code"
        ),
        lang.t("Планшет", "Tablet"),
        lang.t("Стан", "State"),
        lang.t("Останній зв’язок", "Last contact"),
        lang.t("Запечатано / отримано", "Sealed / received"),
        lang.t("Чекають на планшеті", "Waiting on the tablet"),
        lang.t("Не надійшли", "Never arrived"),
    );
    for device in state.meta.devices()? {
        let revoke = if device.revoked {
            String::new()
        } else {
            format!(
                "<form method=\"post\" action=\"/office/devices/revoke\">{csrf}<input type=\"hidden\" name=\"device\" value=\"{}\"><button>{}</button></form>",
                esc(&device.device_id),
                lang.t("Відкликати", "Revoke")
            )
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} / {}</td><td>{}</td><td>{}</td><td>{revoke}</td></tr>",
            esc(&device.device_id),
            if device.revoked {
                lang.t("відкликано", "revoked")
            } else {
                lang.t("активний", "active")
            },
            device
                .last_report_at
                .map_or_else(|| lang.t("ніколи", "never").to_owned(), when),
            device.cases_sealed,
            device.received,
            device.envelopes_waiting,
            device.unsynced,
        );
    }
    body.push_str("</table>");
    Ok(html(page(
        &user.frame(lang.t("Пристрої", "Devices")),
        &body,
    )))
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub async fn new_enroll_code(
    State(state): Shared,
    user: SignedIn,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, OfficeError> {
    user.require(&[Role::DeviceAdmin])?;
    user.check_csrf(&form.csrf)?;
    let lang = user.lang;
    let code = crate::setup::new_enroll_code()?;
    let valid_minutes = 60;
    state.meta.add_enroll_code(
        &certificate_fingerprint(code.as_bytes()),
        state.now() + valid_minutes * 60,
    )?;
    state.db.transaction(|tx| {
        audit(
            tx,
            &user.staff.username,
            "device.enroll_code",
            "devices",
            "",
            state.now(),
        )
    })?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let payload = format!(
        "FIELDKIT-ENROLL:{}",
        serde_json::json!({ "server": state.public_url, "code": code, "server_ca": b64.encode(&state.server_ca) })
    );
    let qr = fieldkit_capture::qr::generate_qr(&payload, 6)
        .ok()
        .and_then(|image| fieldkit_capture::pipeline::encode_png(&image).ok())
        .map(|png| {
            format!(
                "<img alt=\"{}\" src=\"data:image/png;base64,{}\">",
                esc(lang.t("QR-код реєстрації", "Enrollment QR code")),
                b64.encode(png.bytes)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<p>{}</p><p style=\"font-size:40px;font-family:monospace\" id=\"code\">{}</p><p>{}: {}</p>{qr}<p>{}</p>",
        lang.t(
            "Одноразовий код для нового планшета:",
            "One-time code for a new tablet:"
        ),
        esc(&code),
        lang.t("Адреса сервера", "Server address"),
        esc(&state.public_url),
        match lang {
            Lang::Uk => format!(
                "Дійсний {valid_minutes} хв. Введіть його на планшеті або відскануйте QR-код. Не зберігайте й не пересилайте."
            ),
            Lang::En => format!(
                "Valid {valid_minutes} minutes. Type it on the tablet or scan the QR code. Do not keep or forward it."
            ),
        },
    );
    Ok(html(page(
        &user.frame(lang.t("Код реєстрації", "Enrollment code")),
        &body,
    )))
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
    device: String,
}

pub async fn revoke(
    State(state): Shared,
    user: SignedIn,
    Form(form): Form<RevokeForm>,
) -> Result<Response, OfficeError> {
    user.require(&[Role::DeviceAdmin])?;
    user.check_csrf(&form.csrf)?;
    state.meta.revoke_device(&form.device)?;
    state.db.transaction(|tx| {
        audit(
            tx,
            &user.staff.username,
            "device.revoked",
            &form.device,
            "",
            state.now(),
        )
    })?;
    Ok(Redirect::to("/office/devices").into_response())
}

// ---------------------------------------------------------------- reconciliation

#[derive(Deserialize, Default)]
pub struct DayQuery {
    #[serde(default)]
    day: String,
}

/// Per device: what it reported sealed, what arrived, was forwarded and acknowledged.
struct DeviceLine {
    device_id: String,
    received: i64,
    forwarded: i64,
    acknowledged: i64,
    gaps: Vec<String>,
}

pub async fn reconciliation_page(
    State(state): Shared,
    user: SignedIn,
    Query(query): Query<DayQuery>,
) -> Result<Response, OfficeError> {
    user.require(&[Role::Supervisor])?;
    let lang = user.lang;
    let catalog = state.catalog()?;
    state.index_new_cases(catalog.as_ref().map(|(_, c)| c))?;
    let day = if register::parse_date(&query.day).is_some() {
        query.day.clone()
    } else {
        String::new()
    };
    let devices = state.meta.devices()?;
    let consulted = state
        .meta
        .consultations(Some(day.as_str()).filter(|d| !d.is_empty()))?;
    let consulted_by_device = super::consultations::per_device(&consulted);
    let mut lines = Vec::new();
    for device in &devices {
        let (received, forwarded, acknowledged, not_forwarded, not_acknowledged) = state.db.transaction(|tx| {
            let count = |sql: &str| -> Result<i64, crate::ServerError> {
                Ok(tx.query_row(sql, params![device.device_id, day], |r| r.get(0))?)
            };
            let list = |sql: &str| -> Result<Vec<String>, crate::ServerError> {
                let mut statement = tx.prepare(sql)?;
                let rows = statement
                    .query_map(params![device.device_id, day], |r| r.get(0))?
                    .collect::<rusqlite::Result<Vec<String>>>()?;
                Ok(rows)
            };
            const DAY: &str = "(?2 = '' OR c.registered_on = ?2)";
            let accepted_name = fieldkit_domain::workflow::CaseState::Accepted.name();
            Ok((
                count(&format!("SELECT count(*) FROM office_cases c WHERE c.device_id = ?1 AND {DAY}"))?,
                count(&format!("SELECT count(*) FROM office_cases c JOIN central_outbox o ON o.envelope_id = c.envelope_id WHERE c.device_id = ?1 AND o.delivered_at IS NOT NULL AND {DAY}"))?,
                count(&format!("SELECT count(*) FROM office_cases c WHERE c.device_id = ?1 AND c.central_number IS NOT NULL AND {DAY}"))?,
                list(&format!("SELECT c.case_number FROM office_cases c WHERE c.device_id = ?1 AND c.state = '{accepted_name}' AND {DAY}"))?,
                list(&format!("SELECT c.case_number FROM office_cases c JOIN central_outbox o ON o.envelope_id = c.envelope_id WHERE c.device_id = ?1 AND o.delivered_at IS NOT NULL AND c.central_number IS NULL AND {DAY}"))?,
            ))
        })?;
        let mut gaps = Vec::new();
        for case in state.meta.unsynced(&device.device_id)? {
            gaps.push(format!(
                "{case}: {}",
                lang.t(
                    "запечатано на планшеті, не надійшла",
                    "sealed on the tablet, never arrived"
                )
            ));
        }
        for case in not_forwarded {
            gaps.push(format!(
                "{case}: {}",
                lang.t("прийнято, ще не передано", "accepted, not yet forwarded")
            ));
        }
        for case in not_acknowledged {
            gaps.push(format!(
                "{case}: {}",
                lang.t(
                    "передано, центральна система не підтвердила",
                    "forwarded, not acknowledged centrally"
                )
            ));
        }
        lines.push((
            device.cases_sealed,
            device.last_report_at,
            DeviceLine {
                device_id: device.device_id.clone(),
                received,
                forwarded,
                acknowledged,
                gaps,
            },
        ));
    }
    let mut body = format!(
        "<form method=\"get\" action=\"/office/reconciliation\"><label>{} <input type=\"date\" name=\"day\" value=\"{}\"></label> <button>{}</button></form>\
         <table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        lang.t("День реєстрації", "Registration day"),
        esc(&day),
        lang.t("Показати", "Show"),
        lang.t("Планшет", "Tablet"),
        lang.t(
            "Запечатано (звіт планшета, усього)",
            "Sealed (tablet's report, total)"
        ),
        lang.t("Отримано", "Received"),
        lang.t("Передано", "Forwarded"),
        lang.t(
            "Підтверджено центральною системою",
            "Acknowledged centrally"
        ),
        lang.t("Консультації (п. 2.36)", "Consultations (2.36)"),
        lang.t("Останній звіт", "Last report"),
        lang.t("Розбіжності", "Gaps"),
    );
    for (sealed, last, line) in &lines {
        let gaps: Vec<String> = line.gaps.iter().map(|g| esc(g)).collect();
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{sealed}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&line.device_id),
            line.received,
            line.forwarded,
            line.acknowledged,
            consulted_by_device
                .get(line.device_id.as_str())
                .copied()
                .unwrap_or(0),
            last.map_or_else(|| "—".to_owned(), when),
            if gaps.is_empty() {
                "—".to_owned()
            } else {
                gaps.join("<br>")
            },
        );
    }
    body.push_str("</table>");
    body.push_str(&super::consultations::section(
        &consulted,
        catalog.as_ref().map(|(_, c)| c),
        lang,
    ));
    body.push_str(&super::visit_requests::reconciliation_section(
        &state, lang,
    )?);
    let dead = crate::central::outbox::dead_letters(&state.db)?;
    let _ = write!(
        body,
        "<h2>{} ({})</h2>",
        lang.t("Недоставлені до центральної системи", "Dead letters"),
        dead.len()
    );
    if !dead.is_empty() {
        let _ = write!(
            body,
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th></th></tr>",
            lang.t("Справа", "Case"),
            lang.t("Спроб", "Attempts"),
            lang.t("Остання помилка", "Last error")
        );
        for letter in &dead {
            let (envelope_id, case_number, attempts) =
                (&letter.envelope_id, &letter.case_number, letter.attempts);
            let error = letter.last_error.as_deref().unwrap_or("");
            let _ = write!(
                body,
                "<tr><td><a href=\"/office/case?n={}\">{}</a></td><td>{attempts}</td><td>{}</td><td><form method=\"post\" action=\"/office/dead-letters/retry\">{}<input type=\"hidden\" name=\"envelope\" value=\"{}\"><button>{}</button></form></td></tr>",
                url(case_number),
                esc(case_number),
                esc(error),
                csrf_field(&user.staff.csrf_token),
                esc(envelope_id),
                lang.t("Надіслати знову", "Retry"),
            );
        }
        body.push_str("</table>");
    }
    Ok(html(page(
        &user.frame(lang.t("Звірка", "Reconciliation")),
        &body,
    )))
}

#[derive(Deserialize)]
pub struct RetryForm {
    #[serde(default)]
    csrf: String,
    envelope: String,
}

pub async fn retry_dead_letter(
    State(state): Shared,
    user: SignedIn,
    Form(form): Form<RetryForm>,
) -> Result<Response, OfficeError> {
    user.require(&[Role::Supervisor])?;
    user.check_csrf(&form.csrf)?;
    match crate::central::outbox::retry_dead_letter(
        &state.db,
        &form.envelope,
        &user.staff.username,
        state.now(),
    ) {
        Ok(()) => {}
        Err(crate::ServerError::NotFound) => return Err(OfficeError::NotFound(user.lang)),
        Err(other) => return Err(other.into()),
    }
    Ok(Redirect::to("/office/reconciliation").into_response())
}
