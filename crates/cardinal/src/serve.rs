//! `cardinal serve`: open the store, settle keys and tokens, seed on first run, listen.

use crate::config::{LogFormat, ModeArg, ServeArgs};
use crate::database::{
    ensure_key_matches, open_store, without_password, write_private, SideFiles, CARD_KEY_CHECK, CARD_KEY_ROTATING_TO,
};
use crate::first_run;
use cardinal_api::http::rate_limit::{RateLimits, Rule};
use cardinal_api::net::parse_blocks;
use cardinal_api::secrets::{hash_secret, new_token, CardKey, CardVault};
use cardinal_api::{ApiConfig, AppState, Mode};
use cardinal_store::Store;

const ADMIN_TOKEN_HASH: &str = "admin_token_sha256";

pub async fn run(args: ServeArgs) -> Result<(), String> {
    // Held until the server stops: dropping it flushes the log lines still queued.
    let _log_writer = init_logging(args.log_format)?;
    let shutdown = shutdown_signal();
    let mode = match args.mode {
        ModeArg::Sandbox => Mode::Sandbox,
        ModeArg::Production => Mode::Production,
    };
    let files = SideFiles::for_database(&args.database)?;
    // The port first: a start that cannot listen leaves no database or key file behind.
    let listener = tokio::net::TcpListener::bind(&args.bind).await.map_err(|e| cannot_listen(&args.bind, &e))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let tls = crate::tls::acceptor(&args, mode == Mode::Sandbox, files.database_file.as_deref(), address)?;
    // The start-up line and every link say https only when TLS is really on.
    let scheme = if tls.is_some() { "https" } else { "http" };
    let public_url = args.public_url.clone().unwrap_or_else(|| format!("{scheme}://{address}"));
    // Held until the server stops: a second server on the same SQLite file refuses to start.
    let _exclusive = files.lock_database()?;
    require_configured_key(&args, mode, &files)?;
    let store = match &args.read_database {
        None => open_store(&args.database, args.database_timeout).await?,
        Some(replica) => crate::database::open_with_replica(&args.database, replica, args.database_timeout).await?,
    };
    let key = card_key(&args, &files, store.as_ref()).await?;

    let (operator_hash, generated_operator_token) = operator_token(&args, mode, store.as_ref()).await?;
    let mut config = ApiConfig::new(mode, &public_url, args.staging_token.as_deref(), None);
    config.operator_token_hash = operator_hash;
    config.rate_limits = rate_limits(&args)?;
    config.body_stall = std::time::Duration::from_secs(args.idle_timeout.max(1));
    config.webhooks.retry_delays = cardinal_api::webhooks::delivery::parse_retry_delays(&args.webhook_retry_delays)
        .map_err(|e| format!("--webhook-retry-delays: {e}"))?;
    let allowed = parse_blocks(&args.webhook_allow_network).map_err(|e| format!("--webhook-allow-network: {e}"))?;
    config.webhooks.addresses = cardinal_api::webhooks::address::AddressPolicy::new(mode, allowed);
    config.webhooks.health.disable_after =
        cardinal_api::webhooks::delivery::parse_disable_after(&args.webhook_disable_after)
            .map_err(|e| format!("--webhook-disable-after: {e}"))?;
    let state = AppState::new(store.clone(), config, CardVault::new(&key));
    if mode == Mode::Sandbox {
        // The OpenID signing key is made at the first start, beside serving: an RSA key takes
        // a few hundred milliseconds, which the first requests need not wait for. A sign-in
        // that comes first waits for this one key, never makes a second.
        let app = state.app.clone();
        tokio::spawn(async move {
            if let Err(cause) = app.signing_key().await {
                tracing::error!(%cause, "the OpenID signing key could not be loaded or made");
            }
        });
    }
    // Every process delivers webhooks unless told not to; leases keep two from making one attempt.
    if args.webhook_delivery == "on" {
        cardinal_api::webhooks::delivery::spawn(state.app.clone());
    }

    println!(
        "Cardinal listening on {public_url} ({} mode, database {})",
        mode_name(mode),
        without_password(&args.database)
    );
    match (mode, operator_hash.is_some()) {
        (Mode::Production, true) => println!("Operator API: {public_url}/_operator (bearer: the operator token)"),
        (Mode::Production, false) => {
            println!("Operator API: off (start with CARDINAL_OPERATOR_TOKEN to provision organizations)")
        }
        (Mode::Sandbox, _) => {
            println!("Console: {public_url}/console (sign in with the operator token; {public_url}/ leads there)")
        }
    }
    if let Some(cert) = tls.as_ref().and_then(|t| t.self_signed.as_ref()) {
        println!("TLS: self-signed certificate {} (trust it with: curl --cacert {0})", cert.display());
    }
    tracing::info!(
        address = %address,
        url = %public_url,
        mode = mode_name(mode),
        database = %without_password(&args.database),
        version = env!("CARGO_PKG_VERSION"),
        "started"
    );
    if mode == Mode::Sandbox {
        let ca = tls.as_ref().and_then(|t| t.self_signed.as_deref());
        first_run::greet(&state, &files, generated_operator_token.as_deref(), args.staging_token.is_some(), ca).await?;
    }

    let limits = connection_limits(&args);
    tracing::info!(max_connections = limits.max_connections, idle_timeout_s = limits.idle_timeout.as_secs(), "limits");
    crate::listen::serve(listener, tls.map(|t| t.acceptor), cardinal_api::router(state), limits, shutdown)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!("stopped");
    Ok(())
}

