//! `fieldkit-sync-server`: init a data directory, serve the API, issue enrollment codes,
//! revoke devices. Every setting is documented in `--help` and in deploy/server/sync-server.toml.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use fieldkit_sync_server::ServerError;
use fieldkit_sync_server::connections::ConnectionLimits;
use fieldkit_sync_server::http::{AppState, router, serve_with_limits};
use fieldkit_sync_server::metrics::Metrics;
use fieldkit_sync_server::setup::{Layout, ServerFiles, init};
use fieldkit_sync_server::store::{FileBlobStore, MetadataStore, SqliteMetadata};
use fieldkit_sync_server::tls::{certificate_fingerprint, server_config};
use fieldkit_sync_server::tus::{DeviceQuota, TusLimits, spawn_sweeper};
use serde::Deserialize;

const HELP: &str = "fieldkit-sync-server — receives sealed cases from fieldkit tablets

USAGE:
  fieldkit-sync-server init --data DIR --hostname NAME [--hostname NAME…]
      Create DIR: the metadata database, the blob folder, the device CA, the server CA
      (tablets pin it: DIR/keys/server-ca.der) and a TLS certificate for the host names,
      the case-sealing key and the receipt-signing key. Private keys are mode 0600.
  fieldkit-sync-server serve --config FILE
      Serve the API over TLS 1.3 with client certificates. FILE is TOML:
        listen = \"0.0.0.0:8443\"          # address and port
        data = \"/var/lib/fieldkit-sync\"  # the directory made by init
        max_upload_bytes = 67108864       # Tus-Max-Size: largest single part
        upload_expiry_hours = 168         # unfinished uploads expire after this (then swept)
        max_uploads_in_flight_per_device = 64       # unfinished uploads per tablet
        max_pending_bytes_per_device = 268435456    # uploaded, not yet committed, per tablet
        log_level = \"info\"               # error, warn, info, debug: JSON lines on stderr
        public_url = \"https://sync.example.ua:8443\"  # what tablets use (enrollment QR)
        metrics_token_file = \"/etc/fieldkit/metrics.token\"  # /metrics needs this bearer token
                                          # (32+ characters); without the file /metrics is off
        [central]                         # the central case system: sync-server/docs/central.md
        connector = \"http\"                # http, dir or none
        [connections]                     # caps and deadlines against connection floods
        max_connections = 4096            # open at once, all addresses (below LimitNOFILE)
        max_connections_per_address = 64  # open at once from one IP address
        tls_handshake_timeout_seconds = 10
        header_timeout_seconds = 20       # to send a whole request head
        idle_timeout_seconds = 120        # silent both ways, then closed
        [public]                          # the applicants' pages (off without this table)
        listen = \"0.0.0.0:443\"
        url = \"https://track.cnap.example.ua\"   # receipts' QR codes point under it
        certificate_file = \"/etc/fieldkit/public.pem\"  # chain from a CA browsers trust
        key_file = \"/etc/fieldkit/public.key\"
      The back-office is served on the same port at /office (sign in as an office-user), and
      the central system posts its events to /central/v1/events (HMAC-signed).
  fieldkit-sync-server enroll-code --data DIR [--valid-minutes N]
      Print a one-time enrollment code for a new tablet (default: valid 60 minutes).
  fieldkit-sync-server revoke --data DIR DEVICE
      Revoke a tablet: every request is refused except picking up its queued commands, so a
      wipe queued before (or after) revoking still reaches a lost tablet.
  fieldkit-sync-server office-user --data DIR USER ROLE   (password on stdin)
      Add a back-office user or set their password and role. ROLE: operator (reconciles
      cases, plans visits), supervisor (reports, catalog, dead letters) or device_admin
      (enrollment codes, revocation). The password (12+ characters) is read from stdin and
      stored as an Argon2id hash; a new password ends the user's sessions.
  fieldkit-sync-server devices --data DIR
      Every tablet: active or revoked, last contact, cases it sealed, received here, waiting
      on it, reported waiting but never arrived (unsynced), commands not yet picked up.
  fieldkit-sync-server unsynced --data DIR DEVICE
      The case numbers a tablet's latest report listed as sealed and waiting that never
      arrived: for a lost tablet, the applicants whose cases must be taken again.
  fieldkit-sync-server publish-catalog --data DIR FILE
      Validate a service catalog (the format of assets/catalog) and publish it; tablets pull
      it at their next sync. Its version must be newer than the published one.
  fieldkit-sync-server plan-visit --data DIR DEVICE FILE.json
      Plan a visit for a tablet (until the back-office does it): FILE is a JSON object with
      the place, address, time, applicant and services (format: sync-server/docs/visits.md);
      the tablet pulls it at its next sync. A hand-over visit (kind handover) is refused
      here: it is planned on the case's page in the back-office.
  fieldkit-sync-server rotate-sealing-key --data DIR
      Make a new case-sealing key current (old keys stay to open old envelopes). Restart the
      service afterwards; tablets pick the new key up at their next sync (GET /v1/keys).
  fieldkit-sync-server rotate-tls-cert --data DIR --hostname NAME [--hostname NAME…]
      Issue a new TLS certificate for the host names from the server CA the tablets pin and
      make it current (tablets need nothing). Restart the service to serve it.
  fieldkit-sync-server rotate-device-ca --data DIR
      Make a new device CA the one that issues tablet certificates. Older device CAs stay
      trusted; every tablet renews its certificate from the new CA at its next sync
      (POST /v1/certificate). Restart the service afterwards.
  fieldkit-sync-server retire-device-ca --data DIR NAME
      Stop trusting an older device CA (NAME as `devices` lists it, e.g. device-ca). Refused
      while an active tablet has not renewed from the current CA. Restart afterwards.
  fieldkit-sync-server backup --data DIR --to BACKUP
      Copy the data directory while the server runs (SQLite online backup, then the blobs).
  fieldkit-sync-server restore --from BACKUP --data DIR
      Make a new data directory from a backup; unfinished uploads start again.
  fieldkit-sync-server command --data DIR DEVICE wipe
      Queue a command for a tablet's next contact. wipe: the tablet deletes its drafts, its
      planned visits and its enrollment keys (sealed cases stay, unreadable without this
      server's key) and must be enrolled again.
";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    listen: String,
    data: PathBuf,
    #[serde(default = "default_max_upload")]
    max_upload_bytes: u64,
    #[serde(default = "default_expiry")]
    upload_expiry_hours: i64,
    /// Unfinished uploads one tablet may have at once.
    #[serde(default = "default_uploads_in_flight")]
    max_uploads_in_flight_per_device: u64,
    /// Bytes one tablet may have uploaded and not yet committed.
    #[serde(default = "default_pending_bytes")]
    max_pending_bytes_per_device: u64,
    #[serde(default = "default_log_level")]
    log_level: String,
    /// The address tablets use (put in enrollment QR codes), e.g. https://sync.example.ua:8443.
    #[serde(default)]
    public_url: Option<String>,
    /// The central case system connector (sync-server/docs/central.md).
    #[serde(default)]
    central: fieldkit_sync_server::central::CentralConfig,
    /// A file holding the bearer token Prometheus sends for `/metrics`; without it `/metrics`
    /// is off.
    #[serde(default)]
    metrics_token_file: Option<PathBuf>,
    /// Caps and deadlines that keep a flood of connections from stopping the server.
    #[serde(default)]
    connections: ConnectionLimits,
    /// The applicants' pages on a listener of their own; off unless configured.
    #[serde(default)]
    public: Option<fieldkit_sync_server::public::PublicConfig>,
}

