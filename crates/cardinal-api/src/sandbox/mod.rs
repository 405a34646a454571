//! Cardinal's control API (sandbox mode only): organizations with members and cards, tokens,
//! the clock, system locks, simulated payments, audit events.

pub mod control;
pub mod payments;
pub mod seed;
pub mod webhooks;
