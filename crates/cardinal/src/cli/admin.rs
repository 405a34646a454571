//! The sandbox's own commands, on the control API (the operator token): `orgs`, `tokens`,
//! `clock advance`, and `logs tail`, the organization's requests as they are answered.

use super::output::{emit, table};
use super::{failed, Connection};
use clap::{Args, Subcommand};
use futures_util::StreamExt;
use qonto_client::cardinal::LogEvent;
use qonto_client::wire::requests::{OrganizationRequest, TokenRequest};
use qonto_client::Query;
use uuid::Uuid;

#[derive(Args, Debug)]
pub struct OrgsCommand {
    #[command(flatten)]
    pub connection: Connection,
    #[command(subcommand)]
    pub action: OrgsAction,
}

#[derive(Subcommand, Debug)]
pub enum OrgsAction {
    /// A new sandbox organization: four members with their tokens, a bank account, demo cards.
    Create {
        /// Its legal name (default: made up).
        #[arg(long, env = "CARDINAL_NAME")]
        name: Option<String>,
        /// required, disabled or not_enrolled.
        #[arg(long, env = "CARDINAL_SCA_MODE")]
        sca_mode: Option<String>,
    },
    /// Every organization.
    List,
}

#[derive(Args, Debug)]
pub struct TokensCommand {
    #[command(flatten)]
    pub connection: Connection,
    #[command(subcommand)]
    pub action: TokensAction,
}

#[derive(Subcommand, Debug)]
pub enum TokensAction {
    /// An access token for a member (every scope unless `--scope` is given).
    Create {
        /// The member: a role of the demo organization (owner, admin, manager, employee).
        #[arg(long, conflicts_with = "membership", env = "CARDINAL_ROLE")]
        role: Option<String>,
        /// The member, by id (any organization).
        #[arg(long, env = "CARDINAL_MEMBERSHIP")]
        membership: Option<Uuid>,
        /// Scopes (repeatable): card.read, card.write, organization.read, membership.read, webhook.
        #[arg(long = "scope", env = "CARDINAL_SCOPE", value_delimiter = ',')]
        scopes: Vec<String>,
        /// Seconds until it expires (default: never).
        #[arg(long, env = "CARDINAL_EXPIRES_IN")]
        expires_in: Option<i64>,
    },
}

#[derive(Args, Debug)]
pub struct ClockCommand {
    #[command(flatten)]
    pub connection: Connection,
    #[command(subcommand)]
    pub action: ClockAction,
}

#[derive(Subcommand, Debug)]
pub enum ClockAction {
    /// Move the organization's clock forward: `30d`, `12h`, `90m`, `45s`.
    Advance {
        by: String,
        /// Default: the caller's organization.
        #[arg(long, env = "CARDINAL_ORGANIZATION")]
        organization: Option<Uuid>,
    },
}

#[derive(Args, Debug)]
pub struct LogsCommand {
    #[command(flatten)]
    pub connection: Connection,
    #[command(subcommand)]
    pub action: LogsAction,
}

#[derive(Subcommand, Debug)]
pub enum LogsAction {
    /// The organization's `/v2` requests as they are answered: method, path, status,
    /// latency, request id.
    Tail {
        /// Default: the caller's organization.
        #[arg(long, env = "CARDINAL_ORGANIZATION")]
        organization: Option<Uuid>,
        /// A status (404) or a class (4xx).
        #[arg(long, env = "CARDINAL_STATUS")]
        status: Option<String>,
        /// Part of the path.
        #[arg(long, env = "CARDINAL_PATH")]
        path: Option<String>,
    },
}

