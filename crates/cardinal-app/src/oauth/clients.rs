//! The client applications the authorization server knows (spec §8): registered through the
//! control API, each with a secret shown once and stored hashed, and the redirect URIs codes
//! may be sent to.

use crate::issues::Issues;
use crate::secrets::{hash_secret, hashes_equal, new_token};
use crate::App;
use cardinal_domain::oauth::GrantError;
use cardinal_store::{OAuthClient, Page, PageRequest, StoreResult};
use jiff::Timestamp;
use url::Url;
use uuid::Uuid;

/// A registered client and its secret, which is never shown again.
pub struct Registered {
    pub client: OAuthClient,
    pub secret: String,
}

/// Registers a client. Each redirect URI must be an absolute `http` or `https` URL without a
/// fragment (RFC 6749 §3.1.2); codes are only ever sent to one of them, compared exactly.
pub async fn register(app: &App, name: String, redirect_uris: Vec<String>) -> StoreResult<Registered> {
    let mut issues = Issues::at("");
    for (index, uri) in redirect_uris.iter().enumerate() {
        if let Some(problem) = redirect_uri_problem(uri) {
            issues.add("invalid", &format!("redirect_uris/{index}"), problem);
        }
    }
    issues.finish()?;
    let secret = new_token();
    let client = OAuthClient {
        id: Uuid::new_v4().to_string(),
        name,
        secret_hash: hash_secret(&secret),
        redirect_uris,
        created_at: Timestamp::now(),
    };
    app.store.insert_oauth_client(client.clone()).await?;
    Ok(Registered { client, secret })
}

fn redirect_uri_problem(uri: &str) -> Option<&'static str> {
    match Url::parse(uri) {
        Err(_) => Some("must be an absolute URL"),
        Ok(url) if !matches!(url.scheme(), "http" | "https") => Some("must be an http or https URL"),
        Ok(url) if url.fragment().is_some() => Some("must not have a fragment"),
        Ok(_) => None,
    }
}

pub async fn list(app: &App, page: PageRequest) -> StoreResult<Page<OAuthClient>> {
    app.store.oauth_clients(page).await
}

/// Removes a client: every token it was issued stops working. False when there was none.
/// The client's consents in force: who allowed it what, newest first.
pub async fn consents(app: &App, client_id: &str) -> StoreResult<Vec<cardinal_store::OAuthGrant>> {
    app.store.oauth_consents(client_id).await
}

pub async fn delete(app: &App, client_id: &str) -> StoreResult<bool> {
    app.store.delete_oauth_client(client_id).await
}

/// The client `client_id` names if `secret` is its secret, compared in constant time; an
/// unknown client costs the same hash (RFC 6749 §2.3.1, `invalid_client`).
pub async fn authenticate(app: &App, client_id: &str, secret: &str) -> Result<OAuthClient, super::OAuthError> {
    let presented = hash_secret(secret);
    let client = app.store.oauth_client(client_id).await?;
    match client {
        Some(client) if hashes_equal(&client.secret_hash, &presented) => Ok(client),
        _ => Err(GrantError::InvalidClient.into()),
    }
}
