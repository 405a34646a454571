//! `TestApp`: the whole router in-process over a fresh store, driven with `oneshot`.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use cardinal_api::http::rate_limit::RateLimits;
use cardinal_api::secrets::{CardKey, CardVault};
use cardinal_api::webhooks::address::{AddressPolicy, HostResolver, SystemResolver};
use cardinal_api::{router, ApiConfig, AppState, Mode};
use cardinal_domain::Role;
use cardinal_store::Store;
use cardinal_store_sqlite::SqliteStore;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

pub const ADMIN: &str = "test-admin-token";

pub struct TestApp {
    pub state: AppState,
    /// Serves the control API: the app itself in sandbox mode; in production mode (which has
    /// none) a sandbox twin on the same store and key, so tests can set organizations up.
    pub control: AppState,
    pub database_path: Option<std::path::PathBuf>,
    /// The routers of `state` and `control`, built on first use and then shared, as a server
    /// builds its router once: building one per request cost 200 concurrent requests on one
    /// thread seconds before any reached the store, long enough for its liveness check to
    /// call a busy PostgreSQL silent.
    routers: [std::sync::OnceLock<axum::Router>; 2],
}

pub struct Response {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Response {
    pub fn card(&self) -> &Value {
        &self.body["card"]
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.text);
        self
    }

    /// Asserts the contract's error shape and returns the first error's code.
    #[track_caller]
    pub fn error_code(&self) -> &str {
        assert_error_shape(self);
        self.body["errors"][0]["code"].as_str().unwrap()
    }

    pub fn detail(&self) -> &str {
        self.body["errors"][0]["detail"].as_str().unwrap_or_default()
    }
}

/// `{"errors":[{code, detail, source?}], "trace_id"}` with `trace_id` = `X-Request-Id`.
#[track_caller]
pub fn assert_error_shape(r: &Response) {
    let errors = r.body["errors"].as_array().unwrap_or_else(|| panic!("no errors array in {}", r.text));
    assert!(!errors.is_empty());
    for e in errors {
        assert!(e["code"].is_string() && e["detail"].is_string(), "bad error item {e}");
    }
    let header = r.headers.get("x-request-id").expect("x-request-id header").to_str().unwrap();
    assert_eq!(r.body["trace_id"], header, "trace_id must equal X-Request-Id");
}

pub struct Builder {
    rate_limits: RateLimits,
    mode: Mode,
    staging_token: Option<String>,
    on_disk: bool,
    webhook_retry_delays: Option<Vec<jiff::SignedDuration>>,
    webhook_allow_network: Vec<cardinal_api::net::Cidr>,
    resolver: Option<Arc<dyn HostResolver>>,
    webhook_health: Option<cardinal_store::HealthRules>,
    operator_token: Option<&'static str>,
}

impl Builder {
    pub fn staging_token(mut self, token: &str) -> Builder {
        self.staging_token = Some(token.into());
        self
    }

    pub fn rate_limits(mut self, limits: RateLimits) -> Builder {
        self.rate_limits = limits;
        self
    }

    pub fn production(mut self) -> Builder {
        self.mode = Mode::Production;
        self
    }

    /// No operator token configured (production then serves no operator API).
    pub fn without_operator_token(mut self) -> Builder {
        self.operator_token = None;
        self
    }

    /// Short retry delays, for tests that watch a delivery's later attempts.
    pub fn webhook_retry_delays(mut self, delays: Vec<jiff::SignedDuration>) -> Builder {
        self.webhook_retry_delays = Some(delays);
        self
    }

    /// `--webhook-allow-network`.
    pub fn webhook_allow_network(mut self, blocks: &str) -> Builder {
        self.webhook_allow_network = cardinal_api::net::parse_blocks(blocks).unwrap();
        self
    }

    /// When failing subscriptions are slowed and disabled.
    pub fn webhook_health(mut self, rules: cardinal_store::HealthRules) -> Builder {
        self.webhook_health = Some(rules);
        self
    }

    /// Resolves callback hosts with `resolver` instead of the system's.
    pub fn resolver(mut self, resolver: Arc<dyn HostResolver>) -> Builder {
        self.resolver = Some(resolver);
        self
    }

    pub fn on_disk(mut self) -> Builder {
        self.on_disk = true;
        self
    }

