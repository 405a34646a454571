//! The delivery worker: every process runs one. It claims due deliveries under a lease (one
//! attempt, one process, even with several processes on one database), posts each signed
//! envelope with a 1-second limit, reads at most 2 KiB of the answer, and records the attempt
//! and what follows: delivered, retried later on the schedule, or failed.

use super::address::{literal_refusal, AddressPolicy, GuardedResolver, NotAllowed, NOT_ALLOWED};
use super::signature;
use crate::spans::seconds_up_to_days;
use crate::wire::webhooks::envelope;
use crate::App;
use cardinal_store::telemetry::{AtomicHistogram, Counter, LATENCY_SECONDS};
use cardinal_store::{AttemptOutcome, ClaimedDelivery, DeliveryAttempt, FairShare};
use jiff::{SignedDuration, Timestamp};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, USER_AGENT};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use uuid::Uuid;

/// A 2xx must arrive within this, or the attempt failed (Qonto).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
/// How much of an answer is read and kept.
pub const ANSWER_LIMIT: usize = 2048;
/// How long a claimed delivery stays this process's: far beyond an attempt, so only a
/// process that died (or hung) loses it, to another after this.
pub const LEASE: SignedDuration = SignedDuration::from_secs(10);
/// Attempts in flight at once, per process.
const POOL: usize = 64;
/// Attempts in flight at once to one subscription whose receiver is failing, per process: a
/// receiver that hangs holds at most this many of the pool once its first attempts failed
/// (Svix and Stripe cap concurrency per endpoint likewise). A healthy receiver is held only by
/// its organization's share, so a backlog drains at full speed.
pub const PER_FAILING_SUBSCRIPTION: usize = 4;
/// Slots kept free for an organization with no attempt in flight while others have theirs:
/// its deliveries start at once, however busy the others keep the pool. See [`fair_share`].
const NEWCOMER_ROOM: usize = 4;
const POLL: Duration = Duration::from_millis(200);

/// After failed attempt `n` (1-based) the next waits `RETRY_DELAYS[n - 1]`; after the tenth the
/// delivery is failed (spec §7). The default of `ApiConfig::webhook_retry_delays`.
pub const RETRY_DELAYS: [SignedDuration; 9] = [
    SignedDuration::from_secs(10),
    SignedDuration::from_mins(1),
    SignedDuration::from_mins(5),
    SignedDuration::from_mins(30),
    SignedDuration::from_hours(2),
    SignedDuration::from_hours(6),
    SignedDuration::from_hours(12),
    SignedDuration::from_hours(24),
    SignedDuration::from_hours(24),
];

/// `--webhook-retry-delays`: the delays after each failed attempt, comma-separated, each a
/// whole number of seconds, minutes, hours or days (`10s,1m,5m,30m,2h,6h,12h,24h,24h` is the
/// default, [`RETRY_DELAYS`]): one attempt more than delays, then `failed`. A sandbox that
/// wants to see a delivery fail in a minute says `1s,1s` instead of waiting three days.
pub fn parse_retry_delays(text: &str) -> Result<Vec<SignedDuration>, String> {
    const MOST: usize = 20;
    let delays = text.split(',').map(parse_delay).collect::<Result<Vec<_>, String>>()?;
    if delays.len() > MOST {
        return Err(format!("at most {MOST} retry delays, not {}", delays.len()));
    }
    Ok(delays)
}

/// `--webhook-disable-after`: how long a subscription may fail without a success before it is
/// disabled (`5d` by default; `30s` shows it happen in a sandbox), from a second to a year.
pub fn parse_disable_after(text: &str) -> Result<SignedDuration, String> {
    seconds_up_to_days(text, "a failing time", 365)
}

/// `10s`, `5m`, `2h`, `1d`: at least a second, at most seven days.
fn parse_delay(text: &str) -> Result<SignedDuration, String> {
    seconds_up_to_days(text, "a retry delay", 7)
}

/// Starts this process's worker; it runs as long as the runtime does.
pub fn spawn(app: App) -> tokio::task::JoinHandle<()> {
    let client = client(&app);
    let worker = Worker { owner: Uuid::new_v4(), client, app };
    tokio::spawn(worker.run())
}

struct Worker {
    app: App,
    /// This worker's name on the leases it holds.
    owner: Uuid,
    client: reqwest::Client,
}

