//! Qonto's `/v2` resources, one module each: what each route reads from its request and
//! which use case it calls.

pub mod assets;
pub mod attachments;
pub mod cards;
pub mod consents;
pub mod iban_certificate;
pub mod labels;
pub mod organization;
pub mod requests;
pub mod sca;
pub mod teams;
pub mod transactions;
pub mod webhook_subscriptions;
