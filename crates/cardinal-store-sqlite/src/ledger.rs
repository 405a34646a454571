//! The webhook ledger: the deliveries made from the outbox, their attempts and leases.
//!
//! It is a SQLite database of its own beside the main one (migrations/webhooks/), with its own
//! writer: the worker's writes — deliveries made, attempts recorded — never queue with the
//! card changes on the main writer. A change pays for its event row (webhooks.rs); the ledger
//! reads the outbox behind a cursor and does the rest. Ledger rows name subscriptions and
//! events of the main database; with no foreign keys across databases, they are deleted
//! first when their subscription or organization is (under the expansion's lock, so none is
//! made for it meanwhile), and a claim that finds one whose subscription is gone deletes it.

use crate::*;
use std::collections::HashMap;

/// Most outbox events one expansion write turns into deliveries; a backlog takes several
/// writes, so none holds the ledger's writer long.
const EXPANSION_BATCH: usize = 2_000;

/// A delivery as the ledger holds it; its event is the main database's.
struct Entry {
    id: Uuid,
    event_seq: i64,
    subscription_id: Uuid,
    status: DeliveryStatus,
    attempts: u32,
    next_attempt_at: Option<Timestamp>,
}

const ENTRY_COLUMNS: &str = "id, event_seq, subscription_id, status, attempts, next_attempt_ms";

fn entry(r: &rusqlite::Row) -> SqlResult<Entry> {
    let status: String = r.get(3)?;
    let next: Option<i64> = r.get(5)?;
    Ok(Entry {
        id: uuid(r.get(0)?)?,
        event_seq: r.get(1)?,
        subscription_id: uuid(r.get(2)?)?,
        status: DeliveryStatus::parse(&status).unwrap_or(DeliveryStatus::Failed),
        attempts: r.get(4)?,
        next_attempt_at: next.and_then(|ms| Timestamp::from_millisecond(ms).ok()),
    })
}

impl Entry {
    fn with_event(self, event: OutboxEvent) -> WebhookDelivery {
        WebhookDelivery {
            id: self.id,
            event,
            subscription_id: self.subscription_id,
            status: self.status,
            attempts: self.attempts,
            next_attempt_at: self.next_attempt_at,
        }
    }
}

/// An outbox event not yet made into deliveries, with those of its subscribers that still exist.
struct Unexpanded {
    seq: i64,
    organization_id: String,
    ordering_key: String,
    subscribers: Vec<String>,
}

fn cursor(ledger: &Connection) -> StoreResult<i64> {
    ledger
        .prepare_cached("SELECT cursor FROM webhook_expansion WHERE id = 1")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(sql)
}

/// The outbox's newest event (0 when it is empty).
fn outbox_end(main: &Connection) -> StoreResult<i64> {
    main.prepare_cached("SELECT coalesce(max(seq), 0) FROM webhook_events")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(sql)
}

