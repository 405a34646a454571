//! Cards: listing, reading, changing, issuing, their audit trail, sealed secrets and data views.

use crate::db::Db;
use async_trait::async_trait;
use cardinal_domain::DomainError;
use cardinal_store::{
    sql::{card_list, CardIndex, Dialect, CARD_FROM, CARD_SELECT},
    AuditEvent, CardChange, CardQuery, CardSecrets, CardStore, CardWrite, DataViewAudit, DataViewToken, Holder,
    NewCard, OutboxEvent, Page, StoreError, StoreResult, StoredCard,
};
use jiff::Timestamp;
use std::sync::Arc;
use uuid::Uuid;

use crate::{
    optional, pg,
    rows::{audit_event, get, stored_card, timestamp, uuid},
    run_list,
    sca::spend_sca_session,
    webhooks::{subscriptions_for, write_outbox, write_outbox_for},
    Fail, PostgresStore,
};
pub(crate) async fn load_card(
    client: &Db<'_>,
    org: Option<Uuid>,
    id: Uuid,
    lock: bool,
) -> Result<Option<StoredCard>, Fail> {
    let q = match lock {
        true => fixed_sql!(
            "SELECT {CARD_SELECT} {CARD_FROM} WHERE c.id = $1 AND ($2::TEXT IS NULL OR c.organization_id = $2) \
             FOR UPDATE OF c"
        ),
        false => fixed_sql!(
            "SELECT {CARD_SELECT} {CARD_FROM} WHERE c.id = $1 AND ($2::TEXT IS NULL OR c.organization_id = $2)"
        ),
    };
    optional(client, q, &[&id.to_string(), &org.map(|o| o.to_string())], stored_card).await
}

pub(crate) async fn insert_card(client: &Db<'_>, new: &NewCard, holder: &Holder) -> Result<(), Fail> {
    let stored = StoredCard::new(new.card.clone(), holder.clone());
    let c = &new.card;
    let index = CardIndex::of(&stored)?;
    client
        .execute(
            "INSERT INTO cards (id, organization_id, holder_id, bank_account_id, created_at, pan_ciphertext, \
             cvv_ciphertext, pan_fingerprint, card_level, base_status, terminal, expires_at, pre_expires_at, nickname, \
             last_activity_at, search_text, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
             $15, $16, $17)",
            &[
                &c.id.to_string(),
                &c.organization_id.to_string(),
                &c.holder_id.to_string(),
                &c.bank_account_id.to_string(),
                &c.created_at.as_second(),
                &new.secrets.pan_ciphertext,
                &new.secrets.cvv_ciphertext,
                &new.secrets.pan_fingerprint.to_vec(),
                &index.level,
                &index.base_status,
                &index.terminal,
                &index.expires_at,
                &index.pre_expires_at,
                &index.nickname,
                &index.last_activity_at,
                &index.search_text,
                &index.data,
            ],
        )
        .await
        .map_err(pg)?;
    Ok(())
}

pub(crate) async fn save_card(client: &Db<'_>, stored: &StoredCard) -> Result<(), Fail> {
    let index = CardIndex::of(stored)?;
    client
        .execute(
            "UPDATE cards SET card_level = $1, base_status = $2, terminal = $3, expires_at = $4, pre_expires_at = $5, \
             nickname = $6, last_activity_at = $7, search_text = $8, data = $9 WHERE id = $10",
            &[
                &index.level,
                &index.base_status,
                &index.terminal,
                &index.expires_at,
                &index.pre_expires_at,
                &index.nickname,
                &index.last_activity_at,
                &index.search_text,
                &index.data,
                &stored.card.id.to_string(),
            ],
        )
        .await
        .map_err(pg)?;
    Ok(())
}

/// Writes what a decided card change commits, inside the caller's transaction: the card and
/// its audit event when it changed, and the SCA session it spends. The one place a card
/// change reaches the tables, so what every change must also write is added here.
pub(crate) async fn commit_card_write(client: &Db<'_>, stored: &StoredCard, write: &CardWrite) -> Result<(), Fail> {
    // The card, its event and the webhook subscriptions are independent: sent together, they
    // cost one round trip instead of three (the transaction holds the card's row meanwhile).
    let saved = async {
        if let Some(event) = &write.event {
            tokio::try_join!(save_card(client, stored), insert_event(client, event))?;
        }
        Ok(())
    };
    let ((), subscriptions) = tokio::try_join!(saved, subscriptions_for(client, &write.events))?;
    write_outbox_for(client, &write.events, &subscriptions).await?;
    if let Some(redemption) = write.redeems_sca {
        if !spend_sca_session(client, &redemption.token_hash, redemption.now).await? {
            return Err(Fail::Store(StoreError::ScaSessionUsed));
        }
    }
    Ok(())
}