/// `--rate-limits "1000/10s,10000/10m"` (or `off`), `--unauthorized-limit "200/1h"` and
/// `--trusted-proxies "10.0.0.0/8,::1"`.
fn rate_limits(args: &ServeArgs) -> Result<RateLimits, String> {
    let parse_list = |text: &str| -> Result<Vec<Rule>, String> {
        if text.trim() == "off" {
            return Ok(vec![]);
        }
        text.split(',').map(Rule::parse).collect()
    };
    let unauthorized =
        if args.unauthorized_limit.trim() == "off" { None } else { Some(Rule::parse(&args.unauthorized_limit)?) };
    let trusted_proxies = parse_blocks(&args.trusted_proxies)?;
    Ok(RateLimits { requests: parse_list(&args.rate_limits)?, unauthorized, trusted_proxies })
}

/// `--max-connections` (default: what the raised descriptor limit allows) and `--idle-timeout`.
fn connection_limits(args: &ServeArgs) -> crate::listen::ConnectionLimits {
    let descriptors = crate::listen::raise_descriptor_limit();
    let fits = crate::listen::connections_for(descriptors);
    crate::listen::ConnectionLimits {
        idle_timeout: std::time::Duration::from_secs(args.idle_timeout.max(1)),
        max_connections: args.max_connections.map_or(fits, |wanted| wanted.clamp(1, fits)),
    }
}

/// Why the server cannot listen, and what to do about it.
fn cannot_listen(bind: &str, error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::AddrInUse => format!(
            "cannot listen on {bind}: the address is already in use (another Cardinal?). \
             Choose another with --bind, e.g. --bind 127.0.0.1:8081, or --bind 127.0.0.1:0 for any free port"
        ),
        _ => format!("cannot listen on {bind}: {error}; choose another address with --bind"),
    }
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Sandbox => "sandbox",
        Mode::Production => "production",
    }
}

/// Production, and a database several processes share, need the key given, not generated:
/// checked before anything is opened or created.
fn require_configured_key(args: &ServeArgs, mode: Mode, files: &SideFiles) -> Result<(), String> {
    if args.card_key.is_some() || (mode == Mode::Sandbox && !files.shared_database) {
        return Ok(());
    }
    let why = if mode == Mode::Production { "production mode" } else { "a PostgreSQL database (shared by processes)" };
    Err(format!(
        "{why} needs an explicit card-data key: set CARDINAL_CARD_KEY (make one with `cardinal keys generate --out FILE`)"
    ))
}

