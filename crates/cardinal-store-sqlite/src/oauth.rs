//! The OAuth 2.0 server's clients, codes, grants and refresh tokens. Every write that revokes
//! or removes access tokens empties the credential cache after its commit.

use std::sync::LazyLock;

use async_trait::async_trait;
use cardinal_store::sql::{all_rows, columns, Dialect, OAUTH_CLIENT, OAUTH_CONSENT, OAUTH_GRANT};
use cardinal_store::{
    Consent, NewAuthorizationCode, OAuthClient, OAuthGrant, OAuthStore, OutboxEvent, Page, PageRequest, StoreError,
    StoreResult, StoredAuthorizationCode, StoredRefreshToken, TokenIssue,
};
use jiff::Timestamp;
use rusqlite::{params, Connection, OptionalExtension, Row};
use uuid::Uuid;

use crate::credentials::insert_credential_row;
use crate::rows::{seconds, timestamp, uuid, SqlResult};
use crate::webhooks::write_outbox;
use crate::{run_list, sql, SqliteStore};

fn hash_of(row: &Row, name: &str) -> SqlResult<[u8; 32]> {
    let bytes: Vec<u8> = row.get(name)?;
    bytes
        .try_into()
        .map_err(|_| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Blob, "hash length".into()))
}

fn client(row: &Row) -> SqlResult<OAuthClient> {
    let uris: String = row.get("k_redirect_uris")?;
    Ok(OAuthClient {
        id: row.get("k_id")?,
        name: row.get("k_name")?,
        secret_hash: hash_of(row, "k_secret_hash")?,
        redirect_uris: serde_json::from_str(&uris).unwrap_or_default(),
        created_at: timestamp(row.get("k_created_at")?)?,
    })
}

/// The consent columns of a code or a grant, prefixed `p_`.
fn consent(row: &Row, p: &str) -> SqlResult<Consent> {
    let col = |n: &str| format!("{p}_{n}");
    let scopes: String = row.get(col("scopes").as_str())?;
    Ok(Consent {
        client_id: row.get(col("client_id").as_str())?,
        organization_id: uuid(row.get(col("organization_id").as_str())?)?,
        membership_id: uuid(row.get(col("membership_id").as_str())?)?,
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        auth_time: timestamp(row.get(col("auth_time").as_str())?)?,
        nonce: row.get(col("nonce").as_str())?,
    })
}

fn grant(row: &Row) -> SqlResult<OAuthGrant> {
    Ok(OAuthGrant {
        id: uuid(row.get("g_id")?)?,
        consent: consent(row, "g")?,
        created_at: timestamp(row.get("g_created_at")?)?,
        revoked_at: row.get::<_, Option<i64>>("g_revoked_at")?.map(timestamp).transpose()?,
    })
}

static CLIENT_BY_ID: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {} FROM oauth_clients k WHERE k.id = ?1", columns("k", OAUTH_CLIENT)));
static CODE_BY_HASH: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {}, a.code_hash AS a_code_hash, a.redirect_uri AS a_redirect_uri, a.code_challenge AS \
         a_code_challenge, a.issued_at AS a_issued_at, a.used_at AS a_used_at, a.grant_id AS a_grant_id \
         FROM oauth_codes a WHERE a.code_hash = ?1",
        columns("a", OAUTH_CONSENT)
    )
});
static GRANT_BY_ID: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {} FROM oauth_grants g WHERE g.id = ?1", columns("g", OAUTH_GRANT)));
static CONSENTS_OF_CLIENT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM oauth_grants g WHERE g.client_id = ?1 AND g.revoked_at IS NULL \
         ORDER BY g.created_at DESC, g.id LIMIT 100",
        columns("g", OAUTH_GRANT)
    )
});
static REFRESH_BY_HASH: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {}, r.token_hash AS r_token_hash, r.issued_at AS r_issued_at, r.first_used_at AS r_first_used_at \
         FROM oauth_refresh_tokens r JOIN oauth_grants g ON g.id = r.grant_id WHERE r.token_hash = ?1",
        columns("g", OAUTH_GRANT)
    )
});

fn code(row: &Row) -> SqlResult<StoredAuthorizationCode> {
    Ok(StoredAuthorizationCode {
        code: NewAuthorizationCode {
            code_hash: hash_of(row, "a_code_hash")?,
            consent: consent(row, "a")?,
            redirect_uri: row.get("a_redirect_uri")?,
            code_challenge: row.get("a_code_challenge")?,
            issued_at: timestamp(row.get("a_issued_at")?)?,
        },
        used_at: row.get::<_, Option<i64>>("a_used_at")?.map(timestamp).transpose()?,
        grant_id: row.get::<_, Option<String>>("a_grant_id")?.map(uuid).transpose()?,
    })
}

