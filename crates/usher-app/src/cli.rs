//! The command line: `usher serve`, `usher dispatch`, `usher migrate` and `usher openapi`. Every option is a
//! flag with a `USHER_*` environment variable beside it.

use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use usher_domain::password::{PasswordPolicy, ShippedPasswordList};
use usher_domain::ports::{Store, TokenGen};
use usher_domain::service::Ports;
use usher_domain::service::access_tokens::{AccessTokenPolicy, Signing};
use usher_domain::service::accounts::{AccountError, bootstrap_operator};
use usher_domain::service::mail::DeliveryPolicy;
use usher_domain::service::webhooks::WebhookPolicy;
use usher_domain::value::PlainPassword;
use usher_http::{AppState, HttpConfig, Readiness};
use usher_store::{SqlStore, StoreConfig, StoreError};

use crate::adapters::{Argon2Hasher, OsTokens, ports};

/// User administration for multi-tenant business software.
#[derive(Debug, Parser)]
#[command(name = "usher", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the HTTP server (the /v1 API, /docs, /healthz, /readyz, /metrics), migrating the
    /// database and creating the operator on first start.
    Serve(ServeArgs),
    /// Delivers queued mail and webhooks without serving HTTP (beside servers started with
    /// `--no-dispatcher`, or as extra dispatchers: any number can run on PostgreSQL).
    Dispatch(DispatchArgs),
    /// Applies the database migrations not applied yet (a no-op when up to date).
    Migrate(DatabaseArgs),
    /// Prints the OpenAPI document of the HTTP API.
    Openapi,
    /// Writes the users of an account (and its sub-accounts) as CSV, acting as the operator.
    Export(crate::transfer::ExportArgs),
    /// Imports users from a CSV file into an account, acting as the operator, and prints the
    /// outcome of every row that was refused.
    Import(crate::transfer::ImportArgs),
}

/// Where the database is.
#[derive(Debug, clap::Args)]
pub struct DatabaseArgs {
    /// `sqlite:<file>` (created if missing), `sqlite::memory:` or `postgres://user@host/db`.
    #[arg(long, env = "USHER_DATABASE_URL", default_value = "sqlite:usher.db")]
    pub database_url: String,
    /// PostgreSQL pool size.
    #[arg(long, env = "USHER_DATABASE_POOL_SIZE", default_value_t = 10)]
    pub database_pool_size: u32,
}

impl DatabaseArgs {
    pub(crate) fn config(&self) -> StoreConfig {
        StoreConfig {
            max_connections: self.database_pool_size,
            ..StoreConfig::new(self.database_url.clone())
        }
    }
}

/// Where mail goes and how it is delivered.
#[derive(Debug, clap::Args)]
pub struct MailArgs {
    /// `file://<folder>` (one `.eml` per message), `smtp://[user:pass@]host[:port]` (add
    /// `?tls=required` for STARTTLS) or `smtps://…` (implicit TLS).
    #[arg(long = "mail", env = "USHER_MAIL", default_value = "file://mail", hide_env_values = true)]
    pub target: usher_mail::MailTarget,
    /// The sender of usher's mail.
    #[arg(long, env = "USHER_MAIL_FROM", default_value = "usher <noreply@usher.localhost>")]
    pub mail_from: String,
    /// A folder of templates replacing or adding to the shipped ones (`<locale>/<kind>.txt`,
    /// `<locale>/<kind>.html`).
    #[arg(long, env = "USHER_MAIL_TEMPLATES")]
    pub mail_templates: Option<std::path::PathBuf>,
    /// Seconds a dispatcher holds the mail it claimed; a dispatcher that dies leaves it to be
    /// claimed again after this.
    #[arg(long, env = "USHER_MAIL_LEASE_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub mail_lease_seconds: u32,
    /// Seconds before the first retry of a mail that failed for now; the wait doubles (with
    /// jitter) up to an hour, for 8 attempts.
    #[arg(long, env = "USHER_MAIL_RETRY_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub mail_retry_seconds: u32,
}

