//! Card transactions as members read them (spec §6.3): the ones the permission table lets
//! them see, with what Qonto embeds on request (`includes[]=attachments|labels`).

use crate::cards::member::Member;
use crate::App;
use cardinal_domain::permissions::authorize;
use cardinal_domain::{CardAction, DomainError, Relation};
use cardinal_store::{Attachment, Label, Organization, Page, StoreResult, Transaction, TransactionQuery};
use std::collections::HashMap;
use uuid::Uuid;

/// What a list or a read embeds, as `includes[]` asks.
#[derive(Debug, Clone, Copy, Default)]
pub struct Includes {
    pub attachments: bool,
    pub labels: bool,
}

/// The attachments and labels of some transactions, by id, for embedding.
#[derive(Debug, Default)]
pub struct Embedded {
    pub attachments: HashMap<Uuid, Attachment>,
    pub labels: HashMap<Uuid, Label>,
}

impl Embedded {
    /// `transaction`'s attachments, in its order (one deleted meanwhile is skipped).
    pub fn attachments_of(&self, transaction: &Transaction) -> Vec<&Attachment> {
        transaction.attachment_ids.iter().filter_map(|id| self.attachments.get(id)).collect()
    }

    pub fn labels_of(&self, transaction: &Transaction) -> Vec<&Label> {
        transaction.label_ids.iter().filter_map(|id| self.labels.get(id)).collect()
    }
}

/// A page of the transactions `query` selects (its visibility is the caller's), with what
/// `includes` embeds, read in one query each.
pub async fn list(
    app: &App,
    query: &TransactionQuery,
    includes: Includes,
) -> StoreResult<(Page<Transaction>, Embedded)> {
    let page = app.store.list_transactions(query).await?;
    let embedded = embedded(app, query.organization_id, &page.items, includes).await?;
    Ok((page, embedded))
}

/// The transaction `id` if `member` may see it; one they may not is missing, as an unknown one.
pub async fn visible(app: &App, organization: &Organization, member: &Member, id: Uuid) -> StoreResult<Transaction> {
    let (transaction, relation) = with_relation(app, organization, member, id).await?;
    authorize(member.role, CardAction::See, relation).map_err(|_| DomainError::Missing("transaction"))?;
    Ok(transaction)
}

/// The transaction `id` and how its card holder relates to `member`.
pub async fn with_relation(
    app: &App,
    organization: &Organization,
    member: &Member,
    id: Uuid,
) -> StoreResult<(Transaction, Relation)> {
    let transaction = app.store.transaction(organization.id, id).await?.ok_or(DomainError::Missing("transaction"))?;
    let holder = app.store.membership(organization.id, transaction.holder_id).await?;
    let relation = member.relation_to(transaction.holder_id, holder.and_then(|h| h.team_id));
    Ok((transaction, relation))
}

/// The attachments and labels `includes` asks for, of `transactions`.
pub async fn embedded(
    app: &App,
    organization_id: Uuid,
    transactions: &[Transaction],
    includes: Includes,
) -> StoreResult<Embedded> {
    let mut embedded = Embedded::default();
    if includes.attachments {
        let ids: Vec<Uuid> = transactions.iter().flat_map(|t| t.attachment_ids.iter().copied()).collect();
        let found = app.store.attachments(organization_id, ids).await?;
        embedded.attachments = found.into_iter().map(|a| (a.id, a)).collect();
    }
    if includes.labels && transactions.iter().any(|t| !t.label_ids.is_empty()) {
        let found = app.store.labels(organization_id).await?;
        embedded.labels = found.into_iter().map(|l| (l.id, l)).collect();
    }
    Ok(embedded)
}
