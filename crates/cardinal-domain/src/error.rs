//! Why a domain rule refused an operation. The API layer maps each variant to a Qonto error.

use crate::card::Status;
use crate::permissions::CardAction;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The card does not exist or the caller may not see it: both answer alike (spec §1.4).
    #[error("card not found")]
    NotFound,
    /// The caller sees the card but their role may not perform the action.
    #[error("{0}")]
    Forbidden(String),
    /// The card's state does not allow the action (spec §2.2).
    #[error("card is {status}: cannot {action}")]
    InvalidTransition { status: Status, action: CardAction },
    /// A field failed validation; `pointer` is a JSON pointer into the request body.
    #[error("{detail}")]
    Invalid { code: &'static str, pointer: String, detail: String },
}

impl DomainError {
    pub fn invalid(pointer: impl Into<String>, detail: impl Into<String>) -> DomainError {
        DomainError::Invalid { code: "invalid", pointer: pointer.into(), detail: detail.into() }
    }
}
