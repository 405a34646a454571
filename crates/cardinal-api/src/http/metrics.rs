//! `GET /metrics` (operator token): what the process counts, in Prometheus's text format,
//! encoded by `prometheus-client`. Every figure is recorded where it happens with relaxed atomic
//! additions (see [`cardinal_store::telemetry`]); a scrape reads them, and asks the store for
//! its gauges (waiting SCA sessions, the webhook queue, the PostgreSQL pool).
//!
//! - `cardinal_http_requests_total{route, method, status}` and
//!   `cardinal_http_request_duration_seconds{route, method}`: each route of the table by its
//!   template, recorded by a layer on the route (`route="unmatched"` for paths no route serves);
//! - `cardinal_rate_limited_total{reason}`: `requests` (over the request budget) or
//!   `unauthorized` (too many 401s from one address);
//! - `cardinal_commit_operations` and `cardinal_commit_duration_seconds`: each database commit
//!   (SQLite's group commits carry many operations; PostgreSQL's one);
//! - `cardinal_postgres_pool_connections{state}`, `cardinal_postgres_pool_waiting`,
//!   `cardinal_postgres_pool_waits_total`, `cardinal_postgres_read_only_total`,
//!   `cardinal_postgres_replica_fallbacks_total`;
//! - `cardinal_sca_sessions_pending`, `cardinal_webhook_deliveries_pending`,
//!   `cardinal_webhook_attempts_total{outcome}`, `cardinal_webhook_attempt_duration_seconds`;
//! - `cardinal_build_info{version}`.

use crate::http::auth::Operator;
use crate::http::error::ApiResult;
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cardinal_store::telemetry::{AtomicHistogram, Counter, StoreGauges, COMMITS, LATENCY_SECONDS};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::sync::{Mutex, OnceLock};

/// The statuses counted one by one; any other is counted as `other`.
const STATUSES: [u16; 22] =
    [200, 201, 204, 302, 304, 400, 401, 403, 404, 405, 408, 409, 410, 412, 413, 415, 422, 428, 429, 500, 503, 504];

/// One route's requests.
#[derive(Debug)]
pub struct RouteSeries {
    pub route: &'static str,
    pub method: &'static str,
    by_status: [Counter; STATUSES.len() + 1],
    latency: AtomicHistogram,
}

impl RouteSeries {
    const fn new(method: &'static str, route: &'static str) -> RouteSeries {
        RouteSeries {
            route,
            method,
            by_status: [const { Counter::new() }; STATUSES.len() + 1],
            latency: AtomicHistogram::new(LATENCY_SECONDS),
        }
    }

    pub fn record(&self, status: StatusCode, took: std::time::Duration) {
        self.count(status);
        self.latency.observe_duration(took);
    }

    /// Counts an answer without timing it (the fallback's, which does nothing worth timing).
    pub fn count(&self, status: StatusCode) {
        let slot = STATUSES.iter().position(|s| *s == status.as_u16()).unwrap_or(STATUSES.len());
        self.by_status[slot].inc();
    }
}

/// Requests no route serves (a 404 or 405 from the fallback).
pub static UNMATCHED: RouteSeries = RouteSeries::new("any", "unmatched");

/// Refusals of the rate limiter, by reason.
pub static RATE_LIMITED_REQUESTS: Counter = Counter::new();
pub static RATE_LIMITED_UNAUTHORIZED: Counter = Counter::new();

/// Every route's series, one per method and template in the process, so routers built in one
/// process (tests build many) share them and a scrape never shows one twice. Read and extended
/// only when a router is built and at scrapes, never per request.
fn series() -> std::sync::MutexGuard<'static, Vec<&'static RouteSeries>> {
    static SERIES: OnceLock<Mutex<Vec<&'static RouteSeries>>> = OnceLock::new();
    SERIES.get_or_init(Default::default).lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The series of the route at `path` for `method` (the route table's lower-case name). Made
/// once per route and kept for the process's life (routers built again, as tests do, find it).
pub fn series_of(method: &'static str, path: &'static str) -> &'static RouteSeries {
    let mut all = series();
    let method = method_name(method);
    if let Some(found) = all.iter().find(|s| s.route == path && s.method == method) {
        return found;
    }
    let made: &'static RouteSeries = Box::leak(Box::new(RouteSeries::new(method, path)));
    all.push(made);
    made
}

fn method_name(method: &str) -> &'static str {
    match method {
        "get" => "GET",
        "post" => "POST",
        "put" => "PUT",
        "patch" => "PATCH",
        "delete" => "DELETE",
        _ => "OTHER",
    }
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>, _: Operator) -> ApiResult<Response> {
    let gauges = state.app.store.gauges().await?;
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Scrape { gauges }));
    let mut text = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)
        .map_err(|_| crate::http::error::ApiError::internal())?;
    let mut response = (StatusCode::OK, text).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    Ok(response)
}

