//! Cards: listing, reading, changing, issuing, their audit trail, sealed secrets and data views.

use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use cardinal_domain::DomainError;
use cardinal_store::{
    sql::{card_list_counted, CardCounting, Dialect, CARD_FROM, CARD_SELECT},
    AuditEvent, CardChange, CardQuery, CardSecrets, CardStore, CardWrite, DataViewAudit, DataViewToken, Holder,
    NewCard, OutboxEvent, Page, StoreError, StoreResult, StoredCard, RECENT_CARD_TRANSACTIONS,
};
use jiff::Timestamp;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, ToSql};
use uuid::Uuid;

use crate::card_events::{self, append_event, insert_event};
use crate::{
    cache::Cache,
    rows::{card_index_values, seconds, stored_card, timestamp, uuid, SqlResult, CARD_INDEX_COLUMNS},
    run_list,
    sca::spend_sca_session,
    sql,
    webhooks::write_outbox,
    SqliteStore,
};
pub(crate) fn load_card(conn: &Connection, org: Option<Uuid>, id: Uuid) -> StoreResult<Option<StoredCard>> {
    conn.prepare_cached(&LOAD_CARD)
        .and_then(|mut s| s.query_row(params![id.to_string(), org.map(|o| o.to_string())], stored_card).optional())
        .map_err(sql)
}

/// The card a write is about to change, as the writer's transaction sees it: the read
/// cache's copy when the cache holds the row's very version (no document to copy out and
/// parse), else read whole. Only the writer calls this, and it updates the cache itself after
/// each commit, before its next batch, so a cached version is the row's.
pub(crate) fn load_card_to_write(
    conn: &Connection,
    cache: &Cache,
    org: Uuid,
    id: Uuid,
) -> StoreResult<Option<StoredCard>> {
    let version: Option<i64> = conn
        .prepare_cached("SELECT version FROM cards WHERE id = ?1 AND organization_id = ?2")
        .and_then(|mut s| s.query_row(params![id.to_string(), org.to_string()], |r| r.get(0)).optional())
        .map_err(sql)?;
    let Some(version) = version else { return Ok(None) };
    match cache.card_at(id, version) {
        Some(hit) => Ok(Some(StoredCard::clone(&hit))),
        None => load_card(conn, Some(org), id),
    }
}

/// A card a list's page names, at the version the page read: the read cache's when it holds
/// that version (no document to parse: most of a page's cost), else read whole in the same
/// snapshot, and kept for the next read unless a commit came since `epoch`.
fn listed_card(conn: &Connection, cache: &Cache, epoch: u64, id: Uuid, version: i64) -> StoreResult<Arc<StoredCard>> {
    if let Some(hit) = cache.card_at(id, version) {
        return Ok(hit);
    }
    let card = load_card(conn, None, id)?.ok_or_else(|| StoreError::Backend(format!("listed card {id} not found")))?;
    let card = Arc::new(card);
    cache.fill_card(epoch, &card);
    Ok(card)
}

pub(crate) static LOAD_CARD: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {CARD_SELECT}, c.version {CARD_FROM} WHERE c.id = ?1 AND (?2 IS NULL OR c.organization_id = ?2)")
});

/// Saves the card's document and indexed copies and counts the save (`version`, migration
/// 0015): the row must still be at the version it was read at, and moves to the next. The
/// last two parameters, when not NULL, are what else the change makes newest on the card
/// ([`Newest`]), so that a change rewrites the card's row once. No `RETURNING`: SQLite gathers
/// what a statement returns in a temporary b-tree it opens each time, which cost more than the
/// rest of an event's insert (callgrind, issue 27).
pub(crate) static SAVE_CARD: LazyLock<String> = LazyLock::new(|| {
    let sets: Vec<String> = CARD_INDEX_COLUMNS.iter().enumerate().map(|(i, n)| format!("{n} = ?{}", i + 1)).collect();
    let (id, read_at, event, transaction) = (sets.len() + 1, sets.len() + 2, sets.len() + 3, sets.len() + 4);
    format!(
        "UPDATE cards SET {}, version = ?{read_at} + 1, last_event_seq = coalesce(?{event}, last_event_seq), \
         recent_transactions = CASE WHEN ?{transaction} IS NULL THEN recent_transactions ELSE {} END \
         WHERE id = ?{id} AND version = ?{read_at}",
        sets.join(", "),
        recent_transactions_with(&format!("?{transaction}")),
    )
});