impl MailArgs {
    fn policy(&self) -> DeliveryPolicy {
        let seconds = |n: u32| usher_domain::time::Duration::seconds(i64::from(n));
        DeliveryPolicy {
            lease: seconds(self.mail_lease_seconds),
            first_retry: seconds(self.mail_retry_seconds),
            ..DeliveryPolicy::standard()
        }
    }

    fn renderer(&self, public_url: &str) -> Result<usher_mail::TemplateRenderer, CommandError> {
        let renderer = match &self.mail_templates {
            Some(folder) => usher_mail::TemplateRenderer::with_overrides(public_url, folder),
            None => usher_mail::TemplateRenderer::new(public_url),
        };
        renderer.map_err(|err| CommandError::Mail(err.to_string()))
    }

    fn mailer(&self) -> Result<usher_mail::AnyMailer, CommandError> {
        usher_mail::AnyMailer::new(&self.target, &self.mail_from).map_err(CommandError::Mail)
    }
}

/// How webhooks are delivered.
#[derive(Debug, clap::Args)]
pub struct WebhookArgs {
    /// Let webhooks reach private, loopback and link-local addresses (refused by default, so
    /// that a webhook cannot be aimed at the network usher runs in).
    #[arg(long = "webhook-allow-private", env = "USHER_WEBHOOK_ALLOW_PRIVATE")]
    pub allow_private: bool,
    /// Seconds a dispatcher holds the webhook it claimed; one that dies leaves the webhook to
    /// be claimed again after this (its delivery in flight is sent again: at least once).
    #[arg(long = "webhook-lease-seconds", env = "USHER_WEBHOOK_LEASE_SECONDS", default_value_t = 120, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub lease_seconds: u32,
}

impl WebhookArgs {
    fn policy(&self) -> WebhookPolicy {
        WebhookPolicy {
            lease: usher_domain::time::Duration::seconds(i64::from(self.lease_seconds)),
            ..WebhookPolicy::standard()
        }
    }

    fn sender(&self) -> Result<crate::hooks::HttpWebhookSender, CommandError> {
        crate::hooks::HttpWebhookSender::new(self.allow_private).map_err(CommandError::Webhooks)
    }
}

/// Options of `usher dispatch`.
#[derive(Debug, clap::Args)]
pub struct DispatchArgs {
    /// The database.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Mail.
    #[command(flatten)]
    pub mail: MailArgs,
    /// Webhooks.
    #[command(flatten)]
    pub webhooks: WebhookArgs,
    /// The address users reach usher at; links in mail start with it.
    #[arg(long, env = "USHER_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
    pub public_url: String,
    /// Log format.
    #[arg(long, env = "USHER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How logs are written (to standard error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    Text,
    /// One JSON object per line.
    Json,
}