pub async fn orgs(command: OrgsCommand) -> Result<(), String> {
    let ctx = command.connection.context()?;
    let control = ctx.control()?;
    match command.action {
        OrgsAction::Create { name, sca_mode } => {
            let request = OrganizationRequest { legal_name: name, sca_mode, ..OrganizationRequest::default() };
            let made = control.create_organization(&request).await.map_err(failed)?;
            emit(ctx.json, &made, |made| {
                let rows: Vec<Vec<String>> = made
                    .memberships
                    .iter()
                    .map(|m| {
                        vec![
                            m.role.to_string(),
                            format!("{} {}", m.first_name, m.last_name),
                            m.id.to_string(),
                            m.access_token.clone(),
                        ]
                    })
                    .collect();
                format!(
                    "created {} ({}), {} cards\n{}",
                    made.organization.legal_name,
                    made.organization.id,
                    made.cards.len(),
                    table(&["ROLE", "MEMBER", "MEMBERSHIP", "ACCESS TOKEN"], &rows)
                )
            });
        }
        OrgsAction::List => {
            let found = control.organizations(&Query::new().per_page(100)).await.map_err(failed)?;
            emit(ctx.json, &found.items, |orgs| {
                let rows: Vec<Vec<String>> = orgs
                    .iter()
                    .map(|o| {
                        vec![
                            o.settings.id.to_string(),
                            o.settings.slug.clone(),
                            o.settings.legal_name.clone(),
                            o.now.0.to_string(),
                        ]
                    })
                    .collect();
                table(&["ID", "SLUG", "NAME", "CLOCK"], &rows)
            });
        }
    }
    Ok(())
}

pub async fn tokens(command: TokensCommand) -> Result<(), String> {
    let ctx = command.connection.context()?;
    let control = ctx.control()?;
    let TokensAction::Create { role, membership, scopes, expires_in } = command.action;
    let membership_id = match (membership, role) {
        (Some(id), _) => id,
        (None, Some(role)) => {
            ctx.demo_member(&role).ok_or_else(|| format!("no {role} in the credentials file: give --membership"))?
        }
        (None, None) => return Err("name the member: --role or --membership".into()),
    };
    let scopes = (!scopes.is_empty()).then_some(scopes);
    let made = control.create_token(&TokenRequest { membership_id, scopes, expires_in }).await.map_err(failed)?;
    emit(ctx.json, &made, |t| format!("{}\n(scopes: {})", t.access_token, t.scopes.join(" ")));
    Ok(())
}

pub async fn clock(command: ClockCommand) -> Result<(), String> {
    let ctx = command.connection.context()?;
    let ClockAction::Advance { by, organization } = command.action;
    let seconds = cardinal_api::spans::seconds_up_to_days(&by, "the advance", 36_600)?.as_secs();
    let organization = ctx.organization(organization).await?;
    let moved = ctx.control()?.advance_clock(organization, seconds).await.map_err(failed)?;
    emit(ctx.json, &moved, |c| match c.cards_expired {
        0 => format!("the organization's clock now reads {}", c.now.0),
        n => format!("the organization's clock now reads {}; {n} cards expired", c.now.0),
    });
    Ok(())
}

pub async fn logs(command: LogsCommand) -> Result<(), String> {
    let ctx = command.connection.context()?;
    let mut stop = std::pin::pin!(crate::stop::requested());
    let LogsAction::Tail { organization, status, path } = command.action;
    let organization = ctx.organization(organization).await?;
    let mut query = Query::new();
    if let Some(status) = status {
        query = query.with("status", status);
    }
    if let Some(path) = path {
        query = query.with("path", path);
    }
    let stream = ctx.control()?.request_stream(organization, &query).await.map_err(failed)?;
    eprintln!("Following the requests of organization {organization}; Ctrl-C to stop.");
    let mut stream = std::pin::pin!(stream);
    loop {
        let next = tokio::select! {
            next = stream.next() => next,
            _ = &mut stop => return Ok(()),
        };
        match next {
            None => return Err("the server closed the stream".into()),
            Some(Err(e)) => return Err(failed(e)),
            Some(Ok(LogEvent::Lost(n))) => eprintln!("… {n} requests were too many to show live (they are in the log)"),
            Some(Ok(LogEvent::Request(r))) if ctx.json => println!("{}", serde_json::to_string(&r).unwrap_or_default()),
            Some(Ok(LogEvent::Request(r))) => {
                let target = match &r.query {
                    Some(q) => format!("{}?{q}", r.path),
                    None => r.path.clone(),
                };
                println!("{}  {} {}  {}  {:.1} ms  {}", r.at.0, r.method, target, r.status, r.latency_ms, r.request_id);
            }
        }
    }
}
