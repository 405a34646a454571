//! Storage stories every backend must pass. A backend's test file calls
//! [`conformance_tests!`] with an expression producing a fresh, empty store; each story then
//! runs on its own store.

use crate::*;
use cardinal_domain::card::{Outcome, Status};
use cardinal_domain::issuing::Blueprint;
use cardinal_domain::{Card, CardAction, CardLevel, Cents, Role};
use jiff::{tz::TimeZone, Timestamp};
use std::sync::Arc;
use uuid::Uuid;

/// Generates one `#[tokio::test]` per story. `$make` is an async expression yielding
/// `Arc<dyn Store>` (or a type that derefs to a Store) for a fresh database.
#[macro_export]
macro_rules! conformance_tests {
    (optional: $make:expr) => {
        $crate::conformance_tests!(@each_optional $make;
            organization_round_trip, duplicate_slug_writes_nothing, credentials_are_found_by_hash,
            card_change_and_event_commit_together, refused_change_writes_nothing, unchanged_card_writes_no_event,
            concurrent_changes_lose_no_write, list_visibility_and_filters, list_sorting_and_pagination,
            expiry_shows_in_status_filters, delete_organization_removes_everything, other_organizations_are_invisible,
            payment_writes_card_account_and_transaction_together, refused_payment_writes_nothing,
            concurrent_payments_never_overspend, transaction_changes_commit_together, transactions_are_listed_by_account,
            a_duplicate_card_number_is_a_conflict, reads_racing_writes_end_on_the_last_commit,
            concurrent_clock_advances_all_count, sealed_secrets_are_walked_and_replaced,
            idempotency_keys_claim_replay_and_expire, sca_sessions_are_decided_once_and_used_once,
            data_view_tokens_open_once_before_they_expire);
    };
    (@each_optional $make:expr; $($story:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $story() {
                let store: Option<std::sync::Arc<dyn $crate::Store>> = $make;
                match store {
                    Some(store) => $crate::conformance::$story(store).await,
                    None => eprintln!("skipped: no database configured for this backend"),
                }
            }
        )+
    };
    ($make:expr) => {
        $crate::conformance_tests!(@each $make;
            organization_round_trip, duplicate_slug_writes_nothing, credentials_are_found_by_hash,
            card_change_and_event_commit_together, refused_change_writes_nothing, unchanged_card_writes_no_event,
            concurrent_changes_lose_no_write, list_visibility_and_filters, list_sorting_and_pagination,
            expiry_shows_in_status_filters, delete_organization_removes_everything, other_organizations_are_invisible,
            payment_writes_card_account_and_transaction_together, refused_payment_writes_nothing,
            concurrent_payments_never_overspend, transaction_changes_commit_together, transactions_are_listed_by_account,
            a_duplicate_card_number_is_a_conflict, reads_racing_writes_end_on_the_last_commit,
            concurrent_clock_advances_all_count, sealed_secrets_are_walked_and_replaced,
            idempotency_keys_claim_replay_and_expire, sca_sessions_are_decided_once_and_used_once,
            data_view_tokens_open_once_before_they_expire);
    };
    (@each $make:expr; $($story:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $story() {
                let store: std::sync::Arc<dyn $crate::Store> = $make;
                $crate::conformance::$story(store).await;
            }
        )+
    };
}

fn now() -> Timestamp {
    Timestamp::now().round(jiff::Unit::Second).unwrap()
}

