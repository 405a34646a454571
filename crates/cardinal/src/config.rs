//! Command line and environment: every flag is also `CARDINAL_<NAME>`.

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "cardinal",
    version,
    about = "A card-management server speaking the Qonto Business API v2 card endpoints"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP server.
    Serve(Box<ServeArgs>),
    /// Tools for bench/run.
    #[command(subcommand, hide = true)]
    Bench(BenchCommand),
    /// The card-data key.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Subscribe to the organization's webhooks and forward them to a local app (or print them).
    Listen(crate::cli::ListenArgs),
    /// Make a card event happen: a payment, a settlement, a reversal, an expiry.
    Trigger(crate::cli::TriggerCommand),
    /// List, show and change cards, as a member.
    Cards(crate::cli::CardsCommand),
    /// Move an organization's clock.
    Clock(crate::cli::ClockCommand),
    /// Sandbox organizations.
    Orgs(crate::cli::OrgsCommand),
    /// Members' access tokens.
    Tokens(crate::cli::TokensCommand),
    /// An organization's requests.
    Logs(crate::cli::LogsCommand),
    /// Shell completions: `cardinal completions bash > /etc/bash_completion.d/cardinal`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Re-seal every card's number and CVV under a new card-data key, which it generates and
    /// writes to a file only you can read before any card moves. Stop the servers on this
    /// database first. Safe to interrupt: run it again and it finishes.
    Rotate(RotateArgs),
    /// Tell whether a card-data key opens a database: the flags and environment of `serve`.
    Check(CheckArgs),
    /// Make a new card-data key into a file only its owner can read (never overwritten).
    Generate(GenerateArgs),
}

#[derive(Parser, Debug, Clone)]
pub struct GenerateArgs {
    /// The file to create.
    #[arg(long)]
    pub out: std::path::PathBuf,
}

#[derive(Parser, Debug, Clone)]
pub struct RotateArgs {
    /// The database whose cards to re-seal.
    #[arg(long, env = "CARDINAL_DATABASE", default_value = "sqlite://cardinal.db")]
    pub database: String,
    /// The current key (base64); default: the key file beside a SQLite database.
    #[arg(long, env = "CARDINAL_CARD_KEY", hide_env_values = true)]
    pub card_key: Option<String>,
    /// Where the new key is written (readable by its owner only) before any card moves to it;
    /// default: `<database>.key.next` beside a SQLite database (it becomes the key file at the
    /// end), `cardinal.key.next` in the current directory for PostgreSQL. A file already there
    /// holding a key from an interrupted start is used, never overwritten.
    #[arg(long, env = "CARDINAL_NEW_CARD_KEY_FILE")]
    pub new_key_file: Option<std::path::PathBuf>,
    /// The new key (base64), only to resume a rotation whose new-key file was moved away.
    #[arg(long, env = "CARDINAL_NEW_CARD_KEY", hide_env_values = true)]
    pub new_key: Option<String>,
    /// Cards re-sealed per transaction.
    #[arg(long, default_value_t = 500, hide = true)]
    pub batch: u32,
}

#[derive(Parser, Debug, Clone)]
pub struct CheckArgs {
    /// The database, as for `serve`.
    #[arg(long, env = "CARDINAL_DATABASE", default_value = "sqlite://cardinal.db")]
    pub database: String,
    /// The key to check (base64); default: the key file beside a SQLite database.
    #[arg(long, env = "CARDINAL_CARD_KEY", hide_env_values = true)]
    pub card_key: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// A server answering a constant on the same stack: the machine's ceiling.
    Baseline(BaselineArgs),
    /// Seed an organization with many cards straight into a database.
    Seed(SeedArgs),
}

#[derive(Parser, Debug, Clone)]
pub struct BaselineArgs {
    #[arg(long, default_value = "127.0.0.1:0")]
    pub bind: String,
}

#[derive(Parser, Debug, Clone)]
pub struct SeedArgs {
    #[arg(long)]
    pub database: String,
    #[arg(long, env = "CARDINAL_CARD_KEY", hide_env_values = true)]
    pub card_key: String,
    #[arg(long, default_value_t = 10_000)]
    pub cards: usize,
}

