//! Answers rendered once and kept (card bodies, by the exact card they show), and what the
//! server-rendered pages share.

pub mod cards;
pub mod page;
