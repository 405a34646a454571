//! Labels (spec §9, `qonto-reference.md` §6): the organization's label lists, two levels deep
//! (a list, and the labels under it), read by every member. Qonto's API has no way to make
//! them or to label a transaction, so the sandbox control API does both here; a labelled
//! transaction reports `updated` (`v1/transactions`).

use crate::payments::transaction_outbox;
use crate::App;
use cardinal_domain::DomainError;
use cardinal_store::{EditWrite, Label, Organization, OrganizationParts, StoreResult, Transaction, TransactionEdit};
use uuid::Uuid;

/// The longest label name.
pub const NAME_MAX: usize = 100;

/// The organization's labels, by name.
pub async fn list(app: &App, organization: &Organization) -> StoreResult<Vec<Label>> {
    app.store.labels(organization.id).await
}

pub async fn get(app: &App, organization: &Organization, id: Uuid) -> StoreResult<Label> {
    let labels = app.store.labels(organization.id).await?;
    labels.into_iter().find(|l| l.id == id).ok_or_else(|| DomainError::Missing("label").into())
}

/// A new label of organization `organization_id` (the control API's): a list (no parent) or a
/// label under a list.
pub async fn create(app: &App, organization_id: Uuid, name: &str, parent_id: Option<Uuid>) -> StoreResult<Label> {
    let organization = app.store.organization(organization_id).await?.ok_or(DomainError::Missing("organization"))?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX {
        return Err(DomainError::invalid("/name", format!("name must be 1 to {NAME_MAX} characters")).into());
    }
    let labels = app.store.labels(organization.id).await?;
    if let Some(parent) = parent_id {
        match labels.iter().find(|l| l.id == parent) {
            None => {
                return Err(DomainError::invalid("/parent_id", "parent_id names no label of the organization").into())
            }
            Some(p) if p.parent_id.is_some() => {
                return Err(
                    DomainError::invalid("/parent_id", "labels are two levels deep: the parent must be a list").into()
                )
            }
            Some(_) => {}
        }
    }
    if labels.iter().any(|l| l.parent_id == parent_id && l.name.eq_ignore_ascii_case(name)) {
        return Err(DomainError::invalid("/name", "a label with this name is already there").into());
    }
    let label = Label { id: crate::ids::random(), organization_id: organization.id, name: name.to_owned(), parent_id };
    let parts = OrganizationParts { labels: vec![label.clone()], ..OrganizationParts::default() };
    match app.store.extend_organization(organization.id, parts).await? {
        true => Ok(label),
        false => Err(DomainError::Missing("organization").into()),
    }
}

/// Puts exactly `label_ids` on transaction `id` (of any organization; the control API's): an
/// empty list takes them all off.
pub async fn label_transaction(app: &App, id: Uuid, label_ids: Vec<Uuid>) -> StoreResult<Transaction> {
    let missing = || DomainError::Missing("transaction");
    let organization_id = app.store.transaction_organization(id).await?.ok_or_else(missing)?;
    let organization = app.store.organization(organization_id).await?.ok_or_else(missing)?;
    let known = app.store.labels(organization.id).await?;
    let mut wanted: Vec<Uuid> = Vec::with_capacity(label_ids.len());
    for (at, label) in label_ids.into_iter().enumerate() {
        if !known.iter().any(|l| l.id == label) {
            return Err(DomainError::invalid(format!("/label_ids/{at}"), "names no label of the organization").into());
        }
        if !wanted.contains(&label) {
            wanted.push(label);
        }
    }
    let now = organization.now();
    let change = Box::new(move |t: &mut Transaction| {
        if t.label_ids == wanted {
            return Ok(EditWrite::default());
        }
        t.label_ids = wanted.clone();
        t.updated_at = now;
        Ok(EditWrite { removes: Vec::new(), events: transaction_outbox(t, "updated", now) })
    });
    app.store.edit_transaction(organization.id, id, TransactionEdit { adds: None, change }).await
}
