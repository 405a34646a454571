//! Every request body, as a type: serde reads it and its JSON Schema (derived) is both the
//! OpenAPI document's and the one [`crate::validate`] checks a body against first. What a
//! schema cannot say (a card level's limits, an address the server will not dial) is checked
//! by the use case that owns the rule.
//!
//! `null` reads as absent in every optional field, as Qonto's API does.

use crate::schema;
use crate::{Limit, Money, Time};
use cardinal_domain::authorization::Channel;
use cardinal_domain::card::TypeOfPrint;
use cardinal_domain::{CardLevel, Role};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

/// `POST /v2/cards`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "CreateCardRequest")]
pub struct CreateCardRequest {
    pub card: CardFields,
}

/// `POST /v2/cards/bulk`: 1 to 50 items, each `{"card": {...}}` or the bare card object.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "BulkCreateRequest")]
pub struct BulkCreateRequest {
    #[schemars(length(min = 1, max = 50))]
    pub cards: Vec<BulkItem>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum BulkItem {
    Wrapped { card: CardFields },
    Bare(CardFields),
}

impl BulkItem {
    /// The card's fields, and the pointer they sit at in a bulk body's item `index`.
    pub fn fields(self, index: usize) -> (CardFields, String) {
        match self {
            BulkItem::Wrapped { card } => (card, format!("/cards/{index}/card")),
            BulkItem::Bare(card) => (card, format!("/cards/{index}")),
        }
    }
}

/// A card to create (spec §3.2). Which fields a level needs is the issuing rule's.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "CardFields")]
pub struct CardFields {
    #[schemars(schema_with = "schema::card_level")]
    pub card_level: CardLevel,
    pub holder_id: Uuid,
    pub bank_account_id: Uuid,
    /// Your organization's id or slug.
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initiator_id: Option<Uuid>,
    #[serde(default)]
    #[schemars(length(min = 1, max = 40))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_design: Option<String>,
    #[serde(flatten)]
    pub limits: LimitFields,
    #[serde(flatten)]
    pub options: OptionalOptions,
    #[serde(default)]
    #[schemars(schema_with = "schema::nullable_weekdays")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_days: Option<Vec<i64>>,
    #[serde(default)]
    #[schemars(schema_with = "schema::nullable_categories")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ship_to_business: Option<bool>,
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<AddressFields>,
    #[serde(default)]
    #[schemars(schema_with = "schema::nullable_type_of_print")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_of_print: Option<TypeOfPrint>,
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pre_expires_at: Option<Time>,
}

/// Where a physical card is shipped.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "ShippingAddress")]
pub struct AddressFields {
    #[schemars(length(min = 1, max = 100))]
    pub first_line: String,
    #[schemars(length(min = 1, max = 20))]
    pub zipcode: String,
    #[schemars(length(min = 1, max = 100))]
    pub city: String,
    /// ISO 3166 alpha-2.
    #[schemars(length(min = 2, max = 2))]
    pub country: String,
    #[serde(default)]
    #[schemars(length(max = 100))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_name: Option<String>,
    #[serde(default)]
    #[schemars(length(max = 100))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub second_line: Option<String>,
    #[serde(default)]
    #[schemars(length(max = 100))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub third_line: Option<String>,
}

/// The limits a create or `PATCH …/limits` body may set; absent ones stay as they are.
#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct LimitFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub atm_monthly_limit: Option<Limit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub atm_daily_limit: Option<Limit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub atm_daily_limit_option: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_monthly_limit: Option<Limit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_daily_limit: Option<Limit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_daily_limit_option: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_transaction_limit: Option<Limit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_transaction_limit_option: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_lifespan_limit: Option<Limit>,
}

/// The four payment options, each optional (creation).
#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct OptionalOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub atm_option: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nfc_option: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub online_option: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub foreign_option: Option<bool>,
}

/// `PATCH /v2/cards/{id}/limits`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "LimitsUpdate")]
pub struct LimitsUpdate {
    pub card: LimitFields,
}