/// A small organization: owner, admin, manager + employee in one team, reporting; one card
/// each (virtual), and an owner's physical card. Secrets are dummies: stores never read them.
pub fn fixture(slug: &str) -> OrganizationSeed {
    let at = now();
    let org = Organization {
        id: Uuid::new_v4(),
        slug: slug.into(),
        legal_name: format!("{slug} SAS"),
        locale: "fr".into(),
        timezone: "Europe/Paris".into(),
        country: "FR".into(),
        sca_mode: ScaMode::Required,
        clock_offset_seconds: 0,
        created_at: at,
    };
    let team = Team { id: Uuid::new_v4(), organization_id: org.id, name: "Sales".into() };
    let account = BankAccount {
        id: Uuid::new_v4(),
        organization_id: org.id,
        name: "Main".into(),
        status: "active".into(),
        main: true,
        iban: format!("FR76{}", &Uuid::new_v4().simple().to_string()[..23]),
        bic: "QNTOFRP1XXX".into(),
        currency: "EUR".into(),
        balance: Cents::euros(1000),
        authorized_balance: Cents::euros(1000),
        created_at: at,
        updated_at: at,
    };
    let roles = [Role::Owner, Role::Admin, Role::Manager, Role::Employee, Role::Reporting];
    let memberships: Vec<Membership> = roles
        .iter()
        .enumerate()
        .map(|(i, role)| Membership {
            id: Uuid::new_v4(),
            organization_id: org.id,
            first_name: format!("First{i}"),
            last_name: format!("{role}-Last"),
            email: format!("m{i}@{slug}.example"),
            role: *role,
            status: "active".into(),
            team_id: matches!(role, Role::Manager | Role::Employee).then_some(team.id),
            locale: "fr".into(),
            created_at: at,
        })
        .collect();
    let credentials = memberships
        .iter()
        .map(|m| NewCredential {
            id: Uuid::new_v4(),
            organization_id: org.id,
            membership_id: m.id,
            kind: CredentialKind::AccessToken,
            secret_hash: *Uuid::new_v4().as_bytes().repeat(2).first_chunk().unwrap(),
            scopes: vec!["card.read".into()],
            expires_at: None,
            created_at: at,
        })
        .collect();
    let tz = TimeZone::get("Europe/Paris").unwrap();
    let mut cards: Vec<NewCard> =
        memberships.iter().map(|m| new_card(m, account.id, CardLevel::Virtual, at, &tz)).collect();
    cards.push(new_card(&memberships[0], account.id, CardLevel::Standard, at, &tz));
    OrganizationSeed {
        organization: org,
        teams: vec![team],
        bank_accounts: vec![account],
        memberships,
        credentials,
        cards,
        events: vec![],
    }
}

fn new_card(holder: &Membership, bank_account_id: Uuid, level: CardLevel, at: Timestamp, tz: &TimeZone) -> NewCard {
    let id = Uuid::new_v4();
    let blueprint = Blueprint {
        id,
        organization_id: holder.organization_id,
        bank_account_id,
        holder_id: holder.id,
        holder_first_name: holder.first_name.clone(),
        holder_last_name: holder.last_name.clone(),
        initiator_id: holder.id,
        level,
        payment_monthly_limit: Cents::euros(1000),
        atm_monthly_limit: Cents::ZERO,
        last_digits: format!("{:04}", id.as_u128() % 10_000),
    };
    NewCard {
        card: Card::issue(blueprint, at, tz),
        secrets: CardSecrets {
            pan_ciphertext: id.as_bytes().to_vec(),
            cvv_ciphertext: vec![1, 2, 3],
            pan_fingerprint: *id.as_bytes().repeat(2).first_chunk().unwrap(),
        },
    }
}

fn event(card: &Card, action: &str) -> AuditEvent {
    AuditEvent {
        id: Uuid::new_v4(),
        card_id: card.id,
        action: action.into(),
        actor: Actor { kind: ActorKind::System, id: None },
        from_status: None,
        to_status: card.status(now()),
        changes: serde_json::json!({"n": 1}),
        request_id: "test".into(),
        at: now(),
    }
}

async fn seeded(store: &Arc<dyn Store>, slug: &str) -> OrganizationSeed {
    let seed = fixture(slug);
    store.create_organization(seed.clone()).await.expect("create organization");
    seed
}

/// A read-modify-write change: the nickname counts how many times it ran.
fn increment_nickname() -> CardChange {
    Box::new(|stored| {
        let n: u32 = stored.card.nickname.parse().unwrap_or(0);
        stored.card.nickname = (n + 1).to_string();
        Ok(Some(event(&stored.card, "nickname")))
    })
}

/// `n` concurrent [`increment_nickname`] changes of one card.
fn spawn_increments(store: &Arc<dyn Store>, org: Uuid, card: Uuid, n: usize) -> Vec<tokio::task::JoinHandle<()>> {
    (0..n)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store.update_card(org, card, increment_nickname()).await.unwrap();
            })
        })
        .collect()
}

fn lock_change() -> CardChange {
    Box::new(|stored| {
        Ok(match stored.card.apply(CardAction::Lock, now())? {
            Outcome::Changed => Some(event(&stored.card, "lock")),
            Outcome::Unchanged => None,
        })
    })
}

