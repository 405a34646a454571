//! `cardinal cards list|show|lock|unlock|lost|stolen|discard|limits`, as a member of the
//! organization (`--as`, `--token`). A step that needs SCA prints the pending session and
//! waits for the member's approval; `--approve` approves it in the sandbox, as the phone would.

use super::output::{card_line, card_row, emit, table, CARD_HEADER};
use super::{failed, Connection, Context};
use clap::{Args, Subcommand};
use futures_util::TryStreamExt;
use qonto_client::wire::requests::LimitFields;
use qonto_client::wire::{Card, Limit};
use qonto_client::{PendingSca, Query, Sca};
use std::io::IsTerminal;
use std::time::Duration;
use uuid::Uuid;

#[derive(Args, Debug)]
pub struct CardsCommand {
    #[command(flatten)]
    pub connection: Connection,
    #[command(subcommand)]
    pub action: CardAction,
}

/// How an SCA step is passed.
#[derive(Args, Debug, Clone, Copy)]
pub struct ScaChoice {
    /// Approve the SCA session in the sandbox, as the member's phone would.
    #[arg(long, env = "CARDINAL_APPROVE")]
    pub approve: bool,
    /// How long to wait for the member's approval, in seconds.
    #[arg(long, default_value_t = 300, env = "CARDINAL_WAIT")]
    pub wait: u64,
}

#[derive(Subcommand, Debug)]
pub enum CardAction {
    /// The cards the member may see (`GET /v2/cards`), newest first.
    List {
        /// live, paused, pin_blocked, lost, stolen, discarded, expired, … (repeatable).
        #[arg(long = "status", env = "CARDINAL_STATUS", value_delimiter = ',')]
        statuses: Vec<String>,
        /// standard, plus, metal, virtual, flash, advertising (repeatable).
        #[arg(long = "level", env = "CARDINAL_LEVEL", value_delimiter = ',')]
        levels: Vec<String>,
        /// Search nicknames, holders and last digits.
        #[arg(long, env = "CARDINAL_QUERY")]
        query: Option<String>,
    },
    /// One card (`GET /v2/cards/{id}`).
    Show { id: Uuid },
    /// Lock: `paused` (`PUT /v2/cards/{id}/lock`).
    Lock { id: Uuid },
    /// Unlock (owners and admins, with SCA).
    Unlock {
        id: Uuid,
        #[command(flatten)]
        sca: ScaChoice,
    },
    /// Report a physical card lost, for good.
    Lost { id: Uuid },
    /// Report a card stolen, for good.
    Stolen { id: Uuid },
    /// Discard a virtual card, for good.
    Discard { id: Uuid },
    /// Change limits, in whole euros (owners and admins, with SCA).
    Limits {
        id: Uuid,
        /// Payments a month, in euros.
        #[arg(long, env = "CARDINAL_MONTHLY_LIMIT")]
        monthly: Option<i64>,
        /// Payments a day, in euros (turns the daily limit on).
        #[arg(long, env = "CARDINAL_DAILY_LIMIT")]
        daily: Option<i64>,
        /// One payment at most, in euros (turns that limit on).
        #[arg(long, env = "CARDINAL_TRANSACTION_LIMIT")]
        transaction: Option<i64>,
        /// Withdrawals a month, in euros.
        #[arg(long, env = "CARDINAL_ATM_MONTHLY_LIMIT")]
        atm_monthly: Option<i64>,
        /// Withdrawals a day, in euros (turns that limit on).
        #[arg(long, env = "CARDINAL_ATM_DAILY_LIMIT")]
        atm_daily: Option<i64>,
        #[command(flatten)]
        sca: ScaChoice,
    },
}

pub async fn run(command: CardsCommand) -> Result<(), String> {
    let ctx = command.connection.context()?;
    let cards = ctx.client.cards();
    let card = match command.action {
        CardAction::List { statuses, levels, query } => return list(&ctx, statuses, levels, query).await,
        CardAction::Show { id } => cards.get(id).await,
        CardAction::Lock { id } => cards.lock(id).await,
        CardAction::Unlock { id, sca } => return finish(&ctx, cards.unlock(id).await.map_err(failed)?, sca).await,
        CardAction::Lost { id } => cards.report_lost(id).await,
        CardAction::Stolen { id } => cards.report_stolen(id).await,
        CardAction::Discard { id } => cards.discard(id).await,
        CardAction::Limits { id, monthly, daily, transaction, atm_monthly, atm_daily, sca } => {
            let euros = |v: Option<i64>| v.map(|e| Limit(cardinal_domain::Cents::euros(e)));
            let limits = LimitFields {
                payment_monthly_limit: euros(monthly),
                payment_daily_limit: euros(daily),
                payment_daily_limit_option: daily.map(|_| true),
                payment_transaction_limit: euros(transaction),
                payment_transaction_limit_option: transaction.map(|_| true),
                atm_monthly_limit: euros(atm_monthly),
                atm_daily_limit: euros(atm_daily),
                atm_daily_limit_option: atm_daily.map(|_| true),
                ..LimitFields::default()
            };
            return finish(&ctx, cards.update_limits(id, limits).await.map_err(failed)?, sca).await;
        }
    };
    let card = card.map_err(failed)?;
    emit(ctx.json, &card, card_line);
    Ok(())
}

async fn list(ctx: &Context, statuses: Vec<String>, levels: Vec<String>, search: Option<String>) -> Result<(), String> {
    let mut query = Query::new();
    for status in statuses {
        query = query.with("statuses[]", status);
    }
    for level in levels {
        query = query.with("card_levels[]", level);
    }
    if let Some(search) = search {
        query = query.with("query", search);
    }
    let cards: Vec<Card> = ctx.client.cards().stream(query).try_collect().await.map_err(failed)?;
    emit(ctx.json, &cards, |cards| {
        let rows: Vec<Vec<String>> = cards.iter().map(card_row).collect();
        format!("{}\n{} cards", table(&CARD_HEADER, &rows), cards.len())
    });
    Ok(())
}

/// Prints the card once the write is done: at once, or after its SCA step.
async fn finish(ctx: &Context, outcome: Sca<Card>, sca: ScaChoice) -> Result<(), String> {
    let card = match outcome {
        Sca::Done(card) => card,
        Sca::Pending(pending) => pass_sca(ctx, pending, sca).await?,
    };
    emit(ctx.json, &card, card_line);
    Ok(())
}

/// The SCA step: approved here (`--approve`) or waited for, then the request sent again.
pub async fn pass_sca(ctx: &Context, pending: PendingSca<Card>, sca: ScaChoice) -> Result<Card, String> {
    let action = pending.action_type.clone().unwrap_or_else(|| "this request".into());
    eprintln!("SCA required for {action}: session {}", pending.token);
    if sca.approve {
        ctx.client.approve_in_sandbox(&pending).await.map_err(failed)?;
        eprintln!("approved in the sandbox, as the member's phone would");
    } else {
        let spinner = waiting(&format!("waiting for the member to approve {action} (up to {} s)", sca.wait));
        let waited =
            ctx.client.wait_for_approval(&pending, Duration::from_secs(1), Duration::from_secs(sca.wait)).await;
        spinner.finish_and_clear();
        waited.map_err(failed)?;
        eprintln!("approved by the member");
    }
    ctx.client.resume(pending).await.map_err(failed)?.done().map_err(failed)
}

/// A spinner on a terminal; a plain line in a log.
fn waiting(what: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        eprintln!("{what}");
        return indicatif::ProgressBar::hidden();
    }
    let spinner = indicatif::ProgressBar::new_spinner().with_message(what.to_owned());
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner
}
