//! Receipts (spec §9, `qonto-reference.md` §5): a member uploads a PDF, JPEG or PNG — alone
//! (`POST /v2/attachments`) or onto a card transaction they may see — lists, downloads and
//! removes them. Files are checked by content ([`cardinal_domain::attachments`]); an attached
//! or removed one reports the transaction `updated` (`v1/transactions`), in the same commit.
//! Downloads go through signed links that last 30 minutes, as Qonto's `url` does.

use crate::cards::member::Member;
use crate::payments::transaction_outbox;
use crate::App;
use cardinal_domain::attachments::{check_file, clean_file_name};
use cardinal_domain::permissions::{authorize_receipt, reach, Reach};
use cardinal_domain::{CardAction, DomainError};
use cardinal_store::{Attachment, EditWrite, Organization, StoreResult, Transaction, TransactionEdit};
use jiff::{SignedDuration, Timestamp};
use uuid::Uuid;

/// How long a download link opens its file (Qonto: 30 minutes).
pub const LINK_LIFETIME: SignedDuration = SignedDuration::from_mins(30);

/// The most receipts one transaction keeps.
pub const MAX_PER_TRANSACTION: usize = 50;

/// A file as the client sent it.
pub struct Upload {
    pub file_name: String,
    pub content: Vec<u8>,
}

/// A standalone upload (`POST /v2/attachments`), for a member to reference later.
pub async fn upload(app: &App, organization: &Organization, member: &Member, file: Upload) -> StoreResult<Attachment> {
    let (attachment, content) = checked(organization, member, None, file)?;
    app.store.insert_attachment(attachment.clone(), content).await?;
    Ok(attachment)
}

/// Attaches `file` to transaction `id`: whoever may see the transaction may (the permission
/// table's receipt row); the transaction reports `updated`.
pub async fn attach(
    app: &App,
    organization: &Organization,
    member: &Member,
    id: Uuid,
    file: Upload,
) -> StoreResult<(Attachment, Transaction)> {
    may_attach(app, organization, member, id).await?;
    let (attachment, content) = checked(organization, member, Some(id), file)?;
    let now = organization.now();
    let added = attachment.id;
    let change = Box::new(move |t: &mut Transaction| {
        if t.attachment_ids.len() >= MAX_PER_TRANSACTION {
            return Err(DomainError::InvalidState(format!(
                "a transaction keeps at most {MAX_PER_TRANSACTION} attachments"
            )));
        }
        t.attachment_ids.push(added);
        t.updated_at = now;
        Ok(EditWrite { removes: Vec::new(), events: transaction_outbox(t, "updated", now) })
    });
    let edit = TransactionEdit { adds: Some((attachment.clone(), content)), change };
    let transaction = app.store.edit_transaction(organization.id, id, edit).await?;
    Ok((attachment, transaction))
}

/// Removes attachment `which` of transaction `id`, or all of them (`None`); an attachment that
/// is not the transaction's is missing.
pub async fn detach(
    app: &App,
    organization: &Organization,
    member: &Member,
    id: Uuid,
    which: Option<Uuid>,
) -> StoreResult<Transaction> {
    may_attach(app, organization, member, id).await?;
    let now = organization.now();
    let change = Box::new(move |t: &mut Transaction| {
        let removes: Vec<Uuid> = match which {
            Some(one) if t.attachment_ids.contains(&one) => vec![one],
            Some(_) => return Err(DomainError::Missing("attachment")),
            None => t.attachment_ids.clone(),
        };
        if removes.is_empty() {
            return Ok(EditWrite::default());
        }
        t.attachment_ids.retain(|a| !removes.contains(a));
        t.updated_at = now;
        Ok(EditWrite { removes, events: transaction_outbox(t, "updated", now) })
    });
    app.store.edit_transaction(organization.id, id, TransactionEdit { adds: None, change }).await
}

/// Attachment `id` if `member` may see it: a receipt with its transaction, a standalone
/// upload by its uploader and whoever sees every card (owners, admins, accountants).
pub async fn attachment(app: &App, organization: &Organization, member: &Member, id: Uuid) -> StoreResult<Attachment> {
    let found = app.store.attachment(organization.id, id).await?.ok_or(DomainError::Missing("attachment"))?;
    match found.transaction_id {
        Some(transaction) => {
            crate::transactions::visible(app, organization, member, transaction).await?;
        }
        None if found.uploaded_by == member.membership_id => {}
        None if reach(member.role, CardAction::See) == Reach::All => {}
        None => return Err(DomainError::Missing("attachment").into()),
    }
    Ok(found)
}

/// The receipts of transaction `id`, oldest first.
pub async fn of_transaction(
    app: &App,
    organization: &Organization,
    member: &Member,
    id: Uuid,
) -> StoreResult<Vec<Attachment>> {
    let transaction = crate::transactions::visible(app, organization, member, id).await?;
    app.store.attachments(organization.id, transaction.attachment_ids).await
}

/// A download link's path and query for `attachment`, valid [`LINK_LIFETIME`] from `now`.
pub fn link(app: &App, attachment: &Attachment, now: Timestamp) -> String {
    let expires = (now + LINK_LIFETIME).as_second();
    let subject = link_subject(attachment.organization_id, attachment.id, expires);
    let signature = app.vault.link_signature(&subject);
    format!("/files/{}/{}?expires={expires}&signature={signature}", attachment.organization_id, attachment.id)
}

/// The file a download link opens, if its signature is right and it has not expired; any
/// other link opens nothing, and says no more.
pub async fn open_link(
    app: &App,
    organization_id: Uuid,
    id: Uuid,
    expires: i64,
    signature: &str,
) -> StoreResult<Option<(Attachment, Vec<u8>)>> {
    let subject = link_subject(organization_id, id, expires);
    if !app.vault.link_signature_matches(&subject, signature) {
        return Ok(None);
    }
    let Some(organization) = app.store.organization(organization_id).await? else { return Ok(None) };
    if organization.now().as_second() > expires {
        return Ok(None);
    }
    app.store.attachment_file(organization_id, id).await
}

fn link_subject(organization_id: Uuid, id: Uuid, expires: i64) -> String {
    format!("{organization_id}/{id}/{expires}")
}

async fn may_attach(app: &App, organization: &Organization, member: &Member, id: Uuid) -> StoreResult<()> {
    let (_, relation) = crate::transactions::with_relation(app, organization, member, id).await?;
    authorize_receipt(member.role, relation)?;
    Ok(())
}

/// The file checked by content and named safely, as it will be stored.
fn checked(
    organization: &Organization,
    member: &Member,
    transaction_id: Option<Uuid>,
    file: Upload,
) -> Result<(Attachment, Vec<u8>), DomainError> {
    let file_name = clean_file_name(&file.file_name);
    let kind = check_file(&file_name, &file.content)?;
    let attachment = Attachment {
        id: crate::ids::random(),
        organization_id: organization.id,
        transaction_id,
        uploaded_by: member.membership_id,
        file_name,
        content_type: kind.content_type().to_owned(),
        file_size: file.content.len() as u64,
        created_at: organization.now(),
    };
    Ok((attachment, file.content))
}
