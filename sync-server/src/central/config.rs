//! The `[central]` table of the server's TOML. Secrets are never inline: the config names files
//! that hold them, so the config itself can be shown, packaged and backed up.

use std::path::PathBuf;

use serde::Deserialize;

use super::CentralError;

/// Where accepted cases go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectorKind {
    /// POST each case to the central system's HTTP endpoint.
    Http,
    /// Write each case as a folder into a directory the central system imports from.
    Dir,
    /// Keep accepted cases queued; nothing is sent.
    #[default]
    None,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain SMTP: only for a relay on the same machine (or in tests).
    None,
    /// STARTTLS, required (submission port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// `[central.notify]`: how applicants are told about their case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    pub smtp_host: Option<String>,
    #[serde(default = "default_smtp_port")]
    pub smtp_port: u16,
    #[serde(default)]
    pub smtp_security: SmtpSecurity,
    pub smtp_username: Option<String>,
    pub smtp_password_file: Option<PathBuf>,
    /// The sender, e.g. "ЦНАП м. Львова <cnap@example.lviv.ua>".
    pub from: Option<String>,
    pub sms_gateway_url: Option<String>,
    pub sms_gateway_token_file: Option<PathBuf>,
}

fn default_smtp_port() -> u16 {
    587
}

/// `[central]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CentralConfig {
    pub connector: ConnectorKind,
    /// http: the endpoint cases are POSTed to.
    pub url: Option<String>,
    /// http: the file holding the shared secret for `X-Fieldkit-Signature`.
    pub hmac_key_file: Option<PathBuf>,
    /// http: trust only this CA (PEM) for the central system instead of the machine's store.
    pub ca_file: Option<PathBuf>,
    pub timeout_seconds: u64,
    pub max_attempts: u32,
    pub backoff_base_seconds: i64,
    pub backoff_max_seconds: i64,
    /// dir: the folder cases are dropped into.
    pub drop_dir: Option<PathBuf>,
    /// The file holding the secret the central system signs its events with; without it the
    /// events endpoint refuses everything.
    pub events_hmac_key_file: Option<PathBuf>,
    pub notify: Option<NotifyConfig>,
    /// How often the server takes new envelopes into the register and supplements into their
    /// cases without a back-office page being looked at (seconds, at least 1).
    pub intake_interval_seconds: u64,
}

impl Default for CentralConfig {
    fn default() -> Self {
        Self {
            connector: ConnectorKind::None,
            url: None,
            hmac_key_file: None,
            ca_file: None,
            timeout_seconds: 30,
            max_attempts: 12,
            backoff_base_seconds: 30,
            backoff_max_seconds: 3600,
            drop_dir: None,
            events_hmac_key_file: None,
            notify: None,
            intake_interval_seconds: 30,
        }
    }
}

fn invalid(message: impl Into<String>) -> CentralError {
    CentralError::Config(message.into())
}

impl CentralConfig {
    /// Refuse a config that cannot work, at start-up rather than at the first case.
    pub fn validate(&self) -> Result<(), CentralError> {
        match self.connector {
            ConnectorKind::Http => {
                let url = self
                    .url
                    .as_deref()
                    .ok_or_else(|| invalid("connector = \"http\" needs url"))?;
                check_url("url", url)?;
                if self.hmac_key_file.is_none() {
                    return Err(invalid("connector = \"http\" needs hmac_key_file"));
                }
            }
            ConnectorKind::Dir => {
                if self.drop_dir.is_none() {
                    return Err(invalid("connector = \"dir\" needs drop_dir"));
                }
            }
            ConnectorKind::None => {}
        }
        if self.timeout_seconds == 0 || self.max_attempts == 0 || self.intake_interval_seconds == 0
        {
            return Err(invalid(
                "timeout_seconds, max_attempts and intake_interval_seconds must be at least 1",
            ));
        }
        if self.backoff_base_seconds < 1 || self.backoff_max_seconds < self.backoff_base_seconds {
            return Err(invalid(
                "backoff_base_seconds must be at least 1 and backoff_max_seconds at least as large",
            ));
        }
        if let Some(notify) = &self.notify {
            notify.validate()?;
        }
        Ok(())
    }
}

impl NotifyConfig {
    fn validate(&self) -> Result<(), CentralError> {
        if self.smtp_host.is_some() && self.from.is_none() {
            return Err(invalid("[central.notify] smtp_host needs from"));
        }
        if self.smtp_username.is_some() != self.smtp_password_file.is_some() {
            return Err(invalid(
                "[central.notify] smtp_username and smtp_password_file go together",
            ));
        }
        if let Some(url) = &self.sms_gateway_url {
            check_url("sms_gateway_url", url)?;
            if self.sms_gateway_token_file.is_none() {
                return Err(invalid(
                    "[central.notify] sms_gateway_url needs sms_gateway_token_file",
                ));
            }
        }
        Ok(())
    }
}

/// HTTPS, or plain HTTP to this machine only: personal data never crosses a network in clear.
fn check_url(key: &str, url: &str) -> Result<(), CentralError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| invalid(format!("{key}: {e}")))?;
    let host = parsed.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(invalid(format!(
            "{key}: use https:// (plain http:// only to 127.0.0.1 or localhost)"
        ))),
    }
}
