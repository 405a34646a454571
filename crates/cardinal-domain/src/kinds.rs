//! The closed sets of names Qonto's wire uses — levels, lifecycle states, statuses, merchant
//! categories, print types, roles — each an enum that reads and writes its exact text. They
//! depend on nothing else in the domain, so everything else may depend on them.

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use wire_enum;

wire_enum! {
    /// The product a card belongs to; it decides physical vs virtual, limits and options.
    CardLevel {
        Standard = "standard", Plus = "plus", Metal = "metal",
        Virtual = "virtual", VirtualPartner = "virtual_partner",
        Flash = "flash", Advertising = "advertising",
    }
}

impl CardLevel {
    pub fn is_physical(self) -> bool {
        matches!(self, CardLevel::Standard | CardLevel::Plus | CardLevel::Metal)
    }

    /// Whether cash withdrawals exist at all for this level (spec §3.2).
    pub fn allows_atm(self) -> bool {
        self.is_physical()
    }

    /// The nickname a card gets when the creator gives none.
    pub fn default_nickname(self) -> &'static str {
        match self {
            CardLevel::Standard => "One card",
            CardLevel::Plus => "Plus card",
            CardLevel::Metal => "X card",
            CardLevel::Virtual | CardLevel::VirtualPartner => "Virtual card",
            CardLevel::Flash => "Flash card",
            CardLevel::Advertising => "Advertising card",
        }
    }
}

wire_enum! {
    /// Where a card is in its life. Terminal states are final (spec §2.2).
    Lifecycle {
        Pending = "pending", Live = "live", PinBlocked = "pin_blocked", Onhold = "onhold",
        Lost = "lost", Stolen = "stolen", Discarded = "discarded", Expired = "expired",
        PreExpired = "pre_expired", ShippedLost = "shipped_lost", OrderCanceled = "order_canceled",
        Abusive = "abusive",
    }
}

impl Lifecycle {
    pub fn is_terminal(self) -> bool {
        !matches!(self, Lifecycle::Pending | Lifecycle::Live | Lifecycle::PinBlocked | Lifecycle::Onhold)
    }

    /// Locks only show (as `paused`) on a card that could otherwise be used.
    pub(crate) fn shows_locks(self) -> bool {
        matches!(self, Lifecycle::Live | Lifecycle::PinBlocked)
    }
}

wire_enum! {
    /// The `status` field of a card: a lifecycle state, or `paused` for a locked usable card.
    Status {
        Pending = "pending", Live = "live", Paused = "paused", PinBlocked = "pin_blocked",
        Onhold = "onhold", Lost = "lost", Stolen = "stolen", Discarded = "discarded",
        Expired = "expired", PreExpired = "pre_expired", ShippedLost = "shipped_lost",
        OrderCanceled = "order_canceled", Abusive = "abusive",
    }
}

impl From<Lifecycle> for Status {
    fn from(state: Lifecycle) -> Status {
        Status::parse(state.as_str()).expect("every lifecycle state is a status")
    }
}

wire_enum! {
    /// Merchant categories a card may be restricted to (spec §2.1).
    Category {
        Transport = "transport", RestaurantAndBar = "restaurant_and_bar",
        FoodAndGrocery = "food_and_grocery", ItAndElectronics = "it_and_electronics",
        Utility = "utility", Tax = "tax", LegalAndAccounting = "legal_and_accounting", Atm = "atm",
        OfficeSupply = "office_supply", HardwareAndEquipment = "hardware_and_equipment",
        Finance = "finance",
    }
}

wire_enum! {
    /// How a plus card's name is printed.
    TypeOfPrint { Print = "print", Embossed = "embossed" }
}

wire_enum! {
    /// A membership's role in its organization.
    Role { Owner = "owner", Admin = "admin", Manager = "manager", Employee = "employee", Reporting = "reporting" }
}
