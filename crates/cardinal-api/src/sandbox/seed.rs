//! Building a whole organization: members, teams, a bank account with a valid French IBAN,
//! credentials and, by default, a live virtual and a live physical card per member.
//! The control API (`POST /_sandbox/organizations`) and first-run seeding both use it.

use crate::http::auth::scope;
use crate::issuing::audit::audit_event;
use crate::issuing::issue;
use crate::secrets::{hash_secret, new_token, CardVault};
use cardinal_domain::card::Outcome;
use cardinal_domain::{Card, CardLevel, Cents, Role, Transition};
use cardinal_store::*;
use jiff::Timestamp;
use rand::Rng;
use uuid::Uuid;

/// What a caller may choose about a new organization; everything has a default.
#[derive(Debug, Clone)]
pub struct OrganizationPlan {
    pub legal_name: Option<String>,
    pub slug: Option<String>,
    pub sca_mode: ScaMode,
    pub timezone: String,
    pub balance: Cents,
    pub country: String,
    pub members: Vec<MemberPlan>,
    pub cards: bool,
    /// Whether the organization keeps a snapshot to be reset to (sandbox organizations).
    pub resettable: bool,
}

#[derive(Debug, Clone)]
pub struct MemberPlan {
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub team: Option<String>,
    /// Default: `first.last@<slug>.example`.
    pub email: Option<String>,
}

impl Default for OrganizationPlan {
    fn default() -> OrganizationPlan {
        OrganizationPlan {
            legal_name: None,
            slug: None,
            sca_mode: ScaMode::Required,
            timezone: "Europe/Paris".into(),
            balance: Cents::euros(100_000),
            country: "FR".into(),
            members: default_members(),
            cards: true,
            resettable: true,
        }
    }
}

/// One member per role; the manager and the employee share a team.
pub fn default_members() -> Vec<MemberPlan> {
    let member = |first: &str, last: &str, role, team: Option<&str>| MemberPlan {
        first_name: first.into(),
        last_name: last.into(),
        role,
        team: team.map(Into::into),
        email: None,
    };
    vec![
        member("Alice", "Martin", Role::Owner, None),
        member("Bruno", "Durand", Role::Admin, None),
        member("Chloé", "Bernard", Role::Manager, Some("Sales")),
        member("David", "Petit", Role::Employee, Some("Sales")),
        member("Emma", "Robert", Role::Reporting, None),
    ]
}

/// The seed to store, plus the secrets to show once (the store keeps only their hashes).
pub struct CreatedOrganization {
    pub seed: OrganizationSeed,
    pub api_key_secret: String,
    /// One access token per membership, in `seed.memberships` order.
    pub access_tokens: Vec<String>,
}

pub fn build(plan: OrganizationPlan, vault: &CardVault, now: Timestamp) -> CreatedOrganization {
    let id = crate::ids::random();
    let suffix = &id.simple().to_string()[..6];
    let legal_name = plan.legal_name.unwrap_or_else(|| format!("Sandbox Company {suffix}"));
    let slug = plan.slug.unwrap_or_else(|| format!("{}-{suffix}", slugify(&legal_name)));
    let organization = Organization {
        id,
        slug: slug.clone(),
        legal_name,
        locale: "fr".into(),
        timezone: plan.timezone,
        country: plan.country,
        sca_mode: plan.sca_mode,
        clock_offset_seconds: 0,
        created_at: now,
    };
    let tz = organization.time_zone();
    let teams = teams_of(&plan.members, id);
    let account = bank_account(id, "Main account", true, plan.balance, now);
    let memberships: Vec<Membership> = plan.members.iter().map(|m| membership(m, &organization, &teams, now)).collect();

    let mut credentials = Vec::new();
    let access_tokens: Vec<String> = memberships
        .iter()
        .map(|m| {
            let token = new_token();
            credentials.push(credential(m, CredentialKind::AccessToken, &token, scope::ALL, now));
            token
        })
        .collect();
    let api_key_secret = new_token();
    let owner = memberships.iter().find(|m| m.role == Role::Owner).or(memberships.first());
    if let Some(owner) = owner {
        credentials.push(credential(owner, CredentialKind::ApiKey, &api_key_secret, scope::API_KEY, now));
    }

    let mut cards = Vec::new();
    let mut events = Vec::new();
    if plan.cards {
        for m in &memberships {
            for (level, monthly, atm) in [(CardLevel::Virtual, 1_000, 0), (CardLevel::Standard, 5_000, 1_000)] {
                let (card, secrets) =
                    issue::card(vault, level, m, account.id, m.id, Cents::euros(monthly), Cents::euros(atm), now, &tz);
                let (card, seeded) = activate_for_seed(card, now);
                events.extend(seeded);
                cards.push(NewCard { card, secrets });
            }
        }
    }

    let snapshot = plan.resettable.then(|| crate::sandbox::reset::snapshot_of(&cards, &[&account]));
    CreatedOrganization {
        seed: OrganizationSeed {
            organization,
            teams,
            bank_accounts: vec![account],
            memberships,
            credentials,
            cards,
            events,
            snapshot,
        },
        api_key_secret,
        access_tokens,
    }
}

