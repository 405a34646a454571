//! Delivering webhook events (spec §7): the worker that claims due deliveries under a lease,
//! signs them as Qonto does and records every attempt. The events themselves are written in
//! the transactions of the changes they report (`cardinal_store::CardWrite`, the outbox).

pub mod address;
pub mod delivery;
pub mod signature;
pub mod subscriptions;
