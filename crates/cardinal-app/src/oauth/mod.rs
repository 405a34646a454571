//! The OAuth 2.0 server's standard parts that need crypto, around the domain's grant rules
//! (`cardinal_domain::oauth`): PKCE's S256 transform, and the opaque codes and tokens, which
//! carry Ory Hydra's prefixes as Qonto's do **[Q]**. Only their hashes are stored
//! ([`crate::secrets::hash_secret`]).

pub mod authorize;
pub mod clients;
pub mod id_token;
pub mod tokens;

use crate::secrets::new_token;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cardinal_domain::oauth::{GrantError, OFFLINE_ACCESS, OPENID};
use cardinal_store::StoreError;
use sha2::{Digest, Sha256};

/// Which opaque credential a token is; its prefix says so, as Hydra's do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantToken {
    AuthorizationCode,
    AccessToken,
    RefreshToken,
}

impl GrantToken {
    pub fn prefix(self) -> &'static str {
        match self {
            GrantToken::AuthorizationCode => "ory_ac_",
            GrantToken::AccessToken => "ory_at_",
            GrantToken::RefreshToken => "ory_rt_",
        }
    }

    /// A new one: the prefix, then 256 random bits.
    pub fn generate(self) -> String {
        format!("{}{}", self.prefix(), new_token())
    }

    /// Which kind `token` claims to be, by its prefix.
    pub fn of(token: &str) -> Option<GrantToken> {
        [GrantToken::AuthorizationCode, GrantToken::AccessToken, GrantToken::RefreshToken]
            .into_iter()
            .find(|kind| token.starts_with(kind.prefix()))
    }
}

/// Why an OAuth use case failed: a grant rule (answered as RFC 6749 says), the store, or the
/// signing key (both server faults).
#[derive(Debug)]
pub enum OAuthError {
    Grant(GrantError),
    Store(StoreError),
    Signing(String),
}

impl From<GrantError> for OAuthError {
    fn from(e: GrantError) -> OAuthError {
        OAuthError::Grant(e)
    }
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> OAuthError {
        OAuthError::Store(e)
    }
}

/// An organization's clock, on which every OAuth lifetime runs (real time if it is gone).
pub(crate) async fn organization_now(
    app: &crate::App,
    organization_id: uuid::Uuid,
) -> Result<jiff::Timestamp, StoreError> {
    let organization = app.store.organization(organization_id).await?;
    Ok(organization.map(|o| o.now()).unwrap_or_else(jiff::Timestamp::now))
}

/// The scopes a client may ask for: every scope Qonto's authorization server knows
/// (`qonto-reference.md` §2.4), so a real client's request is never refused here for a
/// scope Cardinal's routes do not use, and OAuth's own `offline_access` and `openid`.
pub fn known_scopes() -> Vec<&'static str> {
    let mut known: Vec<&'static str> = cardinal_wire::scope::QONTO.to_vec();
    known.extend([OFFLINE_ACCESS, OPENID]);
    known
}

/// PKCE's S256 (RFC 7636 §4.2): BASE64URL(SHA-256(ASCII(verifier))), without padding.
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cardinal_domain::oauth::{exchange_code, CodeExchange, CodeGrant};

    #[test]
    fn s256_matches_rfc_7636_appendix_b() {
        assert_eq!(s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn a_code_with_the_rfc_challenge_takes_the_rfc_verifier() {
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let code = CodeGrant {
            issued_at: now,
            used_at: None,
            code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
            redirect_uri: "https://app.example/callback".into(),
        };
        let redirect = Some("https://app.example/callback");
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(exchange_code(&code, redirect, Some(verifier), s256, now), Ok(CodeExchange::Issue));
        let wrong = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX";
        assert_eq!(exchange_code(&code, redirect, Some(wrong), s256, now).unwrap_err().code(), "invalid_grant");
    }

    #[test]
    fn tokens_carry_hydras_prefixes_and_differ() {
        let (a, b) = (GrantToken::AccessToken.generate(), GrantToken::AccessToken.generate());
        assert!(a.starts_with("ory_at_") && a.len() == "ory_at_".len() + 43);
        assert_ne!(a, b);
        assert_eq!(GrantToken::of(&GrantToken::RefreshToken.generate()), Some(GrantToken::RefreshToken));
        assert_eq!(GrantToken::of(&GrantToken::AuthorizationCode.generate()), Some(GrantToken::AuthorizationCode));
        assert_eq!(GrantToken::of("whsec_x"), None);
    }
}
