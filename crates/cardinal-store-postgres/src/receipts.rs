//! Receipts (files kept as `bytea`) and labels of card transactions.

use crate::db::Db;
use async_trait::async_trait;
use cardinal_domain::DomainError;
use cardinal_store::{Attachment, Label, ReceiptStore, StoreResult, Transaction, TransactionEdit, ATTACHMENT_COLUMNS};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::rows::{get, timestamp, uuid};
use crate::transactions::{load_transaction, upsert_transaction};
use crate::webhooks::write_outbox;
use crate::{optional, pg, Fail, PostgresStore};

fn attachment_row(r: &Row) -> Result<Attachment, Fail> {
    let transaction: Option<String> = get(r, "transaction_id")?;
    Ok(Attachment {
        id: uuid(&get::<String>(r, "id")?)?,
        organization_id: uuid(&get::<String>(r, "organization_id")?)?,
        transaction_id: transaction.as_deref().map(uuid).transpose()?,
        uploaded_by: uuid(&get::<String>(r, "uploaded_by")?)?,
        file_name: get(r, "file_name")?,
        content_type: get(r, "content_type")?,
        file_size: get::<i64>(r, "file_size")?.max(0) as u64,
        created_at: timestamp(get(r, "created_at")?)?,
    })
}

async fn insert(client: &Db<'_>, a: &Attachment, content: &[u8]) -> Result<(), Fail> {
    client
        .execute(
            "INSERT INTO attachments (id, organization_id, transaction_id, uploaded_by, file_name, content_type, \
             file_size, created_at, content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &a.id.to_string(),
                &a.organization_id.to_string(),
                &a.transaction_id.map(|t| t.to_string()),
                &a.uploaded_by.to_string(),
                &a.file_name,
                &a.content_type,
                &(a.file_size as i64),
                &a.created_at.as_second(),
                &content,
            ],
        )
        .await
        .map_err(pg)?;
    Ok(())
}

pub(crate) async fn insert_label(client: &Db<'_>, label: &Label) -> Result<(), Fail> {
    client
        .execute(
            "INSERT INTO labels (id, organization_id, name, parent_id) VALUES ($1, $2, $3, $4)",
            &[
                &label.id.to_string(),
                &label.organization_id.to_string(),
                &label.name,
                &label.parent_id.map(|p| p.to_string()),
            ],
        )
        .await
        .map_err(pg)?;
    Ok(())
}

#[async_trait]
impl ReceiptStore for PostgresStore {
    async fn insert_attachment(&self, attachment: Attachment, content: Vec<u8>) -> StoreResult<()> {
        transaction!(self, |tx| { insert(tx, &attachment, &content).await? })
    }

    async fn attachment(&self, org: Uuid, id: Uuid) -> StoreResult<Option<Attachment>> {
        let q = fixed_sql!("SELECT {ATTACHMENT_COLUMNS} FROM attachments a WHERE a.id = $1 AND a.organization_id = $2");
        read!(self, |c| { optional(c, q, &[&id.to_string(), &org.to_string()], attachment_row).await? })
    }

    async fn attachment_file(&self, org: Uuid, id: Uuid) -> StoreResult<Option<(Attachment, Vec<u8>)>> {
        let q = fixed_sql!(
            "SELECT {ATTACHMENT_COLUMNS}, a.content FROM attachments a WHERE a.id = $1 AND a.organization_id = $2"
        );
        read!(self, |c| {
            optional(c, q, &[&id.to_string(), &org.to_string()], |r| Ok((attachment_row(r)?, get(r, "content")?)))
                .await?
        })
    }

    async fn attachments(&self, org: Uuid, ids: Vec<Uuid>) -> StoreResult<Vec<Attachment>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        let q = fixed_sql!(
            "SELECT {ATTACHMENT_COLUMNS} FROM attachments a WHERE a.organization_id = $1 AND a.id = ANY($2) \
             ORDER BY a.created_at, a.id"
        );
        read!(self, |c| {
            let rows = c.query(q, &[&org.to_string(), &ids]).await.map_err(pg)?;
            rows.iter().map(attachment_row).collect::<Result<Vec<_>, Fail>>()?
        })
    }

    async fn edit_transaction(&self, org: Uuid, id: Uuid, mut edit: TransactionEdit) -> StoreResult<Transaction> {
        transaction!(self, |tx| {
            let mut transaction = load_transaction(tx, Some(org), id, true)
                .await?
                .ok_or(Fail::Store(DomainError::Missing("transaction").into()))?;
            let write = (edit.change)(&mut transaction).map_err(|e| Fail::Store(e.into()))?;
            if let Some((attachment, content)) = &edit.adds {
                insert(tx, attachment, content).await?;
            }
            for removed in &write.removes {
                tx.execute(
                    "DELETE FROM attachments WHERE id = $1 AND transaction_id = $2",
                    &[&removed.to_string(), &id.to_string()],
                )
                .await
                .map_err(pg)?;
            }
            upsert_transaction(tx, &transaction).await?;
            write_outbox(tx, &write.events).await?;
            transaction
        })
    }

    async fn labels(&self, org: Uuid) -> StoreResult<Vec<Label>> {
        let q = "SELECT id, organization_id, name, parent_id FROM labels WHERE organization_id = $1 ORDER BY name, id";
        read!(self, |c| {
            let rows = c.query(q, &[&org.to_string()]).await.map_err(pg)?;
            rows.iter()
                .map(|r| {
                    let parent: Option<String> = get(r, "parent_id")?;
                    Ok(Label {
                        id: uuid(&get::<String>(r, "id")?)?,
                        organization_id: uuid(&get::<String>(r, "organization_id")?)?,
                        name: get(r, "name")?,
                        parent_id: parent.as_deref().map(uuid).transpose()?,
                    })
                })
                .collect::<Result<Vec<_>, Fail>>()?
        })
    }
}
