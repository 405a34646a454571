//! The grant rules of Cardinal's OAuth 2.0 authorization server (spec §8, Qonto's flow in
//! `qonto-reference.md` §2), as pure functions of the grant's state and `now` (the
//! organization's clock, so a test can advance past a lifetime):
//!
//! - which scopes a client may ask for, and what a request's `scope` parameter means;
//! - an authorization code: single use, 10 minutes; a second use revokes what the first
//!   issued (RFC 6749 §4.1.2);
//! - a refresh token: rotated on each use, the used one still accepted for Qonto's 60-second
//!   grace period, and presented after that, its whole family revoked (theft detection);
//! - the request checks a redirect must pass (exact `redirect_uri`, `state` of 8 characters).
//!
//! The HTTP door, token storage and signing are elsewhere; these rules are what they obey.

use jiff::{SignedDuration, Timestamp};

/// How long an authorization code may be exchanged **[Q]**.
pub const CODE_LIFETIME: SignedDuration = SignedDuration::from_secs(10 * 60);
/// How long an access token (and an ID token) works **[Q]**.
pub const ACCESS_TOKEN_LIFETIME: SignedDuration = SignedDuration::from_secs(3600);
/// How long a refresh token may be used **[Q]**.
pub const REFRESH_TOKEN_LIFETIME: SignedDuration = SignedDuration::from_secs(90 * 24 * 3600);
/// How long a used refresh token still works **[Q]**: a client whose answer was lost retries.
pub const REFRESH_GRACE: SignedDuration = SignedDuration::from_secs(60);
/// The shortest `state` accepted (spec §8): enough to carry a CSRF value.
pub const STATE_MIN_LENGTH: usize = 8;

/// Asks for a refresh token.
pub const OFFLINE_ACCESS: &str = "offline_access";
/// Asks for an ID token.
pub const OPENID: &str = "openid";

/// Why a grant was refused, as RFC 6749 §5.2 and §4.1.2.1 name it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    #[error("the request is missing a parameter or has an invalid one: {0}")]
    InvalidRequest(String),
    #[error("the client is unknown or its secret is wrong")]
    InvalidClient,
    #[error("{0}")]
    InvalidGrant(String),
    #[error("unknown scopes: {}", .0.join(", "))]
    InvalidScope(Vec<String>),
    #[error("the member denied the request")]
    AccessDenied,
    #[error("only authorization_code and refresh_token are supported")]
    UnsupportedGrantType,
    #[error("only response_type=code is supported")]
    UnsupportedResponseType,
}

impl GrantError {
    /// The `error` field of the RFC 6749 answer.
    pub fn code(&self) -> &'static str {
        match self {
            GrantError::InvalidRequest(_) => "invalid_request",
            GrantError::InvalidClient => "invalid_client",
            GrantError::InvalidGrant(_) => "invalid_grant",
            GrantError::InvalidScope(_) => "invalid_scope",
            GrantError::AccessDenied => "access_denied",
            GrantError::UnsupportedGrantType => "unsupported_grant_type",
            GrantError::UnsupportedResponseType => "unsupported_response_type",
        }
    }
}

/// The scopes of a `scope` parameter (space-separated), each one of `known`, without repeats
/// and in the order given. An empty request or an unknown scope is refused.
pub fn requested_scopes(raw: &str, known: &[&str]) -> Result<Vec<String>, GrantError> {
    let mut scopes: Vec<String> = Vec::new();
    let mut unknown = Vec::new();
    for scope in raw.split(' ').filter(|s| !s.is_empty()) {
        if !known.contains(&scope) {
            unknown.push(scope.to_owned());
        } else if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    if !unknown.is_empty() {
        return Err(GrantError::InvalidScope(unknown));
    }
    if scopes.is_empty() {
        return Err(GrantError::InvalidRequest("scope must name at least one scope".into()));
    }
    Ok(scopes)
}

/// Whether `redirect_uri` is one the client registered, character for character: no prefix,
/// no normalization (a near match is how codes get stolen).
pub fn redirect_registered(registered: &[String], redirect_uri: &str) -> bool {
    registered.iter().any(|uri| uri == redirect_uri)
}

/// The `state` a client must send: at least [`STATE_MIN_LENGTH`] characters.
pub fn check_state(state: Option<&str>) -> Result<&str, GrantError> {
    match state {
        Some(state) if state.chars().count() >= STATE_MIN_LENGTH => Ok(state),
        _ => Err(GrantError::InvalidRequest(format!("state must have at least {STATE_MIN_LENGTH} characters"))),
    }
}

/// An authorization code as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeGrant {
    pub issued_at: Timestamp,
    /// When it was exchanged, if it was.
    pub used_at: Option<Timestamp>,
    /// The PKCE challenge sent with the authorization request (S256), if any.
    pub code_challenge: Option<String>,
    pub redirect_uri: String,
}