/// The card's `recent_transactions` with the transaction id bound to `parameter` put first,
/// keeping the newest [`RECENT_CARD_TRANSACTIONS`]: an SQL expression, part of the statement
/// that saves the card ([`SAVE_CARD`]), so a payment rewrites its card's row once.
/// Every element is a quoted 36-character id, so the list is cut by length, without parsing
/// it: after `[`, 19 elements and their commas are 19 × 39 − 1 characters; a shorter list
/// brings its `]`, which `rtrim` takes off.
pub(crate) fn recent_transactions_with(parameter: &str) -> String {
    let kept = (RECENT_CARD_TRANSACTIONS - 1) * 39 - 1;
    format!(
        "'[\"' || {parameter} || '\"' || CASE WHEN recent_transactions = '[]' \
         THEN ']' ELSE ',' || rtrim(substr(recent_transactions, 2, {kept}), ']') || ']' END"
    )
}

/// What a card's save also records as the card's newest: its audit event's `seq` (migration
/// 0016) and a payment's transaction (`recent_transactions`, migration 0014).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Newest {
    pub event: Option<i64>,
    pub transaction: Option<Uuid>,
}

/// What a list's page reads of each card: enough to find it in the read cache.
const LISTED_CARD: &str = "c.id, c.version";

pub(crate) static INSERT_CARD: LazyLock<String> = LazyLock::new(|| {
    let names: Vec<&str> = NEW_CARD_COLUMNS.iter().chain(CARD_INDEX_COLUMNS).copied().collect();
    let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
    format!("INSERT INTO cards ({}) VALUES ({})", names.join(", "), placeholders.join(", "))
});

/// The columns a new card row has besides its indexed copies, in [`insert_card`]'s order.
pub(crate) const NEW_CARD_COLUMNS: &[&str] = &[
    "id",
    "organization_id",
    "holder_id",
    "bank_account_id",
    "created_at",
    "pan_ciphertext",
    "cvv_ciphertext",
    "pan_fingerprint",
];

pub(crate) fn insert_card(conn: &Connection, stored: &StoredCard, secrets: &CardSecrets) -> StoreResult<()> {
    let c = &stored.card;
    let mut values: Vec<Box<dyn ToSql>> = vec![
        Box::new(c.id.to_string()),
        Box::new(c.organization_id.to_string()),
        Box::new(c.holder_id.to_string()),
        Box::new(c.bank_account_id.to_string()),
        Box::new(seconds(c.created_at)),
        Box::new(secrets.pan_ciphertext.clone()),
        Box::new(secrets.cvv_ciphertext.clone()),
        Box::new(secrets.pan_fingerprint.to_vec()),
    ];
    values.extend(card_index_values(stored)?);
    conn.prepare_cached(&INSERT_CARD).and_then(|mut s| s.execute(params_from_iter(values.iter()))).map_err(sql)?;
    Ok(())
}

/// Saves `stored`, read in this same write transaction, and moves its `revision` to the
/// row's new version, recording what else the change made `newest` on the card. A row no
/// longer at the revision read is refused: only the writer saves cards, so that would be a
/// bug, and saving would lose the other change.
pub(crate) fn save_card(conn: &Connection, stored: &mut StoredCard, newest: Newest) -> StoreResult<()> {
    let mut values = card_index_values(stored)?;
    values.push(Box::new(stored.card.id.to_string()));
    values.push(Box::new(stored.revision));
    values.push(Box::new(newest.event));
    values.push(Box::new(newest.transaction.map(|t| t.to_string())));
    let saved = conn.prepare_cached(&SAVE_CARD).and_then(|mut s| s.execute(params_from_iter(values.iter())));
    if saved.map_err(sql)? == 0 {
        return Err(StoreError::Backend(format!("card {} is gone or changed since it was read", stored.card.id)));
    }
    stored.revision += 1;
    Ok(())
}

/// A card's sealed secrets from three columns starting at `first`.
pub(crate) fn secrets_at(r: &rusqlite::Row, first: usize) -> rusqlite::Result<CardSecrets> {
    let fingerprint: Vec<u8> = r.get(first + 2)?;
    Ok(CardSecrets {
        pan_ciphertext: r.get(first)?,
        cvv_ciphertext: r.get(first + 1)?,
        pan_fingerprint: fingerprint.try_into().unwrap_or([0; 32]),
    })
}

