//! The OpenAPI 3.1 document of every route, built from [`crate::routes::operations`] and the
//! schemas derived from the wire types ([`schemas`]), served at `/openapi.json`.

use crate::http::auth::scope;
use crate::http::error::{ErrorAnswer, FlatError, ScaAnswer};
use crate::routes::{Operation, ParamKind, Reply, Served, Surface};
use crate::wire::oauth::OAuthErrorAnswer;
use crate::wire::requests::IdempotencyKey;
use crate::wire::schema;
use schemars::Schema;
use schemars::SchemaGenerator;
use serde_json::{json, Map, Value};
use uuid::Uuid;

mod schemas;

/// The document of the route table `operations` for a server serving `served` reachable at
/// `public_url`.
pub fn document(operations: &[Operation], served: Served, public_url: &str) -> Value {
    let (mut requests, mut answers) = (schemas::request_generator(), schemas::answer_generator());
    let mut paths = Map::new();
    for op in operations {
        if !served.surface(op.surface) {
            continue;
        }
        let item = paths.entry(op.path).or_insert_with(|| json!({}));
        item[op.method] = operation(op, &mut requests, &mut answers);
        // The former sandbox path of an operator route: the same operation, deprecated.
        if let Some(alias) = op.alias.filter(|_| served.aliases()) {
            let mut old = operation(op, &mut requests, &mut answers);
            old["operationId"] = json!(format!("{}SandboxAlias", op.operation_id));
            old["deprecated"] = json!(true);
            old["description"] = json!(format!(
                "Former path of `{} {}`; answers only in the sandbox.",
                op.method.to_uppercase(),
                op.path
            ));
            paths.entry(alias).or_insert_with(|| json!({}))[op.method] = old;
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Cardinal",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Qonto Business API v2 card endpoints, served by Cardinal, plus Cardinal's operator API and sandbox control API.",
        },
        "servers": [{"url": public_url}],
        "paths": paths,
        "components": {"schemas": schemas::all(requests, answers), "securitySchemes": security_schemes(served, public_url)},
    })
}

fn operation(op: &Operation, requests: &mut SchemaGenerator, answers: &mut SchemaGenerator) -> Value {
    let mut parameters: Vec<Value> = path_parameters(op.path)
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": path_schema(op, name, requests)}))
        .collect();
    for p in op.query {
        let schema = query_schema(p.kind, requests);
        parameters.push(
            json!({"name": p.name, "in": "query", "required": false, "description": p.description, "schema": schema}),
        );
    }
    if op.takes_idempotency_keys() {
        parameters.push(idempotency_header(requests));
    }
    if op.sca.is_some() {
        let description = "The approved SCA session of the identical earlier request.";
        parameters.push(header("X-Qonto-Sca-Session-Token", description, requests.subschema_for::<String>()));
    }
    let mut value = json!({
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [tag(op.surface)],
        "responses": responses(op, answers),
    });
    if !parameters.is_empty() {
        value["parameters"] = Value::Array(parameters);
    }
    if let Some(schema) = op.request {
        let schema = schema(requests).to_value();
        value["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": schema}}});
    }
    if op.upload {
        let file = json!({"type": "object", "required": ["file"], "properties": {"file": schema::binary()},
            "additionalProperties": false});
        value["requestBody"] = json!({"required": true, "content": {"multipart/form-data": {"schema": file}}});
    }
    if let Some(schema) = op.form {
        let schema = schema(requests).to_value();
        value["requestBody"] =
            json!({"required": true, "content": {"application/x-www-form-urlencoded": {"schema": schema}}});
    }
    value["security"] = match op.surface {
        Surface::Qonto => {
            let scopes: Vec<&str> = op.scope.into_iter().collect();
            json!([{"oauth": scopes}, {"apiKey": []}])
        }
        Surface::Operator | Surface::Control => json!([{"operatorToken": []}]),
        // The client's credentials: HTTP Basic, or `client_secret_post` in the form (the
        // consent page's form is the member's, not a client's).
        Surface::OAuth if op.form.is_some() && !matches!(op.reply, Reply::Redirect) => {
            json!([{"clientBasic": []}, {}])
        }
        Surface::OAuth | Surface::MockedSca | Surface::Public => json!([]),
    };
    if op.sca.is_some() {
        value["description"] = json!("Sensitive action: needs strong customer authentication (428 → approve → retry).");
    }
    value
}

