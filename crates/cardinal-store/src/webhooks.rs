//! Webhooks: subscriptions, the events changes report (the outbox) and their deliveries.
//!
//! The contract both backends keep: an event is written in the transaction of the change it
//! reports ([`crate::CardWrite`] and the payment changes carry it), and only when its
//! organization has a subscription to its topic at that moment; each such subscription gets
//! exactly one delivery of it. So no change is committed without its deliveries, no delivery
//! exists for a change that was not, and events from before a subscription are never sent (as
//! Qonto). Deliveries of one subscription and ordering key (a card) are attempted in the order
//! of their events. Delivery workers claim due deliveries under a lease: one attempt, one
//! process.
//!
//! The two backends meet it in two ways:
//! - **PostgreSQL** writes the delivery rows with the event, in the change's transaction (the
//!   subscribers are read there).
//! - **SQLite** writes the event with the ids of its subscribers (`subscribers`) in the change's
//!   transaction, and a cursor (`webhook_expansion`) expands events into delivery rows, in event
//!   order, before every claim and before the operator API lists or shows deliveries: the
//!   single writer commits a card change without a write per subscriber, and the expansion
//!   happens in one write for many events. A subscription deleted before its events were
//!   expanded gets none of them.

use crate::{OutboxEvent, PageRequest};
use jiff::Timestamp;
use uuid::Uuid;

/// Subscriptions one organization may have at once; one more is refused (422
/// `limit_reached`). Each subscription multiplies every event's deliveries, so the cap bounds
/// what one organization can ask of the delivery workers.
pub const SUBSCRIPTIONS_PER_ORGANIZATION: i64 = 25;

/// The refusal of a subscription past [`SUBSCRIPTIONS_PER_ORGANIZATION`].
pub fn too_many_subscriptions() -> crate::StoreError {
    crate::StoreError::Domain(cardinal_domain::DomainError::Invalid(vec![cardinal_domain::FieldIssue::new(
        "limit_reached",
        "",
        format!("an organization may have at most {SUBSCRIPTIONS_PER_ORGANIZATION} webhook subscriptions"),
    )]))
}

/// The topics Cardinal sends; others Qonto lists are stored on a subscription, never sent.
pub const TOPICS_SENT: [&str; 4] = ["v1/cards", "v1/transactions", "v1/consent-revocations", "v1/memberships"];

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
    /// How its receiver has been doing: slowed or disabled after failures.
    pub health: SubscriptionHealth,
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

/// How one claim shares a worker's room out, so that one organization (or one failing
/// subscription) with a flood of due deliveries cannot take every attempt slot while another
/// waits: each organization may have at most `per_organization` attempts in flight, and each
/// subscription whose receiver is failing at most `per_subscription` (a healthy receiver may
/// take its organization's whole share: that is how a backlog drains fast). Organizations and
/// subscriptions already at their cap are left out of the claim's query, so the deliveries
/// behind a flood are reached at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FairShare {
    /// Deliveries the worker can attempt now.
    pub room: usize,
    /// The cap of a subscription in `failing`.
    pub per_subscription: usize,
    pub per_organization: usize,
    /// The worker's attempts in flight, as (organization, subscription).
    pub in_flight: Vec<(Uuid, Uuid)>,
    /// Subscriptions whose receivers are failing (their last attempt failed).
    pub failing: Vec<Uuid>,
}

impl FairShare {
    /// Room for `room` deliveries and no caps: for tests and tools.
    pub fn room(room: usize) -> FairShare {
        FairShare {
            room,
            per_subscription: usize::MAX,
            per_organization: usize::MAX,
            in_flight: Vec::new(),
            failing: Vec::new(),
        }
    }

    fn counts(&self) -> (std::collections::HashMap<Uuid, usize>, std::collections::HashMap<Uuid, usize>) {
        let (mut organizations, mut subscriptions) =
            (std::collections::HashMap::new(), std::collections::HashMap::new());
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
        let failing = subscriptions.into_iter().filter(|(id, _)| self.failing.contains(id)).collect();
        (full(organizations, self.per_organization), full(failing, self.per_subscription))
    }

