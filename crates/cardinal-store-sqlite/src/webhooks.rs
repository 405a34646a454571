//! Webhooks: subscriptions, and the outbox written with each change. The deliveries made from
//! it are the ledger's (ledger.rs).

use crate::*;

const SUBSCRIPTION_COLUMNS: &str =
    "id, organization_id, membership_id, callback_url, types, description, secret_sealed, created_at, updated_at";

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
    })
}

/// Appends each event, inside the caller's write, naming the subscriptions of its organization
/// to its topic; an event nobody subscribed to is not written. Its deliveries are made later,
/// in the webhook ledger (ledger.rs), so the change pays for one row.
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
                event.data,
                seconds(event.created_at),
                subscribers.join(","),
            ])
        })
        .map_err(sql)?;
    }
    Ok(())
}

/// The ids of the subscriptions of the event's organization to its topic.
fn subscribers(conn: &Connection, event: &OutboxEvent) -> StoreResult<Vec<String>> {
    let mut statement =
        conn.prepare_cached("SELECT id, types FROM webhook_subscriptions WHERE organization_id = ?1").map_err(sql)?;
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

pub(crate) fn load_subscription(conn: &Connection, id: &str) -> StoreResult<Option<WebhookSubscription>> {
    conn.prepare_cached(&format!("SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE id = ?1"))
        .and_then(|mut s| s.query_row([id], subscription).optional())
        .map_err(sql)
}

impl SqliteStore {
    pub(crate) async fn insert_webhook_subscription(&self, s: WebhookSubscription) -> StoreResult<()> {
        self.engine
            .write(move |conn| {
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

    pub(crate) async fn webhook_secrets(&self) -> StoreResult<Vec<(Uuid, Vec<u8>)>> {
        self.engine
            .read(|conn| {
                conn.prepare_cached("SELECT id, secret_sealed FROM webhook_subscriptions ORDER BY id")
                    .and_then(|mut s| s.query_map([], |r| Ok((uuid(r.get(0)?)?, r.get(1)?)))?.collect())
                    .map_err(sql)
            })
            .await
    }

    pub(crate) async fn reseal_webhook_secrets(&self, secrets: Vec<(Uuid, Vec<u8>)>) -> StoreResult<()> {
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

    pub(crate) async fn webhook_subscriptions(
        &self,
        org: Uuid,
        membership: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<WebhookSubscription>> {
        self.engine
            .read(move |conn| {
                let (org, membership) = (org.to_string(), membership.to_string());
                let total: i64 = conn
                    .query_row(
                        "SELECT count(*) FROM webhook_subscriptions WHERE organization_id = ?1 AND membership_id = ?2",
                        params![org, membership],
                        |r| r.get(0),
                    )
                    .map_err(sql)?;
                let mut statement = conn
                    .prepare_cached(&format!(
                        "SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE organization_id = ?1 \
                         AND membership_id = ?2 ORDER BY created_at, id LIMIT ?3 OFFSET ?4"
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

    pub(crate) async fn webhook_subscription(&self, org: Uuid, id: Uuid) -> StoreResult<Option<WebhookSubscription>> {
        self.engine
            .read(move |conn| Ok(load_subscription(conn, &id.to_string())?.filter(|s| s.organization_id == org)))
            .await
    }

    pub(crate) async fn update_webhook_subscription(&self, s: WebhookSubscription) -> StoreResult<bool> {
        self.engine
            .write(move |conn| {
                let changed = conn
                    .execute(
                        "UPDATE webhook_subscriptions SET callback_url = ?1, types = ?2, description = ?3, updated_at = ?4 \
                         WHERE id = ?5 AND organization_id = ?6",
                        params![
                            s.callback_url,
                            types_column(&s.types),
                            s.description,
                            seconds(s.updated_at),
                            s.id.to_string(),
                            s.organization_id.to_string(),
                        ],
                    )
                    .map_err(sql)?;
                Ok(changed == 1)
            })
            .await
    }
}