/// An attempt made, waiting to be recorded.
/// Delivery attempts by outcome, and how long each took (`/metrics`).
pub static ATTEMPTS: AttemptMetrics = AttemptMetrics {
    delivered: Counter::new(),
    retried: Counter::new(),
    failed: Counter::new(),
    latency: AtomicHistogram::new(LATENCY_SECONDS),
};

pub struct AttemptMetrics {
    pub delivered: Counter,
    /// Failed attempts that will be tried again.
    pub retried: Counter,
    /// Failed attempts that were the last: the delivery is `failed`.
    pub failed: Counter,
    pub latency: AtomicHistogram,
}

impl AttemptMetrics {
    fn record(&self, outcome: &AttemptOutcome, took: std::time::Duration) {
        match outcome {
            AttemptOutcome::Delivered => self.delivered.inc(),
            AttemptOutcome::RetryAt(_) => self.retried.inc(),
            AttemptOutcome::Failed => self.failed.inc(),
        }
        self.latency.observe_duration(took);
    }
}

type Finished = (DeliveryAttempt, AttemptOutcome);

/// No redirects followed (a 3xx is a failed attempt) and no proxy (the address dialled is the
/// callback's), names resolved through the address rules ([`GuardedResolver`]), TLS through
/// rustls with ring and the Mozilla roots, connections kept for the next event.
fn client(app: &App) -> reqwest::Client {
    let guarded = GuardedResolver { policy: app.webhooks.addresses.clone(), resolver: app.resolver.clone() };
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth());
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(guarded))
        .connect_timeout(ATTEMPT_TIMEOUT)
        .pool_idle_timeout(Duration::from_secs(30));
    let builder = match tls {
        Ok(tls) => builder.use_preconfigured_tls(tls),
        Err(e) => {
            tracing::error!(error = %e, "webhook TLS configuration failed; https callbacks will fail");
            builder
        }
    };
    builder.build().unwrap_or_default()
}

impl Worker {
    /// One loop: record the attempts that ended (all of them in one write), claim as many due
    /// deliveries as the pool has room for (one write), start them, and wait for an attempt to
    /// end or for the next poll. Attempts that end while a write is under way are recorded by
    /// the next, so under load each write carries many: the single SQLite writer is shared with
    /// the card changes themselves.
    async fn run(self) {
        let this = Arc::new(self);
        let (done, mut finished) = mpsc::unbounded_channel::<Finished>();
        let mut ended: Vec<Finished> = Vec::new();
        // Each attempt in flight: its delivery, organization and subscription.
        let mut in_flight: std::collections::HashMap<Uuid, (Uuid, Uuid)> = std::collections::HashMap::new();
        // Subscriptions whose last attempt failed.
        let mut failing: std::collections::HashSet<Uuid> = std::collections::HashSet::new();
        loop {
            while let Ok(attempt) = finished.try_recv() {
                ended.push(attempt);
            }
            for (attempt, outcome) in &ended {
                if let Some((_, subscription)) = in_flight.remove(&attempt.delivery_id) {
                    match outcome {
                        AttemptOutcome::Delivered => failing.remove(&subscription),
                        _ => failing.insert(subscription),
                    };
                }
            }
            let free = POOL - in_flight.len();
            // Both writes at once: they share the writer's next commit. A claim that runs first
            // cannot take what is being recorded (this worker's leases still hold it); it only
            // misses a card's next event, which the next loop claims.
            let share = fair_share(free, &in_flight, &failing);
            let recorded_some = !ended.is_empty();
            let (_, claimed) = tokio::join!(this.record(std::mem::take(&mut ended)), this.claim(&share));
            let full = claimed.len() == free;
            for delivery in claimed {
                let key = (delivery.delivery.event.organization_id, delivery.subscription.id);
                if delivery.subscription.health.consecutive_failures > 0 {
                    failing.insert(delivery.subscription.id); // as recorded, by any process
                }
                in_flight.insert(delivery.delivery.id, key);
                let (worker, done) = (this.clone(), done.clone());
                tokio::spawn(async move {
                    let _ = done.send(worker.attempt(delivery).await);
                });
            }
            // More may be due: claim again now. After a record, too: the claim beside it could
            // not take a card's next event while its previous one was still being recorded,
            // and waiting for the poll would hold each card's events to one per poll.
            if (full && free > 0) || recorded_some {
                continue;
            }
            // Wait for an attempt to end (the card's next event may now be due) or the poll.
            if let Ok(Some(attempt)) = tokio::time::timeout(POLL, finished.recv()).await {
                ended.push(attempt);
            }
        }
    }