/// Appends an event; callers hold the card's row lock, so `seq` is the card's next number.
pub(crate) async fn insert_event(client: &Db<'_>, e: &AuditEvent) -> Result<(), Fail> {
    client
        .execute(
            "INSERT INTO card_events (id, card_id, seq, action, actor_type, actor_id, from_status, to_status, changes, \
             request_id, at) VALUES ($1, $2, (SELECT coalesce(max(seq), 0) + 1 FROM card_events WHERE card_id = $2), \
             $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &e.id.to_string(),
                &e.card_id.to_string(),
                &e.action,
                &e.actor.kind.as_str(),
                &e.actor.id.map(|i| i.to_string()),
                &e.from_status.map(|s| s.as_str()),
                &e.to_status.as_str(),
                &e.changes.to_string(),
                &e.request_id,
                &e.at.as_second(),
            ],
        )
        .await
        .map_err(pg)?;
    Ok(())
}

/// A card's sealed secrets from three columns starting at `first`.
pub(crate) fn secrets_at(r: &tokio_postgres::Row, first: usize) -> CardSecrets {
    let fingerprint: Vec<u8> = r.get(first + 2);
    CardSecrets {
        pan_ciphertext: r.get(first),
        cvv_ciphertext: r.get(first + 1),
        pan_fingerprint: fingerprint.try_into().unwrap_or([0; 32]),
    }
}

pub(crate) async fn holder_of(client: &Db<'_>, org: Uuid, holder: Uuid) -> Result<Option<Holder>, Fail> {
    optional(
        client,
        "SELECT first_name, last_name, team_id FROM memberships WHERE id = $1 AND organization_id = $2",
        &[&holder.to_string(), &org.to_string()],
        |r| {
            let team: Option<String> = r.get(2);
            Ok(Holder { first_name: r.get(0), last_name: r.get(1), team_id: team.as_deref().map(uuid).transpose()? })
        },
    )
    .await
}

#[async_trait]
impl CardStore for PostgresStore {
    async fn sealed_cards(&self, after: Option<Uuid>, limit: u32) -> StoreResult<Vec<(Uuid, CardSecrets)>> {
        let after = after.map(|id| id.to_string()).unwrap_or_default();
        let limit = i64::from(limit);
        read!(self, |c| {
            let rows = c
                .query(
                    "SELECT id, pan_ciphertext, cvv_ciphertext, pan_fingerprint FROM cards \
                     WHERE id > $1 ORDER BY id LIMIT $2",
                    &[&after, &limit],
                )
                .await
                .map_err(pg)?;
            rows.iter()
                .map(|r| {
                    let id: String = r.get(0);
                    let id = Uuid::parse_str(&id).map_err(|e| StoreError::Backend(e.to_string()))?;
                    Ok((id, secrets_at(r, 1)))
                })
                .collect::<StoreResult<Vec<_>>>()?
        })
    }

    async fn reseal_cards(&self, cards: Vec<(Uuid, CardSecrets)>) -> StoreResult<()> {
        transaction!(self, |tx| {
            for (id, s) in &cards {
                tx.execute(
                    "UPDATE cards SET pan_ciphertext = $1, cvv_ciphertext = $2, pan_fingerprint = $3 WHERE id = $4",
                    &[&s.pan_ciphertext, &s.cvv_ciphertext, &s.pan_fingerprint.to_vec(), &id.to_string()],
                )
                .await
                .map_err(pg)?;
            }
        })
    }

    async fn list_cards(&self, query: &CardQuery) -> StoreResult<Page<Arc<StoredCard>>> {
        stale_read!(self, |c| {
            let page = run_list(c, card_list(query, Dialect::Postgres), stored_card).await?;
            Page { items: page.items.into_iter().map(Arc::new).collect(), total: page.total }
        })
    }

    async fn card(&self, org: Uuid, id: Uuid) -> StoreResult<Option<Arc<StoredCard>>> {
        stale_read!(self, |c| { load_card(c, Some(org), id, false).await?.map(Arc::new) })
    }

    async fn card_by_id(&self, id: Uuid) -> StoreResult<Option<Arc<StoredCard>>> {
        read!(self, |c| { load_card(c, None, id, false).await?.map(Arc::new) })
    }

    async fn update_card(&self, org: Uuid, id: Uuid, mut change: CardChange) -> StoreResult<StoredCard> {
        transaction!(self, |tx| {
            let mut stored = load_card(tx, Some(org), id, true).await?.ok_or(DomainError::NotFound)?;
            let write = change(&mut stored)?;
            commit_card_write(tx, &stored, &write).await?;
            stored
        })
    }

