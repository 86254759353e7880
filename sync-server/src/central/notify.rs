//! Telling the applicant that their case moved, the way they chose on the visit: e-mail (SMTP,
//! with lettre as `fieldkit-receipt` sends receipts), SMS (the centre's HTTP gateway), or a
//! phone call (staff call; the audit trail says one is due). The message carries the case
//! number and the new status, Ukrainian first, and nothing else: no name, no address, no
//! service. Failures are audited and never undo the event that caused them.

use std::sync::Arc;
use std::time::Duration;

use fieldkit_domain::case::Notification;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{SmtpTransport, Transport};
use zeroize::Zeroizing;

use super::config::{NotifyConfig, SmtpSecurity};
use super::signing::read_secret;
use super::{CentralError, CentralState};
use crate::office::db::audit;
use crate::opened::open_stored;

/// Who the audit trail names for notifications.
pub const ACTOR: &str = "central-connector";

const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// The status in words, (Ukrainian, English).
pub fn status_words(status: &str) -> (&'static str, &'static str) {
    match status {
        "registered" => (
            "Справу зареєстровано в системі ЦНАП",
            "Case registered in the centre's system",
        ),
        "forwarded_to_provider" => (
            "Справу передано суб'єкту надання послуги",
            "Case forwarded to the service provider",
        ),
        "issued" => ("Рішення прийнято: видано", "Decision made: issued"),
        "refused" => ("Рішення прийнято: відмовлено", "Decision made: refused"),
        "result_ready" => ("Результат готовий", "Result ready"),
        "delivered" => ("Результат видано", "Result handed over"),
        _ => ("Стан справи змінено", "Case status changed"),
    }
}

/// What the applicant receives: the case number and the status, nothing more.
pub struct Message {
    pub subject: String,
    pub text: String,
    pub sms: String,
}

pub fn message(case_number: &str, status: &str) -> Message {
    let (uk, en) = status_words(status);
    Message {
        subject: format!("Справа {case_number}: {uk} / Case {case_number}: {en}"),
        text: format!(
            "Добрий день!\n\nСправа {case_number}: {uk}.\n\
             Лист надіслано автоматично, відповідати на нього не потрібно.\n\n\
             Hello,\n\nCase {case_number}: {en}.\n\
             This message was sent automatically; there is no need to reply.\n"
        ),
        sms: format!("ЦНАП: справа {case_number}: {uk}. Case {case_number}: {en}."),
    }
}

struct Mail {
    host: String,
    port: u16,
    security: SmtpSecurity,
    credentials: Option<(String, Zeroizing<Vec<u8>>)>,
    from: Mailbox,
}

struct Sms {
    client: reqwest::Client,
    url: String,
    token: Zeroizing<String>,
}

/// The configured channels; a channel not configured fails (audited) when an applicant chose it.
#[derive(Default)]
pub struct Notifier {
    mail: Option<Mail>,
    sms: Option<Sms>,
}

impl Notifier {
    pub fn from_config(config: Option<&NotifyConfig>) -> Result<Self, CentralError> {
        let Some(config) = config else {
            return Ok(Self::default());
        };
        let mail = match (&config.smtp_host, &config.from) {
            (Some(host), Some(from)) => Some(Mail {
                host: host.clone(),
                port: config.smtp_port,
                security: config.smtp_security,
                credentials: match (&config.smtp_username, &config.smtp_password_file) {
                    (Some(user), Some(file)) => Some((user.clone(), read_password(file)?)),
                    _ => None,
                },
                from: from.parse().map_err(|_| {
                    CentralError::Config(format!("[central.notify] from: {from} is not an address"))
                })?,
            }),
            _ => None,
        };
        let sms = match (&config.sms_gateway_url, &config.sms_gateway_token_file) {
            (Some(url), Some(file)) => {
                let token = read_secret(file)?;
                let token =
                    String::from_utf8(token.to_vec()).map_err(|_| CentralError::KeyFile {
                        path: file.clone(),
                        reason: "the token is not text".into(),
                    })?;
                Some(Sms {
                    client: super::connector::http_client(None, SEND_TIMEOUT)?,
                    url: url.clone(),
                    token: Zeroizing::new(token),
                })
            }
            _ => None,
        };
        Ok(Self { mail, sms })
    }
}

/// SMTP passwords may be short (the mail server's choice), unlike the HMAC secrets.
fn read_password(path: &std::path::Path) -> Result<Zeroizing<Vec<u8>>, CentralError> {
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| CentralError::KeyFile {
        path: path.to_owned(),
        reason: e.to_string(),
    })?);
    Ok(Zeroizing::new(bytes.trim_ascii_end().to_vec()))
}

/// Why a notification did not go out, in words fit for the audit trail: the mail server's
/// or gateway's own text is left out, as it may quote the address.
fn smtp_failure(error: &lettre::transport::smtp::Error) -> String {
    let code = error.status().map(|c| format!(" {c}")).unwrap_or_default();
    if error.is_timeout() {
        "SMTP timed out".into()
    } else if error.is_permanent() {
        format!("SMTP refused the message permanently{code}")
    } else if error.is_transient() {
        format!("SMTP refused the message for now{code}")
    } else if error.is_tls() {
        "SMTP TLS failed".into()
    } else {
        "SMTP connection failed".into()
    }
}

