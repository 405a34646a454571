//! The sandbox from a terminal, built on `qonto-client`: `listen`, `trigger`, `cards`,
//! `clock`, `orgs`, `tokens`, `logs tail`, `completions`. With no configuration, a command
//! reads the credentials file the server's first start wrote (`cardinal.credentials.json` in
//! the current directory); `--base-url`, `--token`, `--operator-token` and their
//! `CARDINAL_*` variables override it. Each command prints lines for people, or JSON with
//! `--json`; a failure prints Qonto's `errors[]` as sentences and exits 1.

pub mod admin;
pub mod cards;
pub mod listen;
mod output;
pub mod trigger;

pub use admin::{ClockCommand, LogsCommand, OrgsCommand, TokensCommand};
pub use cards::CardsCommand;
pub use listen::ListenArgs;
pub use trigger::TriggerCommand;

use clap::Args;
use qonto_client::cardinal::Control;
use qonto_client::{Auth, Client};
use serde_json::Value;
use std::path::PathBuf;

/// Where the server is and who is calling: every command's flags.
#[derive(Args, Debug, Clone)]
pub struct Connection {
    /// The credentials file of the server's first start.
    #[arg(long, global = true, env = "CARDINAL_CREDENTIALS", default_value = "cardinal.credentials.json")]
    pub credentials: PathBuf,
    /// The server's URL (default: the credentials file's `base_url`).
    #[arg(long, global = true, env = "CARDINAL_BASE_URL")]
    pub base_url: Option<String>,
    /// An access token for `/v2` (default: the credentials file's token of `--as`).
    #[arg(long, global = true, env = "CARDINAL_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Which demo member acts, from the credentials file: owner, admin, manager, employee.
    #[arg(long = "as", global = true, env = "CARDINAL_AS", default_value = "owner")]
    pub acting_as: String,
    /// The operator token, for the control API (default: the credentials file's).
    #[arg(long, global = true, env = "CARDINAL_OPERATOR_TOKEN", hide_env_values = true)]
    pub operator_token: Option<String>,
    /// `X-Qonto-Staging-Token`, when the server asks for one.
    #[arg(long, global = true, env = "CARDINAL_STAGING_TOKEN", hide_env_values = true)]
    pub staging_token: Option<String>,
    /// JSON for scripts instead of lines for people.
    #[arg(long, global = true, env = "CARDINAL_JSON")]
    pub json: bool,
}

/// A command's clients, made from its [`Connection`].
pub struct Context {
    pub client: Client,
    operator: Option<String>,
    pub json: bool,
    credentials: Option<Value>,
}

impl Connection {
    pub fn context(&self) -> Result<Context, String> {
        let credentials =
            std::fs::read_to_string(&self.credentials).ok().and_then(|text| serde_json::from_str::<Value>(&text).ok());
        let from_file = |key: &str| credentials.as_ref().and_then(|c| c[key].as_str()).map(str::to_owned);
        let base_url = self.base_url.clone().or_else(|| from_file("base_url")).ok_or_else(|| {
            format!(
                "no server named: give --base-url (or CARDINAL_BASE_URL), or run this where `cardinal serve` wrote {}",
                self.credentials.display()
            )
        })?;
        let token = match &self.token {
            Some(token) => token.clone(),
            None => member_token(credentials.as_ref(), &self.acting_as).ok_or_else(|| {
                format!(
                    "no access token: give --token (or CARDINAL_TOKEN), or --as a role listed in {}",
                    self.credentials.display()
                )
            })?,
        };
        let mut builder = Client::builder().base_url(base_url).auth(Auth::Bearer(token));
        if let Some(staging) = &self.staging_token {
            builder = builder.staging_token(staging);
        }
        let client = builder.build().map_err(|e| e.to_string())?;
        let operator = self.operator_token.clone().or_else(|| from_file("operator_token"));
        Ok(Context { client, operator, json: self.json, credentials })
    }
}

fn member_token(credentials: Option<&Value>, role: &str) -> Option<String> {
    let members = credentials?["memberships"].as_array()?;
    let member = members.iter().find(|m| m["role"] == role)?;
    member["access_token"].as_str().map(str::to_owned)
}

impl Context {
    /// The control API, as the operator token.
    pub fn control(&self) -> Result<Control, String> {
        let token = self.operator.clone().ok_or(
            "this command uses the control API: give --operator-token (or CARDINAL_OPERATOR_TOKEN), or run it \
             where the credentials file is",
        )?;
        Ok(Control::new(self.client.clone(), token))
    }

    /// The organization the command is about: `--organization`, else the caller's own.
    pub async fn organization(&self, given: Option<uuid::Uuid>) -> Result<uuid::Uuid, String> {
        match given {
            Some(id) => Ok(id),
            None => Ok(self.client.organization().get().await.map_err(failed)?.id),
        }
    }

    /// A member of the demo organization by role, from the credentials file.
    pub fn demo_member(&self, role: &str) -> Option<uuid::Uuid> {
        let members = self.credentials.as_ref()?["memberships"].as_array()?;
        members.iter().find(|m| m["role"] == role)?["id"].as_str()?.parse().ok()
    }
}

/// A client error as the line a person reads.
pub fn failed(error: qonto_client::Error) -> String {
    error.to_string()
}
