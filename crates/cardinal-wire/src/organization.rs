//! The organization, its bank accounts and its members.

use super::{Euros, Time};
use crate::Text;
use cardinal_domain::organization::{LegalChange, LegalProfile};
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
    /// Accounts at Qonto; an account connected from another bank would be external.
    pub is_external_account: bool,
    /// The account number inside the IBAN (a French IBAN's 11 characters after bank and branch).
    pub account_number: String,
    /// Only on the accounts `GET /v2/organization` embeds, as Qonto shows them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
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
            is_external_account: false,
            account_number: account_number(&b.iban),
            slug: None,
        }
    }
}

/// The account number an IBAN holds: for a French one (`FRkk BBBBB GGGGG CCCCCCCCCCC KK`)
/// the 11 characters `C`; for another country's, its whole national part (the BBAN).
pub fn account_number(iban: &str) -> String {
    let compact: String = iban.chars().filter(|c| !c.is_whitespace()).collect();
    match compact.get(..2) {
        Some("FR") if compact.len() == 27 => compact[14..25].to_owned(),
        _ => compact.get(4..).unwrap_or_default().to_owned(),
    }
}

#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
#[schemars(rename = "Organization")]
pub struct OrganizationBody {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub legal_name: String,
    pub locale: String,
    pub legal_country: String,
    pub legal_form: String,
    pub legal_address: String,
    pub legal_sector: String,
    pub legal_number: String,
    pub legal_share_capital: f64,
    /// A date (`2026-01-15`).
    pub legal_registration_date: String,
    pub contract_signed_at: Time,
    pub bank_accounts: Vec<BankAccountBody>,
}

impl OrganizationBody {
    pub fn of(o: &Organization, legal: &LegalProfile, accounts: &[BankAccount]) -> OrganizationBody {
        let bank_accounts = accounts
            .iter()
            .enumerate()
            .map(|(at, account)| BankAccountBody {
                slug: Some(format!("{}-bank-account-{}", o.slug, at + 1)),
                ..BankAccountBody::from(account)
            })
            .collect();
        OrganizationBody {
            id: o.id,
            name: o.legal_name.clone(),
            slug: o.slug.clone(),
            legal_name: o.legal_name.clone(),
            locale: o.locale.clone(),
            legal_country: legal.country.clone(),
            legal_form: legal.form.clone(),
            legal_address: legal.address.clone(),
            legal_sector: legal.sector.clone(),
            legal_number: legal.number.clone(),
            legal_share_capital: legal.share_capital,
            legal_registration_date: legal.registration_date.to_string(),
            contract_signed_at: Time(legal.contract_signed_at),
            bank_accounts,
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
    /// ISO 3166 alpha-2: sandbox members live, were born and are nationals where their
    /// organization is registered.
    pub residence_country: String,
    /// A date (`1984-06-12`); a sandbox member's comes from their id, the same at every read.
    pub birthdate: String,
    pub nationality: String,
    pub birth_country: String,
    /// An ultimate beneficial owner: the organization's owner.
    pub ubo: bool,
}

impl MembershipSummary {
    /// `m`, a member of an organization registered in `country`.
    pub fn of(m: &Membership, country: &str) -> MembershipSummary {
        let country = country.to_uppercase();
        let seed = m.id.as_bytes();
        let birthdate = format!("{}-{:02}-{:02}", 1960 + u16::from(seed[0] % 40), 1 + seed[1] % 12, 1 + seed[2] % 28);
        MembershipSummary {
            id: m.id,
            first_name: m.first_name.clone(),
            last_name: m.last_name.clone(),
            role: m.role.as_str().into(),
            status: m.status.clone(),
            team_id: m.team_id,
            residence_country: country.clone(),
            birthdate,
            nationality: country.clone(),
            birth_country: country,
            ubo: m.role == cardinal_domain::Role::Owner,
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
    /// Not known to the sandbox: `null`.
    pub phone_number: Option<String>,
    pub position: Option<String>,
    /// `accepted` once the member has joined; `pending` while invited.
    pub kyc_status: Text,
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
            phone_number: None,
            position: None,
            kyc_status: if m.status == "invited" { "pending".into() } else { "accepted".into() },
        }
    }
}

/// `PATCH /_sandbox/organizations/{id}/legal`: the legal identity's fields to set; those left
/// out keep their value.
#[derive(Debug, Default, Serialize, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LegalRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 2, max = 2))]
    pub legal_country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200))]
    pub legal_form: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200))]
    pub legal_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200))]
    pub legal_sector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200))]
    pub legal_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0))]
    pub legal_share_capital: Option<f64>,
    /// A date (`2021-03-01`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>", extend("format" = "date"))]
    pub legal_registration_date: Option<jiff::civil::Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_signed_at: Option<Time>,
}

impl From<LegalRequest> for LegalChange {
    fn from(r: LegalRequest) -> LegalChange {
        LegalChange {
            country: r.legal_country,
            form: r.legal_form,
            address: r.legal_address,
            sector: r.legal_sector,
            number: r.legal_number,
            share_capital: r.legal_share_capital,
            registration_date: r.legal_registration_date,
            contract_signed_at: r.contract_signed_at.map(|t| t.0),
        }
    }
}
