//! Answers rendered once and kept: card bodies, by the exact card they show.

pub mod cards;