pub async fn organization_round_trip(store: Arc<dyn Store>) {
    assert!(store.is_empty().await.unwrap());
    let seed = seeded(&store, "acme").await;
    assert!(!store.is_empty().await.unwrap());
    let org = store.organization(seed.organization.id).await.unwrap().unwrap();
    assert_eq!(org, seed.organization);
    // Read again after a change: a backend that caches organizations must see the change.
    let advanced = store.advance_clock(org.id, ClockChange::ToAtLeast(3_600)).await.unwrap().unwrap();
    assert_eq!(advanced.clock_offset_seconds, 3_600);
    assert_eq!(store.organization(org.id).await.unwrap().unwrap(), advanced);
    let page = store.memberships(org.id, PageRequest { page: 1, per_page: 2 }).await.unwrap();
    assert_eq!((page.items.len(), page.total), (2, 5));
    let m = &seed.memberships[2];
    assert_eq!(store.membership(org.id, m.id).await.unwrap().as_ref(), Some(m));
    assert_eq!(store.membership(Uuid::new_v4(), m.id).await.unwrap(), None);
    let accounts = store.bank_accounts(org.id, PageRequest { page: 1, per_page: 100 }).await.unwrap();
    assert_eq!(accounts.items, seed.bank_accounts);
    let card = &seed.cards[0].card;
    let stored = store.card(org.id, card.id).await.unwrap().unwrap();
    assert_eq!(&stored.card, card, "a card reads back exactly as written");
    assert_eq!(stored.holder.first_name, seed.memberships[0].first_name);
    assert_eq!(store.setting("k").await.unwrap(), None);
    assert_eq!(store.init_setting("k", "v1").await.unwrap(), "v1");
    assert_eq!(store.init_setting("k", "v2").await.unwrap(), "v1", "the first value stays");
    assert_eq!(store.setting("k").await.unwrap().as_deref(), Some("v1"));
}

pub async fn duplicate_slug_writes_nothing(store: Arc<dyn Store>) {
    seeded(&store, "taken").await;
    let again = fixture("taken");
    let err = store.create_organization(again.clone()).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.organization(again.organization.id).await.unwrap(), None);
    assert_eq!(store.membership_by_id(again.memberships[0].id).await.unwrap(), None, "no half-written organization");
}

pub async fn credentials_are_found_by_hash(store: Arc<dyn Store>) {
    let seed = seeded(&store, "creds").await;
    let wanted = &seed.credentials[3];
    let found = store.credential_by_hash(&wanted.secret_hash).await.unwrap().unwrap();
    assert_eq!(found.membership.id, wanted.membership_id);
    assert_eq!(found.organization.id, seed.organization.id);
    assert_eq!(found.scopes, vec!["card.read".to_string()]);
    assert_eq!(store.credential_by_hash(&[7; 32]).await.unwrap(), None);

    let key =
        NewCredential { id: Uuid::new_v4(), kind: CredentialKind::ApiKey, secret_hash: [9; 32], ..wanted.clone() };
    store.insert_credential(key).await.unwrap();
    let by_slug = store.api_key_by_slug("creds").await.unwrap().unwrap();
    assert_eq!((by_slug.kind, by_slug.secret_hash), (CredentialKind::ApiKey, [9; 32]));
    assert_eq!(store.api_key_by_slug("nobody").await.unwrap(), None);

    assert!(store.revoke_credential(&wanted.secret_hash, now()).await.unwrap());
    assert!(!store.revoke_credential(&wanted.secret_hash, now()).await.unwrap(), "revoking twice changes nothing");
    assert!(store.credential_by_hash(&wanted.secret_hash).await.unwrap().unwrap().revoked_at.is_some());
}

pub async fn card_change_and_event_commit_together(store: Arc<dyn Store>) {
    let seed = seeded(&store, "events").await;
    let (org, card) = (seed.organization.id, seed.cards[0].card.id);
    let locked = store.update_card(org, card, lock_change()).await.unwrap();
    assert_eq!(locked.card.status(now()), Status::Paused);
    assert_eq!(store.card(org, card).await.unwrap().unwrap().card.status(now()), Status::Paused);
    let events = store.card_events(org, card).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].action.as_str(), events[0].to_status), ("lock", Status::Paused));
    assert_eq!(events[0].changes, serde_json::json!({"n": 1}));
    assert_eq!(store.card_events(Uuid::new_v4(), card).await.unwrap(), vec![], "events are per organization");
}

pub async fn refused_change_writes_nothing(store: Arc<dyn Store>) {
    let seed = seeded(&store, "refused").await;
    let (org, card) = (seed.organization.id, seed.cards[0].card.id);
    let before = store.card(org, card).await.unwrap().unwrap();
    let err = store
        .update_card(
            org,
            card,
            Box::new(|stored| {
                stored.card.nickname = "half-written".into();
                Err(cardinal_domain::DomainError::Forbidden("no".into()))
            }),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Domain(_)));
    assert_eq!(store.card(org, card).await.unwrap().unwrap(), before);
    let missing = store.update_card(org, Uuid::new_v4(), lock_change()).await.unwrap_err();
    assert!(matches!(missing, StoreError::Domain(cardinal_domain::DomainError::NotFound)));
}

