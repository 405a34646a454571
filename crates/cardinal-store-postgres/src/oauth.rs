//! The OAuth 2.0 server's clients, codes, grants and refresh tokens. A grant's row lock orders
//! its rotations against its revocation, across processes.

use crate::db::Db;
use async_trait::async_trait;
use cardinal_store::sql::{all_rows, columns, Dialect, OAUTH_CLIENT, OAUTH_CONSENT, OAUTH_GRANT};
use cardinal_store::{
    Consent, NewAuthorizationCode, OAuthClient, OAuthGrant, OAuthStore, OutboxEvent, Page, PageRequest, StoreResult,
    StoredAuthorizationCode, StoredRefreshToken, TokenIssue,
};
use jiff::Timestamp;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::credentials::insert_credential;
use crate::rows::{corrupt, get, timestamp, uuid};
use crate::webhooks::write_outbox;
use crate::{optional, pg, run_list, Fail, PostgresStore};

fn hash_of(row: &Row, name: &str) -> Result<[u8; 32], Fail> {
    get::<Vec<u8>>(row, name)?.try_into().map_err(|_| corrupt("hash length"))
}

fn opt_timestamp(row: &Row, name: &str) -> Result<Option<Timestamp>, Fail> {
    get::<Option<i64>>(row, name)?.map(timestamp).transpose()
}

fn client(row: &Row) -> Result<OAuthClient, Fail> {
    let uris: String = get(row, "k_redirect_uris")?;
    Ok(OAuthClient {
        id: get(row, "k_id")?,
        name: get(row, "k_name")?,
        secret_hash: hash_of(row, "k_secret_hash")?,
        redirect_uris: serde_json::from_str(&uris).map_err(corrupt)?,
        created_at: timestamp(get(row, "k_created_at")?)?,
    })
}

fn consent(row: &Row, p: &str) -> Result<Consent, Fail> {
    let col = |n: &str| format!("{p}_{n}");
    let scopes: String = get(row, &col("scopes"))?;
    Ok(Consent {
        client_id: get(row, &col("client_id"))?,
        organization_id: uuid(get::<&str>(row, &col("organization_id"))?)?,
        membership_id: uuid(get::<&str>(row, &col("membership_id"))?)?,
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        auth_time: timestamp(get(row, &col("auth_time"))?)?,
        nonce: get(row, &col("nonce"))?,
    })
}

fn grant(row: &Row) -> Result<OAuthGrant, Fail> {
    Ok(OAuthGrant {
        id: uuid(get::<&str>(row, "g_id")?)?,
        consent: consent(row, "g")?,
        created_at: timestamp(get(row, "g_created_at")?)?,
        revoked_at: opt_timestamp(row, "g_revoked_at")?,
    })
}

fn code(row: &Row) -> Result<StoredAuthorizationCode, Fail> {
    Ok(StoredAuthorizationCode {
        code: NewAuthorizationCode {
            code_hash: hash_of(row, "a_code_hash")?,
            consent: consent(row, "a")?,
            redirect_uri: get(row, "a_redirect_uri")?,
            code_challenge: get(row, "a_code_challenge")?,
            issued_at: timestamp(get(row, "a_issued_at")?)?,
        },
        used_at: opt_timestamp(row, "a_used_at")?,
        grant_id: get::<Option<&str>>(row, "a_grant_id")?.map(uuid).transpose()?,
    })
}

fn refresh_token(row: &Row) -> Result<StoredRefreshToken, Fail> {
    Ok(StoredRefreshToken {
        token_hash: hash_of(row, "r_token_hash")?,
        grant: grant(row)?,
        issued_at: timestamp(get(row, "r_issued_at")?)?,
        first_used_at: opt_timestamp(row, "r_first_used_at")?,
    })
}

fn client_query() -> &'static str {
    fixed_sql!("SELECT {} FROM oauth_clients k WHERE k.id = $1", columns("k", OAUTH_CLIENT))
}

fn code_query() -> &'static str {
    fixed_sql!(
        "SELECT {}, a.code_hash AS a_code_hash, a.redirect_uri AS a_redirect_uri, a.code_challenge AS \
         a_code_challenge, a.issued_at AS a_issued_at, a.used_at AS a_used_at, a.grant_id AS a_grant_id \
         FROM oauth_codes a WHERE a.code_hash = $1",
        columns("a", OAUTH_CONSENT)
    )
}

