//! API tests: the router in-process, one organization (or more) per test.

mod support;

mod compat;
mod console;
mod control;
mod create;
mod data_view;
mod errors;
mod hardening;
mod idempotency;
mod listing;
mod lock_unlock;
mod metrics;
mod oauth;
mod oauth_library;
mod openapi;
mod operator;
mod organization;
mod payments;
mod permissions;
mod receipts;
mod request_log;
mod requests;
mod route_rules;
mod sca;
mod security;
mod strict_schema;
mod teams;
mod updates;
mod webhook_addresses;
mod webhook_fairness;
mod webhooks;