/// What exchanging a code does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeExchange {
    /// Issue tokens; mark the code used at `now`.
    Issue,
    /// The code was used before: refuse, and revoke the tokens its first use issued.
    RevokeFirstIssue,
}

/// The rules of exchanging `code` at `now` with the request's `redirect_uri` (required, as
/// Qonto's token endpoint requires it, and the one the code was issued for) and PKCE
/// `verifier`; `s256` is the S256 transform (BASE64URL(SHA-256(verifier))), given by the
/// caller so this stays free of hashing.
pub fn exchange_code(
    code: &CodeGrant,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
    s256: impl Fn(&str) -> String,
    now: Timestamp,
) -> Result<CodeExchange, GrantError> {
    if code.used_at.is_some() {
        return Ok(CodeExchange::RevokeFirstIssue);
    }
    if now > expires(code.issued_at, CODE_LIFETIME) {
        return Err(GrantError::InvalidGrant("the authorization code has expired".into()));
    }
    match redirect_uri {
        None => return Err(GrantError::InvalidRequest("redirect_uri is required".into())),
        Some(uri) if uri != code.redirect_uri => {
            return Err(GrantError::InvalidGrant("redirect_uri is not the one the code was issued for".into()))
        }
        Some(_) => {}
    }
    match (&code.code_challenge, verifier) {
        (None, _) => Ok(CodeExchange::Issue),
        (Some(_), None) => Err(GrantError::InvalidRequest("code_verifier is required".into())),
        (Some(challenge), Some(verifier)) if valid_verifier(verifier) && s256(verifier) == *challenge => {
            Ok(CodeExchange::Issue)
        }
        (Some(_), Some(_)) => Err(GrantError::InvalidGrant("code_verifier does not match the challenge".into())),
    }
}

/// RFC 7636 §4.1: 43 to 128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`.
pub fn valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// A refresh token as stored: one of a family (every token rotated from one consent's first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshGrant {
    pub issued_at: Timestamp,
    /// When it was first used to refresh.
    pub first_used_at: Option<Timestamp>,
    /// Whether its family was revoked (reuse detected, consent withdrawn, revocation).
    pub family_revoked: bool,
}

/// What presenting a refresh token does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refresh {
    /// Issue a new pair; the first use marks this token used at `now`.
    Rotate { first_use: bool },
    /// Used before and past the grace period: refuse, and revoke the whole family.
    RevokeFamily,
}

/// The rules of presenting `token` at `now`.
pub fn refresh(token: &RefreshGrant, now: Timestamp) -> Result<Refresh, GrantError> {
    if token.family_revoked {
        return Err(GrantError::InvalidGrant("the refresh token was revoked".into()));
    }
    if now > expires(token.issued_at, REFRESH_TOKEN_LIFETIME) {
        return Err(GrantError::InvalidGrant("the refresh token has expired".into()));
    }
    Ok(match token.first_used_at {
        None => Refresh::Rotate { first_use: true },
        Some(used) if now <= expires(used, REFRESH_GRACE) => Refresh::Rotate { first_use: false },
        Some(_) => Refresh::RevokeFamily,
    })
}

/// Whether an access token issued at `issued_at` still works at `now`.
pub fn access_token_valid(issued_at: Timestamp, now: Timestamp) -> bool {
    now <= expires(issued_at, ACCESS_TOKEN_LIFETIME)
}

