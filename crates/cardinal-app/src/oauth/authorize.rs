//! The authorization request and the member's decision (spec §8, RFC 6749 §4.1.1–4.1.2):
//! which requests are shown a consent page, which are refused on an error page (an unknown
//! client or redirect URI is never redirected to) and which go back to the client with an
//! `error`; then the member's allow or deny, which makes a code or an `access_denied`.

use super::{known_scopes, GrantToken, OAuthError};
use crate::secrets::hash_secret;
use crate::App;
use cardinal_domain::oauth::{check_state, redirect_registered, requested_scopes, GrantError};
use cardinal_store::{Consent, Membership, NewAuthorizationCode, OAuthClient, Organization, PageRequest};
use url::Url;
use uuid::Uuid;

/// The query of `GET /oauth2/auth`, as sent: every parameter may be missing.
#[derive(Debug, Clone, Default)]
pub struct AuthorizationParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub nonce: Option<String>,
    /// Pre-selects the organization (Qonto's parameter).
    pub organization_id: Option<String>,
}

/// A request the consent page may be shown for.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub client: OAuthClient,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: String,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub organization_id: Option<Uuid>,
}

/// Why a request is refused.
#[derive(Debug)]
pub enum Refusal {
    /// The client or the redirect URI is unknown: an error page, never a redirect.
    Page(GrantError),
    /// Back to the client: `redirect_uri?error=…&state=…`.
    Redirect {
        location: String,
    },
    Store(OAuthError),
}

impl From<OAuthError> for Refusal {
    fn from(e: OAuthError) -> Refusal {
        Refusal::Store(e)
    }
}

impl From<cardinal_store::StoreError> for Refusal {
    fn from(e: cardinal_store::StoreError) -> Refusal {
        Refusal::Store(e.into())
    }
}

/// Checks an authorization request in RFC 6749's order: the client and its redirect URI
/// first (refused on a page), then everything the client can be told (`error` redirect).
pub async fn check(app: &App, params: &AuthorizationParams) -> Result<AuthorizationRequest, Refusal> {
    let client_id = params.client_id.as_deref().filter(|c| !c.is_empty());
    let client_id = client_id.ok_or_else(|| Refusal::Page(invalid_request("client_id is required")))?;
    let client = app.store.oauth_client(client_id).await?.ok_or(Refusal::Page(GrantError::InvalidClient))?;
    let redirect_uri = params.redirect_uri.clone().unwrap_or_default();
    if !redirect_registered(&client.redirect_uris, &redirect_uri) {
        return Err(Refusal::Page(invalid_request("redirect_uri is not one the client registered")));
    }
    let back = |error: GrantError| Refusal::Redirect {
        location: error_location(&redirect_uri, &error, params.state.as_deref()),
    };
    if params.response_type.as_deref() != Some("code") {
        return Err(back(GrantError::UnsupportedResponseType));
    }
    let state = check_state(params.state.as_deref()).map_err(back)?.to_owned();
    let scopes = requested_scopes(params.scope.as_deref().unwrap_or(""), &known_scopes()).map_err(back)?;
    let code_challenge = pkce_challenge(params).map_err(back)?;
    let organization_id = match params.organization_id.as_deref().filter(|o| !o.is_empty()) {
        None => None,
        Some(raw) => Some(Uuid::parse_str(raw).map_err(|_| back(invalid_request("organization_id must be a UUID")))?),
    };
    Ok(AuthorizationRequest {
        client,
        redirect_uri,
        scopes,
        state,
        code_challenge,
        nonce: params.nonce.clone().filter(|n| !n.is_empty()),
        organization_id,
    })
}

