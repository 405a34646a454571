//! Storage stories: Payments and their transactions.

use super::*;

fn transaction_for(card: &Card, amount: Cents, status: TransactionStatus, at: Timestamp) -> Transaction {
    Transaction {
        id: Uuid::new_v4(),
        organization_id: card.organization_id,
        bank_account_id: card.bank_account_id,
        card_id: card.id,
        holder_id: card.holder_id,
        slug: format!("t-{}", Uuid::new_v4().simple()),
        amount,
        currency: "EUR".into(),
        side: "debit".into(),
        operation_type: "card".into(),
        status,
        decline_reason: (status == TransactionStatus::Declined).then(|| "monthly_limit_exceeded".into()),
        label: "Shop".into(),
        category: "other".into(),
        merchant_country: "FR".into(),
        channel: "online".into(),
        counted_day: Some(jiff::civil::date(2026, 1, 2)),
        counted_month: Some(jiff::civil::date(2026, 1, 1)),
        card_last_digits: card.last_digits.clone(),
        emitted_at: at,
        settled_at: None,
        settled_balance: None,
        created_at: at,
        updated_at: at,
        attachment_ids: vec![],
        label_ids: vec![],
    }
}

/// A payment that spends `amount` when the card's monthly counter stays within its limit.
pub(super) fn spend(amount: Cents) -> PaymentChange {
    Box::new(move |stored, account| {
        let card = &mut stored.card;
        let fits =
            card.spent.payment_monthly + amount <= card.limits.payment_monthly && account.authorized_balance >= amount;
        if fits {
            card.spent.payment_monthly = card.spent.payment_monthly + amount;
            account.authorized_balance = account.authorized_balance - amount;
        }
        card.last_activity_at = Some(now());
        let status = if fits { TransactionStatus::Pending } else { TransactionStatus::Declined };
        Ok((transaction_for(card, amount, status, now()), vec![]))
    })
}

pub(super) fn query_transactions(seed: &OrganizationSeed) -> TransactionQuery {
    let (org, account) = (seed.organization.id, seed.bank_accounts[0].id);
    TransactionQuery::of_account(
        org,
        account,
        TransactionSortField::EmittedAt,
        false,
        PageRequest { page: 1, per_page: 100 },
    )
}

pub async fn payment_writes_card_account_and_transaction_together(store: Arc<dyn Store>) {
    let seed = seeded(&store, "pay").await;
    let (org, card) = (seed.organization.id, seed.cards[0].card.id);
    let (stored, transaction) = store.pay(org, card, spend(Cents::euros(40))).await.unwrap();
    assert_eq!(stored.card.spent.payment_monthly, Cents::euros(40));
    assert_eq!(store.card(org, card).await.unwrap().unwrap().card.spent.payment_monthly, Cents::euros(40));
    let account = store.bank_account(org, seed.bank_accounts[0].id).await.unwrap().unwrap();
    assert_eq!(account.authorized_balance, Cents::euros(960));
    assert_eq!(store.transaction(org, transaction.id).await.unwrap(), Some(transaction.clone()));
    assert_eq!(store.transaction(Uuid::new_v4(), transaction.id).await.unwrap(), None);
    assert_eq!(store.transaction_organization(transaction.id).await.unwrap(), Some(org));
}

pub async fn refused_payment_writes_nothing(store: Arc<dyn Store>) {
    let seed = seeded(&store, "refused-pay").await;
    let (org, card) = (seed.organization.id, seed.cards[0].card.id);
    let before = store.card(org, card).await.unwrap();
    let err = store
        .pay(
            org,
            card,
            Box::new(|stored, account| {
                stored.card.spent.payment_monthly = Cents::euros(999);
                account.authorized_balance = Cents::ZERO;
                Err(cardinal_domain::DomainError::invalid("/at", "no"))
            }),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Domain(_)));
    assert_eq!(store.card(org, card).await.unwrap(), before);
    assert_eq!(
        store.bank_account(org, seed.bank_accounts[0].id).await.unwrap().unwrap().authorized_balance,
        Cents::euros(1000)
    );
    assert_eq!(store.list_transactions(&query_transactions(&seed)).await.unwrap().total, 0);
}

/// 200 concurrent 1.00 payments against a 50.00 limit: exactly 50 pass, and card, account
/// and transactions agree to the cent.
pub async fn concurrent_payments_never_overspend(store: Arc<dyn Store>) {
    let seed = seeded(&store, "overspend").await;
    let (org, card) = (seed.organization.id, seed.cards[0].card.id);
    // Set the limit with a zero payment: `pay` always writes the card.
    store
        .pay(
            org,
            card,
            Box::new(|stored, _| {
                stored.card.limits.payment_monthly = Cents::euros(50);
                Ok((transaction_for(&stored.card, Cents::ZERO, TransactionStatus::Declined, now()), vec![]))
            }),
        )
        .await
        .unwrap();
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.pay(org, card, spend(Cents::euros(1))).await.unwrap().1.status })
        })
        .collect();
    let mut approved = 0;
    for t in tasks {
        if t.await.unwrap() == TransactionStatus::Pending {
            approved += 1;
        }
    }
    assert_eq!(approved, 50);
    assert_eq!(store.card(org, card).await.unwrap().unwrap().card.spent.payment_monthly, Cents::euros(50));
    let account = store.bank_account(org, seed.bank_accounts[0].id).await.unwrap().unwrap();
    assert_eq!(account.authorized_balance, Cents::euros(950));
    let mut q = query_transactions(&seed);
    q.statuses = vec![TransactionStatus::Pending];
    let pending = store.list_transactions(&q).await.unwrap();
    assert_eq!(pending.total, 50);
    assert_eq!(pending.items.iter().map(|t| t.amount.0).sum::<i64>(), 5000);
    // A page read without its count: the same rows, in the same order.
    q.page.per_page = 20;
    let counted = store.list_transactions(&q).await.unwrap();
    let uncounted = store.list_transactions(&TransactionQuery { counted: false, ..q }).await.unwrap();
    assert_eq!((counted.total, uncounted.total), (50, 20));
    assert_eq!(uncounted.items, counted.items);
}

