//! What recorded webhook attempts do to their subscriptions' health (the rules are
//! `cardinal_store::SubscriptionHealth`'s; this is SQLite's bookkeeping of them).

use crate::webhooks::load_subscription;
use crate::*;
use std::collections::HashMap;

/// What the recorded attempts say of their subscriptions' receivers: each subscription's
/// health is brought up to date, a newly slowed one's pending deliveries wait for the end of
/// its pause, and a newly disabled one's are failed.
pub(crate) fn update_health(
    conn: &Connection,
    recorded: &[(&DeliveryAttempt, AttemptOutcome)],
    rules: &HealthRules,
) -> StoreResult<()> {
    let mut subscription_of = HashMap::new();
    for (attempt, _) in recorded {
        let id = attempt.delivery_id.to_string();
        let subscription: Option<String> = conn
            .prepare_cached("SELECT subscription_id FROM webhook_deliveries WHERE id = ?1")
            .and_then(|mut s| s.query_row([&id], |r| r.get(0)).optional())
            .map_err(sql)?;
        if let Some(subscription) = subscription.and_then(|s| Uuid::parse_str(&s).ok()) {
            subscription_of.insert(attempt.delivery_id, subscription);
        }
    }
    let now = Timestamp::now();
    for (subscription, made) in attempts_by_subscription(recorded, |d| subscription_of.get(&d).copied()) {
        let id = subscription.to_string();
        let Some(before) = load_subscription(conn, &id)?.map(|s| s.health) else { continue };
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
