//! Who may do what to which card: the one table of spec §2.3.

use crate::error::{article, DomainError};

pub use crate::action::CardAction;
pub use crate::kinds::Role;

/// How a card's holder relates to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// The caller holds the card.
    Own,
    /// The holder is in the caller's team.
    Team,
    /// Anyone else in the organization.
    Other,
}

/// Which cards a role may act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    All,
    OwnAndTeam,
    Own,
    Nothing,
}

impl Reach {
    fn covers(self, relation: Relation) -> bool {
        match self {
            Reach::All => true,
            Reach::OwnAndTeam => relation != Relation::Other,
            Reach::Own => relation == Relation::Own,
            Reach::Nothing => false,
        }
    }
}

/// Spec §2.3, row by row. Control-API actions are not open to any role.
pub fn reach(role: Role, action: CardAction) -> Reach {
    use CardAction::*;
    use Reach::*;
    use Role::*;
    match (action, role) {
        (Activate | SystemLock, _) => Nothing,
        (_, Owner | Admin) => All,
        (See, Reporting) => All,
        (_, Reporting) => Nothing,
        (See | Lock | ReportLost | ReportStolen | Discard, Manager) => OwnAndTeam,
        (See | Lock | ReportLost | ReportStolen | Discard, Employee) => Own,
        (ViewData, Manager | Employee) => Own,
        // Qonto keeps every settings change to owners and admins, nickname and options too.
        (Create | Unlock | UpdateLimits | UpdateRestrictions | UpdateOptions | UpdateNickname, Manager | Employee) => {
            Nothing
        }
    }
}

/// Decides whether `role` may perform `action` on a card whose holder has `relation` to the
/// caller. A card the caller may not even see is `NotFound`, never `Forbidden` (spec §1.4).
pub fn authorize(role: Role, action: CardAction, relation: Relation) -> Result<(), DomainError> {
    if !reach(role, CardAction::See).covers(relation) {
        return Err(DomainError::NotFound);
    }
    if reach(role, action).covers(relation) {
        return Ok(());
    }
    Err(DomainError::Forbidden(format!("{} {role} may not {}", article(role.as_str()), action.on_this_card())))
}

/// Who may attach receipts to a card transaction and remove them: its holder, their manager,
/// owners and admins, and accountants (`reporting`), whose work receipts are. Everyone who sees
/// a transaction (Qonto lets each of them upload its receipt).
pub fn receipt_reach(role: Role) -> Reach {
    match role {
        Role::Owner | Role::Admin | Role::Reporting => Reach::All,
        Role::Manager => Reach::OwnAndTeam,
        Role::Employee => Reach::Own,
    }
}

/// Decides whether `role` may attach or remove a receipt on a transaction whose card holder has
/// `relation` to the caller; a transaction the caller may not see is `Missing`.
pub fn authorize_receipt(role: Role, relation: Relation) -> Result<(), DomainError> {
    if !reach(role, CardAction::See).covers(relation) {
        return Err(DomainError::Missing("transaction"));
    }
    if receipt_reach(role).covers(relation) {
        return Ok(());
    }
    Err(DomainError::Forbidden(format!(
        "{} {role} may not attach receipts to this transaction",
        article(role.as_str())
    )))
}

/// Who may do what with card requests: the requests' rows of the one permission table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestAction {
    /// Ask for a card.
    Create,
    /// See a request.
    See,
    /// Approve or decline.
    Review,
}

/// Which requests a role reaches (spec §9; `qonto-reference.md` §3.1: an employee sees their
/// own, a manager their own and their team's, owners and admins all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestReach {
    All,
    OwnAndTeam,
    Own,
    Nothing,
}