pub(crate) fn holder_of(conn: &Connection, org: Uuid, holder: Uuid) -> StoreResult<Option<Holder>> {
    conn.prepare_cached("SELECT first_name, last_name, team_id FROM memberships WHERE id = ?1 AND organization_id = ?2")
        .and_then(|mut s| {
            s.query_row([holder.to_string(), org.to_string()], |r| {
                let team: Option<String> = r.get(2)?;
                Ok(Holder { first_name: r.get(0)?, last_name: r.get(1)?, team_id: team.map(uuid).transpose()? })
            })
            .optional()
        })
        .map_err(sql)
}

#[async_trait]
impl CardStore for SqliteStore {
    async fn sealed_cards(&self, after: Option<Uuid>, limit: u32) -> StoreResult<Vec<(Uuid, CardSecrets)>> {
        let after = after.map(|id| id.to_string()).unwrap_or_default();
        self.engine
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "SELECT id, pan_ciphertext, cvv_ciphertext, pan_fingerprint FROM cards \
                         WHERE id > ?1 ORDER BY id LIMIT ?2",
                    )
                    .map_err(sql)?;
                let rows = statement
                    .query_map(params![after, limit], |r| {
                        let id: String = r.get(0)?;
                        Ok((id, secrets_at(r, 1)?))
                    })
                    .map_err(sql)?;
                rows.map(|row| {
                    let (id, secrets) = row.map_err(sql)?;
                    Ok((uuid(id).map_err(sql)?, secrets))
                })
                .collect()
            })
            .await
    }

    async fn reseal_cards(&self, cards: Vec<(Uuid, CardSecrets)>) -> StoreResult<()> {
        self.engine
            .write(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "UPDATE cards SET pan_ciphertext = ?1, cvv_ciphertext = ?2, pan_fingerprint = ?3 WHERE id = ?4",
                    )
                    .map_err(sql)?;
                for (id, s) in &cards {
                    statement
                        .execute(params![
                            s.pan_ciphertext,
                            s.cvv_ciphertext,
                            s.pan_fingerprint.to_vec(),
                            id.to_string()
                        ])
                        .map_err(sql)?;
                }
                Ok(())
            })
            .await
    }

    async fn list_cards(&self, query: &CardQuery) -> StoreResult<Page<Arc<StoredCard>>> {
        // Triggers keep `card_counts` (migration 0004), so totals cost the same at any size.
        let statements = card_list_counted(query, Dialect::Sqlite, CardCounting::Groups, LISTED_CARD);
        let cache = self.cache.clone();
        self.engine
            .read(move |conn| {
                // One snapshot for the count, the page and the cards read whole. (On the
                // writer's connection, an in-memory database's, the batch is that snapshot.)
                let _snapshot = conn.is_autocommit().then(|| conn.unchecked_transaction()).transpose().map_err(sql)?;
                let epoch = cache.epoch();
                let page = run_list(conn, statements, |row| Ok((uuid(row.get(0)?)?, row.get::<_, i64>(1)?)))?;
                let items = page
                    .items
                    .into_iter()
                    .map(|(id, version)| listed_card(conn, &cache, epoch, id, version))
                    .collect::<StoreResult<Vec<_>>>()?;
                Ok(Page { items, total: page.total })
            })
            .await
    }

    async fn card(&self, org: Uuid, id: Uuid) -> StoreResult<Option<Arc<StoredCard>>> {
        Ok(self.cached_card(id).await?.filter(|c| c.card.organization_id == org))
    }

    async fn card_by_id(&self, id: Uuid) -> StoreResult<Option<Arc<StoredCard>>> {
        self.cached_card(id).await
    }

    async fn update_card(&self, org: Uuid, id: Uuid, mut change: CardChange) -> StoreResult<StoredCard> {
        let (cache, read_cache) = (self.cache.clone(), self.cache.clone());
        let (stored, _) = self
            .engine
            .write_then(
                move |conn| {
                    // The writer thread is the only writer: the card cannot change under us.
                    let mut stored = load_card_to_write(conn, &read_cache, org, id)?.ok_or(DomainError::NotFound)?;
                    let write = change(&mut stored)?;
                    commit_card_write(conn, &mut stored, &write)?;
                    Ok((stored, write.event.is_some()))
                },
                move |(stored, written)| {
                    if *written {
                        cache.committed_cards([stored]);
                    }
                },
            )
            .await?;
        Ok(stored)
    }

    async fn insert_cards(
        &self,
        cards: Vec<NewCard>,
        events: Vec<AuditEvent>,
        outbox: Vec<OutboxEvent>,
    ) -> StoreResult<Vec<StoredCard>> {
        let cache = self.cache.clone();
        self.engine
            .write_then(
                move |conn| {
                    let mut stored = Vec::with_capacity(cards.len());
                    for new in &cards {
                        let holder =
                            holder_of(conn, new.card.organization_id, new.card.holder_id)?.ok_or_else(|| {
                                StoreError::Conflict("the holder is not a member of the organization".into())
                            })?;
                        let card = StoredCard::new(new.card.clone(), holder);
                        insert_card(conn, &card, &new.secrets)?;
                        stored.push(card);
                    }
                    for event in &events {
                        insert_event(conn, event)?;
                    }
                    write_outbox(conn, &outbox)?;
                    Ok(stored)
                },
                move |stored| cache.committed_cards(stored),
            )
            .await
    }

    async fn insert_data_view_token(&self, token: DataViewToken) -> StoreResult<()> {
        self.engine
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO data_view_tokens (token_hash, card_id, organization_id, membership_id, expires_at, used_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, NULL)",
                    params![
                        token.token_hash.to_vec(),
                        token.card_id.to_string(),
                        token.organization_id.to_string(),
                        token.membership_id.to_string(),
                        seconds(token.expires_at)
                    ],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn open_data_view(
        &self,
        token_hash: &[u8; 32],
        real_now: Timestamp,
        mut audit: DataViewAudit,
    ) -> StoreResult<Option<(StoredCard, CardSecrets)>> {
        let hash = token_hash.to_vec();
        self.engine
            .write(move |conn| {
                // Lifetimes run on the token's organization's clock.
                let grant: Option<(String, String, String, i64)> = conn
                    .query_row(
                        "UPDATE data_view_tokens SET used_at = ?1 + (SELECT clock_offset_seconds FROM organizations o \
                         WHERE o.id = data_view_tokens.organization_id) WHERE token_hash = ?2 AND used_at IS NULL \
                         AND expires_at > ?1 + (SELECT clock_offset_seconds FROM organizations o \
                         WHERE o.id = data_view_tokens.organization_id) \
                         RETURNING card_id, organization_id, membership_id, used_at",
                        params![seconds(real_now), hash],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                    )
                    .optional()
                    .map_err(sql)?;
                let Some((card_id, org_id, membership_id, used_at)) = grant else { return Ok(None) };
                let now = timestamp(used_at).map_err(sql)?;
                let (card_id, org_id, membership_id) =
                    (uuid(card_id).map_err(sql)?, uuid(org_id).map_err(sql)?, uuid(membership_id).map_err(sql)?);
                let Some(stored) = load_card(conn, Some(org_id), card_id)? else { return Ok(None) };
                let secrets = conn
                    .query_row(
                        "SELECT pan_ciphertext, cvv_ciphertext, pan_fingerprint FROM cards WHERE id = ?1",
                        [card_id.to_string()],
                        |r| secrets_at(r, 0),
                    )
                    .map_err(sql)?;
                insert_event(conn, &audit(&stored, membership_id, now))?;
                Ok(Some((stored, secrets)))
            })
            .await
    }

    async fn cards_due_to_expire(&self, org: Uuid, now: Timestamp, limit: u32) -> StoreResult<Vec<Uuid>> {
        self.engine
            .read(move |conn| {
                conn.prepare_cached(
                    "SELECT id FROM cards WHERE organization_id = ?1 AND NOT terminal AND pre_expires_at IS NULL \
                     AND expires_at <= ?2 ORDER BY expires_at, id LIMIT ?3",
                )
                .and_then(|mut s| {
                    s.query_map(params![org.to_string(), now.as_second(), limit], |r| uuid(r.get(0)?))?
                        .collect::<SqlResult<Vec<_>>>()
                })
                .map_err(sql)
            })
            .await
    }

    async fn card_events(&self, org: Uuid, card: Uuid, newest: Option<u32>) -> StoreResult<Vec<AuditEvent>> {
        self.engine.read(move |conn| card_events::history(conn, org, card, newest)).await
    }
}

