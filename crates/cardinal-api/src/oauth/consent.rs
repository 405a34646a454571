//! `GET /oauth2/auth` and `POST /oauth2/auth`: the sandbox's sign-in and consent page
//! (spec §8). Server-rendered, without JavaScript, in English and French; its form carries
//! a CSRF token that must match the page's cookie (double submit, `SameSite=Strict`), and a
//! strict Content-Security-Policy lets it post only to itself and the client's redirect.
//!
//! A request whose client or redirect URI is unknown gets an error page, never a redirect;
//! any other error goes back to the client as `?error=…&state=…`.

use super::discovery::UI_LOCALES;
use crate::app::oauth::authorize::{self, AuthorizationParams, AuthorizationRequest, Decision, Refusal};
use crate::http::form::Form;
use crate::render::page::{self, escape};
use crate::secrets::new_token;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cardinal_domain::oauth::GrantError;
use cardinal_store::Membership;
use subtle::ConstantTimeEq;
use url::Url;
use uuid::Uuid;

const CSRF_COOKIE: &str = "cardinal_oauth_csrf";
/// The authorization request's parameters, carried through the page's forms.
const CARRIED: [&str; 10] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "organization_id",
    "ui_locales",
];

fn params_of(form: &Form) -> AuthorizationParams {
    AuthorizationParams {
        response_type: form.owned("response_type"),
        client_id: form.owned("client_id"),
        redirect_uri: form.owned("redirect_uri"),
        scope: form.owned("scope"),
        state: form.owned("state"),
        code_challenge: form.owned("code_challenge"),
        code_challenge_method: form.owned("code_challenge_method"),
        nonce: form.owned("nonce"),
        organization_id: form.owned("organization_id"),
    }
}

/// `GET /oauth2/auth`: the sign-in and consent page for a valid request.
pub async fn page(State(state): State<AppState>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let lang = page::language(query.as_deref(), "ui_locales", &headers, &UI_LOCALES);
    let text = Text::of(lang);
    let form = match Form::parse(query.unwrap_or_default().as_bytes()) {
        Ok(form) => form,
        Err(detail) => return error_page(StatusCode::BAD_REQUEST, &text, lang, &GrantError::InvalidRequest(detail)),
    };
    let request = match authorize::check(&state.app, &params_of(&form)).await {
        Ok(request) => request,
        Err(refusal) => return refused(refusal, &text, lang),
    };
    let choices = match authorize::sign_in_choices(&state.app, request.organization_id).await {
        Ok(choices) => choices,
        Err(error) => return super::error_answer(error),
    };
    if request.organization_id.is_some() && choices.chosen.is_none() {
        let unknown = GrantError::InvalidRequest("organization_id names no organization".into());
        return error_page(StatusCode::BAD_REQUEST, &text, lang, &unknown);
    }
    // A second tab keeps the first one's token: both forms stay valid.
    let csrf = presented_csrf(&headers).unwrap_or_else(new_token);
    let body = consent_body(&text, &form, &request, &choices, &csrf);
    let mut response = page::html(StatusCode::OK, document(lang, &text, &body), &policy(&request.redirect_uri));
    let https = state.config.public_url.starts_with("https://");
    page::set_cookie(&mut response, CSRF_COOKIE, &csrf, "/oauth2", https, None);
    response
}

