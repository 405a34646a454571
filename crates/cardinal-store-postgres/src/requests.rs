//! Card requests: a row each, settled under its row lock with the card an approval issues in
//! one transaction.

use crate::db::Db;
use async_trait::async_trait;
use cardinal_domain::requests::CardRequest;
use cardinal_domain::DomainError;
use cardinal_store::sql::{request_list, Dialect};
use cardinal_store::{
    request_document, request_of_document, requests_of_documents, CardRequestStore, Page, RequestChange, RequestQuery,
    StoreError, StoreResult, StoredCard,
};
use uuid::Uuid;

use crate::cards::{holder_of, insert_card, insert_event};
use crate::sca::spend_sca_session;
use crate::webhooks::write_outbox;
use crate::{optional, pg, run_list, Fail, PostgresStore};

async fn load(client: &Db<'_>, org: Uuid, id: Uuid, lock: bool) -> Result<Option<CardRequest>, Fail> {
    let q = match lock {
        true => "SELECT data FROM card_requests WHERE id = $1 AND organization_id = $2 FOR UPDATE",
        false => "SELECT data FROM card_requests WHERE id = $1 AND organization_id = $2",
    };
    let text: Option<String> = optional(client, q, &[&id.to_string(), &org.to_string()], |r| Ok(r.get(0))).await?;
    Ok(text.as_deref().map(request_of_document).transpose()?)
}

async fn save(client: &Db<'_>, request: &CardRequest) -> Result<(), Fail> {
    client
        .execute(
            "INSERT INTO card_requests (id, organization_id, initiator_id, request_type, status, created_at, \
             processed_at, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO UPDATE SET \
             status = excluded.status, processed_at = excluded.processed_at, data = excluded.data",
            &[
                &request.id.to_string(),
                &request.organization_id.to_string(),
                &request.initiator_id.to_string(),
                &request.ask.request_type().as_str(),
                &request.status.as_str(),
                &request.created_at.as_second(),
                &request.processed_at.map(|t| t.as_second()),
                &request_document(request),
            ],
        )
        .await
        .map_err(pg)?;
    Ok(())
}

#[async_trait]
impl CardRequestStore for PostgresStore {
    async fn insert_card_request(&self, request: CardRequest) -> StoreResult<()> {
        transaction!(self, |tx| { save(tx, &request).await? })
    }

    async fn card_request(&self, org: Uuid, id: Uuid) -> StoreResult<Option<CardRequest>> {
        read!(self, |c| { load(c, org, id, false).await? })
    }

    async fn card_requests(&self, query: &RequestQuery) -> StoreResult<Page<CardRequest>> {
        let page = read!(self, |c| {
            run_list(c, request_list(query, Dialect::Postgres), |r| Ok(r.get::<_, String>(0))).await?
        })?;
        requests_of_documents(page)
    }

    async fn settle_card_request(
        &self,
        org: Uuid,
        id: Uuid,
        mut change: RequestChange,
    ) -> StoreResult<(CardRequest, Option<StoredCard>)> {
        transaction!(self, |tx| {
            let mut request = load(tx, org, id, true).await?.ok_or(Fail::Store(DomainError::NotFound.into()))?;
            let write = change(&mut request).map_err(|e| Fail::Store(e.into()))?;
            save(tx, &request).await?;
            let mut issued = None;
            if let Some(issue) = write.issues {
                let holder = holder_of(tx, org, issue.card.card.holder_id)
                    .await?
                    .ok_or_else(|| Fail::Store(StoreError::Conflict("the requester is no longer a member".into())))?;
                insert_card(tx, &issue.card, &holder).await?;
                for event in &issue.events {
                    insert_event(tx, event).await?;
                }
                write_outbox(tx, &issue.outbox).await?;
                issued = Some(StoredCard::new(issue.card.card.clone(), holder));
            }
            if let Some(redemption) = write.redeems_sca {
                if !spend_sca_session(tx, &redemption.token_hash, redemption.now).await? {
                    return Err(Fail::Store(StoreError::ScaSessionUsed));
                }
            }
            (request, issued)
        })
    }
}
