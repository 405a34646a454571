//! What the OAuth 2.0 authorization server keeps (spec §8): registered clients, authorization
//! codes, grants and their refresh tokens. Secrets, codes and tokens are stored only as
//! SHA-256 hashes. Access tokens are credentials ([`crate::NewCredential`]) tied to their
//! grant, so the `/v2` door checks them as it checks every token.
//!
//! A **grant** is what one consent's first code exchange starts: every access and refresh
//! token rotated from it belongs to it (the refresh token's "family"). Revoking it — a code
//! replayed, a refresh token reused after its grace, the consent withdrawn, the client
//! deleted — stops every token it issued at once.

use crate::NewCredential;
use jiff::Timestamp;
use uuid::Uuid;

/// A client application, registered through the control API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClient {
    /// The public `client_id`.
    pub id: String,
    pub name: String,
    pub secret_hash: [u8; 32],
    /// Where codes may be sent, compared exactly.
    pub redirect_uris: Vec<String>,
    pub created_at: Timestamp,
}

/// Who signed in and what they allowed: carried by a code, then by the grant its exchange
/// starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub client_id: String,
    pub organization_id: Uuid,
    pub membership_id: Uuid,
    /// The scopes the member allowed, in the order asked.
    pub scopes: Vec<String>,
    /// When the member signed in and allowed it (real time, as clients read it): the ID
    /// token's `auth_time`.
    pub auth_time: Timestamp,
    /// The OpenID Connect `nonce` of the authorization request, given back in ID tokens.
    pub nonce: Option<String>,
}

/// An authorization code as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuthorizationCode {
    pub code_hash: [u8; 32],
    pub consent: Consent,
    pub redirect_uri: String,
    /// The PKCE S256 challenge, when the request sent one.
    pub code_challenge: Option<String>,
    pub issued_at: Timestamp,
}

/// An authorization code as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAuthorizationCode {
    pub code: NewAuthorizationCode,
    pub used_at: Option<Timestamp>,
    /// The grant its first use started.
    pub grant_id: Option<Uuid>,
}

/// A grant: one consent's tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthGrant {
    pub id: Uuid,
    pub consent: Consent,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// A refresh token as read, with its grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRefreshToken {
    pub token_hash: [u8; 32],
    pub grant: OAuthGrant,
    pub issued_at: Timestamp,
    pub first_used_at: Option<Timestamp>,
}

/// The tokens one exchange or refresh issues, written together: an access token (a
/// credential whose `grant_id` is the grant's) and, with `offline_access`, a refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenIssue {
    pub access: NewCredential,
    pub refresh_hash: Option<[u8; 32]>,
    pub issued_at: Timestamp,
}
