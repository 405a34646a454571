//! The sandbox's request log (spec §10): each organization's last 1,000 `/v2` requests, for
//! the console, `GET /_sandbox/organizations/{id}/requests` and its live stream.
//!
//! A request hands its record over without waiting (a bounded queue; when it is full the
//! record is dropped and counted, never the request slowed) and a background task keeps the
//! last [`KEPT_PER_ORGANIZATION`] of each organization in memory and passes each on to the
//! live readers. A slow reader misses records and is told how many; it never slows the server.
//! What a record holds is cut and cleaned here: bodies at 16 KiB, secrets never kept.

use cardinal_store::{Page, PageRequest};
use jiff::Timestamp;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;

/// How many requests each organization keeps.
pub const KEPT_PER_ORGANIZATION: usize = 1000;
/// Bodies are kept up to this many bytes.
pub const BODY_LIMIT: usize = 16 * 1024;
/// Records waiting for the background task; beyond, records are dropped.
const QUEUE: usize = 8192;
/// Records a live reader may fall behind by before it misses some.
const LIVE_BUFFER: usize = 1024;

/// One request as the log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// Increases with each record the process keeps.
    pub sequence: u64,
    pub organization_id: Uuid,
    pub at: Timestamp,
    pub method: String,
    /// The route's template (`/v2/cards/{id}`), when one matched.
    pub route: Option<String>,
    pub path: String,
    pub query: Option<String>,
    pub status: u16,
    pub latency_micros: u64,
    pub request_id: String,
    pub idempotency_key: Option<String>,
    /// `access_token` or `api_key`.
    pub credential: &'static str,
    pub membership_id: Uuid,
    pub request_body: Body,
    pub response_body: Body,
}

/// A body as kept.
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
    /// `bytes` as kept: empty, or text cut at [`BODY_LIMIT`] on a character boundary.
    pub fn of(bytes: &[u8]) -> Body {
        if bytes.is_empty() {
            return Body::Empty;
        }
        let cut = &bytes[..bytes.len().min(BODY_LIMIT)];
        let text = match std::str::from_utf8(cut) {
            Ok(text) => text,
            // A character cut in two at the limit: keep what is whole.
            Err(e) if e.error_len().is_none() => std::str::from_utf8(&cut[..e.valid_up_to()]).unwrap_or_default(),
            Err(_) => return Body::Withheld("not UTF-8 text"),
        };
        Body::Text { text: text.to_owned(), truncated: bytes.len() > text.len() }
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
            && self.path.as_deref().is_none_or(|part| r.path.contains(part))
            && self.request_id.as_deref().is_none_or(|id| r.request_id == id)
    }
}

type Kept = HashMap<Uuid, VecDeque<Arc<LoggedRequest>>>;

/// The log of one process.
pub struct RequestLog {
    queue: OnceLock<mpsc::Sender<LoggedRequest>>,
    kept: Arc<RwLock<Kept>>,
    live: broadcast::Sender<Arc<LoggedRequest>>,
    dropped: AtomicU64,
}

impl Default for RequestLog {
    fn default() -> RequestLog {
        RequestLog {
            queue: OnceLock::new(),
            kept: Arc::default(),
            live: broadcast::channel(LIVE_BUFFER).0,
            dropped: AtomicU64::new(0),
        }
    }
}

impl RequestLog {
    /// Hands a record to the background task (started by the first one), without waiting.
    pub fn record(&self, request: LoggedRequest) {
        let queue = self.queue.get_or_init(|| self.start());
        if queue.try_send(request).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn start(&self) -> mpsc::Sender<LoggedRequest> {
        let (sender, mut receiver) = mpsc::channel::<LoggedRequest>(QUEUE);
        let (kept, live) = (self.kept.clone(), self.live.clone());
        tokio::spawn(async move {
            let mut sequence = 0;
            while let Some(mut request) = receiver.recv().await {
                sequence += 1;
                request.sequence = sequence;
                let request = Arc::new(request);
                if let Ok(mut kept) = kept.write() {
                    let list = kept.entry(request.organization_id).or_default();
                    if list.len() == KEPT_PER_ORGANIZATION {
                        list.pop_front();
                    }
                    list.push_back(request.clone());
                }
                // No reader is fine: nothing waits for these.
                let _ = live.send(request);
            }
        });
        sender
    }

    /// How many records were dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// A page of an organization's records that `filter` matches, newest first.
    pub fn page(&self, organization_id: Uuid, filter: &RequestFilter, page: PageRequest) -> Page<Arc<LoggedRequest>> {
        let Ok(kept) = self.kept.read() else {
            return Page { items: Vec::new(), total: 0 };
        };
        let matching: Vec<&Arc<LoggedRequest>> = kept
            .get(&organization_id)
            .map(|list| list.iter().rev().filter(|r| filter.matches(r)).collect())
            .unwrap_or_default();
        let items =
            matching.iter().skip(page.offset() as usize).take(page.per_page as usize).map(|r| (*r).clone()).collect();
        Page { items, total: matching.len() as u64 }
    }

    /// New records as they are kept, every organization's: the reader filters.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LoggedRequest>> {
        self.live.subscribe()
    }