/// Writes what a decided card change commits, inside the caller's write: the card and its
/// audit event when it changed, and the SCA session it spends. The one place a card change
/// reaches the tables, so what every change must also write is added here.
fn commit_card_write(conn: &Connection, stored: &mut StoredCard, write: &CardWrite) -> StoreResult<()> {
    if let Some(event) = &write.event {
        let newest_event = append_event(conn, event)?;
        save_card(conn, stored, Newest { event: Some(newest_event), transaction: None })?;
    }
    write_outbox(conn, &write.events)?;
    if let Some(redemption) = write.redeems_sca {
        if !spend_sca_session(conn, &redemption.token_hash, redemption.now)? {
            return Err(StoreError::ScaSessionUsed);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cardinal_store::{conformance::fixture, Actor, ActorKind, OrganizationStore};

    /// A list takes a card from the read cache only at the version the card's row has: a
    /// cached card of any other version is read again from the row.
    #[tokio::test]
    async fn a_list_takes_a_cached_card_only_at_its_row_version() {
        let store = SqliteStore::open("sqlite::memory:").unwrap();
        let seed = fixture("versions");
        store.create_organization(seed.clone()).await.unwrap();
        let query = CardQuery::all(seed.organization.id, Timestamp::now());
        let first = store.list_cards(&query).await.unwrap();
        let again = store.list_cards(&query).await.unwrap();
        assert!(!first.items.is_empty());
        for (a, b) in first.items.iter().zip(&again.items) {
            assert!(Arc::ptr_eq(a, b), "the second list takes the cards the first one cached");
        }

        let mut other = (*first.items[0]).clone();
        other.card.nickname = "not what the row holds".into();
        other.revision += 1;
        store.cache.committed_cards([&other]);
        let listed = store.list_cards(&query).await.unwrap();
        let card = listed.items.iter().find(|c| c.card.id == other.card.id).unwrap();
        assert_eq!(**card, *first.items[0], "read from the row again");
    }

    /// A write changes the card as its row holds it: a cached copy at another version is not
    /// taken; a change moves the row and the cache to the next version together, and the next
    /// write then takes the cached copy.
    #[tokio::test]
    async fn a_write_takes_a_cached_card_only_at_its_row_version() {
        let store = SqliteStore::open("sqlite::memory:").unwrap();
        let seed = fixture("write-versions");
        store.create_organization(seed.clone()).await.unwrap();
        let org = seed.organization.id;
        let listed = store.list_cards(&CardQuery::all(org, Timestamp::now())).await.unwrap();
        let row = (*listed.items[0]).clone();
        let mut planted = row.clone();
        planted.card.nickname = "not what the row holds".into();
        planted.revision += 1;
        store.cache.committed_cards([&planted]);

        // Renames the card (with an audit event) and answers the nickname it found.
        let rename = |to: &'static str| {
            let seen = Arc::new(std::sync::Mutex::new(String::new()));
            let seen_in_change = seen.clone();
            let change: CardChange = Box::new(move |stored| {
                *seen_in_change.lock().unwrap() = std::mem::replace(&mut stored.card.nickname, to.into());
                Ok(CardWrite::of(AuditEvent {
                    id: Uuid::new_v4(),
                    card_id: stored.card.id,
                    action: "rename".into(),
                    actor: Actor { kind: ActorKind::System, id: None },
                    from_status: None,
                    to_status: stored.card.status_ignoring_expiry(),
                    changes: serde_json::json!({}),
                    request_id: "test".into(),
                    at: Timestamp::now(),
                }))
            });
            (seen, change)
        };
        let (seen, change) = rename("first");
        let saved = store.update_card(org, row.card.id, change).await.unwrap();
        assert_eq!(*seen.lock().unwrap(), row.card.nickname, "the row's card, not the planted copy");
        assert_eq!(saved.revision, row.revision + 1);

        let mut marked = saved.clone();
        marked.card.nickname = "cached at the row's version".into();
        store.cache.committed_cards([&marked]);
        let (seen, change) = rename("second");
        let saved_again = store.update_card(org, row.card.id, change).await.unwrap();
        assert_eq!(*seen.lock().unwrap(), "cached at the row's version", "the cached copy, at the row's version");
        assert_eq!(saved_again.revision, row.revision + 2);
        let events = store.card_events(org, row.card.id, Some(2)).await.unwrap();
        assert_eq!(events.len(), 2, "both changes in the chain");
    }
}
