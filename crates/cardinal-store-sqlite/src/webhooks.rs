//! Webhooks: subscriptions, the outbox written with each change, the deliveries made from it
//! and their leases.

use std::collections::HashMap;

use async_trait::async_trait;
use cardinal_store::{
    too_many_subscriptions, types_column, types_from_column, AttemptOutcome, ClaimedDelivery, DeliveryAttempt,
    DeliveryQuery, DeliveryStatus, FairShare, HealthRules, OutboxEvent, Page, PageRequest, StoreResult,
    SubscriptionHealth, WebhookDelivery, WebhookStore, WebhookSubscription, SUBSCRIPTIONS_PER_ORGANIZATION,
};
use jiff::Timestamp;
use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

use crate::{
    rows::{seconds, timestamp, uuid, SqlResult},
    sql,
    webhook_health::update_health,
    SqliteStore,
};

const SUBSCRIPTION_COLUMNS: &str =
    "id, organization_id, membership_id, callback_url, types, description, secret_sealed, created_at, updated_at";
/// The columns read: the written ones and the receiver's health.
const SUBSCRIPTION_SELECT: &str =
    "id, organization_id, membership_id, callback_url, types, description, secret_sealed, \
     created_at, updated_at, consecutive_failures, failing_since_ms, paused_until_ms, disabled_at_ms";

fn subscription(r: &rusqlite::Row) -> SqlResult<WebhookSubscription> {
    let types: String = r.get(4)?;
    Ok(WebhookSubscription {
        id: uuid(r.get(0)?)?,
        organization_id: uuid(r.get(1)?)?,
        membership_id: uuid(r.get(2)?)?,
        callback_url: r.get(3)?,
        types: types_from_column(&types).unwrap_or_default(),
        description: r.get(5)?,
        secret_sealed: r.get(6)?,
        created_at: timestamp(r.get(7)?)?,
        updated_at: timestamp(r.get(8)?)?,
        health: SubscriptionHealth::from_columns(r.get(9)?, r.get(10)?, r.get(11)?, r.get(12)?),
    })
}

/// Appends each event, inside the caller's write, naming the subscriptions of its organization
/// to its topic; an event nobody subscribed to is not written. Its deliveries are made later,
/// by [`expand_next_batch`], so the change pays for one row.
pub(crate) fn write_outbox(conn: &Connection, events: &[OutboxEvent]) -> StoreResult<()> {
    for event in events {
        let subscribers = subscribers(conn, event)?;
        if subscribers.is_empty() {
            continue;
        }
        conn.prepare_cached(
            "INSERT INTO webhook_events (id, organization_id, topic, ordering_key, data, created_at, subscribers) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .and_then(|mut s| {
            s.execute(params![
                event.id.to_string(),
                event.organization_id.to_string(),
                event.topic,
                event.ordering_key.to_string(),
                event.data.text(),
                seconds(event.created_at),
                subscribers.join(","),
            ])
        })
        .map_err(sql)?;
    }
    Ok(())
}

/// Most events one expansion write turns into deliveries; a backlog takes several writes, so
/// none holds the writer long.
const EXPANSION_BATCH: i64 = 2_000;

/// Makes the deliveries of up to [`EXPANSION_BATCH`] events written since the last expansion,
/// one per subscription an event names that still exists, and moves the cursor past them.
/// Runs on the writer, so two expansions never make the same delivery. Answers how many
/// events it expanded.
fn expand_next_batch(conn: &Connection) -> StoreResult<usize> {
    let cursor: i64 = conn
        .prepare_cached("SELECT cursor FROM webhook_expansion WHERE id = 1")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(sql)?;
    let events = conn
        .prepare_cached(
            "SELECT seq, organization_id, ordering_key, subscribers FROM webhook_events \
             WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )
        .and_then(|mut s| {
            s.query_map(params![cursor, EXPANSION_BATCH], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
            })?
            .collect::<SqlResult<Vec<_>>>()
        })
        .map_err(sql)?;
    let Some(&(last, ..)) = events.last() else { return Ok(0) };
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO webhook_deliveries (id, event_seq, subscription_id, organization_id, ordering_key, status, \
             attempts, next_attempt_ms) SELECT ?1, ?2, id, ?3, ?4, 'pending', 0, coalesce(paused_until_ms, 0) \
             FROM webhook_subscriptions WHERE id = ?5 AND disabled_at_ms IS NULL",
        )
        .map_err(sql)?;
    for (seq, organization, ordering_key, subscribers) in &events {
        for subscription in subscribers.split(',') {
            let id = cardinal_store::ids::time_ordered().to_string();
            insert.execute(params![id, seq, organization, ordering_key, subscription]).map_err(sql)?;
        }
    }
    conn.prepare_cached("UPDATE webhook_expansion SET cursor = ?1 WHERE id = 1")
        .and_then(|mut s| s.execute([last]))
        .map_err(sql)?;
    Ok(events.len())
}