fn grant_query() -> &'static str {
    fixed_sql!("SELECT {} FROM oauth_grants g WHERE g.id = $1", columns("g", OAUTH_GRANT))
}

fn refresh_query() -> &'static str {
    fixed_sql!(
        "SELECT {}, r.token_hash AS r_token_hash, r.issued_at AS r_issued_at, r.first_used_at AS r_first_used_at \
         FROM oauth_refresh_tokens r JOIN oauth_grants g ON g.id = r.grant_id WHERE r.token_hash = $1",
        columns("g", OAUTH_GRANT)
    )
}

async fn write_issue(client: &Db<'_>, grant: Uuid, issue: &TokenIssue) -> Result<(), Fail> {
    insert_credential(client, &issue.access).await?;
    if let Some(hash) = issue.refresh_hash {
        client
            .execute(
                "INSERT INTO oauth_refresh_tokens (token_hash, grant_id, issued_at, first_used_at) \
                 VALUES ($1, $2, $3, NULL)",
                &[&hash.to_vec(), &grant.to_string(), &issue.issued_at.as_second()],
            )
            .await
            .map_err(pg)?;
    }
    Ok(())
}

async fn revoke_grant(client: &Db<'_>, id: Uuid, at: Timestamp) -> Result<bool, Fail> {
    let revoked = client
        .execute(
            "UPDATE oauth_grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            &[&at.as_second(), &id.to_string()],
        )
        .await
        .map_err(pg)?;
    client
        .execute(
            "UPDATE credentials SET revoked_at = $1 WHERE grant_id = $2 AND revoked_at IS NULL",
            &[&at.as_second(), &id.to_string()],
        )
        .await
        .map_err(pg)?;
    Ok(revoked > 0)
}

#[async_trait]
impl OAuthStore for PostgresStore {
    async fn insert_oauth_client(&self, k: OAuthClient) -> StoreResult<()> {
        let uris = serde_json::Value::from(k.redirect_uris.clone()).to_string();
        transaction!(self, |tx| {
            tx.execute(
                "INSERT INTO oauth_clients (id, name, secret_hash, redirect_uris, created_at) VALUES ($1, $2, $3, $4, $5)",
                &[&k.id, &k.name, &k.secret_hash.to_vec(), &uris, &k.created_at.as_second()],
            )
            .await
            .map_err(pg)?;
        })
    }

    async fn oauth_clients(&self, page: PageRequest) -> StoreResult<Page<OAuthClient>> {
        let statements = all_rows("oauth_clients", "k", OAUTH_CLIENT, page, Dialect::Postgres);
        read!(self, |c| { run_list(c, statements.clone(), client).await? })
    }

    async fn oauth_client(&self, id: &str) -> StoreResult<Option<OAuthClient>> {
        read!(self, |c| { optional(c, client_query(), &[&id], client).await? })
    }

    async fn delete_oauth_client(&self, id: &str) -> StoreResult<bool> {
        transaction!(self, |tx| {
            tx.execute("DELETE FROM oauth_clients WHERE id = $1", &[&id]).await.map_err(pg)? > 0
        })
    }

    async fn insert_oauth_code(&self, code: NewAuthorizationCode) -> StoreResult<()> {
        let c = &code.consent;
        transaction!(self, |tx| {
            tx.execute(
                "INSERT INTO oauth_codes (code_hash, client_id, organization_id, membership_id, scopes, auth_time, \
                 nonce, redirect_uri, code_challenge, issued_at, used_at, grant_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, NULL)",
                &[
                    &code.code_hash.to_vec(),
                    &c.client_id,
                    &c.organization_id.to_string(),
                    &c.membership_id.to_string(),
                    &c.scopes.join(" "),
                    &c.auth_time.as_second(),
                    &c.nonce,
                    &code.redirect_uri,
                    &code.code_challenge,
                    &code.issued_at.as_second(),
                ],
            )
            .await
            .map_err(pg)?;
        })
    }

    async fn oauth_code(&self, code_hash: &[u8; 32]) -> StoreResult<Option<StoredAuthorizationCode>> {
        let hash = code_hash.to_vec();
        read!(self, |c| { optional(c, code_query(), &[&hash], code).await? })
    }