pub async fn unchanged_card_writes_no_event(store: Arc<dyn Store>) {
    let seed = seeded(&store, "unchanged").await;
    let (org, card) = (seed.organization.id, seed.cards[0].card.id);
    store.update_card(org, card, lock_change()).await.unwrap();
    store.update_card(org, card, lock_change()).await.unwrap();
    assert_eq!(store.card_events(org, card).await.unwrap().len(), 1);
}

/// Many concurrent read-modify-write changes on one card: none is lost.
pub async fn concurrent_changes_lose_no_write(store: Arc<dyn Store>) {
    let seed = seeded(&store, "concurrent").await;
    let (org, card) = (seed.organization.id, seed.cards[0].card.id);
    for t in spawn_increments(&store, org, card, 100) {
        t.await.unwrap();
    }
    assert_eq!(store.card(org, card).await.unwrap().unwrap().card.nickname, "100");
    assert_eq!(store.card_events(org, card).await.unwrap().len(), 100);
}

fn query(seed: &OrganizationSeed) -> CardQuery {
    CardQuery::all(seed.organization.id, now())
}

/// The ids a list shows; also checks its total (`meta.total_count`) against them whenever the
/// page holds the whole list, so every list assertion checks the count as well.
async fn listed(store: &Arc<dyn Store>, q: &CardQuery) -> Vec<Uuid> {
    let page = store.list_cards(q).await.unwrap();
    let ids: Vec<Uuid> = page.items.into_iter().map(|c| c.card.id).collect();
    if q.page.offset() == 0 && ids.len() < q.page.per_page as usize {
        assert_eq!(page.total, ids.len() as u64, "the total counts exactly the cards listed");
    }
    ids
}

pub async fn list_visibility_and_filters(store: Arc<dyn Store>) {
    let seed = seeded(&store, "lists").await;
    let ids = |indexes: &[usize]| -> Vec<Uuid> { indexes.iter().map(|i| seed.cards[*i].card.id).collect() };
    let sorted = |mut v: Vec<Uuid>| {
        v.sort();
        v
    };
    let (manager, employee) = (&seed.memberships[2], &seed.memberships[3]);

    assert_eq!(listed(&store, &query(&seed)).await.len(), 6);
    let mut q = query(&seed);
    q.visibility = Visibility::HeldBy(employee.id);
    assert_eq!(listed(&store, &q).await, ids(&[3]));
    q.visibility = Visibility::HeldByOrTeam(manager.id, manager.team_id);
    assert_eq!(sorted(listed(&store, &q).await), sorted(ids(&[2, 3])));
    q.ids = ids(&[0, 3]);
    assert_eq!(listed(&store, &q).await, ids(&[3]), "ids[] never widens visibility");

    let mut q = query(&seed);
    q.levels = vec![CardLevel::Standard];
    assert_eq!(listed(&store, &q).await, ids(&[5]));
    let mut q = query(&seed);
    q.holder_ids = vec![seed.memberships[0].id];
    assert_eq!(sorted(listed(&store, &q).await), sorted(ids(&[0, 5])));
    let mut q = query(&seed);
    q.statuses = vec![Status::Pending];
    assert_eq!(listed(&store, &q).await, ids(&[5]));
    let mut q = query(&seed);
    q.search = Some("REPORTING-last".into());
    assert_eq!(listed(&store, &q).await, ids(&[4]), "search matches holder names, case-insensitively");
    q.search = Some("pend".into());
    assert_eq!(listed(&store, &q).await, ids(&[5]), "search matches the status");
    q.search = Some(seed.cards[1].card.id.to_string()[..8].to_uppercase());
    assert_eq!(listed(&store, &q).await, ids(&[1]), "search matches the card id");
    q.search = Some("%".into());
    assert_eq!(listed(&store, &q).await, Vec::<Uuid>::new(), "LIKE wildcards are literal");

    store.update_card(seed.organization.id, seed.cards[2].card.id, lock_change()).await.unwrap();
    let mut q = query(&seed);
    q.statuses = vec![Status::Paused];
    assert_eq!(listed(&store, &q).await, ids(&[2]));

    let discard: CardChange = Box::new(|stored| {
        stored.card.apply(CardAction::Discard, now())?;
        Ok(Some(event(&stored.card, "discard")))
    });
    store.update_card(seed.organization.id, seed.cards[3].card.id, discard).await.unwrap();
    q.statuses = vec![Status::Discarded];
    assert_eq!(listed(&store, &q).await, ids(&[3]), "a change of status moves the card's count");
    q.statuses = vec![Status::Live];
    q.visibility = Visibility::HeldByOrTeam(manager.id, manager.team_id);
    assert_eq!(listed(&store, &q).await, Vec::<Uuid>::new());
    q.statuses = vec![Status::Paused, Status::Discarded];
    assert_eq!(sorted(listed(&store, &q).await), sorted(ids(&[2, 3])));
}

