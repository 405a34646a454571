//! Issuing a card (its number and CVV sealed before they reach the store), the audit events
//! every card change records and the webhook events it reports. The `/v2` handlers and
//! seeding both call them.

pub mod audit;
pub mod events;
pub mod issue;
