//! Cardinal's domain: the rules of a card program as plain data and pure functions.
//!
//! Nothing here performs I/O or reads the clock: every function that depends on time takes an
//! explicit `now`, so that organization clocks (sandbox time travel) and tests control it.

pub mod action;
pub mod attachments;
pub mod authorization;
pub mod card;
pub mod catalog;
pub mod error;
pub mod issuing;
pub mod kinds;
pub mod luhn;
pub mod money;
pub mod oauth;
pub mod organization;
pub mod permissions;
pub mod requests;
pub mod rules;
pub mod time;

pub use action::Transition;
pub use card::{Card, CardLevel, Category, Lifecycle, Status, SystemLockReason};
pub use error::{CardField, CardIssue, DomainError, FieldIssue};
pub use money::Cents;
pub use permissions::{CardAction, Relation, Role};
