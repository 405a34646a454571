//! Organizations, their clocks, bank accounts and members.

use std::sync::LazyLock;

use async_trait::async_trait;
use cardinal_store::{
    sql::{columns, organization_rows, snapshot_key, Dialect, BANK_ACCOUNT, MEMBERSHIP, ORGANIZATION},
    BankAccount, ClockChange, Membership, Organization, OrganizationParts, OrganizationSeed, OrganizationStore, Page,
    PageRequest, StoreError, StoreResult, StoredCard,
};
use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

use crate::{
    card_events::insert_event,
    cards::insert_card,
    credentials::insert_credential_row,
    rows::{bank_account, membership, organization, seconds},
    run_list, sql, SqliteStore,
};
pub(crate) static ORGANIZATION_BY_ID: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {} FROM organizations o WHERE o.id = ?1", columns("o", ORGANIZATION)));

pub(crate) fn insert_seed(conn: &Connection, seed: &OrganizationSeed) -> StoreResult<()> {
    let o = &seed.organization;
    conn.execute(
        "INSERT INTO organizations (id, slug, legal_name, locale, timezone, country, sca_mode, \
         clock_offset_seconds, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            o.id.to_string(),
            o.slug,
            o.legal_name,
            o.locale,
            o.timezone,
            o.country,
            o.sca_mode.as_str(),
            o.clock_offset_seconds,
            seconds(o.created_at)
        ],
    )
    .map_err(sql)?;
    insert_parts(conn, &OrganizationParts::of(seed))?;
    for new in &seed.cards {
        let holder = seed
            .holder_of(new.card.holder_id)
            .ok_or_else(|| StoreError::Conflict("a seeded card's holder is not a seeded member".into()))?;
        insert_card(conn, &StoredCard::new(new.card.clone(), holder), &new.secrets)?;
    }
    for e in &seed.events {
        insert_event(conn, e)?;
    }
    if let Some(snapshot) = &seed.snapshot {
        conn.execute("INSERT INTO settings (key, value) VALUES (?1, ?2)", params![snapshot_key(o.id), snapshot])
            .map_err(sql)?;
    }
    Ok(())
}

/// Teams, bank accounts, members and credentials of an organization that exists.
pub(crate) fn insert_parts(conn: &Connection, parts: &OrganizationParts) -> StoreResult<()> {
    for t in &parts.teams {
        conn.execute(
            "INSERT INTO teams (id, organization_id, name) VALUES (?1, ?2, ?3)",
            params![t.id.to_string(), t.organization_id.to_string(), t.name],
        )
        .map_err(sql)?;
    }
    for label in &parts.labels {
        crate::receipts::insert_label(conn, label)?;
    }
    for b in &parts.bank_accounts {
        conn.execute(
            "INSERT INTO bank_accounts (id, organization_id, name, status, main, iban, bic, currency, \
             balance_cents, authorized_balance_cents, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                b.id.to_string(),
                b.organization_id.to_string(),
                b.name,
                b.status,
                b.main,
                b.iban,
                b.bic,
                b.currency,
                b.balance.0,
                b.authorized_balance.0,
                seconds(b.created_at),
                seconds(b.updated_at)
            ],
        )
        .map_err(sql)?;
    }
    for m in &parts.memberships {
        conn.execute(
            "INSERT INTO memberships (id, organization_id, first_name, last_name, email, role, status, \
             team_id, locale, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                m.id.to_string(),
                m.organization_id.to_string(),
                m.first_name,
                m.last_name,
                m.email,
                m.role.as_str(),
                m.status,
                m.team_id.map(|t| t.to_string()),
                m.locale,
                seconds(m.created_at)
            ],
        )
        .map_err(sql)?;
    }
    for c in &parts.credentials {
        insert_credential_row(conn, c)?;
    }
    crate::webhooks::write_outbox(conn, &parts.events)?;
    Ok(())
}

#[async_trait]
impl OrganizationStore for SqliteStore {
    async fn create_organization(&self, seed: OrganizationSeed) -> StoreResult<()> {
        self.engine.write(move |conn| insert_seed(conn, &seed)).await
    }

