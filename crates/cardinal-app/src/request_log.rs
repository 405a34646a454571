//! The sandbox's request log (spec §10): each organization's last 1,000 `/v2` requests, for
//! the console, `GET /_sandbox/organizations/{id}/requests` and its live stream.
//!
//! Recording is cheap enough for every request: the request path only moves handles (the
//! bodies' reference-counted bytes, copied only past 16 KiB), takes one short lock to append
//! to the organization's ring and drop its oldest record, and hands the record to live readers
//! only when there are any, without waiting for them. What is shown — text, cuts, secrets
//! withheld — is worked out when a record is read. A slow reader misses records and is told
//! how many; it never slows the server.

use bytes::Bytes;
use cardinal_store::{Page, PageRequest};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;
use tokio::sync::broadcast;
use uuid::Uuid;

/// How many requests each organization keeps.
pub const KEPT_PER_ORGANIZATION: usize = 1000;
/// Bodies are kept up to this many bytes.
pub const BODY_LIMIT: usize = 16 * 1024;
/// Records a live reader may fall behind by before it misses some.
const LIVE_BUFFER: usize = 1024;
/// What every organization's records may hold together, bodies counted in full: past it, the
/// organization being written to drops its own oldest records, so however many organizations
/// there are, and however busy one is, the log stays this size.
pub const MEMORY_BUDGET: usize = 256 * 1024 * 1024;

/// One request as the log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// Increases with each record the process keeps (set when it is kept).
    pub sequence: u64,
    pub organization_id: Uuid,
    /// When it was answered (the system clock's reading, made a timestamp when shown).
    pub at: SystemTime,
    pub method: &'static str,
    /// The route's template (`/v2/cards/{id}`), when one matched.
    pub route: Option<&'static str>,
    /// The path and query as sent.
    pub target: String,
    pub status: u16,
    pub latency_micros: u64,
    pub request_id: String,
    pub idempotency_key: Option<String>,
    /// `access_token` or `api_key`.
    pub credential: &'static str,
    pub membership_id: Uuid,
    pub request_body: KeptBytes,
    pub response_body: KeptBytes,
}

/// A body's first [`BODY_LIMIT`] bytes and its whole length; `None` when it was not read
/// (an answer that is not JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptBytes {
    pub head: Option<Bytes>,
    pub len: usize,
}

impl KeptBytes {
    /// What is kept of `bytes`: the same buffer when it is small, a copy of its head when it
    /// is not (a reference into a large answer would keep all of it alive).
    pub fn of(bytes: Bytes) -> KeptBytes {
        let len = bytes.len();
        let head = if len > BODY_LIMIT { Bytes::copy_from_slice(&bytes[..BODY_LIMIT]) } else { bytes };
        KeptBytes { head: Some(head), len }
    }

    pub fn unread() -> KeptBytes {
        KeptBytes { head: None, len: 0 }
    }
}

impl LoggedRequest {
    pub fn path(&self) -> &str {
        self.target.split_once('?').map_or(self.target.as_str(), |(path, _)| path)
    }

    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, query)| query)
    }

    /// The request's and the answer's bodies as shown: text cut at [`BODY_LIMIT`], or why
    /// they are not shown.
    pub fn bodies(&self) -> (Body, Body) {
        let rule = SECRETS.iter().find(|(m, r, _, _)| *m == self.method && Some(*r) == self.route);
        let shown = |kept: &KeptBytes, withheld: Option<&'static str>| match (&kept.head, withheld) {
            (None, _) => Body::Withheld("not JSON"),
            (Some(head), _) if head.is_empty() => Body::Empty,
            (Some(_), Some(why)) => Body::Withheld(why),
            (Some(head), None) => Body::of(head, kept.len),
        };
        (shown(&self.request_body, rule.and_then(|r| r.2)), shown(&self.response_body, rule.and_then(|r| r.3)))
    }
}

/// A body as shown.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Body {
    #[default]
    Empty,
    /// The text, cut at [`BODY_LIMIT`] bytes (`truncated` says so).
    Text { text: String, truncated: bool },
    /// Not kept, and why (binary, or holding secrets).
    Withheld(&'static str),
}

