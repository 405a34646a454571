//! Webhooks: subscriptions, the events changes report (the outbox) and their deliveries.
//!
//! An event is written in the transaction of the change it reports, and only when its
//! organization has a subscription to its topic at that moment; a delivery row per such
//! subscription is written with it. So no change is committed without its deliveries and no
//! delivery exists for a change that was not, and events from before a subscription are never
//! sent (as Qonto). Delivery workers claim due deliveries under a lease: one attempt, one process.

use crate::PageRequest;
use jiff::Timestamp;
use uuid::Uuid;

/// The topics Cardinal sends; others Qonto lists are stored on a subscription, never sent.
pub const TOPICS_SENT: [&str; 2] = ["v1/cards", "v1/transactions"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSubscription {
    pub id: Uuid,
    pub organization_id: Uuid,
    /// Who subscribed: the subscription is listed to them only.
    pub membership_id: Uuid,
    pub callback_url: String,
    pub types: Vec<String>,
    pub description: Option<String>,
    /// The signing secret sealed with the card-data key, the subscription id as associated data.
    pub secret_sealed: Vec<u8>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// An event a change reports, written in the change's transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    /// The envelope's `id`, for receivers to de-duplicate.
    pub id: Uuid,
    pub organization_id: Uuid,
    /// `v1/cards` or `v1/transactions`.
    pub topic: String,
    /// Deliveries with one key reach one subscription in the order they were written: the card.
    pub ordering_key: Uuid,
    /// The envelope's `data`, JSON text.
    pub data: String,
    /// On the organization's clock (sandbox time travel shows in `created_at`).
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Not yet delivered; attempts remain.
    Pending,
    Delivered,
    /// Every attempt failed.
    Failed,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 3] = [DeliveryStatus::Pending, DeliveryStatus::Delivered, DeliveryStatus::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        DeliveryStatus::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// One event to one subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    pub id: Uuid,
    pub event: OutboxEvent,
    pub subscription_id: Uuid,
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due (real time); `None` once delivered or failed.
    pub next_attempt_at: Option<Timestamp>,
}

/// A delivery a worker holds the lease of, with its subscription (whose secret signs it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    pub delivery: WebhookDelivery,
    pub subscription: WebhookSubscription,
}

/// What one attempt sent and got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    pub delivery_id: Uuid,
    /// 1 for the first attempt.
    pub number: u32,
    /// Real time the attempt started.
    pub at: Timestamp,
    pub latency_ms: u32,
    /// The answer's status; `None` when there was none (refused, timed out, TLS error).
    pub status_code: Option<u16>,
    /// Why the attempt failed without an answer, or why an answer did not count.
    pub error: Option<String>,
    /// The first 2 KiB of the answer's body.
    pub answer: String,
    /// The headers sent, signature included (never the secret).
    pub request_headers: Vec<(String, String)>,
}

/// What an attempt leaves the delivery as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered,
    RetryAt(Timestamp),
    Failed,
}

impl AttemptOutcome {
    /// The delivery's status and next due time (real milliseconds) after the attempt, as both
    /// backends store them.
    pub fn columns(self) -> (&'static str, Option<i64>) {
        match self {
            AttemptOutcome::Delivered => ("delivered", None),
            AttemptOutcome::RetryAt(at) => ("pending", Some(at.as_millisecond())),
            AttemptOutcome::Failed => ("failed", None),
        }
    }
}

/// Deliveries of one organization, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryQuery {
    pub organization_id: Uuid,
    pub status: Option<DeliveryStatus>,
    pub subscription_id: Option<Uuid>,
    pub page: PageRequest,
}

/// A subscription's `types` as both backends store them: a JSON array of strings.
pub fn types_column(types: &[String]) -> String {
    serde_json::to_string(types).unwrap_or_else(|_| "[]".into())
}

/// The stored `types`, read back; `None` when the column is not such an array.
pub fn types_from_column(text: &str) -> Option<Vec<String>> {
    serde_json::from_str(text).ok()
}

/// How one claim shares a worker's room out, so that one organization (or one subscription)
/// with a flood of due deliveries cannot take every attempt slot while another waits: each
/// subscription may have at most `per_subscription` attempts in flight, each organization at
/// most `per_organization`. Subscriptions and organizations already at their cap are left out
/// of the claim's query, so the deliveries behind a flood are reached at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FairShare {
    /// Deliveries the worker can attempt now.
    pub room: usize,
    pub per_subscription: usize,
    pub per_organization: usize,
    /// The worker's attempts in flight, as (organization, subscription).
    pub in_flight: Vec<(Uuid, Uuid)>,
}

impl FairShare {
    /// Room for `room` deliveries and no caps: for tests and tools.
    pub fn room(room: usize) -> FairShare {
        FairShare { room, per_subscription: usize::MAX, per_organization: usize::MAX, in_flight: Vec::new() }
    }

    fn counts(&self) -> (std::collections::HashMap<Uuid, usize>, std::collections::HashMap<Uuid, usize>) {
        let (mut organizations, mut subscriptions) = (std::collections::HashMap::new(), std::collections::HashMap::new());
        for (organization, subscription) in &self.in_flight {
            *organizations.entry(*organization).or_insert(0) += 1;
            *subscriptions.entry(*subscription).or_insert(0) += 1;
        }
        (organizations, subscriptions)
    }

    /// Organizations and subscriptions at their cap: the claim's query leaves them out.
    pub fn saturated(&self) -> (Vec<Uuid>, Vec<Uuid>) {
        let (organizations, subscriptions) = self.counts();
        let full = |counts: std::collections::HashMap<Uuid, usize>, cap: usize| {
            counts.into_iter().filter(|(_, n)| *n >= cap).map(|(id, _)| id).collect::<Vec<Uuid>>()
        };
        (full(organizations, self.per_organization), full(subscriptions, self.per_subscription))
    }

    /// How many candidates a claim reads: more than its room, so that caps reached within the
    /// claim still leave enough.
    pub fn candidates(&self) -> usize {
        self.room.saturating_mul(4).max(16)
    }

    /// Of `candidates` (in due order, as (organization, subscription)), the positions this claim
    /// takes: in order, within the room and the caps.
    pub fn pick(&self, candidates: impl IntoIterator<Item = (Uuid, Uuid)>) -> Vec<usize> {
        let (mut organizations, mut subscriptions) = self.counts();
        let mut picked = Vec::new();
        for (position, (organization, subscription)) in candidates.into_iter().enumerate() {
            if picked.len() == self.room {
                break;
            }
            let in_organization = organizations.entry(organization).or_insert(0);
            let in_subscription = subscriptions.entry(subscription).or_insert(0);
            if *in_organization < self.per_organization && *in_subscription < self.per_subscription {
                *in_organization += 1;
                *in_subscription += 1;
                picked.push(position);
            }
        }
        picked
    }
}
