//! Storage stories every backend must pass. A backend's test file calls
//! [`conformance_tests!`] with an expression producing a fresh, empty store; each story then
//! runs on its own store.

use crate::{
    Actor, ActorKind, AttemptOutcome, AuditEvent, BankAccount, CardChange, CardQuery, CardSecrets, CardSortField,
    CardWrite, ClaimedDelivery, ClockChange, CredentialKind, DataViewAudit, DataViewToken, DeliveryAttempt,
    DeliveryQuery, DeliveryStatus, FairShare, HealthRules, IdempotencyBegin, IdempotencyRequest, Membership, NewCard,
    NewCredential, Organization, OrganizationParts, OrganizationReset, OrganizationSeed, OutboxEvent, PageRequest,
    PaymentChange, ScaMode, ScaRedemption, ScaResult, ScaSession, Store, StoreError, StoredCard, SubscriptionHealth,
    Team, TimeRange, Transaction, TransactionQuery, TransactionSortField, TransactionStatus, Visibility,
    WebhookSubscription,
};
use cardinal_domain::card::{Outcome, Status};
use cardinal_domain::issuing::Blueprint;
use cardinal_domain::{Card, CardLevel, Cents, Role};
use jiff::{tz::TimeZone, Timestamp};
use std::sync::Arc;
use uuid::Uuid;

mod cards;
mod oauth;
mod operator;
mod organizations;
mod payments;
mod receipts;
mod requests;
mod secrets;
mod webhooks;

pub use cards::*;
pub use oauth::*;
pub use operator::*;
pub use organizations::*;
pub use payments::*;
pub use receipts::*;
pub use requests::*;
pub use secrets::*;
pub use webhooks::*;

/// Generates one `#[tokio::test]` per story. `$make` yields `Arc<dyn Store>` for a fresh
/// database; with `optional:`, an `Option` of one (`None` skips, loudly). The stories are
/// listed once, here.
#[macro_export]
macro_rules! conformance_tests {
    (optional: $make:expr) => {
        $crate::conformance_tests!(@each_optional $make;
            organization_round_trip, duplicate_slug_writes_nothing, credentials_are_found_by_hash,
            card_change_and_event_commit_together, refused_change_writes_nothing, unchanged_card_writes_no_event,
            concurrent_changes_lose_no_write, lists_show_each_card_as_last_committed, list_visibility_and_filters, list_sorting_and_pagination,
            expiry_shows_in_status_filters, stored_expiries_are_found_once, delete_organization_removes_everything, other_organizations_are_invisible,
            payment_writes_card_account_and_transaction_together, refused_payment_writes_nothing,
            concurrent_payments_never_overspend, transaction_changes_commit_together, transactions_are_listed_by_account,
            a_duplicate_card_number_is_a_conflict, reads_racing_writes_end_on_the_last_commit,
            concurrent_clock_advances_all_count, sealed_secrets_are_walked_and_replaced,
            idempotency_keys_claim_replay_and_expire, sca_sessions_are_decided_once_and_used_once,
            card_changes_spend_their_sca_session_with_the_change,
            card_changes_write_their_deliveries_with_them, delivery_leases_are_exclusive_and_ordered,
            outbox_events_outlive_nothing_and_skip_nothing, claims_share_the_room_out_fairly, failing_subscriptions_are_slowed_then_disabled,
            webhook_secrets_are_walked_and_replaced,
            data_view_tokens_open_once_before_they_expire,
            operators_list_extend_and_reset_organizations,
            oauth_codes_redeem_once_and_grants_revoke_their_tokens, oauth_consents_are_withdrawn_and_clients_deleted,
            card_requests_are_settled_once_with_their_card,
            receipts_commit_with_their_transaction_and_go_with_it);
    };
    (@each_optional $make:expr; $($story:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $story() {
                let store: Option<std::sync::Arc<dyn $crate::Store>> = $make;
                match store {
                    Some(store) => $crate::conformance::$story(store).await,
                    // CI provides every backend: a missing one there is a failure, not a skip.
                    None if std::env::var("CI").as_deref() == Ok("true") => {
                        panic!("CI runs every backend, but this one has no database configured")
                    }
                    None => eprintln!("skipped: no database configured for this backend"),
                }
            }
        )+
    };
    // A backend that is always there: the same stories, never skipped.
    ($make:expr) => {
        $crate::conformance_tests!(optional: Some($make));
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
            grant_id: None,
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
        snapshot: None,
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
        Ok(CardWrite::of(event(&stored.card, "nickname")))
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
        Ok(match stored.card.apply(cardinal_domain::Transition::Lock, now())? {
            Outcome::Changed => CardWrite::of(event(&stored.card, "lock")),
            Outcome::Unchanged => CardWrite::NOTHING,
        })
    })
}