impl Body {
    /// `head` (the first bytes of a body `len` long) as text, cut on a character boundary.
    pub fn of(head: &[u8], len: usize) -> Body {
        if head.is_empty() {
            return Body::Empty;
        }
        let cut = &head[..head.len().min(BODY_LIMIT)];
        let text = match std::str::from_utf8(cut) {
            Ok(text) => text,
            // A character cut in two at the limit: keep what is whole.
            Err(e) if e.error_len().is_none() => std::str::from_utf8(&cut[..e.valid_up_to()]).unwrap_or_default(),
            Err(_) => return Body::Withheld("not UTF-8 text"),
        };
        Body::Text { text: text.to_owned(), truncated: len > text.len() }
    }
}

/// Which records a reader wants.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// `404`, or a class: `4xx`.
    pub status: Option<String>,
    /// Part of the path.
    pub path: Option<String>,
    pub request_id: Option<String>,
}

impl RequestFilter {
    pub fn matches(&self, r: &LoggedRequest) -> bool {
        let status = self.status.as_deref().is_none_or(|wanted| match wanted.strip_suffix("xx") {
            Some(class) => r.status / 100 == class.parse::<u16>().unwrap_or(0),
            None => wanted.parse::<u16>().is_ok_and(|code| code == r.status),
        });
        status
            && self.path.as_deref().is_none_or(|part| r.path().contains(part))
            && self.request_id.as_deref().is_none_or(|id| r.request_id == id)
    }
}

type Ring = Mutex<VecDeque<Arc<LoggedRequest>>>;

/// Organization ids are random: their own bytes are a hash already, and every request looks
/// its organization up.
#[derive(Default, Clone, Copy)]
struct UuidBits(u64);

impl std::hash::Hasher for UuidBits {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
        }
    }
}

type Rings = HashMap<Uuid, Ring, std::hash::BuildHasherDefault<UuidBits>>;

/// The log of one process.
pub struct RequestLog {
    kept: RwLock<Rings>,
    live: broadcast::Sender<Arc<LoggedRequest>>,
    /// How many live readers there are: a record is handed on only when there is one.
    readers: Arc<AtomicUsize>,
    sequence: AtomicU64,
    /// What the kept records weigh ([`weight`]), every organization's.
    weight: AtomicUsize,
    budget: usize,
}

impl Default for RequestLog {
    fn default() -> RequestLog {
        RequestLog::with_budget(MEMORY_BUDGET)
    }
}

/// About what a record holds in memory: its bodies, its path and its fixed part.
fn weight(r: &LoggedRequest) -> usize {
    let body = |kept: &KeptBytes| kept.head.as_ref().map_or(0, Bytes::len);
    body(&r.request_body) + body(&r.response_body) + r.target.len() + r.request_id.len() + 256
}

impl RequestLog {
    /// A log whose records may weigh `budget` bytes together ([`MEMORY_BUDGET`]).
    pub fn with_budget(budget: usize) -> RequestLog {
        RequestLog {
            kept: RwLock::default(),
            live: broadcast::channel(LIVE_BUFFER).0,
            readers: Arc::default(),
            sequence: AtomicU64::new(0),
            weight: AtomicUsize::new(0),
            budget,
        }
    }

    /// Keeps a record: the organization's ring takes it and drops its oldest (more of them
    /// while the log is over its budget); live readers, if any, are handed it without waiting.
    pub fn record(&self, mut request: LoggedRequest) {
        request.sequence = self.sequence.fetch_add(1, Ordering::Relaxed) + 1;
        let request = Arc::new(request);
        let organization_id = request.organization_id;
        let kept = match self.kept.read() {
            Ok(kept) if kept.contains_key(&organization_id) => kept,
            Ok(kept) => {
                drop(kept);
                if let Ok(mut kept) = self.kept.write() {
                    kept.entry(organization_id).or_default();
                }
                match self.kept.read() {
                    Ok(kept) => kept,
                    Err(_) => return,
                }
            }
            Err(_) => return,
        };
        if let Some(Ok(mut ring)) = kept.get(&organization_id).map(Mutex::lock) {
            if ring.len() == KEPT_PER_ORGANIZATION {
                self.drop_oldest(&mut ring);
            }
            self.weight.fetch_add(weight(&request), Ordering::Relaxed);
            ring.push_back(request.clone());
            while ring.len() > 1 && self.weight.load(Ordering::Relaxed) > self.budget {
                self.drop_oldest(&mut ring);
            }
        }
        drop(kept);
        if self.readers.load(Ordering::Relaxed) > 0 {
            let _ = self.live.send(request);
        }
    }