pub async fn transaction_changes_commit_together(store: Arc<dyn Store>) {
    let seed = seeded(&store, "settle").await;
    let (org, card) = (seed.organization.id, seed.cards[0].card.id);
    let (_, t) = store.pay(org, card, spend(Cents::euros(10))).await.unwrap();
    let (settled, _) = store
        .change_transaction(
            t.id,
            Box::new(|t, _, account| {
                account.balance = account.balance - t.amount;
                t.status = TransactionStatus::Completed;
                t.settled_at = Some(now());
                t.settled_balance = Some(account.balance);
                Ok(vec![])
            }),
        )
        .await
        .unwrap();
    assert_eq!(settled.status, TransactionStatus::Completed);
    assert_eq!(store.transaction(org, t.id).await.unwrap().unwrap().settled_balance, Some(Cents::euros(990)));
    assert_eq!(store.bank_account(org, seed.bank_accounts[0].id).await.unwrap().unwrap().balance, Cents::euros(990));
    let refused = store
        .change_transaction(
            t.id,
            Box::new(|t, _, account| {
                account.balance = Cents::ZERO;
                t.status = TransactionStatus::Reversed;
                Err(cardinal_domain::DomainError::InvalidState("no".into()))
            }),
        )
        .await;
    assert!(refused.is_err());
    assert_eq!(store.transaction(org, t.id).await.unwrap().unwrap().status, TransactionStatus::Completed);
    assert_eq!(store.bank_account(org, seed.bank_accounts[0].id).await.unwrap().unwrap().balance, Cents::euros(990));
    let missing = store.change_transaction(Uuid::new_v4(), Box::new(|_, _, _| Ok(vec![]))).await.unwrap_err();
    assert!(matches!(missing, StoreError::Domain(cardinal_domain::DomainError::NotFound)));
}

pub async fn transactions_are_listed_by_account(store: Arc<dyn Store>) {
    let seed = seeded(&store, "listing").await;
    let org = seed.organization.id;
    for (i, new) in seed.cards.iter().take(4).enumerate() {
        let amount = Cents::euros(1 + i as i64);
        store.pay(org, new.card.id, spend(amount)).await.unwrap();
    }
    let q = query_transactions(&seed);
    let all = store.list_transactions(&q).await.unwrap();
    assert_eq!(all.total, 4);
    let mut mine = q.clone();
    mine.visibility = Visibility::HeldBy(seed.memberships[3].id);
    assert_eq!(store.list_transactions(&mine).await.unwrap().total, 1);
    mine.visibility = Visibility::HeldByOrTeam(seed.memberships[2].id, seed.memberships[2].team_id);
    assert_eq!(store.list_transactions(&mine).await.unwrap().total, 2);
    let one_card = TransactionQuery { card_id: Some(seed.cards[1].card.id), ..q.clone() };
    let of_card = store.list_transactions(&one_card).await.unwrap();
    assert_eq!((of_card.total, of_card.items[0].card_id), (1, seed.cards[1].card.id));
    let mut paged = q.clone();
    paged.page = PageRequest { page: 2, per_page: 3 };
    assert_eq!(store.list_transactions(&paged).await.unwrap().items.len(), 1);
    let mut other_account = q.clone();
    other_account.bank_account_id = Uuid::new_v4();
    assert_eq!(store.list_transactions(&other_account).await.unwrap().total, 0);
    // Another organization naming this account sees nothing of it, by account or by card.
    let other = seeded(&store, "listing-other").await;
    let mut theirs = q.clone();
    theirs.organization_id = other.organization.id;
    assert_eq!(store.list_transactions(&theirs).await.unwrap().total, 0, "another organization's account");
    let their_card = TransactionQuery { card_id: Some(seed.cards[1].card.id), ..theirs.clone() };
    assert_eq!(store.list_transactions(&their_card).await.unwrap().total, 0, "another organization's card");
    let uncounted = store.list_transactions(&TransactionQuery { counted: false, ..theirs }).await.unwrap();
    assert!(uncounted.items.is_empty(), "another organization's page");
    let mut later = q;
    later.emitted_at = TimeRange { from: Some(Timestamp::from_second(now().as_second() + 3600).unwrap()), to: None };
    assert_eq!(store.list_transactions(&later).await.unwrap().total, 0);
}