    /// Forgets an organization's records (it was deleted or reset).
    pub fn forget(&self, organization_id: Uuid) {
        if let Ok(mut kept) = self.kept.write() {
            kept.remove(&organization_id);
        }
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

/// The request and answer bodies as the log keeps them for `method` on `route`.
pub fn kept_bodies(method: &str, route: Option<&str>, request: &[u8], answer: &[u8]) -> (Body, Body) {
    let rule = SECRETS.iter().find(|(m, r, _, _)| *m == method && Some(*r) == route);
    let keep = |bytes: &[u8], why: Option<&'static str>| match why {
        Some(why) if !bytes.is_empty() => Body::Withheld(why),
        _ => Body::of(bytes),
    };
    (keep(request, rule.and_then(|r| r.2)), keep(answer, rule.and_then(|r| r.3)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(organization_id: Uuid, status: u16, path: &str) -> LoggedRequest {
        LoggedRequest {
            sequence: 0,
            organization_id,
            at: Timestamp::now(),
            method: "GET".into(),
            route: None,
            path: path.into(),
            query: None,
            status,
            latency_micros: 1,
            request_id: format!("id-{path}-{status}"),
            idempotency_key: None,
            credential: "access_token",
            membership_id: Uuid::nil(),
            request_body: Body::Empty,
            response_body: Body::Empty,
        }
    }

    async fn settled(log: &RequestLog, org: Uuid, count: u64) {
        for _ in 0..200 {
            if log.page(org, &RequestFilter::default(), PageRequest { page: 1, per_page: 1 }).total == count {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        panic!("the log did not reach {count} records");
    }

    #[tokio::test]
    async fn each_organization_keeps_its_last_thousand_newest_first() {
        let log = RequestLog::default();
        let (org, other) = (Uuid::new_v4(), Uuid::new_v4());
        for i in 0..1005 {
            log.record(request(org, 200, &format!("/v2/cards/{i}")));
        }
        log.record(request(other, 404, "/v2/cards/x"));
        settled(&log, org, 1000).await;
        let page = log.page(org, &RequestFilter::default(), PageRequest { page: 1, per_page: 2 });
        assert_eq!(page.items[0].path, "/v2/cards/1004", "newest first");
        let last = log.page(org, &RequestFilter::default(), PageRequest { page: 500, per_page: 2 });
        assert_eq!(last.items[1].path, "/v2/cards/5", "the five oldest are gone");
        assert_eq!(log.page(other, &RequestFilter::default(), PageRequest { page: 1, per_page: 10 }).total, 1);
        assert_eq!(log.dropped(), 0);
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
        assert!(!filter(None, Some("transactions"), None).matches(&r));
        assert!(!filter(None, None, Some("other")).matches(&r));
    }

    #[test]
    fn bodies_are_cut_at_16_kib_and_secrets_withheld() {
        let long = "é".repeat(BODY_LIMIT);
        match Body::of(long.as_bytes()) {
            Body::Text { text, truncated } => {
                assert!(truncated && text.len() <= BODY_LIMIT && text.len() > BODY_LIMIT - 2)
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(Body::of(b""), Body::Empty);
        assert_eq!(Body::of(&[0xff, 0xfe, 0x00]), Body::Withheld("not UTF-8 text"));
        let (request, answer) = kept_bodies("GET", Some("/v2/cards/{id}/data_view"), b"", b"{\"iframe_url\":\"x\"}");
        assert_eq!((request, answer), (Body::Empty, Body::Withheld("holds a single-use link to the card's number")));
        let (request, _) = kept_bodies("POST", Some("/v2/webhook_subscriptions"), b"{}", b"{}");
        assert!(matches!(request, Body::Withheld(_)));
        let (request, _) = kept_bodies("PUT", Some("/v2/cards/{id}/lock"), b"", b"{}");
        assert_eq!(request, Body::Empty);
    }
}
