//! Who is calling: OAuth access tokens and API keys (spec §1.2), the staging token (§1.3),
//! scopes, and the control API's admin token.

use crate::http::error::{ApiError, ApiResult};
use crate::secrets::{hash_secret, hashes_equal};
use crate::AppState;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cardinal_app::cards::member::Member;
use cardinal_domain::{CardAction, DomainError, Role};
use cardinal_store::{Actor, ActorKind, Credential, CredentialKind, Membership, Organization, StoredCard, Visibility};
use jiff::Timestamp;
use std::sync::{Arc, LazyLock};
use uuid::Uuid;

pub use cardinal_wire::scope;

/// An authenticated caller of the `/v2` API.
///
/// Its parts are shared with the credential it was read from (and the store's cache): a
/// request copies none of them.
#[derive(Debug, Clone)]
pub struct Principal {
    pub organization: Arc<Organization>,
    pub membership: Arc<Membership>,
    pub kind: CredentialKind,
    pub credential_id: Uuid,
    /// The OAuth grant that issued the token, when an application's consent did.
    pub grant_id: Option<Uuid>,
    scopes: Arc<[String]>,
}

impl Principal {
    pub fn role(&self) -> Role {
        self.membership.role
    }

    /// The organization's clock (sandbox time travel applies).
    pub fn now(&self) -> Timestamp {
        self.organization.now()
    }

    pub fn require(&self, scope: &str) -> ApiResult<()> {
        if self.scopes.iter().any(|s| s == scope) {
            Ok(())
        } else {
            Err(ApiError::missing_scope())
        }
    }

    /// Card writes need an OAuth access token with `card.write`: an API key is read-only.
    pub fn require_card_write(&self) -> ApiResult<()> {
        if self.kind == CredentialKind::ApiKey {
            return Err(ApiError::forbidden("card writes need an OAuth access token; API keys are read-only"));
        }
        self.require(scope::CARD_WRITE)
    }

    /// The scope the matched route needs, as the route table says (spec §1.2), attached to
    /// the route when the router was built; card writes also refuse API keys with their own
    /// words. A request that reached no declared rule is refused, never let through.
    fn may_call(&self, parts: &Parts) -> ApiResult<()> {
        let Some(rule) = parts.extensions.get::<crate::RouteRule>() else {
            return Err(ApiError::forbidden("this route declares no access rule"));
        };
        match rule.scope {
            Some(scope::CARD_WRITE) => self.require_card_write(),
            Some(needed) => self.require(needed),
            None => Ok(()),
        }
    }

    pub fn actor(&self) -> Actor {
        match self.kind {
            CredentialKind::AccessToken => Actor { kind: ActorKind::Membership, id: Some(self.membership.id) },
            CredentialKind::ApiKey => Actor { kind: ActorKind::ApiKey, id: Some(self.credential_id) },
        }
    }

    /// The caller as the application core's rules see them (the permission table, the audit
    /// trail's actor).
    pub fn member(&self) -> Member {
        Member {
            membership_id: self.membership.id,
            role: self.role(),
            team_id: self.membership.team_id,
            actor: self.actor(),
        }
    }

    /// Whether the permission table (spec §2.3) lets this caller do `action` on `card`.
    pub fn may(&self, action: CardAction, card: &StoredCard) -> Result<(), DomainError> {
        self.member().may(action, card)
    }

