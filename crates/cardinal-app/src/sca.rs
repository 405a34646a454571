//! Strong customer authentication: which card actions need it (spec §1.8), in Qonto's names.

/// The sensitive actions of the card surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaAction {
    CreateCard,
    BulkCreateCards,
    UpdateLimits,
    Unlock,
}

impl ScaAction {
    pub fn action_type(self) -> &'static str {
        match self {
            ScaAction::CreateCard => "card.create",
            ScaAction::BulkCreateCards => "card.bulk_create",
            ScaAction::UpdateLimits => "card.limits_update",
            ScaAction::Unlock => "card.unlock",
        }
    }
}
