//! The OpenAPI 3.1 document of every route, built from [`crate::routes::operations`] and the
//! wire field tables, served at `/openapi.json`.

use crate::http::auth::scope;
use crate::routes::{operations, Operation, ParamKind, Reply, Surface};
use crate::wire::{FieldType, CARD_FIELDS};
use crate::Mode;
use cardinal_domain::card::{Category, Status};
use cardinal_domain::{CardLevel, Role};
use serde_json::{json, Map, Value};

/// The document for a server in `mode` reachable at `public_url`.
pub fn document(mode: Mode, public_url: &str) -> Value {
    let mut paths = Map::new();
    for (op, _) in operations() {
        if op.surface.sandbox_only() && mode == Mode::Production {
            continue;
        }
        let item = paths.entry(op.path).or_insert_with(|| json!({}));
        item[op.method] = operation(&op);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Cardinal",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Qonto Business API v2 card endpoints, served by Cardinal, plus Cardinal's sandbox control API.",
        },
        "servers": [{"url": public_url}],
        "paths": paths,
        "components": {"schemas": schemas(), "securitySchemes": security_schemes()},
    })
}

fn operation(op: &Operation) -> Value {
    let mut parameters: Vec<Value> = path_parameters(op.path)
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": path_schema(op, name)}))
        .collect();
    for p in op.query {
        let schema = query_schema(p.kind);
        parameters.push(
            json!({"name": p.name, "in": "query", "required": false, "description": p.description, "schema": schema}),
        );
    }
    if op.surface == Surface::Qonto && op.method != "get" {
        parameters.push(idempotency_header());
    }
    if op.sca.is_some() {
        parameters
            .push(header("X-Qonto-Sca-Session-Token", "The approved SCA session of the identical earlier request."));
    }
    let mut value = json!({
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [tag(op.surface)],
        "responses": responses(op),
    });
    if !parameters.is_empty() {
        value["parameters"] = Value::Array(parameters);
    }
    if let Some(schema) = op.request {
        value["requestBody"] =
            json!({"required": true, "content": {"application/json": {"schema": reference(schema)}}});
    }
    value["security"] = match op.surface {
        Surface::Qonto => {
            let scopes: Vec<&str> = op.scope.into_iter().collect();
            json!([{"oauth": scopes}, {"apiKey": []}])
        }
        Surface::Control => json!([{"adminToken": []}]),
        Surface::MockedSca | Surface::Public => json!([]),
    };
    if op.sca.is_some() {
        value["description"] = json!("Sensitive action: needs strong customer authentication (428 → approve → retry).");
    }
    value
}

fn query_schema(kind: ParamKind) -> Value {
    let uuid = json!({"type": "string", "format": "uuid"});
    match kind {
        ParamKind::Integer { min, max } => json!({"type": "integer", "minimum": min, "maximum": max}),
        ParamKind::String => json!({"type": "string"}),
        ParamKind::Strings => json!({"type": "array", "items": {"type": "string"}}),
        ParamKind::Uuid => uuid,
        ParamKind::Uuids => json!({"type": "array", "items": uuid}),
        ParamKind::OneOf(values) => enumeration(values()),
        ParamKind::AnyOf(values) => json!({"type": "array", "items": enumeration(values())}),
        ParamKind::DateOrTime => {
            json!({"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]})
        }
    }
}

/// Qonto's resource ids are UUIDs (a malformed one is a 404, like an unknown one); other path
/// segments are opaque tokens or names.
fn path_schema(op: &Operation, name: &str) -> Value {
    match (op.surface, name) {
        (Surface::Qonto | Surface::Control, "id") => json!({"type": "string", "format": "uuid"}),
        _ => json!({"type": "string"}),
    }
}

fn header(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "header", "required": false, "description": description, "schema": {"type": "string"}})
}

/// `X-Qonto-Idempotency-Key`: 1 to 255 visible ASCII characters (inner spaces allowed).
fn idempotency_header() -> Value {
    json!({"name": "X-Qonto-Idempotency-Key", "in": "header", "required": false,
        "description": "Makes the request safe to retry: a 2xx answer is replayed for 30 minutes.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]([ -~]*[!-~])?$"}})
}