    /// How many candidates a claim reads: its room (at least 16). When a cap is reached within
    /// the claim, the candidates behind it wait for the next claim, which leaves the capped
    /// out: reading more each time was measured to cost a backlog's drain a tenth of its rate.
    pub fn candidates(&self) -> usize {
        self.room.max(16)
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
            let subscription_cap =
                if self.failing.contains(&subscription) { self.per_subscription } else { usize::MAX };
            if *in_organization < self.per_organization && *in_subscription < subscription_cap {
                *in_organization += 1;
                *in_subscription += 1;
                picked.push(position);
            }
        }
        picked
    }
}

/// How a subscription's receiver has been doing, kept on the subscription: a receiver that
/// keeps failing is slowed (its deliveries wait, with a pause that doubles), then disabled
/// (nothing more is attempted or written for it) once it has failed without a success for
/// [`HealthRules::disable_after`]. A success ends a streak; an update by its owner, or the
/// control API, enables it again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubscriptionHealth {
    /// Failed attempts since the last success.
    pub consecutive_failures: u32,
    /// When the first of them was made (real time).
    pub failing_since: Option<Timestamp>,
    /// Slowed: its deliveries are not attempted before this.
    pub paused_until: Option<Timestamp>,
    /// Disabled: when.
    pub disabled_at: Option<Timestamp>,
}

/// The rules of [`SubscriptionHealth`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthRules {
    /// Failures in a row after which the subscription is slowed.
    pub slow_after: u32,
    /// The first pause; each failure after it doubles the pause, up to `longest_pause`.
    pub first_pause: jiff::SignedDuration,
    pub longest_pause: jiff::SignedDuration,
    /// How long a subscription may fail without a success before it is disabled.
    pub disable_after: jiff::SignedDuration,
}

impl Default for HealthRules {
    /// Five failures in a row slow a subscription (5 s, doubling up to 10 min); five days of
    /// failures disable it, as Svix does.
    fn default() -> HealthRules {
        HealthRules {
            slow_after: 5,
            first_pause: jiff::SignedDuration::from_secs(5),
            longest_pause: jiff::SignedDuration::from_mins(10),
            disable_after: jiff::SignedDuration::from_hours(5 * 24),
        }
    }
}

impl SubscriptionHealth {
    /// "disabled"; "slowed" from the first pause until a success (between pauses its
    /// deliveries are attempted, and each failure pauses it again); else "active".
    pub fn state(&self) -> &'static str {
        match (self.disabled_at, self.paused_until) {
            (Some(_), _) => "disabled",
            (None, Some(_)) => "slowed",
            _ => "active",
        }
    }

    /// The health after `attempts` (when each was made, and whether it succeeded), in the
    /// order they were made, recorded at `now`.
    pub fn after(mut self, attempts: &[(Timestamp, bool)], now: Timestamp, rules: &HealthRules) -> SubscriptionHealth {
        for (at, succeeded) in attempts {
            if *succeeded {
                self = SubscriptionHealth { disabled_at: self.disabled_at, ..SubscriptionHealth::default() };
            } else {
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                self.failing_since.get_or_insert(*at);
            }
        }
        if self.disabled_at.is_some() || self.consecutive_failures < rules.slow_after {
            return self;
        }
        let doublings = (self.consecutive_failures - rules.slow_after).min(16) as i32;
        let pause = (rules.first_pause * 2i32.pow(doublings as u32)).min(rules.longest_pause);
        self.paused_until = now.checked_add(pause).ok();
        let failing_for = self.failing_since.map(|since| now.duration_since(since));
        if failing_for.is_some_and(|failing| failing >= rules.disable_after) {
            self.disabled_at = Some(now);
        }
        self
    }

    /// Real milliseconds, as both backends store the four columns.
    pub fn columns(&self) -> (i64, Option<i64>, Option<i64>, Option<i64>) {
        let ms = |t: Option<Timestamp>| t.map(|t| t.as_millisecond());
        (i64::from(self.consecutive_failures), ms(self.failing_since), ms(self.paused_until), ms(self.disabled_at))
    }

    /// The health read back from those columns.
    pub fn from_columns(failures: i64, since: Option<i64>, paused: Option<i64>, disabled: Option<i64>) -> Self {
        let at = |ms: Option<i64>| ms.and_then(|ms| Timestamp::from_millisecond(ms).ok());
        SubscriptionHealth {
            consecutive_failures: failures.clamp(0, i64::from(u32::MAX)) as u32,
            failing_since: at(since),
            paused_until: at(paused),
            disabled_at: at(disabled),
        }
    }
}

