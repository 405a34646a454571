//! Webhooks: subscriptions, the outbox written with each change, deliveries and their leases.

use crate::db::Db;
use async_trait::async_trait;
use cardinal_store::{
    too_many_subscriptions, types_column, types_from_column, AttemptOutcome, ClaimedDelivery, DeliveryAttempt,
    DeliveryQuery, DeliveryStatus, FairShare, HealthRules, OutboxEvent, Page, PageRequest, StoreResult,
    SubscriptionHealth, WebhookDelivery, WebhookStore, WebhookSubscription, SUBSCRIPTIONS_PER_ORGANIZATION,
};
use jiff::Timestamp;
use uuid::Uuid;

use crate::{
    optional, pg,
    rows::{corrupt, get, timestamp, uuid},
    webhook_health::update_health,
    Fail, PostgresStore,
};

const SUBSCRIPTION_COLUMNS: &str =
    "id, organization_id, membership_id, callback_url, types, description, secret_sealed, created_at, updated_at";
/// The columns read: the written ones and the receiver's health.
pub(crate) const SUBSCRIPTION_SELECT: &str =
    "id, organization_id, membership_id, callback_url, types, description, secret_sealed, \
     created_at, updated_at, consecutive_failures, failing_since_ms, paused_until_ms, disabled_at_ms";

pub(crate) fn subscription(r: &tokio_postgres::Row) -> Result<WebhookSubscription, Fail> {
    let types: String = get(r, "types")?;
    Ok(WebhookSubscription {
        id: uuid(&get::<String>(r, "id")?)?,
        organization_id: uuid(&get::<String>(r, "organization_id")?)?,
        membership_id: uuid(&get::<String>(r, "membership_id")?)?,
        callback_url: get(r, "callback_url")?,
        types: types_from_column(&types).ok_or_else(|| corrupt("a subscription's types are not a JSON array"))?,
        description: get(r, "description")?,
        secret_sealed: get(r, "secret_sealed")?,
        created_at: timestamp(get(r, "created_at")?)?,
        updated_at: timestamp(get(r, "updated_at")?)?,
        health: health(r)?,
    })
}

/// A subscription's health, from a row holding its four columns.
pub(crate) fn health(r: &tokio_postgres::Row) -> Result<SubscriptionHealth, Fail> {
    Ok(SubscriptionHealth::from_columns(
        i64::from(get::<i32>(r, "consecutive_failures")?),
        get(r, "failing_since_ms")?,
        get(r, "paused_until_ms")?,
        get(r, "disabled_at_ms")?,
    ))
}

/// Writes each event and its deliveries, inside the caller's transaction, for the
/// subscriptions of its organization to its topic; an event nobody subscribed to is not written.
pub(crate) async fn write_outbox(client: &Db<'_>, events: &[OutboxEvent]) -> Result<(), Fail> {
    let subscriptions = subscriptions_for(client, events).await?;
    write_outbox_for(client, events, &subscriptions).await
}

/// [`write_outbox`] with the subscriptions already read — alongside the change's own writes,
/// in the same round trip (see [`crate::cards::commit_card_write`]).
pub(crate) async fn write_outbox_for(
    client: &Db<'_>,
    events: &[OutboxEvent],
    subscriptions: &Subscriptions,
) -> Result<(), Fail> {
    for event in events {
        let subscribers = subscriptions.to(event);
        if subscribers.is_empty() {
            continue;
        }
        let data = event.data.text();
        client
            .execute(
                "INSERT INTO webhook_events (id, organization_id, topic, ordering_key, data, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &event.id.to_string(),
                    &event.organization_id.to_string(),
                    &event.topic,
                    &event.ordering_key.to_string(),
                    &data.as_ref(),
                    &event.created_at.as_second(),
                ],
            )
            .await
            .map_err(pg)?;
        for subscriber in subscribers {
            client
                .execute(
                    "INSERT INTO webhook_deliveries (id, event_id, subscription_id, organization_id, ordering_key, \
                     status, attempts, next_attempt_ms) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6)",
                    &[
                        &cardinal_store::ids::time_ordered().to_string(),
                        &event.id.to_string(),
                        &subscriber.id,
                        &event.organization_id.to_string(),
                        &event.ordering_key.to_string(),
                        &subscriber.due,
                    ],
                )
                .await
                .map_err(pg)?;
        }
    }
    Ok(())
}

