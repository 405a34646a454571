//! The card use cases below the HTTP surface: issuing a card (its number and CVV sealed
//! before they reach the store), the audit events every card change records and the webhook
//! events it reports. The `/v2`
//! handlers and the control API's seeding both call them.

pub mod audit;
pub mod events;
pub mod expiry;
pub mod issue;
