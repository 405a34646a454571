//! The settings a card order or update gives: limits to set, and restrictions normalized by
//! the card rules. Creating and updating a card read them alike.

use crate::issues::Issues;
use crate::wire::requests::LimitFields;
use crate::wire::Limit;
use cardinal_domain::{rules, Card, Cents};

/// The requested limit changes; `None` leaves a limit as it is.
#[derive(Debug, Default, Clone, Copy)]
pub struct LimitsPatch {
    atm_monthly: Option<Cents>,
    atm_daily: Option<Cents>,
    atm_daily_option: Option<bool>,
    payment_monthly: Option<Cents>,
    payment_daily: Option<Cents>,
    payment_daily_option: Option<bool>,
    payment_transaction: Option<Cents>,
    payment_transaction_option: Option<bool>,
    payment_lifespan: Option<Cents>,
}

impl From<&LimitFields> for LimitsPatch {
    fn from(given: &LimitFields) -> LimitsPatch {
        let cents = |limit: Option<Limit>| limit.map(|l| l.0);
        LimitsPatch {
            atm_monthly: cents(given.atm_monthly_limit),
            atm_daily: cents(given.atm_daily_limit),
            atm_daily_option: given.atm_daily_limit_option,
            payment_monthly: cents(given.payment_monthly_limit),
            payment_daily: cents(given.payment_daily_limit),
            payment_daily_option: given.payment_daily_limit_option,
            payment_transaction: cents(given.payment_transaction_limit),
            payment_transaction_option: given.payment_transaction_limit_option,
            payment_lifespan: cents(given.payment_lifespan_limit),
        }
    }
}

impl LimitsPatch {
    pub fn payment_monthly(&self) -> Option<Cents> {
        self.payment_monthly
    }

    pub fn apply(&self, card: &mut Card) {
        let l = &mut card.limits;
        let set = |target: &mut Cents, value: Option<Cents>| *target = value.unwrap_or(*target);
        let flag = |target: &mut bool, value: Option<bool>| *target = value.unwrap_or(*target);
        set(&mut l.atm_monthly, self.atm_monthly);
        set(&mut l.atm_daily, self.atm_daily);
        flag(&mut l.atm_daily_option, self.atm_daily_option);
        set(&mut l.payment_monthly, self.payment_monthly);
        set(&mut l.payment_daily, self.payment_daily);
        flag(&mut l.payment_daily_option, self.payment_daily_option);
        set(&mut l.payment_transaction, self.payment_transaction);
        flag(&mut l.payment_transaction_option, self.payment_transaction_option);
        if self.payment_lifespan.is_some() {
            l.payment_lifespan = self.payment_lifespan;
        }
    }
}

/// The restriction fields of a create or update body, normalized by the card rules.
pub fn restrictions(
    f: &mut Issues,
    days: Option<Vec<i64>>,
    categories: Option<Vec<String>>,
) -> (Option<Vec<i8>>, Option<Vec<cardinal_domain::Category>>) {
    let days = days.and_then(|d| f.check(rules::check_active_days(&d)));
    let categories = categories.and_then(|c| f.check(rules::check_categories(&c)));
    (days, categories)
}