    fn drop_oldest(&self, ring: &mut VecDeque<Arc<LoggedRequest>>) {
        if let Some(oldest) = ring.pop_front() {
            self.weight.fetch_sub(weight(&oldest), Ordering::Relaxed);
        }
    }

    /// What the kept records weigh, about.
    pub fn weight(&self) -> usize {
        self.weight.load(Ordering::Relaxed)
    }

    /// A page of an organization's records that `filter` matches, newest first.
    pub fn page(&self, organization_id: Uuid, filter: &RequestFilter, page: PageRequest) -> Page<Arc<LoggedRequest>> {
        let empty = || Page { items: Vec::new(), total: 0 };
        let Ok(kept) = self.kept.read() else {
            return empty();
        };
        let Some(Ok(ring)) = kept.get(&organization_id).map(Mutex::lock) else {
            return empty();
        };
        let matching: Vec<&Arc<LoggedRequest>> = ring.iter().rev().filter(|r| filter.matches(r)).collect();
        let items =
            matching.iter().skip(page.offset() as usize).take(page.per_page as usize).map(|r| (*r).clone()).collect();
        Page { items, total: matching.len() as u64 }
    }

    /// New records as they are kept, every organization's: the reader filters.
    pub fn subscribe(&self) -> LiveReader {
        self.readers.fetch_add(1, Ordering::Relaxed);
        LiveReader { receiver: self.live.subscribe(), readers: self.readers.clone() }
    }

    /// Forgets an organization's records (it was deleted).
    pub fn forget(&self, organization_id: Uuid) {
        let Some(ring) = self.kept.write().ok().and_then(|mut kept| kept.remove(&organization_id)) else {
            return;
        };
        if let Ok(mut ring) = ring.lock() {
            while !ring.is_empty() {
                self.drop_oldest(&mut ring);
            }
        };
    }
}

/// A live reader of the log; dropping it tells the log there is one reader fewer.
pub struct LiveReader {
    pub receiver: broadcast::Receiver<Arc<LoggedRequest>>,
    readers: Arc<AtomicUsize>,
}

