//! Card requests as Qonto writes them (`qonto-reference.md` §3): bodies wrapped in
//! `request_flash_card` / `request_virtual_card`, amounts as decimal strings (`"250.00"`),
//! answers wrapped the same way, lists under `requests`.

use crate::webhooks::DecimalString;
use crate::{euros, Text, Time};
use cardinal_domain::requests::{Ask, CardRequest};
use cardinal_domain::Cents;
use schemars::JsonSchema;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

impl<'de> Deserialize<'de> for DecimalString {
    /// A decimal string (`"250.00"`, Qonto's form) or a number (an older snapshot's): euros,
    /// not negative, at most two decimals.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<DecimalString, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        let number = match &value {
            serde_json::Value::String(text) => text
                .trim()
                .parse::<serde_json::Number>()
                .map_err(|_| D::Error::custom("must be a decimal amount such as \"250.00\""))?,
            serde_json::Value::Number(number) => number.clone(),
            _ => return Err(D::Error::custom("must be a decimal amount such as \"250.00\"")),
        };
        euros(&number).map(DecimalString).map_err(D::Error::custom)
    }
}

impl JsonSchema for DecimalString {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "DecimalString".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": ["string", "number"],
            "description": "euros as a decimal string (\"250.00\"); a number is read too"
        })
    }
}

/// `POST /v2/requests/flash_cards`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct FlashCardRequestBody {
    pub request_flash_card: FlashCardAsk,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct FlashCardAsk {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The budget the card may spend in its life.
    pub payment_lifespan_limit: DecimalString,
    /// The card's last valid moment.
    pub pre_expires_at: Time,
}

/// `POST /v2/requests/virtual_cards`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct VirtualCardRequestBody {
    pub request_virtual_card: VirtualCardAsk,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct VirtualCardAsk {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The card's monthly payment limit.
    pub payment_monthly_limit: DecimalString,
}

/// `POST /v2/requests/{request_type}/{id}/approve`: the account to link the card to (the
/// main one when absent).
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ApproveRequestBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debit_iban: Option<String>,
}

/// `POST /v2/requests/{request_type}/{id}/decline`.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct DeclineRequestBody {
    #[schemars(length(max = 250))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declined_note: Option<String>,
}

/// A card request as Qonto shows it: the flash card's budget and end, or the virtual card's
/// monthly limit.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct CardRequestBody {
    pub id: Uuid,
    #[schemars(schema_with = "request_types")]
    pub request_type: Text,
    #[schemars(schema_with = "request_statuses")]
    pub status: Text,
    pub initiator_id: Uuid,
    pub approver_id: Option<Uuid>,
    pub note: String,
    pub declined_note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_lifespan_limit: Option<DecimalString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_expires_at: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_monthly_limit: Option<DecimalString>,
    pub currency: Text,
    pub processed_at: Option<Time>,
    pub created_at: Time,
}

impl From<&CardRequest> for CardRequestBody {
    fn from(r: &CardRequest) -> CardRequestBody {
        let (lifespan, end, monthly) = match &r.ask {
            Ask::Flash { lifespan_limit, pre_expires_at } => (Some(*lifespan_limit), Some(*pre_expires_at), None),
            Ask::Virtual { monthly_limit } => (None, None, Some(*monthly_limit)),
        };
        let decimal = |c: Option<Cents>| c.map(DecimalString);
        CardRequestBody {
            id: r.id,
            request_type: r.ask.request_type().as_str().into(),
            status: r.status.as_str().into(),
            initiator_id: r.initiator_id,
            approver_id: r.approver_id,
            note: r.note.clone(),
            declined_note: r.declined_note.clone(),
            payment_lifespan_limit: decimal(lifespan),
            pre_expires_at: end.map(Time),
            payment_monthly_limit: decimal(monthly),
            currency: "EUR".into(),
            processed_at: r.processed_at.map(Time),
            created_at: Time(r.created_at),
        }
    }
}

/// A request answer, wrapped by its type: `{"request_flash_card": …}` or
/// `{"request_virtual_card": …}`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum CardRequestEnvelope {
    Flash { request_flash_card: CardRequestBody },
    Virtual { request_virtual_card: CardRequestBody },
}

impl CardRequestEnvelope {
    pub fn of(request: &CardRequest) -> CardRequestEnvelope {
        let body = CardRequestBody::from(request);
        match request.ask {
            Ask::Flash { .. } => CardRequestEnvelope::Flash { request_flash_card: body },
            Ask::Virtual { .. } => CardRequestEnvelope::Virtual { request_virtual_card: body },
        }
    }

    pub fn request(&self) -> &CardRequestBody {
        match self {
            CardRequestEnvelope::Flash { request_flash_card } => request_flash_card,
            CardRequestEnvelope::Virtual { request_virtual_card } => request_virtual_card,
        }
    }
}

crate::page!(
    /// `GET /v2/requests`.
    CardRequestList { requests: CardRequestBody }
);

fn request_types(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    crate::schema::one_of(cardinal_domain::requests::RequestType::ALL.iter().map(|t| t.as_str()))
}

fn request_statuses(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    crate::schema::one_of(cardinal_domain::requests::RequestStatus::ALL.iter().map(|s| s.as_str()))
}
