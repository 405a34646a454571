//! The schemas of `components.schemas`. Answers' schemas are derived from the wire types
//! that serialize them (`#[derive(JsonSchema)]`), so the document cannot drift from what is
//! sent; requests' are written here as the handlers' field readers take them.

use crate::operator::webhooks::{AttemptBody, DeliverySummary, SubscriptionHealthBody};
use crate::v2::cards::create::BulkBody;
use crate::v2::cards::CardBody;
use crate::v2::webhook_subscriptions::SubscriptionBody;
use crate::wire;
use schemars::generate::SchemaSettings;
use schemars::SchemaGenerator;
use serde_json::{json, Map, Value};

pub fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

pub fn enumeration(values: impl IntoIterator<Item = &'static str>) -> Value {
    json!({"type": "string", "enum": values.into_iter().collect::<Vec<_>>()})
}

fn object(properties: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": properties, "required": required})
}

fn nullable(mut schema: Value) -> Value {
    if let Some(kind) = schema.get("type").cloned() {
        schema["type"] = json!([kind, "null"]);
    }
    schema
}

fn wrap(key: &str, schema: Value) -> Value {
    json!({"type": "object", "properties": {key: schema}, "required": [key]})
}

fn list_of(key: &str, item: Value) -> Value {
    object(json!({key: {"type": "array", "items": item}, "meta": reference("Meta")}), &[key, "meta"])
}

/// Every schema the document names: the answers' derived from the wire types that serialize
/// them, the requests' as the handlers read them.
pub fn all(mut requests: SchemaGenerator, answers: SchemaGenerator) -> Value {
    let uuid = json!({"type": "string", "format": "uuid"});
    let text = json!({"type": "string"});
    let time = json!({"type": "string", "format": "date-time"});
    let money = json!({"type": "number"});
    let mut schemas = derived(answers);
    schemas.extend(requests.take_definitions(true));
    let written = json!({
        "CardList": list_of("cards", reference("Card")),
        "Error": object(json!({
            "errors": {"type": "array", "items": object(json!({"code": text, "detail": text,
                "source": {"type": "object", "properties": {"pointer": text, "parameter": text}}}), &["code", "detail"])},
            "trace_id": {"type": "string", "description": "equals the X-Request-Id response header"}}), &["errors", "trace_id"]),
        "ScaAnswer": object(json!({"code": enumeration(["sca_required", "sca_not_enrolled", "sca_denied", "sca_pending", "sca_session_invalid"]),
            "message": text, "action_type": text, "sca_session_token": text, "trace_id": text}), &["code", "message", "trace_id"]),
        "Appearances": object(json!({"card_type_appearances": {"type": "array", "items": {"type": "object"}}}), &["card_type_appearances"]),
        "SandboxOrganization": object(json!({"organization": {"type": "object"}, "bank_account": reference("BankAccount"),
            "api_key": object(json!({"login": text, "secret_key": text}), &["login", "secret_key"]),
            "memberships": {"type": "array", "items": {"type": "object"}},
            "cards": {"type": "array", "items": reference("Card")}}), &["organization", "bank_account", "api_key", "memberships", "cards"]),
        "AccessToken": object(json!({"access_token": text, "scopes": {"type": "array", "items": text}, "expires_at": nullable(time.clone())}),
            &["access_token", "scopes", "expires_at"]),
        "OpenApiDocument": {"type": "object"},
        "TransactionEnvelope": wrap("transaction", reference("Transaction")),
        "TransactionList": list_of("transactions", reference("Transaction")),
        "Authorization": wrap("authorization", object(json!({"id": uuid, "card_id": uuid,
            "decision": enumeration(["approved", "declined"]), "decline_reason": nullable(text.clone()), "amount": money,
            "transaction_id": uuid, "at": time}), &["id", "card_id", "decision", "decline_reason", "amount", "transaction_id", "at"])),
    });
    for written in [written, webhook_schemas(), operator_schemas()] {
        if let Value::Object(written) = written {
            schemas.extend(written);
        }
    }
    Value::Object(schemas)
}

