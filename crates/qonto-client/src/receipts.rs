//! Receipts and labels (`qonto-reference.md` §5, §6): upload a file alone or onto a
//! transaction, read and remove a transaction's attachments, read the labels.

use crate::pages::{Page, Query};
use crate::transport::{Call, FilePart};
use crate::wire::attachments::{AttachmentBody, AttachmentEnvelope, LabelBody, LabelEnvelope, UploadedAttachment};
use crate::{Client, Result};
use reqwest::Method;
use uuid::Uuid;

/// The receipt and label routes of a [`Client`]: `client.receipts()`.
pub struct Receipts<'a> {
    pub(crate) client: &'a Client,
}

impl Receipts<'_> {
    /// `POST /v2/transactions/{id}/attachments`: attaches a PDF, JPEG or PNG (15 MB at most) to a
    /// transaction. Qonto answers with no body.
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client, transaction: uuid::Uuid) -> Result<(), qonto_client::Error> {
    /// let pdf = std::fs::read("receipt.pdf").expect("the receipt");
    /// client.receipts().attach(transaction, "receipt.pdf", pdf).await?;
    /// # Ok(()) }
    /// ```
    pub async fn attach(&self, transaction: Uuid, file_name: &str, content: impl Into<bytes::Bytes>) -> Result<()> {
        let file = FilePart { file_name: file_name.to_owned(), content: content.into() };
        let call = Call::upload(format!("/v2/transactions/{transaction}/attachments"), file);
        self.client.transport().send(&call).await?.empty()
    }

    /// `POST /v2/attachments`: a file on its own; its id.
    pub async fn upload(&self, file_name: &str, content: impl Into<bytes::Bytes>) -> Result<Uuid> {
        let file = FilePart { file_name: file_name.to_owned(), content: content.into() };
        let answer: UploadedAttachment =
            self.client.transport().send(&Call::upload("/v2/attachments", file)).await?.json()?;
        Ok(answer.attachment.id)
    }

    /// `GET /v2/attachments/{id}`, with its download `url` (30 minutes).
    pub async fn attachment(&self, id: Uuid) -> Result<AttachmentBody> {
        let answer: AttachmentEnvelope =
            self.client.transport().send(&Call::get(format!("/v2/attachments/{id}"))).await?.json()?;
        Ok(answer.attachment)
    }

    /// `GET /v2/transactions/{id}/attachments`.
    pub async fn of_transaction(&self, transaction: Uuid, query: &Query) -> Result<Page<AttachmentBody>> {
        self.client.page(&format!("/v2/transactions/{transaction}/attachments"), "attachments", query).await
    }

    /// `DELETE /v2/transactions/{id}/attachments/{attachment_id}`.
    pub async fn remove(&self, transaction: Uuid, attachment: Uuid) -> Result<()> {
        let path = format!("/v2/transactions/{transaction}/attachments/{attachment}");
        self.client.transport().send(&Call::write(Method::DELETE, path, None)).await?.empty()
    }

    /// `DELETE /v2/transactions/{id}/attachments`: every receipt of the transaction.
    pub async fn remove_all(&self, transaction: Uuid) -> Result<()> {
        let path = format!("/v2/transactions/{transaction}/attachments");
        self.client.transport().send(&Call::write(Method::DELETE, path, None)).await?.empty()
    }

    /// `GET /v2/labels`.
    pub async fn labels(&self, query: &Query) -> Result<Page<LabelBody>> {
        self.client.page("/v2/labels", "labels", query).await
    }

    /// `GET /v2/labels/{id}`.
    pub async fn label(&self, id: Uuid) -> Result<LabelBody> {
        let answer: LabelEnvelope =
            self.client.transport().send(&Call::get(format!("/v2/labels/{id}"))).await?.json()?;
        Ok(answer.label)
    }
}
