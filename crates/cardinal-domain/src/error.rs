//! Why a domain rule refused an operation. The API layer maps each variant to a Qonto error.

use crate::action::CardAction;
use crate::kinds::{CardLevel, Status};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The card does not exist or the caller may not see it: both answer alike (spec §1.4).
    #[error("card not found")]
    NotFound,
    /// Something other than a card does not exist or is not the caller's to see.
    #[error("{0} not found")]
    Missing(&'static str),
    /// The caller sees the card but their role may not perform the action.
    #[error("{0}")]
    Forbidden(String),
    /// The card's state does not allow the action (spec §2.2): "a lost card cannot be locked".
    #[error("{} {status} card cannot {}", article(status.as_str()), action.passive())]
    InvalidTransition { status: Status, action: CardAction },
    /// The card's level never allows the action: "a virtual card cannot be reported lost".
    #[error("{} {level} card cannot {}", article(level.as_str()), action.passive())]
    WrongLevel { level: CardLevel, action: CardAction },
    /// Something other than a card is not in a state that allows the action
    /// (e.g. settling a transaction twice).
    #[error("{0}")]
    InvalidState(String),
    /// Fields failed validation.
    #[error("{}", .0.iter().map(|i| i.detail.as_str()).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldIssue>),
    /// A card's settings break its rules (spec §3.2, §3.5), each named by its field; the
    /// adapter says where the card sits in its request.
    #[error("{}", .0.iter().map(|i| i.detail.as_str()).collect::<Vec<_>>().join("; "))]
    InvalidCard(Vec<CardIssue>),
}

/// One field that failed validation; `pointer` is a JSON pointer into the request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldIssue {
    pub code: &'static str,
    pub pointer: String,
    pub detail: String,
}

impl FieldIssue {
    pub fn new(code: &'static str, pointer: impl Into<String>, detail: impl Into<String>) -> FieldIssue {
        FieldIssue { code, pointer: pointer.into(), detail: detail.into() }
    }

    pub fn invalid(pointer: impl Into<String>, detail: impl Into<String>) -> FieldIssue {
        FieldIssue::new("invalid", pointer, detail)
    }
}

impl DomainError {
    pub fn invalid(pointer: impl Into<String>, detail: impl Into<String>) -> DomainError {
        DomainError::Invalid(vec![FieldIssue::invalid(pointer, detail)])
    }

    /// `Ok` when there is nothing to report.
    pub fn check(issues: Vec<FieldIssue>) -> Result<(), DomainError> {
        if issues.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Invalid(issues))
        }
    }
}

/// "a" or "an" before a word, for details that read as English sentences.
pub fn article(word: &str) -> &'static str {
    match word.as_bytes().first() {
        Some(b'a' | b'e' | b'i' | b'o' | b'u') => "an",
        _ => "a",
    }
}

/// A card setting a rule can refuse, named as Qonto names its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardField {
    PaymentMonthlyLimit,
    AtmMonthlyLimit,
    PaymentDailyLimit,
    AtmDailyLimit,
    PaymentTransactionLimit,
    PaymentLifespanLimit,
    AtmOption,
    NfcOption,
    ActiveDays,
    Categories,
    Nickname,
}

impl CardField {
    pub const fn as_str(self) -> &'static str {
        match self {
            CardField::PaymentMonthlyLimit => "payment_monthly_limit",
            CardField::AtmMonthlyLimit => "atm_monthly_limit",
            CardField::PaymentDailyLimit => "payment_daily_limit",
            CardField::AtmDailyLimit => "atm_daily_limit",
            CardField::PaymentTransactionLimit => "payment_transaction_limit",
            CardField::PaymentLifespanLimit => "payment_lifespan_limit",
            CardField::AtmOption => "atm_option",
            CardField::NfcOption => "nfc_option",
            CardField::ActiveDays => "active_days",
            CardField::Categories => "categories",
            CardField::Nickname => "nickname",
        }
    }
}

/// A rule a card setting breaks: which field, Qonto's code, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardIssue {
    pub code: &'static str,
    pub field: CardField,
    pub detail: String,
}

impl CardIssue {
    pub(crate) fn new(code: &'static str, field: CardField, detail: impl Into<String>) -> CardIssue {
        CardIssue { code, field, detail: detail.into() }
    }

    pub(crate) fn invalid(field: CardField, detail: impl Into<String>) -> CardIssue {
        CardIssue::new("invalid", field, detail)
    }

    /// The issue placed where the card's fields sit in a request: under `prefix`, e.g.
    /// `/card` or `/cards/3/card`.
    pub fn at(&self, prefix: &str) -> FieldIssue {
        FieldIssue::new(self.code, format!("{prefix}/{}", self.field.as_str()), self.detail.clone())
    }
}