    async fn delete_organization(&self, id: Uuid) -> StoreResult<bool> {
        let cache = self.cache.clone();
        self.engine
            .write_then(
                move |conn| {
                    let deleted =
                        conn.execute("DELETE FROM organizations WHERE id = ?1", [id.to_string()]).map_err(sql)?;
                    conn.execute("DELETE FROM settings WHERE key = ?1", [snapshot_key(id)]).map_err(sql)?;
                    Ok(deleted > 0)
                },
                // The deletion cascades to credentials and cards: none may outlive it in the cache.
                move |deleted| cache.committed_other(*deleted),
            )
            .await
    }

    async fn organization(&self, id: Uuid) -> StoreResult<Option<Organization>> {
        // Every sandbox payment reads its card's organization (its clock and time zone).
        if let Some(hit) = self.cache.organization(id) {
            return Ok(Some(hit));
        }
        let epoch = self.cache.epoch();
        let found = self
            .engine
            .read(move |conn| {
                conn.prepare_cached(&ORGANIZATION_BY_ID)
                    .and_then(|mut s| s.query_row([id.to_string()], |r| organization(r, "o")).optional())
                    .map_err(sql)
            })
            .await?;
        if let Some(organization) = &found {
            self.cache.fill_organization(epoch, organization);
        }
        Ok(found)
    }

    async fn advance_clock(&self, id: Uuid, change: ClockChange) -> StoreResult<Option<Organization>> {
        let cache = self.cache.clone();
        self.engine
            .write_then(
                move |conn| {
                    conn.execute(change.statement(Dialect::Sqlite), params![id.to_string(), change.seconds()])
                        .map_err(sql)?;
                    conn.prepare_cached(&ORGANIZATION_BY_ID)
                        .and_then(|mut s| s.query_row([id.to_string()], |r| organization(r, "o")).optional())
                        .map_err(sql)
                },
                // Credentials embed their organization, clock included.
                move |_| cache.committed_other(false),
            )
            .await
    }

    async fn bank_accounts(&self, org: Uuid, page: PageRequest) -> StoreResult<Page<BankAccount>> {
        let statements = organization_rows("bank_accounts", "b", BANK_ACCOUNT, org, page, Dialect::Sqlite);
        self.engine.read(move |conn| run_list(conn, statements, |r| bank_account(r, "b"))).await
    }

    async fn bank_account(&self, org: Uuid, id: Uuid) -> StoreResult<Option<BankAccount>> {
        self.engine
            .read(move |conn| {
                let q = format!(
                    "SELECT {} FROM bank_accounts b WHERE b.id = ?1 AND b.organization_id = ?2",
                    columns("b", BANK_ACCOUNT)
                );
                conn.prepare_cached(&q)
                    .and_then(|mut s| {
                        s.query_row([id.to_string(), org.to_string()], |r| bank_account(r, "b")).optional()
                    })
                    .map_err(sql)
            })
            .await
    }

    async fn memberships(&self, org: Uuid, page: PageRequest) -> StoreResult<Page<Membership>> {
        let statements = organization_rows("memberships", "m", MEMBERSHIP, org, page, Dialect::Sqlite);
        self.engine.read(move |conn| run_list(conn, statements, |r| membership(r, "m"))).await
    }

    async fn membership(&self, org: Uuid, id: Uuid) -> StoreResult<Option<Membership>> {
        Ok(self.membership_by_id(id).await?.filter(|m| m.organization_id == org))
    }

    async fn membership_by_id(&self, id: Uuid) -> StoreResult<Option<Membership>> {
        self.engine
            .read(move |conn| {
                let q = format!("SELECT {} FROM memberships m WHERE m.id = ?1", columns("m", MEMBERSHIP));
                conn.prepare_cached(&q)
                    .and_then(|mut s| s.query_row([id.to_string()], |r| membership(r, "m")).optional())
                    .map_err(sql)
            })
            .await
    }

    async fn accept_invitation(&self, id: Uuid, events: Vec<cardinal_store::OutboxEvent>) -> StoreResult<bool> {
        let cache = self.cache.clone();
        self.engine
            .write_then(
                move |conn| {
                    let joined = conn
                        .execute(
                            "UPDATE memberships SET status = 'active' WHERE id = ?1 AND status = 'invited'",
                            [id.to_string()],
                        )
                        .map_err(sql)?;
                    if joined > 0 {
                        crate::webhooks::write_outbox(conn, &events)?;
                    }
                    Ok(joined > 0)
                },
                // Credentials carry their member's status: none may be read stale.
                move |_| cache.committed_other(false),
            )
            .await
    }
}
