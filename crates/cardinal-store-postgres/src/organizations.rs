//! Organizations, their clocks, bank accounts and members.

use crate::db::Db;
use async_trait::async_trait;
use cardinal_store::{
    sql::{columns, organization_rows, snapshot_key, Dialect, BANK_ACCOUNT, MEMBERSHIP, ORGANIZATION},
    BankAccount, ClockChange, Membership, Organization, OrganizationParts, OrganizationSeed, OrganizationStore, Page,
    PageRequest, StoreError, StoreResult,
};
use uuid::Uuid;

use crate::{
    cards::{insert_card, insert_event},
    credentials::insert_credential,
    optional, pg,
    rows::{bank_account, membership, organization},
    run_list, Fail, PostgresStore,
};
pub(crate) async fn insert_seed(client: &Db<'_>, seed: &OrganizationSeed) -> Result<(), Fail> {
    let o = &seed.organization;
    client
        .execute(
            "INSERT INTO organizations (id, slug, legal_name, locale, timezone, country, sca_mode, clock_offset_seconds, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &o.id.to_string(),
                &o.slug,
                &o.legal_name,
                &o.locale,
                &o.timezone,
                &o.country,
                &o.sca_mode.as_str(),
                &o.clock_offset_seconds,
                &o.created_at.as_second(),
            ],
        )
        .await
        .map_err(pg)?;
    insert_parts(client, &OrganizationParts::of(seed)).await?;
    for new in &seed.cards {
        let holder = seed
            .holder_of(new.card.holder_id)
            .ok_or_else(|| StoreError::Conflict("a seeded card's holder is not a seeded member".into()))?;
        insert_card(client, new, &holder).await?;
    }
    for e in &seed.events {
        insert_event(client, e).await?;
    }
    if let Some(snapshot) = &seed.snapshot {
        client
            .execute("INSERT INTO settings (key, value) VALUES ($1, $2)", &[&snapshot_key(o.id), snapshot])
            .await
            .map_err(pg)?;
    }
    Ok(())
}

/// Teams, bank accounts, members and credentials of an organization that exists.
pub(crate) async fn insert_parts(client: &Db<'_>, parts: &OrganizationParts) -> Result<(), Fail> {
    for t in &parts.teams {
        client
            .execute(
                "INSERT INTO teams (id, organization_id, name) VALUES ($1, $2, $3)",
                &[&t.id.to_string(), &t.organization_id.to_string(), &t.name],
            )
            .await
            .map_err(pg)?;
    }
    for label in &parts.labels {
        crate::receipts::insert_label(client, label).await?;
    }
    for b in &parts.bank_accounts {
        client
            .execute(
                "INSERT INTO bank_accounts (id, organization_id, name, status, main, iban, bic, currency, balance_cents, \
                 authorized_balance_cents, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                &[
                    &b.id.to_string(),
                    &b.organization_id.to_string(),
                    &b.name,
                    &b.status,
                    &b.main,
                    &b.iban,
                    &b.bic,
                    &b.currency,
                    &b.balance.0,
                    &b.authorized_balance.0,
                    &b.created_at.as_second(),
                    &b.updated_at.as_second(),
                ],
            )
            .await
            .map_err(pg)?;
    }
    for m in &parts.memberships {
        client
            .execute(
                "INSERT INTO memberships (id, organization_id, first_name, last_name, email, role, status, team_id, \
                 locale, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                &[
                    &m.id.to_string(),
                    &m.organization_id.to_string(),
                    &m.first_name,
                    &m.last_name,
                    &m.email,
                    &m.role.as_str(),
                    &m.status,
                    &m.team_id.map(|t| t.to_string()),
                    &m.locale,
                    &m.created_at.as_second(),
                ],
            )
            .await
            .map_err(pg)?;
    }
    for c in &parts.credentials {
        insert_credential(client, c).await?;
    }
    crate::webhooks::write_outbox(client, &parts.events).await?;
    Ok(())
}

#[async_trait]
impl OrganizationStore for PostgresStore {
    async fn create_organization(&self, seed: OrganizationSeed) -> StoreResult<()> {
        transaction!(self, |tx| { insert_seed(tx, &seed).await? })
    }

    async fn delete_organization(&self, id: Uuid) -> StoreResult<bool> {
        transaction!(self, |tx| {
            tx.execute("DELETE FROM settings WHERE key = $1", &[&snapshot_key(id)]).await.map_err(pg)?;
            tx.execute("DELETE FROM organizations WHERE id = $1", &[&id.to_string()]).await.map_err(pg)? > 0
        })
    }

    async fn organization(&self, id: Uuid) -> StoreResult<Option<Organization>> {
        read!(self, |c| {
            let q = fixed_sql!("SELECT {} FROM organizations o WHERE o.id = $1", columns("o", ORGANIZATION));
            optional(c, q, &[&id.to_string()], |r| organization(r, "o")).await?
        })
    }

    async fn advance_clock(&self, id: Uuid, change: ClockChange) -> StoreResult<Option<Organization>> {
        transaction!(self, |tx| {
            tx.execute(change.statement(Dialect::Postgres), &[&id.to_string(), &change.seconds()]).await.map_err(pg)?;
            let q = fixed_sql!("SELECT {} FROM organizations o WHERE o.id = $1", columns("o", ORGANIZATION));
            optional(tx, q, &[&id.to_string()], |r| organization(r, "o")).await?
        })
    }

    async fn bank_accounts(&self, org: Uuid, page: PageRequest) -> StoreResult<Page<BankAccount>> {
        let statements = organization_rows("bank_accounts", "b", BANK_ACCOUNT, org, page, Dialect::Postgres);
        read!(self, |c| { run_list(c, statements.clone(), |r| bank_account(r, "b")).await? })
    }

    async fn bank_account(&self, org: Uuid, id: Uuid) -> StoreResult<Option<BankAccount>> {
        read!(self, |c| {
            let q = fixed_sql!(
                "SELECT {} FROM bank_accounts b WHERE b.id = $1 AND b.organization_id = $2",
                columns("b", BANK_ACCOUNT)
            );
            optional(c, q, &[&id.to_string(), &org.to_string()], |r| bank_account(r, "b")).await?
        })
    }

    async fn memberships(&self, org: Uuid, page: PageRequest) -> StoreResult<Page<Membership>> {
        let statements = organization_rows("memberships", "m", MEMBERSHIP, org, page, Dialect::Postgres);
        read!(self, |c| { run_list(c, statements.clone(), |r| membership(r, "m")).await? })
    }

    async fn membership(&self, org: Uuid, id: Uuid) -> StoreResult<Option<Membership>> {
        Ok(self.membership_by_id(id).await?.filter(|m| m.organization_id == org))
    }

    async fn membership_by_id(&self, id: Uuid) -> StoreResult<Option<Membership>> {
        read!(self, |c| {
            let q = fixed_sql!("SELECT {} FROM memberships m WHERE m.id = $1", columns("m", MEMBERSHIP));
            optional(c, q, &[&id.to_string()], |r| membership(r, "m")).await?
        })
    }

    async fn accept_invitation(&self, id: Uuid, events: Vec<cardinal_store::OutboxEvent>) -> StoreResult<bool> {
        transaction!(self, |tx| {
            let joined = tx
                .execute(
                    "UPDATE memberships SET status = 'active' WHERE id = $1 AND status = 'invited'",
                    &[&id.to_string()],
                )
                .await
                .map_err(pg)?;
            if joined > 0 {
                crate::webhooks::write_outbox(tx, &events).await?;
            }
            joined > 0
        })
    }
}