pub async fn list_sorting_and_pagination(store: Arc<dyn Store>) {
    let seed = seeded(&store, "sorting").await;
    let org = seed.organization.id;
    for (i, new) in seed.cards.iter().enumerate() {
        let name = format!("card-{}", (b'a' + (5 - i) as u8) as char);
        store
            .update_card(
                org,
                new.card.id,
                Box::new(move |stored| {
                    stored.card.nickname = name.clone();
                    Ok(Some(event(&stored.card, "nickname")))
                }),
            )
            .await
            .unwrap();
    }
    let mut q = query(&seed);
    q.sort = CardSortField::Nickname;
    q.descending = false;
    let names: Vec<String> = store.list_cards(&q).await.unwrap().items.into_iter().map(|c| c.card.nickname).collect();
    assert_eq!(names, ["card-a", "card-b", "card-c", "card-d", "card-e", "card-f"]);

    q.page = PageRequest { page: 2, per_page: 4 };
    let page = store.list_cards(&q).await.unwrap();
    assert_eq!(page.total, 6);
    assert_eq!(page.items.iter().map(|c| c.card.nickname.as_str()).collect::<Vec<_>>(), ["card-e", "card-f"]);
    q.page = PageRequest { page: 9, per_page: 4 };
    assert_eq!(store.list_cards(&q).await.unwrap().items.len(), 0);

    let mut q = query(&seed);
    q.sort = CardSortField::Status;
    q.descending = false;
    let statuses: Vec<Status> =
        store.list_cards(&q).await.unwrap().items.iter().map(|c| c.card.status(now())).collect();
    assert_eq!(statuses.first(), Some(&Status::Live));
    assert_eq!(statuses.last(), Some(&Status::Pending));
}

pub async fn expiry_shows_in_status_filters(store: Arc<dyn Store>) {
    let seed = seeded(&store, "expiry").await;
    let card = &seed.cards[0].card;
    let mut q = query(&seed);
    q.now = card.expires_at;
    q.statuses = vec![Status::Expired];
    assert_eq!(listed(&store, &q).await.len(), 6, "every card is expired at its expiry instant");
    q.now = Timestamp::from_second(card.expires_at.as_second() - 1).unwrap();
    assert_eq!(listed(&store, &q).await.len(), 0);
}

pub async fn delete_organization_removes_everything(store: Arc<dyn Store>) {
    let seed = seeded(&store, "doomed").await;
    let keep = seeded(&store, "kept").await;
    // Read first, so a backend that caches reads has them cached: deletion must reach caches.
    assert!(store.card_by_id(seed.cards[0].card.id).await.unwrap().is_some());
    assert!(store.credential_by_hash(&seed.credentials[0].secret_hash).await.unwrap().is_some());
    assert!(store.organization(seed.organization.id).await.unwrap().is_some());
    assert!(store.delete_organization(seed.organization.id).await.unwrap());
    assert!(!store.delete_organization(seed.organization.id).await.unwrap());
    assert_eq!(store.organization(seed.organization.id).await.unwrap(), None);
    assert_eq!(store.card_by_id(seed.cards[0].card.id).await.unwrap(), None);
    assert_eq!(store.credential_by_hash(&seed.credentials[0].secret_hash).await.unwrap(), None);
    assert!(store.card_by_id(keep.cards[0].card.id).await.unwrap().is_some());
}

pub async fn other_organizations_are_invisible(store: Arc<dyn Store>) {
    let a = seeded(&store, "org-a").await;
    let b = seeded(&store, "org-b").await;
    let foreign = b.cards[0].card.id;
    assert_eq!(store.card(a.organization.id, foreign).await.unwrap(), None);
    let mut q = query(&a);
    q.ids = vec![foreign];
    assert_eq!(listed(&store, &q).await, Vec::<Uuid>::new());
    let err = store.update_card(a.organization.id, foreign, lock_change()).await.unwrap_err();
    assert!(matches!(err, StoreError::Domain(cardinal_domain::DomainError::NotFound)));
    assert_eq!(store.bank_account(a.organization.id, b.bank_accounts[0].id).await.unwrap(), None);
}

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
    }
}