/// `POST /oauth2/auth`: the member's decision → `302` to the client with a code or
/// `access_denied`.
pub async fn decide(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let ui_locales = form.as_ref().ok().and_then(|f| f.owned("ui_locales")).map(|l| format!("ui_locales={l}"));
    let lang = page::language(ui_locales.as_deref(), "ui_locales", &headers, &UI_LOCALES);
    let text = Text::of(lang);
    let bad =
        |detail: &str| error_page(StatusCode::BAD_REQUEST, &text, lang, &GrantError::InvalidRequest(detail.to_owned()));
    let form = match form {
        Ok(form) => form,
        Err(detail) => return bad(&detail),
    };
    if !csrf_matches(&headers, form.get("csrf_token")) {
        return error_page(StatusCode::FORBIDDEN, &text, lang, &GrantError::InvalidRequest(text.expired.into()));
    }
    let request = match authorize::check(&state.app, &params_of(&form)).await {
        Ok(request) => request,
        Err(refusal) => return refused(refusal, &text, lang),
    };
    let decision = match form.get("decision") {
        Some("allow") => Decision::Allow,
        Some("deny") => Decision::Deny,
        _ => return bad("decision must be allow or deny"),
    };
    let member = match (decision, form.get("membership_id").map(Uuid::parse_str)) {
        (Decision::Deny, _) => Uuid::nil(),
        (Decision::Allow, Some(Ok(id))) => id,
        (Decision::Allow, _) => return bad("membership_id must name the member to sign in as"),
    };
    match authorize::decide(&state.app, &request, member, decision).await {
        Ok(location) => redirect(&location),
        Err(refusal) => refused(refusal, &text, lang),
    }
}

fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = StatusCode::FOUND.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(_) => crate::http::error::ApiError::internal().into_response(),
    }
}

fn refused(refusal: Refusal, text: &Text, lang: &str) -> Response {
    match refusal {
        Refusal::Page(error) => error_page(StatusCode::BAD_REQUEST, text, lang, &error),
        Refusal::Redirect { location } => redirect(&location),
        Refusal::Store(error) => super::error_answer(error),
    }
}