/// `PATCH /v2/cards/{id}/nickname`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "NicknameUpdate")]
pub struct NicknameUpdate {
    pub card: Nickname,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Nickname {
    #[schemars(length(min = 1, max = 40))]
    pub nickname: String,
}

/// `PATCH /v2/cards/{id}/options`: all four are required (Qonto).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "OptionsUpdate")]
pub struct OptionsUpdate {
    pub card: Options,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Options {
    pub atm_option: bool,
    pub nfc_option: bool,
    pub online_option: bool,
    pub foreign_option: bool,
}

/// `PATCH /v2/cards/{id}/restrictions`: `active_days`, `categories`, or both.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "RestrictionsUpdate")]
pub struct RestrictionsUpdate {
    pub card: Restrictions,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Restrictions {
    #[serde(default)]
    #[schemars(schema_with = "schema::nullable_weekdays")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_days: Option<Vec<i64>>,
    #[serde(default)]
    #[schemars(schema_with = "schema::nullable_categories")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
}

/// `POST /v2/webhook_subscriptions`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "WebhookSubscriptionRequest")]
pub struct SubscriptionRequest {
    /// https; in the sandbox also http to a loopback or private address.
    #[schemars(length(max = 512), extend("format" = "uri"))]
    pub callback_url: String,
    #[schemars(schema_with = "schema::topics")]
    pub types: Vec<String>,
    /// Signs the deliveries; one is generated when absent.
    #[serde(default)]
    #[schemars(length(min = 32, max = 128))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(default)]
    #[schemars(length(max = 256))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `PUT /v2/webhook_subscriptions/{id}`: the fields to change; the others stay. A `null`
/// description removes it.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "WebhookSubscriptionUpdate")]
pub struct SubscriptionUpdate {
    #[serde(default)]
    #[schemars(length(max = 512), extend("format" = "uri"))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    #[serde(default)]
    #[schemars(schema_with = "schema::nullable_topics")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub types: Option<Vec<String>>,
    /// `Some(None)`: `"description": null`, which removes it.
    #[serde(default, deserialize_with = "kept_null")]
    #[schemars(length(max = 256), with = "Option<String>")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Option<String>>,
}

/// `POST /_sandbox/cards/{id}/authorizations`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "AuthorizationRequest")]
pub struct AuthorizationRequest {
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub amount: Money,
    #[serde(default)]
    #[schemars(schema_with = "schema::currency")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[schemars(schema_with = "schema::channel")]
    pub channel: Channel,
    pub merchant: Merchant,
    /// When it happens on the organization's clock (default: its now).
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<Time>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Merchant {
    #[schemars(length(min = 1, max = 100))]
    pub name: String,
    /// A card category, or `other`.
    #[schemars(schema_with = "schema::merchant_category")]
    pub category: String,
    /// ISO 3166 alpha-2.
    #[schemars(regex(pattern = r"^[A-Za-z]{2}$"))]
    pub country: String,
}

/// `POST /_operator/organizations`: every field optional in the sandbox, which makes up what
/// is missing; production needs `members`.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
#[schemars(rename = "SandboxOrganizationRequest")]
pub struct OrganizationRequest {
    #[schemars(length(min = 1, max = 100))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_name: Option<String>,
    #[schemars(regex(pattern = r"^[a-z0-9-]{1,50}$"))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    #[schemars(schema_with = "schema::nullable_sca_mode")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sca_mode: Option<String>,
    /// An IANA time zone, such as Europe/Paris.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balance: Option<Money>,
    /// ISO 3166 alpha-2, upper case.
    #[schemars(regex(pattern = r"^[A-Z]{2}$"))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[schemars(length(min = 1))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<MembershipRequest>>,
    /// Seed demo cards (sandbox only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cards: Option<bool>,
}

/// `POST /_operator/organizations/{id}/memberships`, and each of an organization's members.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "MembershipRequest")]
pub struct MembershipRequest {
    #[schemars(length(min = 1, max = 60))]
    pub first_name: String,
    #[schemars(length(min = 1, max = 60))]
    pub last_name: String,
    #[schemars(schema_with = "schema::role")]
    pub role: Role,
    #[serde(default)]
    #[schemars(length(min = 1, max = 60))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(default)]
    #[schemars(length(max = 254), extend("format" = "email"))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// `POST /_operator/organizations/{id}/bank_accounts`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "BankAccountRequest")]
pub struct BankAccountRequest {
    #[schemars(length(min = 1, max = 100))]
    pub name: String,
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balance: Option<Money>,
}

/// `POST /_operator/tokens`: a member's access token.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "TokenRequest")]
pub struct TokenRequest {
    pub membership_id: Uuid,
    /// Default: every scope.
    #[serde(default)]
    #[schemars(schema_with = "schema::nullable_scopes")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// Seconds; default: no expiry.
    #[serde(default)]
    #[schemars(range(min = 1))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
}

/// `POST /_operator/cards/{id}/system_locks`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "SystemLockRequest")]
pub struct SystemLockRequest {
    /// Such as `fraud_suspicion`.
    #[schemars(regex(pattern = r"^[a-z0-9_]{1,64}$"))]
    pub reason: String,
}

/// `POST /_sandbox/organizations/{id}/clock`: exactly one of the two.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "ClockRequest")]
pub struct ClockRequest {
    /// Seconds to move forward, at most 100 years.
    #[serde(default)]
    #[schemars(range(min = 0, max = 3_162_240_000i64))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advance_by: Option<i64>,
    /// A time to move to; never backwards.
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set: Option<Time>,
}

/// An optional field where `null` means something: absent is `None`, `null` is `Some(None)`.
fn kept_null<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// `X-Qonto-Idempotency-Key`: 1 to 255 visible ASCII characters (inner spaces allowed). The
/// header is checked against this schema, the one the document shows.
#[derive(Debug, JsonSchema)]
pub struct IdempotencyKey(
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[!-~]([ -~]*[!-~])?$"))] pub String,
);

impl IdempotencyKey {
    pub fn accepts(key: &str) -> bool {
        let value = serde_json::Value::String(key.to_owned());
        crate::validate::violations_of::<IdempotencyKey>(&value).is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::{keywords, schema_of, violations, violations_of, ANNOTATIONS, KEYWORDS};
    use serde_json::{json, Value};

    /// Every request body's schema, as requests are checked against it.
    fn every_request_schema() -> Vec<&'static Value> {
        vec![
            schema_of::<CreateCardRequest>(),
            schema_of::<BulkCreateRequest>(),
            schema_of::<LimitsUpdate>(),
            schema_of::<NicknameUpdate>(),
            schema_of::<OptionsUpdate>(),
            schema_of::<RestrictionsUpdate>(),
            schema_of::<SubscriptionRequest>(),
            schema_of::<SubscriptionUpdate>(),
            schema_of::<AuthorizationRequest>(),
            schema_of::<OrganizationRequest>(),
            schema_of::<MembershipRequest>(),
            schema_of::<BankAccountRequest>(),
            schema_of::<TokenRequest>(),
            schema_of::<SystemLockRequest>(),
            schema_of::<ClockRequest>(),
            schema_of::<IdempotencyKey>(),
        ]
    }