    /// Leases due deliveries within `share`; none when the store cannot answer now.
    async fn claim(&self, share: &FairShare) -> Vec<ClaimedDelivery> {
        if share.room == 0 {
            return Vec::new();
        }
        let now = Timestamp::now();
        let until = now.saturating_add(LEASE).unwrap_or(now);
        match self.app.store.claim_webhook_deliveries(self.owner, now, until, share).await {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "claiming webhook deliveries failed; retrying in a second");
                tokio::time::sleep(Duration::from_secs(1)).await;
                Vec::new()
            }
        }
    }

    /// Records attempts that ended, in one write. One that cannot be recorded stays leased
    /// until its lease expires, then is attempted again: at least once.
    async fn record(&self, attempts: Vec<Finished>) {
        if attempts.is_empty() {
            return;
        }
        let ids: Vec<Uuid> = attempts.iter().map(|(a, _)| a.delivery_id).collect();
        match self.app.store.record_webhook_attempts(self.owner, attempts, self.app.webhooks.health).await {
            Ok(recorded) => {
                for (id, _) in ids.iter().zip(recorded).filter(|(_, recorded)| !recorded) {
                    tracing::warn!(delivery = %id, "the lease expired during the attempt; another worker has it");
                }
            }
            Err(e) => tracing::warn!(deliveries = ids.len(), error = %e, "recording webhook attempts failed"),
        }
    }

    /// One attempt of a claimed delivery, and what it leaves the delivery as.
    async fn attempt(&self, claimed: ClaimedDelivery) -> Finished {
        let ClaimedDelivery { delivery, subscription } = claimed;
        let number = delivery.attempts + 1;
        let body = envelope(&delivery.event, &subscription);
        let at = Timestamp::now();
        let started = Instant::now();
        let (request_headers, result) = match self.app.vault.open(subscription.id, &subscription.secret_sealed) {
            None => (Vec::new(), Err("the subscription's secret does not open with this card-data key".to_owned())),
            Some(secret) => {
                let headers = headers(&secret, delivery.id, number, at, body.as_bytes());
                let policy = &self.app.webhooks.addresses;
                let sent = post(&self.client, policy, &subscription.callback_url, &headers, body).await;
                (shown(&headers), sent)
            }
        };
        let latency_ms = started.elapsed().as_millis().min(u32::MAX as u128) as u32;
        let (status_code, answer, error) = match result {
            Ok((status, answer)) if (200..300).contains(&status) => (Some(status), answer, None),
            Ok((status, answer)) => (Some(status), answer, Some(format!("answered {status}, not 2xx"))),
            Err(error) => (None, String::new(), Some(error)),
        };
        let outcome = match (&error, self.app.webhooks.retry_delays.get(number as usize - 1)) {
            (None, _) => AttemptOutcome::Delivered,
            (Some(_), Some(delay)) => AttemptOutcome::RetryAt(Timestamp::now().saturating_add(*delay).unwrap_or(at)),
            (Some(_), None) => AttemptOutcome::Failed,
        };
        ATTEMPTS.record(&outcome, started.elapsed());
        let host = reqwest::Url::parse(&subscription.callback_url).ok().and_then(|u| u.host_str().map(str::to_owned));
        tracing::info!(
            delivery = %delivery.id, attempt = number, host = host.as_deref().unwrap_or("?"), status = status_code,
            latency_ms, error = error.as_deref().unwrap_or(""), outcome = ?outcome, "webhook attempt"
        );
        let attempt = DeliveryAttempt {
            delivery_id: delivery.id,
            number,
            at,
            latency_ms,
            status_code,
            error,
            answer,
            request_headers,
        };
        (attempt, outcome)
    }
}

/// How the pool's `free` slots are shared out: the organizations with attempts in flight
/// share the pool less [`NEWCOMER_ROOM`] equally, and each subscription whose receiver is
/// failing may have at most [`PER_FAILING_SUBSCRIPTION`] attempts in flight. So one
/// organization alone may use 60 of the 64 slots (a backlog drains nearly as fast as with no
/// shares), and an organization that floods its receivers never keeps another's deliveries
/// from starting: 4 slots are always free for a newcomer, and once it has attempts in flight
/// the two share 60 evenly.
fn fair_share(
    free: usize,
    in_flight: &std::collections::HashMap<Uuid, (Uuid, Uuid)>,
    failing: &std::collections::HashSet<Uuid>,
) -> FairShare {
    let organizations: std::collections::HashSet<Uuid> = in_flight.values().map(|(org, _)| *org).collect();
    FairShare {
        room: free,
        per_subscription: PER_FAILING_SUBSCRIPTION,
        per_organization: ((POOL - NEWCOMER_ROOM) / organizations.len().max(1)).max(1),
        in_flight: in_flight.values().copied().collect(),
        failing: failing.iter().copied().collect(),
    }
}

