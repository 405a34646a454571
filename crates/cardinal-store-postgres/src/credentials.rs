//! Access tokens and API keys, found by the hash of their secret.

use crate::db::Db;
use async_trait::async_trait;
use cardinal_store::{Credential, CredentialStore, NewCredential, StoreResult};
use jiff::Timestamp;

use crate::{credential_select, optional, pg, rows::credential, Fail, PostgresStore};
pub(crate) async fn insert_credential(client: &Db<'_>, c: &NewCredential) -> Result<(), Fail> {
    client
        .execute(
            "INSERT INTO credentials (id, organization_id, membership_id, kind, secret_hash, scopes, expires_at, \
             revoked_at, created_at, grant_id) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9)",
            &[
                &c.id.to_string(),
                &c.organization_id.to_string(),
                &c.membership_id.to_string(),
                &c.kind.as_str(),
                &c.secret_hash.to_vec(),
                &c.scopes.join(" "),
                &c.expires_at.map(|t| t.as_second()),
                &c.created_at.as_second(),
                &c.grant_id.map(|id| id.to_string()),
            ],
        )
        .await
        .map_err(pg)?;
    Ok(())
}

#[async_trait]
impl CredentialStore for PostgresStore {
    async fn credential_by_hash(&self, secret_hash: &[u8; 32]) -> StoreResult<Option<Credential>> {
        let hash = secret_hash.to_vec();
        read!(self, |c| {
            let q = fixed_sql!("{} WHERE c.secret_hash = $1", credential_select());
            optional(c, q, &[&hash], credential).await?
        })
    }

    async fn api_key_by_slug(&self, slug: &str) -> StoreResult<Option<Credential>> {
        read!(self, |c| {
            let q =
                fixed_sql!("{} WHERE o.slug = $1 AND c.kind = 'api_key' AND c.revoked_at IS NULL", credential_select());
            optional(c, q, &[&slug], credential).await?
        })
    }

    async fn insert_credential(&self, credential: NewCredential) -> StoreResult<()> {
        transaction!(self, |tx| { insert_credential(tx, &credential).await? })
    }

    async fn revoke_credential(&self, secret_hash: &[u8; 32], at: Timestamp) -> StoreResult<bool> {
        let hash = secret_hash.to_vec();
        transaction!(self, |tx| {
            tx.execute(
                "UPDATE credentials SET revoked_at = $1 WHERE secret_hash = $2 AND kind = 'access_token' AND revoked_at IS NULL",
                &[&at.as_second(), &hash],
            )
            .await
            .map_err(pg)?
                > 0
        })
    }
}