fn path_parameters(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
}

fn tag(surface: Surface) -> &'static str {
    match surface {
        Surface::Qonto => "Qonto v2",
        Surface::MockedSca => "Qonto sandbox",
        Surface::Control => "Cardinal control API",
        Surface::Public => "Public",
    }
}

fn responses(op: &Operation) -> Value {
    let mut responses = Map::new();
    let (status, content) = match op.reply {
        Reply::Json(status, schema) => (status, Some(json!({"application/json": {"schema": reference(schema)}}))),
        Reply::NoContent => (204, None),
        Reply::Html => (200, Some(json!({"text/html": {"schema": {"type": "string"}}}))),
        Reply::Svg => (200, Some(json!({"image/svg+xml": {"schema": {"type": "string"}}}))),
        Reply::Pdf => (200, Some(json!({"application/pdf": {"schema": {"type": "string", "format": "binary"}}}))),
    };
    let mut success = json!({"description": "Success"});
    if let Some(content) = content {
        success["content"] = content;
    }
    responses.insert(status.to_string(), success);
    let error = |description: &str| json!({"description": description, "content": {"application/json": {"schema": reference("Error")}}});
    if op.reply == Reply::Html {
        responses.insert("410".into(), json!({"description": "The link was used or has expired", "content": {"text/html": {"schema": {"type": "string"}}}}));
    }
    if matches!(op.surface, Surface::Qonto | Surface::Control) {
        responses.insert("401".into(), error("Missing or invalid credential"));
    }
    if op.surface == Surface::Qonto {
        responses.insert("403".into(), error("Missing scope, or the role may not do this"));
    }
    if op.path.contains('{') {
        responses.insert("404".into(), error("Not found, or not visible to the caller"));
    }
    if op.request.is_some() || !op.query.is_empty() || op.method != "get" {
        responses.insert("422".into(), error("Invalid input or state (errors[].source points at the field)"));
    }
    if op.request.is_some() {
        responses.insert("400".into(), error("The body is not JSON"));
        responses.insert("413".into(), error("The body is over the size limit"));
    }
    if op.surface == Surface::Qonto && op.method != "get" {
        responses.insert("409".into(), error("The idempotency key's first request is still running"));
    }
    if op.sca.is_some() {
        let sca = json!({"application/json": {"schema": reference("ScaAnswer")}});
        responses.insert(
            "428".into(),
            json!({"description": "SCA required (or the organization is not enrolled)", "content": sca}),
        );
        responses.insert("412".into(), json!({"description": "SCA denied, expired or still pending", "content": sca}));
    }
    responses.insert("429".into(), error("Rate limited; see Retry-After"));
    Value::Object(responses)
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn security_schemes() -> Value {
    let scopes: Map<String, Value> = scope::ALL.iter().map(|s| (s.to_string(), json!(s))).collect();
    json!({
        "oauth": {"type": "oauth2", "description": "An OAuth access token: `Authorization: Bearer <token>`.",
            "flows": {"authorizationCode": {"authorizationUrl": "https://oauth.qonto.com/oauth2/auth",
                "tokenUrl": "https://oauth.qonto.com/oauth2/token", "scopes": scopes}}},
        "apiKey": {"type": "apiKey", "in": "header", "name": "Authorization",
            "description": "`<organization-slug>:<secret-key>`, read-only."},
        "adminToken": {"type": "http", "scheme": "bearer", "description": "The control API's admin token."},
    })
}

fn enumeration(values: impl IntoIterator<Item = &'static str>) -> Value {
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

fn card_schema() -> Value {
    let mut properties = Map::new();
    for (name, kind, is_nullable) in CARD_FIELDS {
        let schema = match kind {
            FieldType::String => json!({"type": "string"}),
            FieldType::Uuid => json!({"type": "string", "format": "uuid"}),
            FieldType::Timestamp => json!({"type": "string", "format": "date-time"}),
            FieldType::Bool => json!({"type": "boolean"}),
            FieldType::Number => json!({"type": "number", "description": "euros"}),
            FieldType::Integer => json!({"type": "integer", "description": "whole euros"}),
            FieldType::Integers => json!({"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 7}}),
            FieldType::Strings => json!({"type": "array", "items": {"type": "string"}}),
            FieldType::Object => json!({"type": "object"}),
        };
        properties.insert(name.to_string(), if *is_nullable { nullable(schema) } else { schema });
    }
    properties.insert("status".into(), enumeration(Status::ALL.iter().map(|s| s.as_str())));
    properties.insert("card_level".into(), enumeration(CardLevel::ALL.iter().map(|l| l.as_str())));
    let required: Vec<&str> = CARD_FIELDS.iter().map(|(name, _, _)| *name).collect();
    json!({"type": "object", "properties": properties, "required": required})
}

fn limit_properties() -> Value {
    let money = json!({"type": "integer", "minimum": 0, "description": "whole euros"});
    let flag = json!({"type": "boolean"});
    json!({
        "atm_monthly_limit": money, "atm_daily_limit": money, "atm_daily_limit_option": flag,
        "payment_monthly_limit": money, "payment_daily_limit": money, "payment_daily_limit_option": flag,
        "payment_transaction_limit": money, "payment_transaction_limit_option": flag, "payment_lifespan_limit": money,
    })
}

fn create_card_schema() -> Value {
    let mut properties = limit_properties();
    let uuid = json!({"type": "string", "format": "uuid"});
    let more = json!({
        "holder_id": uuid, "bank_account_id": uuid, "initiator_id": uuid,
        "organization_id": {"type": "string", "description": "your organization's id or slug"},
        "card_level": enumeration(CardLevel::ALL.iter().map(|l| l.as_str())),
        "nickname": {"type": "string", "minLength": 1, "maxLength": 40},
        "card_design": {"type": "string"},
        "active_days": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 7}},
        "categories": {"type": "array", "items": enumeration(Category::ALL.iter().map(|c| c.as_str()))},
        "atm_option": {"type": "boolean"}, "nfc_option": {"type": "boolean"},
        "online_option": {"type": "boolean"}, "foreign_option": {"type": "boolean"},
        "ship_to_business": {"type": "boolean"},
        "address": object(json!({"contact_name": {"type": "string", "maxLength": 100},
            "first_line": {"type": "string", "minLength": 1, "maxLength": 100},
            "second_line": {"type": "string", "maxLength": 100}, "third_line": {"type": "string", "maxLength": 100},
            "zipcode": {"type": "string", "minLength": 1, "maxLength": 20},
            "city": {"type": "string", "minLength": 1, "maxLength": 100},
            "country": {"type": "string", "minLength": 1, "maxLength": 2}}),
            &["first_line", "zipcode", "city", "country"]),
        "type_of_print": enumeration(["print", "embossed"]),
        "pre_expires_at": {"type": "string", "format": "date-time"},
    });
    if let (Some(p), Some(m)) = (properties.as_object_mut(), more.as_object()) {
        p.extend(m.clone());
    }
    object(properties, &["holder_id", "bank_account_id", "card_level"])
}

fn wrap(key: &str, schema: Value) -> Value {
    json!({"type": "object", "properties": {key: schema}, "required": [key]})
}

fn list_of(key: &str, item: Value) -> Value {
    object(json!({key: {"type": "array", "items": item}, "meta": reference("Meta")}), &[key, "meta"])
}

fn schemas() -> Value {
    let uuid = json!({"type": "string", "format": "uuid"});
    let text = json!({"type": "string"});
    let time = json!({"type": "string", "format": "date-time"});
    let integer = json!({"type": "integer"});
    let money = json!({"type": "number"});
    let bank_account = object(
        json!({"id": uuid, "name": text, "organization_id": uuid, "status": text, "main": {"type": "boolean"},
            "iban": text, "bic": text, "currency": text, "balance": money, "balance_cents": integer,
            "authorized_balance": money, "authorized_balance_cents": integer, "updated_at": time}),
        &[
            "id",
            "name",
            "organization_id",
            "status",
            "main",
            "iban",
            "bic",
            "currency",
            "balance",
            "balance_cents",
            "authorized_balance",
            "authorized_balance_cents",
            "updated_at",
        ],
    );
    let role = enumeration(Role::ALL.iter().map(|r| r.as_str()));
    let membership = object(
        json!({"id": uuid, "first_name": text, "last_name": text, "role": role, "status": text, "team_id": nullable(uuid.clone())}),
        &["id", "first_name", "last_name", "role", "status", "team_id"],
    );
    let membership_detail = object(
        json!({"id": uuid, "first_name": text, "last_name": text, "email": text, "role": role, "status": text,
            "team_id": nullable(uuid.clone()), "locale": text}),
        &["id", "first_name", "last_name", "email", "role", "status", "team_id", "locale"],
    );
    json!({
        "Card": card_schema(),
        "CardEnvelope": wrap("card", reference("Card")),
        "CardList": list_of("cards", reference("Card")),
        "BulkCards": wrap("cards", json!({"type": "array", "items": reference("CardEnvelope")})),
        "Meta": object(json!({"current_page": integer, "next_page": nullable(integer.clone()), "prev_page": nullable(integer.clone()),
            "total_pages": integer, "total_count": integer, "per_page": integer}),
            &["current_page", "next_page", "prev_page", "total_pages", "total_count", "per_page"]),
        "Error": object(json!({
            "errors": {"type": "array", "items": object(json!({"code": text, "detail": text,
                "source": {"type": "object", "properties": {"pointer": text, "parameter": text}}}), &["code", "detail"])},
            "trace_id": {"type": "string", "description": "equals the X-Request-Id response header"}}), &["errors", "trace_id"]),
        "ScaAnswer": object(json!({"code": enumeration(["sca_required", "sca_not_enrolled", "sca_denied", "sca_pending", "sca_session_invalid"]),
            "message": text, "action_type": text, "sca_session_token": text, "trace_id": text}), &["code", "message", "trace_id"]),
        "ScaSession": object(json!({"result": enumeration(["waiting", "allow", "deny"]), "canceled_at": nullable(time.clone())}),
            &["result", "canceled_at"]),
        "Message": object(json!({"message": text}), &["message"]),
        "CreateCardRequest": wrap("card", create_card_schema()),
        "BulkCreateRequest": wrap("cards", json!({"type": "array", "minItems": 1, "maxItems": 50,
            "items": {"oneOf": [wrap("card", reference("CardFields")), reference("CardFields")]}})),
        "CardFields": create_card_schema(),
        "LimitsUpdate": wrap("card", object(limit_properties(), &[])),
        "NicknameUpdate": wrap("card", object(json!({"nickname": {"type": "string", "minLength": 1, "maxLength": 40}}), &["nickname"])),
        "OptionsUpdate": wrap("card", object(json!({"atm_option": {"type": "boolean"}, "nfc_option": {"type": "boolean"},
            "online_option": {"type": "boolean"}, "foreign_option": {"type": "boolean"}}),
            &["atm_option", "nfc_option", "online_option", "foreign_option"])),
        "RestrictionsUpdate": wrap("card", object(json!({
            "active_days": {"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 1, "maximum": 7}},
            "categories": {"type": "array", "items": enumeration(Category::ALL.iter().map(|c| c.as_str()))}}), &[])),
        "DataViewLink": object(json!({"iframe_url": {"type": "string", "format": "uri"}}), &["iframe_url"]),
        "Appearances": object(json!({"card_type_appearances": {"type": "array", "items": {"type": "object"}}}), &["card_type_appearances"]),
        "BankAccount": bank_account,
        "BankAccountEnvelope": wrap("bank_account", reference("BankAccount")),
        "BankAccountList": list_of("bank_accounts", reference("BankAccount")),
        "OrganizationEnvelope": wrap("organization", object(json!({"id": uuid, "slug": text, "legal_name": text, "locale": text,
            "bank_accounts": {"type": "array", "items": reference("BankAccount")}}), &["id", "slug", "legal_name", "locale", "bank_accounts"])),
        "Membership": membership,
        "MembershipList": list_of("memberships", reference("Membership")),
        "MembershipEnvelope": wrap("membership", membership_detail),
        "SandboxOrganizationRequest": object(json!({"legal_name": text, "slug": text,
            "sca_mode": enumeration(["required", "disabled", "not_enrolled"]), "timezone": text, "balance": money,
            "country": text, "cards": {"type": "boolean"},
            "members": {"type": "array", "items": object(json!({"first_name": text, "last_name": text, "role": role, "team": text}),
                &["first_name", "last_name", "role"])}}), &[]),
        "SandboxOrganization": object(json!({"organization": {"type": "object"}, "bank_account": reference("BankAccount"),
            "api_key": object(json!({"login": text, "secret_key": text}), &["login", "secret_key"]),
            "memberships": {"type": "array", "items": {"type": "object"}},
            "cards": {"type": "array", "items": reference("Card")}}), &["organization", "bank_account", "api_key", "memberships", "cards"]),
        "ClockRequest": object(json!({"advance_by": {"type": "integer", "minimum": 0}, "set": time}), &[]),
        "Clock": object(json!({"now": time}), &["now"]),
        "TokenRequest": object(json!({"membership_id": uuid, "scopes": {"type": "array", "items": enumeration(scope::ALL.iter().copied())},
            "expires_in": {"type": "integer", "minimum": 1}}), &["membership_id"]),
        "AccessToken": object(json!({"access_token": text, "scopes": {"type": "array", "items": text}, "expires_at": nullable(time.clone())}),
            &["access_token", "scopes", "expires_at"]),
        "SystemLockRequest": object(json!({"reason": {"type": "string", "pattern": "^[a-z0-9_]{1,64}$"}}), &["reason"]),
        "Events": object(json!({"events": {"type": "array", "items": object(json!({"id": uuid, "action": text,
            "actor": object(json!({"type": enumeration(["membership", "api_key", "system"]), "id": nullable(uuid.clone())}), &["type", "id"]),
            "from_status": nullable(text.clone()), "to_status": text, "changes": {"type": "object"}, "request_id": text, "at": time}),
            &["id", "action", "actor", "from_status", "to_status", "changes", "request_id", "at"])}}), &["events"]),
        "Status": object(json!({"status": text}), &["status"]),
        "OpenApiDocument": {"type": "object"},
        "Transaction": object(json!({"id": uuid, "transaction_id": text, "amount": money, "amount_cents": integer,
            "currency": text, "local_amount": money, "local_amount_cents": integer, "local_currency": text,
            "side": enumeration(["credit", "debit"]), "operation_type": text,
            "status": enumeration(["pending", "declined", "completed"]), "label": text, "clean_counterparty_name": text,
            "category": text, "settled_balance": nullable(money.clone()), "settled_balance_cents": nullable(integer.clone()),
            "emitted_at": time, "settled_at": nullable(time.clone()), "created_at": time, "updated_at": time,
            "initiator_id": uuid, "card_last_digits": text, "bank_account_id": uuid, "subject_type": text,
            "note": nullable(text.clone()), "reference": nullable(text.clone()),
            "attachment_ids": {"type": "array", "items": text}, "label_ids": {"type": "array", "items": text},
            "attachment_lost": {"type": "boolean"}, "attachment_required": {"type": "boolean"},
            "is_external_transaction": {"type": "boolean"}}),
            &["id", "transaction_id", "amount", "amount_cents", "currency", "side", "operation_type", "status", "label",
              "emitted_at", "settled_at", "initiator_id", "card_last_digits", "bank_account_id"]),
        "TransactionEnvelope": wrap("transaction", reference("Transaction")),
        "TransactionList": list_of("transactions", reference("Transaction")),
        "AuthorizationRequest": object(json!({"amount": {"type": "number", "exclusiveMinimum": 0}, "currency": enumeration(["EUR"]),
            "channel": enumeration(["chip", "contactless", "online", "atm"]),
            "merchant": object(json!({"name": text, "category": text, "country": text}), &["name", "category", "country"]),
            "at": time}), &["amount", "channel", "merchant"]),
        "Authorization": wrap("authorization", object(json!({"id": uuid, "card_id": uuid,
            "decision": enumeration(["approved", "declined"]), "decline_reason": nullable(text.clone()), "amount": money,
            "transaction_id": uuid, "at": time}), &["id", "card_id", "decision", "decline_reason", "amount", "transaction_id", "at"])),
    })
}
