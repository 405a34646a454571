//! The problems a use case finds in a request that passed its schema: the core's collector,
//! which the adapters share.

pub use crate::app::issues::Issues;
