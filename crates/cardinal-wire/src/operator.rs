//! The operator API's and sandbox control API's answers (Cardinal's own routes, not Qonto's):
//! organizations as an operator sees them, the credentials made for them, resets and
//! simulated authorizations.

use crate::Text;
use crate::{BankAccountBody, Card, Euros, Time};
use cardinal_store::Organization;
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

/// An organization's settings and its own clock's time.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
#[schemars(rename = "OperatorOrganizationSummary")]
pub struct OrganizationSummary {
    #[serde(flatten)]
    pub settings: OrganizationSettings,
    /// The organization's clock (sandbox time travel moves it).
    pub now: Time,
    pub created_at: Time,
}

impl From<&Organization> for OrganizationSummary {
    fn from(o: &Organization) -> OrganizationSummary {
        OrganizationSummary {
            settings: OrganizationSettings::from(o),
            now: Time(o.now()),
            created_at: Time(o.created_at),
        }
    }
}

crate::page!(
    /// `GET /_operator/organizations`: oldest first.
    OrganizationList { organizations: OrganizationSummary }
);

/// `GET /_operator/organizations/{id}`.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
#[schemars(rename = "OperatorOrganizationDetail")]
pub struct OrganizationDetail {
    #[serde(flatten)]
    pub summary: OrganizationSummary,
    pub bank_accounts: Vec<BankAccountBody>,
    pub teams: Vec<TeamBody>,
    pub memberships_count: u64,
}

crate::envelope!(
    #[schemars(rename = "OperatorOrganization")]
    OrganizationEnvelope { organization: OrganizationDetail }
);

#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
#[schemars(rename = "Team")]
pub struct TeamBody {
    pub id: Uuid,
    pub name: String,
}

/// The answer to creating an organization: the only time its secrets are shown.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
#[schemars(rename = "SandboxOrganization")]
pub struct CreatedOrganization {
    pub organization: OrganizationSettings,
    pub bank_account: Option<BankAccountBody>,
    pub api_key: ApiKeyPair,
    pub memberships: Vec<CreatedMember>,
    /// Demo cards (sandbox only).
    pub cards: Vec<Card>,
}

/// An organization's settings.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct OrganizationSettings {
    pub id: Uuid,
    pub slug: String,
    pub legal_name: String,
    pub locale: String,
    pub timezone: String,
    pub country: String,
    #[schemars(schema_with = "crate::schema::sca_mode")]
    pub sca_mode: Text,
}

impl From<&Organization> for OrganizationSettings {
    fn from(o: &Organization) -> OrganizationSettings {
        OrganizationSettings {
            id: o.id,
            slug: o.slug.clone(),
            legal_name: o.legal_name.clone(),
            locale: o.locale.clone(),
            timezone: o.timezone.clone(),
            country: o.country.clone(),
            sca_mode: o.sca_mode.as_str().into(),
        }
    }
}

/// The organization's read-only API key: `Authorization: <login>:<secret_key>`.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct ApiKeyPair {
    pub login: String,
    pub secret_key: String,
}

/// A member made with the organization, with an access token holding every scope.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct CreatedMember {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    #[schemars(schema_with = "crate::schema::role")]
    pub role: Text,
    pub team_id: Option<Uuid>,
    pub email: String,
    pub access_token: String,
}

/// `POST /_operator/tokens`.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct AccessToken {
    pub access_token: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<Time>,
}

/// `POST /_operator/organizations/{id}/api_key`: a new key; the former one stops working.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct ApiKey {
    pub login: String,
    pub secret_key: String,
    pub created_at: Time,
}

/// `POST /_sandbox/organizations/{id}/reset`.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct Reset {
    pub organization_id: Uuid,
    /// The demo cards made again.
    pub cards: usize,
    pub now: Time,
}

/// `POST /_sandbox/cards/{id}/authorizations`: declines are answers, not errors.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct AuthorizationBody {
    pub id: Uuid,
    pub card_id: Uuid,
    #[schemars(schema_with = "crate::schema::decision")]
    pub decision: Text,
    pub decline_reason: Option<String>,
    pub amount: Euros,
    pub transaction_id: Uuid,
    pub at: Time,
}

crate::envelope!(
    #[schemars(rename = "Authorization")]
    AuthorizationEnvelope { authorization: AuthorizationBody }
);

/// One `/v2` request as the sandbox's request log keeps it (spec §10).
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
#[schemars(rename = "LoggedRequest")]
pub struct LoggedRequestBody {
    /// Increases with each request this process kept; a stream resumes after it.
    pub sequence: u64,
    /// What the answer's `X-Request-Id` and an error's `trace_id` said.
    pub request_id: String,
    pub at: Time,
    pub method: String,
    /// The route's template, when one matched (`/v2/cards/{id}`).
    pub route: Option<String>,
    pub path: String,
    pub query: Option<String>,
    pub status: u16,
    pub latency_ms: f64,
    pub idempotency_key: Option<String>,
    /// `access_token` or `api_key` (the secret itself is never kept).
    pub credential: Text,
    pub membership_id: Uuid,
    pub request_body: KeptBody,
    pub response_body: KeptBody,
}

/// A request's or answer's body as kept: its text (cut at 16 KiB), or why it was not kept.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct KeptBody {
    pub text: Option<String>,
    pub truncated: bool,
    /// Why the body was not kept (it holds a secret, or is not text).
    pub withheld: Option<Text>,
}

crate::page!(
    /// `GET /_sandbox/organizations/{id}/requests`: newest first.
    #[schemars(rename = "LoggedRequestList")]
    LoggedRequestList { requests: LoggedRequestBody }
);
