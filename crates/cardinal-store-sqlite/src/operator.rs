//! What the operator API does across or to whole organizations: list them, add to them,
//! replace their API key, and (sandbox) bring one back to how it was seeded.

use std::collections::HashMap;

use async_trait::async_trait;
use cardinal_store::sql::{GAUGE_DELIVERIES, GAUGE_SCA};
use cardinal_store::{
    sql::{all_rows, columns, reset_deletions, snapshot_key, Dialect, MEMBERSHIP, ORGANIZATION},
    Holder, NewCredential, OperatorStore, Organization, OrganizationParts, OrganizationReset, Page, PageRequest,
    SettingStore, StoreError, StoreResult, StoredCard, Team,
};
use jiff::Timestamp;
use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

use crate::{
    card_events::insert_event,
    cards::insert_card,
    credentials::insert_credential_row,
    organizations::{insert_parts, ORGANIZATION_BY_ID},
    rows::{membership, organization, seconds, uuid},
    run_list, sql, SqliteStore,
};

/// Whether the organization exists (inside a write, before changing what hangs off it).
fn organization_exists(conn: &Connection, org: Uuid) -> StoreResult<bool> {
    conn.prepare_cached(&ORGANIZATION_BY_ID)
        .and_then(|mut s| s.query_row([org.to_string()], |r| organization(r, "o")).optional())
        .map(|found| found.is_some())
        .map_err(sql)
}

#[async_trait]
impl OperatorStore for SqliteStore {
    async fn organizations(&self, page: PageRequest) -> StoreResult<Page<Organization>> {
        let statements = all_rows("organizations", "o", ORGANIZATION, page, Dialect::Sqlite);
        self.engine.read(move |conn| run_list(conn, statements, |r| organization(r, "o"))).await
    }

    async fn extend_organization(&self, org: Uuid, parts: OrganizationParts) -> StoreResult<bool> {
        self.write_in_organization(org, false, move |conn| insert_parts(conn, &parts)).await
    }

    async fn gauges(&self) -> StoreResult<cardinal_store::telemetry::StoreGauges> {
        let now = Timestamp::now().as_second();
        self.engine
            .read(move |conn| {
                let count = |q: &str, args: &[&dyn rusqlite::ToSql]| -> StoreResult<u64> {
                    conn.query_row(q, args, |r| r.get::<_, i64>(0)).map(|n| n.max(0) as u64).map_err(sql)
                };
                Ok(cardinal_store::telemetry::StoreGauges {
                    pending_sca_sessions: count(GAUGE_SCA, &[&now])?,
                    pending_deliveries: count(GAUGE_DELIVERIES, &[])?,
                    pool: None,
                })
            })
            .await
    }

    async fn legal_profile(&self, org: Uuid) -> StoreResult<Option<String>> {
        self.engine
            .read(move |conn| {
                conn.query_row(
                    "SELECT data FROM organization_profiles WHERE organization_id = ?1",
                    [org.to_string()],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql)
            })
            .await
    }

    async fn set_legal_profile(&self, org: Uuid, document: String) -> StoreResult<bool> {
        self.engine
            .write(move |conn| {
                // Only an organization that exists gets one: the insert selects it.
                let written = conn
                    .execute(
                        "INSERT INTO organization_profiles (organization_id, data) SELECT id, ?2 FROM organizations \
                         WHERE id = ?1 ON CONFLICT (organization_id) DO UPDATE SET data = excluded.data",
                        params![org.to_string(), document],
                    )
                    .map_err(sql)?;
                Ok(written > 0)
            })
            .await
    }

    async fn teams(&self, org: Uuid) -> StoreResult<Vec<Team>> {
        self.engine
            .read(move |conn| {
                conn.prepare_cached("SELECT id, name FROM teams WHERE organization_id = ?1 ORDER BY name")
                    .and_then(|mut s| {
                        s.query_map([org.to_string()], |r| {
                            Ok(Team { id: uuid(r.get(0)?)?, organization_id: org, name: r.get(1)? })
                        })?
                        .collect()
                    })
                    .map_err(sql)
            })
            .await
    }