fn refresh_token(row: &Row) -> SqlResult<StoredRefreshToken> {
    Ok(StoredRefreshToken {
        token_hash: hash_of(row, "r_token_hash")?,
        grant: grant(row)?,
        issued_at: timestamp(row.get("r_issued_at")?)?,
        first_used_at: row.get::<_, Option<i64>>("r_first_used_at")?.map(timestamp).transpose()?,
    })
}

fn one<T>(
    conn: &Connection,
    query: &str,
    key: impl rusqlite::ToSql,
    row: fn(&Row) -> SqlResult<T>,
) -> StoreResult<Option<T>> {
    conn.prepare_cached(query).and_then(|mut s| s.query_row([key], row).optional()).map_err(sql)
}

/// Writes an issue's access token and refresh token in `grant`.
fn write_issue(conn: &Connection, grant: Uuid, issue: &TokenIssue) -> StoreResult<()> {
    insert_credential_row(conn, &issue.access)?;
    if let Some(hash) = issue.refresh_hash {
        conn.prepare_cached(
            "INSERT INTO oauth_refresh_tokens (token_hash, grant_id, issued_at, first_used_at) VALUES (?1, ?2, ?3, NULL)",
        )
        .and_then(|mut s| s.execute(params![hash.to_vec(), grant.to_string(), seconds(issue.issued_at)]))
        .map_err(sql)?;
    }
    Ok(())
}

/// Revokes a grant and its access tokens; false when it was revoked already.
fn revoke_grant(conn: &Connection, id: Uuid, at: Timestamp) -> StoreResult<bool> {
    let revoked = conn
        .execute(
            "UPDATE oauth_grants SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
            params![seconds(at), id.to_string()],
        )
        .map_err(sql)?;
    conn.execute(
        "UPDATE credentials SET revoked_at = ?1 WHERE grant_id = ?2 AND revoked_at IS NULL",
        params![seconds(at), id.to_string()],
    )
    .map_err(sql)?;
    Ok(revoked > 0)
}

