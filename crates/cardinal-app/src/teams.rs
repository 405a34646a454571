//! The organization's teams and invitations (spec §9, `qonto-reference.md` §4, §8.1): teams
//! listed by any member, made by owners and admins; an employee or an accountant (a
//! `reporting` member) invited by them, optionally into a team. A manager acts on the cards of
//! their team's members (the permission table's `Team` relation reads `team_id`).

use crate::cards::member::Member;
use crate::wire::webhooks::{outbox_event, MembershipEventData, MEMBERSHIPS_TOPIC};
use crate::App;
use cardinal_domain::permissions::{organization_refusal, OrganizationAction};
use cardinal_domain::{DomainError, Role};
use cardinal_store::{Membership, Organization, OrganizationParts, StoreError, StoreResult, Team};
use uuid::Uuid;

/// The organization's teams, by name.
pub async fn list(app: &App, organization: &Organization) -> StoreResult<Vec<Team>> {
    let mut teams = app.store.teams(organization.id).await?;
    teams.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    Ok(teams)
}

/// A new team; a name already taken in the organization is refused at `/name`.
pub async fn create(app: &App, organization: &Organization, member: &Member, name: &str) -> StoreResult<Team> {
    if let Some(refused) = organization_refusal(member.role, OrganizationAction::CreateTeam) {
        return Err(refused.into());
    }
    let name = name.trim();
    if name.is_empty() {
        return Err(DomainError::invalid("/name", "name must not be blank").into());
    }
    let team = Team { id: crate::ids::random(), organization_id: organization.id, name: name.to_owned() };
    let parts = OrganizationParts { teams: vec![team.clone()], ..OrganizationParts::default() };
    match app.store.extend_organization(organization.id, parts).await {
        Ok(true) => Ok(team),
        Ok(false) => Err(DomainError::Missing("organization").into()),
        Err(StoreError::Conflict(_)) => {
            Err(DomainError::invalid("/name", "a team with this name already exists").into())
        }
        Err(other) => Err(other),
    }
}

/// Who is invited.
pub struct Invitation {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub team_id: Option<Uuid>,
}

/// An invited member: `invited` until they accept (in the sandbox, they never need to: the
/// control API issues them a token like any member's).
pub async fn invite(
    app: &App,
    organization: &Organization,
    member: &Member,
    invitation: Invitation,
) -> StoreResult<Membership> {
    if let Some(refused) = organization_refusal(member.role, OrganizationAction::Invite) {
        return Err(refused.into());
    }
    if !matches!(invitation.role, Role::Employee | Role::Reporting) {
        return Err(DomainError::invalid(
            "/membership/role",
            "only an employee or an accountant (reporting) is invited here",
        )
        .into());
    }
    if let Some(team) = invitation.team_id {
        let teams = app.store.teams(organization.id).await?;
        if !teams.iter().any(|t| t.id == team) {
            return Err(DomainError::invalid("/membership/team_id", "team_id names no team of the organization").into());
        }
    }
    let email = invitation.email.trim().to_lowercase();
    if !email.contains('@') || email.starts_with('@') || email.ends_with('@') {
        return Err(DomainError::invalid("/membership/email", "email must be an e-mail address").into());
    }
    if member_with_email(app, organization, &email).await? {
        return Err(DomainError::invalid(
            "/membership/email",
            "a member of the organization already has this e-mail address",
        )
        .into());
    }
    let membership = Membership {
        id: crate::ids::random(),
        organization_id: organization.id,
        first_name: invitation.first_name.trim().to_owned(),
        last_name: invitation.last_name.trim().to_owned(),
        email,
        role: invitation.role,
        status: "invited".into(),
        team_id: invitation.team_id,
        locale: organization.locale.clone(),
        created_at: organization.now(),
    };
    // Qonto reports the new membership to `v1/memberships` subscribers, with it.
    let event = membership_event(&membership, "created", membership.created_at);
    let parts = OrganizationParts {
        memberships: vec![membership.clone()],
        events: vec![event],
        ..OrganizationParts::default()
    };
    match app.store.extend_organization(organization.id, parts).await? {
        true => Ok(membership),
        false => Err(DomainError::Missing("organization").into()),
    }
}

/// An invited member joins — the sandbox's stand-in for their following the e-mail's link:
/// `active` from now on, reported `updated` to `v1/memberships`. Once only.
pub async fn accept(app: &App, id: Uuid) -> StoreResult<Membership> {
    let mut membership = app.store.membership_by_id(id).await?.ok_or(DomainError::Missing("membership"))?;
    let not_invited = |status: &str| {
        DomainError::InvalidState(format!("only an invited member accepts an invitation; this one is {status}"))
    };
    if membership.status != "invited" {
        return Err(not_invited(&membership.status).into());
    }
    let organization =
        app.store.organization(membership.organization_id).await?.ok_or(DomainError::Missing("membership"))?;
    membership.status = "active".into();
    let event = membership_event(&membership, "updated", organization.now());
    match app.store.accept_invitation(id, vec![event]).await? {
        true => Ok(membership),
        false => Err(not_invited("no longer invited").into()),
    }
}

fn membership_event(membership: &Membership, event: &'static str, now: jiff::Timestamp) -> cardinal_store::OutboxEvent {
    let detail = crate::wire::MembershipDetail::from(membership);
    let data = MembershipEventData { event: event.into(), membership: &detail };
    outbox_event(membership.organization_id, MEMBERSHIPS_TOPIC, membership.id, &data, now)
}

async fn member_with_email(app: &App, organization: &Organization, email: &str) -> StoreResult<bool> {
    let mut page = cardinal_store::PageRequest { page: 1, per_page: 100 };
    loop {
        let members = app.store.memberships(organization.id, page).await?;
        if members.items.iter().any(|m| m.email.eq_ignore_ascii_case(email)) {
            return Ok(true);
        }
        if (members.items.len() as u32) < page.per_page {
            return Ok(false);
        }
        page.page += 1;
    }
}