/// The card-data key: given, or (sandbox only) read from / created in the key file; then
/// checked against the one the database's cards are sealed with. A database that has sealed
/// cards never gets a new key by accident: a missing key file is an error, not a fresh key.
async fn card_key(args: &ServeArgs, files: &SideFiles, store: &dyn Store) -> Result<CardKey, String> {
    if let Some(target) = store.setting(CARD_KEY_ROTATING_TO).await.map_err(|e| e.to_string())? {
        return Err(format!(
            "a card-key rotation (to key {target}) is unfinished on {}: run `cardinal keys rotate` again to finish it",
            without_password(&args.database)
        ));
    }
    // A database from before key checks has cards but no check value: it is "sealed" too.
    let sealed = store.setting(CARD_KEY_CHECK).await.map_err(|e| e.to_string())?.is_some()
        || !store.is_empty().await.map_err(|e| e.to_string())?;
    let key = match (&args.card_key, &files.key) {
        (Some(text), _) => CardKey::parse(text)?,
        (None, None) => CardKey::generate(),
        (None, Some(path)) => match std::fs::read_to_string(path) {
            Ok(text) => CardKey::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !sealed => {
                let key = CardKey::generate();
                write_private(path, &key.to_base64())?;
                key
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(format!(
                    "the cards of {} are sealed with a card-data key, but its key file {} is missing: \
                     restore it, or give the key with CARDINAL_CARD_KEY. A new key would make every card unreadable",
                    without_password(&args.database),
                    path.display()
                ))
            }
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        },
    };
    ensure_key_matches(store, &key, &args.database).await?;
    Ok(key)
}

/// The shortest operator token production accepts: it opens every organization.
const OPERATOR_TOKEN_MIN_LENGTH: usize = 24;

/// The operator token's hash (`None`: no operator API), and the token itself when this start
/// generated it. A configured token wins (`--operator-token`, or its former name
/// `--admin-token`); production without one serves no operator API. In the sandbox the first
/// process ever to start generates one and stores its hash, and every later process (or one
/// that lost that race) uses the stored hash.
async fn operator_token(
    args: &ServeArgs,
    mode: Mode,
    store: &dyn Store,
) -> Result<(Option<[u8; 32]>, Option<String>), String> {
    let given = match (&args.operator_token, &args.admin_token) {
        (Some(a), Some(b)) if a != b => {
            return Err("CARDINAL_OPERATOR_TOKEN and CARDINAL_ADMIN_TOKEN (its former name) differ: set one".into())
        }
        (Some(token), _) | (None, Some(token)) => Some(token),
        (None, None) => None,
    };
    if let Some(token) = given {
        if mode == Mode::Production && token.trim().chars().count() < OPERATOR_TOKEN_MIN_LENGTH {
            return Err(format!(
                "the operator token opens every organization: production needs one of at least \
                 {OPERATOR_TOKEN_MIN_LENGTH} characters (e.g. from `openssl rand -hex 32`)"
            ));
        }
        return Ok((Some(hash_secret(token.trim())), None));
    }
    if mode == Mode::Production {
        return Ok((None, None));
    }
    let candidate = new_token();
    let candidate_hex = hex(&hash_secret(&candidate));
    let stored = store.init_setting(ADMIN_TOKEN_HASH, &candidate_hex).await.map_err(|e| e.to_string())?;
    let hash = unhex(&stored).ok_or("the stored operator token hash is corrupt; set CARDINAL_OPERATOR_TOKEN")?;
    Ok((Some(hash), (stored == candidate_hex).then_some(candidate)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    let bytes: Vec<u8> = (0..text.len())
        .step_by(2)
        .map(|i| text.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect::<Option<_>>()?;
    bytes.try_into().ok()
}

/// Logs go to stderr through a background writer thread that writes them in batches, so a
/// request never waits for a write system call nor wakes a thread (see [`crate::logs`]).
fn init_logging(format: LogFormat) -> Result<crate::logs::FlushOnDrop, String> {
    use tracing_subscriber::EnvFilter;
    let (writer, guard) = crate::logs::batched_stderr()?;
    let filter = EnvFilter::try_from_env("CARDINAL_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours are for people: only when stderr is a terminal, never in files or pipes.
    let colours = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer).with_ansi(colours);
    match format {
        LogFormat::Json => builder.event_format(crate::logs::JsonLines).init(),
        LogFormat::Pretty => builder.init(),
    }
    Ok(guard)
}

/// Resolves on SIGTERM or Ctrl-C, installed at once (see [`crate::stop::requested`]).
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    let requested = crate::stop::requested();
    async move {
        requested.await;
        tracing::info!("shutting down: finishing requests in flight");
    }
}

#[cfg(test)]
mod tests {
    use super::without_password;

    #[test]
    fn database_passwords_are_never_printed() {
        assert_eq!(without_password("postgres://app:s3cret@db:5432/cards"), "postgres://app:***@db:5432/cards");
        assert_eq!(without_password("postgres://app@db/cards"), "postgres://app@db/cards");
        assert_eq!(without_password("sqlite://cardinal.db"), "sqlite://cardinal.db");
    }
}
