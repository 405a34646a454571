//! Storage stories: the OAuth server's clients, codes, grants and refresh tokens.

use super::*;
use crate::{Consent, NewAuthorizationCode, OAuthClient, StoredRefreshToken, TokenIssue};

fn hash(byte: u8) -> [u8; 32] {
    let mut hash = *Uuid::new_v4().as_bytes().repeat(2).first_chunk().unwrap();
    hash[0] = byte;
    hash
}

fn oauth_client(id: &str) -> OAuthClient {
    OAuthClient {
        id: id.into(),
        name: format!("{id} app"),
        secret_hash: hash(1),
        redirect_uris: vec!["https://app.example/callback".into(), "http://127.0.0.1:8765/cb".into()],
        created_at: now(),
    }
}

fn consent(client: &str, member: &Membership) -> Consent {
    Consent {
        client_id: client.into(),
        organization_id: member.organization_id,
        membership_id: member.id,
        scopes: vec!["card.read".into(), "offline_access".into(), "openid".into()],
        auth_time: now(),
        nonce: Some("n-0S6_WzA2Mj".into()),
    }
}

fn issue(consent: &Consent, refresh: bool) -> (TokenIssue, [u8; 32]) {
    let access_hash = hash(2);
    let issue = TokenIssue {
        access: NewCredential {
            id: Uuid::new_v4(),
            organization_id: consent.organization_id,
            membership_id: consent.membership_id,
            kind: CredentialKind::AccessToken,
            secret_hash: access_hash,
            scopes: consent.scopes.clone(),
            expires_at: Some(now() + jiff::SignedDuration::from_secs(3600)),
            created_at: now(),
            grant_id: None,
        },
        refresh_hash: refresh.then(|| hash(3)),
        issued_at: now(),
    };
    (issue, access_hash)
}

fn in_grant(mut issue: TokenIssue, grant: Uuid) -> TokenIssue {
    issue.access.grant_id = Some(grant);
    issue
}

/// Clients round-trip and their ids are unique; a code is redeemed once, by one grant that
/// takes its consent, with the access token (a credential of that grant) and refresh token
/// written together; a refresh token rotates in its grant until the grant is revoked, which
/// stops every access token of the grant at once.
pub async fn oauth_codes_redeem_once_and_grants_revoke_their_tokens(store: Arc<dyn Store>) {
    let seed = seeded(&store, "oauth").await;
    let member = &seed.memberships[1];
    store.insert_oauth_client(oauth_client("app-one")).await.unwrap();
    let taken = store.insert_oauth_client(oauth_client("app-one")).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    let mut expected = oauth_client("app-one");
    expected.secret_hash = store.oauth_client("app-one").await.unwrap().unwrap().secret_hash;
    assert_eq!(
        store.oauth_client("app-one").await.unwrap().map(|c| (c.name, c.redirect_uris)),
        Some((expected.name, expected.redirect_uris))
    );
    assert_eq!(store.oauth_clients(PageRequest { page: 1, per_page: 10 }).await.unwrap().total, 1);

    let consent = consent("app-one", member);
    let code = NewAuthorizationCode {
        code_hash: hash(4),
        consent: consent.clone(),
        redirect_uri: "https://app.example/callback".into(),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        issued_at: now(),
    };
    store.insert_oauth_code(code.clone()).await.unwrap();
    let stored = store.oauth_code(&code.code_hash).await.unwrap().unwrap();
    assert_eq!((stored.code, stored.used_at, stored.grant_id), (code.clone(), None, None));

    let grant_id = Uuid::new_v4();
    let (first, access) = issue(&consent, true);
    let first = in_grant(first, grant_id);
    assert!(store.redeem_oauth_code(&code.code_hash, grant_id, first.clone()).await.unwrap());
    let (again, _) = issue(&consent, true);
    assert!(!store.redeem_oauth_code(&code.code_hash, Uuid::new_v4(), again.clone()).await.unwrap(), "once");
    assert_eq!(store.credential_by_hash(&again.access.secret_hash).await.unwrap(), None, "nothing written");
    let used = store.oauth_code(&code.code_hash).await.unwrap().unwrap();
    assert_eq!((used.used_at.is_some(), used.grant_id), (true, Some(grant_id)));
    let grant = store.oauth_grant(grant_id).await.unwrap().unwrap();
    assert_eq!((grant.consent, grant.revoked_at), (consent.clone(), None));
    let consents = store.oauth_consents(&consent.client_id).await.unwrap();
    assert_eq!(consents.iter().map(|g| g.id).collect::<Vec<_>>(), vec![grant_id], "the client's consents in force");
    let token = store.credential_by_hash(&access).await.unwrap().unwrap();
    assert_eq!((token.grant_id, token.membership.id, token.revoked_at), (Some(grant_id), member.id, None));

    let refresh_hash = first.refresh_hash.unwrap();
    let refresh: StoredRefreshToken = store.oauth_refresh_token(&refresh_hash).await.unwrap().unwrap();
    assert_eq!((refresh.grant.id, refresh.first_used_at), (grant_id, None));
    let (rotated, rotated_access) = issue(&consent, true);
    assert!(store.rotate_oauth_refresh_token(&refresh_hash, in_grant(rotated.clone(), grant_id)).await.unwrap());
    let used = store.oauth_refresh_token(&refresh_hash).await.unwrap().unwrap();
    let first_use = used.first_used_at.expect("the first use is recorded");
    let (grace, _) = issue(&consent, true);
    assert!(store.rotate_oauth_refresh_token(&refresh_hash, in_grant(grace, grant_id)).await.unwrap());
    let still = store.oauth_refresh_token(&refresh_hash).await.unwrap().unwrap();
    assert_eq!(still.first_used_at, Some(first_use), "a later use keeps the first");
    let next = store.oauth_refresh_token(&rotated.refresh_hash.unwrap()).await.unwrap().unwrap();
    assert_eq!(next.grant.id, grant_id, "the family is one grant");

    assert!(store.revoke_oauth_grant(grant_id, now()).await.unwrap());
    assert!(!store.revoke_oauth_grant(grant_id, now()).await.unwrap(), "revoked once");
    assert!(store.oauth_consents(&consent.client_id).await.unwrap().is_empty(), "a revoked grant is no consent");
    for hash in [access, rotated_access] {
        let token = store.credential_by_hash(&hash).await.unwrap().unwrap();
        assert!(token.revoked_at.is_some(), "every access token of the grant stops");
    }
    let (late, late_access) = issue(&consent, true);
    assert!(!store.rotate_oauth_refresh_token(&refresh_hash, in_grant(late, grant_id)).await.unwrap());
    assert_eq!(store.credential_by_hash(&late_access).await.unwrap(), None);
}