/// The operator API's schemas written here: its requests and the organization views.
fn operator_schemas() -> Value {
    let uuid = json!({"type": "string", "format": "uuid"});
    let text = json!({"type": "string"});
    let time = json!({"type": "string", "format": "date-time"});
    json!({
        "OperatorOrganizationSummary": object(json!({"id": uuid, "slug": text, "legal_name": text, "locale": text,
            "timezone": text, "country": text, "sca_mode": enumeration(["required", "disabled", "not_enrolled"]),
            "now": time, "created_at": time}), &["id", "slug", "legal_name", "sca_mode", "now", "created_at"]),
        "OrganizationList": list_of("organizations", reference("OperatorOrganizationSummary")),
        "OperatorOrganization": wrap("organization", json!({"allOf": [reference("OperatorOrganizationSummary"), object(json!({
            "bank_accounts": {"type": "array", "items": reference("BankAccount")},
            "teams": {"type": "array", "items": object(json!({"id": uuid, "name": text}), &["id", "name"])},
            "memberships_count": {"type": "integer", "minimum": 0}}), &["bank_accounts", "teams", "memberships_count"])]})),
        "ApiKey": object(json!({"login": text, "secret_key": text, "created_at": time}), &["login", "secret_key", "created_at"]),
        "Reset": object(json!({"organization_id": uuid, "cards": {"type": "integer", "minimum": 0}, "now": time}),
            &["organization_id", "cards", "now"]),
    })
}

/// The webhook routes' schemas written here: envelopes and requests.
fn webhook_schemas() -> Value {
    let text = json!({"type": "string"});
    json!({
        "WebhookSubscriptionList": list_of("subscriptions", reference("WebhookSubscription")),
        "WebhookSubscriptionWithSecret": {"allOf": [reference("WebhookSubscription"), {"required": ["secret"]}]},
        "WebhookDeliveryList": list_of("webhook_deliveries", reference("WebhookDelivery")),
        "WebhookSubscriptionHealthList": list_of("webhook_subscriptions", reference("WebhookSubscriptionHealth")),
        "WebhookSubscriptionHealthEnvelope": wrap("webhook_subscription", reference("WebhookSubscriptionHealth")),
        "WebhookDeliveryEnvelope": wrap("webhook_delivery", json!({"allOf": [reference("WebhookDelivery"), object(json!({
            "callback_url": text, "body": {"type": "string", "description": "the exact body sent"},
            "attempts_made": {"type": "array", "items": reference("WebhookAttempt")}}),
            &["callback_url", "body", "attempts_made"])]})),
    })
}

/// The generator the request bodies' schemas are added to as operations name them: read as
/// serde reads them (a field with a default is not required).
pub fn request_generator() -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .for_deserialize()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .into_generator()
}

/// The schemas of the answers' wire types and of every type they use, by schema name.
/// The generator the answers' schemas are added to as operations name them: as serde writes
/// them (a field skipped when empty is not required).
pub fn answer_generator() -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .for_serialize()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .into_generator()
}

fn derived(mut generator: SchemaGenerator) -> Map<String, Value> {
    generator.subschema_for::<CardBody>();
    generator.subschema_for::<BulkBody>();
    generator.subschema_for::<wire::Meta>();
    generator.subschema_for::<wire::OrganizationBody>();
    generator.subschema_for::<wire::MembershipSummary>();
    generator.subschema_for::<wire::MembershipDetail>();
    generator.subschema_for::<wire::TransactionBody>();
    generator.subschema_for::<wire::EventBody>();
    generator.subschema_for::<SubscriptionBody>();
    generator.subschema_for::<DeliverySummary>();
    generator.subschema_for::<AttemptBody>();
    generator.subschema_for::<SubscriptionHealthBody>();
    generator.take_definitions(true)
}
