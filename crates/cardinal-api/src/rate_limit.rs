//! Per-client-IP rate limits (spec §1.7): by default 1,000 requests per 10 s and 10,000 per
//! 10 min, and an IP that collected more than 200 `401` answers within an hour is throttled.
//! Past a limit: `429 rate_limited` with `Retry-After` in whole seconds.
//!
//! Counters live in this process (fixed windows per IP). With several Cardinal processes
//! behind a load balancer, each enforces the limits for the traffic it receives.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::{ConnectInfo, Request};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most `limit` requests per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub limit: u64,
    pub window: Duration,
}

impl Rule {
    /// Parses `1000/10s`, `10000/10m`, `200/1h`.
    pub fn parse(text: &str) -> Result<Rule, String> {
        let bad = || format!("{text:?} is not a rate limit like 1000/10s, 10000/10m or 200/1h");
        let (limit, window) = text.trim().split_once('/').ok_or_else(bad)?;
        let limit: u64 = limit.trim().parse().map_err(|_| bad())?;
        let window = window.trim();
        let (amount, unit) = window.split_at(window.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?);
        let amount: u64 = amount.parse().map_err(|_| bad())?;
        let seconds = match unit {
            "s" => amount,
            "m" => amount * 60,
            "h" => amount * 3600,
            _ => return Err(bad()),
        };
        if limit == 0 || seconds == 0 {
            return Err(bad());
        }
        Ok(Rule { limit, window: Duration::from_secs(seconds) })
    }
}

#[derive(Debug, Clone)]
pub struct RateLimits {
    pub requests: Vec<Rule>,
    /// `401` answers an IP may collect before it is throttled.
    pub unauthorized: Option<Rule>,
}

impl Default for RateLimits {
    fn default() -> RateLimits {
        RateLimits {
            requests: vec![
                Rule { limit: 1_000, window: Duration::from_secs(10) },
                Rule { limit: 10_000, window: Duration::from_secs(600) },
            ],
            unauthorized: Some(Rule { limit: 200, window: Duration::from_secs(3600) }),
        }
    }
}

impl RateLimits {
    pub fn off() -> RateLimits {
        RateLimits { requests: vec![], unauthorized: None }
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    count: u64,
}

impl Window {
    /// The window in force at `now` under `rule`, restarted when the old one is over.
    fn current(self, rule: Rule, now: Instant) -> Window {
        if now.duration_since(self.started) >= rule.window {
            Window { started: now, count: 0 }
        } else {
            self
        }
    }

    fn retry_after(&self, rule: Rule, now: Instant) -> u64 {
        let left = rule.window.saturating_sub(now.duration_since(self.started));
        left.as_secs() + u64::from(left.subsec_nanos() > 0)
    }
}

#[derive(Debug)]
struct Client {
    requests: Vec<Window>,
    unauthorized: Window,
}

/// Counts per client IP.
#[derive(Debug)]
pub struct RateLimiter {
    limits: RateLimits,
    clients: Mutex<HashMap<IpAddr, Client>>,
}

/// Beyond this many tracked IPs, idle ones are forgotten.
const MAX_TRACKED: usize = 100_000;

impl RateLimiter {
    pub fn new(limits: RateLimits) -> RateLimiter {
        RateLimiter { limits, clients: Mutex::new(HashMap::new()) }
    }

    /// Counts a request; `Err(seconds)` when the client must wait.
    pub fn admit(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        if self.limits.requests.is_empty() && self.limits.unauthorized.is_none() {
            return Ok(());
        }
        let mut clients = self.clients.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if clients.len() >= MAX_TRACKED {
            self.forget_idle(&mut clients, now);
        }
        let client = clients.entry(ip).or_insert_with(|| Client {
            requests: vec![Window { started: now, count: 0 }; self.limits.requests.len()],
            unauthorized: Window { started: now, count: 0 },
        });
        if let Some(rule) = self.limits.unauthorized {
            let window = client.unauthorized.current(rule, now);
            client.unauthorized = window;
            if window.count > rule.limit {
                return Err(window.retry_after(rule, now));
            }
        }
        let windows: Vec<Window> =
            client.requests.iter().zip(&self.limits.requests).map(|(w, rule)| w.current(*rule, now)).collect();
        let wait = windows
            .iter()
            .zip(&self.limits.requests)
            .filter(|(w, rule)| w.count >= rule.limit)
            .map(|(w, rule)| w.retry_after(*rule, now))
            .max();
        if let Some(wait) = wait {
            client.requests = windows;
            return Err(wait);
        }
        client.requests = windows.into_iter().map(|w| Window { count: w.count + 1, ..w }).collect();
        Ok(())
    }

