//! The token endpoint's grants and revocation (spec §8, RFC 6749 §4.1.3 and §6, RFC 7009):
//! each reads what it needs, asks the domain's grant rules (`cardinal_domain::oauth`) on the
//! organization's clock, and writes the outcome in one store call.

use super::id_token::{at_hash, IdClaims};
use super::{GrantToken, OAuthError};
use crate::secrets::hash_secret;
use crate::wire::webhooks::{outbox_event, ConsentRevocationData, CONSENT_REVOCATIONS_TOPIC};
use crate::wire::Time;
use crate::App;
use cardinal_domain::oauth::{
    exchange_code, refresh, requested_scopes, CodeExchange, CodeGrant, GrantError, Refresh, RefreshGrant,
    ACCESS_TOKEN_LIFETIME, OFFLINE_ACCESS, OPENID,
};
use cardinal_store::{
    Consent, CredentialKind, NewCredential, OAuthClient, OAuthGrant, StoreResult, StoredAuthorizationCode, TokenIssue,
};
use jiff::Timestamp;
use uuid::Uuid;

/// What the token endpoint answers (RFC 6749 §5.1, Qonto's fields).
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: String,
    pub expires_in: i64,
    /// The scopes granted, space-separated.
    pub scope: String,
    /// With `offline_access` only.
    pub refresh_token: Option<String>,
    /// With `openid` only.
    pub id_token: Option<String>,
}

fn invalid_grant(detail: &str) -> OAuthError {
    GrantError::InvalidGrant(detail.to_owned()).into()
}

/// The organization's clock for a consent: every lifetime runs on it.
async fn clock(app: &App, consent: &Consent) -> Result<Timestamp, OAuthError> {
    Ok(super::organization_now(app, consent.organization_id).await?)
}

/// `grant_type=authorization_code`: the code's tokens, once. A second use of the code is
/// refused and revokes what the first use issued (RFC 6749 §4.1.2).
pub async fn exchange(
    app: &App,
    client: &OAuthClient,
    code: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
) -> Result<Tokens, OAuthError> {
    let code_hash = hash_secret(code);
    let stored = match GrantToken::of(code) {
        Some(GrantToken::AuthorizationCode) => app.store.oauth_code(&code_hash).await?,
        _ => None,
    };
    let stored = stored
        .filter(|s| s.code.consent.client_id == client.id)
        .ok_or_else(|| invalid_grant("the authorization code is unknown, or was issued to another client"))?;
    let now = clock(app, &stored.code.consent).await?;
    let rule = CodeGrant {
        issued_at: stored.code.issued_at,
        used_at: stored.used_at,
        code_challenge: stored.code.code_challenge.clone(),
        redirect_uri: stored.code.redirect_uri.clone(),
    };
    match exchange_code(&rule, redirect_uri, verifier, super::s256, now)? {
        CodeExchange::RevokeFirstIssue => Err(revoke_first_issue(app, &stored, now).await),
        CodeExchange::Issue => {
            let grant_id = Uuid::new_v4();
            let (issue, mut tokens) = new_tokens(&stored.code.consent, grant_id, None, now);
            if !app.store.redeem_oauth_code(&code_hash, grant_id, issue).await? {
                // Used meanwhile by a concurrent request: that is a replay too.
                let used = app.store.oauth_code(&code_hash).await?.unwrap_or(stored);
                return Err(revoke_first_issue(app, &used, now).await);
            }
            // The grant took the code's consent.
            let grant = OAuthGrant { id: grant_id, consent: stored.code.consent, created_at: now, revoked_at: None };
            tokens.id_token = id_token(app, client, &grant, &tokens).await?;
            Ok(tokens)
        }
    }
}

async fn revoke_first_issue(app: &App, code: &StoredAuthorizationCode, now: Timestamp) -> OAuthError {
    if let Some(grant) = code.grant_id {
        if let Err(e) = app.store.revoke_oauth_grant(grant, now).await {
            return e.into();
        }
    }
    invalid_grant("the authorization code was already used; the tokens it issued are revoked")
}

/// `grant_type=refresh_token`: a new pair. A used refresh token still works for Qonto's 60
/// seconds; after that it revokes its whole grant. `scope`, when given, may only narrow.
pub async fn refresh_tokens(
    app: &App,
    client: &OAuthClient,
    refresh_token: &str,
    scope: Option<&str>,
) -> Result<Tokens, OAuthError> {
    let token_hash = hash_secret(refresh_token);
    let stored = match GrantToken::of(refresh_token) {
        Some(GrantToken::RefreshToken) => app.store.oauth_refresh_token(&token_hash).await?,
        _ => None,
    };
    let stored = stored
        .filter(|s| s.grant.consent.client_id == client.id)
        .ok_or_else(|| invalid_grant("the refresh token is unknown, or was issued to another client"))?;
    let narrowed = narrowed_scopes(&stored.grant.consent.scopes, scope)?;
    let now = clock(app, &stored.grant.consent).await?;
    let rule = RefreshGrant {
        issued_at: stored.issued_at,
        first_used_at: stored.first_used_at,
        family_revoked: stored.grant.revoked_at.is_some(),
    };
    match refresh(&rule, now)? {
        Refresh::RevokeFamily => {
            app.store.revoke_oauth_grant(stored.grant.id, now).await?;
            Err(invalid_grant("the refresh token was used before; every token of its grant is now revoked"))
        }
        Refresh::Rotate { .. } => {
            let (issue, mut tokens) = new_tokens(&stored.grant.consent, stored.grant.id, narrowed, now);
            if !app.store.rotate_oauth_refresh_token(&token_hash, issue).await? {
                return Err(invalid_grant("the refresh token was revoked"));
            }
            tokens.id_token = id_token(app, client, &stored.grant, &tokens).await?;
            Ok(tokens)
        }
    }
}