/// RFC 7636 §4.3: a challenge of 43 to 128 characters, with method S256 (plain is refused:
/// it protects nothing a stolen code does not already give away).
fn pkce_challenge(params: &AuthorizationParams) -> Result<Option<String>, GrantError> {
    match (params.code_challenge.as_deref(), params.code_challenge_method.as_deref()) {
        (None | Some(""), None) => Ok(None),
        (None | Some(""), Some(_)) => Err(invalid_request("code_challenge_method needs a code_challenge")),
        (Some(challenge), Some("S256")) if cardinal_domain::oauth::valid_verifier(challenge) => {
            Ok(Some(challenge.to_owned()))
        }
        (Some(_), Some("S256")) => Err(invalid_request("code_challenge must be 43 to 128 base64url characters")),
        (Some(_), _) => Err(invalid_request("code_challenge_method must be S256")),
    }
}

fn invalid_request(detail: &str) -> GrantError {
    GrantError::InvalidRequest(detail.to_owned())
}

/// `redirect_uri` with `params` added to its query (RFC 6749 §4.1.2: the URI's own query is kept).
fn with_query(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    match Url::parse(redirect_uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(params);
            url.to_string()
        }
        Err(_) => redirect_uri.to_owned(),
    }
}

fn error_location(redirect_uri: &str, error: &GrantError, state: Option<&str>) -> String {
    let description = error.to_string();
    let mut params = vec![("error", error.code()), ("error_description", description.as_str())];
    if let Some(state) = state {
        params.push(("state", state));
    }
    with_query(redirect_uri, &params)
}

/// Whom the sign-in page offers: the organizations (the pre-selected one only, when the
/// request names one), and the members of the chosen one.
pub struct SignInChoices {
    pub organizations: Vec<Organization>,
    pub chosen: Option<Organization>,
    pub members: Vec<Membership>,
}

/// At most this many organizations and members are listed on the page.
pub const LISTED: u32 = 100;

pub async fn sign_in_choices(app: &App, chosen: Option<Uuid>) -> Result<SignInChoices, OAuthError> {
    let page = PageRequest { page: 1, per_page: LISTED };
    let chosen = match chosen {
        Some(id) => app.store.organization(id).await?,
        None => None,
    };
    let (organizations, members) = match &chosen {
        Some(organization) => (vec![organization.clone()], app.store.memberships(organization.id, page).await?.items),
        None => (app.store.organizations(page).await?.items, Vec::new()),
    };
    Ok(SignInChoices { organizations, chosen, members })
}

/// The member's answer on the consent page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
}

/// Where the member's decision sends the browser: `redirect_uri` with a new code and the
/// state, or with `access_denied`. The member must belong to the pre-selected organization
/// when the request named one.
pub async fn decide(
    app: &App,
    request: &AuthorizationRequest,
    membership_id: Uuid,
    decision: Decision,
) -> Result<String, Refusal> {
    let state = Some(request.state.as_str());
    if decision == Decision::Deny {
        return Ok(error_location(&request.redirect_uri, &GrantError::AccessDenied, state));
    }
    let member = app.store.membership_by_id(membership_id).await?;
    let member = member.filter(|m| request.organization_id.is_none_or(|org| m.organization_id == org));
    let Some(member) = member else {
        return Err(Refusal::Page(invalid_request("membership_id is not a member of the chosen organization")));
    };
    let now = super::organization_now(app, member.organization_id).await?;
    // The ID token's `auth_time` is read by the client against its own clock: real time.
    let signed_in_at = jiff::Timestamp::now();
    let code = GrantToken::AuthorizationCode.generate();
    app.store
        .insert_oauth_code(NewAuthorizationCode {
            code_hash: hash_secret(&code),
            consent: Consent {
                client_id: request.client.id.clone(),
                organization_id: member.organization_id,
                membership_id: member.id,
                scopes: request.scopes.clone(),
                auth_time: signed_in_at,
                nonce: request.nonce.clone(),
            },
            redirect_uri: request.redirect_uri.clone(),
            code_challenge: request.code_challenge.clone(),
            issued_at: now,
        })
        .await?;
    Ok(with_query(&request.redirect_uri, &[("code", &code), ("state", &request.state)]))
}
