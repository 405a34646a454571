//! Per-client-IP rate limits (spec §1.7): by default 1,000 requests per 10 s and 10,000 per
//! 10 min, and an IP that collected more than 200 `401` answers within an hour is throttled.
//! Past a limit: `429 rate_limited` with `Retry-After` in whole seconds.
//!
//! The `401` throttle refuses only requests without a valid credential: a client with a good
//! token is served even from an address that also sent many bad ones (behind a load balancer,
//! that address is everyone's). The sandbox's own surfaces (`/_sandbox`, and `/_operator` in
//! sandbox mode) are exempt: test suites drive them hard. In production the operator API is
//! limited like the rest, and its `401`s count. Behind proxies listed in `--trusted-proxies`, the client is the last address of
//! `X-Forwarded-For` that is not one of them.
//!
//! Counters live in this process (fixed windows per IP). With several Cardinal processes
//! behind a load balancer, each enforces the limits for the traffic it receives.

pub use crate::net::Cidr;
use crate::spans::{span, UP_TO_HOURS};
use std::collections::HashMap;
use std::net::IpAddr;
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
        let seconds = span(window, UP_TO_HOURS).ok_or_else(bad)?;
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
    /// Peers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<Cidr>,
}

/// The client of a request that reached us from `peer`: `peer` itself unless it is a trusted
/// proxy, then the last address of `X-Forwarded-For` that is not a trusted proxy (the ones
/// before it were written by the client and prove nothing).
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let Some(chain) = forwarded_for else { return peer };
    let mut client = peer;
    for hop in chain.rsplit(',') {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) if is_trusted(ip) => client = ip,
            Ok(ip) => return ip,
            Err(_) => return client,
        }
    }
    client
}

impl Default for RateLimits {
    fn default() -> RateLimits {
        RateLimits {
            requests: vec![
                Rule { limit: 1_000, window: Duration::from_secs(10) },
                Rule { limit: 10_000, window: Duration::from_secs(600) },
            ],
            unauthorized: Some(Rule { limit: 200, window: Duration::from_secs(3600) }),
            trusted_proxies: vec![],
        }
    }
}

impl RateLimits {
    pub fn off() -> RateLimits {
        RateLimits { requests: vec![], unauthorized: None, trusted_proxies: vec![] }
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
        let client = self.client(&mut clients, ip, now);
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

    /// Counts a `401` answer against the client; `Err(seconds)` once it has collected more
    /// than the limit allows, so that answer becomes a `429`.
    pub fn record_unauthorized(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        let Some(rule) = self.limits.unauthorized else { return Ok(()) };
        let mut clients = self.clients.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let client = self.client(&mut clients, ip, now);
        let window = client.unauthorized.current(rule, now);
        client.unauthorized = Window { count: window.count + 1, ..window };
        match window.count > rule.limit {
            true => Err(window.retry_after(rule, now)),
            false => Ok(()),
        }
    }

    /// The counts of `ip`, new ones starting now; idle clients are forgotten past the bound.
    fn client<'a>(&self, clients: &'a mut HashMap<IpAddr, Client>, ip: IpAddr, now: Instant) -> &'a mut Client {
        if clients.len() >= MAX_TRACKED {
            self.forget_idle(clients, now);
        }
        clients.entry(ip).or_insert_with(|| Client {
            requests: vec![Window { started: now, count: 0 }; self.limits.requests.len()],
            unauthorized: Window { started: now, count: 0 },
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(rules: &[&str], unauthorized: Option<&str>) -> RateLimiter {
        RateLimiter::new(RateLimits {
            requests: rules.iter().map(|r| Rule::parse(r).unwrap()).collect(),
            unauthorized: unauthorized.map(|r| Rule::parse(r).unwrap()),
            trusted_proxies: vec![],
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
            assert_eq!(l.record_unauthorized(ip, t0), Ok(()));
        }
        assert_eq!(l.record_unauthorized(ip, t0), Err(3600), "past the limit, a 401 becomes a 429");
        assert_eq!(l.admit(ip, t0), Ok(()), "requests with a valid credential are still admitted");
        assert_eq!(l.record_unauthorized(ip, t0 + Duration::from_secs(3600)), Ok(()));
    }

    #[test]
    fn the_client_is_the_last_untrusted_forwarded_address() {
        let trusted = [Cidr::parse("10.0.0.0/8").unwrap(), Cidr::parse("::1").unwrap()];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(client_ip(ip("203.0.113.9"), Some("198.51.100.1"), &trusted), ip("203.0.113.9"), "untrusted peer");
        assert_eq!(client_ip(ip("10.1.2.3"), Some("198.51.100.1, 10.9.9.9"), &trusted), ip("198.51.100.1"));
        assert_eq!(client_ip(ip("10.1.2.3"), Some("6.6.6.6, 198.51.100.1"), &trusted), ip("198.51.100.1"), "spoofed");
        assert_eq!(client_ip(ip("::1"), None, &trusted), ip("::1"));
        assert_eq!(client_ip(ip("10.1.2.3"), Some("garbage"), &trusted), ip("10.1.2.3"));
        assert!(Cidr::parse("10.0.0.0/33").is_err() && Cidr::parse("nope").is_err());
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(Cidr::parse("::ffff:0:0/96").is_ok());
        assert!(Cidr::parse("10.0.0.0/8").unwrap().contains(ip("::ffff:10.0.0.1")), "v4-mapped v6 is v4");
    }
}
