//! Card requests (spec §9, `qonto-reference.md` §3): an employee or a manager asks for a flash
//! or a virtual card; an owner or an admin approves it (the card is issued to the requester
//! with the requested limits) or declines it with a note. A request is settled once.

use crate::error::DomainError;
use crate::kinds::wire_enum;
use crate::money::Cents;
use jiff::Timestamp;
use uuid::Uuid;

wire_enum! {
    /// What is requested (`request_type`, singular); the paths use the plural.
    RequestType { FlashCard = "flash_card", VirtualCard = "virtual_card" }
}

impl RequestType {
    /// The path segment of the approve and decline routes: `flash_cards`, `virtual_cards`.
    pub fn plural(self) -> &'static str {
        match self {
            RequestType::FlashCard => "flash_cards",
            RequestType::VirtualCard => "virtual_cards",
        }
    }

    pub fn of_plural(segment: &str) -> Option<RequestType> {
        RequestType::ALL.iter().copied().find(|t| t.plural() == segment)
    }
}

wire_enum! {
    /// Where a request stands: `pending` is the only state that changes.
    RequestStatus { Pending = "pending", Approved = "approved", Declined = "declined", Canceled = "canceled" }
}

/// The budget a flash card request asks for, or the monthly limit of a virtual one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Ask {
    /// A flash card: spend at most `lifespan_limit` until `pre_expires_at`.
    Flash { lifespan_limit: Cents, pre_expires_at: Timestamp },
    /// A virtual card with a monthly payment limit.
    Virtual { monthly_limit: Cents },
}

impl Ask {
    pub fn request_type(&self) -> RequestType {
        match self {
            Ask::Flash { .. } => RequestType::FlashCard,
            Ask::Virtual { .. } => RequestType::VirtualCard,
        }
    }
}

/// The smallest and largest budget a card request may ask for (Qonto's help centre: 5 € to
/// 20,000 €).
pub const SMALLEST_ASK: Cents = Cents::euros(5);
pub const LARGEST_ASK: Cents = Cents::euros(20_000);

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CardRequest {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub ask: Ask,
    pub status: RequestStatus,
    pub initiator_id: Uuid,
    pub approver_id: Option<Uuid>,
    pub note: String,
    pub declined_note: Option<String>,
    /// The card an approval issued.
    pub card_id: Option<Uuid>,
    pub processed_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// What the reviewer decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Review {
    Approve,
    Decline { note: String },
}

impl CardRequest {
    /// Settles a pending request: approved (its card id is set by the caller, which issues
    /// the card in the same transaction) or declined with its note. Settled once.
    pub fn settle(&mut self, review: &Review, reviewer: Uuid, now: Timestamp) -> Result<(), DomainError> {
        if self.status != RequestStatus::Pending {
            return Err(DomainError::InvalidState(format!("this request is already {}", self.status)));
        }
        match review {
            Review::Approve => self.status = RequestStatus::Approved,
            Review::Decline { note } => {
                self.status = RequestStatus::Declined;
                self.declined_note = Some(note.clone());
            }
        }
        self.approver_id = Some(reviewer);
        self.processed_at = Some(now);
        Ok(())
    }
}

pub use crate::permissions::{request_reach, request_refusal as refusal, RequestAction, RequestReach};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions::Role;

    fn request() -> CardRequest {
        CardRequest {
            id: Uuid::nil(),
            organization_id: Uuid::nil(),
            ask: Ask::Virtual { monthly_limit: Cents::euros(100) },
            status: RequestStatus::Pending,
            initiator_id: Uuid::nil(),
            approver_id: None,
            note: String::new(),
            declined_note: None,
            card_id: None,
            processed_at: None,
            created_at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_request_is_settled_once() {
        let mut r = request();
        let reviewer = Uuid::from_u128(7);
        r.settle(&Review::Decline { note: "no budget".into() }, reviewer, Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(
            (r.status, r.declined_note.as_deref(), r.approver_id),
            (RequestStatus::Declined, Some("no budget"), Some(reviewer))
        );
        assert!(r.settle(&Review::Approve, reviewer, Timestamp::UNIX_EPOCH).is_err(), "settled once");
    }

    #[test]
    fn employees_and_managers_ask_owners_and_admins_review() {
        for role in [Role::Employee, Role::Manager] {
            assert!(refusal(role, RequestAction::Create).is_none());
            assert!(refusal(role, RequestAction::Review).is_some());
        }
        for role in [Role::Owner, Role::Admin] {
            assert!(refusal(role, RequestAction::Review).is_none());
            assert!(refusal(role, RequestAction::Create).is_some());
        }
        assert_eq!(request_reach(Role::Manager, RequestAction::See), RequestReach::OwnAndTeam);
        assert_eq!(RequestType::of_plural("flash_cards"), Some(RequestType::FlashCard));
    }
}
