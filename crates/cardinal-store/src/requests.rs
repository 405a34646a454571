//! Card requests as kept (spec §9): each a row with the columns lists filter and sort on, and
//! the whole request as a JSON document. Settling one runs a rule on the request under a write
//! lock and commits what it returns: the request, and for an approval the card it issues (with
//! its audit and webhook events) and the SCA session it spends, together.

use crate::{AuditEvent, NewCard, OutboxEvent, PageRequest, ScaRedemption, StoredCard, Visibility};
use cardinal_domain::requests::{CardRequest, RequestStatus, RequestType};
use cardinal_domain::DomainError;
use uuid::Uuid;

/// Which requests a list returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestQuery {
    pub organization_id: Uuid,
    /// Whose requests the caller sees: by their initiator, as cards by their holder.
    pub visibility: Visibility,
    pub statuses: Vec<RequestStatus>,
    pub types: Vec<RequestType>,
    pub created_from: Option<jiff::Timestamp>,
    pub processed_from: Option<jiff::Timestamp>,
    pub sort: RequestSort,
    pub descending: bool,
    pub page: PageRequest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestSort {
    CreatedAt,
    ProcessedAt,
    Status,
}

/// The card an approval issues, written with it.
#[derive(Debug, Clone)]
pub struct IssuedCard {
    pub card: NewCard,
    pub events: Vec<AuditEvent>,
    pub outbox: Vec<OutboxEvent>,
}

/// What settling a request writes beside the request itself.
#[derive(Debug, Clone, Default)]
pub struct RequestWrite {
    pub issues: Option<IssuedCard>,
    pub redeems_sca: Option<ScaRedemption>,
}

/// A rule run on a request under its write lock (again, should the transaction be retried).
pub type RequestChange = Box<dyn FnMut(&mut CardRequest) -> Result<RequestWrite, DomainError> + Send>;

#[async_trait::async_trait]
pub trait CardRequestStore: Send + Sync {
    async fn insert_card_request(&self, request: CardRequest) -> crate::StoreResult<()>;
    async fn card_request(&self, org: Uuid, id: Uuid) -> crate::StoreResult<Option<CardRequest>>;
    async fn card_requests(&self, query: &RequestQuery) -> crate::StoreResult<crate::Page<CardRequest>>;
    /// Runs `change` on the request and commits it with what it returns; a missing request is
    /// `DomainError::NotFound`. The card an approval issues comes back with the request.
    async fn settle_card_request(
        &self,
        org: Uuid,
        id: Uuid,
        change: RequestChange,
    ) -> crate::StoreResult<(CardRequest, Option<StoredCard>)>;
}

/// The request's JSON document, as stored.
pub fn request_document(request: &CardRequest) -> String {
    serde_json::to_string(request).unwrap_or_default()
}

/// A page of stored documents read as requests.
pub fn requests_of_documents(page: crate::Page<String>) -> crate::StoreResult<crate::Page<CardRequest>> {
    let items = page.items.iter().map(|text| request_of_document(text)).collect::<crate::StoreResult<Vec<_>>>()?;
    Ok(crate::Page { items, total: page.total })
}

pub fn request_of_document(text: &str) -> crate::StoreResult<CardRequest> {
    serde_json::from_str(text)
        .map_err(|e| crate::StoreError::Backend(format!("a stored card request is unreadable: {e}")))
}
