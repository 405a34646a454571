//! The client against a running Cardinal, every route it covers: cards (each one), the
//! organization, bank accounts, memberships, transactions, SCA sessions, webhook
//! subscriptions, and Cardinal's control API; and its failures as typed errors.

mod support;

use futures_util::TryStreamExt;
use qonto_client::wire::requests::{
    AuthorizationRequest, CardFields, LimitFields, Options, Restrictions, SubscriptionRequest, SubscriptionUpdate,
};
use qonto_client::wire::Limit;
use qonto_client::{Auth, Client, Error, Query, Sca};
use serde_json::json;
use support::{member, token, Cardinal};

fn virtual_card(org: &qonto_client::wire::operator::CreatedOrganization, holder: uuid::Uuid) -> CardFields {
    serde_json::from_value(json!({
        "card_level": "virtual",
        "holder_id": holder,
        "bank_account_id": org.bank_account.as_ref().unwrap().id,
        "payment_monthly_limit": 500,
    }))
    .unwrap()
}

#[tokio::test]
async fn every_card_route() {
    let cardinal = Cardinal::start().await;
    let org = cardinal.organization("required").await;
    let owner = cardinal.client(&token(&org, "owner"));
    let cards = owner.cards();

    let page = cards.list(&Query::new().per_page(2)).await.unwrap();
    assert_eq!(page.items.len(), 2);
    let all: Vec<_> = cards.stream(Query::new().per_page(3)).try_collect().await.unwrap();
    assert_eq!(all.len() as u64, page.meta.total_count, "the stream reads every page");
    let live = cards.list(&Query::new().with("statuses[]", "live").with("card_levels[]", "virtual")).await.unwrap();
    assert!(live.items.iter().all(|c| c.status == "live" && c.card_level == "virtual"));
    let id = live.items[0].id;

    assert_eq!(cards.get(id).await.unwrap().id, id);
    assert!(!cards.appearances().await.unwrap().card_type_appearances.is_empty());
    assert!(cards.data_view(id).await.unwrap().iframe_url.contains("/card_data/"));
    assert_eq!(cards.lock(id).await.unwrap().status, "paused");

    // Unlock waits on SCA: approve as the phone would, then the same request again.
    let Sca::Pending(pending) = cards.unlock(id).await.unwrap() else { panic!("unlock needs SCA") };
    assert_eq!(pending.action_type.as_deref(), Some("card.unlock"));
    assert_eq!(owner.sca_session(&pending.token).await.unwrap().result, "waiting");
    owner.approve_in_sandbox(&pending).await.unwrap();
    owner
        .wait_for_approval(&pending, std::time::Duration::from_millis(50), std::time::Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(owner.resume(pending).await.unwrap().done().unwrap().status, "live");

    let renamed = cards.update_nickname(id, "Travel").await.unwrap();
    assert_eq!(renamed.nickname, "Travel");
    let options = Options { atm_option: false, nfc_option: true, online_option: true, foreign_option: false };
    assert!(!cards.update_options(id, options).await.unwrap().foreign_option);
    let weekdays = Restrictions { active_days: Some(vec![1, 2, 3, 4, 5]), categories: None };
    assert_eq!(cards.update_restrictions(id, weekdays).await.unwrap().active_days, vec![1, 2, 3, 4, 5]);
    let limits =
        LimitFields { payment_monthly_limit: Some(Limit(cardinal_domain::Cents::euros(300))), ..Default::default() };
    let limited = match cards.update_limits(id, limits).await.unwrap() {
        Sca::Done(card) => card,
        Sca::Pending(pending) => {
            owner.approve_in_sandbox(&pending).await.unwrap();
            owner.resume(pending).await.unwrap().done().unwrap()
        }
    };
    assert_eq!(limited.payment_monthly_limit.0, cardinal_domain::Cents::euros(300));

    let holder = member(&org, "employee");
    let made = match cards.create(virtual_card(&org, holder)).await.unwrap() {
        Sca::Done(card) => card,
        Sca::Pending(pending) => {
            owner.approve_in_sandbox(&pending).await.unwrap();
            owner.resume(pending).await.unwrap().done().unwrap()
        }
    };
    assert_eq!((made.holder_id, made.card_level.as_ref()), (holder, "virtual"));
    let bulk = match cards.bulk_create(vec![virtual_card(&org, holder), virtual_card(&org, holder)]).await.unwrap() {
        Sca::Done(body) => body,
        Sca::Pending(pending) => {
            owner.approve_in_sandbox(&pending).await.unwrap();
            owner.resume(pending).await.unwrap().done().unwrap()
        }
    };
    assert_eq!(bulk.cards.len(), 2);
    assert_eq!(cards.discard(made.id).await.unwrap().status, "discarded");
    let physical =
        cards.list(&Query::new().with("card_levels[]", "standard").with("statuses[]", "live")).await.unwrap();
    assert_eq!(cards.report_lost(physical.items[0].id).await.unwrap().status, "lost");
    assert_eq!(cards.report_stolen(physical.items[1].id).await.unwrap().status, "stolen");
}

#[tokio::test]
async fn the_organization_and_its_transactions() {
    let cardinal = Cardinal::start().await;
    let org = cardinal.organization("disabled").await;
    let client = cardinal.client(&token(&org, "owner"));
    let organization = client.organization().get().await.unwrap();
    assert_eq!(organization.id, org.organization.id);
    let accounts = client.organization().bank_accounts(&Query::new()).await.unwrap();
    let account = client.organization().bank_account(accounts.items[0].id).await.unwrap();
    assert_eq!(account.id, accounts.items[0].id);
    let members = client.organization().memberships(&Query::new()).await.unwrap();
    assert_eq!(members.meta.total_count, org.memberships.len() as u64);
    assert_eq!(client.organization().membership().await.unwrap().id, member(&org, "owner"));

    let card = org.cards.iter().find(|c| c.status == "live").unwrap().id;
    let payment: AuthorizationRequest = serde_json::from_value(json!({
        "amount": 12.5, "channel": "online",
        "merchant": {"name": "Café", "category": "restaurant_and_bar", "country": "FR"}
    }))
    .unwrap();
    let approved = cardinal.control().authorize(card, &payment).await.unwrap();
    assert_eq!((approved.decision.as_ref(), approved.decline_reason.as_deref()), ("approved", None));
    let settled = cardinal.control().settle(approved.transaction_id).await.unwrap();
    assert_eq!(settled.status, "completed");
    let query = Query::new().with("bank_account_id", account.id);
    let page = client.organization().transactions(&query).await.unwrap();
    assert_eq!(page.items[0].id, approved.transaction_id);
    let one = client.organization().transaction(approved.transaction_id).await.unwrap();
    assert_eq!(one.amount.0, cardinal_domain::Cents(1250));
    let streamed: Vec<_> = client.organization().transactions_stream(query).try_collect().await.unwrap();
    assert_eq!(streamed.len(), 1);

    // The receipt, its label, and both inline; then removed.
    let pdf = b"%PDF-1.4\n%%EOF\n".to_vec();
    client.receipts().attach(approved.transaction_id, "cafe.pdf", pdf.clone()).await.unwrap();
    let attached = client.receipts().of_transaction(approved.transaction_id, &Query::new()).await.unwrap();
    assert_eq!((attached.items[0].file_name.as_str(), attached.items[0].file_size.as_str()), ("cafe.pdf", "15"));
    let shown = client.receipts().attachment(attached.items[0].id).await.unwrap();
    assert!(shown.url.starts_with(client.base_url()), "{}", shown.url);
    let list = cardinal.control().create_label(org.organization.id, "Meals", None).await.unwrap();
    let labelled = cardinal.control().label_transaction(approved.transaction_id, vec![list.id]).await.unwrap();
    assert_eq!(labelled.label_ids, vec![list.id.to_string()]);
    assert_eq!(client.receipts().labels(&Query::new()).await.unwrap().items[0].name, "Meals");
    assert_eq!(client.receipts().label(list.id).await.unwrap().id, list.id);
    let inline =
        Query::new().with("bank_account_id", account.id).with("includes[]", "attachments").with("includes[]", "labels");
    let with = client.organization().transactions(&inline).await.unwrap();
    assert_eq!(with.items[0].attachments.as_ref().map(Vec::len), Some(1));
    assert_eq!(with.items[0].labels.as_ref().map(|l| l[0].name.clone()), Some("Meals".into()));
    let refused = client.receipts().attach(approved.transaction_id, "cafe.png", pdf.clone()).await.unwrap_err();
    assert!(matches!(refused, qonto_client::Error::Api { status: 422, .. }), "{refused:?}");
    let alone = client.receipts().upload("invoice.pdf", pdf).await.unwrap();
    assert_eq!(client.receipts().attachment(alone).await.unwrap().id, alone);
    client.receipts().remove(approved.transaction_id, shown.id).await.unwrap();
    client.receipts().remove_all(approved.transaction_id).await.unwrap();
    assert_eq!(
        client.receipts().of_transaction(approved.transaction_id, &Query::new()).await.unwrap().meta.total_count,
        0
    );
}

#[tokio::test]
async fn webhook_subscriptions_and_their_flat_errors() {
    let cardinal = Cardinal::start().await;
    let org = cardinal.organization("disabled").await;
    let client = cardinal.client(&token(&org, "owner"));
    let hooks = client.webhook_subscriptions();
    let made = hooks
        .create(SubscriptionRequest {
            callback_url: "http://127.0.0.1:9/hook".into(),
            types: vec!["v1/cards".into()],
            secret: None,
            description: Some("tests".into()),
        })
        .await
        .unwrap();
    assert!(made.secret.starts_with("whsec_"));
    let id = made.subscription.id;
    assert_eq!(hooks.list(&Query::new()).await.unwrap().items.len(), 1);
    assert_eq!(hooks.get(id).await.unwrap().callback_url, "http://127.0.0.1:9/hook");
    let update =
        SubscriptionUpdate { callback_url: None, types: Some(vec!["v1/transactions".into()]), description: None };
    assert_eq!(hooks.update(id, update).await.unwrap().types, vec!["v1/transactions".to_owned()]);
    hooks.delete(id).await.unwrap();
    let gone = hooks.get(id).await.unwrap_err();
    assert_eq!((gone.status(), gone.code()), (Some(404), Some("not_found")), "{gone}");
    let refused = hooks
        .create(SubscriptionRequest { callback_url: "ftp://x".into(), types: vec![], secret: None, description: None })
        .await
        .unwrap_err();
    assert_eq!(refused.status(), Some(422), "{refused}");
}

#[tokio::test]
async fn failures_are_typed_with_qontos_codes() {
    let cardinal = Cardinal::start().await;
    let org = cardinal.organization("required").await;
    let wrong = cardinal.client("not-a-token").cards().list(&Query::new()).await.unwrap_err();
    assert_eq!(wrong.status(), Some(401), "{wrong}");
    let owner = cardinal.client(&token(&org, "owner"));
    let unknown = owner.cards().get(uuid::Uuid::new_v4()).await.unwrap_err();
    assert_eq!((unknown.code(), unknown.status()), (Some("not_found"), Some(404)));
    let Error::Api { request_id, .. } = &unknown else { panic!("{unknown:?}") };
    assert!(request_id.is_some(), "the request id finds the request in Cardinal's log");
    // An employee may not unlock: refused by role, before any SCA session.
    let employee = cardinal.client(&token(&org, "employee"));
    let card = org.cards.iter().find(|c| c.holder_id == member(&org, "employee")).unwrap().id;
    employee.cards().lock(card).await.unwrap();
    let refused = employee.cards().unlock(card).await.unwrap_err();
    assert_eq!(refused.status(), Some(403), "{refused}");
    // A denied session.
    let Sca::Pending(pending) = owner.cards().unlock(card).await.unwrap() else { panic!("SCA") };
    owner.deny_in_sandbox(&pending).await.unwrap();
    assert!(matches!(owner.resume(pending).await, Err(Error::ScaDenied)));
    // The API key reads but does not write.
    let (login, secret) = (org.api_key.login.clone(), org.api_key.secret_key.clone());
    let key = Client::builder().base_url(&cardinal.base_url).auth(Auth::ApiKey { login, secret }).build().unwrap();
    assert!(!key.cards().list(&Query::new()).await.unwrap().items.is_empty());
    assert_eq!(key.cards().lock(card).await.unwrap_err().status(), Some(403));
}

#[tokio::test]
async fn a_429_is_retried_after_its_retry_after() {
    use cardinal_api::http::rate_limit::{RateLimits, Rule};
    let limits =
        RateLimits { requests: vec![Rule::parse("4/1s").unwrap()], unauthorized: None, trusted_proxies: vec![] };
    let cardinal = Cardinal::start_with(limits).await;
    let org = cardinal.organization("disabled").await;
    let client = cardinal.client(&token(&org, "owner"));
    for _ in 0..8 {
        client.organization().get().await.unwrap();
    }
    let impatient = Client::builder()
        .base_url(&cardinal.base_url)
        .auth(Auth::Bearer(token(&org, "owner")))
        .rate_limit_retries(0)
        .build()
        .unwrap();
    let mut limited = None;
    for _ in 0..8 {
        let r = impatient.organization().get().await;
        if let Err(e) = r {
            limited = Some(e);
            break;
        }
    }
    assert!(matches!(limited, Some(Error::RateLimited { retry_after: Some(1) })), "{limited:?}");
}

#[tokio::test]
async fn cardinals_control_api() {
    let cardinal = Cardinal::start().await;
    let org = cardinal.organization("disabled").await;
    let control = cardinal.control();
    assert!(control
        .organizations(&Query::new())
        .await
        .unwrap()
        .items
        .iter()
        .any(|o| o.settings.id == org.organization.id));
    let made = control
        .create_token(&qonto_client::wire::requests::TokenRequest {
            membership_id: member(&org, "employee"),
            scopes: Some(vec!["card.read".into()]),
            expires_in: None,
        })
        .await
        .unwrap();
    let reader = cardinal.client(&made.access_token);
    assert!(reader.cards().list(&Query::new()).await.is_ok());
    let moved = control.advance_clock(org.organization.id, 86_400).await.unwrap();
    assert!(moved.now.0 > org.cards[0].created_at.0);
    let card = org.cards[0].id;
    assert!(!control.card_events(card).await.unwrap().events.is_empty());
    let logged = control.requests(org.organization.id, &Query::new()).await.unwrap();
    assert!(logged.items.iter().any(|r| r.path == "/v2/cards"), "the request log has the reader's list");
}