    /// The store: SQLite in memory by default; PostgreSQL (a schema of its own) when
    /// `CARDINAL_TEST_API_BACKEND=postgres` and `CARDINAL_TEST_POSTGRES_URL` are set; a SQLite
    /// file for tests that inspect the database file.
    pub async fn build(self) -> TestApp {
        let mut path = None;
        let store: Arc<dyn Store> = match postgres_url() {
            Some(url) if !self.on_disk => {
                let schema = format!("api_{}", uuid::Uuid::new_v4().simple());
                Arc::new(cardinal_store_postgres::PostgresStore::open_in_schema(&url, &schema).await.unwrap())
            }
            _ if self.on_disk => {
                let dir = std::env::temp_dir().join(format!("cardinal-api-{}", uuid::Uuid::new_v4()));
                std::fs::create_dir_all(&dir).unwrap();
                let file = dir.join("test.db");
                let store = SqliteStore::open(&format!("sqlite://{}", file.display())).unwrap();
                path = Some(file);
                Arc::new(store)
            }
            _ => Arc::new(SqliteStore::open("sqlite::memory:").unwrap()),
        };
        let mut config =
            ApiConfig::new(self.mode, "http://cardinal.test", self.staging_token.as_deref(), self.operator_token);
        config.rate_limits = self.rate_limits;
        if let Some(delays) = self.webhook_retry_delays {
            config.webhooks.retry_delays = delays;
        }
        config.webhooks.addresses = AddressPolicy::new(self.mode, self.webhook_allow_network);
        config.webhooks.health = self.webhook_health.unwrap_or_default();
        let key = CardKey::generate();
        let resolver = self.resolver.unwrap_or_else(|| Arc::new(SystemResolver));
        let control = match self.mode {
            Mode::Sandbox => None,
            Mode::Production => {
                let mut config = ApiConfig { mode: Mode::Sandbox, ..config.clone() };
                config.webhooks.addresses = AddressPolicy::new(Mode::Sandbox, Vec::new());
                Some(AppState::with_resolver(store.clone(), config, CardVault::new(&key), resolver.clone()))
            }
        };
        let state = AppState::with_resolver(store, config, CardVault::new(&key), resolver);
        TestApp {
            control: control.unwrap_or_else(|| state.clone()),
            state,
            database_path: path,
            routers: Default::default(),
        }
    }
}

fn postgres_url() -> Option<String> {
    let wanted = std::env::var("CARDINAL_TEST_API_BACKEND").is_ok_and(|b| b == "postgres");
    wanted.then(|| {
        std::env::var("CARDINAL_TEST_POSTGRES_URL").expect("CARDINAL_TEST_POSTGRES_URL for the postgres backend")
    })
}

/// An organization created through the control API, with its secrets.
pub struct Org {
    pub body: Value,
}

impl Org {
    pub fn id(&self) -> &str {
        self.body["organization"]["id"].as_str().unwrap()
    }

    pub fn member(&self, role: Role) -> &Value {
        self.body["memberships"].as_array().unwrap().iter().find(|m| m["role"] == role.as_str()).unwrap()
    }

    pub fn token(&self, role: Role) -> String {
        format!("Bearer {}", self.member(role)["access_token"].as_str().unwrap())
    }

    pub fn member_id(&self, role: Role) -> String {
        self.member(role)["id"].as_str().unwrap().to_owned()
    }

    pub fn api_key(&self) -> String {
        let key = &self.body["api_key"];
        format!("{}:{}", key["login"].as_str().unwrap(), key["secret_key"].as_str().unwrap())
    }

    /// The id of `role`'s card of `level` (`virtual` or `standard`).
    pub fn card(&self, role: Role, level: &str) -> String {
        let holder = self.member_id(role);
        self.body["cards"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["holder_id"] == holder.as_str() && c["card_level"] == level)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub fn card_count(&self) -> usize {
        self.body["cards"].as_array().unwrap().len()
    }
}

impl TestApp {
    pub fn builder() -> Builder {
        // Tests send many requests from one address: no limits unless a test asks for them.
        Builder {
            rate_limits: RateLimits::off(),
            mode: Mode::Sandbox,
            staging_token: None,
            on_disk: false,
            webhook_retry_delays: None,
            webhook_allow_network: Vec::new(),
            resolver: None,
            webhook_health: None,
            operator_token: Some(ADMIN),
        }
    }

    pub async fn new() -> TestApp {
        TestApp::builder().build().await
    }

    /// A new organization with one member per role and two live cards each, with SCA
    /// disabled so tests of other rules need no approval step (SCA tests ask for it).
    pub async fn org(&self) -> Org {
        self.org_with(json!({"sca_mode": "disabled"})).await
    }

    pub async fn org_with(&self, body: Value) -> Org {
        let r = self.admin(Method::POST, "/_sandbox/organizations", Some(body)).await;
        r.assert_status(201);
        Org { body: r.body }
    }