    /// Which cards this caller may see at all: the "see" row of the permission table.
    pub fn card_visibility(&self) -> Visibility {
        self.member().card_visibility()
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Principal> {
        // Already authenticated by a layer before the handler (idempotency checks credentials
        // before it replays anything).
        if let Some(principal) = parts.extensions.get::<Principal>() {
            return Ok(principal.clone());
        }
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ApiError::unauthorized("missing Authorization header"))?;
        let credential = match header.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => access_token(state, token.trim()).await?,
            Some(_) => return Err(ApiError::unauthorized("unsupported Authorization scheme")),
            None => api_key(state, header).await?,
        };
        let now = credential.organization.now();
        if credential.revoked_at.is_some() {
            return Err(ApiError::unauthorized("the credential has been revoked"));
        }
        if credential.expires_at.is_some_and(|at| at <= now) {
            return Err(ApiError::unauthorized("the credential has expired"));
        }
        let scopes = match credential.kind {
            // An API key is read-only whatever was stored for it.
            CredentialKind::ApiKey => api_key_scopes(),
            CredentialKind::AccessToken => credential.scopes,
        };
        let principal = Principal {
            organization: credential.organization,
            membership: credential.membership,
            kind: credential.kind,
            credential_id: credential.id,
            grant_id: credential.grant_id,
            scopes,
        };
        // The sandbox's request log learns whose request this is, on which route.
        if let Some(rule) = parts.extensions.get::<crate::RouteRule>() {
            let (organization, member) = (principal.organization.id, principal.membership.id);
            crate::http::request_log::note_caller(organization, member, principal.kind, rule.path);
        }
        principal.may_call(parts)?;
        Ok(principal)
    }
}

/// What an API key may do: read-only whatever was stored for it.
fn api_key_scopes() -> Arc<[String]> {
    static SCOPES: LazyLock<Arc<[String]>> = LazyLock::new(|| scope::API_KEY.iter().map(|s| s.to_string()).collect());
    SCOPES.clone()
}

async fn access_token(state: &AppState, token: &str) -> ApiResult<Credential> {
    let hash = hash_secret(token);
    state
        .store
        .credential_by_hash(&hash)
        .await?
        .filter(|c| c.kind == CredentialKind::AccessToken && hashes_equal(&c.secret_hash, &hash))
        .ok_or_else(|| ApiError::unauthorized("invalid access token"))
}

/// `<organization-slug>:<secret-key>`: literally, not HTTP Basic.
async fn api_key(state: &AppState, header: &str) -> ApiResult<Credential> {
    let malformed =
        || ApiError::unauthorized("malformed Authorization header: expected `Bearer <token>` or `<slug>:<secret-key>`");
    let (slug, secret) = header.split_once(':').ok_or_else(malformed)?;
    if slug.is_empty() || secret.is_empty() {
        return Err(malformed());
    }
    let hash = hash_secret(secret);
    state
        .store
        .api_key_by_slug(slug)
        .await?
        .filter(|c| hashes_equal(&c.secret_hash, &hash))
        .ok_or_else(|| ApiError::unauthorized("invalid API key"))
}

pub const STAGING_TOKEN_HEADER: &str = "x-qonto-staging-token";

/// When a staging token is configured, every `/v2` request must present it (spec §1.3).
pub async fn require_staging_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(expected) = &state.config.staging_token_hash {
        if !presents_secret(request.headers(), STAGING_TOKEN_HEADER, expected) {
            return ApiError::unauthorized("missing or invalid X-Qonto-Staging-Token header").into_response();
        }
    }
    next.run(request).await
}

fn presents_secret(headers: &HeaderMap, name: &str, expected_hash: &[u8; 32]) -> bool {
    headers.get(name).and_then(|v| v.to_str().ok()).is_some_and(|v| hashes_equal(&hash_secret(v.trim()), expected_hash))
}

/// The operator API's (and the sandbox control API's) caller: whoever holds the operator
/// token (`--operator-token`; in the sandbox also the generated admin token). One permission:
/// the operator may do everything these surfaces offer, to every organization.
pub struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Operator> {
        // The scheme is case-insensitive (RFC 9110): `BEARER` is `Bearer`.
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token)
            .ok_or_else(|| ApiError::unauthorized("the operator API needs `Authorization: Bearer <operator token>`"))?;
        match &state.config.operator_token_hash {
            Some(expected) if hashes_equal(&hash_secret(presented.trim()), expected) => Ok(Operator),
            _ => Err(ApiError::unauthorized("invalid operator token")),
        }
    }
}