#[async_trait]
impl OAuthStore for SqliteStore {
    async fn insert_oauth_client(&self, client: OAuthClient) -> StoreResult<()> {
        self.engine
            .write(move |conn| {
                let uris = serde_json::to_string(&client.redirect_uris).map_err(|e| StoreError::Backend(e.to_string()))?;
                conn.execute(
                    "INSERT INTO oauth_clients (id, name, secret_hash, redirect_uris, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![client.id, client.name, client.secret_hash.to_vec(), uris, seconds(client.created_at)],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn oauth_clients(&self, page: PageRequest) -> StoreResult<Page<OAuthClient>> {
        let statements = all_rows("oauth_clients", "k", OAUTH_CLIENT, page, Dialect::Sqlite);
        self.engine.read(move |conn| run_list(conn, statements, client)).await
    }

    async fn oauth_client(&self, id: &str) -> StoreResult<Option<OAuthClient>> {
        let id = id.to_owned();
        self.engine.read(move |conn| one(conn, &CLIENT_BY_ID, id, client)).await
    }

    async fn delete_oauth_client(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_owned();
        let cache = self.cache.clone();
        self.engine
            .write_then(
                move |conn| Ok(conn.execute("DELETE FROM oauth_clients WHERE id = ?1", [id]).map_err(sql)? > 0),
                // Its grants' access tokens went with it.
                move |_| cache.committed_other(false),
            )
            .await
    }

    async fn insert_oauth_code(&self, code: NewAuthorizationCode) -> StoreResult<()> {
        self.engine
            .write(move |conn| {
                let c = &code.consent;
                conn.prepare_cached(
                    "INSERT INTO oauth_codes (code_hash, client_id, organization_id, membership_id, scopes, auth_time, \
                     nonce, redirect_uri, code_challenge, issued_at, used_at, grant_id) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, NULL, NULL)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        code.code_hash.to_vec(),
                        c.client_id,
                        c.organization_id.to_string(),
                        c.membership_id.to_string(),
                        c.scopes.join(" "),
                        seconds(c.auth_time),
                        c.nonce,
                        code.redirect_uri,
                        code.code_challenge,
                        seconds(code.issued_at),
                    ])
                })
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn oauth_code(&self, code_hash: &[u8; 32]) -> StoreResult<Option<StoredAuthorizationCode>> {
        let hash = code_hash.to_vec();
        self.engine.read(move |conn| one(conn, &CODE_BY_HASH, hash, code)).await
    }

    async fn redeem_oauth_code(&self, code_hash: &[u8; 32], grant_id: Uuid, issue: TokenIssue) -> StoreResult<bool> {
        let hash = code_hash.to_vec();
        self.engine
            .write(move |conn| {
                let used = conn
                    .execute(
                        "UPDATE oauth_codes SET used_at = ?1, grant_id = ?2 WHERE code_hash = ?3 AND used_at IS NULL",
                        params![seconds(issue.issued_at), grant_id.to_string(), hash],
                    )
                    .map_err(sql)?;
                if used == 0 {
                    return Ok(false);
                }
                // The grant takes the code's consent, copied in SQL so it cannot differ.
                conn.execute(
                    "INSERT INTO oauth_grants (id, client_id, organization_id, membership_id, scopes, auth_time, nonce, \
                     created_at, revoked_at) SELECT ?1, client_id, organization_id, membership_id, scopes, auth_time, \
                     nonce, ?2, NULL FROM oauth_codes WHERE code_hash = ?3",
                    params![grant_id.to_string(), seconds(issue.issued_at), hash],
                )
                .map_err(sql)?;
                write_issue(conn, grant_id, &issue)?;
                Ok(true)
            })
            .await
    }

    async fn oauth_grant(&self, id: Uuid) -> StoreResult<Option<OAuthGrant>> {
        self.engine.read(move |conn| one(conn, &GRANT_BY_ID, id.to_string(), grant)).await
    }

    async fn oauth_consents(&self, client_id: &str) -> StoreResult<Vec<OAuthGrant>> {
        let client_id = client_id.to_owned();
        self.engine
            .read(move |conn| {
                conn.prepare_cached(&CONSENTS_OF_CLIENT)
                    .and_then(|mut s| s.query_map([client_id], grant)?.collect())
                    .map_err(sql)
            })
            .await
    }

    async fn revoke_oauth_grant(&self, id: Uuid, at: Timestamp) -> StoreResult<bool> {
        let cache = self.cache.clone();
        self.engine.write_then(move |conn| revoke_grant(conn, id, at), move |_| cache.committed_other(false)).await
    }

    async fn oauth_refresh_token(&self, token_hash: &[u8; 32]) -> StoreResult<Option<StoredRefreshToken>> {
        let hash = token_hash.to_vec();
        self.engine.read(move |conn| one(conn, &REFRESH_BY_HASH, hash, refresh_token)).await
    }

    async fn rotate_oauth_refresh_token(&self, token_hash: &[u8; 32], issue: TokenIssue) -> StoreResult<bool> {
        let hash = token_hash.to_vec();
        self.engine
            .write(move |conn| {
                let Some(token) = one(conn, &REFRESH_BY_HASH, hash.clone(), refresh_token)? else {
                    return Ok(false);
                };
                if token.grant.revoked_at.is_some() {
                    return Ok(false);
                }
                conn.execute(
                    "UPDATE oauth_refresh_tokens SET first_used_at = ?1 WHERE token_hash = ?2 AND first_used_at IS NULL",
                    params![seconds(issue.issued_at), hash],
                )
                .map_err(sql)?;
                write_issue(conn, token.grant.id, &issue)?;
                Ok(true)
            })
            .await
    }

    async fn withdraw_oauth_consent(
        &self,
        client_id: &str,
        membership_id: Uuid,
        at: Timestamp,
        event: OutboxEvent,
    ) -> StoreResult<u64> {
        let client_id = client_id.to_owned();
        let cache = self.cache.clone();
        self.engine
            .write_then(
                move |conn| {
                    let ids: Vec<String> = conn
                        .prepare_cached(
                            "SELECT id FROM oauth_grants WHERE client_id = ?1 AND membership_id = ?2 AND revoked_at IS NULL",
                        )
                        .and_then(|mut s| s.query_map(params![client_id, membership_id.to_string()], |r| r.get(0))?.collect())
                        .map_err(sql)?;
                    let mut revoked = 0;
                    for id in ids {
                        let id = Uuid::parse_str(&id).map_err(|e| StoreError::Backend(e.to_string()))?;
                        revoked += u64::from(revoke_grant(conn, id, at)?);
                    }
                    if revoked > 0 {
                        write_outbox(conn, std::slice::from_ref(&event))?;
                    }
                    Ok(revoked)
                },
                move |_| cache.committed_other(false),
            )
            .await
    }
}
