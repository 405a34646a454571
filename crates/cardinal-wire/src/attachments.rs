//! Receipts and labels as Qonto shows them (`qonto-reference.md` §5, §6): an attachment's
//! `file_size` is a string of bytes and its `url` a signed download link; a label is
//! `{id, name, parent_id}`.

use crate::{Text, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An attachment (`GET /v2/attachments/{id}`, a transaction's attachments, and embedded with
/// `includes[]=attachments`).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "Attachment")]
pub struct AttachmentBody {
    pub id: Uuid,
    pub created_at: Time,
    pub file_name: String,
    /// Bytes, as a string (`"666"`).
    pub file_size: String,
    /// `application/pdf`, `image/jpeg` or `image/png`: what the content is.
    pub file_content_type: String,
    /// Opens the file for 30 minutes, without credentials.
    pub url: String,
    pub probative_attachment: ProbativeAttachment,
}

/// Qonto's PAdES copy of a receipt. Cardinal makes none: `{"status": "unavailable"}`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ProbativeAttachment {
    pub status: Text,
}

impl AttachmentBody {
    /// `attachment` with its download link (an absolute URL).
    pub fn of(attachment: &cardinal_store::Attachment, url: String) -> AttachmentBody {
        AttachmentBody {
            id: attachment.id,
            created_at: Time(attachment.created_at),
            file_name: attachment.file_name.clone(),
            file_size: attachment.file_size.to_string(),
            file_content_type: attachment.content_type.clone(),
            url,
            probative_attachment: ProbativeAttachment { status: "unavailable".into() },
        }
    }
}

crate::envelope!(
    /// `GET /v2/attachments/{id}`.
    AttachmentEnvelope { attachment: AttachmentBody }
);

/// `POST /v2/attachments` → `{"attachment": {"id"}}`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct UploadedAttachment {
    pub attachment: AttachmentId,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct AttachmentId {
    pub id: Uuid,
}

/// `GET /v2/transactions/{id}/attachments`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct AttachmentList {
    pub attachments: Vec<AttachmentBody>,
    pub meta: crate::Meta,
}

/// A label (`qonto-reference.md` §6).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "Label")]
pub struct LabelBody {
    pub id: Uuid,
    pub name: String,
    /// The list it is in; `null` for a list.
    pub parent_id: Option<Uuid>,
}

impl From<&cardinal_store::Label> for LabelBody {
    fn from(label: &cardinal_store::Label) -> LabelBody {
        LabelBody { id: label.id, name: label.name.clone(), parent_id: label.parent_id }
    }
}

crate::envelope!(
    /// `GET /v2/labels/{id}`; the control API's new label.
    LabelEnvelope { label: LabelBody }
);

crate::page!(
    /// `GET /v2/labels`.
    LabelList { labels: LabelBody }
);

/// `POST /_sandbox/organizations/{id}/labels`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct LabelRequest {
    #[schemars(length(min = 1, max = 100))]
    pub name: String,
    /// The list to put it in; none makes a list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<Uuid>,
}

/// `PUT /_sandbox/transactions/{id}/labels`: exactly these labels.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct TransactionLabels {
    #[schemars(length(max = 50))]
    pub label_ids: Vec<Uuid>,
}