/// Withdrawing a consent revokes every live grant the member gave that client, and only
/// those; deleting a client removes its grants' tokens.
pub async fn oauth_consents_are_withdrawn_and_clients_deleted(store: Arc<dyn Store>) {
    let seed = seeded(&store, "consent").await;
    let (member, other) = (&seed.memberships[0], &seed.memberships[3]);
    store.insert_oauth_client(oauth_client("app-a")).await.unwrap();
    store.insert_oauth_client(oauth_client("app-b")).await.unwrap();
    let mut tokens = Vec::new();
    for (client, who) in [("app-a", member), ("app-a", member), ("app-a", other), ("app-b", member)] {
        let consent = consent(client, who);
        let code = NewAuthorizationCode {
            code_hash: hash(5),
            consent: consent.clone(),
            redirect_uri: "https://app.example/callback".into(),
            code_challenge: None,
            issued_at: now(),
        };
        store.insert_oauth_code(code.clone()).await.unwrap();
        let grant = Uuid::new_v4();
        let (issue, access) = issue(&consent, false);
        assert!(store.redeem_oauth_code(&code.code_hash, grant, in_grant(issue, grant)).await.unwrap());
        tokens.push(access);
    }
    let event = || OutboxEvent {
        id: Uuid::new_v4(),
        organization_id: member.organization_id,
        topic: "v1/consent-revocations".into(),
        ordering_key: member.id,
        data: r#"{"client_id":"app-a"}"#.into(),
        created_at: now(),
    };
    assert_eq!(store.withdraw_oauth_consent("app-a", member.id, now(), event()).await.unwrap(), 2);
    assert_eq!(store.withdraw_oauth_consent("app-a", member.id, now(), event()).await.unwrap(), 0);
    let revoked = |hash: [u8; 32]| {
        let store = store.clone();
        async move { store.credential_by_hash(&hash).await.unwrap().map(|c| c.revoked_at.is_some()) }
    };
    assert_eq!(revoked(tokens[0]).await, Some(true));
    assert_eq!(revoked(tokens[1]).await, Some(true));
    assert_eq!(revoked(tokens[2]).await, Some(false), "another member's consent stays");
    assert_eq!(revoked(tokens[3]).await, Some(false), "another client's consent stays");
    assert!(store.delete_oauth_client("app-b").await.unwrap());
    assert!(!store.delete_oauth_client("app-b").await.unwrap());
    assert_eq!(revoked(tokens[3]).await, None, "a deleted client's tokens are gone");
    assert_eq!(store.oauth_client("app-b").await.unwrap(), None);
}