fn send_mail(mail: &Mail, to: &str, message: &Message) -> Result<(), String> {
    let to: Mailbox = to
        .parse()
        .map_err(|_| "the applicant's e-mail address is not valid".to_owned())?;
    let email = lettre::Message::builder()
        .from(mail.from.clone())
        .to(to)
        .subject(&message.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(message.text.clone())
        .map_err(|_| "the message could not be built".to_owned())?;
    let tls = || TlsParameters::new(mail.host.clone()).map_err(|e| smtp_failure(&e));
    let mut builder = SmtpTransport::builder_dangerous(&mail.host)
        .port(mail.port)
        .timeout(Some(SEND_TIMEOUT));
    builder = match mail.security {
        SmtpSecurity::None => builder.tls(Tls::None),
        SmtpSecurity::Starttls => builder.tls(Tls::Required(tls()?)),
        SmtpSecurity::Tls => builder.tls(Tls::Wrapper(tls()?)),
    };
    if let Some((user, password)) = &mail.credentials {
        let password = String::from_utf8_lossy(password).into_owned();
        builder = builder.credentials(Credentials::new(user.clone(), password));
    }
    builder
        .build()
        .send(&email)
        .map(|_| ())
        .map_err(|e| smtp_failure(&e))
}

async fn send_sms(sms: &Sms, to: &str, text: &str) -> Result<(), String> {
    let response = sms
        .client
        .post(&sms.url)
        .bearer_auth(sms.token.as_str())
        .json(&serde_json::json!({ "to": to, "text": text }))
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "the SMS gateway timed out".to_owned()
            } else {
                "the SMS gateway could not be reached".to_owned()
            }
        })?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!(
            "the SMS gateway answered HTTP {}",
            response.status().as_u16()
        ))
    }
}

fn record(state: &CentralState, case_number: &str, action: &str, detail: &str) {
    let now = state.now();
    let written = state
        .db
        .transaction(|tx| audit(tx, ACTOR, action, case_number, detail, now));
    if let Err(e) = written {
        tracing::error!(case_number, action, error = %e, "a notification could not be audited");
    }
}

/// Tell the applicant of case `case_number` (envelope `envelope_id`) that it is now `status`.
/// Opens the case in memory for the contact the applicant gave; everything is audited.
pub async fn notify_applicant(
    state: Arc<CentralState>,
    case_number: String,
    envelope_id: String,
    status: &'static str,
) {
    let opener = state.clone();
    let choice = tokio::task::spawn_blocking(move || {
        open_stored(
            opener.meta.as_ref(),
            opener.blobs.as_ref(),
            &opener.sealing_keys,
            &envelope_id,
        )
        .map(|opened| opened.case.notification)
    })
    .await;
    let choice = match choice {
        Ok(Ok(choice)) => choice,
        Ok(Err(e)) => {
            let detail = format!("status={status}: the case could not be opened: {e}");
            return record(&state, &case_number, "notify.failed", &detail);
        }
        Err(e) => {
            let detail = format!("status={status}: {e}");
            return record(&state, &case_number, "notify.failed", &detail);
        }
    };
    let message = message(&case_number, status);
    let (action, detail) = match choice {
        None => (
            "notify.not_chosen",
            format!("status={status}: the applicant chose no notification"),
        ),
        Some(Notification::PhoneCall { .. }) => (
            "notify.call_needed",
            format!("status={status}: the applicant asked for a phone call; staff must call"),
        ),
        Some(Notification::Email { address }) => {
            // lettre's SMTP transport blocks: off the async threads.
            let sender = state.clone();
            let sent = tokio::task::spawn_blocking(move || match &sender.notifier.mail {
                Some(mail) => send_mail(mail, &address.0, &message),
                None => Err("no SMTP server configured ([central.notify] smtp_host)".to_owned()),
            })
            .await
            .unwrap_or_else(|e| Err(format!("the sending task failed: {e}")));
            match sent {
                Ok(()) => ("notify.email_sent", format!("status={status}")),
                Err(why) => ("notify.email_failed", format!("status={status}: {why}")),
            }
        }
        Some(Notification::Sms { phone }) => {
            let sent = match &state.notifier.sms {
                None => Err("no SMS gateway configured ([central.notify] sms_gateway_url)".into()),
                Some(sms) => send_sms(sms, &phone.0, &message.sms).await,
            };
            match sent {
                Ok(()) => ("notify.sms_sent", format!("status={status}")),
                Err(why) => ("notify.sms_failed", format!("status={status}: {why}")),
            }
        }
    };
    if action.ends_with("_failed") {
        tracing::warn!(case_number = %case_number, action, %detail, "the applicant was not notified");
    }
    record(&state, &case_number, action, &detail);
}
