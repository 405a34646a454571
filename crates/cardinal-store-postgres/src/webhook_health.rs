//! What recorded webhook attempts do to their subscriptions' health (the rules are
//! `cardinal_store::SubscriptionHealth`'s; this is PostgreSQL's bookkeeping of them).

use crate::db::Db;
use cardinal_store::{attempts_by_subscription, AttemptOutcome, DeliveryAttempt, HealthConsequence, HealthRules};
use jiff::Timestamp;

use crate::{
    optional, pg,
    rows::{get, uuid},
    webhooks::{health, subscription as subscription_row, SUBSCRIPTION_SELECT},
    Fail,
};

/// What the recorded attempts say of their subscriptions' receivers (as SQLite's
/// `update_health`): health brought up to date under the subscription's row lock, a newly
/// slowed one's pending deliveries moved to the end of its pause, a newly disabled one's failed.
pub(crate) async fn update_health(
    client: &Db<'_>,
    recorded: &[(&DeliveryAttempt, AttemptOutcome)],
    rules: &HealthRules,
) -> Result<(), Fail> {
    if recorded.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = recorded.iter().map(|(a, _)| a.delivery_id.to_string()).collect();
    // One read for the whole batch: each delivery's subscription and that one's health, so a
    // batch that changes nothing (healthy receivers answering) locks nothing.
    let mut subscription_of = std::collections::HashMap::new();
    let mut seen = std::collections::HashMap::new();
    for row in client
        .query(
            "SELECT d.id, d.subscription_id, s.consecutive_failures, s.failing_since_ms, s.paused_until_ms, \
             s.disabled_at_ms FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id \
             WHERE d.id = ANY($1)",
            &[&ids],
        )
        .await
        .map_err(pg)?
    {
        let subscription = uuid(&get::<String>(&row, "subscription_id")?)?;
        subscription_of.insert(uuid(&get::<String>(&row, "id")?)?, subscription);
        seen.insert(subscription, health(&row)?);
    }
    let now = Timestamp::now();
    for (subscription, made) in attempts_by_subscription(recorded, |d| subscription_of.get(&d).copied()) {
        if seen.get(&subscription).is_some_and(|health| health.after(&made, now, rules) == *health) {
            continue;
        }
        let id = subscription.to_string();
        // NO KEY: the card changes writing deliveries for this subscription meanwhile take a
        // key-share lock on it (their foreign key); a plain FOR UPDATE would queue them
        // behind every record of its attempts.
        let q = fixed_sql!("SELECT {SUBSCRIPTION_SELECT} FROM webhook_subscriptions WHERE id = $1 FOR NO KEY UPDATE");
        let Some(before) = optional(client, q, &[&id], subscription_row).await?.map(|s| s.health) else { continue };
        let after = before.after(&made, now, rules);
        if after == before {
            continue;
        }
        let (failures, since, paused, disabled) = after.columns();
        client
            .execute(
                "UPDATE webhook_subscriptions SET consecutive_failures = $1, failing_since_ms = $2, \
                 paused_until_ms = $3, disabled_at_ms = $4 WHERE id = $5",
                &[&(failures as i32), &since, &paused, &disabled, &id],
            )
            .await
            .map_err(pg)?;
        match HealthConsequence::of(&before, &after) {
            HealthConsequence::Pause(until) => {
                client
                    .execute(
                        "UPDATE webhook_deliveries SET next_attempt_ms = $1 WHERE subscription_id = $2 \
                         AND status = 'pending' AND next_attempt_ms < $1",
                        &[&until.as_millisecond(), &id],
                    )
                    .await
                    .map_err(pg)?;
            }
            HealthConsequence::Disable => {
                // Leases are kept: an attempt in flight is still recorded (it was made), and
                // leaves its delivery failed.
                let failed = client
                    .execute(
                        "UPDATE webhook_deliveries SET status = 'failed', next_attempt_ms = NULL \
                         WHERE subscription_id = $1 AND status = 'pending'",
                        &[&id],
                    )
                    .await
                    .map_err(pg)?;
                tracing::warn!(subscription = %id, failures = after.consecutive_failures, pending_failed = failed,
                    "webhook subscription disabled: its receiver failed without a success for too long");
            }
            HealthConsequence::None => {}
        }
    }
    Ok(())
}