/// The ids of the subscriptions of the event's organization to its topic.
fn subscribers(conn: &Connection, event: &OutboxEvent) -> StoreResult<Vec<String>> {
    let mut statement = conn
        .prepare_cached(
            "SELECT id, types FROM webhook_subscriptions WHERE organization_id = ?1 AND disabled_at_ms IS NULL",
        )
        .map_err(sql)?;
    let rows = statement
        .query_map([event.organization_id.to_string()], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .map_err(sql)?;
    let mut ids = Vec::new();
    for row in rows {
        let (id, types) = row.map_err(sql)?;
        if types_from_column(&types).is_some_and(|types| types.contains(&event.topic)) {
            ids.push(id);
        }
    }
    Ok(ids)
}

const DELIVERY_SELECT: &str = "SELECT d.id, d.subscription_id, d.status, d.attempts, d.next_attempt_ms, \
     e.id, e.organization_id, e.topic, e.ordering_key, e.data, e.created_at \
     FROM webhook_deliveries d JOIN webhook_events e ON e.seq = d.event_seq";

fn delivery(r: &rusqlite::Row) -> SqlResult<WebhookDelivery> {
    let status: String = r.get(2)?;
    let next: Option<i64> = r.get(4)?;
    Ok(WebhookDelivery {
        id: uuid(r.get(0)?)?,
        subscription_id: uuid(r.get(1)?)?,
        status: DeliveryStatus::parse(&status).unwrap_or(DeliveryStatus::Failed),
        attempts: r.get(3)?,
        next_attempt_at: next.and_then(|ms| Timestamp::from_millisecond(ms).ok()),
        event: OutboxEvent {
            id: uuid(r.get(5)?)?,
            organization_id: uuid(r.get(6)?)?,
            topic: r.get(7)?,
            ordering_key: uuid(r.get(8)?)?,
            data: r.get::<_, String>(9)?.into(),
            created_at: timestamp(r.get(10)?)?,
        },
    })
}

fn load_delivery(conn: &Connection, id: &str) -> StoreResult<Option<WebhookDelivery>> {
    conn.prepare_cached(&format!("{DELIVERY_SELECT} WHERE d.id = ?1"))
        .and_then(|mut s| s.query_row([id], delivery).optional())
        .map_err(sql)
}

pub(crate) fn load_subscription(conn: &Connection, id: &str) -> StoreResult<Option<WebhookSubscription>> {
    conn.prepare_cached(&format!("SELECT {SUBSCRIPTION_SELECT} FROM webhook_subscriptions WHERE id = ?1"))
        .and_then(|mut s| s.query_row([id], subscription).optional())
        .map_err(sql)
}

fn attempt(r: &rusqlite::Row) -> SqlResult<DeliveryAttempt> {
    let headers: String = r.get(7)?;
    let at: i64 = r.get(2)?;
    Ok(DeliveryAttempt {
        delivery_id: uuid(r.get(0)?)?,
        number: r.get(1)?,
        at: Timestamp::from_millisecond(at).unwrap_or(Timestamp::UNIX_EPOCH),
        latency_ms: r.get(3)?,
        status_code: r.get(4)?,
        error: r.get(5)?,
        answer: r.get(6)?,
        request_headers: serde_json::from_str(&headers).unwrap_or_default(),
    })
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn insert_webhook_subscription(&self, s: WebhookSubscription) -> StoreResult<()> {
        self.engine
            .write(move |conn| {
                let existing: i64 = conn
                    .query_row(
                        "SELECT count(*) FROM webhook_subscriptions WHERE organization_id = ?1",
                        [s.organization_id.to_string()],
                        |r| r.get(0),
                    )
                    .map_err(sql)?;
                if existing >= SUBSCRIPTIONS_PER_ORGANIZATION {
                    return Err(too_many_subscriptions());
                }
                conn.execute(
                    &format!("INSERT INTO webhook_subscriptions ({SUBSCRIPTION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
                    params![
                        s.id.to_string(),
                        s.organization_id.to_string(),
                        s.membership_id.to_string(),
                        s.callback_url,
                        types_column(&s.types),
                        s.description,
                        s.secret_sealed,
                        seconds(s.created_at),
                        seconds(s.updated_at),
                    ],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn webhook_secrets(&self) -> StoreResult<Vec<(Uuid, Vec<u8>)>> {
        self.engine
            .read(|conn| {
                conn.prepare_cached("SELECT id, secret_sealed FROM webhook_subscriptions ORDER BY id")
                    .and_then(|mut s| s.query_map([], |r| Ok((uuid(r.get(0)?)?, r.get(1)?)))?.collect())
                    .map_err(sql)
            })
            .await
    }

    async fn reseal_webhook_secrets(&self, secrets: Vec<(Uuid, Vec<u8>)>) -> StoreResult<()> {
        self.engine
            .write(move |conn| {
                for (id, sealed) in &secrets {
                    conn.execute(
                        "UPDATE webhook_subscriptions SET secret_sealed = ?1 WHERE id = ?2",
                        params![sealed, id.to_string()],
                    )
                    .map_err(sql)?;
                }
                Ok(())
            })
            .await
    }

    async fn webhook_subscriptions(
        &self,
        org: Uuid,
        membership: Option<Uuid>,
        page: PageRequest,
    ) -> StoreResult<Page<WebhookSubscription>> {
        self.engine
            .read(move |conn| {
                let (org, membership) = (org.to_string(), membership.map(|m| m.to_string()));
                let total: i64 = conn
                    .query_row(
                        "SELECT count(*) FROM webhook_subscriptions WHERE organization_id = ?1 \
                         AND (?2 IS NULL OR membership_id = ?2)",
                        params![org, membership],
                        |r| r.get(0),
                    )
                    .map_err(sql)?;
                let mut statement = conn
                    .prepare_cached(&format!(
                        "SELECT {SUBSCRIPTION_SELECT} FROM webhook_subscriptions WHERE organization_id = ?1 \
                         AND (?2 IS NULL OR membership_id = ?2) ORDER BY created_at, id LIMIT ?3 OFFSET ?4"
                    ))
                    .map_err(sql)?;
                let items = statement
                    .query_map(params![org, membership, page.per_page, page.offset()], subscription)
                    .and_then(|rows| rows.collect::<SqlResult<Vec<_>>>())
                    .map_err(sql)?;
                Ok(Page { items, total: total as u64 })
            })
            .await
    }

    async fn webhook_subscription(&self, org: Uuid, id: Uuid) -> StoreResult<Option<WebhookSubscription>> {
        self.engine
            .read(move |conn| Ok(load_subscription(conn, &id.to_string())?.filter(|s| s.organization_id == org)))
            .await
    }

    async fn update_webhook_subscription(&self, s: WebhookSubscription) -> StoreResult<bool> {
        self.engine
            .write(move |conn| {
                let changed = conn
                    .execute(
                        "UPDATE webhook_subscriptions SET callback_url = ?1, types = ?2, description = ?3, updated_at = ?4, \
                         consecutive_failures = ?7, failing_since_ms = ?8, paused_until_ms = ?9, disabled_at_ms = ?10 \
                         WHERE id = ?5 AND organization_id = ?6",
                        params![
                            s.callback_url,
                            types_column(&s.types),
                            s.description,
                            seconds(s.updated_at),
                            s.id.to_string(),
                            s.organization_id.to_string(),
                            s.health.columns().0,
                            s.health.columns().1,
                            s.health.columns().2,
                            s.health.columns().3,
                        ],
                    )
                    .map_err(sql)?;
                Ok(changed == 1)
            })
            .await
    }

    async fn delete_webhook_subscription(&self, org: Uuid, id: Uuid) -> StoreResult<bool> {
        self.engine
            .write(move |conn| {
                let deleted = conn
                    .execute(
                        "DELETE FROM webhook_subscriptions WHERE id = ?1 AND organization_id = ?2",
                        params![id.to_string(), org.to_string()],
                    )
                    .map_err(sql)?;
                Ok(deleted == 1)
            })
            .await
    }

    async fn claim_webhook_deliveries(
        &self,
        owner: Uuid,
        now: Timestamp,
        lease_until: Timestamp,
        share: &FairShare,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        self.expand_outbox().await?;
        // The heads of the queues (no earlier pending delivery of the same card and
        // subscription), of organizations and subscriptions below their caps, as many more as
        // are leased now, so that enough are free; read whole, so the ones leased need no
        // second read. Only deliveries free before the read are taken: one whose attempt is
        // recorded meanwhile may show in the read as it was before (still due), and its lease
        // is released once the record is written.
        let leased = self.leases.held(now);
        let (full_organizations, full_subscriptions) = share.saturated();
        let ids = |ids: Vec<Uuid>| serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
        let (full_organizations, full_subscriptions) = (ids(full_organizations), ids(full_subscriptions));
        let wanted = share.candidates().saturating_add(leased.len()) as i64;
        let candidates = self
            .engine
            .read(move |conn| {
                conn.prepare_cached(&format!(
                    "{DELIVERY_SELECT} WHERE d.status = 'pending' AND d.next_attempt_ms <= ?1 \
                     AND d.organization_id NOT IN (SELECT value FROM json_each(?3)) \
                     AND d.subscription_id NOT IN (SELECT value FROM json_each(?4)) \
                     AND NOT EXISTS (SELECT 1 FROM webhook_deliveries earlier \
                       WHERE earlier.subscription_id = d.subscription_id AND earlier.ordering_key = d.ordering_key \
                       AND earlier.status = 'pending' AND earlier.seq < d.seq) \
                     ORDER BY d.next_attempt_ms, d.seq LIMIT ?2"
                ))
                .and_then(|mut s| {
                    s.query_map(
                        params![now.as_millisecond(), wanted, full_organizations, full_subscriptions],
                        delivery,
                    )?
                    .collect::<SqlResult<Vec<_>>>()
                })
                .map_err(sql)
            })
            .await?;
        let free: Vec<WebhookDelivery> = candidates
            .into_iter()
            .filter(|c| {
                let id = c.id.to_string();
                !leased.contains(&id) && !self.leases.is_leased(&id, now)
            })
            .collect();
        let picked = share.pick(free.iter().map(|d| (d.event.organization_id, d.subscription_id)));
        let picked: Vec<WebhookDelivery> = picked.into_iter().map(|i| free[i].clone()).collect();
        let ids = picked.iter().map(|c| c.id.to_string()).collect();
        let taken: std::collections::HashSet<String> =
            self.leases.take(owner, now, lease_until, ids, share.room).into_iter().collect();
        let deliveries: Vec<WebhookDelivery> =
            picked.into_iter().filter(|c| taken.contains(&c.id.to_string())).collect();
        if deliveries.is_empty() {
            return Ok(Vec::new());
        }
        self.engine
            .read(move |conn| {
                // A claim's deliveries mostly share a subscription: each is read once.
                let mut subscriptions: HashMap<Uuid, Option<WebhookSubscription>> = HashMap::new();
                let mut claimed = Vec::with_capacity(deliveries.len());
                for delivery in deliveries {
                    let subscription = match subscriptions.get(&delivery.subscription_id) {
                        Some(known) => known.clone(),
                        None => {
                            let loaded = load_subscription(conn, &delivery.subscription_id.to_string())?;
                            subscriptions.insert(delivery.subscription_id, loaded.clone());
                            loaded
                        }
                    };
                    if let Some(subscription) = subscription {
                        claimed.push(ClaimedDelivery { delivery, subscription });
                    }
                }
                Ok(claimed)
            })
            .await
    }

    async fn record_webhook_attempts(
        &self,
        owner: Uuid,
        attempts: Vec<(DeliveryAttempt, AttemptOutcome)>,
        rules: HealthRules,
    ) -> StoreResult<Vec<bool>> {
        // An attempt whose lease another owner took over is not recorded. The leases are given
        // up once the write is done, so no claim meanwhile takes a delivery still pending in
        // the database; if the write fails they run out and the attempts are made again.
        let ids: Vec<String> = attempts.iter().map(|(a, _)| a.delivery_id.to_string()).collect();
        let held: Vec<bool> = ids.iter().map(|id| self.leases.holds(owner, id)).collect();
        let recorded = held.clone();
        self.engine
            .write(move |conn| {
                for ((attempt, outcome), held) in attempts.iter().zip(&held) {
                    if *held {
                        record_attempt(conn, attempt, *outcome)?;
                    }
                }
                let recorded: Vec<(&DeliveryAttempt, AttemptOutcome)> =
                    attempts.iter().zip(&held).filter(|(_, held)| **held).map(|((a, o), _)| (a, *o)).collect();
                update_health(conn, &recorded, &rules)
            })
            .await?;
        for (id, _) in ids.iter().zip(&recorded).filter(|(_, held)| **held) {
            self.leases.release(owner, id);
        }
        Ok(recorded)
    }

    async fn webhook_deliveries(&self, q: &DeliveryQuery) -> StoreResult<Page<WebhookDelivery>> {
        let q = q.clone();
        self.expand_outbox().await?;
        self.engine
            .read(move |conn| {
                let filter = "d.organization_id = ?1 AND (?2 IS NULL OR d.status = ?2) AND (?3 IS NULL OR d.subscription_id = ?3)";
                let args = (q.organization_id.to_string(), q.status.map(|s| s.as_str()), q.subscription_id.map(|s| s.to_string()));
                let total: i64 = conn
                    .query_row(
                        &format!("SELECT count(*) FROM webhook_deliveries d WHERE {filter}"),
                        params![args.0, args.1, args.2],
                        |r| r.get(0),
                    )
                    .map_err(sql)?;
                let items = conn
                    .prepare_cached(&format!("{DELIVERY_SELECT} WHERE {filter} ORDER BY d.seq DESC LIMIT ?4 OFFSET ?5"))
                    .and_then(|mut s| {
                        s.query_map(params![args.0, args.1, args.2, q.page.per_page, q.page.offset()], delivery)?
                            .collect::<SqlResult<Vec<_>>>()
                    })
                    .map_err(sql)?;
                Ok(Page { items, total: total as u64 })
            })
            .await
    }

    async fn webhook_delivery(&self, id: Uuid) -> StoreResult<Option<(WebhookDelivery, Vec<DeliveryAttempt>)>> {
        self.expand_outbox().await?;
        self.engine
            .read(move |conn| {
                let Some(delivery) = load_delivery(conn, &id.to_string())? else { return Ok(None) };
                let attempts = conn
                    .prepare_cached(
                        "SELECT delivery_id, number, at_ms, latency_ms, status_code, error, answer, request_headers \
                         FROM webhook_attempts WHERE delivery_id = ?1 ORDER BY number",
                    )
                    .and_then(|mut s| s.query_map([id.to_string()], attempt)?.collect::<SqlResult<Vec<_>>>())
                    .map_err(sql)?;
                Ok(Some((delivery, attempts)))
            })
            .await
    }

    async fn retry_webhook_delivery(&self, id: Uuid, now: Timestamp) -> StoreResult<bool> {
        let changed = self
            .engine
            .write(move |conn| {
                let changed = conn
                    .execute(
                        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_ms = ?1 WHERE id = ?2",
                        params![now.as_millisecond(), id.to_string()],
                    )
                    .map_err(sql)?;
                Ok(changed == 1)
            })
            .await?;
        self.leases.forget(&id.to_string());
        Ok(changed)
    }
}
impl SqliteStore {
    /// Makes the deliveries of every event written so far: before a claim, and before the
    /// control API shows deliveries, so that what it shows is what the worker will attempt.
    async fn expand_outbox(&self) -> StoreResult<()> {
        // A read first: most polls find nothing new, and need not queue at the writer.
        let behind = self
            .engine
            .read(|conn| {
                conn.prepare_cached(
                    "SELECT coalesce((SELECT max(seq) FROM webhook_events), 0) > cursor FROM webhook_expansion",
                )
                .and_then(|mut s| s.query_row([], |r| r.get::<_, bool>(0)))
                .map_err(sql)
            })
            .await?;
        if behind {
            while self.engine.write(expand_next_batch).await? as i64 == EXPANSION_BATCH {}
        }
        Ok(())
    }
}

/// Records one attempt and what it leaves its delivery as. A delivery that is no longer pending
/// (its subscription was disabled while the attempt was in flight) keeps its status.
fn record_attempt(conn: &Connection, a: &DeliveryAttempt, outcome: AttemptOutcome) -> StoreResult<()> {
    let (status, next) = outcome.columns();
    conn.prepare_cached(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, \
         status = CASE WHEN status = 'pending' THEN ?1 ELSE status END, \
         next_attempt_ms = CASE WHEN status = 'pending' THEN ?2 ELSE next_attempt_ms END WHERE id = ?3",
    )
    .and_then(|mut s| s.execute(params![status, next, a.delivery_id.to_string()]))
    .map_err(sql)?;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO webhook_attempts (delivery_id, number, at_ms, latency_ms, status_code, error, \
         answer, request_headers) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut s| {
        s.execute(params![
            a.delivery_id.to_string(),
            a.number,
            a.at.as_millisecond(),
            a.latency_ms,
            a.status_code,
            a.error,
            a.answer,
            serde_json::to_string(&a.request_headers).unwrap_or_default(),
        ])
    })
    .map_err(sql)?;
    Ok(())
}