/// A payment that spends `amount` when the card's monthly counter stays within its limit.
fn spend(amount: Cents) -> PaymentChange {
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
        Ok(transaction_for(card, amount, status, now()))
    })
}

fn query_transactions(seed: &OrganizationSeed) -> TransactionQuery {
    TransactionQuery {
        organization_id: seed.organization.id,
        bank_account_id: seed.bank_accounts[0].id,
        visibility: Visibility::All,
        statuses: vec![],
        side: None,
        operation_types: vec![],
        settled_at: TimeRange::default(),
        updated_at: TimeRange::default(),
        emitted_at: TimeRange::default(),
        created_at: TimeRange::default(),
        with_attachments: None,
        sort: TransactionSortField::EmittedAt,
        descending: false,
        page: PageRequest { page: 1, per_page: 100 },
    }
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
                Ok(transaction_for(&stored.card, Cents::ZERO, TransactionStatus::Declined, now()))
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
                Ok(())
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
    let missing = store.change_transaction(Uuid::new_v4(), Box::new(|_, _, _| Ok(()))).await.unwrap_err();
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
    let mut paged = q.clone();
    paged.page = PageRequest { page: 2, per_page: 3 };
    assert_eq!(store.list_transactions(&paged).await.unwrap().items.len(), 1);
    let mut other_account = q.clone();
    other_account.bank_account_id = Uuid::new_v4();
    assert_eq!(store.list_transactions(&other_account).await.unwrap().total, 0);
    let mut later = q;
    later.emitted_at = TimeRange { from: Some(Timestamp::from_second(now().as_second() + 3600).unwrap()), to: None };
    assert_eq!(store.list_transactions(&later).await.unwrap().total, 0);
}

/// Card numbers are random within the BIN; a collision must be reported as such (the API then
/// issues a new number), and must write nothing.
pub async fn a_duplicate_card_number_is_a_conflict(store: Arc<dyn Store>) {
    let seed = seeded(&store, "pan-clash").await;
    let tz = TimeZone::get("Europe/Paris").unwrap();
    let mut twin = new_card(&seed.memberships[1], seed.bank_accounts[0].id, CardLevel::Virtual, now(), &tz);
    twin.secrets.pan_fingerprint = seed.cards[0].secrets.pan_fingerprint;
    let fresh = new_card(&seed.memberships[1], seed.bank_accounts[0].id, CardLevel::Virtual, now(), &tz);
    let err = store.insert_cards(vec![fresh.clone(), twin], vec![]).await.unwrap_err();
    match err {
        StoreError::Conflict(cause) => assert!(cause.contains("pan_fingerprint"), "{cause}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(store.card(seed.organization.id, fresh.card.id).await.unwrap(), None, "all or nothing");
}

/// Readers racing writers (a backend may cache reads): once the writes are answered, every
/// read shows the last committed state, never an older one.
pub async fn reads_racing_writes_end_on_the_last_commit(store: Arc<dyn Store>) {
    let seed = seeded(&store, "racing").await;
    let (org, card) = (seed.organization.id, seed.cards[0].card.id);
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..200 {
                    store.card(org, card).await.unwrap();
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    let writers = spawn_increments(&store, org, card, 60);
    for w in writers {
        w.await.unwrap();
    }
    for r in readers {
        r.await.unwrap();
    }
    for _ in 0..3 {
        assert_eq!(store.card(org, card).await.unwrap().unwrap().card.nickname, "60");
        assert_eq!(store.card_by_id(card).await.unwrap().unwrap().card.nickname, "60");
    }
}

/// Twenty concurrent one-hour advances move the clock twenty hours; a `ToAtLeast` behind the
/// clock does not move it back.
pub async fn concurrent_clock_advances_all_count(store: Arc<dyn Store>) {
    let seed = seeded(&store, "clock").await;
    let org = seed.organization.id;
    let advances: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.advance_clock(org, ClockChange::By(3_600)).await.unwrap() })
        })
        .collect();
    for advance in advances {
        advance.await.unwrap();
    }
    let after = store.organization(org).await.unwrap().unwrap();
    assert_eq!(after.clock_offset_seconds, seed.organization.clock_offset_seconds + 20 * 3_600);
    let unchanged = store.advance_clock(org, ClockChange::ToAtLeast(60)).await.unwrap().unwrap();
    assert_eq!(unchanged.clock_offset_seconds, after.clock_offset_seconds, "never backwards");
    assert_eq!(store.advance_clock(Uuid::new_v4(), ClockChange::By(1)).await.unwrap(), None);
}

