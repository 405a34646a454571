//! Teams and invitations as Qonto writes them (`qonto-reference.md` §4, §8.1): a team is
//! created with an unwrapped `{"name"}` and answered wrapped in `team`; an invitation is
//! wrapped in `membership` both ways.

use crate::operator::TeamBody;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `POST /v2/teams`: unwrapped.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct TeamRequest {
    #[schemars(length(min = 1, max = 60))]
    pub name: String,
}

crate::envelope!(
    /// `POST /v2/teams` → 201.
    TeamEnvelope { team: TeamBody }
);

crate::page!(
    /// `GET /v2/teams`.
    TeamList { teams: TeamBody }
);

/// `POST /v2/memberships/invite_employee_or_accountant`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct InviteRequest {
    pub membership: Invitation,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Invitation {
    #[schemars(length(max = 254), extend("format" = "email"))]
    pub email: String,
    #[schemars(length(min = 1, max = 60))]
    pub first_name: String,
    #[schemars(length(min = 1, max = 60))]
    pub last_name: String,
    /// `employee`, or `reporting` (an accountant); default `employee`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "invitable_roles")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<Uuid>,
}

fn invitable_roles(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    crate::schema::nullable(crate::schema::one_of(["employee", "reporting", "accountant"]))
}
