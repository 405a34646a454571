//! What each route's query takes, as the OpenAPI document lists it (and the handler checks it).

use super::{param, Param, ParamKind};
use crate::v2::cards;
use crate::v2::{iban_certificate, transactions};

pub(super) const PAGINATION: [Param; 2] = [
    param("page", ParamKind::Integer { min: 1, max: u32::MAX as u64 }, "Page number, from 1."),
    param("per_page", ParamKind::Integer { min: 1, max: 100 }, "Items per page, 1 to 100 (default 100)."),
];

fn card_statuses() -> Vec<&'static str> {
    cardinal_domain::Status::ALL.iter().map(|s| s.as_str()).collect()
}

fn card_levels() -> Vec<&'static str> {
    cardinal_domain::CardLevel::ALL.iter().map(|l| l.as_str()).collect()
}

fn card_sorts() -> Vec<&'static str> {
    cards::SORTS.to_vec()
}

fn transaction_statuses() -> Vec<&'static str> {
    transactions::STATUSES.to_vec()
}

fn sides() -> Vec<&'static str> {
    transactions::SIDES.to_vec()
}

fn transaction_sorts() -> Vec<&'static str> {
    transactions::SORTS.to_vec()
}

fn transaction_includes() -> Vec<&'static str> {
    transactions::INCLUDES.to_vec()
}

fn booleans() -> Vec<&'static str> {
    vec!["true", "false"]
}

fn certificate_locales() -> Vec<&'static str> {
    iban_certificate::LOCALES.to_vec()
}

pub(super) const CARD_LIST_QUERY: &[Param] = &[
    param(
        "query",
        ParamKind::String,
        "Case-insensitive search over holder name, card id, nickname, last digits, status, expiry.",
    ),
    param("sort_by", ParamKind::OneOf(card_sorts), "A field, then `:asc` or `:desc` (default `created_at:desc`)."),
    param("holder_ids[]", ParamKind::Uuids, "Membership ids of card holders."),
    param("statuses[]", ParamKind::AnyOf(card_statuses), "Card statuses."),
    param("bank_account_ids[]", ParamKind::Uuids, "Bank account ids."),
    param("card_levels[]", ParamKind::AnyOf(card_levels), "Card levels."),
    param("ids[]", ParamKind::Uuids, "Card ids."),
    PAGINATION[0],
    PAGINATION[1],
];

pub(super) const TRANSACTION_QUERY: &[Param] = &[
    param("bank_account_id", ParamKind::Uuid, "The bank account (this or iban is required; this one wins)."),
    param("iban", ParamKind::String, "The bank account's IBAN."),
    param("status[]", ParamKind::AnyOf(transaction_statuses), "Transaction statuses."),
    param("side", ParamKind::OneOf(sides), "`credit` or `debit`."),
    param("operation_type[]", ParamKind::Strings, "Operation types (`card`)."),
    param("settled_at_from", ParamKind::DateOrTime, "Inclusive; a date means from its first second (UTC)."),
    param("settled_at_to", ParamKind::DateOrTime, "Inclusive; a date means to its last second (UTC)."),
    param("updated_at_from", ParamKind::DateOrTime, "Inclusive; a date means from its first second (UTC)."),
    param("updated_at_to", ParamKind::DateOrTime, "Inclusive; a date means to its last second (UTC)."),
    param("emitted_at_from", ParamKind::DateOrTime, "Inclusive; a date means from its first second (UTC)."),
    param("emitted_at_to", ParamKind::DateOrTime, "Inclusive; a date means to its last second (UTC)."),
    param("created_at_from", ParamKind::DateOrTime, "Inclusive; a date means from its first second (UTC)."),
    param("created_at_to", ParamKind::DateOrTime, "Inclusive; a date means to its last second (UTC)."),
    param(
        "with_attachments",
        ParamKind::OneOf(booleans),
        "Only transactions with (`true`) or without (`false`) attachments.",
    ),
    param("includes[]", ParamKind::AnyOf(transaction_includes), "Related objects to add to each transaction."),
    param(
        "sort_by",
        ParamKind::OneOf(transaction_sorts),
        "A field, then `:asc` or `:desc` (default `settled_at:desc`; pending first).",
    ),
    PAGINATION[0],
    PAGINATION[1],
];

