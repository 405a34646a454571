//! A member acting on cards: what the one permission table (spec §2.3) needs to know of them,
//! and how the audit trail names them.

use cardinal_domain::permissions::{authorize, reach, Reach};
use cardinal_domain::{CardAction, DomainError, Relation, Role};
use cardinal_store::{Actor, StoredCard, Visibility};
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct Member {
    pub membership_id: Uuid,
    pub role: Role,
    pub team_id: Option<Uuid>,
    /// The credential that acts: the member's access token, or the organization's API key.
    pub actor: Actor,
}

impl Member {
    /// How a card holder relates to this member.
    pub fn relation_to(&self, holder_id: Uuid, holder_team: Option<Uuid>) -> Relation {
        if holder_id == self.membership_id {
            Relation::Own
        } else if holder_team.is_some() && holder_team == self.team_id {
            Relation::Team
        } else {
            Relation::Other
        }
    }

    /// Whether the permission table lets this member do `action` on `card`.
    pub fn may(&self, action: CardAction, card: &StoredCard) -> Result<(), DomainError> {
        authorize(self.role, action, self.relation_to(card.card.holder_id, card.holder.team_id))
    }

    /// Which cards this member may see at all: the table's "see" row, as a list filters by it.
    pub fn card_visibility(&self) -> Visibility {
        match reach(self.role, CardAction::See) {
            Reach::All => Visibility::All,
            Reach::OwnAndTeam => Visibility::HeldByOrTeam(self.membership_id, self.team_id),
            Reach::Own => Visibility::HeldBy(self.membership_id),
            Reach::Nothing => Visibility::Nothing,
        }
    }
}