/// Up to `limit` outbox events after `cursor`, in order, each with its subscribers that exist.
fn outbox_after(main: &Connection, cursor: i64, limit: usize) -> StoreResult<Vec<Unexpanded>> {
    let mut events = main
        .prepare_cached(
            "SELECT seq, organization_id, ordering_key, subscribers FROM webhook_events \
             WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )
        .and_then(|mut s| {
            s.query_map(params![cursor, limit as i64], |r| {
                let subscribers: String = r.get(3)?;
                Ok(Unexpanded {
                    seq: r.get(0)?,
                    organization_id: r.get(1)?,
                    ordering_key: r.get(2)?,
                    subscribers: subscribers.split(',').map(str::to_owned).collect(),
                })
            })?
            .collect::<SqlResult<Vec<_>>>()
        })
        .map_err(sql)?;
    let mut exists: HashMap<String, bool> = HashMap::new();
    let mut lookup = main.prepare_cached("SELECT 1 FROM webhook_subscriptions WHERE id = ?1").map_err(sql)?;
    for event in &mut events {
        for id in &event.subscribers {
            if !exists.contains_key(id) {
                exists.insert(id.clone(), lookup.exists([id]).map_err(sql)?);
            }
        }
        event.subscribers.retain(|id| exists[id]);
    }
    Ok(events)
}

/// Makes the deliveries of `events` (read after `from`, up to `to`) and moves the cursor to
/// `to` — unless it moved meanwhile, which fails the write, so no delivery is made twice.
fn make_deliveries(ledger: &Connection, from: i64, to: i64, events: &[Unexpanded]) -> StoreResult<()> {
    let moved = ledger
        .prepare_cached("UPDATE webhook_expansion SET cursor = ?1 WHERE id = 1 AND cursor = ?2")
        .and_then(|mut s| s.execute(params![to, from]))
        .map_err(sql)?;
    if moved != 1 {
        return Err(StoreError::Conflict("the outbox was read meanwhile".into()));
    }
    let mut insert = ledger
        .prepare_cached(
            "INSERT INTO webhook_deliveries (id, event_seq, subscription_id, organization_id, ordering_key, status, \
             attempts, next_attempt_ms) VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, 0)",
        )
        .map_err(sql)?;
    for event in events {
        for subscription in &event.subscribers {
            let id = cardinal_store::ids::time_ordered().to_string();
            insert
                .execute(params![id, event.seq, subscription, event.organization_id, event.ordering_key])
                .map_err(sql)?;
        }
    }
    Ok(())
}

fn event_by_seq(main: &Connection, seq: i64) -> StoreResult<Option<OutboxEvent>> {
    main.prepare_cached(
        "SELECT id, organization_id, topic, ordering_key, data, created_at FROM webhook_events WHERE seq = ?1",
    )
    .and_then(|mut s| {
        s.query_row([seq], |r| {
            Ok(OutboxEvent {
                id: uuid(r.get(0)?)?,
                organization_id: uuid(r.get(1)?)?,
                topic: r.get(2)?,
                ordering_key: uuid(r.get(3)?)?,
                data: r.get(4)?,
                created_at: timestamp(r.get(5)?)?,
            })
        })
        .optional()
    })
    .map_err(sql)
}

/// The deliveries of `entries` with their events (an entry whose event went with its
/// organization is left out).
fn with_events(main: &Connection, entries: Vec<Entry>) -> StoreResult<Vec<WebhookDelivery>> {
    let mut deliveries = Vec::with_capacity(entries.len());
    for entry in entries {
        if let Some(event) = event_by_seq(main, entry.event_seq)? {
            deliveries.push(entry.with_event(event));
        }
    }
    Ok(deliveries)
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

/// Records one attempt and what it leaves its delivery as; nothing if the delivery went with
/// its subscription meanwhile.
fn record_attempt(ledger: &Connection, a: &DeliveryAttempt, outcome: AttemptOutcome) -> StoreResult<()> {
    let (status, next) = outcome.columns();
    let updated = ledger
        .prepare_cached(
            "UPDATE webhook_deliveries SET status = ?1, attempts = attempts + 1, next_attempt_ms = ?2 WHERE id = ?3",
        )
        .and_then(|mut s| s.execute(params![status, next, a.delivery_id.to_string()]))
        .map_err(sql)?;
    if updated == 0 {
        return Ok(());
    }
    ledger
        .prepare_cached(
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

fn delete_entries(ledger: &Connection, ids: &[String]) -> StoreResult<()> {
    for id in ids {
        ledger.execute("DELETE FROM webhook_deliveries WHERE id = ?1", [id]).map_err(sql)?;
    }
    Ok(())
}

/// Starts a ledger created beside a main database that already existed — its file was lost or
/// removed — at the outbox's end, before anything else writes: events already in the outbox
/// are not delivered, since sending a database's whole history again would flood every
/// receiver. The log says how many.
pub(crate) fn start_at_outbox_end(main: &std::path::Path, ledger: &std::path::Path) -> StoreResult<()> {
    let end = outbox_end(&Connection::open(main).map_err(sql)?)?;
    if end > 0 {
        let ledger = Connection::open(ledger).map_err(sql)?;
        ledger.busy_timeout(std::time::Duration::from_secs(5)).map_err(sql)?;
        ledger.execute("UPDATE webhook_expansion SET cursor = ?1 WHERE id = 1", [end]).map_err(sql)?;
        tracing::warn!(
            events = end,
            "the webhook ledger was created beside an existing database: events written before now are not delivered"
        );
    }
    Ok(())
}

impl SqliteStore {
    /// Makes the deliveries of every outbox event written so far: before a claim, and before
    /// the control API shows deliveries, so that what it shows is what will be attempted.
    /// One expansion at a time (the cursor's compare-and-set would refuse a second anyway).
    pub(crate) async fn expand_outbox(&self) -> StoreResult<()> {
        let _only = self.expanding.lock().await;
        loop {
            let from = self.ledger.read(cursor).await?;
            let events = self.engine.read(move |main| outbox_after(main, from, EXPANSION_BATCH)).await?;
            let Some(to) = events.last().map(|e| e.seq) else { return Ok(()) };
            let expanded = events.len();
            self.ledger.write(move |ledger| make_deliveries(ledger, from, to, &events)).await?;
            if expanded < EXPANSION_BATCH {
                return Ok(());
            }
        }
    }

    /// Deletes the ledger rows `ledger_rows` selects by `key` (a subscription's, an
    /// organization's), then runs `delete` on the main database, with no expansion in between:
    /// none can make a delivery for what is deleted once its rows went. Should the process die
    /// between the two, what was to be deleted is still there, and deleting it again finishes.
    pub(crate) async fn delete_with_ledger<T: Send + 'static>(
        &self,
        ledger_rows: &'static str,
        key: Uuid,
        delete: impl std::future::Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        let _only = self.expanding.lock().await;
        self.ledger.write(move |ledger| ledger.execute(ledger_rows, [key.to_string()]).map_err(sql)).await?;
        delete.await
    }

    pub(crate) async fn delete_webhook_subscription(&self, org: Uuid, id: Uuid) -> StoreResult<bool> {
        if self.webhook_subscription(org, id).await?.is_none() {
            return Ok(false);
        }
        let delete = self.engine.write(move |conn| {
            let deleted = conn
                .execute(
                    "DELETE FROM webhook_subscriptions WHERE id = ?1 AND organization_id = ?2",
                    params![id.to_string(), org.to_string()],
                )
                .map_err(sql)?;
            Ok(deleted == 1)
        });
        self.delete_with_ledger("DELETE FROM webhook_deliveries WHERE subscription_id = ?1", id, delete).await
    }

    pub(crate) async fn claim_webhook_deliveries(
        &self,
        owner: Uuid,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        self.expand_outbox().await?;
        // The heads of the queues (no earlier pending delivery of the same card and
        // subscription), as many more as are leased now, so that enough are free.
        let leased = self.leases.held(now) as u32;
        let candidates = self
            .ledger
            .read(move |ledger| {
                ledger
                    .prepare_cached(&format!(
                        "SELECT {ENTRY_COLUMNS} FROM webhook_deliveries d WHERE d.status = 'pending' \
                         AND d.next_attempt_ms <= ?1 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e \
                         WHERE e.subscription_id = d.subscription_id AND e.ordering_key = d.ordering_key \
                         AND e.status = 'pending' AND e.seq < d.seq) ORDER BY d.next_attempt_ms, d.seq LIMIT ?2"
                    ))
                    .and_then(|mut s| {
                        s.query_map(params![now.as_millisecond(), limit.saturating_add(leased)], entry)?
                            .collect::<SqlResult<Vec<_>>>()
                    })
                    .map_err(sql)
            })
            .await?;
        let ids = candidates.iter().map(|c| c.id.to_string()).collect();
        let taken: std::collections::HashSet<String> =
            self.leases.take(owner, now, lease_until, ids, limit as usize).into_iter().collect();
        let taken: Vec<Entry> = candidates.into_iter().filter(|c| taken.contains(&c.id.to_string())).collect();
        if taken.is_empty() {
            return Ok(Vec::new());
        }
        let (claimed, orphans) = self.engine.read(move |main| claimed_with_subscriptions(main, taken)).await?;
        if !orphans.is_empty() {
            let gone = orphans.clone();
            self.ledger.write(move |ledger| delete_entries(ledger, &gone)).await?;
            for id in &orphans {
                self.leases.release(owner, id);
            }
        }
        Ok(claimed)
    }

    pub(crate) async fn record_webhook_attempts(
        &self,
        owner: Uuid,
        attempts: Vec<(DeliveryAttempt, AttemptOutcome)>,
    ) -> StoreResult<Vec<bool>> {
        // An attempt whose lease another owner took over is not recorded. The leases are given
        // up once the write is done, so no claim meanwhile takes a delivery still pending in
        // the ledger; if the write fails they run out and the attempts are made again.
        let ids: Vec<String> = attempts.iter().map(|(a, _)| a.delivery_id.to_string()).collect();
        let held: Vec<bool> = ids.iter().map(|id| self.leases.holds(owner, id)).collect();
        let recorded = held.clone();
        self.ledger
            .write(move |ledger| {
                for ((attempt, outcome), held) in attempts.iter().zip(&held) {
                    if *held {
                        record_attempt(ledger, attempt, *outcome)?;
                    }
                }
                Ok(())
            })
            .await?;
        for (id, _) in ids.iter().zip(&recorded).filter(|(_, held)| **held) {
            self.leases.release(owner, id);
        }
        Ok(recorded)
    }

    pub(crate) async fn webhook_deliveries(&self, q: &DeliveryQuery) -> StoreResult<Page<WebhookDelivery>> {
        self.expand_outbox().await?;
        let q = q.clone();
        let (entries, total) = self
            .ledger
            .read(move |ledger| {
                let filter = "organization_id = ?1 AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR subscription_id = ?3)";
                let args = (q.organization_id.to_string(), q.status.map(|s| s.as_str()), q.subscription_id.map(|s| s.to_string()));
                let total: i64 = ledger
                    .query_row(
                        &format!("SELECT count(*) FROM webhook_deliveries WHERE {filter}"),
                        params![args.0, args.1, args.2],
                        |r| r.get(0),
                    )
                    .map_err(sql)?;
                let entries = ledger
                    .prepare_cached(&format!(
                        "SELECT {ENTRY_COLUMNS} FROM webhook_deliveries WHERE {filter} ORDER BY seq DESC LIMIT ?4 OFFSET ?5"
                    ))
                    .and_then(|mut s| {
                        s.query_map(params![args.0, args.1, args.2, q.page.per_page, q.page.offset()], entry)?
                            .collect::<SqlResult<Vec<_>>>()
                    })
                    .map_err(sql)?;
                Ok((entries, total))
            })
            .await?;
        let items = self.engine.read(move |main| with_events(main, entries)).await?;
        Ok(page_of(items, total))
    }

    pub(crate) async fn webhook_delivery(
        &self,
        id: Uuid,
    ) -> StoreResult<Option<(WebhookDelivery, Vec<DeliveryAttempt>)>> {
        self.expand_outbox().await?;
        let found = self
            .ledger
            .read(move |ledger| {
                let Some(entry) = ledger
                    .prepare_cached(&format!("SELECT {ENTRY_COLUMNS} FROM webhook_deliveries WHERE id = ?1"))
                    .and_then(|mut s| s.query_row([id.to_string()], entry).optional())
                    .map_err(sql)?
                else {
                    return Ok(None);
                };
                let attempts = ledger
                    .prepare_cached(
                        "SELECT delivery_id, number, at_ms, latency_ms, status_code, error, answer, request_headers \
                         FROM webhook_attempts WHERE delivery_id = ?1 ORDER BY number",
                    )
                    .and_then(|mut s| s.query_map([id.to_string()], attempt)?.collect::<SqlResult<Vec<_>>>())
                    .map_err(sql)?;
                Ok(Some((entry, attempts)))
            })
            .await?;
        let Some((entry, attempts)) = found else { return Ok(None) };
        let delivery = self.engine.read(move |main| with_events(main, vec![entry])).await?.pop();
        Ok(delivery.map(|delivery| (delivery, attempts)))
    }

    pub(crate) async fn retry_webhook_delivery(&self, id: Uuid, now: Timestamp) -> StoreResult<bool> {
        let changed = self
            .ledger
            .write(move |ledger| {
                let changed = ledger
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

/// The claimed entries with their events and subscriptions, and the ids of those whose
/// subscription is gone (to delete). A claim's deliveries mostly share a subscription: each
/// is read once.
fn claimed_with_subscriptions(
    main: &Connection,
    taken: Vec<Entry>,
) -> StoreResult<(Vec<ClaimedDelivery>, Vec<String>)> {
    let mut subscriptions: HashMap<Uuid, Option<WebhookSubscription>> = HashMap::new();
    let (mut claimed, mut orphans) = (Vec::with_capacity(taken.len()), Vec::new());
    for entry in taken {
        let subscription = match subscriptions.get(&entry.subscription_id) {
            Some(known) => known.clone(),
            None => {
                let loaded = webhooks::load_subscription(main, &entry.subscription_id.to_string())?;
                subscriptions.insert(entry.subscription_id, loaded.clone());
                loaded
            }
        };
        let event = event_by_seq(main, entry.event_seq)?;
        match (subscription, event) {
            (Some(subscription), Some(event)) => {
                claimed.push(ClaimedDelivery { delivery: entry.with_event(event), subscription })
            }
            _ => orphans.push(entry.id.to_string()),
        }
    }
    Ok((claimed, orphans))
}

/// This process's delivery leases: delivery id → (owner, until, in real milliseconds).
#[derive(Default)]
pub(crate) struct Leases(std::sync::Mutex<std::collections::HashMap<String, (Uuid, i64)>>);

impl Leases {
    fn map(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, (Uuid, i64)>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many leases run at `now` (expired ones are dropped).
    fn held(&self, now: Timestamp) -> usize {
        let mut map = self.map();
        map.retain(|_, (_, until)| *until > now.as_millisecond());
        map.len()
    }

    /// Leases up to `limit` of the candidates that nobody holds at `now` to `owner`.
    fn take(
        &self,
        owner: Uuid,
        now: Timestamp,
        until: Timestamp,
        candidates: Vec<String>,
        limit: usize,
    ) -> Vec<String> {
        let mut map = self.map();
        let mut taken = Vec::new();
        for id in candidates {
            if taken.len() == limit {
                break;
            }
            let free = map.get(&id).is_none_or(|(_, lease_until)| *lease_until <= now.as_millisecond());
            if free {
                map.insert(id.clone(), (owner, until.as_millisecond()));
                taken.push(id);
            }
        }
        taken
    }

    /// Whether `owner` holds the lease of a delivery (it may have run out: nobody took it over).
    fn holds(&self, owner: Uuid, id: &str) -> bool {
        self.map().get(id).is_some_and(|(holder, _)| *holder == owner)
    }

    /// Gives up `owner`'s lease of a delivery, if it holds it.
    fn release(&self, owner: Uuid, id: &str) {
        let mut map = self.map();
        if map.get(id).is_some_and(|(holder, _)| *holder == owner) {
            map.remove(id);
        }
    }

    /// Drops any lease of a delivery (a retry makes it due now, for whoever claims it).
    fn forget(&self, id: &str) {
        self.map().remove(id);
    }
}
