//! What recorded webhook attempts do to their subscriptions' health (the rules are
//! `cardinal_store::SubscriptionHealth`'s; this is SQLite's bookkeeping of them).

use std::collections::HashMap;

use cardinal_store::{
    attempts_by_subscription, AttemptOutcome, DeliveryAttempt, HealthConsequence, HealthRules, StoreResult,
    SubscriptionHealth,
};
use jiff::Timestamp;
use rusqlite::{params, Connection};
use uuid::Uuid;

use crate::{rows::uuid, sql};

/// What the recorded attempts say of their subscriptions' receivers: each subscription's
/// health is brought up to date, a newly slowed one's pending deliveries wait for the end of
/// its pause, and a newly disabled one's are failed.
pub(crate) fn update_health(
    conn: &Connection,
    recorded: &[(&DeliveryAttempt, AttemptOutcome)],
    rules: &HealthRules,
) -> StoreResult<()> {
    // One read for the whole batch: each delivery's subscription and that one's health.
    let ids: Vec<String> = recorded.iter().map(|(a, _)| a.delivery_id.to_string()).collect();
    let mut found: HashMap<Uuid, (Uuid, SubscriptionHealth)> = HashMap::new();
    let mut statement = conn
        .prepare_cached(
            "SELECT d.id, s.id, s.consecutive_failures, s.failing_since_ms, s.paused_until_ms, s.disabled_at_ms \
             FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id \
             WHERE d.id IN (SELECT value FROM json_each(?1))",
        )
        .map_err(sql)?;
    let ids = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
    let rows = statement
        .query_map([ids], |r| {
            let health = SubscriptionHealth::from_columns(r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?);
            Ok((uuid(r.get(0)?)?, uuid(r.get(1)?)?, health))
        })
        .map_err(sql)?;
    for row in rows {
        let (delivery, subscription, health) = row.map_err(sql)?;
        found.insert(delivery, (subscription, health));
    }
    let health_of: HashMap<Uuid, SubscriptionHealth> = found.values().copied().collect();
    let now = Timestamp::now();
    for (subscription, made) in attempts_by_subscription(recorded, |d| found.get(&d).map(|(s, _)| *s)) {
        let id = subscription.to_string();
        let Some(before) = health_of.get(&subscription).copied() else { continue };
        let after = before.after(&made, now, rules);
        if after == before {
            continue;
        }
        let (failures, since, paused, disabled) = after.columns();
        conn.prepare_cached(
            "UPDATE webhook_subscriptions SET consecutive_failures = ?1, failing_since_ms = ?2, paused_until_ms = ?3, \
             disabled_at_ms = ?4 WHERE id = ?5",
        )
        .and_then(|mut s| s.execute(params![failures, since, paused, disabled, id]))
        .map_err(sql)?;
        match HealthConsequence::of(&before, &after) {
            HealthConsequence::Pause(until) => {
                conn.prepare_cached(
                    "UPDATE webhook_deliveries SET next_attempt_ms = ?1 WHERE subscription_id = ?2 \
                     AND status = 'pending' AND next_attempt_ms < ?1",
                )
                .and_then(|mut s| s.execute(params![until.as_millisecond(), id]))
                .map_err(sql)?;
            }
            HealthConsequence::Disable => {
                let failed = conn
                    .prepare_cached(
                        "UPDATE webhook_deliveries SET status = 'failed', next_attempt_ms = NULL \
                         WHERE subscription_id = ?1 AND status = 'pending'",
                    )
                    .and_then(|mut s| s.execute([&id]))
                    .map_err(sql)?;
                tracing::warn!(subscription = %id, failures = after.consecutive_failures, pending_failed = failed,
                    "webhook subscription disabled: its receiver failed without a success for too long");
            }
            HealthConsequence::None => {}
        }
    }
    Ok(())
}