/// The scopes a refresh asks for: all the grant's without `scope`, else a subset of them.
fn narrowed_scopes(granted: &[String], scope: Option<&str>) -> Result<Option<Vec<String>>, OAuthError> {
    let Some(scope) = scope.filter(|s| !s.trim().is_empty()) else {
        return Ok(None);
    };
    let granted_names: Vec<&str> = granted.iter().map(String::as_str).collect();
    Ok(Some(requested_scopes(scope, &granted_names)?))
}

/// A new access token (and refresh token, with `offline_access`) of grant `grant_id`.
fn new_tokens(consent: &Consent, grant_id: Uuid, scopes: Option<Vec<String>>, now: Timestamp) -> (TokenIssue, Tokens) {
    let scopes = scopes.unwrap_or_else(|| consent.scopes.clone());
    let access_token = GrantToken::AccessToken.generate();
    let refresh_token = consent.scopes.iter().any(|s| s == OFFLINE_ACCESS).then(|| GrantToken::RefreshToken.generate());
    let issue = TokenIssue {
        access: NewCredential {
            id: Uuid::new_v4(),
            organization_id: consent.organization_id,
            membership_id: consent.membership_id,
            kind: CredentialKind::AccessToken,
            secret_hash: hash_secret(&access_token),
            scopes: scopes.clone(),
            expires_at: Some(now.checked_add(ACCESS_TOKEN_LIFETIME).unwrap_or(Timestamp::MAX)),
            created_at: now,
            grant_id: Some(grant_id),
        },
        refresh_hash: refresh_token.as_deref().map(hash_secret),
        issued_at: now,
    };
    let tokens = Tokens {
        access_token,
        expires_in: ACCESS_TOKEN_LIFETIME.as_secs(),
        scope: scopes.join(" "),
        refresh_token,
        id_token: None,
    };
    (issue, tokens)
}

/// With `openid` granted, the ID token of these tokens (spec §8's claims). Its times are real
/// time, not the organization's clock: the client's library checks `iat` and `exp` against
/// its own clock, and a sandbox clock moved ahead would make every ID token "issued in the
/// future" (docs/decisions.md).
async fn id_token(
    app: &App,
    client: &OAuthClient,
    grant: &OAuthGrant,
    tokens: &Tokens,
) -> Result<Option<String>, OAuthError> {
    let now = Timestamp::now();
    let consent = &grant.consent;
    if !consent.scopes.iter().any(|s| s == OPENID) {
        return Ok(None);
    }
    let member = app.store.membership(consent.organization_id, consent.membership_id).await?;
    let email = member.map(|m| m.email).unwrap_or_default();
    let claims = IdClaims {
        iss: app.public_url.clone(),
        sub: consent.membership_id.to_string(),
        aud: vec![client.id.clone()],
        exp: now.as_second() + ACCESS_TOKEN_LIFETIME.as_secs(),
        iat: now.as_second(),
        auth_time: consent.auth_time.as_second(),
        rat: consent.auth_time.as_second(),
        at_hash: at_hash(&tokens.access_token),
        email,
        sid: grant.id.to_string(),
        jti: Uuid::new_v4().to_string(),
        nonce: consent.nonce.clone(),
    };
    let key = app.signing_key().await.map_err(OAuthError::Signing)?;
    key.sign(&claims).map(Some).map_err(OAuthError::Signing)
}

/// RFC 7009: revokes `token` if it is this client's. An access token stops alone; a refresh
/// token revokes its grant (every token rotated from it, and their access tokens). Unknown
/// tokens, and other clients' tokens, are left alone without saying so.
pub async fn revoke(app: &App, client: &OAuthClient, token: &str) -> Result<(), OAuthError> {
    let hash = hash_secret(token);
    if let Some(refresh) = app.store.oauth_refresh_token(&hash).await? {
        if refresh.grant.consent.client_id == client.id {
            app.store.revoke_oauth_grant(refresh.grant.id, clock(app, &refresh.grant.consent).await?).await?;
        }
        return Ok(());
    }
    let Some(credential) = app.store.credential_by_hash(&hash).await? else {
        return Ok(());
    };
    let Some(grant_id) = credential.grant_id else {
        return Ok(());
    };
    let grant = app.store.oauth_grant(grant_id).await?;
    if grant.is_some_and(|g| g.consent.client_id == client.id) {
        app.store.revoke_credential(&hash, credential.organization.now()).await?;
    }
    Ok(())
}

/// `DELETE /v2/oauth2/consents`: the member withdraws the consent they gave the client whose
/// token calls; every token of that client for them stops, and the organization's
/// `v1/consent-revocations` subscriptions hear of it. A token no client was given (control
/// API) withdraws nothing. How many grants were revoked.
pub async fn withdraw_consent(app: &App, grant_id: Option<Uuid>, now: Timestamp) -> StoreResult<u64> {
    let Some(grant_id) = grant_id else {
        return Ok(0);
    };
    let Some(grant) = app.store.oauth_grant(grant_id).await? else {
        return Ok(0);
    };
    let consent = &grant.consent;
    let data = ConsentRevocationData { client_id: consent.client_id.clone(), revoked_at: Time(now) };
    // One member's revocations reach a subscription in the order they happened.
    let event = outbox_event(consent.organization_id, CONSENT_REVOCATIONS_TOPIC, consent.membership_id, &data, now);
    app.store.withdraw_oauth_consent(&consent.client_id, consent.membership_id, now, event).await
}
