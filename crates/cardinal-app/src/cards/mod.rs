//! Cards as the use cases see them: who may do what ([`member`]), new cards ([`create`]),
//! every change to an existing card through one commit ([`change`]), the settings a request
//! gives ([`settings`]), and expiry ([`expiry`]).

pub mod change;
pub mod create;
pub mod expiry;
pub mod member;
pub mod settings;
