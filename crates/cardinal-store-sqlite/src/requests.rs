//! Card requests: a row each, settled with the card an approval issues in one write.

use async_trait::async_trait;
use cardinal_domain::requests::CardRequest;
use cardinal_domain::DomainError;
use cardinal_store::sql::{request_list, Dialect};
use cardinal_store::{
    request_document, request_of_document, requests_of_documents, CardRequestStore, Page, RequestChange, RequestQuery,
    StoreError, StoreResult, StoredCard,
};
use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

use crate::card_events::insert_event;
use crate::cards::{holder_of, insert_card};
use crate::rows::seconds;
use crate::sca::spend_sca_session;
use crate::webhooks::write_outbox;
use crate::{run_list, sql, SqliteStore};

fn load(conn: &Connection, org: Uuid, id: Uuid) -> StoreResult<Option<CardRequest>> {
    let text: Option<String> = conn
        .prepare_cached("SELECT data FROM card_requests WHERE id = ?1 AND organization_id = ?2")
        .and_then(|mut s| s.query_row(params![id.to_string(), org.to_string()], |r| r.get(0)).optional())
        .map_err(sql)?;
    text.as_deref().map(request_of_document).transpose()
}

fn save(conn: &Connection, request: &CardRequest) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO card_requests (id, organization_id, initiator_id, request_type, status, created_at, processed_at, \
         data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) DO UPDATE SET status = excluded.status, \
         processed_at = excluded.processed_at, data = excluded.data",
    )
    .and_then(|mut s| {
        s.execute(params![
            request.id.to_string(),
            request.organization_id.to_string(),
            request.initiator_id.to_string(),
            request.ask.request_type().as_str(),
            request.status.as_str(),
            seconds(request.created_at),
            request.processed_at.map(seconds),
            request_document(request),
        ])
    })
    .map_err(sql)?;
    Ok(())
}

#[async_trait]
impl CardRequestStore for SqliteStore {
    async fn insert_card_request(&self, request: CardRequest) -> StoreResult<()> {
        self.engine.write(move |conn| save(conn, &request)).await
    }

    async fn card_request(&self, org: Uuid, id: Uuid) -> StoreResult<Option<CardRequest>> {
        self.engine.read(move |conn| load(conn, org, id)).await
    }

    async fn card_requests(&self, query: &RequestQuery) -> StoreResult<Page<CardRequest>> {
        let query = query.clone();
        let page = self
            .engine
            .read(move |conn| run_list(conn, request_list(&query, Dialect::Sqlite), |r| r.get::<_, String>(0)))
            .await?;
        requests_of_documents(page)
    }

    async fn settle_card_request(
        &self,
        org: Uuid,
        id: Uuid,
        mut change: RequestChange,
    ) -> StoreResult<(CardRequest, Option<StoredCard>)> {
        let cache = self.cache.clone();
        self.engine
            .write_then(
                move |conn| {
                    let mut request = load(conn, org, id)?.ok_or(DomainError::NotFound)?;
                    let write = change(&mut request)?;
                    save(conn, &request)?;
                    let mut issued = None;
                    if let Some(issue) = write.issues {
                        let holder = holder_of(conn, org, issue.card.card.holder_id)?
                            .ok_or_else(|| StoreError::Conflict("the requester is no longer a member".into()))?;
                        let card = StoredCard::new(issue.card.card.clone(), holder);
                        insert_card(conn, &card, &issue.card.secrets)?;
                        for event in &issue.events {
                            insert_event(conn, event)?;
                        }
                        write_outbox(conn, &issue.outbox)?;
                        issued = Some(card);
                    }
                    if let Some(redemption) = write.redeems_sca {
                        if !spend_sca_session(conn, &redemption.token_hash, redemption.now)? {
                            return Err(StoreError::ScaSessionUsed);
                        }
                    }
                    Ok((request, issued))
                },
                move |(_, issued)| cache.committed_cards(issued.iter()),
            )
            .await
    }
}