fn expires(from: Timestamp, lifetime: SignedDuration) -> Timestamp {
    from.checked_add(lifetime).unwrap_or(Timestamp::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: &[&str] = &["card.read", "card.write", OFFLINE_ACCESS, OPENID];

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    /// A stand-in for S256 in these tests: the rules only compare its output.
    fn reversed(verifier: &str) -> String {
        verifier.chars().rev().collect()
    }

    fn code(challenge: Option<&str>) -> CodeGrant {
        CodeGrant {
            issued_at: at(0),
            used_at: None,
            code_challenge: challenge.map(str::to_owned),
            redirect_uri: "https://app.example/callback".into(),
        }
    }

    #[test]
    fn scopes_are_known_deduplicated_and_in_order() {
        assert_eq!(
            requested_scopes("card.read  openid card.read", KNOWN),
            Ok(vec!["card.read".into(), "openid".into()])
        );
        assert_eq!(
            requested_scopes("card.read card.fly", KNOWN),
            Err(GrantError::InvalidScope(vec!["card.fly".into()]))
        );
        assert_eq!(requested_scopes(" ", KNOWN).unwrap_err().code(), "invalid_request");
    }

    #[test]
    fn redirects_and_states_are_exact() {
        let registered = vec!["https://app.example/callback".to_owned()];
        assert!(redirect_registered(&registered, "https://app.example/callback"));
        for near in
            ["https://app.example/callback/", "https://app.example/callback?x=1", "HTTPS://app.example/callback"]
        {
            assert!(!redirect_registered(&registered, near), "{near}");
        }
        assert_eq!(check_state(Some("12345678")), Ok("12345678"));
        assert!(check_state(Some("1234567")).is_err());
        assert!(check_state(None).is_err());
    }

    const CALLBACK: Option<&str> = Some("https://app.example/callback");

    #[test]
    fn a_code_works_once_within_ten_minutes() {
        let fresh = code(None);
        assert_eq!(exchange_code(&fresh, CALLBACK, None, reversed, at(599)), Ok(CodeExchange::Issue));
        assert_eq!(exchange_code(&fresh, CALLBACK, None, reversed, at(600)), Ok(CodeExchange::Issue));
        assert_eq!(exchange_code(&fresh, CALLBACK, None, reversed, at(601)).unwrap_err().code(), "invalid_grant");
        let used = CodeGrant { used_at: Some(at(10)), ..fresh.clone() };
        assert_eq!(exchange_code(&used, CALLBACK, None, reversed, at(11)), Ok(CodeExchange::RevokeFirstIssue));
        let elsewhere = Some("https://app.example/other");
        assert_eq!(exchange_code(&fresh, elsewhere, None, reversed, at(1)).unwrap_err().code(), "invalid_grant");
        assert_eq!(exchange_code(&fresh, None, None, reversed, at(1)).unwrap_err().code(), "invalid_request");
    }

    #[test]
    fn pkce_needs_the_verifier_of_the_challenge() {
        let verifier = "v".repeat(20) + &"w".repeat(23);
        let challenged = code(Some(&reversed(&verifier)));
        assert_eq!(exchange_code(&challenged, CALLBACK, Some(&verifier), reversed, at(1)), Ok(CodeExchange::Issue));
        assert_eq!(exchange_code(&challenged, CALLBACK, None, reversed, at(1)).unwrap_err().code(), "invalid_request");
        let other = "x".repeat(43);
        assert_eq!(
            exchange_code(&challenged, CALLBACK, Some(&other), reversed, at(1)).unwrap_err().code(),
            "invalid_grant"
        );
        assert!(!valid_verifier("short"));
        assert!(!valid_verifier(&"a".repeat(129)));
        assert!(!valid_verifier(&("a".repeat(42) + "!")));
    }

    #[test]
    fn a_refresh_token_rotates_with_a_grace_then_its_family_goes() {
        let token = RefreshGrant { issued_at: at(0), first_used_at: None, family_revoked: false };
        assert_eq!(refresh(&token, at(100)), Ok(Refresh::Rotate { first_use: true }));
        let used = RefreshGrant { first_used_at: Some(at(100)), ..token.clone() };
        assert_eq!(refresh(&used, at(160)), Ok(Refresh::Rotate { first_use: false }), "60 s of grace");
        assert_eq!(refresh(&used, at(161)), Ok(Refresh::RevokeFamily), "then theft is assumed");
        let revoked = RefreshGrant { family_revoked: true, ..token.clone() };
        assert_eq!(refresh(&revoked, at(1)).unwrap_err().code(), "invalid_grant");
        let ninety_days = 90 * 24 * 3600;
        assert!(refresh(&token, at(ninety_days)).is_ok());
        assert_eq!(refresh(&token, at(ninety_days + 1)).unwrap_err().code(), "invalid_grant");
    }

    #[test]
    fn access_tokens_last_an_hour() {
        assert!(access_token_valid(at(0), at(3600)));
        assert!(!access_token_valid(at(0), at(3601)));
    }
}