    pub async fn get(&self, path: &str, auth: &str) -> Response {
        self.send(Method::GET, path, Some(auth), None).await
    }

    pub async fn put(&self, path: &str, auth: &str) -> Response {
        self.send(Method::PUT, path, Some(auth), None).await
    }

    pub async fn post(&self, path: &str, auth: &str, body: Value) -> Response {
        self.send(Method::POST, path, Some(auth), Some(body)).await
    }

    pub async fn patch(&self, path: &str, auth: &str, body: Value) -> Response {
        self.send(Method::PATCH, path, Some(auth), Some(body)).await
    }

    /// Sends a request with extra headers.
    pub async fn send_with(
        &self,
        method: Method,
        path: &str,
        auth: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut request = Request::builder().method(method).uri(path).header("authorization", auth);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = body.map(|b| Body::from(b.to_string())).unwrap_or_else(Body::empty);
        self.raw(request.body(body).unwrap()).await
    }

    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        self.send_to(Served::Control, method, path, Some(&format!("Bearer {ADMIN}")), body).await
    }

    pub async fn send(&self, method: Method, path: &str, auth: Option<&str>, body: Option<Value>) -> Response {
        self.send_to(Served::App, method, path, auth, body).await
    }

    async fn send_to(
        &self,
        served: Served,
        method: Method,
        path: &str,
        auth: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let body = match body {
            Some(json) => {
                request = request.header("content-type", "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        serve(self.router(served), request.body(body).unwrap()).await
    }

    pub async fn raw(&self, request: Request<Body>) -> Response {
        serve(self.router(Served::App), request).await
    }

    fn router(&self, served: Served) -> axum::Router {
        let state = match served {
            Served::App => &self.state,
            Served::Control => &self.control,
        };
        self.routers[served as usize].get_or_init(|| router(state.clone())).clone()
    }
}

/// Which of a test app's two states answers a request.
#[derive(Clone, Copy)]
enum Served {
    App = 0,
    Control = 1,
}

async fn serve(router: axum::Router, request: Request<Body>) -> Response {
    {
        let response = router.oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Response { status, headers, body, text }
    }
}

/// Every field of spec §2.1 is present with its JSON type (the table `wire::CARD_FIELDS` is
/// checked against the serializer in a unit test; this checks real answers).
#[track_caller]
pub fn assert_full_card(card: &Value) {
    use cardinal_api::wire::CARD_FIELDS;
    let object = card.as_object().unwrap_or_else(|| panic!("card is not an object: {card}"));
    for (field, kind, nullable) in CARD_FIELDS {
        let value = object.get(*field).unwrap_or_else(|| panic!("card lacks {field}: {card}"));
        if *nullable && value.is_null() {
            continue;
        }
        let ok = kind.admits(value);
        assert!(ok, "card field {field} should be {kind:?}, is {value}");
    }
    assert_eq!(object.len(), CARD_FIELDS.len(), "no unexpected fields");
    let text = |name: &str| card[name].as_str().unwrap_or_default().to_owned();
    let status = cardinal_domain::Status::parse(&text("status"));
    assert!(status.is_some(), "status {} is not one of Qonto's", card["status"]);
    assert!(cardinal_domain::CardLevel::parse(&text("card_level")).is_some(), "card_level {}", card["card_level"]);
    assert_eq!(card["card_type"], "debit");
    let mask = text("mask_pan");
    assert!(mask.len() == 16 && mask[6..12] == *"******", "mask_pan {mask}");
    assert!(text("last_digits").len() == 4 && mask.ends_with(&text("last_digits")));
    let month: u32 = text("exp_month").parse().unwrap_or(0);
    assert!((1..=12).contains(&month) && !text("exp_month").starts_with('0'), "exp_month {}", card["exp_month"]);
    assert_eq!(text("exp_year").len(), 4);
    let appearance = &card["appearance"];
    assert!(appearance["theme"] == "dark" || appearance["theme"] == "light");
    assert!(appearance["gradient_hex_color"].as_str().is_some_and(|c| c.len() == 7 && c.starts_with('#')));
    if let Some(print) = card["type_of_print"].as_str() {
        assert!(print == "print" || print == "embossed");
    }
    if let Some(day) = card["discard_on"].as_str() {
        assert!(day.parse::<jiff::civil::Date>().is_ok(), "discard_on {day}");
    }
    let assets = &card["appearance"]["assets"];
    for a in ["front_large", "front_small", "front_small_wallet"] {
        assert!(assets[a].is_string(), "appearance.assets.{a}");
    }
}