pub fn request_reach(role: Role, action: RequestAction) -> RequestReach {
    use RequestAction::*;
    use RequestReach::*;
    use Role::*;
    match (action, role) {
        (Create, Employee | Manager) => Own,
        (Create, Owner | Admin | Reporting) => Nothing,
        (See, Owner | Admin) => All,
        (See, Manager) => OwnAndTeam,
        (See, Employee) => Own,
        (See, Reporting) => Nothing,
        (Review, Owner | Admin) => All,
        (Review, Manager | Employee | Reporting) => Nothing,
    }
}

/// Why `role` may not `action` a request, if it may not.
pub fn request_refusal(role: Role, action: RequestAction) -> Option<DomainError> {
    if request_reach(role, action) != RequestReach::Nothing {
        return None;
    }
    let what = match action {
        RequestAction::Create => "request a card (owners and admins create cards)",
        RequestAction::See => "see card requests",
        RequestAction::Review => "approve or decline card requests",
    };
    Some(DomainError::Forbidden(format!("{} {role} may not {what}", article(role.as_str()))))
}

/// The organization's own records a member may change: teams and members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrganizationAction {
    /// Make a team.
    CreateTeam,
    /// Invite an employee or an accountant (a `reporting` member).
    Invite,
}

/// Owners and admins run the organization: they make teams and invite members (Qonto's app
/// gives both to them; its API says nothing more).
pub fn organization_refusal(role: Role, action: OrganizationAction) -> Option<DomainError> {
    if matches!(role, Role::Owner | Role::Admin) {
        return None;
    }
    let what = match action {
        OrganizationAction::CreateTeam => "create teams",
        OrganizationAction::Invite => "invite members",
    };
    Some(DomainError::Forbidden(format!("{} {role} may not {what}", article(role.as_str()))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use CardAction::*;
    use Relation::*;
    use Role::*;

    #[test]
    fn only_owners_and_admins_unlock() {
        for role in [Owner, Admin] {
            assert!(authorize(role, Unlock, Other).is_ok());
        }
        assert!(matches!(authorize(Employee, Unlock, Own), Err(DomainError::Forbidden(_))));
        assert!(matches!(authorize(Manager, Unlock, Own), Err(DomainError::Forbidden(_))));
        assert!(matches!(authorize(Reporting, Unlock, Other), Err(DomainError::Forbidden(_))));
    }

    #[test]
    fn settings_changes_are_for_owners_and_admins() {
        for action in [UpdateNickname, UpdateOptions, UpdateLimits, UpdateRestrictions] {
            assert!(authorize(Admin, action, Other).is_ok());
            assert!(matches!(authorize(Manager, action, Own), Err(DomainError::Forbidden(_))), "{action}");
            assert!(matches!(authorize(Employee, action, Own), Err(DomainError::Forbidden(_))), "{action}");
        }
    }

    #[test]
    fn invisible_cards_are_not_found() {
        assert_eq!(authorize(Employee, Lock, Other), Err(DomainError::NotFound));
        assert_eq!(authorize(Employee, Lock, Team), Err(DomainError::NotFound));
        assert_eq!(authorize(Manager, See, Other), Err(DomainError::NotFound));
        assert!(authorize(Manager, Lock, Team).is_ok());
        assert!(authorize(Employee, Lock, Own).is_ok());
        assert!(authorize(Reporting, See, Other).is_ok());
        assert!(matches!(authorize(Reporting, Lock, Own), Err(DomainError::Forbidden(_))));
    }

    #[test]
    fn data_view_is_own_card_only_below_admin() {
        assert!(authorize(Manager, ViewData, Own).is_ok());
        assert!(matches!(authorize(Manager, ViewData, Team), Err(DomainError::Forbidden(_))));
        assert!(matches!(authorize(Reporting, ViewData, Own), Err(DomainError::Forbidden(_))));
    }

    #[test]
    fn control_actions_are_never_open_to_members() {
        for role in Role::ALL {
            assert_eq!(reach(*role, Activate), Reach::Nothing);
            assert_eq!(reach(*role, SystemLock), Reach::Nothing);
        }
    }
}