/// A query parameter's schema: its Rust type's, narrowed where the handler takes less.
fn query_schema(kind: ParamKind, generator: &mut SchemaGenerator) -> Value {
    let schema = match kind {
        ParamKind::Integer { min, max } => {
            let mut schema = generator.subschema_for::<u64>();
            schema.insert("minimum".into(), min.into());
            schema.insert("maximum".into(), max.into());
            schema
        }
        ParamKind::String => generator.subschema_for::<String>(),
        ParamKind::Strings => generator.subschema_for::<Vec<String>>(),
        ParamKind::Uuid => generator.subschema_for::<Uuid>(),
        ParamKind::Uuids => generator.subschema_for::<Vec<Uuid>>(),
        ParamKind::OneOf(values) => schema::one_of(values()),
        ParamKind::AnyOf(values) => schema::list_of(schema::one_of(values())),
        ParamKind::DateOrTime => schema::date_or_time(),
    };
    schema.to_value()
}

/// Qonto's resource ids are UUIDs (a malformed one is a 404, like an unknown one); other path
/// segments are opaque tokens or names.
fn path_schema(op: &Operation, name: &str, generator: &mut SchemaGenerator) -> Value {
    let schema = match (op.surface, name) {
        (Surface::Qonto | Surface::Operator | Surface::Control, "id") => generator.subschema_for::<Uuid>(),
        _ => generator.subschema_for::<String>(),
    };
    schema.to_value()
}

fn header(name: &str, description: &str, schema: Schema) -> Value {
    json!({"name": name, "in": "header", "required": false, "description": description, "schema": schema})
}

/// `X-Qonto-Idempotency-Key`: the schema the idempotency layer checks keys against.
fn idempotency_header(generator: &mut SchemaGenerator) -> Value {
    let description = "Makes the request safe to retry: a 2xx answer is replayed for 30 minutes.";
    header("X-Qonto-Idempotency-Key", description, generator.subschema_for::<IdempotencyKey>())
}

fn path_parameters(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
}

fn tag(surface: Surface) -> &'static str {
    match surface {
        Surface::Qonto => "Qonto v2",
        Surface::MockedSca => "Qonto sandbox",
        Surface::Operator => "Cardinal operator API",
        Surface::Control => "Cardinal sandbox control API",
        Surface::OAuth => "OAuth 2.0",
        Surface::Public => "Public",
    }
}

