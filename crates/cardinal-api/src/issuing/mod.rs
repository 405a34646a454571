//! The card use cases below the HTTP surface: issuing a card (its number and CVV sealed
//! before they reach the store) and the audit events every card change records. The `/v2`
//! handlers and the control API's seeding both call them.

pub mod audit;
pub mod issue;