fn delivery_statuses() -> Vec<&'static str> {
    cardinal_store::DeliveryStatus::ALL.iter().map(|s| s.as_str()).collect()
}

pub(super) const CARD_EVENTS_QUERY: &[Param] = &[param(
    "newest",
    ParamKind::Integer { min: 1, max: crate::operator::cards::NEWEST_EVENTS_MAX as u64 },
    "Only the latest N events (still oldest first); without it, all of them.",
)];

pub(super) const DELIVERY_QUERY: &[Param] = &[
    param("status", ParamKind::OneOf(delivery_statuses), "`pending`, `delivered` or `failed`."),
    param("subscription_id", ParamKind::Uuid, "One subscription's deliveries."),
    PAGINATION[0],
    PAGINATION[1],
];

pub(super) const TRANSACTION_SHOW_QUERY: &[Param] =
    &[param("includes[]", ParamKind::AnyOf(transaction_includes), "Related objects to add to the transaction.")];

pub(super) const AUTHORIZE_QUERY: &[Param] = &[
    param("response_type", ParamKind::String, "`code`."),
    param("client_id", ParamKind::String, "The registered client."),
    param("redirect_uri", ParamKind::String, "Exactly one the client registered; else an error page."),
    param(
        "scope",
        ParamKind::String,
        "Space-separated scopes; `offline_access` for a refresh token, `openid` for an ID token.",
    ),
    param("state", ParamKind::String, "At least 8 characters, given back untouched."),
    param("code_challenge", ParamKind::String, "PKCE: BASE64URL(SHA-256(code_verifier))."),
    param("code_challenge_method", ParamKind::String, "`S256`."),
    param("nonce", ParamKind::String, "OpenID Connect: given back in the ID token."),
    param("organization_id", ParamKind::String, "Pre-selects the organization."),
    param("ui_locales", ParamKind::String, "`en` or `fr` (else Accept-Language)."),
];

pub(super) const REQUEST_LOG_FILTER: [Param; 3] = [
    param("status", ParamKind::String, "A status (`404`) or a class (`4xx`)."),
    param("path", ParamKind::String, "Part of the path (`/v2/cards`)."),
    param("request_id", ParamKind::String, "The request's id (`X-Request-Id`, an error's `trace_id`)."),
];

pub(super) const REQUEST_LOG_QUERY: &[Param] =
    &[REQUEST_LOG_FILTER[0], REQUEST_LOG_FILTER[1], REQUEST_LOG_FILTER[2], PAGINATION[0], PAGINATION[1]];

pub(super) const IBAN_CERTIFICATE_QUERY: &[Param] = &[param(
    "locale",
    ParamKind::OneOf(certificate_locales),
    "The certificate's language (default: the organization's country's).",
)];

fn request_statuses() -> Vec<&'static str> {
    cardinal_domain::requests::RequestStatus::ALL.iter().map(|s| s.as_str()).collect()
}

fn request_types() -> Vec<&'static str> {
    cardinal_domain::requests::RequestType::ALL.iter().map(|t| t.as_str()).collect()
}

fn request_sorts() -> Vec<&'static str> {
    vec![
        "created_at",
        "created_at:asc",
        "created_at:desc",
        "processed_at",
        "processed_at:asc",
        "processed_at:desc",
        "status",
        "status:asc",
        "status:desc",
    ]
}

pub(super) const FILE_LINK_QUERY: &[Param] = &[
    param(
        "expires",
        ParamKind::Integer { min: 0, max: i64::MAX as u64 },
        "When the link stops working (Unix seconds).",
    ),
    param("signature", ParamKind::String, "The link's signature."),
];

pub(super) const REQUEST_QUERY: &[Param] = &[
    param("status[]", ParamKind::AnyOf(request_statuses), "Request statuses."),
    param("request_type[]", ParamKind::AnyOf(request_types), "`flash_card`, `virtual_card`."),
    param("created_at_from", ParamKind::DateOrTime, "Inclusive; a date means from its first second (UTC)."),
    param("processed_at_from", ParamKind::DateOrTime, "Inclusive; a date means from its first second (UTC)."),
    param("sort_by", ParamKind::OneOf(request_sorts), "`{created_at|processed_at|status}:{asc|desc}`."),
    PAGINATION[0],
    PAGINATION[1],
];
