//! E-mailing a receipt to the applicant who chose e-mail: one SMTP message with the PDF
//! attached, in Ukrainian with English beneath. Sending is the caller's step in the outgoing
//! queue; a failure is an error to retry later, never a lost receipt.

use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use zeroize::Zeroizing;

/// How the centre's mail server is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailSecurity {
    /// Plain SMTP: only for a relay on the same machine or in tests.
    None,
    /// STARTTLS on the submission port (587), required.
    StartTls,
    /// TLS from the first byte (465).
    Tls,
}

/// The centre's outgoing mail settings.
pub struct MailSettings {
    pub host: String,
    pub port: u16,
    pub security: MailSecurity,
    pub username: Option<String>,
    pub password: Option<Zeroizing<String>>,
    /// The sender, e.g. "ЦНАП м. Львова <cnap@example.lviv.ua>".
    pub from: String,
    pub timeout: std::time::Duration,
}

impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "MailSettings {{ host: {}, port: {}, security: {:?}, password: <redacted> }}",
            self.host, self.port, self.security
        )
    }
}

/// Why a receipt could not be e-mailed.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the address {0} is not valid")]
    BadAddress(String),
    #[error("the message could not be built: {0}")]
    Build(String),
    #[error("the mail server could not be reached or refused the message: {0}")]
    Send(String),
}

impl MailError {
    pub fn message_uk(&self) -> &'static str {
        match self {
            Self::BadAddress(_) => "Неправильна адреса електронної пошти",
            Self::Build(_) => "Не вдалося підготувати лист",
            Self::Send(_) => {
                "Лист не надіслано: немає зв'язку з поштовим сервером, спробуємо пізніше"
            }
        }
    }
}

/// Send `pdf` as `filename` to `to` with a short covering letter about case `case_number`.
pub fn send_receipt(
    settings: &MailSettings,
    to: &str,
    case_number: &str,
    filename: &str,
    pdf: &[u8],
) -> Result<(), MailError> {
    let from: Mailbox = settings
        .from
        .parse()
        .map_err(|_| MailError::BadAddress(settings.from.clone()))?;
    let to: Mailbox = to
        .parse()
        .map_err(|_| MailError::BadAddress(to.to_owned()))?;
    let body = format!(
        "Добрий день!\n\nУ додатку — ваш примірник опису вхідного пакета документів у справі {case_number}.\n\
         Стежити за справою можна за QR-кодом або кодом відстеження в описі.\n\n\
         Hello,\n\nattached is your copy of the inventory of documents for case {case_number}.\n\
         Follow the case with the QR code or the tracking code in it.\n"
    );
    let pdf_type =
        ContentType::parse("application/pdf").map_err(|e| MailError::Build(e.to_string()))?;
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(format!(
            "Справа {case_number}: опис документів / case {case_number}: inventory"
        ))
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain(body))
                .singlepart(Attachment::new(filename.to_owned()).body(pdf.to_vec(), pdf_type)),
        )
        .map_err(|e| MailError::Build(e.to_string()))?;

    let tls = |host: &str| {
        TlsParameters::new(host.to_owned()).map_err(|e| MailError::Send(e.to_string()))
    };
    let mut builder = SmtpTransport::builder_dangerous(&settings.host)
        .port(settings.port)
        .timeout(Some(settings.timeout));
    builder = match settings.security {
        MailSecurity::None => builder.tls(Tls::None),
        MailSecurity::StartTls => builder.tls(Tls::Required(tls(&settings.host)?)),
        MailSecurity::Tls => builder.tls(Tls::Wrapper(tls(&settings.host)?)),
    };
    if let (Some(user), Some(password)) = (&settings.username, &settings.password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.to_string()));
    }
    builder
        .build()
        .send(&message)
        .map(|_| ())
        .map_err(|e| MailError::Send(e.to_string()))
}