/// What a key rotation needs: settings replaced and removed, every card's sealed secrets
/// walked in pages, and replaced in one transaction.
pub async fn sealed_secrets_are_walked_and_replaced(store: Arc<dyn Store>) {
    store.set_setting("rotating", Some("a")).await.unwrap();
    store.set_setting("rotating", Some("b")).await.unwrap();
    assert_eq!(store.setting("rotating").await.unwrap().as_deref(), Some("b"));
    store.set_setting("rotating", None).await.unwrap();
    assert_eq!(store.setting("rotating").await.unwrap(), None);

    let seed = seeded(&store, "seal").await;
    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let page = store.sealed_cards(after, 1).await.unwrap();
        let Some((last, _)) = page.last() else { break };
        after = Some(*last);
        walked.extend(page);
    }
    let mut expected: Vec<Uuid> = seed.cards.iter().map(|c| c.card.id).collect();
    expected.sort();
    assert_eq!(walked.iter().map(|(id, _)| *id).collect::<Vec<_>>(), expected, "every card, in id order");
    let replaced: Vec<(Uuid, CardSecrets)> = walked
        .iter()
        .map(|(id, _)| {
            let marker = id.as_bytes().to_vec();
            (
                *id,
                CardSecrets {
                    pan_ciphertext: marker.clone(),
                    cvv_ciphertext: marker,
                    pan_fingerprint: *id.as_bytes().repeat(2).first_chunk().unwrap(),
                },
            )
        })
        .collect();
    store.reseal_cards(replaced.clone()).await.unwrap();
    let again = store.sealed_cards(None, 100).await.unwrap();
    for ((id, before), (_, after)) in replaced.iter().zip(&again) {
        assert_eq!(before.pan_ciphertext, after.pan_ciphertext, "{id}");
        assert_eq!(before.pan_fingerprint, after.pan_fingerprint, "{id}");
    }
}

fn idempotency(key: &str, request: u8, now: Timestamp) -> IdempotencyRequest {
    IdempotencyRequest {
        scope_hash: [7; 32],
        key: key.into(),
        request_hash: [request; 32],
        now,
        keep_for_seconds: 1_800,
        abandon_after_seconds: 60,
    }
}

/// A key is claimed once; while it runs a repeat waits; its answer is replayed; another
/// request with it is refused; an abandoned claim is freed; past its time it can be reused.
pub async fn idempotency_keys_claim_replay_and_expire(store: Arc<dyn Store>) {
    let t0 = now();
    let later = |seconds: i64| t0.checked_add(jiff::SignedDuration::from_secs(seconds)).unwrap();
    assert_eq!(store.begin_idempotent(idempotency("k", 1, t0)).await.unwrap(), IdempotencyBegin::Started);
    assert_eq!(store.begin_idempotent(idempotency("k", 1, t0)).await.unwrap(), IdempotencyBegin::InProgress);
    store.finish_idempotent([7; 32], "k".into(), 200, b"{}".to_vec()).await.unwrap();
    let replay = IdempotencyBegin::Replay { status: 200, body: b"{}".to_vec() };
    assert_eq!(store.begin_idempotent(idempotency("k", 1, later(10))).await.unwrap(), replay);
    assert_eq!(store.begin_idempotent(idempotency("k", 2, later(10))).await.unwrap(), IdempotencyBegin::Mismatch);
    assert_eq!(store.begin_idempotent(idempotency("k", 2, later(1_800))).await.unwrap(), IdempotencyBegin::Started);

    assert_eq!(store.begin_idempotent(idempotency("a", 1, t0)).await.unwrap(), IdempotencyBegin::Started);
    store.abandon_idempotent([7; 32], "a".into()).await.unwrap();
    assert_eq!(store.begin_idempotent(idempotency("a", 1, t0)).await.unwrap(), IdempotencyBegin::Started, "freed");
    assert_eq!(
        store.begin_idempotent(idempotency("a", 1, later(60))).await.unwrap(),
        IdempotencyBegin::Started,
        "a claim whose process died is taken over"
    );
    // Twenty at once: exactly one claims the key.
    let racers: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.begin_idempotent(idempotency("race", 1, now())).await.unwrap() })
        })
        .collect();
    let mut started = 0;
    for racer in racers {
        started += usize::from(racer.await.unwrap() == IdempotencyBegin::Started);
    }
    assert_eq!(started, 1);
}

