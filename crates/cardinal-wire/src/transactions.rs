//! Card transactions.

use super::{time, Euros, Time};
use crate::Text;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Serialize;
use uuid::Uuid;

/// A card transaction as Qonto shows it (spec §6.3).
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
#[schemars(rename = "Transaction")]
pub struct TransactionBody {
    pub id: Uuid,
    pub transaction_id: String,
    pub amount: Euros,
    pub amount_cents: i64,
    pub currency: String,
    pub local_amount: Euros,
    pub local_amount_cents: i64,
    pub local_currency: String,
    #[schemars(schema_with = "sides")]
    pub side: String,
    pub operation_type: String,
    /// `pending`, `completed` or `declined` (reversed transactions show as declined).
    #[schemars(schema_with = "statuses")]
    pub status: Text,
    pub label: String,
    pub clean_counterparty_name: String,
    pub category: String,
    pub settled_balance: Option<Euros>,
    pub settled_balance_cents: Option<i64>,
    pub emitted_at: Time,
    pub settled_at: Option<Time>,
    pub created_at: Time,
    pub updated_at: Time,
    pub initiator_id: Uuid,
    pub card_last_digits: String,
    pub bank_account_id: Uuid,
    pub subject_type: Text,
    pub note: Option<String>,
    pub reference: Option<String>,
    pub attachment_ids: Vec<String>,
    pub label_ids: Vec<String>,
    pub attachment_lost: bool,
    pub attachment_required: bool,
    pub is_external_transaction: bool,
    /// Present only when asked for with `includes[]`, in Qonto's shapes (card payments carry
    /// no VAT details: their `items` are empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<crate::attachments::LabelBody>")]
    pub labels: Option<Vec<crate::attachments::LabelBody>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<crate::attachments::AttachmentBody>")]
    pub attachments: Option<Vec<crate::attachments::AttachmentBody>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "VatDetails")]
    pub vat_details: Option<VatDetails>,
}

/// `vat_details` of a transaction: `{"items": [...]}`.
#[derive(Debug, Serialize, serde::Deserialize, Default, JsonSchema)]
pub struct VatDetails {
    pub items: Vec<serde_json::Value>,
}

impl From<&cardinal_store::Transaction> for TransactionBody {
    fn from(t: &cardinal_store::Transaction) -> TransactionBody {
        use cardinal_store::TransactionStatus::*;
        TransactionBody {
            id: t.id,
            transaction_id: t.slug.clone(),
            amount: Euros(t.amount),
            amount_cents: t.amount.0,
            currency: t.currency.clone(),
            local_amount: Euros(t.amount),
            local_amount_cents: t.amount.0,
            local_currency: t.currency.clone(),
            side: t.side.clone(),
            operation_type: t.operation_type.clone(),
            status: match t.status {
                Pending => "pending".into(),
                Completed => "completed".into(),
                Reversed | Declined => "declined".into(),
            },
            label: t.label.clone(),
            clean_counterparty_name: t.label.clone(),
            category: t.category.clone(),
            settled_balance: t.settled_balance.map(Euros),
            settled_balance_cents: t.settled_balance.map(|b| b.0),
            emitted_at: Time(t.emitted_at),
            settled_at: time(t.settled_at),
            created_at: Time(t.created_at),
            updated_at: Time(t.updated_at),
            initiator_id: t.holder_id,
            card_last_digits: t.card_last_digits.clone(),
            bank_account_id: t.bank_account_id,
            subject_type: "card".into(),
            note: None,
            reference: None,
            attachment_ids: t.attachment_ids.iter().map(Uuid::to_string).collect(),
            label_ids: t.label_ids.iter().map(Uuid::to_string).collect(),
            attachment_lost: false,
            attachment_required: false,
            is_external_transaction: false,
            labels: None,
            attachments: None,
            vat_details: None,
        }
    }
}

fn sides(_: &mut SchemaGenerator) -> Schema {
    super::schema::one_of(["credit", "debit"])
}

fn statuses(_: &mut SchemaGenerator) -> Schema {
    super::schema::one_of(["pending", "declined", "completed"])
}
