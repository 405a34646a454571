//! A new card with the defaults of its level (spec §3.2). Validation of client-chosen values
//! happens before this; here every input is already a valid choice.

use crate::card::*;
use crate::catalog;
use crate::money::Cents;
use crate::time::end_of_expiry_month;
use jiff::{tz::TimeZone, Timestamp};
use uuid::Uuid;

/// Who and what a new card is for.
#[derive(Debug, Clone)]
pub struct Blueprint {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub bank_account_id: Uuid,
    pub holder_id: Uuid,
    pub holder_first_name: String,
    pub holder_last_name: String,
    pub initiator_id: Uuid,
    pub level: CardLevel,
    pub payment_monthly_limit: Cents,
    pub atm_monthly_limit: Cents,
    /// The last four digits of the PAN the caller issued.
    pub last_digits: String,
}

impl Blueprint {
    /// A virtual card for Ada Lovelace with fresh random ids and a €100 monthly limit: a
    /// complete blueprint for tests and examples, to change what matters to them.
    pub fn example() -> Blueprint {
        Blueprint {
            id: Uuid::new_v4(),
            organization_id: Uuid::new_v4(),
            bank_account_id: Uuid::new_v4(),
            holder_id: Uuid::new_v4(),
            holder_first_name: "Ada".into(),
            holder_last_name: "Lovelace".into(),
            initiator_id: Uuid::new_v4(),
            level: CardLevel::Virtual,
            payment_monthly_limit: Cents::euros(100),
            atm_monthly_limit: Cents::ZERO,
            last_digits: "1234".into(),
        }
    }
}

/// Longest embossed name a card carries.
pub const EMBOSSED_NAME_MAX: usize = 26;

impl Card {
    /// A card as its level starts: physical cards `pending` until activated, others `live`.
    pub fn issue(plan: Blueprint, now: Timestamp, tz: &TimeZone) -> Card {
        let level = plan.level;
        let local = now.to_zoned(tz.clone());
        let (exp_year, exp_month) = (local.year() + 3, local.month());
        let physical = level.is_physical();
        let online_only = matches!(level, CardLevel::Flash | CardLevel::Advertising);
        let atm_monthly = if level.allows_atm() { plan.atm_monthly_limit } else { Cents::ZERO };
        Card {
            id: plan.id,
            organization_id: plan.organization_id,
            bank_account_id: plan.bank_account_id,
            holder_id: plan.holder_id,
            initiator_id: plan.initiator_id,
            level,
            lifecycle: if physical { Lifecycle::Pending } else { Lifecycle::Live },
            user_locked: false,
            system_locks: vec![],
            nickname: level.default_nickname().to_owned(),
            embossed_name: physical.then(|| embossed_name(&plan.holder_first_name, &plan.holder_last_name)),
            pin_set: false,
            last_digits: plan.last_digits,
            exp_month,
            exp_year,
            expires_at: end_of_expiry_month(exp_year, exp_month, tz),
            pre_expires_at: None,
            last_activity_at: None,
            ship_to_business: false,
            address: None,
            options: CardOptions { atm: level.allows_atm(), nfc: !online_only, online: true, foreign: true },
            limits: CardLimits {
                atm_monthly,
                atm_daily: atm_monthly,
                atm_daily_option: false,
                payment_monthly: plan.payment_monthly_limit,
                payment_daily: plan.payment_monthly_limit,
                payment_daily_option: false,
                payment_transaction: plan.payment_monthly_limit,
                payment_transaction_option: false,
                payment_lifespan: None,
            },
            spent: SpentCounters::default(),
            active_days: (1..=7).collect(),
            categories: vec![],
            created_at: now,
            updated_at: now,
            shipped_at: None,
            flags: CardFlags::default(),
            parent_card: None,
            card_design: catalog::default_design(level).code.to_owned(),
            type_of_print: (level == CardLevel::Plus).then_some(TypeOfPrint::Print),
            discard_on: None,
        }
    }
}

/// "FIRST LAST" upper-cased, cut to what fits on the plastic.
pub fn embossed_name(first: &str, last: &str) -> String {
    let full = format!("{} {}", first.trim(), last.trim()).to_uppercase();
    full.chars().take(EMBOSSED_NAME_MAX).collect::<String>().trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::rfc3339;

    fn plan(level: CardLevel) -> Blueprint {
        Blueprint {
            id: Uuid::from_u128(1),
            organization_id: Uuid::from_u128(2),
            bank_account_id: Uuid::from_u128(3),
            holder_id: Uuid::from_u128(4),
            holder_first_name: "Amélie".into(),
            holder_last_name: "Constantinopoulos-Wexford".into(),
            initiator_id: Uuid::from_u128(5),
            level,
            payment_monthly_limit: Cents::euros(5000),
            atm_monthly_limit: Cents::euros(1000),
            last_digits: "4242".into(),
        }
    }

    #[test]
    fn physical_cards_start_pending_with_an_embossed_name() {
        let paris = TimeZone::get("Europe/Paris").unwrap();
        let now: Timestamp = "2026-03-31T22:30:00Z".parse().unwrap(); // already April in Paris
        let card = Card::issue(plan(CardLevel::Standard), now, &paris);
        assert_eq!(card.lifecycle, Lifecycle::Pending);
        assert_eq!((card.exp_month, card.exp_year), (4, 2029));
        assert_eq!(rfc3339(card.expires_at), "2029-04-30T22:00:00Z");
        let name = card.embossed_name.unwrap();
        assert_eq!(name, "AMÉLIE CONSTANTINOPOULOS-W");
        assert_eq!(name.chars().count(), EMBOSSED_NAME_MAX);
        assert!(card.options.atm && card.options.nfc);
    }

    #[test]
    fn virtual_cards_are_live_without_atm() {
        let card = Card::issue(plan(CardLevel::Virtual), Timestamp::UNIX_EPOCH, &TimeZone::UTC);
        assert_eq!(card.lifecycle, Lifecycle::Live);
        assert_eq!(card.embossed_name, None);
        assert!(!card.options.atm);
        assert_eq!(card.limits.atm_monthly, Cents::ZERO);
        assert_eq!(card.card_design, "virtual.default.2017");
    }
}