    #[test]
    fn every_constraint_a_request_schema_states_is_enforced() {
        for schema in every_request_schema() {
            for keyword in keywords(schema) {
                assert!(
                    KEYWORDS.contains(&keyword.as_str()) || ANNOTATIONS.contains(&keyword.as_str()),
                    "{keyword} is documented but not enforced: {schema:#}"
                );
            }
            assert!(!schema.to_string().contains("$ref"), "request schemas stand alone: {schema:#}");
        }
    }

    #[test]
    fn a_body_that_passes_its_schema_reads() {
        let card = json!({"card_level": "standard", "holder_id": uuid::Uuid::nil(), "bank_account_id": uuid::Uuid::nil(),
            "payment_monthly_limit": 1000.0, "nickname": null, "address": {"first_line": "1 rue", "zipcode": "75009",
            "city": "Paris", "country": "FR"}, "pre_expires_at": "2030-01-01T00:00:00+01:00", "active_days": [1, 7]});
        let bulk = json!({"cards": [{"card": card.clone()}, card.clone()]});
        assert_eq!(violations(schema_of::<BulkCreateRequest>(), &bulk), []);
        let read: BulkCreateRequest = serde_json::from_value(bulk).unwrap();
        let pointers: Vec<String> = read.cards.into_iter().enumerate().map(|(i, item)| item.fields(i).1).collect();
        assert_eq!(pointers, ["/cards/0/card", "/cards/1"]);
        let update = json!({"description": null});
        assert_eq!(violations(schema_of::<SubscriptionUpdate>(), &update), []);
        let read: SubscriptionUpdate = serde_json::from_value(update).unwrap();
        assert_eq!(read.description, Some(None), "null removes the description");
    }

    #[test]
    fn idempotency_keys_are_visible_ascii() {
        for fine in ["a", "order-1 retry", &"k".repeat(255)] {
            assert!(IdempotencyKey::accepts(fine), "{fine}");
        }
        for bad in ["", " a", "a ", &"k".repeat(256), "clé"] {
            assert!(!IdempotencyKey::accepts(bad), "{bad}");
        }
    }

    #[test]
    fn a_bad_card_is_refused_field_by_field() {
        let body = json!({"card": {"card_level": "gold", "holder_id": "nope", "payment_monthly_limit": 10.5,
            "active_days": [8], "nickname": "x".repeat(41)}});
        let found: Vec<(String, &str)> =
            violations(schema_of::<CreateCardRequest>(), &body).into_iter().map(|v| (v.pointer, v.code)).collect();
        for expected in [
            ("/card/bank_account_id", "required"),
            ("/card/card_level", "not_in_list"),
            ("/card/holder_id", "invalid"),
            ("/card/payment_monthly_limit", "invalid"),
            ("/card/active_days/0", "not_in_list"),
            ("/card/nickname", "too_long"),
        ] {
            assert!(found.contains(&(expected.0.to_owned(), expected.1)), "{expected:?} in {found:?}");
        }
        let kept: Vec<(String, &str)> =
            violations_of::<CreateCardRequest>(&body).into_iter().map(|v| (v.pointer, v.code)).collect();
        assert_eq!(kept, found, "the schema kept compiled finds what a fresh compile finds");
    }
}
