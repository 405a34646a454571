//! `cardinal trigger payment|settlement|reversal|expiry`: make a card event happen in the
//! sandbox, and say what happened and why (a declined payment says its reason and exits 1).

use super::output::{card_line, emit, euros};
use super::{failed, Connection};
use clap::{Args, Subcommand};
use qonto_client::wire::requests::AuthorizationRequest;
use qonto_client::wire::Time;
use uuid::Uuid;

#[derive(Args, Debug)]
pub struct TriggerCommand {
    #[command(flatten)]
    pub connection: Connection,
    #[command(subcommand)]
    pub event: TriggerEvent,
}

#[derive(Subcommand, Debug)]
pub enum TriggerEvent {
    /// A card payment at a merchant: approved, or declined with its reason.
    Payment {
        #[arg(long, env = "CARDINAL_CARD")]
        card: Uuid,
        /// Euros, up to two decimals: 12.50.
        #[arg(long, env = "CARDINAL_AMOUNT")]
        amount: String,
        #[arg(long, default_value = "Café de Flore", env = "CARDINAL_MERCHANT")]
        merchant: String,
        /// The merchant category code (ISO 18245): 5812 is a restaurant, 6011 a cash machine.
        #[arg(long, default_value_t = 5812, env = "CARDINAL_MCC")]
        mcc: u16,
        /// The merchant's country (ISO 3166 alpha-2).
        #[arg(long, default_value = "FR", env = "CARDINAL_COUNTRY")]
        country: String,
        /// chip, contactless, online, atm (default: atm for an ATM's code, else online).
        #[arg(long, env = "CARDINAL_CHANNEL")]
        channel: Option<String>,
    },
    /// Settle a pending payment: the balance drops.
    Settlement {
        #[arg(long, env = "CARDINAL_TRANSACTION")]
        transaction: Uuid,
    },
    /// Reverse a pending payment: the amount comes back.
    Reversal {
        #[arg(long, env = "CARDINAL_TRANSACTION")]
        transaction: Uuid,
    },
    /// Move the card's organization's clock past the card's expiry: the card expires.
    Expiry {
        #[arg(long, env = "CARDINAL_CARD")]
        card: Uuid,
    },
}

pub async fn run(command: TriggerCommand) -> Result<(), String> {
    let ctx = command.connection.context()?;
    let control = ctx.control()?;
    match command.event {
        TriggerEvent::Payment { card, amount, merchant, mcc, country, channel } => {
            let category = cardinal_domain::authorization::MerchantCategory::of_mcc(mcc);
            let channel = channel.unwrap_or_else(|| if category.as_str() == "atm" { "atm" } else { "online" }.into());
            let request = serde_json::json!({
                "amount": amount.parse::<serde_json::Number>().map_err(|_| format!("--amount {amount:?} is not a number of euros"))?,
                "channel": channel,
                "merchant": { "name": merchant, "category": category.as_str(), "country": country },
            });
            let request: AuthorizationRequest =
                serde_json::from_value(request).map_err(|e| format!("--amount {amount:?}: {e}"))?;
            let made = control.authorize(card, &request).await.map_err(failed)?;
            emit(ctx.json, &made, |a| match &a.decline_reason {
                None => format!(
                    "approved: {} € at {} (transaction {})",
                    euros(a.amount.0),
                    request.merchant.name,
                    a.transaction_id
                ),
                Some(reason) => format!(
                    "declined: {reason} ({} € at {}, transaction {})",
                    euros(a.amount.0),
                    request.merchant.name,
                    a.transaction_id
                ),
            });
            match made.decline_reason {
                None => Ok(()),
                Some(reason) => Err(format!("the payment was declined: {reason}")),
            }
        }
        TriggerEvent::Settlement { transaction } => {
            let settled = control.settle(transaction).await.map_err(failed)?;
            emit(ctx.json, &settled, |t| format!("settled: {} € at {} ({})", euros(t.amount.0), t.label, t.status));
            Ok(())
        }
        TriggerEvent::Reversal { transaction } => {
            let reversed = control.reverse(transaction).await.map_err(failed)?;
            emit(ctx.json, &reversed, |t| format!("reversed: {} € at {} ({})", euros(t.amount.0), t.label, t.status));
            Ok(())
        }
        TriggerEvent::Expiry { card } => {
            let before = ctx.client.cards().get(card).await.map_err(failed)?;
            let at = after_expiry(&before)?;
            let clock = control.set_clock(before.organization_id, Time(at)).await.map_err(failed)?;
            let after = ctx.client.cards().get(card).await.map_err(failed)?;
            emit(ctx.json, &after, |c| format!("the organization's clock now reads {}: {}", clock.now.0, card_line(c)));
            Ok(())
        }
    }
}

/// The first day after the card's last valid one in every time zone: past its expiry month
/// (or its flash card's end).
fn after_expiry(card: &qonto_client::wire::Card) -> Result<jiff::Timestamp, String> {
    if let Some(end) = &card.pre_expires_at {
        return end.0.checked_add(jiff::SignedDuration::from_hours(24)).map_err(|e| e.to_string());
    }
    let (Some(month), Some(year)) = (&card.exp_month, &card.exp_year) else {
        return Err(format!("card {} has no expiry date yet", card.id));
    };
    let (year, month): (i16, i8) =
        (year.parse().map_err(|_| "bad exp_year")?, month.parse().map_err(|_| "bad exp_month")?);
    let next = jiff::civil::date(year, month, 1)
        .checked_add(jiff::Span::new().months(1).days(1))
        .map_err(|e| e.to_string())?;
    next.to_zoned(jiff::tz::TimeZone::UTC).map(|z| z.timestamp()).map_err(|e| e.to_string())
}