    async fn redeem_oauth_code(&self, code_hash: &[u8; 32], grant_id: Uuid, issue: TokenIssue) -> StoreResult<bool> {
        let (hash, grant, at) = (code_hash.to_vec(), grant_id.to_string(), issue.issued_at.as_second());
        transaction!(self, |tx| {
            // The row lock makes a concurrent use wait, then find the code used.
            let used = tx
                .execute(
                    "UPDATE oauth_codes SET used_at = $1, grant_id = $2 WHERE code_hash = $3 AND used_at IS NULL",
                    &[&at, &grant, &hash],
                )
                .await
                .map_err(pg)?;
            if used == 0 {
                false
            } else {
                tx.execute(
                    "INSERT INTO oauth_grants (id, client_id, organization_id, membership_id, scopes, auth_time, nonce, \
                     created_at, revoked_at) SELECT $1, client_id, organization_id, membership_id, scopes, auth_time, \
                     nonce, $2, NULL FROM oauth_codes WHERE code_hash = $3",
                    &[&grant, &at, &hash],
                )
                .await
                .map_err(pg)?;
                write_issue(tx, grant_id, &issue).await?;
                true
            }
        })
    }

    async fn oauth_grant(&self, id: Uuid) -> StoreResult<Option<OAuthGrant>> {
        read!(self, |c| { optional(c, grant_query(), &[&id.to_string()], grant).await? })
    }

    async fn oauth_consents(&self, client_id: &str) -> StoreResult<Vec<OAuthGrant>> {
        let q = fixed_sql!(
            "SELECT {} FROM oauth_grants g WHERE g.client_id = $1 AND g.revoked_at IS NULL \
             ORDER BY g.created_at DESC, g.id LIMIT 100",
            columns("g", OAUTH_GRANT)
        );
        read!(self, |c| {
            let rows = c.query(q, &[&client_id]).await.map_err(pg)?;
            rows.iter().map(grant).collect::<Result<Vec<_>, Fail>>()?
        })
    }

    async fn revoke_oauth_grant(&self, id: Uuid, at: Timestamp) -> StoreResult<bool> {
        transaction!(self, |tx| { revoke_grant(tx, id, at).await? })
    }

    async fn oauth_refresh_token(&self, token_hash: &[u8; 32]) -> StoreResult<Option<StoredRefreshToken>> {
        let hash = token_hash.to_vec();
        read!(self, |c| { optional(c, refresh_query(), &[&hash], refresh_token).await? })
    }

    async fn rotate_oauth_refresh_token(&self, token_hash: &[u8; 32], issue: TokenIssue) -> StoreResult<bool> {
        let hash = token_hash.to_vec();
        transaction!(self, |tx| {
            // The grant's row lock orders this rotation and a revocation of the grant.
            let live = tx
                .query_opt(
                    "SELECT id FROM oauth_grants WHERE id = (SELECT grant_id FROM oauth_refresh_tokens \
                     WHERE token_hash = $1) AND revoked_at IS NULL FOR UPDATE",
                    &[&hash],
                )
                .await
                .map_err(pg)?;
            match live {
                None => false,
                Some(row) => {
                    let grant_id = uuid(get::<&str>(&row, "id")?)?;
                    tx.execute(
                        "UPDATE oauth_refresh_tokens SET first_used_at = $1 WHERE token_hash = $2 AND first_used_at IS NULL",
                        &[&issue.issued_at.as_second(), &hash],
                    )
                    .await
                    .map_err(pg)?;
                    write_issue(tx, grant_id, &issue).await?;
                    true
                }
            }
        })
    }

    async fn withdraw_oauth_consent(
        &self,
        client_id: &str,
        membership_id: Uuid,
        at: Timestamp,
        event: OutboxEvent,
    ) -> StoreResult<u64> {
        let membership = membership_id.to_string();
        transaction!(self, |tx| {
            let rows = tx
                .query(
                    "SELECT id FROM oauth_grants WHERE client_id = $1 AND membership_id = $2 AND revoked_at IS NULL \
                     FOR UPDATE",
                    &[&client_id, &membership],
                )
                .await
                .map_err(pg)?;
            let mut revoked = 0u64;
            for row in rows {
                revoked += u64::from(revoke_grant(tx, uuid(get::<&str>(&row, "id")?)?, at).await?);
            }
            if revoked > 0 {
                write_outbox(tx, std::slice::from_ref(&event)).await?;
            }
            revoked
        })
    }
}