/// A session is decided once (a later decision does not change it) and used once, only if
/// allowed and unexpired.
pub async fn sca_sessions_are_decided_once_and_used_once(store: Arc<dyn Store>) {
    let seed = seeded(&store, "sca").await;
    let t0 = now();
    let session = |hash: u8, expires_in: i64| ScaSession {
        token_hash: [hash; 32],
        organization_id: seed.organization.id,
        membership_id: seed.memberships[0].id,
        action_type: "card.unlock".into(),
        request_hash: [9; 32],
        result: ScaResult::Waiting,
        created_at: t0,
        expires_at: t0.checked_add(jiff::SignedDuration::from_secs(expires_in)).unwrap(),
        consumed_at: None,
    };
    store.insert_sca_session(session(1, 900)).await.unwrap();
    assert_eq!(store.sca_session(&[1; 32]).await.unwrap().unwrap().result, ScaResult::Waiting);
    assert!(!store.consume_sca_session(&[1; 32], t0).await.unwrap(), "a waiting session is not usable");
    assert_eq!(store.decide_sca_session(&[1; 32], ScaResult::Allow).await.unwrap().unwrap().result, ScaResult::Allow);
    assert_eq!(
        store.decide_sca_session(&[1; 32], ScaResult::Deny).await.unwrap().unwrap().result,
        ScaResult::Allow,
        "decided once"
    );
    assert!(store.consume_sca_session(&[1; 32], t0).await.unwrap());
    assert!(!store.consume_sca_session(&[1; 32], t0).await.unwrap(), "used once");
    assert!(store.sca_session(&[1; 32]).await.unwrap().unwrap().consumed_at.is_some());

    store.insert_sca_session(session(2, 1)).await.unwrap();
    store.decide_sca_session(&[2; 32], ScaResult::Allow).await.unwrap();
    let after_expiry = t0.checked_add(jiff::SignedDuration::from_secs(2)).unwrap();
    assert!(!store.consume_sca_session(&[2; 32], after_expiry).await.unwrap(), "an expired session is not usable");
    assert_eq!(store.sca_session(&[3; 32]).await.unwrap(), None);
    assert_eq!(store.decide_sca_session(&[3; 32], ScaResult::Allow).await.unwrap(), None);
}

/// A data-view token opens once, before it expires on the organization's clock, with an
/// audit event; never again.
pub async fn data_view_tokens_open_once_before_they_expire(store: Arc<dyn Store>) {
    let seed = seeded(&store, "view").await;
    let card = &seed.cards[0].card;
    let t0 = now();
    let token = |hash: u8, expires_in: i64| DataViewToken {
        token_hash: [hash; 32],
        card_id: card.id,
        organization_id: seed.organization.id,
        membership_id: seed.memberships[0].id,
        expires_at: t0.checked_add(jiff::SignedDuration::from_secs(expires_in)).unwrap(),
    };
    let audit = || -> DataViewAudit {
        Box::new(|stored: &StoredCard, member: Uuid, at: Timestamp| AuditEvent {
            id: Uuid::new_v4(),
            card_id: stored.card.id,
            action: "data_view".into(),
            actor: Actor { kind: ActorKind::Membership, id: Some(member) },
            from_status: None,
            to_status: stored.card.status(at),
            changes: serde_json::json!({}),
            request_id: "test".into(),
            at,
        })
    };
    store.insert_data_view_token(token(1, 300)).await.unwrap();
    let (opened, secrets) = store.open_data_view(&[1; 32], t0, audit()).await.unwrap().expect("opens");
    assert_eq!(opened.card.id, card.id);
    assert_eq!(secrets.pan_ciphertext, seed.cards[0].secrets.pan_ciphertext);
    assert!(store.open_data_view(&[1; 32], t0, audit()).await.unwrap().is_none(), "once");
    let events = store.card_events(seed.organization.id, card.id).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.action == "data_view").count(), 1, "the view is audited once");

    store.insert_data_view_token(token(2, 300)).await.unwrap();
    let late = t0.checked_add(jiff::SignedDuration::from_secs(301)).unwrap();
    assert!(store.open_data_view(&[2; 32], late, audit()).await.unwrap().is_none(), "expired");
    assert!(store.open_data_view(&[3; 32], t0, audit()).await.unwrap().is_none(), "unknown");
}
