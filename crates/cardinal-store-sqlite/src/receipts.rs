//! Receipts (files kept as BLOBs) and labels of card transactions.

use async_trait::async_trait;
use cardinal_domain::DomainError;
use cardinal_store::{Attachment, Label, ReceiptStore, StoreResult, Transaction, TransactionEdit, ATTACHMENT_COLUMNS};
use rusqlite::{params, Connection, OptionalExtension, Row};
use uuid::Uuid;

use crate::rows::{seconds, timestamp, uuid};
use crate::transactions::{load_transaction, upsert_transaction};
use crate::webhooks::write_outbox;
use crate::{sql, SqliteStore};

fn attachment_row(r: &Row) -> rusqlite::Result<Attachment> {
    let transaction: Option<String> = r.get(2)?;
    let size: i64 = r.get(6)?;
    Ok(Attachment {
        id: uuid(r.get(0)?)?,
        organization_id: uuid(r.get(1)?)?,
        transaction_id: transaction.map(uuid).transpose()?,
        uploaded_by: uuid(r.get(3)?)?,
        file_name: r.get(4)?,
        content_type: r.get(5)?,
        file_size: size.max(0) as u64,
        created_at: timestamp(r.get(7)?)?,
    })
}

fn insert(conn: &Connection, a: &Attachment, content: &[u8]) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO attachments (id, organization_id, transaction_id, uploaded_by, file_name, content_type, \
         file_size, created_at, content) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            a.id.to_string(),
            a.organization_id.to_string(),
            a.transaction_id.map(|t| t.to_string()),
            a.uploaded_by.to_string(),
            a.file_name,
            a.content_type,
            a.file_size as i64,
            seconds(a.created_at),
            content,
        ],
    )
    .map_err(sql)?;
    Ok(())
}

pub(crate) fn insert_label(conn: &Connection, label: &Label) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO labels (id, organization_id, name, parent_id) VALUES (?1, ?2, ?3, ?4)",
        params![
            label.id.to_string(),
            label.organization_id.to_string(),
            label.name,
            label.parent_id.map(|p| p.to_string())
        ],
    )
    .map_err(sql)?;
    Ok(())
}

#[async_trait]
impl ReceiptStore for SqliteStore {
    async fn insert_attachment(&self, attachment: Attachment, content: Vec<u8>) -> StoreResult<()> {
        self.engine.write(move |conn| insert(conn, &attachment, &content)).await
    }

    async fn attachment(&self, org: Uuid, id: Uuid) -> StoreResult<Option<Attachment>> {
        self.engine
            .read(move |conn| {
                conn.prepare_cached(&format!(
                    "SELECT {ATTACHMENT_COLUMNS} FROM attachments a WHERE a.id = ?1 AND a.organization_id = ?2"
                ))
                .and_then(|mut s| s.query_row(params![id.to_string(), org.to_string()], attachment_row).optional())
                .map_err(sql)
            })
            .await
    }

    async fn attachment_file(&self, org: Uuid, id: Uuid) -> StoreResult<Option<(Attachment, Vec<u8>)>> {
        self.engine
            .read(move |conn| {
                conn.prepare_cached(&format!(
                    "SELECT {ATTACHMENT_COLUMNS}, a.content FROM attachments a WHERE a.id = ?1 AND a.organization_id = ?2"
                ))
                .and_then(|mut s| {
                    s.query_row(params![id.to_string(), org.to_string()], |r| Ok((attachment_row(r)?, r.get(8)?)))
                        .optional()
                })
                .map_err(sql)
            })
            .await
    }

    async fn attachments(&self, org: Uuid, ids: Vec<Uuid>) -> StoreResult<Vec<Attachment>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.engine
            .read(move |conn| {
                // The ids travel as one JSON array: one statement whatever their number.
                let ids = cardinal_store::ids_column(&ids);
                conn.prepare_cached(&format!(
                    "SELECT {ATTACHMENT_COLUMNS} FROM attachments a WHERE a.organization_id = ?1 \
                     AND a.id IN (SELECT value FROM json_each(?2)) ORDER BY a.created_at, a.id"
                ))
                .and_then(|mut s| {
                    s.query_map(params![org.to_string(), ids], attachment_row)?.collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(sql)
            })
            .await
    }

    async fn edit_transaction(&self, org: Uuid, id: Uuid, mut edit: TransactionEdit) -> StoreResult<Transaction> {
        self.engine
            .write(move |conn| {
                let mut transaction =
                    load_transaction(conn, Some(org), id)?.ok_or(DomainError::Missing("transaction"))?;
                let write = (edit.change)(&mut transaction)?;
                if let Some((attachment, content)) = &edit.adds {
                    insert(conn, attachment, content)?;
                }
                for removed in &write.removes {
                    conn.execute(
                        "DELETE FROM attachments WHERE id = ?1 AND transaction_id = ?2",
                        params![removed.to_string(), id.to_string()],
                    )
                    .map_err(sql)?;
                }
                upsert_transaction(conn, &transaction)?;
                write_outbox(conn, &write.events)?;
                Ok(transaction)
            })
            .await
    }

    async fn labels(&self, org: Uuid) -> StoreResult<Vec<Label>> {
        self.engine
            .read(move |conn| {
                conn.prepare_cached(
                    "SELECT id, organization_id, name, parent_id FROM labels WHERE organization_id = ?1 \
                     ORDER BY name, id",
                )
                .and_then(|mut s| {
                    s.query_map([org.to_string()], |r| {
                        let parent: Option<String> = r.get(3)?;
                        Ok(Label {
                            id: uuid(r.get(0)?)?,
                            organization_id: uuid(r.get(1)?)?,
                            name: r.get(2)?,
                            parent_id: parent.map(uuid).transpose()?,
                        })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(sql)
            })
            .await
    }
}
