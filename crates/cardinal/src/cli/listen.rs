//! `cardinal listen [--forward-to URL] [--events v1/cards,v1/transactions]`: subscribes the
//! member to the organization's webhooks and prints the signing secret.
//!
//! - With `--forward-to`, Cardinal delivers to that local app itself (the sandbox calls
//!   loopback addresses; no public address is needed): same body, same `X-Qonto-Signature`,
//!   same retries. This command follows the deliveries through the operator API and prints a
//!   line per attempt with the app's answer and latency.
//! - Without it, this command receives the deliveries on a local port of its own, checks each
//!   signature and prints each event.
//!
//! Ctrl-C deletes the subscription. A production server refuses the local address: it calls
//! public addresses only, and says so.

use super::{failed, Connection, Context};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use clap::Args;
use qonto_client::cardinal::Control;
use qonto_client::wire::requests::SubscriptionRequest;
use qonto_client::Query;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

#[derive(Args, Debug)]
pub struct ListenArgs {
    #[command(flatten)]
    pub connection: Connection,
    /// The local app's webhook URL, which Cardinal calls as Qonto would.
    #[arg(long, env = "CARDINAL_FORWARD_TO")]
    pub forward_to: Option<String>,
    /// The event types, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "v1/cards,v1/transactions", env = "CARDINAL_EVENTS")]
    pub events: Vec<String>,
}

pub async fn run(args: ListenArgs) -> Result<(), String> {
    let ctx = args.connection.context()?;
    let stop = std::pin::pin!(crate::stop::requested());
    // Without --forward-to, deliveries come here: a receiver bound before subscribing.
    let receiver = match &args.forward_to {
        Some(_) => None,
        None => Some(tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?),
    };
    let callback = match (&args.forward_to, &receiver) {
        (Some(url), _) => url.clone(),
        (None, Some(listener)) => {
            format!("http://{}/cardinal-listen", listener.local_addr().map_err(|e| e.to_string())?)
        }
        (None, None) => unreachable!("a receiver is bound when nothing is forwarded to"),
    };
    let request = SubscriptionRequest {
        callback_url: callback.clone(),
        types: args.events.clone(),
        secret: None,
        description: Some("cardinal listen".into()),
    };
    let made = ctx.client.webhook_subscriptions().create(request).await.map_err(|e| refused(e, &callback))?;
    let id = made.subscription.id;
    println!("Ready. Webhook signing secret: {} (subscription {id}, events {})", made.secret, args.events.join(", "));
    match &args.forward_to {
        Some(url) => println!("Cardinal delivers each event to {url}; Ctrl-C to stop."),
        None => println!("Printing each event delivered to {callback}; Ctrl-C to stop."),
    }
    let work = async {
        match receiver {
            Some(listener) => receive(listener, made.secret.clone(), ctx.json).await,
            None => follow(&ctx, made.subscription.organization_id, id).await,
        }
    };
    let outcome = tokio::select! {
        outcome = work => outcome,
        _ = stop => Ok(()),
    };
    ctx.client.webhook_subscriptions().delete(id).await.map_err(failed)?;
    println!("Unsubscribed ({id}).");
    outcome
}

/// A refused subscription, said as what to do about it.
fn refused(error: qonto_client::Error, callback: &str) -> String {
    let text = error.to_string();
    // A production server wants an https callback at a public address: neither is local.
    if error.status() == Some(422) && text.contains("callback_url") {
        return format!(
            "the server will not call {callback}: {text}. `cardinal listen` delivers to local addresses, which only a \
             sandbox server calls (production calls public addresses only)"
        );
    }
    text
}

/// Prints a line per attempt of the subscription's deliveries, as they are made.
async fn follow(ctx: &Context, organization: Uuid, subscription: Uuid) -> Result<(), String> {
    let control = ctx.control()?;
    let mut seen: HashMap<Uuid, u32> = HashMap::new();
    let query = Query::new().with("subscription_id", subscription).per_page(100);
    loop {
        let deliveries = control.deliveries(organization, &query).await.map_err(failed)?;
        for delivery in deliveries.items.iter().rev() {
            let shown = seen.get(&delivery.id).copied().unwrap_or(0);
            if delivery.attempts > shown {
                print_attempts(&control, delivery.id, shown, ctx.json).await?;
                seen.insert(delivery.id, delivery.attempts);
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn print_attempts(control: &Control, delivery: Uuid, after: u32, json: bool) -> Result<(), String> {
    let detail = control.delivery(delivery).await.map_err(failed)?;
    for attempt in detail.attempts_made.iter().filter(|a| a.number > after) {
        if json {
            let line = serde_json::json!({
                "delivery": delivery, "type": detail.summary.topic, "event": detail.summary.event,
                "attempt": attempt.number, "status_code": attempt.status_code, "latency_ms": attempt.latency_ms,
                "error": attempt.error,
            });
            println!("{line}");
            continue;
        }
        let answer = match (attempt.status_code, &attempt.error) {
            (Some(code), _) => format!("{code}"),
            (None, Some(error)) => format!("no answer: {error}"),
            (None, None) => "no answer".into(),
        };
        println!(
            "{}  {} {}  -> {answer} in {} ms  (delivery {delivery}, attempt {})",
            attempt.at, detail.summary.topic, detail.summary.event, attempt.latency_ms, attempt.number
        );
    }
    Ok(())
}

/// Receives deliveries on `listener`, checks their signature, prints each event.
async fn receive(listener: tokio::net::TcpListener, secret: String, json: bool) -> Result<(), String> {
    let secret = Arc::new(secret);
    let app = axum::Router::new().route(
        "/cardinal-listen",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let secret = secret.clone();
            async move { print_event(&secret, &headers, &body, json) }
        }),
    );
    axum::serve(listener, app).await.map_err(|e| e.to_string())
}

fn print_event(secret: &str, headers: &HeaderMap, body: &[u8], json: bool) -> StatusCode {
    let signature = headers.get("x-qonto-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let t = signature.split(',').find_map(|part| part.strip_prefix("t=")).and_then(|t| t.parse::<i64>().ok());
    let valid = t.is_some_and(|t| cardinal_api::webhooks::signature::sign(secret, t, body) == signature);
    if !valid {
        eprintln!("a delivery with a wrong signature was refused");
        return StatusCode::UNAUTHORIZED;
    }
    let event: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    if json {
        println!("{event}");
    } else {
        let data = &event["data"];
        println!(
            "{}  {} {}  {}  (signature verified)",
            event["created_at"].as_str().unwrap_or_default(),
            event["type"].as_str().unwrap_or_default(),
            data["event"].as_str().unwrap_or_default(),
            data["id"].as_str().unwrap_or_default()
        );
    }
    StatusCode::OK
}