impl Drop for LiveReader {
    fn drop(&mut self) {
        self.readers.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Routes whose bodies carry secrets the log must never keep: `(method, route, request body,
/// answer)`, each `None` when that body may be kept.
const SECRETS: &[(&str, &str, Option<&str>, Option<&str>)] = &[
    ("GET", "/v2/cards/{id}/data_view", None, Some("holds a single-use link to the card's number")),
    (
        "POST",
        "/v2/webhook_subscriptions",
        Some("may hold the subscription's signing secret"),
        Some("holds the subscription's signing secret"),
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn request(organization_id: Uuid, status: u16, path: &str) -> LoggedRequest {
        LoggedRequest {
            sequence: 0,
            organization_id,
            at: SystemTime::now(),
            method: "GET",
            route: None,
            target: format!("{path}?page=1"),
            status,
            latency_micros: 1,
            request_id: format!("id-{path}-{status}"),
            idempotency_key: None,
            credential: "access_token",
            membership_id: Uuid::nil(),
            request_body: KeptBytes::of(Bytes::new()),
            response_body: KeptBytes::of(Bytes::new()),
        }
    }

    #[test]
    fn each_organization_keeps_its_last_thousand_newest_first() {
        let log = RequestLog::default();
        let (org, other) = (Uuid::new_v4(), Uuid::new_v4());
        for i in 0..1005 {
            log.record(request(org, 200, &format!("/v2/cards/{i}")));
        }
        log.record(request(other, 404, "/v2/cards/x"));
        let all = |org| log.page(org, &RequestFilter::default(), PageRequest { page: 1, per_page: 2 });
        assert_eq!(all(org).total, 1000);
        assert_eq!(all(org).items[0].path(), "/v2/cards/1004", "newest first");
        assert_eq!(all(org).items[0].query(), Some("page=1"));
        let last = log.page(org, &RequestFilter::default(), PageRequest { page: 500, per_page: 2 });
        assert_eq!(last.items[1].path(), "/v2/cards/5", "the five oldest are gone");
        assert_eq!(all(other).total, 1);
        assert_eq!(all(other).items[0].sequence, 1006);
        log.forget(org);
        assert_eq!(all(org).total, 0);
    }

    #[test]
    fn a_busy_organization_stays_within_the_memory_budget_and_spares_the_others() {
        let log = RequestLog::with_budget(64 * 1024);
        let (quiet, busy) = (Uuid::new_v4(), Uuid::new_v4());
        log.record(request(quiet, 200, "/v2/organization"));
        for i in 0..200 {
            let mut big = request(busy, 200, &format!("/v2/cards/{i}"));
            big.response_body = KeptBytes::of(Bytes::from(vec![b'x'; 4096]));
            log.record(big);
            assert!(log.weight() <= 64 * 1024, "over budget after {i}: {}", log.weight());
        }
        let all = |org| log.page(org, &RequestFilter::default(), PageRequest { page: 1, per_page: 100 });
        assert_eq!(all(quiet).total, 1, "the quiet organization keeps its record");
        assert!(all(busy).total < 20 && all(busy).items[0].path() == "/v2/cards/199");
        log.forget(busy);
        log.forget(quiet);
        assert_eq!(log.weight(), 0);
    }

    #[test]
    fn filters_match_status_classes_paths_and_request_ids() {
        let r = request(Uuid::nil(), 404, "/v2/cards/abc");
        let filter = |status: Option<&str>, path: Option<&str>, id: Option<&str>| RequestFilter {
            status: status.map(str::to_owned),
            path: path.map(str::to_owned),
            request_id: id.map(str::to_owned),
        };
        assert!(filter(Some("4xx"), Some("cards"), None).matches(&r));
        assert!(filter(Some("404"), None, Some("id-/v2/cards/abc-404")).matches(&r));
        assert!(!filter(Some("2xx"), None, None).matches(&r));
        assert!(!filter(None, Some("page"), None).matches(&r), "the path, not the query");
        assert!(!filter(None, None, Some("other")).matches(&r));
    }

    #[test]
    fn bodies_are_cut_at_16_kib_and_secrets_withheld() {
        let long = Bytes::from("é".repeat(BODY_LIMIT));
        let kept = KeptBytes::of(long.clone());
        assert_eq!((kept.head.as_ref().unwrap().len(), kept.len), (BODY_LIMIT, long.len()));
        let mut r = request(Uuid::nil(), 200, "/v2/cards/x");
        r.response_body = kept;
        match r.bodies().1 {
            Body::Text { text, truncated } => assert!(truncated && text.len() == BODY_LIMIT),
            other => panic!("{other:?}"),
        }
        assert_eq!(r.bodies().0, Body::Empty);
        assert_eq!(Body::of(&[0xff, 0xfe, 0x00], 3), Body::Withheld("not UTF-8 text"));
        r.response_body = KeptBytes::unread();
        assert_eq!(r.bodies().1, Body::Withheld("not JSON"));
        r.route = Some("/v2/cards/{id}/data_view");
        r.response_body = KeptBytes::of(Bytes::from_static(b"{\"iframe_url\":\"x\"}"));
        assert_eq!(r.bodies().1, Body::Withheld("holds a single-use link to the card's number"));
        r.method = "POST";
        r.route = Some("/v2/webhook_subscriptions");
        r.request_body = KeptBytes::of(Bytes::from_static(b"{}"));
        assert!(matches!(r.bodies(), (Body::Withheld(_), Body::Withheld(_))));
    }
}