/// The cookie's token when it is one this server could have made.
fn presented_csrf(headers: &HeaderMap) -> Option<String> {
    page::cookie(headers, CSRF_COOKIE)
        .filter(|t| t.len() == 43 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .map(str::to_owned)
}

fn csrf_matches(headers: &HeaderMap, field: Option<&str>) -> bool {
    match (presented_csrf(headers), field) {
        (Some(cookie), Some(field)) => cookie.as_bytes().ct_eq(field.as_bytes()).into(),
        _ => false,
    }
}

/// Scripts, frames, plugins and foreign forms are refused; the forms post to this page, and
/// the decision's redirect goes to the client's registered origin (browsers check a form's
/// redirects against `form-action` too).
fn policy(redirect_uri: &str) -> String {
    let origin = Url::parse(redirect_uri).map(|u| u.origin().ascii_serialization()).unwrap_or_default();
    let origin = if origin.bytes().all(|b| b.is_ascii_graphic()) { origin } else { String::new() };
    format!(
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' {origin}; base-uri 'none'; \
         frame-ancestors 'none'"
    )
}

fn hidden(form: &Form, skip: &str) -> String {
    CARRIED
        .iter()
        .filter(|name| **name != skip)
        .filter_map(|name| form.get(name).map(|value| (name, value)))
        .map(|(name, value)| format!(r#"<input type="hidden" name="{name}" value="{}">"#, escape(value)))
        .collect()
}

fn consent_body(
    text: &Text,
    form: &Form,
    request: &AuthorizationRequest,
    choices: &authorize::SignInChoices,
    csrf: &str,
) -> String {
    let scopes: String = request.scopes.iter().map(|s| format!("<li><code>{}</code></li>", escape(s))).collect();
    let head = format!(
        r#"<h1>{}</h1><p>{}</p><ul class="scopes">{scopes}</ul>"#,
        text.title.replace("{client}", &escape(&request.client.name)),
        text.asks.replace("{client}", &escape(&request.client.name)),
    );
    let csrf_field = format!(r#"<input type="hidden" name="csrf_token" value="{csrf}">"#);
    let deny = format!(
        r#"<form method="post" action="/oauth2/auth">{}{csrf_field}<button name="decision" value="deny" class="secondary">{}</button></form>"#,
        hidden(form, ""),
        text.deny
    );
    match &choices.chosen {
        None => {
            let options: String = choices
                .organizations
                .iter()
                .map(|o| format!(r#"<option value="{}">{}</option>"#, o.id, escape(&o.legal_name)))
                .collect();
            format!(
                r#"{head}<form method="get" action="/oauth2/auth">{}<label for="organization_id">{}</label><select id="organization_id" name="organization_id">{options}</select><button>{}</button></form>{deny}"#,
                hidden(form, "organization_id"),
                text.organization,
                text.next
            )
        }
        Some(organization) => {
            let members: String = choices.members.iter().enumerate().map(|(i, m)| member_choice(m, i == 0)).collect();
            format!(
                r#"{head}<p class="org">{} <strong>{}</strong></p><form method="post" action="/oauth2/auth">{}<input type="hidden" name="organization_id" value="{}">{csrf_field}<fieldset><legend>{}</legend>{members}</fieldset><button name="decision" value="allow">{}</button> <button name="decision" value="deny" class="secondary">{}</button></form>"#,
                text.organization,
                escape(&organization.legal_name),
                hidden(form, "organization_id"),
                organization.id,
                text.act_as,
                text.allow,
                text.deny
            )
        }
    }
}

fn member_choice(member: &Membership, checked: bool) -> String {
    format!(
        r#"<label class="member"><input type="radio" name="membership_id" value="{}"{}> {} {} <small>{} · {}</small></label>"#,
        member.id,
        if checked { " checked" } else { "" },
        escape(&member.first_name),
        escape(&member.last_name),
        member.role.as_str(),
        escape(&member.email)
    )
}

fn error_page(status: StatusCode, text: &Text, lang: &str, error: &GrantError) -> Response {
    let body =
        format!(r#"<h1>{}</h1><p><code>{}</code></p><p>{}</p>"#, text.error, error.code(), escape(&error.to_string()));
    page::html(
        status,
        document(lang, text, &body),
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    )
}

fn document(lang: &str, text: &Text, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{}</title>
<style>
body{{font-family:Helvetica,Arial,sans-serif;max-width:30rem;margin:3rem auto;padding:0 1rem;color:#1d1d1b}}
h1{{font-size:1.4rem}} ul.scopes{{padding-left:1.2rem}} fieldset{{border:1px solid #ddd;margin:1rem 0}}
label.member{{display:block;margin:.4rem 0}} small{{color:#6b6b6b}} select{{display:block;margin:.5rem 0 1rem}}
button{{font-size:1rem;padding:.5rem 1.2rem;margin-top:.5rem}} .secondary{{background:#fff}} form{{display:block;margin:.5rem 0}}
</style></head><body><main>{body}</main></body></html>"#,
        text.page_title
    )
}

struct Text {
    page_title: &'static str,
    title: &'static str,
    asks: &'static str,
    organization: &'static str,
    next: &'static str,
    act_as: &'static str,
    allow: &'static str,
    deny: &'static str,
    error: &'static str,
    expired: &'static str,
}

impl Text {
    fn of(lang: &str) -> Text {
        match lang {
            "fr" => Text {
                page_title: "Connexion — Cardinal",
                title: "Se connecter à {client}",
                asks: "{client} demande l'accès suivant :",
                organization: "Organisation",
                next: "Continuer",
                act_as: "Se connecter en tant que",
                allow: "Autoriser",
                deny: "Refuser",
                error: "Cette demande d'autorisation ne peut pas aboutir",
                expired: "ce formulaire a expiré : recommencez depuis l'application",
            },
            _ => Text {
                page_title: "Sign in — Cardinal",
                title: "Sign in to {client}",
                asks: "{client} asks for this access:",
                organization: "Organization",
                next: "Continue",
                act_as: "Sign in as",
                allow: "Allow",
                deny: "Deny",
                error: "This authorization request cannot go on",
                expired: "this form has expired: start again from the application",
            },
        }
    }
}
