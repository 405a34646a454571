//! A Cardinal server in this process, on a free port, for the client to talk to: SQLite in
//! memory, or PostgreSQL when `CARDINAL_TEST_API_BACKEND=postgres` (a schema of its own in
//! `CARDINAL_TEST_POSTGRES_URL`), as the API suite chooses.
#![allow(dead_code)]

use cardinal_api::http::rate_limit::RateLimits;
use cardinal_api::secrets::{CardKey, CardVault};
use cardinal_api::{ApiConfig, AppState, Mode};
use cardinal_store::Store;
use qonto_client::cardinal::Control;
use qonto_client::wire::operator::CreatedOrganization;
use qonto_client::wire::requests::OrganizationRequest;
use qonto_client::{Auth, Client};
use std::sync::Arc;

pub const OPERATOR: &str = "client-test-operator-token";

pub struct Cardinal {
    pub base_url: String,
}

impl Cardinal {
    pub async fn start() -> Cardinal {
        Cardinal::start_with(RateLimits::default()).await
    }

    pub async fn start_with(rate_limits: RateLimits) -> Cardinal {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let mut config = ApiConfig::new(Mode::Sandbox, &base_url, None, Some(OPERATOR));
        config.rate_limits = rate_limits;
        let state = AppState::new(store().await, config, CardVault::new(&CardKey::generate()));
        let router = cardinal_api::router(state);
        tokio::spawn(async move {
            let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
            axum::serve(listener, service).await.unwrap()
        });
        Cardinal { base_url }
    }

    pub fn client(&self, token: &str) -> Client {
        Client::builder().base_url(&self.base_url).auth(Auth::Bearer(token.to_owned())).build().unwrap()
    }

    pub fn control(&self) -> Control {
        Control::new(self.client("unused"), OPERATOR)
    }

    /// A new organization (`sca_mode` as given), with its members' tokens.
    pub async fn organization(&self, sca_mode: &str) -> CreatedOrganization {
        let request = OrganizationRequest { sca_mode: Some(sca_mode.into()), ..Default::default() };
        self.control().create_organization(&request).await.unwrap()
    }
}

pub fn token(org: &CreatedOrganization, role: &str) -> String {
    org.memberships.iter().find(|m| m.role == role).unwrap().access_token.clone()
}

pub fn member(org: &CreatedOrganization, role: &str) -> uuid::Uuid {
    org.memberships.iter().find(|m| m.role == role).unwrap().id
}

async fn store() -> Arc<dyn Store> {
    let postgres = std::env::var("CARDINAL_TEST_API_BACKEND").is_ok_and(|b| b == "postgres");
    if postgres {
        let url =
            std::env::var("CARDINAL_TEST_POSTGRES_URL").expect("CARDINAL_TEST_POSTGRES_URL for the postgres backend");
        let schema = format!("client_{}", uuid::Uuid::new_v4().simple());
        return Arc::new(cardinal_store_postgres::PostgresStore::open_in_schema(&url, &schema).await.unwrap());
    }
    Arc::new(cardinal_store_sqlite::SqliteStore::open("sqlite::memory:").unwrap())
}
