//! The OAuth 2.0 server's shapes (spec §8): the control API's clients, the token endpoint's
//! form and answers (RFC 6749 §5), the consent form, and the discovery documents (RFC 8414,
//! OpenID Connect Discovery). Forms are `application/x-www-form-urlencoded`; their schemas
//! here document them.

use crate::Text;
use crate::{page, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `POST /_sandbox/oauth_clients`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "OAuthClientRequest")]
pub struct OAuthClientRequest {
    #[schemars(length(min = 1, max = 100))]
    pub name: String,
    /// Absolute http(s) URLs without a fragment; codes go only to one of them, compared exactly.
    #[schemars(length(min = 1, max = 20), inner(length(min = 1, max = 2000)))]
    pub redirect_uris: Vec<String>,
}

/// A registered client.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
#[schemars(rename = "OAuthClient")]
pub struct OAuthClientBody {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub created_at: Time,
}

/// The registration answer: the client and its secret, shown this once.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
#[schemars(rename = "OAuthClientWithSecret")]
pub struct OAuthClientCreated {
    pub client_id: String,
    pub client_secret: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub created_at: Time,
}

page!(
    /// `GET /_sandbox/oauth_clients`, oldest first.
    #[schemars(rename = "OAuthClientList")]
    OAuthClientList { oauth_clients: OAuthClientBody }
);

/// `POST /oauth2/token`'s form. The client authenticates with HTTP Basic or with
/// `client_id` and `client_secret` here (`client_secret_post`), not both.
#[derive(Debug, JsonSchema)]
#[schemars(rename = "TokenForm")]
#[allow(dead_code)]
pub struct TokenForm {
    #[schemars(extend("enum" = ["authorization_code", "refresh_token"]))]
    grant_type: String,
    /// `authorization_code`: the code, once, within 10 minutes.
    code: Option<String>,
    /// `authorization_code`: the one the code was asked with.
    redirect_uri: Option<String>,
    /// `authorization_code`: when the authorization request sent a `code_challenge`.
    code_verifier: Option<String>,
    /// `refresh_token`: the refresh token to rotate.
    refresh_token: Option<String>,
    /// `refresh_token`: a subset of the granted scopes, space-separated.
    scope: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// `POST /oauth2/revoke`'s form (RFC 7009).
#[derive(Debug, JsonSchema)]
#[schemars(rename = "RevocationForm")]
#[allow(dead_code)]
pub struct RevocationForm {
    token: String,
    /// `access_token` or `refresh_token`; a hint only.
    token_type_hint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// `POST /oauth2/auth`'s form: the authorization request's parameters again, the member
/// signed in as, the decision, and the page's CSRF token (which must match its cookie).
#[derive(Debug, JsonSchema)]
#[schemars(rename = "ConsentForm")]
#[allow(dead_code)]
pub struct ConsentForm {
    response_type: String,
    client_id: String,
    redirect_uri: String,
    scope: String,
    state: String,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    nonce: Option<String>,
    organization_id: Option<String>,
    membership_id: String,
    #[schemars(extend("enum" = ["allow", "deny"]))]
    decision: String,
    csrf_token: String,
}

/// The token endpoint's answer (RFC 6749 §5.1), unwrapped, as Qonto's.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "TokenAnswer")]
pub struct TokenAnswer {
    pub access_token: String,
    /// `bearer`, lower-case.
    pub token_type: String,
    pub expires_in: i64,
    /// The scopes granted, space-separated.
    pub scope: String,
    /// With `offline_access` only.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub refresh_token: Option<String>,
    /// With `openid` only: an RS256 JWT.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub id_token: Option<String>,
}

/// An RFC 6749 §5.2 error.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "OAuthError")]
pub struct OAuthErrorAnswer {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `invalid_scope`,
    /// `unsupported_grant_type`…
    pub error: String,
    pub error_description: String,
}

/// RFC 8414 metadata; the OpenID configuration adds the `openid` fields.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
#[schemars(rename = "AuthorizationServerMetadata")]
pub struct ServerMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub revocation_endpoint: String,
    pub jwks_uri: String,
    pub scopes_supported: Vec<Text>,
    pub response_types_supported: Vec<Text>,
    pub response_modes_supported: Vec<Text>,
    pub grant_types_supported: Vec<Text>,
    pub token_endpoint_auth_methods_supported: Vec<Text>,
    pub revocation_endpoint_auth_methods_supported: Vec<Text>,
    pub code_challenge_methods_supported: Vec<Text>,
    pub ui_locales_supported: Vec<Text>,
    #[serde(flatten)]
    pub openid: Option<OpenIdMetadata>,
}

/// What `/.well-known/openid-configuration` adds.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct OpenIdMetadata {
    pub subject_types_supported: Vec<Text>,
    pub id_token_signing_alg_values_supported: Vec<Text>,
    pub claims_supported: Vec<Text>,
}

/// `/.well-known/jwks.json` (RFC 7517), as `jsonwebtoken` writes its `JwkSet`.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
#[schemars(rename = "JwkSet")]
#[allow(dead_code)]
pub struct JwkSetSchema {
    keys: Vec<RsaJwkSchema>,
}

#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
#[schemars(rename = "RsaJwk")]
#[allow(dead_code)]
struct RsaJwkSchema {
    /// `RSA`.
    kty: String,
    /// `sig`.
    #[serde(rename = "use")]
    use_: String,
    /// `RS256`.
    alg: String,
    kid: String,
    n: String,
    e: String,
}
