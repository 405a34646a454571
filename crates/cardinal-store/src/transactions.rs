//! Card transactions as the store keeps and lists them.

use crate::{BankAccount, PageRequest, StoredCard, Visibility};
use cardinal_domain::Cents;
use jiff::Timestamp;
use uuid::Uuid;

/// Where a card transaction is in its life. `Reversed` shows to Qonto clients as `declined`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionStatus {
    Pending,
    Completed,
    Reversed,
    Declined,
}

impl TransactionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TransactionStatus::Pending => "pending",
            TransactionStatus::Completed => "completed",
            TransactionStatus::Reversed => "reversed",
            TransactionStatus::Declined => "declined",
        }
    }

    pub fn parse(text: &str) -> Option<TransactionStatus> {
        [
            TransactionStatus::Pending,
            TransactionStatus::Completed,
            TransactionStatus::Reversed,
            TransactionStatus::Declined,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// One card payment attempt and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub bank_account_id: Uuid,
    pub card_id: Uuid,
    pub holder_id: Uuid,
    /// Readable id (`transaction_id` on the wire).
    pub slug: String,
    pub amount: Cents,
    pub currency: String,
    pub side: String,
    pub operation_type: String,
    pub status: TransactionStatus,
    pub decline_reason: Option<String>,
    /// The merchant's name.
    pub label: String,
    pub category: String,
    pub merchant_country: String,
    pub channel: String,
    /// Local dates of the day and month windows an approval was counted in.
    pub counted_day: Option<jiff::civil::Date>,
    pub counted_month: Option<jiff::civil::Date>,
    pub card_last_digits: String,
    pub emitted_at: Timestamp,
    pub settled_at: Option<Timestamp>,
    pub settled_balance: Option<Cents>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Its receipts, oldest first, and its labels.
    pub attachment_ids: Vec<Uuid>,
    pub label_ids: Vec<Uuid>,
}

/// Decides a payment on the locked card and its bank account; returns the transaction to
/// record and the webhook events it reports. Card, account, transaction and events are
/// written together.
pub type PaymentChange = Box<
    dyn FnMut(
            &mut StoredCard,
            &mut BankAccount,
        ) -> Result<(Transaction, Vec<crate::OutboxEvent>), cardinal_domain::DomainError>
        + Send
        + 'static,
>;

/// Changes a transaction together with its card and bank account (settle, reverse); returns
/// the webhook events the change reports, written with it.
pub type TransactionChange = Box<
    dyn FnMut(
            &mut Transaction,
            &mut StoredCard,
            &mut BankAccount,
        ) -> Result<Vec<crate::OutboxEvent>, cardinal_domain::DomainError>
        + Send
        + 'static,
>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionSortField {
    SettledAt,
    UpdatedAt,
    EmittedAt,
    CreatedAt,
}

/// An inclusive time range; either end may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeRange {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

/// How many of a card's newest transactions a card filter reaches. SQLite keeps their ids on
/// the card's row, which every payment rewrites anyway, instead of an index by card that cost
/// every payment a page of its own (docs/decisions.md, "Storage").
pub const RECENT_CARD_TRANSACTIONS: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionQuery {
    pub organization_id: Uuid,
    pub bank_account_id: Uuid,
    /// One card's transactions only, among its [`RECENT_CARD_TRANSACTIONS`] newest (the
    /// console's card page; Qonto's list has no such filter).
    pub card_id: Option<Uuid>,
    pub visibility: Visibility,
    pub statuses: Vec<TransactionStatus>,
    pub side: Option<String>,
    pub operation_types: Vec<String>,
    pub settled_at: TimeRange,
    pub updated_at: TimeRange,
    pub emitted_at: TimeRange,
    pub created_at: TimeRange,
    /// `Some(true)`: only transactions with an attachment; `Some(false)`: only those without.
    pub with_attachments: Option<bool>,
    pub sort: TransactionSortField,
    pub descending: bool,
    pub page: PageRequest,
    /// Whether the list's total is counted. Counting reads an index entry per transaction of
    /// the account; a reader that shows only the newest (the console) says `false`, and the
    /// page's `total` is then the number of its own items.
    pub counted: bool,
}

impl TransactionQuery {
    /// Every transaction of an account that the whole organization sees, unfiltered, sorted by
    /// `sort`: the list a query's filters narrow.
    pub fn of_account(
        organization_id: Uuid,
        bank_account_id: Uuid,
        sort: TransactionSortField,
        descending: bool,
        page: PageRequest,
    ) -> TransactionQuery {
        TransactionQuery {
            organization_id,
            bank_account_id,
            card_id: None,
            visibility: Visibility::All,
            statuses: vec![],
            side: None,
            operation_types: vec![],
            settled_at: TimeRange::default(),
            updated_at: TimeRange::default(),
            emitted_at: TimeRange::default(),
            created_at: TimeRange::default(),
            with_attachments: None,
            sort,
            descending,
            page,
            counted: true,
        }
    }
}