    /// Counts a `401` answer against the client.
    pub fn record_unauthorized(&self, ip: IpAddr, now: Instant) {
        let Some(rule) = self.limits.unauthorized else { return };
        let mut clients = self.clients.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(client) = clients.get_mut(&ip) {
            let window = client.unauthorized.current(rule, now);
            client.unauthorized = Window { count: window.count + 1, ..window };
        }
    }

    fn forget_idle(&self, clients: &mut HashMap<IpAddr, Client>, now: Instant) {
        let longest = self.limits.requests.iter().chain(&self.limits.unauthorized).map(|r| r.window).max();
        let longest = longest.unwrap_or_default();
        clients.retain(|_, c| {
            let newest = c.requests.iter().map(|w| w.started).chain([c.unauthorized.started]).max();
            newest.is_some_and(|started| now.duration_since(started) < longest)
        });
    }
}

/// Admits or refuses each request by its client IP, then runs it. Called by the request
/// context (one layer instead of two: each layer costs every request a boxed future and a
/// clone of the services under it).
pub async fn admitted(state: &AppState, request: Request, next: Next) -> Response {
    // Behind no proxy the peer address is the client; without one (in-process tests) all
    // requests share one bucket.
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    if let Err(wait) = state.rate_limiter.admit(ip, Instant::now()) {
        return ApiError::rate_limited(wait).into_response();
    }
    let response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED {
        state.rate_limiter.record_unauthorized(ip, Instant::now());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(rules: &[&str], unauthorized: Option<&str>) -> RateLimiter {
        RateLimiter::new(RateLimits {
            requests: rules.iter().map(|r| Rule::parse(r).unwrap()).collect(),
            unauthorized: unauthorized.map(|r| Rule::parse(r).unwrap()),
        })
    }

    #[test]
    fn parses_rules() {
        assert_eq!(Rule::parse("1000/10s").unwrap(), Rule { limit: 1000, window: Duration::from_secs(10) });
        assert_eq!(Rule::parse("10000/10m").unwrap().window, Duration::from_secs(600));
        assert_eq!(Rule::parse("200/1h").unwrap().window, Duration::from_secs(3600));
        for bad in ["", "10", "x/10s", "10/10", "10/10d", "0/10s", "10/0s"] {
            assert!(Rule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refuses_past_the_limit_until_the_window_ends() {
        let l = limiter(&["3/10s"], None);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.admit(ip, t0), Ok(()));
        }
        assert_eq!(l.admit(ip, t0), Err(10));
        assert_eq!(l.admit(ip, t0 + Duration::from_millis(2500)), Err(8), "whole seconds, rounded up");
        assert_eq!(l.admit("10.0.0.2".parse().unwrap(), t0), Ok(()), "per IP");
        assert_eq!(l.admit(ip, t0 + Duration::from_secs(10)), Ok(()), "a new window");
    }

    #[test]
    fn the_strictest_of_several_rules_wins() {
        let l = limiter(&["5/1s", "6/1m"], None);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..5 {
            l.admit(ip, t0).unwrap();
        }
        assert_eq!(l.admit(ip, t0), Err(1));
        l.admit(ip, t0 + Duration::from_secs(1)).unwrap();
        assert_eq!(l.admit(ip, t0 + Duration::from_secs(2)), Err(58));
    }

    #[test]
    fn too_many_unauthorized_answers_throttle_the_ip() {
        let l = limiter(&[], Some("2/1h"));
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            l.admit(ip, t0).unwrap();
            l.record_unauthorized(ip, t0);
        }
        assert_eq!(l.admit(ip, t0), Err(3600));
        assert_eq!(l.admit(ip, t0 + Duration::from_secs(3600)), Ok(()));
    }
}