    async fn insert_cards(
        &self,
        cards: Vec<NewCard>,
        events: Vec<AuditEvent>,
        outbox: Vec<OutboxEvent>,
    ) -> StoreResult<Vec<StoredCard>> {
        transaction!(self, |tx| {
            let mut stored = Vec::with_capacity(cards.len());
            for new in &cards {
                let holder = holder_of(tx, new.card.organization_id, new.card.holder_id)
                    .await?
                    .ok_or_else(|| StoreError::Conflict("the holder is not a member of the organization".into()))?;
                insert_card(tx, new, &holder).await?;
                stored.push(StoredCard::new(new.card.clone(), holder));
            }
            for event in &events {
                insert_event(tx, event).await?;
            }
            write_outbox(tx, &outbox).await?;
            stored
        })
    }

    async fn insert_data_view_token(&self, t: DataViewToken) -> StoreResult<()> {
        transaction!(self, |tx| {
            tx.execute(
                "INSERT INTO data_view_tokens (token_hash, card_id, organization_id, membership_id, expires_at, used_at) \
                 VALUES ($1, $2, $3, $4, $5, NULL)",
                &[
                    &t.token_hash.to_vec(),
                    &t.card_id.to_string(),
                    &t.organization_id.to_string(),
                    &t.membership_id.to_string(),
                    &t.expires_at.as_second(),
                ],
            )
            .await
            .map_err(pg)?;
        })
    }

    async fn open_data_view(
        &self,
        token_hash: &[u8; 32],
        real_now: Timestamp,
        mut audit: DataViewAudit,
    ) -> StoreResult<Option<(StoredCard, CardSecrets)>> {
        let hash = token_hash.to_vec();
        transaction!(self, |tx| {
            // Lifetimes run on the token's organization's clock.
            let grant = tx
                .query_opt(
                    "UPDATE data_view_tokens d SET used_at = $1 + o.clock_offset_seconds FROM organizations o \
                     WHERE o.id = d.organization_id AND d.token_hash = $2 AND d.used_at IS NULL \
                     AND d.expires_at > $1 + o.clock_offset_seconds \
                     RETURNING d.card_id, d.organization_id, d.membership_id, d.used_at",
                    &[&real_now.as_second(), &hash],
                )
                .await
                .map_err(pg)?;
            match grant {
                None => None,
                Some(row) => {
                    let (card_id, org_id, member): (String, String, String) = (row.get(0), row.get(1), row.get(2));
                    let now = timestamp(row.get(3))?;
                    let (card_id, org_id, member) = (uuid(&card_id)?, uuid(&org_id)?, uuid(&member)?);
                    match load_card(tx, Some(org_id), card_id, true).await? {
                        None => None,
                        Some(stored) => {
                            let secret_row = tx
                                .query_one(
                                    "SELECT pan_ciphertext, cvv_ciphertext, pan_fingerprint FROM cards WHERE id = $1",
                                    &[&card_id.to_string()],
                                )
                                .await
                                .map_err(pg)?;
                            let secrets = secrets_at(&secret_row, 0);
                            insert_event(tx, &audit(&stored, member, now)).await?;
                            Some((stored, secrets))
                        }
                    }
                }
            }
        })
    }

    async fn cards_due_to_expire(&self, org: Uuid, now: Timestamp, limit: u32) -> StoreResult<Vec<Uuid>> {
        read!(self, |c| {
            let rows = c
                .query(
                    "SELECT id FROM cards WHERE organization_id = $1 AND NOT terminal AND pre_expires_at IS NULL \
                     AND expires_at <= $2 ORDER BY expires_at, id LIMIT $3",
                    &[&org.to_string(), &now.as_second(), &i64::from(limit)],
                )
                .await
                .map_err(pg)?;
            rows.iter().map(|r| uuid(&get::<String>(r, "id")?)).collect::<Result<Vec<_>, Fail>>()?
        })
    }

    async fn card_events(&self, org: Uuid, card: Uuid, newest: Option<u32>) -> StoreResult<Vec<AuditEvent>> {
        // Newest first, so a limit keeps the latest (NULL: no limit); oldest first again below.
        let limit = newest.map(i64::from);
        let mut events = read!(self, |c| {
            let rows = c
                .query(
                    "SELECT e.id, e.card_id, e.action, e.actor_type, e.actor_id, e.from_status, e.to_status, e.changes, \
                     e.request_id, e.at FROM card_events e JOIN cards c ON c.id = e.card_id \
                     WHERE e.card_id = $1 AND c.organization_id = $2 ORDER BY e.seq DESC LIMIT $3",
                    &[&card.to_string(), &org.to_string(), &limit],
                )
                .await
                .map_err(pg)?;
            rows.iter().map(audit_event).collect::<Result<Vec<_>, Fail>>()?
        })?;
        events.reverse();
        Ok(events)
    }
}