/// Options of `usher serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The database.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Address to listen on (`:0` picks a free port; the line `listening: http://…` tells it).
    #[arg(long, env = "USHER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// The operator's password on first start; without it one is generated and printed once.
    #[arg(long, env = "USHER_BOOTSTRAP_PASSWORD", hide_env_values = true)]
    pub bootstrap_password: Option<String>,
    /// Mail.
    #[command(flatten)]
    pub mail: MailArgs,
    /// Webhooks.
    #[command(flatten)]
    pub webhooks: WebhookArgs,
    /// Leave mail and webhooks to `usher dispatch` processes instead of delivering them here.
    #[arg(long, env = "USHER_NO_DISPATCHER")]
    pub no_dispatcher: bool,
    /// The address users reach usher at; links in mail start with it (default: the listen address).
    #[arg(long, env = "USHER_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Password hashes computed at once (argon2id, about 19 MiB each); defaults to the cores.
    #[arg(long, env = "USHER_HASH_WORKERS")]
    pub hash_workers: Option<usize>,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "USHER_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Largest CSV file an import accepts, in bytes (read as it arrives, never held whole).
    #[arg(long, env = "USHER_MAX_IMPORT_BYTES", default_value_t = usher_http::DEFAULT_MAX_IMPORT_BYTES)]
    pub max_import_bytes: u64,
    /// The key (64 hex digits) that signs the hosted pages' CSRF cookies; random per process
    /// when absent. Give every instance behind one load balancer the same key.
    #[arg(long, env = "USHER_PAGE_KEY", hide_env_values = true)]
    pub page_key: Option<String>,
    /// How many proxies in front of usher append to `X-Forwarded-For`; the client address is
    /// the entry that many places from the right (0: ignore the header).
    #[arg(long, env = "USHER_TRUSTED_PROXIES", default_value_t = 0)]
    pub trusted_proxies: u8,
    /// Log format.
    #[arg(long, env = "USHER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Seconds requests in flight may take to finish after SIGTERM or SIGINT.
    #[arg(long, env = "USHER_SHUTDOWN_GRACE_SECONDS", default_value_t = 10)]
    pub shutdown_grace_seconds: u64,
    /// Days the event feed keeps an event (R26).
    #[arg(long, env = "USHER_EVENT_RETENTION_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u16).range(1..=3650))]
    pub event_retention_days: u16,
    /// The key (64 hex digits) that seals the access-token signing keys in the database.
    /// Without it signed access tokens (`POST /v1/auth/token`) are off; sessions and
    /// introspection work as before. Give every instance the same key.
    #[arg(long, env = "USHER_TOKEN_KEY", hide_env_values = true)]
    pub token_key: Option<String>,
    /// Seconds a signed access token holds.
    #[arg(long, env = "USHER_ACCESS_TOKEN_SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u32).range(30..=3600))]
    pub access_token_seconds: u32,
}

/// Why a command failed: one line for the operator.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address.
        address: String,
        /// Why.
        source: std::io::Error,
    },
    /// The server stopped with an error.
    #[error("the server failed: {0}")]
    Serve(std::io::Error),
    /// The operator could not be created.
    #[error("bootstrap failed: {0}")]
    Bootstrap(String),
    /// The webhook client could not be built.
    #[error("{0}")]
    Webhooks(String),
    /// The mail settings are unusable.
    #[error("mail: {0}")]
    Mail(String),
    /// A key variable is not 64 hex digits.
    #[error("{variable} must be 64 hex digits (32 bytes)")]
    Key {
        /// The variable.
        variable: &'static str,
    },
    /// The access-token signer could not be set up.
    #[error("{0}")]
    Signing(String),
    /// An export could not be read or written.
    #[error("export: {0}")]
    Export(String),
    /// An import could not run, or refused rows.
    #[error("import: {0}")]
    Import(String),
    /// A directory could not be created.
    #[error("cannot create {path}: {source}")]
    Directory {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// The origin (`scheme://host[:port]`) of a URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().filter(|a| !a.is_empty())?;
    Some(format!("{scheme}://{authority}"))
}

/// A 32-byte key from the 64 hex digits of `variable`.
fn hex_key(variable: &'static str, hex: &str) -> Result<[u8; 32], CommandError> {
    let hex = hex.trim();
    let wrong = || CommandError::Key { variable };
    let mut key = [0u8; 32];
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(wrong());
    }
    for (index, byte) in key.iter_mut().enumerate() {
        let pair = hex.get(index * 2..index * 2 + 2).ok_or_else(wrong)?;
        *byte = u8::from_str_radix(pair, 16).map_err(|_| wrong())?;
    }
    Ok(key)
}

/// Signed access tokens, when the operator gave a token key.
fn signing(token_key: Option<&str>, seconds: u32, issuer: &str) -> Result<Option<Signing>, CommandError> {
    let Some(hex) = token_key else {
        tracing::info!("signed access tokens are off: set USHER_TOKEN_KEY (64 hex digits) to turn them on");
        return Ok(None);
    };
    let signer = crate::signing::Ed25519Signer::new(hex_key("USHER_TOKEN_KEY", hex)?, issuer)
        .map_err(|err| CommandError::Signing(err.to_string()))?;
    let lifetime = usher_domain::time::Duration::seconds(i64::from(seconds));
    Ok(Some(Signing { signer: Arc::new(signer), policy: AccessTokenPolicy::with_lifetime(lifetime) }))
}

