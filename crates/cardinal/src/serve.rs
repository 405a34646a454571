//! `cardinal serve`: open the store, settle keys and tokens, seed on first run, listen.

use crate::config::{LogFormat, ModeArg, ServeArgs};
use crate::first_run;
use cardinal_api::rate_limit::{RateLimits, Rule};
use cardinal_api::secrets::{hash_secret, new_token, CardKey, CardVault};
use cardinal_api::{ApiConfig, AppState, Mode};
use cardinal_store::Store;
use cardinal_store_sqlite::{Location, SqliteStore};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const ADMIN_TOKEN_HASH: &str = "admin_token_sha256";

pub async fn run(args: ServeArgs) -> Result<(), String> {
    init_logging(args.log_format);
    let mode = match args.mode {
        ModeArg::Sandbox => Mode::Sandbox,
        ModeArg::Production => Mode::Production,
    };
    let files = SideFiles::for_database(&args.database)?;
    let key = card_key(&args, mode, &files)?;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&args.database).map_err(|e| e.to_string())?);

    let listener =
        tokio::net::TcpListener::bind(&args.bind).await.map_err(|e| format!("cannot listen on {}: {e}", args.bind))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let public_url = args.public_url.clone().unwrap_or_else(|| format!("http://{address}"));

    let generated_admin_token = admin_token(&args, store.as_ref()).await?;
    let admin_hash = match (&args.admin_token, &generated_admin_token) {
        (Some(given), _) => hash_secret(given),
        (None, Some(new)) => hash_secret(new),
        (None, None) => stored_admin_hash(store.as_ref()).await?,
    };
    let mut config = ApiConfig::new(mode, &public_url, args.staging_token.as_deref(), "");
    config.admin_token_hash = admin_hash;
    config.rate_limits = rate_limits(&args)?;
    let state = AppState::new(store.clone(), config, CardVault::new(&key));

    println!("Cardinal listening on {public_url} ({} mode, database {})", mode_name(mode), args.database);
    if mode == Mode::Sandbox {
        first_run::greet(&state, &files, generated_admin_token.as_deref(), args.staging_token.is_some()).await?;
    }

    let app = cardinal_api::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await.map_err(|e| e.to_string())?;
    tracing::info!("stopped");
    Ok(())
}

/// `--rate-limits "1000/10s,10000/10m"` (or `off`) and `--unauthorized-limit "200/1h"`.
fn rate_limits(args: &ServeArgs) -> Result<RateLimits, String> {
    let parse_list = |text: &str| -> Result<Vec<Rule>, String> {
        if text.trim() == "off" {
            return Ok(vec![]);
        }
        text.split(',').map(Rule::parse).collect()
    };
    let unauthorized =
        if args.unauthorized_limit.trim() == "off" { None } else { Some(Rule::parse(&args.unauthorized_limit)?) };
    Ok(RateLimits { requests: parse_list(&args.rate_limits)?, unauthorized })
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Sandbox => "sandbox",
        Mode::Production => "production",
    }
}

/// Files Cardinal keeps beside a file database: the sandbox card key and the credentials.
pub struct SideFiles {
    pub key: Option<PathBuf>,
    pub credentials: Option<PathBuf>,
}

impl SideFiles {
    fn for_database(url: &str) -> Result<SideFiles, String> {
        match Location::parse(url) {
            Some(Location::File(path)) => Ok(SideFiles {
                key: Some(sibling(&path, "key")),
                credentials: Some(sibling(&path, "credentials.json")),
            }),
            Some(Location::Memory) => Ok(SideFiles { key: None, credentials: None }),
            None => Err(format!("unsupported database URL {url:?}: use sqlite://path or sqlite::memory:")),
        }
    }
}

/// `data/cardinal.db` → `data/cardinal.<suffix>`.
fn sibling(database: &Path, suffix: &str) -> PathBuf {
    let stem = database.file_stem().and_then(|s| s.to_str()).unwrap_or("cardinal");
    database.with_file_name(format!("{stem}.{suffix}"))
}

/// The card-data key: given, or (sandbox only) read from / created in the key file.
fn card_key(args: &ServeArgs, mode: Mode, files: &SideFiles) -> Result<CardKey, String> {
    if let Some(text) = &args.card_key {
        return CardKey::parse(text);
    }
    if mode == Mode::Production {
        return Err("production mode needs an explicit card-data key: set CARDINAL_CARD_KEY (base64 of 32 bytes, e.g. `openssl rand -base64 32`)".into());
    }
    let Some(path) = &files.key else { return Ok(CardKey::generate()) };
    match std::fs::read_to_string(path) {
        Ok(text) => CardKey::parse(&text).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = CardKey::generate();
            write_private(path, &key.to_base64())?;
            Ok(key)
        }
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Writes a file only its owner can read.
pub fn write_private(path: &Path, contents: &str) -> Result<(), String> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    file.write_all(contents.as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// A new admin token when none is configured and none was generated before.
async fn admin_token(args: &ServeArgs, store: &dyn Store) -> Result<Option<String>, String> {
    if args.admin_token.is_some() || store.setting(ADMIN_TOKEN_HASH).await.map_err(|e| e.to_string())?.is_some() {
        return Ok(None);
    }
    let token = new_token();
    let hex: String = hash_secret(&token).iter().map(|b| format!("{b:02x}")).collect();
    store.put_setting(ADMIN_TOKEN_HASH, &hex).await.map_err(|e| e.to_string())?;
    Ok(Some(token))
}

async fn stored_admin_hash(store: &dyn Store) -> Result<[u8; 32], String> {
    let hex = store.setting(ADMIN_TOKEN_HASH).await.map_err(|e| e.to_string())?.unwrap_or_default();
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .filter_map(|i| hex.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect();
    bytes.try_into().map_err(|_| "the stored admin token hash is corrupt; set CARDINAL_ADMIN_TOKEN".to_owned())
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("CARDINAL_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Pretty => builder.init(),
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
