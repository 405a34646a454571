//! Storage stories: receipts and labels of transactions.

use super::payments::{query_transactions, spend};
use super::*;
use crate::{Attachment, EditChange, EditWrite, Label, TransactionEdit};

fn file(org: Uuid, transaction: Option<Uuid>, by: Uuid, name: &str) -> Attachment {
    Attachment {
        id: Uuid::new_v4(),
        organization_id: org,
        transaction_id: transaction,
        uploaded_by: by,
        file_name: name.into(),
        content_type: "application/pdf".into(),
        file_size: 9,
        created_at: now(),
    }
}

fn attaching(added: Uuid) -> EditChange {
    Box::new(move |t| {
        t.attachment_ids.push(added);
        Ok(EditWrite::default())
    })
}

/// A file attached with its transaction's id list, in one commit; a refused edit writes
/// neither; removals take the file; `with_attachments` filters on the list; labels are kept
/// and listed; the files go with a reset's transactions and with their organization.
pub async fn receipts_commit_with_their_transaction_and_go_with_it(store: Arc<dyn Store>) {
    let seed = seeded(&store, "receipts").await;
    let (org, card) = (seed.organization.id, seed.cards[0].card.id);
    let member = seed.memberships[0].id;
    let (_, paid) = store.pay(org, card, spend(Cents::euros(5))).await.unwrap();

    let standalone = file(org, None, member, "alone.pdf");
    store.insert_attachment(standalone.clone(), b"%PDF-1.7\n".to_vec()).await.unwrap();
    assert_eq!(store.attachment(org, standalone.id).await.unwrap(), Some(standalone.clone()));
    assert_eq!(store.attachment(Uuid::new_v4(), standalone.id).await.unwrap(), None, "another organization's");

    let receipt = file(org, Some(paid.id), member, "r.pdf");
    let edit = TransactionEdit { adds: Some((receipt.clone(), b"%PDF-1.4\n".to_vec())), change: attaching(receipt.id) };
    let edited = store.edit_transaction(org, paid.id, edit).await.unwrap();
    assert_eq!(edited.attachment_ids, vec![receipt.id]);
    assert_eq!(store.transaction(org, paid.id).await.unwrap().unwrap().attachment_ids, vec![receipt.id]);
    let (read, content) = store.attachment_file(org, receipt.id).await.unwrap().unwrap();
    assert_eq!((read, content.as_slice()), (receipt.clone(), &b"%PDF-1.4\n"[..]));
    let both = store.attachments(org, vec![receipt.id, standalone.id, Uuid::new_v4()]).await.unwrap();
    assert_eq!(both.len(), 2);

    // A refused edit stores no file.
    let refused = file(org, Some(paid.id), member, "no.pdf");
    let edit = TransactionEdit {
        adds: Some((refused.clone(), b"%PDF-1.4\n".to_vec())),
        change: Box::new(|_| Err(cardinal_domain::DomainError::InvalidState("no".into()))),
    };
    assert!(store.edit_transaction(org, paid.id, edit).await.is_err());
    assert_eq!(store.attachment(org, refused.id).await.unwrap(), None);
    let other_org = TransactionEdit { adds: None, change: attaching(Uuid::new_v4()) };
    assert!(matches!(
        store.edit_transaction(Uuid::new_v4(), paid.id, other_org).await,
        Err(StoreError::Domain(cardinal_domain::DomainError::Missing("transaction")))
    ));

    let mut with = query_transactions(&seed);
    with.with_attachments = Some(true);
    assert_eq!(store.list_transactions(&with).await.unwrap().items[0].attachment_ids, vec![receipt.id]);
    with.with_attachments = Some(false);
    assert_eq!(store.list_transactions(&with).await.unwrap().total, 0);

    // Labels: kept with the organization, put on the transaction by an edit.
    let list = Label { id: Uuid::new_v4(), organization_id: org, name: "Projects".into(), parent_id: None };
    let label = Label { id: Uuid::new_v4(), organization_id: org, name: "Apollo".into(), parent_id: Some(list.id) };
    let parts = OrganizationParts { labels: vec![list.clone(), label.clone()], ..OrganizationParts::default() };
    assert!(store.extend_organization(org, parts).await.unwrap());
    assert_eq!(store.labels(org).await.unwrap(), vec![label.clone(), list.clone()], "by name");
    let labelled = TransactionEdit {
        adds: None,
        change: Box::new(move |t| {
            t.label_ids = vec![label.id];
            Ok(EditWrite::default())
        }),
    };
    store.edit_transaction(org, paid.id, labelled).await.unwrap();

    // Removing the receipt takes its file.
    let removing = TransactionEdit {
        adds: None,
        change: Box::new(move |t| {
            t.attachment_ids.clear();
            Ok(EditWrite { removes: vec![receipt.id], events: vec![] })
        }),
    };
    let after = store.edit_transaction(org, paid.id, removing).await.unwrap();
    assert!(after.attachment_ids.is_empty() && after.label_ids.len() == 1);
    assert_eq!(store.attachment(org, receipt.id).await.unwrap(), None);

    // The organization's deletion takes every file and label.
    assert!(store.delete_organization(org).await.unwrap());
    assert_eq!(store.attachment(org, standalone.id).await.unwrap(), None);
    assert!(store.labels(org).await.unwrap().is_empty());
}