/// Prints one line of the command's output (not a log line) and flushes it at once, so a
/// process reading the pipe sees it while the server runs.
fn say(line: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    // A closed stdout is no reason to stop the server.
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// Runs a command.
pub async fn run(cli: Cli) -> Result<(), CommandError> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Dispatch(args) => dispatch(args).await,
        Command::Migrate(database) => {
            let store = SqlStore::connect(&database.config()).await?;
            let applied = store.migrate().await?;
            let total = store.applied_migrations().await?.len();
            store.close().await?;
            say(&format!("migrate: applied {applied} migration(s); the database is at {total} of {total}"));
            Ok(())
        }
        Command::Openapi => {
            say(&usher_http::spec());
            Ok(())
        }
        Command::Export(args) => crate::transfer::export(args).await,
        Command::Import(args) => crate::transfer::import(args).await,
    }
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("USHER_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn")
    });
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    // A second initialisation (in tests) keeps the first subscriber.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

struct StoreReadiness(Arc<SqlStore>);

#[async_trait::async_trait]
impl Readiness for StoreReadiness {
    async fn ready(&self) -> Result<(), String> {
        self.0.ping().await.map_err(|err| err.to_string())
    }
}

/// A password for the operator: 24 characters from 144 random bits.
fn generated_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_";
    let bytes = OsTokens.random_bytes();
    bytes
        .iter()
        .take(24)
        .map(|b| char::from(ALPHABET.get(usize::from(*b) % ALPHABET.len()).copied().unwrap_or(b'x')))
        .collect()
}