/// The live subscriptions of the organizations `events` belong to (a write's are one
/// organization's): one read per organization, none when there are no events.
pub(crate) async fn subscriptions_for(client: &Db<'_>, events: &[OutboxEvent]) -> Result<Subscriptions, Fail> {
    let mut organizations: Vec<Uuid> = Vec::new();
    for event in events {
        if !organizations.contains(&event.organization_id) {
            organizations.push(event.organization_id);
        }
    }
    let mut live = Vec::new();
    for organization in organizations {
        let rows = client
            .query(
                "SELECT id, types, coalesce(paused_until_ms, 0) AS due FROM webhook_subscriptions \
                 WHERE organization_id = $1 AND disabled_at_ms IS NULL",
                &[&organization.to_string()],
            )
            .await
            .map_err(pg)?;
        for row in rows {
            let types = types_from_column(&get::<String>(&row, "types")?)
                .ok_or_else(|| corrupt("a subscription's types are not a JSON array"))?;
            live.push(Subscriber { organization, id: get(&row, "id")?, types, due: get(&row, "due")? });
        }
    }
    Ok(Subscriptions(live))
}

/// Subscriptions that are not disabled, as [`subscriptions_for`] read them.
pub(crate) struct Subscriptions(Vec<Subscriber>);

struct Subscriber {
    organization: Uuid,
    id: String,
    types: Vec<String>,
    /// When its deliveries are due (after a slowed receiver's pause), in ms.
    due: i64,
}

impl Subscriptions {
    /// Who hears `event`: its organization's subscriptions to its topic.
    fn to(&self, event: &OutboxEvent) -> Vec<&Subscriber> {
        self.0.iter().filter(|s| s.organization == event.organization_id && s.types.contains(&event.topic)).collect()
    }
}

const DELIVERY_SELECT: &str = "SELECT d.id, d.subscription_id, d.status, d.attempts, d.next_attempt_ms, \
     e.id AS event_id, e.organization_id, e.topic, e.ordering_key, e.data, e.created_at \
     FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id";

fn delivery(r: &tokio_postgres::Row) -> Result<WebhookDelivery, Fail> {
    let status: String = get(r, "status")?;
    let next: Option<i64> = get(r, "next_attempt_ms")?;
    let attempts: i32 = get(r, "attempts")?;
    Ok(WebhookDelivery {
        id: uuid(&get::<String>(r, "id")?)?,
        subscription_id: uuid(&get::<String>(r, "subscription_id")?)?,
        status: DeliveryStatus::parse(&status).unwrap_or(DeliveryStatus::Failed),
        attempts: attempts.max(0) as u32,
        next_attempt_at: next.and_then(|ms| Timestamp::from_millisecond(ms).ok()),
        event: OutboxEvent {
            id: uuid(&get::<String>(r, "event_id")?)?,
            organization_id: uuid(&get::<String>(r, "organization_id")?)?,
            topic: get(r, "topic")?,
            ordering_key: uuid(&get::<String>(r, "ordering_key")?)?,
            data: get::<String>(r, "data")?.into(),
            created_at: timestamp(get(r, "created_at")?)?,
        },
    })
}

fn attempt(r: &tokio_postgres::Row) -> Result<DeliveryAttempt, Fail> {
    let headers: String = get(r, "request_headers")?;
    let (number, latency, status): (i32, i32, Option<i32>) =
        (get(r, "number")?, get(r, "latency_ms")?, get(r, "status_code")?);
    Ok(DeliveryAttempt {
        delivery_id: uuid(&get::<String>(r, "delivery_id")?)?,
        number: number.max(0) as u32,
        at: Timestamp::from_millisecond(get(r, "at_ms")?).map_err(corrupt)?,
        latency_ms: latency.max(0) as u32,
        status_code: status.map(|s| s.clamp(0, u16::MAX as i32) as u16),
        error: get(r, "error")?,
        answer: get(r, "answer")?,
        request_headers: serde_json::from_str(&headers).map_err(corrupt)?,
    })
}

