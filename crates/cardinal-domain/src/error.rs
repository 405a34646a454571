//! Why a domain rule refused an operation. The API layer maps each variant to a Qonto error.

use crate::action::CardAction;
use crate::kinds::{CardLevel, Status};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The card does not exist or the caller may not see it: both answer alike (spec §1.4).
    #[error("card not found")]
    NotFound,
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