fn headers(secret: &str, delivery: Uuid, attempt: u32, at: Timestamp, body: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    };
    put("x-qonto-signature", signature::sign(secret, at.as_second(), body));
    put("x-cardinal-delivery-id", delivery.to_string());
    put("x-cardinal-attempt", attempt.to_string());
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(USER_AGENT, HeaderValue::from_static(concat!("Cardinal-Webhooks/", env!("CARGO_PKG_VERSION"))));
    headers
}

/// The headers as the control API shows them.
fn shown(headers: &HeaderMap) -> Vec<(String, String)> {
    headers.iter().map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned())).collect()
}

/// Posts `body`; the answer's status and its first 2 KiB, or why there was none in time.
async fn post(
    client: &reqwest::Client,
    policy: &AddressPolicy,
    url: &str,
    headers: &HeaderMap,
    body: String,
) -> Result<(u16, String), String> {
    let url = reqwest::Url::parse(url).map_err(|_| "the callback URL does not parse".to_owned())?;
    if literal_refusal(&url, policy).is_some() {
        return Err(NOT_ALLOWED.to_owned());
    }
    let deadline = tokio::time::Instant::now() + ATTEMPT_TIMEOUT;
    let sent = client.post(url).headers(headers.clone()).body(body).send();
    let mut response = tokio::time::timeout_at(deadline, sent)
        .await
        .map_err(|_| format!("no answer within {} ms", ATTEMPT_TIMEOUT.as_millis()))?
        .map_err(describe)?;
    let status = response.status().as_u16();
    // The status decided the attempt; the answer is only shown, so a slow or huge one is cut.
    let mut answer = Vec::new();
    let read_until = deadline.max(tokio::time::Instant::now() + Duration::from_millis(200));
    while answer.len() < ANSWER_LIMIT {
        match tokio::time::timeout_at(read_until, response.chunk()).await {
            Ok(Ok(Some(chunk))) => answer.extend_from_slice(&chunk[..chunk.len().min(ANSWER_LIMIT - answer.len())]),
            _ => break,
        }
    }
    Ok((status, String::from_utf8_lossy(&answer).into_owned()))
}

/// A failure without an answer, in words: the chain of causes ("connection refused"), said to
/// be TLS's when it is (rustls's own words, "received corrupt message", do not say so), or only
/// [`NOT_ALLOWED`] when the address rules refused the host.
fn describe(e: reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut tls = false;
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        // The address rules refused every address: say only that, never the port or URL.
        if cause.is::<NotAllowed>() {
            return NOT_ALLOWED.to_owned();
        }
        tls |= is_tls(cause);
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    if tls {
        text.insert_str(0, "TLS failed: ");
    }
    text
}

/// A rustls error, possibly inside I/O errors (the connector wraps it in two).
fn is_tls(cause: &(dyn std::error::Error + 'static)) -> bool {
    match cause.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
        Some(inner) => is_tls(inner),
        None => cause.is::<rustls::Error>(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_is_written_as_the_flag_takes_it() {
        assert_eq!(parse_retry_delays("10s,1m,5m,30m,2h,6h,12h,24h,24h").unwrap(), RETRY_DELAYS.to_vec());
        assert_eq!(
            parse_retry_delays(" 1s , 2s ").unwrap(),
            vec![SignedDuration::from_secs(1), SignedDuration::from_secs(2)]
        );
        assert_eq!(parse_retry_delays("1d").unwrap(), vec![SignedDuration::from_hours(24)]);
    }

    #[test]
    fn bad_delays_are_refused_with_their_reason() {
        for bad in ["", "10", "s", "10x", "-1s", "0s", "8d", "1.5s", "99999999999999999999s"] {
            assert!(parse_retry_delays(bad).is_err(), "{bad:?}");
        }
        assert!(parse_retry_delays(&vec!["1s"; 21].join(",")).unwrap_err().contains("at most 20"));
    }
}