#[derive(Parser, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "CARDINAL_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Database URL: sqlite://path (the embedded default; `?max_pages=N` caps its size),
    /// sqlite::memory:, or postgres://user:password@host:5432/db (several processes may share it).
    #[arg(long, env = "CARDINAL_DATABASE", default_value = "sqlite://cardinal.db")]
    pub database: String,
    /// A read replica of the PostgreSQL database (postgres://…, a standby): card and
    /// transaction lists and shows are read from it, a moment stale; everything else, and any
    /// read that decides a write, from the primary. Off by default.
    #[arg(long, env = "CARDINAL_READ_DATABASE")]
    pub read_database: Option<String>,
    /// How long a request waits for a database that answers nothing before it is answered 503
    /// with Retry-After: `1s`, `2500ms`. A busy one that still answers is waited for ten times
    /// as long.
    #[arg(long, env = "CARDINAL_DATABASE_TIMEOUT", default_value = "1s", value_parser = parse_timeout)]
    pub database_timeout: std::time::Duration,
    /// sandbox: control API, mocked SCA and a demo organization; production: none of them.
    #[arg(long, env = "CARDINAL_MODE", value_enum, default_value_t = ModeArg::Sandbox)]
    pub mode: ModeArg,
    /// When set, every /v2 request must carry X-Qonto-Staging-Token with this value.
    #[arg(long, env = "CARDINAL_STAGING_TOKEN", hide_env_values = true)]
    pub staging_token: Option<String>,
    /// Bearer token of the operator API (`/_operator`, and the sandbox's `/_sandbox`). Production
    /// serves the operator API only with one (at least 24 characters); the sandbox generates
    /// one on first run when absent.
    #[arg(long, env = "CARDINAL_OPERATOR_TOKEN", hide_env_values = true)]
    pub operator_token: Option<String>,
    /// The operator token's former name (sandbox control API's admin token).
    #[arg(long, env = "CARDINAL_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Base URL clients reach this server at (for image and data-view links).
    #[arg(long, env = "CARDINAL_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Base64 of the 32-byte key encrypting card numbers. Required in production; in
    /// sandbox one is generated and kept in a file beside the database.
    #[arg(long, env = "CARDINAL_CARD_KEY", hide_env_values = true)]
    pub card_key: Option<String>,
    /// Requests one client IP may send, per window: comma-separated `limit/window` (s, m, h), or `off`.
    #[arg(long, env = "CARDINAL_RATE_LIMITS", default_value = "1000/10s,10000/10m")]
    pub rate_limits: String,
    /// `401` answers one client IP may collect before it is throttled, or `off`.
    #[arg(long, env = "CARDINAL_UNAUTHORIZED_LIMIT", default_value = "200/1h")]
    pub unauthorized_limit: String,
    /// Proxies (comma-separated address blocks such as `10.0.0.0/8,::1`) whose
    /// `X-Forwarded-For` names the client that the per-IP limits count; default none.
    #[arg(long, env = "CARDINAL_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
    /// Seconds a connection may stay without sending a complete request head (also how long
    /// an idle keep-alive connection stays open, and how long a request body may pause).
    #[arg(long, env = "CARDINAL_IDLE_TIMEOUT", default_value_t = 20)]
    pub idle_timeout: u64,
    /// Open connections at most; default: what the file-descriptor limit (raised to its hard
    /// limit at start) allows, less a reserve.
    #[arg(long, env = "CARDINAL_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// `off`: this process writes webhook events but does not deliver them (leave delivery to
    /// other processes on the same database).
    #[arg(long, env = "CARDINAL_WEBHOOK_DELIVERY", default_value = "on", value_parser = ["on", "off"])]
    pub webhook_delivery: String,
    /// Delays between a failed webhook attempt and the next, comma-separated (s, m, h, d); one
    /// attempt more than delays, then the delivery is `failed`.
    #[arg(long, env = "CARDINAL_WEBHOOK_RETRY_DELAYS", default_value = "10s,1m,5m,30m,2h,6h,12h,24h,24h")]
    pub webhook_retry_delays: String,
    /// How long a webhook subscription may fail without a success before it is disabled
    /// (s, m, h, d); five failures in a row already slow it.
    #[arg(long, env = "CARDINAL_WEBHOOK_DISABLE_AFTER", default_value = "5d")]
    pub webhook_disable_after: String,
    /// Address blocks (comma-separated, e.g. `10.1.2.0/24,fd00:1::/64`) webhooks may call
    /// although they are not public: an operator's own internal receivers. Default none.
    #[arg(long, env = "CARDINAL_WEBHOOK_ALLOW_NETWORK", default_value = "")]
    pub webhook_allow_network: String,
    /// `self-signed` (sandbox only): serve HTTPS with a certificate made for the bind host and
    /// kept beside the database.
    #[arg(long, env = "CARDINAL_TLS")]
    pub tls: Option<String>,
    /// PEM certificate chain to serve HTTPS with (with --tls-key).
    #[arg(long, env = "CARDINAL_TLS_CERT")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "CARDINAL_TLS_KEY")]
    pub tls_key: Option<std::path::PathBuf>,
    /// Log lines as human-readable text or JSON.
    #[arg(long, env = "CARDINAL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeArg {
    Sandbox,
    Production,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// `1s`, `2500ms`, `1m`: from 100 ms to 10 minutes.
pub fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    use cardinal_api::spans::{span, MILLIS_UP_TO_MINUTES};
    let millis =
        span(text, MILLIS_UP_TO_MINUTES).ok_or_else(|| format!("{text:?} is not a timeout such as 1s or 2500ms"))?;
    if !(100..=600_000).contains(&millis) {
        return Err(format!("{text:?}: a timeout is from 100ms to 10m"));
    }
    Ok(std::time::Duration::from_millis(millis))
}