/// Seeded cards are ready to pay: physical ones are activated, and both steps are audited.
fn activate_for_seed(mut card: Card, now: Timestamp) -> (Card, Vec<AuditEvent>) {
    let system = Actor { kind: ActorKind::System, id: None };
    let request_id = crate::http::trace::request_id();
    let mut events = vec![audit_event(&card, "create", system.clone(), None, now, &request_id, serde_json::json!({}))];
    let pending = card.status(now);
    if card.level.is_physical() && card.apply(Transition::Activate, now) == Ok(Outcome::Changed) {
        events.push(audit_event(
            &card,
            "activate",
            system,
            Some(pending),
            now,
            &request_id,
            serde_json::json!({"pin_set": true}),
        ));
    }
    (card, events)
}

pub(crate) fn teams_of(members: &[MemberPlan], organization_id: Uuid) -> Vec<Team> {
    let mut teams: Vec<Team> = Vec::new();
    for name in members.iter().filter_map(|m| m.team.as_deref()) {
        if !teams.iter().any(|t| t.name == name) {
            teams.push(Team { id: crate::ids::random(), organization_id, name: name.to_owned() });
        }
    }
    teams
}

pub(crate) fn membership(plan: &MemberPlan, org: &Organization, teams: &[Team], now: Timestamp) -> Membership {
    let team_id = plan.team.as_deref().and_then(|name| teams.iter().find(|t| t.name == name)).map(|t| t.id);
    let local_part = format!("{}.{}", slugify(&plan.first_name), slugify(&plan.last_name));
    let email = plan.email.clone().unwrap_or_else(|| format!("{local_part}@{}.example", org.slug));
    Membership {
        id: crate::ids::random(),
        organization_id: org.id,
        first_name: plan.first_name.clone(),
        last_name: plan.last_name.clone(),
        email,
        role: plan.role,
        status: "active".into(),
        team_id,
        locale: org.locale.clone(),
        created_at: now,
    }
}

pub(crate) fn credential(
    m: &Membership,
    kind: CredentialKind,
    secret: &str,
    scopes: &[&str],
    now: Timestamp,
) -> NewCredential {
    NewCredential {
        id: crate::ids::random(),
        organization_id: m.organization_id,
        membership_id: m.id,
        kind,
        secret_hash: hash_secret(secret),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        expires_at: None,
        created_at: now,
        grant_id: None,
    }
}

/// A new euro account with a valid French IBAN.
pub(crate) fn bank_account(
    organization_id: Uuid,
    name: &str,
    main: bool,
    balance: Cents,
    now: Timestamp,
) -> BankAccount {
    BankAccount {
        id: crate::ids::random(),
        organization_id,
        name: name.into(),
        status: "active".into(),
        main,
        iban: new_french_iban(),
        bic: "QNTOFRP1XXX".into(),
        currency: "EUR".into(),
        balance,
        authorized_balance: balance,
        created_at: now,
        updated_at: now,
    }
}

/// Lowercase ASCII letters and digits joined by dashes: `"Chloé & Co"` → `"chlo-co"`.
pub fn slugify(text: &str) -> String {
    let mut slug = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "org".into()
    } else {
        slug.chars().take(40).collect()
    }
}

/// A French IBAN with a valid RIB key and valid IBAN check digits, at Qonto's bank code.
pub fn new_french_iban() -> String {
    let (bank, branch) = ("16958", "00001");
    let account: String = (0..11).map(|_| char::from(b'0' + rand::rng().random_range(0..10u8))).collect();
    let rib_key = 97 - (89 * num(bank) + 15 * num(branch) + 3 * num(&account)) % 97;
    let bban = format!("{bank}{branch}{account}{rib_key:02}");
    let check = 98 - mod97(&format!("{bban}FR00"));
    format!("FR{check:02}{bban}")
}

fn num(digits: &str) -> u64 {
    digits.parse().unwrap_or(0)
}

/// ISO 7064 mod 97 of an IBAN-style string (letters count as 10..35).
fn mod97(text: &str) -> u64 {
    text.chars().fold(0u64, |acc, c| {
        let value = c.to_digit(36).unwrap_or(0) as u64;
        if value >= 10 {
            (acc * 100 + value) % 97
        } else {
            (acc * 10 + value) % 97
        }
    })
}

/// Whether an IBAN's check digits are right.
pub fn iban_valid(iban: &str) -> bool {
    iban.len() > 4 && mod97(&format!("{}{}", &iban[4..], &iban[..4])) == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_ibans_are_valid() {
        for _ in 0..100 {
            let iban = new_french_iban();
            assert_eq!(iban.len(), 27, "{iban}");
            assert!(iban.starts_with("FR"));
            assert!(iban_valid(&iban), "{iban}");
            // The RIB key checks too: bank, branch, account and key are 0 mod 97.
            let (b, g, a, k) = (num(&iban[4..9]), num(&iban[9..14]), num(&iban[14..25]), num(&iban[25..27]));
            assert_eq!((89 * b + 15 * g + 3 * a + k) % 97, 0, "{iban}");
        }
        assert!(iban_valid("FR7630006000011234567890189"));
        assert!(!iban_valid("FR7630006000011234567890188"));
    }

    #[test]
    fn slugs_are_url_safe() {
        assert_eq!(slugify("Chloé & Co SAS"), "chlo-co-sas");
        assert_eq!(slugify("***"), "org");
    }
}
