//! Card payments, their transactions and the bank account they move.

use crate::db::Db;
use async_trait::async_trait;
use cardinal_domain::DomainError;
use cardinal_store::{
    sql::{columns, transaction_list, Dialect, BANK_ACCOUNT, TRANSACTION_COLUMNS},
    BankAccount, OutboxEvent, Page, PaymentChange, PaymentStore, StoreResult, StoredCard, Transaction,
    TransactionChange, TransactionQuery,
};
use uuid::Uuid;

use crate::{
    cards::{load_card, save_card},
    optional, pg,
    rows::{bank_account, transaction_row, uuid},
    run_list, run_page,
    webhooks::{subscriptions_for, write_outbox_for},
    Fail, PostgresStore,
};
pub(crate) async fn load_account(client: &Db<'_>, id: Uuid) -> Result<BankAccount, Fail> {
    let q = fixed_sql!("SELECT {} FROM bank_accounts b WHERE b.id = $1 FOR UPDATE", columns("b", BANK_ACCOUNT));
    let row = client.query_one(q, &[&id.to_string()]).await.map_err(pg)?;
    bank_account(&row, "b")
}

pub(crate) async fn save_account(client: &Db<'_>, a: &BankAccount) -> Result<(), Fail> {
    client
        .execute(
            "UPDATE bank_accounts SET balance_cents = $1, authorized_balance_cents = $2, updated_at = $3 WHERE id = $4",
            &[&a.balance.0, &a.authorized_balance.0, &a.updated_at.as_second(), &a.id.to_string()],
        )
        .await
        .map_err(pg)?;
    Ok(())
}

pub(crate) async fn load_transaction(
    client: &Db<'_>,
    org: Option<Uuid>,
    id: Uuid,
    lock: bool,
) -> Result<Option<Transaction>, Fail> {
    let q = match lock {
        true => fixed_sql!(
            "SELECT {TRANSACTION_COLUMNS} FROM transactions t WHERE t.id = $1 \
             AND ($2::TEXT IS NULL OR t.organization_id = $2) FOR UPDATE"
        ),
        false => fixed_sql!(
            "SELECT {TRANSACTION_COLUMNS} FROM transactions t WHERE t.id = $1 \
             AND ($2::TEXT IS NULL OR t.organization_id = $2)"
        ),
    };
    optional(client, q, &[&id.to_string(), &org.map(|o| o.to_string())], transaction_row).await
}

pub(crate) async fn upsert_transaction(client: &Db<'_>, t: &Transaction) -> Result<(), Fail> {
    client
        .execute(
            "INSERT INTO transactions (id, organization_id, bank_account_id, card_id, holder_id, slug, amount_cents, \
             currency, side, operation_type, status, decline_reason, label, category, merchant_country, channel, \
             counted_day, counted_month, card_last_digits, emitted_at, settled_at, settled_balance_cents, created_at, \
             updated_at, attachment_ids, label_ids) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
             $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26) ON CONFLICT (id) DO UPDATE SET \
             status = excluded.status, settled_at = excluded.settled_at, \
             settled_balance_cents = excluded.settled_balance_cents, updated_at = excluded.updated_at, \
             attachment_ids = excluded.attachment_ids, label_ids = excluded.label_ids",
            &[
                &t.id.to_string(),
                &t.organization_id.to_string(),
                &t.bank_account_id.to_string(),
                &t.card_id.to_string(),
                &t.holder_id.to_string(),
                &t.slug,
                &t.amount.0,
                &t.currency,
                &t.side,
                &t.operation_type,
                &t.status.as_str(),
                &t.decline_reason,
                &t.label,
                &t.category,
                &t.merchant_country,
                &t.channel,
                &t.counted_day.map(|d| d.to_string()),
                &t.counted_month.map(|d| d.to_string()),
                &t.card_last_digits,
                &t.emitted_at.as_second(),
                &t.settled_at.map(|s| s.as_second()),
                &t.settled_balance.map(|b| b.0),
                &t.created_at.as_second(),
                &t.updated_at.as_second(),
                &cardinal_store::ids_column(&t.attachment_ids),
                &cardinal_store::ids_column(&t.label_ids),
            ],
        )
        .await
        .map_err(pg)?;
    Ok(())
}

/// Writes a decided payment: the card, the account, the transaction, and its events. The
/// writes are independent and sent together, one round trip, because the account's row lock
/// is held until the commit and every payment of the account waits for it.
async fn save_payment(
    client: &Db<'_>,
    stored: &StoredCard,
    account: &BankAccount,
    transaction: &Transaction,
    events: &[OutboxEvent],
) -> Result<(), Fail> {
    let (_, _, _, subscriptions) = tokio::try_join!(
        save_card(client, stored),
        save_account(client, account),
        upsert_transaction(client, transaction),
        subscriptions_for(client, events)
    )?;
    write_outbox_for(client, events, &subscriptions).await
}

#[async_trait]
impl PaymentStore for PostgresStore {
    async fn pay(&self, org: Uuid, card: Uuid, mut change: PaymentChange) -> StoreResult<(StoredCard, Transaction)> {
        transaction!(self, |tx| {
            // Card, then account: every use case locks in this order, so none deadlocks another.
            let mut stored = load_card(tx, Some(org), card, true).await?.ok_or(DomainError::NotFound)?;
            let mut account = load_account(tx, stored.card.bank_account_id).await?;
            let (transaction, events) = change(&mut stored, &mut account)?;
            save_payment(tx, &stored, &account, &transaction, &events).await?;
            (stored, transaction)
        })
    }

    async fn change_transaction(
        &self,
        id: Uuid,
        mut change: TransactionChange,
    ) -> StoreResult<(Transaction, StoredCard)> {
        transaction!(self, |tx| {
            let peek = load_transaction(tx, None, id, false).await?.ok_or(DomainError::NotFound)?;
            // Card first, as everywhere, then the transaction and the account.
            let mut stored =
                load_card(tx, Some(peek.organization_id), peek.card_id, true).await?.ok_or(DomainError::NotFound)?;
            let mut transaction = load_transaction(tx, None, id, true).await?.ok_or(DomainError::NotFound)?;
            let mut account = load_account(tx, transaction.bank_account_id).await?;
            let events = change(&mut transaction, &mut stored, &mut account)?;
            save_payment(tx, &stored, &account, &transaction, &events).await?;
            (transaction, stored)
        })
    }

    async fn transaction(&self, org: Uuid, id: Uuid) -> StoreResult<Option<Transaction>> {
        stale_read!(self, |c| { load_transaction(c, Some(org), id, false).await? })
    }

    async fn transaction_organization(&self, id: Uuid) -> StoreResult<Option<Uuid>> {
        read!(self, |c| {
            let row = c
                .query_opt("SELECT organization_id FROM transactions WHERE id = $1", &[&id.to_string()])
                .await
                .map_err(pg)?;
            row.map(|r| uuid(&r.get::<_, String>(0))).transpose()?
        })
    }

    async fn list_transactions(&self, query: &TransactionQuery) -> StoreResult<Page<Transaction>> {
        stale_read!(self, |c| {
            match transaction_list(query, Dialect::Postgres) {
                statements if query.counted => run_list(c, statements, transaction_row).await?,
                (_, page) => Page::uncounted(run_page(c, page, transaction_row).await?),
            }
        })
    }
}