async fn bootstrap(ports: &Ports, given: Option<String>) -> Result<(), CommandError> {
    let from_env = given.is_some();
    let password = PlainPassword::new(given.unwrap_or_else(generated_password));
    PasswordPolicy::standard().check(&password, &["admin"], &ShippedPasswordList).map_err(|refused| {
        CommandError::Bootstrap(format!("USHER_BOOTSTRAP_PASSWORD is refused: {refused}"))
    })?;
    match bootstrap_operator(ports, &password).await {
        Ok(Some(_)) if from_env => {
            say("bootstrap: account=default username=admin password=(from USHER_BOOTSTRAP_PASSWORD)");
        }
        Ok(Some(_)) => {
            say(&format!("bootstrap: account=default username=admin password={}", password.expose()))
        }
        Ok(None) => tracing::info!("the operator exists already"),
        Err(AccountError::Repo(err)) => return Err(CommandError::Bootstrap(err.to_string())),
        Err(err) => return Err(CommandError::Bootstrap(err.to_string())),
    }
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(stream) => stream,
            Err(err) => {
                tracing::warn!(%err, "cannot listen for SIGTERM; only SIGINT stops the server");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// How often a dispatcher with nothing to do looks at the outbox again.
const DISPATCH_INTERVAL: Duration = Duration::from_millis(500);

async fn dispatch(args: DispatchArgs) -> Result<(), CommandError> {
    init_logs(args.log_format);
    let store = Arc::new(SqlStore::open(&args.database.config()).await?);
    let mailer = args.mail.mailer()?;
    let renderer = args.mail.renderer(&args.public_url)?;
    let ports = ports(store.clone() as Arc<dyn Store>, Argon2Hasher::new(1));
    say(&format!("dispatching: {}", args.mail.target));
    let (stop_webhooks, webhooks_stopped) = tokio::sync::oneshot::channel::<()>();
    let webhooks = tokio::spawn(crate::hooks::run_webhook_dispatcher(
        ports.clone(),
        args.webhooks.sender()?,
        args.webhooks.policy(),
        async move {
            let _ = webhooks_stopped.await;
        },
    ));
    usher_mail::run_dispatcher(
        ports,
        renderer,
        mailer,
        args.mail.policy(),
        DISPATCH_INTERVAL,
        |_| {},
        shutdown_signal(),
    )
    .await;
    let _ = stop_webhooks.send(());
    let _ = webhooks.await;
    if let Ok(store) = Arc::try_unwrap(store) {
        store.close().await?;
    }
    tracing::info!("stopped");
    Ok(())
}

async fn serve(args: ServeArgs) -> Result<(), CommandError> {
    init_logs(args.log_format);
    let store = Arc::new(SqlStore::open(&args.database.config()).await?);
    let mailer = args.mail.mailer()?;
    let workers =
        args.hash_workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from));
    let mut ports = ports(store.clone() as Arc<dyn Store>, Argon2Hasher::new(workers));
    bootstrap(&ports, args.bootstrap_password).await?;
    let bound = usher_http::bind(&args.listen)
        .await
        .map_err(|source| CommandError::Listen { address: args.listen.clone(), source })?;
    let public_url = args.public_url.clone().unwrap_or_else(|| format!("http://{}", bound.local_addr));
    let config = HttpConfig {
        max_body_bytes: args.max_body_bytes,
        max_import_bytes: args.max_import_bytes,
        trusted_proxies: args.trusted_proxies,
        secure_cookies: public_url.starts_with("https://"),
        public_origin: origin_of(&public_url),
        page_key: args.page_key.as_deref().map(|hex| hex_key("USHER_PAGE_KEY", hex)).transpose()?,
    };
    let token_key = args.token_key.as_deref().filter(|key| !key.trim().is_empty());
    ports.signing = signing(token_key, args.access_token_seconds, &public_url)?;
    let state = AppState::new(ports.clone(), Arc::new(StoreReadiness(store.clone())), config);
    let renderer = args.mail.renderer(&public_url)?;
    let (stop_feed, feed_stopped) = tokio::sync::oneshot::channel::<()>();
    let retention = usher_domain::time::Duration::days(i64::from(args.event_retention_days));
    let feed = tokio::spawn(crate::feed::run_feed_keeper(ports.clone(), retention, async move {
        let _ = feed_stopped.await;
    }));
    let (stop_webhooks, webhooks_stopped) = tokio::sync::oneshot::channel::<()>();
    let webhooks = match args.no_dispatcher {
        true => None,
        false => Some(tokio::spawn(crate::hooks::run_webhook_dispatcher(
            ports.clone(),
            args.webhooks.sender()?,
            args.webhooks.policy(),
            async move {
                let _ = webhooks_stopped.await;
            },
        ))),
    };
    let (stop_imports, imports_stopped) = tokio::sync::watch::channel(false);
    let imports = tokio::spawn(crate::imports::run_import_worker(ports.clone(), imports_stopped));
    let (stop_mail, mail_stopped) = tokio::sync::oneshot::channel::<()>();
    let dispatcher = (!args.no_dispatcher).then(|| {
        let metrics = state.clone();
        tokio::spawn(usher_mail::run_dispatcher(
            ports,
            renderer,
            mailer,
            args.mail.policy(),
            DISPATCH_INTERVAL,
            move |report| metrics.count_mail(report),
            async move {
                let _ = mail_stopped.await;
            },
        ))
    });
    say(&format!("listening: http://{}", bound.local_addr));
    tracing::info!(address = %bound.local_addr, backend = ?store.backend(), mail = %args.mail.target, "serving");
    let grace = Duration::from_secs(args.shutdown_grace_seconds);
    let served = bound.serve(state, shutdown_signal(), grace).await;
    let _ = stop_mail.send(());
    let _ = stop_feed.send(());
    let _ = stop_imports.send(true);
    let _ = imports.await;
    let _ = stop_webhooks.send(());
    if let Some(webhooks) = webhooks {
        let _ = webhooks.await;
    }
    if let Some(dispatcher) = dispatcher {
        let _ = dispatcher.await;
    }
    let _ = feed.await;
    served.map_err(CommandError::Serve)?;
    if let Ok(store) = Arc::try_unwrap(store) {
        store.close().await?;
    }
    tracing::info!("stopped");
    Ok(())
}