    async fn replace_api_key(&self, org: Uuid, new: Option<NewCredential>, at: Timestamp) -> StoreResult<bool> {
        let cache = self.cache.clone();
        self.engine
            .write_then(
                move |conn| {
                    let revoked = conn
                        .execute(
                            "UPDATE credentials SET revoked_at = ?1 \
                             WHERE organization_id = ?2 AND kind = 'api_key' AND revoked_at IS NULL",
                            params![seconds(at), org.to_string()],
                        )
                        .map_err(sql)?;
                    if let Some(credential) = &new {
                        insert_credential_row(conn, credential)?;
                    }
                    Ok(revoked > 0 || new.is_some())
                },
                // A revoked key must not keep working from the cache.
                move |_| cache.committed_other(false),
            )
            .await
    }

    async fn organization_snapshot(&self, org: Uuid) -> StoreResult<Option<String>> {
        self.setting(&snapshot_key(org)).await
    }

    async fn reset_organization(&self, org: Uuid, reset: OrganizationReset) -> StoreResult<bool> {
        // Cards go, and the organization's clock moves: nothing cached stays true.
        self.write_in_organization(org, true, move |conn| {
            for deletion in reset_deletions(Dialect::Sqlite) {
                conn.execute(&deletion.replace("{org}", "?1"), [org.to_string()]).map_err(sql)?;
            }
            restore_seeded(conn, org, &reset)
        })
        .await
    }
}

impl SqliteStore {
    /// Runs `write` on the writer thread when the organization exists (false when it does
    /// not), then drops what the cache holds of credentials and organizations, and of cards
    /// with `drop_cards`.
    async fn write_in_organization(
        &self,
        org: Uuid,
        drop_cards: bool,
        write: impl FnOnce(&Connection) -> StoreResult<()> + Send + 'static,
    ) -> StoreResult<bool> {
        let cache = self.cache.clone();
        self.engine
            .write_then(
                move |conn| {
                    if !organization_exists(conn, org)? {
                        return Ok(false);
                    }
                    write(conn)?;
                    Ok(true)
                },
                move |_| cache.committed_other(drop_cards),
            )
            .await
    }
}

/// The seeded cards, balances and real-time clock of a reset organization.
fn restore_seeded(conn: &Connection, org: Uuid, reset: &OrganizationReset) -> StoreResult<()> {
    let now = seconds(Timestamp::now());
    for (account, balance) in &reset.balances {
        conn.execute(
            "UPDATE bank_accounts SET balance_cents = ?1, authorized_balance_cents = ?1, updated_at = ?2 \
             WHERE id = ?3 AND organization_id = ?4",
            params![balance.0, now, account.to_string(), org.to_string()],
        )
        .map_err(sql)?;
    }
    conn.execute("UPDATE organizations SET clock_offset_seconds = 0 WHERE id = ?1", [org.to_string()]).map_err(sql)?;
    // Each member holds several seeded cards: read each holder once.
    let mut holders: HashMap<Uuid, Holder> = HashMap::new();
    for new in &reset.cards {
        let holder_id = new.card.holder_id;
        if let std::collections::hash_map::Entry::Vacant(slot) = holders.entry(holder_id) {
            let member = conn
                .prepare_cached(&format!("SELECT {} FROM memberships m WHERE m.id = ?1", columns("m", MEMBERSHIP)))
                .and_then(|mut s| s.query_row([holder_id.to_string()], |r| membership(r, "m")).optional())
                .map_err(sql)?
                .ok_or_else(|| StoreError::Conflict("a seeded card's holder is no longer a member".into()))?;
            slot.insert(Holder::from(&member));
        }
        let holder = holders[&holder_id].clone();
        insert_card(conn, &StoredCard::new(new.card.clone(), holder), &new.secrets)?;
    }
    for event in &reset.events {
        insert_event(conn, event)?;
    }
    Ok(())
}