fn responses(op: &Operation, answers: &mut SchemaGenerator) -> Value {
    let mut responses = Map::new();
    let (status, content) = match op.reply {
        Reply::Json(status, schema) => {
            (status, Some(json!({"application/json": {"schema": schema(answers).to_value()}})))
        }
        Reply::NoContent => (204, None),
        Reply::EmptyOk => (200, None),
        Reply::Redirect => (302, None),
        Reply::EventStream => (200, Some(json!({"text/event-stream": {"schema": answers.subschema_for::<String>()}}))),
        Reply::Html => (200, Some(json!({"text/html": {"schema": answers.subschema_for::<String>()}}))),
        Reply::Svg => (200, Some(json!({"image/svg+xml": {"schema": answers.subschema_for::<String>()}}))),
        Reply::Pdf => (200, Some(json!({"application/pdf": {"schema": schema::binary()}}))),
        Reply::Metrics => (200, Some(json!({"text/plain": {"schema": answers.subschema_for::<String>()}}))),
        Reply::File => {
            let file = json!({"schema": schema::binary()});
            (200, Some(json!({"application/pdf": file, "image/jpeg": file, "image/png": file})))
        }
    };
    let mut success = json!({"description": "Success"});
    if let Some(content) = content {
        success["content"] = content;
    }
    if matches!(op.reply, Reply::Redirect) {
        success["description"] = json!("To the client's redirect URI, with `code` and `state` or with `error`");
    }
    responses.insert(status.to_string(), success);
    if op.surface == Surface::OAuth {
        oauth_responses(op, answers, &mut responses);
        return Value::Object(responses);
    }
    // Qonto's webhook-subscription routes answer errors flat (the first error at the top).
    let error_schema = if op.path.starts_with("/v2/webhook_subscriptions") {
        answers.subschema_for::<FlatError>()
    } else {
        answers.subschema_for::<ErrorAnswer>()
    };
    let error = |description: &str| json!({"description": description, "content": {"application/json": {"schema": error_schema}}});
    if matches!(op.reply, Reply::Html) && op.surface == Surface::Public {
        let page = answers.subschema_for::<String>();
        let gone =
            json!({"description": "The link was used or has expired", "content": {"text/html": {"schema": page}}});
        responses.insert("410".into(), gone);
    }
    if matches!(op.surface, Surface::Qonto | Surface::Operator | Surface::Control) {
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
    if op.upload {
        responses.insert("400".into(), error("The body is not multipart/form-data, or is cut short"));
        responses.insert("413".into(), error("The file is over 15 MB"));
        responses.insert("422".into(), error("No part `file`, or the file is not a PDF, a JPEG or a PNG"));
    }
    if op.surface == Surface::Qonto && op.method != "get" {
        responses.insert("409".into(), error("The idempotency key's first request is still running"));
    }
    if op.sca.is_some() {
        let sca = json!({"application/json": {"schema": answers.subschema_for::<ScaAnswer>()}});
        responses.insert(
            "428".into(),
            json!({"description": "SCA required (or the organization is not enrolled)", "content": sca}),
        );
        responses.insert("412".into(), json!({"description": "SCA denied, expired or still pending", "content": sca}));
    }
    responses.insert("429".into(), error("Rate limited; see Retry-After"));
    Value::Object(responses)
}

/// The OAuth surface answers as RFC 6749 says: JSON errors from the token endpoints, an
/// error page (or an `error` redirect) from the consent page.
fn oauth_responses(op: &Operation, answers: &mut SchemaGenerator, responses: &mut Map<String, Value>) {
    let page = json!({"text/html": {"schema": answers.subschema_for::<String>()}});
    if matches!(op.reply, Reply::Html | Reply::Redirect) {
        let refused = "Unknown client or redirect URI, or a malformed request: an error page, never a redirect";
        responses.insert("400".into(), json!({"description": refused, "content": page}));
        if matches!(op.reply, Reply::Redirect) {
            let expired = "The form's CSRF token does not match its cookie";
            responses.insert("403".into(), json!({"description": expired, "content": page}));
        } else {
            let back = "A request the client can be told about: to its redirect URI with `error` and `state`";
            responses.insert("302".into(), json!({"description": back}));
        }
    } else if op.form.is_some() {
        let error = json!({"application/json": {"schema": answers.subschema_for::<OAuthErrorAnswer>()}});
        responses.insert("400".into(), json!({"description": "An RFC 6749 error", "content": error}));
        responses.insert("401".into(), json!({"description": "invalid_client", "content": error}));
    }
    let error = json!({"application/json": {"schema": answers.subschema_for::<ErrorAnswer>()}});
    if !op.query.is_empty() {
        let nul = "A query parameter holds U+0000 (refused on every route, spec §1.1)";
        responses.insert("422".into(), json!({"description": nul, "content": error}));
    }
    responses.insert("429".into(), json!({"description": "Rate limited; see Retry-After", "content": error}));
}

/// The sandbox is its own authorization server (spec §8); in production, tokens come from
/// Qonto's, or from the operator API.
fn security_schemes(served: Served, public_url: &str) -> Value {
    let scopes: Map<String, Value> = scope::ALL.iter().map(|s| (s.to_string(), json!(s))).collect();
    let server = match served.surface(Surface::OAuth) {
        true => public_url,
        false => "https://oauth.qonto.com",
    };
    json!({
        "oauth": {"type": "oauth2", "description": "An OAuth access token: `Authorization: Bearer <token>`.",
            "flows": {"authorizationCode": {"authorizationUrl": format!("{server}/oauth2/auth"),
                "tokenUrl": format!("{server}/oauth2/token"), "scopes": scopes}}},
        "apiKey": {"type": "apiKey", "in": "header", "name": "Authorization",
            "description": "`<organization-slug>:<secret-key>`, read-only."},
        "clientBasic": {"type": "http", "scheme": "basic",
            "description": "An OAuth client's `client_id` and `client_secret` (or both in the form instead)."},
        "operatorToken": {"type": "http", "scheme": "bearer",
            "description": "The operator token (`--operator-token`; in the sandbox also the generated admin token)."},
    })
}
