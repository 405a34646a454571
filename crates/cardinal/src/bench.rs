//! `cardinal bench …`: what `bench/run` needs — a baseline server and a fast offline seeder.

use crate::config::{BaselineArgs, SeedArgs};
use cardinal_api::issuing::issue;
use cardinal_api::sandbox::seed::{self, OrganizationPlan};
use cardinal_api::secrets::{CardKey, CardVault};
use cardinal_domain::{CardLevel, Cents};
use cardinal_store::{NewCard, ScaMode};
use serde_json::json;
use std::time::Instant;

/// The largest constant `/bytes/{n}` answers.
const MAX_CONSTANT: usize = 1 << 20;

/// The machine's practical ceiling: the same tokio/hyper/axum stack, answering a constant —
/// `/` a 15-byte one, `/bytes/{n}` one of `n` bytes (at most 1 MiB), so that the cost of
/// carrying an answer of a scenario's size is measured apart from the work of making it.
pub async fn baseline(args: BaselineArgs) -> Result<(), String> {
    let filler = axum::body::Bytes::from(vec![b'x'; MAX_CONSTANT]);
    let sized = move |axum::extract::Path(n): axum::extract::Path<usize>| {
        let body = filler.slice(..n.min(MAX_CONSTANT));
        async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], body) }
    };
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { r#"{"status":"ok"}"# }))
        .route("/bytes/{n}", axum::routing::get(sized))
        // A webhook receiver that takes everything: what delivering costs Cardinal, not it.
        .route("/hook", axum::routing::post(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(&args.bind).await.map_err(|e| e.to_string())?;
    println!("baseline listening on http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    axum::serve(listener, app).await.map_err(|e| e.to_string())
}

/// Creates an organization (SCA disabled) with `cards` virtual cards spread over its members,
/// straight through the store, and prints its credentials and some card ids as JSON.
pub async fn seed_organization(args: SeedArgs) -> Result<(), String> {
    let started = Instant::now();
    let store = crate::database::open_store(&args.database, crate::database::COMMAND_TIMEOUT).await?;
    let key = CardKey::parse(&args.card_key)?;
    crate::database::ensure_key_matches(store.as_ref(), &key, &args.database).await?;
    let vault = CardVault::new(&key);
    let plan = OrganizationPlan {
        sca_mode: ScaMode::Disabled,
        balance: Cents::euros(1_000_000_000),
        cards: false,
        ..OrganizationPlan::default()
    };
    let now = jiff::Timestamp::now();
    let created = seed::build(plan, &vault, now);
    let organization = created.seed.organization.clone();
    let members = created.seed.memberships.clone();
    let account = created.seed.bank_accounts[0].id;
    store.create_organization(created.seed).await.map_err(|e| e.to_string())?;
    let tz = organization.time_zone();
    let mut sample = Vec::new();
    let mut fingerprints = std::collections::HashSet::new();
    let mut remaining = args.cards;
    while remaining > 0 {
        let batch = remaining.min(5_000);
        let cards: Vec<NewCard> = (0..batch)
            .map(|i| {
                let holder = &members[i % members.len()];
                let monthly = Cents::euros(20_000);
                let (card, secrets) =
                    issue::card(&vault, CardLevel::Virtual, holder, account, holder.id, monthly, Cents::ZERO, now, &tz);
                let mut new = NewCard { card, secrets };
                // Random PANs collide among a million cards (birthday bound): draw again.
                while !fingerprints.insert(new.secrets.pan_fingerprint) {
                    issue::reissue_pan(&vault, &mut new);
                }
                new
            })
            .collect();
        if sample.len() < 1_000 {
            sample.extend(cards.iter().take(1_000 - sample.len()).map(|c| c.card.id.to_string()));
        }
        store.insert_cards(cards, vec![], vec![]).await.map_err(|e| e.to_string())?;
        remaining -= batch;
    }
    let owner = members.iter().position(|m| m.role == cardinal_domain::Role::Owner).unwrap_or(0);
    let summary = json!({
        "organization_id": organization.id,
        "owner_access_token": created.access_tokens[owner],
        "cards": args.cards,
        "card_ids": sample,
        "seconds": started.elapsed().as_secs_f64(),
    });
    println!("{summary}");
    Ok(())
}
