//! A card's audit events (control API).

use super::Time;
use crate::Text;
use cardinal_store::AuditEvent;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
#[schemars(rename = "Actor")]
pub struct ActorBody {
    #[serde(rename = "type")]
    #[schemars(schema_with = "actor_kinds")]
    pub kind: Text,
    pub id: Option<Uuid>,
}

/// One audit event of a card.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
#[schemars(rename = "Event")]
pub struct EventBody {
    pub id: Uuid,
    pub action: String,
    pub actor: ActorBody,
    pub from_status: Option<Text>,
    pub to_status: Text,
    pub changes: serde_json::Value,
    pub request_id: String,
    pub at: Time,
}

impl From<&AuditEvent> for EventBody {
    fn from(e: &AuditEvent) -> EventBody {
        EventBody {
            id: e.id,
            action: e.action.clone(),
            actor: ActorBody { kind: e.actor.kind.as_str().into(), id: e.actor.id },
            from_status: (e.from_status.map(|s| s.as_str())).map(Into::into),
            to_status: e.to_status.as_str().into(),
            changes: e.changes.clone(),
            request_id: e.request_id.clone(),
            at: Time(e.at),
        }
    }
}

fn actor_kinds(_: &mut SchemaGenerator) -> Schema {
    super::schema::one_of(["membership", "api_key", "system"])
}