fn default_log_level() -> String {
    "info".to_owned()
}

fn default_max_upload() -> u64 {
    64 * 1024 * 1024
}

fn default_uploads_in_flight() -> u64 {
    fieldkit_sync_server::tus::DeviceQuota::default().uploads_in_flight
}

fn default_pending_bytes() -> u64 {
    fieldkit_sync_server::tus::DeviceQuota::default().pending_bytes
}

fn default_expiry() -> i64 {
    7 * 24
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The arguments that are neither flags nor flag values.
fn positionals(args: &[String]) -> Vec<&String> {
    let mut out = Vec::new();
    let mut skip = false;
    for arg in args {
        if skip {
            skip = false;
        } else if arg.starts_with("--") {
            skip = true;
        } else {
            out.push(arg);
        }
    }
    out
}

/// Values of `--name` flags.
fn flags(args: &[String], name: &str) -> Vec<String> {
    args.windows(2)
        .filter(|w| w[0] == name)
        .map(|w| w[1].clone())
        .collect()
}

fn one_flag(args: &[String], name: &str) -> Result<String, String> {
    flags(args, name)
        .pop()
        .ok_or_else(|| format!("missing {name}\n\n{HELP}"))
}

fn metadata(data: &Path) -> Result<SqliteMetadata, String> {
    SqliteMetadata::open(&Layout::new(data).database()).map_err(|e| e.to_string())
}

async fn run_server(config_path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(config_path)
        .map_err(|e| format!("{}: {e}", config_path.display()))?;
    let config: Config =
        toml::from_str(&text).map_err(|e| format!("{}: {e}", config_path.display()))?;
    config
        .connections
        .check()
        .map_err(|e| format!("{}: {e}", config_path.display()))?;
    let level: tracing::Level = config.log_level.parse().map_err(|_| {
        format!(
            "log_level: {} is not error, warn, info or debug",
            config.log_level
        )
    })?;
    tracing_subscriber::fmt()
        .json()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .init();
    let layout = Layout::new(&config.data);
    let files = ServerFiles::load(&config.data).map_err(|e| e.to_string())?;
    let tls = server_config(
        &files.trusted_device_cas,
        files.server_chain,
        files.server_key,
    )
    .map_err(|e| e.to_string())?;
    let meta = Arc::new(SqliteMetadata::open(&layout.database()).map_err(|e| e.to_string())?);
    let blobs = Arc::new(FileBlobStore::open(&layout.blobs()).map_err(|e| e.to_string())?);
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("https://{}", config.listen));
    let mut office = fieldkit_sync_server::office::load(
        &config.data,
        meta.clone(),
        blobs.clone(),
        files.sealing_keys,
        now,
        public_url,
    )
    .map_err(|e| e.to_string())?;
    let metrics = match &config.metrics_token_file {
        Some(path) => {
            let token = zeroize::Zeroizing::new(
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?,
            );
            Metrics::with_token(&token).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => Metrics::default(),
    };
    let meta_for_public = meta.clone();
    let meta_for_requests = meta.clone();
    let state = AppState {
        meta,
        blobs,
        limits: TusLimits {
            max_size: config.max_upload_bytes,
            expiry_seconds: config.upload_expiry_hours * 3600,
            quota: DeviceQuota {
                uploads_in_flight: config.max_uploads_in_flight_per_device,
                pending_bytes: config.max_pending_bytes_per_device,
            },
        },
        receipt_key: files.receipt_key,
        sealing_key: files.sealing.public_key(),
        device_ca: files.device_ca,
        clock: now,
        metrics,
        personal: office.personal.clone(),
        // The applicants' pages' address, when there are any: receipts' QR codes point under it.
        public_tracking_url: config.public.as_ref().map(|public| public.url.clone()),
    };
    spawn_sweeper(state.meta.clone(), state.blobs.clone(), now);
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|e| format!("{}: {e}", config.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on {address}");
    let central = fieldkit_sync_server::central::CentralState::open(
        &config.data,
        config.central.clone(),
        now,
    )
    .map_err(|e| e.to_string())?;
    office.central = Some(central.clone());
    // None when no connector is configured: accepted cases then wait in the outbox.
    let _outbox = fieldkit_sync_server::central::outbox::spawn(central.clone());
    // Home-visit requests: notices owed to requesters, unconfirmed requests swept.
    let _requests = fieldkit_sync_server::visit_requests::spawn(Arc::new(
        fieldkit_sync_server::visit_requests::Notices::new(
            meta_for_requests,
            central.clone(),
            office.personal.clone(),
            now,
        ),
    ));
    let public = match &config.public {
        Some(public) => {
            Some(public_side(public, &layout, meta_for_public, central.clone(), &config).await?)
        }
        None => None,
    };
    let app = router(Arc::new(state))
        .merge(fieldkit_sync_server::office::router(Arc::new(office)))
        .merge(fieldkit_sync_server::central::events::router(central));
    let devices = serve_with_limits(listener, Arc::new(tls), app, config.connections);
    match public {
        Some(public) => tokio::try_join!(devices, public).map(|_| ()),
        None => devices.await,
    }
    .map_err(|e| e.to_string())
}

/// The applicants' listener: its own address and certificate, no client certificates, the
/// same connection caps as the tablets' port (each with its own count).
async fn public_side(
    public: &fieldkit_sync_server::public::PublicConfig,
    layout: &Layout,
    meta: Arc<SqliteMetadata>,
    central: Arc<fieldkit_sync_server::central::CentralState>,
    config: &Config,
) -> Result<impl std::future::Future<Output = std::io::Result<()>>, String> {
    let (chain, key) =
        fieldkit_sync_server::tls::load_pem_identity(&public.certificate_file, &public.key_file)
            .map_err(|e| format!("[public]: {e}"))?;
    let tls = fieldkit_sync_server::tls::public_server_config(chain, key)
        .map_err(|e| format!("[public]: {e}"))?;
    let personal =
        fieldkit_sync_server::personal_data::PersonalDataKey::load_or_create(&layout.keys())
            .map_err(|e| e.to_string())?;
    let state = fieldkit_sync_server::public::PublicState::new(
        meta,
        central,
        Arc::new(personal),
        now,
        public.url.clone(),
    )
    .map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(&public.listen)
        .await
        .map_err(|e| format!("[public] {}: {e}", public.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    println!("public pages on {address}");
    let state = Arc::new(state);
    // Tracking-page notices go out from here: only a server with a public side takes them.
    let _notices = fieldkit_sync_server::public::notices::spawn(state.clone());
    let app = fieldkit_sync_server::public::router(state);
    Ok(serve_with_limits(
        listener,
        Arc::new(tls),
        app,
        config.connections,
    ))
}

fn run(args: &[String]) -> Result<(), String> {
    let command = args.first().map(String::as_str).unwrap_or("--help");
    let rest = &args[1.min(args.len())..];
    match command {
        "init" => {
            let data = PathBuf::from(one_flag(rest, "--data")?);
            let hostnames = flags(rest, "--hostname");
            if hostnames.is_empty() {
                return Err(format!("init needs at least one --hostname\n\n{HELP}"));
            }
            init(&data, &hostnames).map_err(|e| e.to_string())?;
            println!(
                "initialised {}; tablets pin {}",
                data.display(),
                Layout::new(&data).server_ca_certificate().display()
            );
            Ok(())
        }
        "serve" => {
            let config = PathBuf::from(one_flag(rest, "--config")?);
            let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
            runtime.block_on(run_server(&config))
        }
        "enroll-code" => {
            let data = PathBuf::from(one_flag(rest, "--data")?);
            let minutes: i64 = flags(rest, "--valid-minutes")
                .pop()
                .map_or(Ok(60), |m| m.parse())
                .map_err(|_| "--valid-minutes: a number".to_owned())?;
            let code = fieldkit_sync_server::setup::new_enroll_code().map_err(|e| e.to_string())?;
            metadata(&data)?
                .add_enroll_code(
                    &certificate_fingerprint(code.as_bytes()),
                    now() + minutes * 60,
                )
                .map_err(|e| e.to_string())?;
            println!("{code}");
            Ok(())
        }
        "revoke" => {
            let data = PathBuf::from(one_flag(rest, "--data")?);
            let device = *positionals(rest).first().ok_or("revoke: which device?")?;
            metadata(&data)?
                .revoke_device(device)
                .map_err(|e: ServerError| e.to_string())?;
            println!("revoked {device}");
            Ok(())
        }
        "office-user" => {
            let data = PathBuf::from(one_flag(rest, "--data")?);
            let positional = positionals(rest);
            let (Some(username), Some(role)) = (positional.first(), positional.get(1)) else {
                return Err(format!("office-user: USER and ROLE\n\n{HELP}"));
            };
            let role = fieldkit_sync_server::office::auth::Role::parse(role)
                .ok_or("office-user: ROLE is operator, supervisor or device_admin")?;
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .map_err(|e| format!("reading the password: {e}"))?;
            let password =
                zeroize::Zeroizing::new(password.trim_end_matches(['\r', '\n']).to_owned());
            let db =
                fieldkit_sync_server::office::db::OfficeDb::open(&Layout::new(&data).database())
                    .map_err(|e| e.to_string())?;
            fieldkit_sync_server::office::auth::set_user(
                &db,
                username,
                role,
                &password,
                "operator-cli",
                now(),
            )
            .map_err(|e| e.to_string())?;
            println!("back-office user {username} ({}) is set", role.as_str());
            Ok(())
        }
        "devices" => {
            let data = PathBuf::from(one_flag(rest, "--data")?);
            println!(
                "{:<10} {:<8} {:<20} {:>7} {:>8} {:>8} {:>9} {:>8}",
                "DEVICE",
                "STATE",
                "LAST CONTACT (UTC)",
                "SEALED",
                "RECEIVED",
                "WAITING",
                "UNSYNCED",
                "COMMANDS"
            );
            let cas = fieldkit_sync_server::setup::trusted_device_cas(&data)
                .map_err(|e| e.to_string())?;
            let current = cas.iter().find(|ca| ca.current).map(|ca| ca.sha256.clone());
            let meta = metadata(&data)?;
            let not_renewed = match &current {
                Some(sha256) => meta
                    .active_devices_without_certificate_from(sha256)
                    .map_err(|e| e.to_string())?,
                None => Vec::new(),
            };
            for device in meta.devices().map_err(|e| e.to_string())? {
                println!(
                    "{:<10} {:<8} {:<20} {:>7} {:>8} {:>8} {:>9} {:>8}",
                    device.device_id,
                    if device.revoked { "revoked" } else { "active" },
                    device
                        .last_report_at
                        .map_or("never".to_owned(), fieldkit_sync_server::office::html::when),
                    device.cases_sealed,
                    device.received,
                    device.envelopes_waiting,
                    device.unsynced,
                    device.pending_commands
                );
            }
            let names: Vec<String> = cas
                .iter()
                .map(|ca| format!("{}{}", ca.stem, if ca.current { " (current)" } else { "" }))
                .collect();
            println!("device CAs trusted: {}", names.join(", "));
            if cas.len() > 1 {
                println!(
                    "not yet renewed from the current CA: {}",
                    if not_renewed.is_empty() {
                        "none".to_owned()
                    } else {
                        not_renewed.join(", ")
                    }
                );
            }
            Ok(())
        }
        "unsynced" => {
            let data = PathBuf::from(one_flag(rest, "--data")?);
            let device = *positionals(rest).first().ok_or("unsynced: which device?")?;
            let meta = metadata(&data)?;
            let overview = meta
                .devices()
                .map_err(|e| e.to_string())?
                .into_iter()
                .find(|d| d.device_id == *device)
                .ok_or(format!("unknown device {device}"))?;
            let cases = meta.unsynced(device).map_err(|e| e.to_string())?;
            match overview.last_report_at {
                None => println!("{device} has never reported; nothing is known of its cases"),
                Some(at) => println!(
                    "{device} last reported at {} UTC: {} case(s) sealed there never arrived{}",
                    fieldkit_sync_server::office::html::when(at),
                    cases.len(),
                    if cases.is_empty() { "" } else { ":" }
                ),
            }
            for case in &cases {
                println!("  {case}");
            }
            println!(
                "Cases sealed after its last report are not known here; its last reported case number was {}.",
                overview.last_case_number.as_deref().unwrap_or("none")
            );
            Ok(())
        }
        "publish-catalog" => {
            let data = PathBuf::from(one_flag(rest, "--data")?);
            let file = positionals(rest)
                .first()
                .map(PathBuf::from)
                .ok_or("publish-catalog: which file?")?;
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let catalog =
                fieldkit_domain::catalog::Catalog::from_toml_str(&text).map_err(|e| match e {
                    fieldkit_domain::catalog::CatalogError::Invalid(problems) => {
                        let list: Vec<String> =
                            problems.iter().map(|p| format!("  - {p}")).collect();
                        format!(
                            "{}: the catalog has problems:\n{}",
                            file.display(),
                            list.join("\n")
                        )
                    }
                    other => format!("{}: {other}", file.display()),
                })?;
            metadata(&data)?
                .publish_catalog(catalog.version, &text, now())
                .map_err(|e| e.to_string())?;
            println!(
                "published catalog version {} ({} services)",
                catalog.version,
                catalog.services.len()
            );
            Ok(())
        }
        "rotate-sealing-key" => {
            let data = PathBuf::from(one_flag(rest, "--data")?);
            let key_id = fieldkit_sync_server::setup::rotate_sealing_key(&data)
                .map_err(|e| e.to_string())?;
            println!("sealing key {key_id} is now current; restart the service");
            Ok(())
        }
        "rotate-tls-cert" => {
            let data = PathBuf::from(one_flag(rest, "--data")?);
            let hostnames = flags(rest, "--hostname");
            if hostnames.is_empty() {
                return Err(format!(
                    "rotate-tls-cert needs at least one --hostname\n\n{HELP}"
                ));
            }
            let fingerprint =
                fieldkit_sync_server::setup::rotate_tls_certificate(&data, &hostnames)
                    .map_err(|e| e.to_string())?;
            println!(
                "new TLS certificate SHA-256 {fingerprint} is now current; restart the service"
            );
            Ok(())
        }
        "rotate-device-ca" => {
            let data = PathBuf::from(one_flag(rest, "--data")?);
            let stem =
                fieldkit_sync_server::setup::rotate_device_ca(&data).map_err(|e| e.to_string())?;
            println!(
                "{stem} now issues tablet certificates; the older device CAs stay trusted. Restart the service: each tablet renews its certificate at its next sync. When `devices` shows them all renewed, retire the old CA with retire-device-ca."
            );
            Ok(())
        }
        "retire-device-ca" => {
            let data = PathBuf::from(one_flag(rest, "--data")?);
            let stem = *positionals(rest)
                .first()
                .ok_or("retire-device-ca: which CA (for example device-ca)?")?;
            let current = fieldkit_sync_server::setup::trusted_device_cas(&data)
                .map_err(|e| e.to_string())?
                .into_iter()
                .find(|ca| ca.current)
                .ok_or("no current device CA")?;
            let waiting = metadata(&data)?
                .active_devices_without_certificate_from(&current.sha256)
                .map_err(|e| e.to_string())?;
            fieldkit_sync_server::setup::retire_device_ca(&data, stem, &waiting)
                .map_err(|e| e.to_string())?;
            println!("{stem} is no longer trusted; restart the service");
            Ok(())
        }
        "backup" => {
            let data = PathBuf::from(one_flag(rest, "--data")?);
            let to = PathBuf::from(one_flag(rest, "--to")?);
            let report =
                fieldkit_sync_server::backup::backup(&data, &to).map_err(|e| e.to_string())?;
            println!(
                "backed up {} blobs and {} keys to {}",
                report.blobs,
                report.key_files,
                to.display()
            );
            Ok(())
        }
        "restore" => {
            let from = PathBuf::from(one_flag(rest, "--from")?);
            let data = PathBuf::from(one_flag(rest, "--data")?);
            let report =
                fieldkit_sync_server::backup::restore(&from, &data).map_err(|e| e.to_string())?;
            println!(
                "restored {} blobs and {} keys into {}",
                report.blobs,
                report.key_files,
                data.display()
            );
            Ok(())
        }
        "plan-visit" => {
            let data = PathBuf::from(one_flag(rest, "--data")?);
            let positional = positionals(rest);
            let (Some(device), Some(file)) = (positional.first(), positional.get(1)) else {
                return Err(format!("plan-visit: DEVICE and FILE\n\n{HELP}"));
            };
            let text =
                std::fs::read_to_string(file.as_str()).map_err(|e| format!("{file}: {e}"))?;
            let visit: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| format!("{file}: {e}"))?;
            if !visit.is_object() {
                return Err(format!("{file}: a visit is a JSON object"));
            }
            // A hand-over needs the register's check that the result is ready, and makes the
            // tablet follow the case: the back-office's case page plans it.
            if visit.get("kind").and_then(|k| k.as_str()) == Some("handover") {
                return Err(format!(
                    "{file}: a hand-over visit is planned on the case's page in the back-office"
                ));
            }
            // Sealed at rest under the data directory's personal-data key, as the back-office
            // plans them (a visit names a person).
            let key = fieldkit_sync_server::personal_data::PersonalDataKey::load_or_create(
                &Layout::new(&data).keys(),
            )
            .map_err(|e| e.to_string())?;
            let reference =
                fieldkit_sync_server::visit_requests::new_id().map_err(|e| e.to_string())?;
            let sealed =
                fieldkit_sync_server::sealed_visits::seal(&key, device, &reference, &visit)
                    .map_err(|e| e.to_string())?;
            let id = metadata(&data)?
                .plan_visit(device, &sealed, now())
                .map_err(|e| e.to_string())?;
            println!("visit {id} planned for {device}");
            Ok(())
        }
        "command" => {
            let data = PathBuf::from(one_flag(rest, "--data")?);
            let positional = positionals(rest);
            let (Some(device), Some(command)) = (positional.first(), positional.get(1)) else {
                return Err(format!("command: DEVICE and COMMAND\n\n{HELP}"));
            };
            if command.as_str() != "wipe" {
                return Err(format!(
                    "unknown command {command}: the one command is wipe"
                ));
            }
            metadata(&data)?
                .add_command(device, command, now())
                .map_err(|e| e.to_string())?;
            println!("{command} queued for {device}");
            Ok(())
        }
        "--help" | "-h" | "help" => {
            print!("{HELP}");
            Ok(())
        }
        other => Err(format!("unknown command {other}\n\n{HELP}")),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}
