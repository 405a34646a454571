//! What the operator API does across or to whole organizations: list them, add to them,
//! replace their API key, and (sandbox) bring one back to how it was seeded.

use crate::db::Db;
use async_trait::async_trait;
use cardinal_store::{
    sql::{all_rows, columns, reset_deletions, snapshot_key, Dialect, MEMBERSHIP, ORGANIZATION},
    Holder, NewCredential, OperatorStore, Organization, OrganizationParts, OrganizationReset, Page, PageRequest,
    SettingStore, StoreError, StoreResult, Team,
};
use jiff::Timestamp;
use uuid::Uuid;

use crate::{
    cards::{insert_card, insert_event},
    credentials::insert_credential,
    optional,
    organizations::insert_parts,
    pg,
    rows::{membership, organization},
    run_list, Fail, PostgresStore,
};

/// Locks the organization's row for the rest of the transaction; false when there is none.
/// Additions and a reset then never interleave with a deletion of the organization.
async fn lock_organization(client: &Db<'_>, org: Uuid) -> Result<bool, Fail> {
    let found = client
        .query_opt("SELECT id FROM organizations WHERE id = $1 FOR UPDATE", &[&org.to_string()])
        .await
        .map_err(pg)?;
    Ok(found.is_some())
}

#[async_trait]
impl OperatorStore for PostgresStore {
    async fn organizations(&self, page: PageRequest) -> StoreResult<Page<Organization>> {
        let statements = all_rows("organizations", "o", ORGANIZATION, page, Dialect::Postgres);
        read!(self, |c| { run_list(c, statements.clone(), |r| organization(r, "o")).await? })
    }

    async fn extend_organization(&self, org: Uuid, parts: OrganizationParts) -> StoreResult<bool> {
        transaction!(self, |tx| {
            let exists = lock_organization(tx, org).await?;
            if exists {
                insert_parts(tx, &parts).await?;
            }
            exists
        })
    }

    async fn gauges(&self) -> StoreResult<cardinal_store::telemetry::StoreGauges> {
        use cardinal_store::sql::{GAUGE_DELIVERIES, GAUGE_SCA};
        let now = Timestamp::now().as_second();
        let sca = fixed_sql!("{}", GAUGE_SCA.replace("?1", "$1"));
        let (pending_sca, pending_deliveries) = read!(self, |c| {
            let sca: i64 = c.query_one(sca, &[&now]).await.map_err(pg)?.get(0);
            let deliveries: i64 = c.query_one(GAUGE_DELIVERIES, &[]).await.map_err(pg)?.get(0);
            (sca, deliveries)
        })?;
        let status = self.pool.status();
        let pool = cardinal_store::telemetry::PoolGauges {
            size: status.size as u64,
            idle: status.available as u64,
            waiting: status.waiting as u64,
            waits_total: crate::pool::POOL_WAITS.get(),
            read_only_total: crate::pool::READ_ONLY_DISCARDS.get(),
            replica_fallbacks_total: crate::pool::REPLICA_FALLBACKS.get(),
        };
        Ok(cardinal_store::telemetry::StoreGauges {
            pending_sca_sessions: pending_sca.max(0) as u64,
            pending_deliveries: pending_deliveries.max(0) as u64,
            pool: Some(pool),
        })
    }

    async fn legal_profile(&self, org: Uuid) -> StoreResult<Option<String>> {
        let q = "SELECT data FROM organization_profiles WHERE organization_id = $1";
        read!(self, |c| { optional(c, q, &[&org.to_string()], |r| Ok(r.get::<_, String>(0))).await? })
    }

    async fn set_legal_profile(&self, org: Uuid, document: String) -> StoreResult<bool> {
        transaction!(self, |tx| {
            // Only an organization that exists gets one: the insert selects it.
            let written = tx
                .execute(
                    "INSERT INTO organization_profiles (organization_id, data) SELECT id, $2 FROM organizations \
                     WHERE id = $1 ON CONFLICT (organization_id) DO UPDATE SET data = excluded.data",
                    &[&org.to_string(), &document],
                )
                .await
                .map_err(pg)?;
            written > 0
        })
    }

    async fn teams(&self, org: Uuid) -> StoreResult<Vec<Team>> {
        read!(self, |c| {
            let rows = c
                .query("SELECT id, name FROM teams WHERE organization_id = $1 ORDER BY name", &[&org.to_string()])
                .await
                .map_err(pg)?;
            let mut teams = Vec::with_capacity(rows.len());
            for row in &rows {
                let id: String = row.get(0);
                let id = Uuid::parse_str(&id).map_err(|e| StoreError::Backend(format!("team id: {e}")))?;
                teams.push(Team { id, organization_id: org, name: row.get(1) });
            }
            teams
        })
    }

    async fn replace_api_key(&self, org: Uuid, new: Option<NewCredential>, at: Timestamp) -> StoreResult<bool> {
        transaction!(self, |tx| {
            let revoked = tx
                .execute(
                    "UPDATE credentials SET revoked_at = $1 \
                     WHERE organization_id = $2 AND kind = 'api_key' AND revoked_at IS NULL",
                    &[&at.as_second(), &org.to_string()],
                )
                .await
                .map_err(pg)?;
            if let Some(credential) = &new {
                insert_credential(tx, credential).await?;
            }
            revoked > 0 || new.is_some()
        })
    }

    async fn organization_snapshot(&self, org: Uuid) -> StoreResult<Option<String>> {
        self.setting(&snapshot_key(org)).await
    }

    async fn reset_organization(&self, org: Uuid, reset: OrganizationReset) -> StoreResult<bool> {
        transaction!(self, |tx| {
            let exists = lock_organization(tx, org).await?;
            if exists {
                for deletion in reset_deletions(Dialect::Postgres) {
                    tx.execute_made(&deletion.replace("{org}", "$1"), &[&org.to_string()]).await.map_err(pg)?;
                }
                restore_seeded(tx, org, &reset).await?;
            }
            exists
        })
    }
}

/// The seeded cards, balances and real-time clock of a reset organization.
async fn restore_seeded(client: &Db<'_>, org: Uuid, reset: &OrganizationReset) -> Result<(), Fail> {
    let now = Timestamp::now().as_second();
    for (account, balance) in &reset.balances {
        client
            .execute(
                "UPDATE bank_accounts SET balance_cents = $1, authorized_balance_cents = $1, updated_at = $2 \
                 WHERE id = $3 AND organization_id = $4",
                &[&balance.0, &now, &account.to_string(), &org.to_string()],
            )
            .await
            .map_err(pg)?;
    }
    client
        .execute("UPDATE organizations SET clock_offset_seconds = 0 WHERE id = $1", &[&org.to_string()])
        .await
        .map_err(pg)?;
    // Each member holds several seeded cards: read each holder once.
    let mut holders: std::collections::HashMap<Uuid, Holder> = std::collections::HashMap::new();
    let q = fixed_sql!("SELECT {} FROM memberships m WHERE m.id = $1", columns("m", MEMBERSHIP));
    for new in &reset.cards {
        let holder_id = new.card.holder_id;
        if let std::collections::hash_map::Entry::Vacant(slot) = holders.entry(holder_id) {
            let member = optional(client, q, &[&holder_id.to_string()], |r| membership(r, "m"))
                .await?
                .ok_or_else(|| StoreError::Conflict("a seeded card's holder is no longer a member".into()))?;
            slot.insert(Holder::from(&member));
        }
        insert_card(client, new, &holders[&holder_id]).await?;
    }
    for event in &reset.events {
        insert_event(client, event).await?;
    }
    Ok(())
}
