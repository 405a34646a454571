//! The organization, its bank accounts and its members.

use super::{Euros, Time};
use crate::Text;
use cardinal_store::{BankAccount, Membership, Organization};
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
#[schemars(rename = "BankAccount")]
pub struct BankAccountBody {
    pub id: Uuid,
    pub name: String,
    pub organization_id: Uuid,
    pub status: String,
    pub main: bool,
    pub iban: String,
    pub bic: String,
    pub currency: String,
    pub balance: Euros,
    pub balance_cents: i64,
    pub authorized_balance: Euros,
    pub authorized_balance_cents: i64,
    pub updated_at: Time,
}

impl From<&BankAccount> for BankAccountBody {
    fn from(b: &BankAccount) -> BankAccountBody {
        BankAccountBody {
            id: b.id,
            name: b.name.clone(),
            organization_id: b.organization_id,
            status: b.status.clone(),
            main: b.main,
            iban: b.iban.clone(),
            bic: b.bic.clone(),
            currency: b.currency.clone(),
            balance: Euros(b.balance),
            balance_cents: b.balance.0,
            authorized_balance: Euros(b.authorized_balance),
            authorized_balance_cents: b.authorized_balance.0,
            updated_at: Time(b.updated_at),
        }
    }
}

#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
#[schemars(rename = "Organization")]
pub struct OrganizationBody {
    pub id: Uuid,
    pub slug: String,
    pub legal_name: String,
    pub locale: String,
    pub bank_accounts: Vec<BankAccountBody>,
}

impl OrganizationBody {
    pub fn of(o: &Organization, accounts: &[BankAccount]) -> OrganizationBody {
        OrganizationBody {
            id: o.id,
            slug: o.slug.clone(),
            legal_name: o.legal_name.clone(),
            locale: o.locale.clone(),
            bank_accounts: accounts.iter().map(BankAccountBody::from).collect(),
        }
    }
}

/// A member as `GET /v2/memberships` lists them.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
#[schemars(rename = "Membership")]
pub struct MembershipSummary {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    #[schemars(schema_with = "super::schema::role")]
    pub role: Text,
    pub status: String,
    pub team_id: Option<Uuid>,
}

impl From<&Membership> for MembershipSummary {
    fn from(m: &Membership) -> MembershipSummary {
        MembershipSummary {
            id: m.id,
            first_name: m.first_name.clone(),
            last_name: m.last_name.clone(),
            role: m.role.as_str().into(),
            status: m.status.clone(),
            team_id: m.team_id,
        }
    }
}

/// The caller, as `GET /v2/membership` shows them.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct MembershipDetail {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    #[schemars(schema_with = "super::schema::role")]
    pub role: Text,
    pub status: String,
    pub team_id: Option<Uuid>,
    pub locale: String,
}

impl From<&Membership> for MembershipDetail {
    fn from(m: &Membership) -> MembershipDetail {
        MembershipDetail {
            id: m.id,
            first_name: m.first_name.clone(),
            last_name: m.last_name.clone(),
            email: m.email.clone(),
            role: m.role.as_str().into(),
            status: m.status.clone(),
            team_id: m.team_id,
            locale: m.locale.clone(),
        }
    }
}
