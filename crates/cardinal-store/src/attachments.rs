//! Receipts and labels of card transactions (spec §9). A file is kept with the data (a BLOB on
//! SQLite, `bytea` on PostgreSQL: one backup covers both) and goes with its organization; a
//! file attached to a transaction also goes with the transaction. A transaction keeps the ids
//! of its attachments and labels beside its columns, written in the same transaction as the
//! file or the labels, so a list reads them without a join.

use crate::{Label, OutboxEvent, Transaction};
use cardinal_domain::DomainError;
use jiff::Timestamp;
use uuid::Uuid;

/// A stored file, without its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub id: Uuid,
    pub organization_id: Uuid,
    /// The transaction it is a receipt of; `None` for a standalone upload (`POST /v2/attachments`).
    pub transaction_id: Option<Uuid>,
    /// The member who uploaded it.
    pub uploaded_by: Uuid,
    pub file_name: String,
    pub content_type: String,
    pub file_size: u64,
    pub created_at: Timestamp,
}

/// A change to a transaction's receipts or labels, decided on the locked transaction.
pub struct TransactionEdit {
    /// A file stored with the change (its `transaction_id` is the transaction's).
    pub adds: Option<(Attachment, Vec<u8>)>,
    /// Edits the transaction (its `attachment_ids`, `label_ids`, `updated_at`) and says what
    /// else to write.
    pub change: EditChange,
}

/// Decides an edit on the locked transaction (again, should the store retry).
pub type EditChange = Box<dyn FnMut(&mut Transaction) -> Result<EditWrite, DomainError> + Send>;

/// What an edit writes beside the transaction.
#[derive(Debug, Clone, Default)]
pub struct EditWrite {
    /// Files of the transaction to delete.
    pub removes: Vec<Uuid>,
    /// The webhook events it reports (`v1/transactions` `updated`).
    pub events: Vec<OutboxEvent>,
}

#[async_trait::async_trait]
pub trait ReceiptStore: Send + Sync {
    /// A standalone upload.
    async fn insert_attachment(&self, attachment: Attachment, content: Vec<u8>) -> crate::StoreResult<()>;
    async fn attachment(&self, org: Uuid, id: Uuid) -> crate::StoreResult<Option<Attachment>>;
    /// The attachment with its bytes, in one read.
    async fn attachment_file(&self, org: Uuid, id: Uuid) -> crate::StoreResult<Option<(Attachment, Vec<u8>)>>;
    /// The attachments among `ids`, oldest first (those of a page of transactions).
    async fn attachments(&self, org: Uuid, ids: Vec<Uuid>) -> crate::StoreResult<Vec<Attachment>>;
    /// Runs the edit on the transaction under its write lock and commits it with its file,
    /// its removals and its events; a missing transaction is `DomainError::Missing`.
    async fn edit_transaction(&self, org: Uuid, id: Uuid, edit: TransactionEdit) -> crate::StoreResult<Transaction>;
    /// The organization's labels, by name.
    async fn labels(&self, org: Uuid) -> crate::StoreResult<Vec<Label>>;
}

/// Ids as a transaction's `attachment_ids` / `label_ids` column keeps them: a JSON array.
pub fn ids_column(ids: &[Uuid]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}

/// The ids of an `attachment_ids` / `label_ids` column.
pub fn ids_of_column(text: &str) -> Result<Vec<Uuid>, String> {
    serde_json::from_str(text).map_err(|e| format!("a transaction's id list is unreadable: {e}"))
}

/// The columns of an attachment without its content, for `a`.
pub const ATTACHMENT_COLUMNS: &str =
    "a.id, a.organization_id, a.transaction_id, a.uploaded_by, a.file_name, a.content_type, a.file_size, a.created_at";