/// One scrape: the process's figures and the store's gauges, encoded.
#[derive(Debug)]
struct Scrape {
    gauges: StoreGauges,
}

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        self.requests(&mut encoder)?;
        let rate_limited = [("requests", &RATE_LIMITED_REQUESTS), ("unauthorized", &RATE_LIMITED_UNAUTHORIZED)];
        counters(&mut encoder, "cardinal_rate_limited", "Requests the rate limiter refused", "reason", &rate_limited)?;
        histogram(
            &mut encoder,
            "cardinal_commit_operations",
            "Operations each database commit carried",
            &COMMITS.sizes,
        )?;
        histogram(
            &mut encoder,
            "cardinal_commit_duration_seconds",
            "How long each database commit took",
            &COMMITS.latency,
        )?;
        self.store_gauges(&mut encoder)?;
        let attempts = &cardinal_app::webhooks::delivery::ATTEMPTS;
        let outcomes =
            [("delivered", &attempts.delivered), ("retried", &attempts.retried), ("failed", &attempts.failed)];
        counters(
            &mut encoder,
            "cardinal_webhook_attempts",
            "Webhook delivery attempts, by outcome",
            "outcome",
            &outcomes,
        )?;
        histogram(
            &mut encoder,
            "cardinal_webhook_attempt_duration_seconds",
            "How long each webhook delivery attempt took",
            &attempts.latency,
        )?;
        let mut info = encoder.encode_descriptor("cardinal_build", "The running build", None, MetricType::Info)?;
        info.encode_info(&[("version", env!("CARGO_PKG_VERSION"))])
    }
}

impl Scrape {
    fn requests(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let all: Vec<&RouteSeries> = series().iter().copied().chain(std::iter::once(&UNMATCHED)).collect();
        let help = "Requests answered, by route and status";
        let mut family = encoder.encode_descriptor("cardinal_http_requests", help, None, MetricType::Counter)?;
        for s in &all {
            for (slot, counter) in s.by_status.iter().enumerate() {
                let count = counter.get();
                if count == 0 {
                    continue;
                }
                let status = STATUSES.get(slot).map_or_else(|| "other".to_owned(), u16::to_string);
                let labels = [("route", s.route.to_owned()), ("method", s.method.to_owned()), ("status", status)];
                ConstCounter::new(count).encode(family.encode_family(&labels)?)?;
            }
        }
        let help = "How long requests took, by route";
        let mut family =
            encoder.encode_descriptor("cardinal_http_request_duration_seconds", help, None, MetricType::Histogram)?;
        for s in all {
            let (sum, count, buckets) = s.latency.snapshot();
            if count > 0 {
                let labels = [("route", s.route), ("method", s.method)];
                family.encode_family(&labels)?.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)?;
            }
        }
        Ok(())
    }

    fn store_gauges(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let gauges = &self.gauges;
        gauge(
            encoder,
            "cardinal_sca_sessions_pending",
            "SCA sessions waiting for an answer",
            gauges.pending_sca_sessions,
        )?;
        gauge(
            encoder,
            "cardinal_webhook_deliveries_pending",
            "Webhook deliveries still to make",
            gauges.pending_deliveries,
        )?;
        let Some(pool) = &gauges.pool else { return Ok(()) };
        let help = "PostgreSQL connections open, by state";
        let mut family =
            encoder.encode_descriptor("cardinal_postgres_pool_connections", help, None, MetricType::Gauge)?;
        for (state, value) in [("busy", pool.size.saturating_sub(pool.idle)), ("idle", pool.idle)] {
            ConstGauge::new(value as i64).encode(family.encode_family(&[("state", state)])?)?;
        }
        gauge(
            encoder,
            "cardinal_postgres_pool_waiting",
            "Calls waiting for a PostgreSQL connection now",
            pool.waiting,
        )?;
        for (name, help, value) in [
            (
                "cardinal_postgres_pool_waits",
                "Calls that found no idle PostgreSQL connection and waited",
                pool.waits_total,
            ),
            (
                "cardinal_postgres_read_only",
                "PostgreSQL connections closed because their server took no writes (a standby)",
                pool.read_only_total,
            ),
            (
                "cardinal_postgres_replica_fallbacks",
                "Reads the read replica failed and the primary served",
                pool.replica_fallbacks_total,
            ),
        ] {
            let family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            ConstCounter::new(value).encode(family)?;
        }
        Ok(())
    }
}

fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: u64) -> Result<(), std::fmt::Error> {
    let metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    ConstGauge::new(value as i64).encode(metric)
}

fn counters(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    label: &str,
    values: &[(&str, &Counter)],
) -> Result<(), std::fmt::Error> {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (value, counter) in values {
        ConstCounter::new(counter.get()).encode(family.encode_family(&[(label, *value)])?)?;
    }
    Ok(())
}

/// A histogram without labels.
fn histogram(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    histogram: &AtomicHistogram,
) -> Result<(), std::fmt::Error> {
    let (sum, count, buckets) = histogram.snapshot();
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Histogram)?;
    metric.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
}