#[cfg(test)]
mod health_tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    #[test]
    fn failures_slow_a_subscription_then_disable_it_and_a_success_heals_it() {
        let rules = HealthRules { disable_after: jiff::SignedDuration::from_secs(60), ..HealthRules::default() };
        let four: Vec<(Timestamp, bool)> = (0..4).map(|i| (at(i), false)).collect();
        let health = SubscriptionHealth::default().after(&four, at(4), &rules);
        assert_eq!((health.consecutive_failures, health.state()), (4, "active"));
        let health = health.after(&[(at(5), false)], at(5), &rules);
        assert_eq!(health.paused_until, Some(at(10)), "slowed for the first pause");
        assert_eq!(health.state(), "slowed");
        let health = health.after(&[(at(11), false)], at(11), &rules);
        assert_eq!(health.paused_until, Some(at(21)), "the pause doubles");
        let healed = health.after(&[(at(12), false), (at(13), true)], at(13), &rules);
        assert_eq!(healed, SubscriptionHealth::default(), "a success ends the streak");
        let failing = health.after(&[(at(60), false)], at(60), &rules);
        assert_eq!((failing.disabled_at, failing.state()), (Some(at(60)), "disabled"));
        let longest = SubscriptionHealth { consecutive_failures: 40, ..health }.after(&[], at(30), &rules);
        assert_eq!(longest.paused_until, Some(at(630)), "ten minutes at most");
    }
}

/// What recording attempts does to their subscriptions' health: each subscription's attempts
/// (when made, whether they succeeded) in the order given. `subscription_of` names a
/// delivery's subscription.
pub fn attempts_by_subscription(
    attempts: &[(&DeliveryAttempt, AttemptOutcome)],
    subscription_of: impl Fn(Uuid) -> Option<Uuid>,
) -> Vec<(Uuid, Vec<(Timestamp, bool)>)> {
    let mut grouped: Vec<(Uuid, Vec<(Timestamp, bool)>)> = Vec::new();
    for (attempt, outcome) in attempts {
        let Some(subscription) = subscription_of(attempt.delivery_id) else { continue };
        let made = (attempt.at, *outcome == AttemptOutcome::Delivered);
        match grouped.iter_mut().find(|(id, _)| *id == subscription) {
            Some((_, list)) => list.push(made),
            None => grouped.push((subscription, vec![made])),
        }
    }
    grouped
}

/// What a backend does with a subscription's new health besides storing it: `Disable` fails
/// its pending deliveries, `Pause` moves them to the end of the pause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthConsequence {
    None,
    Pause(Timestamp),
    Disable,
}

impl HealthConsequence {
    pub fn of(before: &SubscriptionHealth, after: &SubscriptionHealth) -> HealthConsequence {
        match (before.disabled_at, after.disabled_at, after.paused_until) {
            (None, Some(_), _) => HealthConsequence::Disable,
            (_, None, Some(until)) if after.paused_until != before.paused_until => HealthConsequence::Pause(until),
            _ => HealthConsequence::None,
        }
    }
}