async fn load_subscription(client: &Db<'_>, id: &str) -> Result<Option<WebhookSubscription>, Fail> {
    let q = fixed_sql!("SELECT {SUBSCRIPTION_SELECT} FROM webhook_subscriptions WHERE id = $1");
    optional(client, q, &[&id], subscription).await
}

#[async_trait]
impl WebhookStore for PostgresStore {
    async fn insert_webhook_subscription(&self, s: WebhookSubscription) -> StoreResult<()> {
        let org = s.organization_id.to_string();
        transaction!(self, |tx| {
            // The organization's row lock serializes its subscriptions' creations: the count
            // below stays true until the commit.
            tx.execute("SELECT 1 FROM organizations WHERE id = $1 FOR UPDATE", &[&org]).await.map_err(pg)?;
            let existing: i64 = tx
                .query_one("SELECT count(*) FROM webhook_subscriptions WHERE organization_id = $1", &[&org])
                .await
                .map_err(pg)?
                .get(0);
            if existing >= SUBSCRIPTIONS_PER_ORGANIZATION {
                return Err(Fail::Store(too_many_subscriptions()));
            }
            tx.execute(
                fixed_sql!(
                    "INSERT INTO webhook_subscriptions ({SUBSCRIPTION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                ),
                &[
                    &s.id.to_string(),
                    &s.organization_id.to_string(),
                    &s.membership_id.to_string(),
                    &s.callback_url,
                    &types_column(&s.types),
                    &s.description,
                    &s.secret_sealed,
                    &s.created_at.as_second(),
                    &s.updated_at.as_second(),
                ],
            )
            .await
            .map_err(pg)?;
        })
    }

    async fn webhook_secrets(&self) -> StoreResult<Vec<(Uuid, Vec<u8>)>> {
        read!(self, |c| {
            let rows =
                c.query("SELECT id, secret_sealed FROM webhook_subscriptions ORDER BY id", &[]).await.map_err(pg)?;
            let mut secrets = Vec::with_capacity(rows.len());
            for row in &rows {
                secrets.push((uuid(&get::<String>(row, "id")?)?, get(row, "secret_sealed")?));
            }
            secrets
        })
    }

    async fn reseal_webhook_secrets(&self, secrets: Vec<(Uuid, Vec<u8>)>) -> StoreResult<()> {
        transaction!(self, |tx| {
            for (id, sealed) in &secrets {
                tx.execute(
                    "UPDATE webhook_subscriptions SET secret_sealed = $1 WHERE id = $2",
                    &[sealed, &id.to_string()],
                )
                .await
                .map_err(pg)?;
            }
        })
    }

    async fn webhook_subscriptions(
        &self,
        org: Uuid,
        membership: Option<Uuid>,
        page: PageRequest,
    ) -> StoreResult<Page<WebhookSubscription>> {
        let (org, membership) = (org.to_string(), membership.map(|m| m.to_string()));
        let (limit, offset) = (i64::from(page.per_page), page.offset() as i64);
        read!(self, |c| {
            let total: i64 = c
                .query_one(
                    "SELECT count(*) FROM webhook_subscriptions WHERE organization_id = $1 \
                     AND ($2::TEXT IS NULL OR membership_id = $2)",
                    &[&org, &membership],
                )
                .await
                .map_err(pg)?
                .get(0);
            let rows = c
                .query(
                    fixed_sql!(
                        "SELECT {SUBSCRIPTION_SELECT} FROM webhook_subscriptions WHERE organization_id = $1 \
                         AND ($2::TEXT IS NULL OR membership_id = $2) ORDER BY created_at, id LIMIT $3 OFFSET $4"
                    ),
                    &[&org, &membership, &limit, &offset],
                )
                .await
                .map_err(pg)?;
            let items = rows.iter().map(subscription).collect::<Result<Vec<_>, Fail>>()?;
            Page { items, total: total as u64 }
        })
    }

    async fn webhook_subscription(&self, org: Uuid, id: Uuid) -> StoreResult<Option<WebhookSubscription>> {
        let id = id.to_string();
        let found = read!(self, |c| { load_subscription(c, &id).await? })?;
        Ok(found.filter(|s| s.organization_id == org))
    }

    async fn update_webhook_subscription(&self, s: WebhookSubscription) -> StoreResult<bool> {
        let health = s.health.columns();
        transaction!(self, |tx| {
            tx.execute(
                "UPDATE webhook_subscriptions SET callback_url = $1, types = $2, description = $3, updated_at = $4, \
                 consecutive_failures = $7, failing_since_ms = $8, paused_until_ms = $9, disabled_at_ms = $10 \
                 WHERE id = $5 AND organization_id = $6",
                &[
                    &s.callback_url,
                    &types_column(&s.types),
                    &s.description,
                    &s.updated_at.as_second(),
                    &s.id.to_string(),
                    &s.organization_id.to_string(),
                    &(health.0 as i32),
                    &health.1,
                    &health.2,
                    &health.3,
                ],
            )
            .await
            .map_err(pg)?
                == 1
        })
    }

    async fn delete_webhook_subscription(&self, org: Uuid, id: Uuid) -> StoreResult<bool> {
        transaction!(self, |tx| {
            tx.execute(
                "DELETE FROM webhook_subscriptions WHERE id = $1 AND organization_id = $2",
                &[&id.to_string(), &org.to_string()],
            )
            .await
            .map_err(pg)?
                == 1
        })
    }

    /// `FOR UPDATE SKIP LOCKED`: processes claiming together take different deliveries, and
    /// the lease (re-checked on the locked row) keeps one from taking another's until it
    /// expires. The candidates leave out organizations and subscriptions at their cap; the
    /// share picks among them, and only those picked are leased.
    async fn claim_webhook_deliveries(
        &self,
        owner: Uuid,
        now: Timestamp,
        lease_until: Timestamp,
        share: &FairShare,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        let owner = owner.to_string();
        let (now, until, wanted) = (now.as_millisecond(), lease_until.as_millisecond(), share.candidates() as i64);
        let (full_organizations, full_subscriptions) = share.saturated();
        let texts = |ids: Vec<Uuid>| ids.iter().map(Uuid::to_string).collect::<Vec<String>>();
        let (full_organizations, full_subscriptions) = (texts(full_organizations), texts(full_subscriptions));
        transaction!(self, |tx| {
            let candidates = tx
                .query(
                    "SELECT d.seq, d.organization_id, d.subscription_id FROM webhook_deliveries d \
                     WHERE d.status = 'pending' AND d.next_attempt_ms <= $1 \
                     AND (d.lease_until_ms IS NULL OR d.lease_until_ms < $1) \
                     AND d.organization_id <> ALL($3) AND d.subscription_id <> ALL($4) \
                     AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.subscription_id = d.subscription_id \
                       AND e.ordering_key = d.ordering_key AND e.status = 'pending' AND e.seq < d.seq) \
                     ORDER BY d.next_attempt_ms, d.seq LIMIT $2 FOR UPDATE SKIP LOCKED",
                    &[&now, &wanted, &full_organizations, &full_subscriptions],
                )
                .await
                .map_err(pg)?;
            let mut keyed = Vec::with_capacity(candidates.len());
            for row in &candidates {
                let organization = uuid(&get::<String>(row, "organization_id")?)?;
                keyed.push((get::<i64>(row, "seq")?, organization, uuid(&get::<String>(row, "subscription_id")?)?));
            }
            let picked: Vec<i64> =
                share.pick(keyed.iter().map(|(_, org, sub)| (*org, *sub))).into_iter().map(|i| keyed[i].0).collect();
            let rows = tx
                .query(
                    "UPDATE webhook_deliveries SET lease_owner = $1, lease_until_ms = $2 WHERE seq = ANY($3) RETURNING id",
                    &[&owner, &until, &picked],
                )
                .await
                .map_err(pg)?;
            let ids = rows.iter().map(|row| get::<String>(row, "id")).collect::<Result<Vec<_>, Fail>>()?;
            // Two queries for the whole claim, not two per delivery: the round trips were most
            // of a claim's time.
            let deliveries = tx
                .query(fixed_sql!("{DELIVERY_SELECT} WHERE d.id = ANY($1)"), &[&ids])
                .await
                .map_err(pg)?
                .iter()
                .map(delivery)
                .collect::<Result<Vec<_>, Fail>>()?;
            let subscription_ids: Vec<String> = deliveries.iter().map(|d| d.subscription_id.to_string()).collect();
            let subscriptions = tx
                .query(
                    fixed_sql!("SELECT {SUBSCRIPTION_SELECT} FROM webhook_subscriptions WHERE id = ANY($1)"),
                    &[&subscription_ids],
                )
                .await
                .map_err(pg)?
                .iter()
                .map(subscription)
                .collect::<Result<Vec<_>, Fail>>()?;
            let mut claimed = Vec::with_capacity(deliveries.len());
            for delivery in deliveries {
                if let Some(subscription) = subscriptions.iter().find(|s| s.id == delivery.subscription_id) {
                    claimed.push(ClaimedDelivery { delivery, subscription: subscription.clone() });
                }
            }
            claimed
        })
    }

    /// Two statements for the whole batch (arrays unnested), not two per attempt.
    async fn record_webhook_attempts(
        &self,
        owner: Uuid,
        attempts: Vec<(DeliveryAttempt, AttemptOutcome)>,
        rules: HealthRules,
    ) -> StoreResult<Vec<bool>> {
        let owner = owner.to_string();
        let ids: Vec<String> = attempts.iter().map(|(a, _)| a.delivery_id.to_string()).collect();
        let statuses: Vec<&str> = attempts.iter().map(|(_, outcome)| outcome.columns().0).collect();
        let nexts: Vec<Option<i64>> = attempts.iter().map(|(_, outcome)| outcome.columns().1).collect();
        transaction!(self, |tx| {
            let held: Vec<String> = tx
                .query(
                    // A delivery no longer pending (its subscription was disabled while the
                    // attempt was in flight) keeps its status; the attempt is still recorded.
                    "UPDATE webhook_deliveries d SET attempts = d.attempts + 1, \
                     status = CASE WHEN d.status = 'pending' THEN i.status ELSE d.status END, \
                     next_attempt_ms = CASE WHEN d.status = 'pending' THEN i.next ELSE d.next_attempt_ms END, \
                     lease_owner = NULL, lease_until_ms = NULL \
                     FROM UNNEST($1::TEXT[], $2::TEXT[], $3::BIGINT[]) AS i(id, status, next) \
                     WHERE d.id = i.id AND d.lease_owner = $4 RETURNING d.id",
                    &[&ids, &statuses, &nexts, &owner],
                )
                .await
                .map_err(pg)?
                .iter()
                .map(|row| get::<String>(row, "id"))
                .collect::<Result<_, Fail>>()?;
            let recorded: Vec<(&DeliveryAttempt, AttemptOutcome)> = attempts
                .iter()
                .filter(|(a, _)| held.contains(&a.delivery_id.to_string()))
                .map(|(a, o)| (a, *o))
                .collect();
            insert_attempts(tx, &recorded.iter().map(|(a, _)| *a).collect::<Vec<_>>()).await?;
            update_health(tx, &recorded, &rules).await?;
            ids.iter().map(|id| held.contains(id)).collect::<Vec<bool>>()
        })
    }

    async fn webhook_deliveries(&self, q: &DeliveryQuery) -> StoreResult<Page<WebhookDelivery>> {
        let org = q.organization_id.to_string();
        let status = q.status.map(|s| s.as_str().to_owned());
        let subscription = q.subscription_id.map(|s| s.to_string());
        let (limit, offset) = (i64::from(q.page.per_page), q.page.offset() as i64);
        let filter = "d.organization_id = $1 AND ($2::TEXT IS NULL OR d.status = $2) \
                      AND ($3::TEXT IS NULL OR d.subscription_id = $3)";
        read!(self, |c| {
            let total: i64 = c
                .query_one(
                    fixed_sql!("SELECT count(*) FROM webhook_deliveries d WHERE {filter}"),
                    &[&org, &status, &subscription],
                )
                .await
                .map_err(pg)?
                .get(0);
            let rows = c
                .query(
                    fixed_sql!("{DELIVERY_SELECT} WHERE {filter} ORDER BY d.seq DESC LIMIT $4 OFFSET $5"),
                    &[&org, &status, &subscription, &limit, &offset],
                )
                .await
                .map_err(pg)?;
            Page { items: rows.iter().map(delivery).collect::<Result<Vec<_>, Fail>>()?, total: total as u64 }
        })
    }

    async fn webhook_delivery(&self, id: Uuid) -> StoreResult<Option<(WebhookDelivery, Vec<DeliveryAttempt>)>> {
        let id = id.to_string();
        read!(self, |c| {
            let q = fixed_sql!("{DELIVERY_SELECT} WHERE d.id = $1");
            match optional(c, q, &[&id], delivery).await? {
                None => None,
                Some(found) => {
                    let rows = c
                        .query(
                            "SELECT delivery_id, number, at_ms, latency_ms, status_code, error, answer, request_headers \
                             FROM webhook_attempts WHERE delivery_id = $1 ORDER BY number",
                            &[&id],
                        )
                        .await
                        .map_err(pg)?;
                    Some((found, rows.iter().map(attempt).collect::<Result<Vec<_>, Fail>>()?))
                }
            }
        })
    }

    async fn retry_webhook_delivery(&self, id: Uuid, now: Timestamp) -> StoreResult<bool> {
        transaction!(self, |tx| {
            tx.execute(
                "UPDATE webhook_deliveries SET status = 'pending', next_attempt_ms = $1, lease_owner = NULL, \
                 lease_until_ms = NULL WHERE id = $2",
                &[&now.as_millisecond(), &id.to_string()],
            )
            .await
            .map_err(pg)?
                == 1
        })
    }
}

/// The attempts' rows, in one statement.
async fn insert_attempts(client: &Db<'_>, attempts: &[&DeliveryAttempt]) -> Result<(), Fail> {
    if attempts.is_empty() {
        return Ok(());
    }
    let column = |f: fn(&DeliveryAttempt) -> String| attempts.iter().map(|a| f(a)).collect::<Vec<String>>();
    let ids = column(|a| a.delivery_id.to_string());
    let answers = column(|a| a.answer.clone());
    let headers = column(|a| serde_json::to_string(&a.request_headers).unwrap_or_default());
    let numbers: Vec<i32> = attempts.iter().map(|a| a.number as i32).collect();
    let ats: Vec<i64> = attempts.iter().map(|a| a.at.as_millisecond()).collect();
    let latencies: Vec<i32> = attempts.iter().map(|a| a.latency_ms as i32).collect();
    let codes: Vec<Option<i32>> = attempts.iter().map(|a| a.status_code.map(i32::from)).collect();
    let errors: Vec<Option<String>> = attempts.iter().map(|a| a.error.clone()).collect();
    client
        .execute(
            "INSERT INTO webhook_attempts (delivery_id, number, at_ms, latency_ms, status_code, error, answer, \
             request_headers) SELECT * FROM UNNEST($1::TEXT[], $2::INTEGER[], $3::BIGINT[], $4::INTEGER[], \
             $5::INTEGER[], $6::TEXT[], $7::TEXT[], $8::TEXT[]) \
             ON CONFLICT (delivery_id, number) DO UPDATE SET at_ms = EXCLUDED.at_ms, \
             latency_ms = EXCLUDED.latency_ms, status_code = EXCLUDED.status_code, error = EXCLUDED.error, \
             answer = EXCLUDED.answer, request_headers = EXCLUDED.request_headers",
            &[&ids, &numbers, &ats, &latencies, &codes, &errors, &answers, &headers],
        )
        .await
        .map_err(pg)?;
    Ok(())
}
