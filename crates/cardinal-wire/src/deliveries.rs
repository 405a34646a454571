//! The operator API's view of webhook deliveries and subscriptions (spec §7): what was sent,
//! every attempt, and how each receiver has been doing; and a subscription as Qonto's
//! `/v2/webhook_subscriptions` shows it.

use crate::{Text, Time};
use cardinal_store::{DeliveryAttempt, DeliveryStatus, SubscriptionHealth, WebhookDelivery, WebhookSubscription};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

/// One event to one subscription.
#[derive(Debug, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[schemars(rename = "WebhookDelivery")]
pub struct DeliverySummary {
    pub id: Uuid,
    pub subscription_id: Uuid,
    pub event_id: Uuid,
    #[serde(rename = "type")]
    pub topic: String,
    /// The `data.event` of the payload (`locked`, `created`, …).
    pub event: String,
    #[schemars(schema_with = "statuses")]
    pub status: Text,
    pub attempts: u32,
    pub next_attempt_at: Option<Time>,
    pub created_at: Time,
}

impl From<&WebhookDelivery> for DeliverySummary {
    fn from(d: &WebhookDelivery) -> DeliverySummary {
        let event = serde_json::from_str::<Value>(&d.event.data.text())
            .ok()
            .and_then(|data| data.get("event").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default();
        DeliverySummary {
            id: d.id,
            subscription_id: d.subscription_id,
            event_id: d.event.id,
            topic: d.event.topic.clone(),
            event,
            status: d.status.as_str().into(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at.map(Time),
            created_at: Time(d.event.created_at),
        }
    }
}

/// A delivery with the exact body sent and every attempt.
#[derive(Debug, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[schemars(rename = "WebhookDeliveryDetail")]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub summary: DeliverySummary,
    pub callback_url: String,
    /// The exact body sent.
    pub body: String,
    pub attempts_made: Vec<AttemptBody>,
}

crate::envelope!(
    #[schemars(rename = "WebhookDeliveryEnvelope")]
    DeliveryEnvelope { webhook_delivery: DeliveryDetail }
);
crate::page!(
    #[schemars(rename = "WebhookDeliveryList")]
    DeliveryList { webhook_deliveries: DeliverySummary }
);
crate::page!(
    #[schemars(rename = "WebhookSubscriptionHealthList")]
    SubscriptionHealthList { webhook_subscriptions: SubscriptionHealthBody }
);
crate::envelope!(
    #[schemars(rename = "WebhookSubscriptionHealthEnvelope")]
    SubscriptionHealthEnvelope { webhook_subscription: SubscriptionHealthBody }
);

/// One attempt of a delivery.
#[derive(Debug, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[schemars(rename = "WebhookAttempt")]
pub struct AttemptBody {
    pub number: u32,
    pub at: String,
    pub status_code: Option<u16>,
    pub latency_ms: u32,
    pub error: Option<String>,
    /// The first 2 KiB of the answer.
    pub answer: String,
    /// The headers sent, signature included.
    pub headers: serde_json::Map<String, Value>,
}

impl From<&DeliveryAttempt> for AttemptBody {
    fn from(a: &DeliveryAttempt) -> AttemptBody {
        AttemptBody {
            number: a.number,
            at: a.at.to_string(),
            status_code: a.status_code,
            latency_ms: a.latency_ms,
            error: a.error.clone(),
            answer: a.answer.clone(),
            headers: a.request_headers.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect(),
        }
    }
}

/// A subscription as the control API shows it: whoever made it, and how its receiver has been
/// doing (never its secret).
#[derive(Debug, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[schemars(rename = "WebhookSubscriptionHealth")]
pub struct SubscriptionHealthBody {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub membership_id: Uuid,
    pub callback_url: String,
    pub types: Vec<String>,
    /// `active`; `slowed` (its deliveries wait until `paused_until`); `disabled` (nothing is
    /// attempted or made for it until its owner updates it or it is enabled here).
    #[schemars(schema_with = "health_states")]
    pub state: Text,
    /// Failed attempts since the last success.
    pub consecutive_failures: u32,
    pub failing_since: Option<String>,
    pub paused_until: Option<String>,
    pub disabled_at: Option<String>,
}

impl SubscriptionHealthBody {
    pub fn of(s: &WebhookSubscription) -> SubscriptionHealthBody {
        let SubscriptionHealth { consecutive_failures, failing_since, paused_until, disabled_at } = s.health;
        let text = |t: Option<jiff::Timestamp>| t.map(|t| t.to_string());
        SubscriptionHealthBody {
            id: s.id,
            organization_id: s.organization_id,
            membership_id: s.membership_id,
            callback_url: s.callback_url.clone(),
            types: s.types.clone(),
            state: s.health.state().into(),
            consecutive_failures,
            failing_since: text(failing_since),
            paused_until: text(paused_until),
            disabled_at: text(disabled_at),
        }
    }
}

fn health_states(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    crate::schema::one_of(["active", "slowed", "disabled"])
}

fn statuses(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    crate::schema::one_of(DeliveryStatus::ALL.iter().map(|s| s.as_str()))
}

/// A subscription as Qonto shows it; `secret` only in the create answer.
#[derive(Debug, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[schemars(rename = "WebhookSubscription")]
pub struct SubscriptionBody {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub membership_id: Uuid,
    pub callback_url: String,
    pub types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created_at: Time,
    pub updated_at: Time,
}

/// The create answer: the subscription and its signing secret, shown this once.
#[derive(Debug, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[schemars(rename = "WebhookSubscriptionWithSecret")]
pub struct SubscriptionWithSecret {
    #[serde(flatten)]
    pub subscription: SubscriptionBody,
    pub secret: String,
}

/// A subscription as read and replaced: `"secret": null`, the key present (strict clients
/// require it), its value shown only by the create answer.
#[derive(Debug, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[schemars(rename = "WebhookSubscriptionRead")]
pub struct SubscriptionShown {
    #[serde(flatten)]
    pub subscription: SubscriptionBody,
    /// Always `null` here.
    pub secret: Option<String>,
}

impl SubscriptionShown {
    pub fn of(s: &WebhookSubscription) -> SubscriptionShown {
        SubscriptionShown { subscription: SubscriptionBody::of(s), secret: None }
    }
}

crate::page!(
    /// `GET /v2/webhook_subscriptions`: the caller's own, oldest first.
    #[schemars(rename = "WebhookSubscriptionList")]
    SubscriptionList { subscriptions: SubscriptionShown }
);

impl SubscriptionBody {
    pub fn of(s: &WebhookSubscription) -> SubscriptionBody {
        SubscriptionBody {
            id: s.id,
            organization_id: s.organization_id,
            membership_id: s.membership_id,
            callback_url: s.callback_url.clone(),
            types: s.types.clone(),
            description: s.description.clone(),
            created_at: Time(s.created_at),
            updated_at: Time(s.updated_at),
        }
    }
}
