//! Cards as the use cases see them: who may do what ([`member`]), every change to an existing
//! card through one commit ([`change`]), and expiry ([`expiry`]).

pub mod change;
pub mod expiry;
pub mod member;
