//! Everything a caller can do to a card, and how details name it.

/// Everything a caller can do to a card. Lifecycle actions go through [`crate::Card::apply`]
/// as a [`Transition`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardAction {
    See,
    Create,
    Lock,
    Unlock,
    ReportLost,
    ReportStolen,
    Discard,
    UpdateNickname,
    UpdateLimits,
    UpdateOptions,
    UpdateRestrictions,
    ViewData,
    /// Control API only.
    Activate,
    /// Control API only.
    SystemLock,
}

impl CardAction {
    /// The verb used in details and audit events.
    pub fn as_str(self) -> &'static str {
        match self {
            CardAction::See => "see",
            CardAction::Create => "create",
            CardAction::Lock => "lock",
            CardAction::Unlock => "unlock",
            CardAction::ReportLost => "report lost",
            CardAction::ReportStolen => "report stolen",
            CardAction::Discard => "discard",
            CardAction::UpdateNickname => "update nickname",
            CardAction::UpdateLimits => "update limits",
            CardAction::UpdateOptions => "update options",
            CardAction::UpdateRestrictions => "update restrictions",
            CardAction::ViewData => "view card data",
            CardAction::Activate => "activate",
            CardAction::SystemLock => "add a system lock",
        }
    }

    /// What the action does to "this card", after "may not": "update the limits of this card".
    pub fn on_this_card(self) -> &'static str {
        match self {
            CardAction::See => "see this card",
            CardAction::Create => "create cards",
            CardAction::Lock => "lock this card",
            CardAction::Unlock => "unlock this card",
            CardAction::ReportLost => "report this card lost",
            CardAction::ReportStolen => "report this card stolen",
            CardAction::Discard => "discard this card",
            CardAction::UpdateNickname => "rename this card",
            CardAction::UpdateLimits => "update the limits of this card",
            CardAction::UpdateOptions => "update the options of this card",
            CardAction::UpdateRestrictions => "update the restrictions of this card",
            CardAction::ViewData => "view the number of this card",
            CardAction::Activate => "activate this card",
            CardAction::SystemLock => "put a system lock on this card",
        }
    }

    /// The action in the passive, after "a … card cannot": "be reported lost".
    pub fn passive(self) -> &'static str {
        match self {
            CardAction::See => "be seen",
            CardAction::Create => "be created",
            CardAction::Lock => "be locked",
            CardAction::Unlock => "be unlocked",
            CardAction::ReportLost => "be reported lost",
            CardAction::ReportStolen => "be reported stolen",
            CardAction::Discard => "be discarded",
            CardAction::UpdateNickname => "be renamed",
            CardAction::UpdateLimits => "have its limits updated",
            CardAction::UpdateOptions => "have its options updated",
            CardAction::UpdateRestrictions => "have its restrictions updated",
            CardAction::ViewData => "have its number shown",
            CardAction::Activate => "be activated",
            CardAction::SystemLock => "get a system lock",
        }
    }
}

impl std::fmt::Display for CardAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The actions that move a card through its lifecycle (spec §2.2), what [`crate::Card::apply`]
/// takes: a settings update or a read cannot be passed to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transition {
    Lock,
    Unlock,
    ReportLost,
    ReportStolen,
    Discard,
    /// Control API only.
    Activate,
}

impl From<Transition> for CardAction {
    /// The action the permission table checks and errors name.
    fn from(transition: Transition) -> CardAction {
        match transition {
            Transition::Lock => CardAction::Lock,
            Transition::Unlock => CardAction::Unlock,
            Transition::ReportLost => CardAction::ReportLost,
            Transition::ReportStolen => CardAction::ReportStolen,
            Transition::Discard => CardAction::Discard,
            Transition::Activate => CardAction::Activate,
        }
    }
}
