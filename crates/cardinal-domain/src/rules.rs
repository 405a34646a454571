//! What a card's settings may be (spec §3.2, §3.5): maximums per level, the orderings between
//! limits, options per level, restrictions. Every check looks at the card as it would be after
//! the change, and reports every violated field by name ([`CardIssue`]); where that field sits
//! in a request (`/card/…`, `/cards/3/card/…`) is the adapter's to say.

use crate::card::{Card, CardLevel, CardLimits, CardOptions, Category};
use crate::error::{CardField, CardIssue};
use crate::money::Cents;

/// Maximum monthly payment limit per level, in euros.
pub fn max_payment_monthly(level: CardLevel) -> Cents {
    Cents::euros(match level {
        CardLevel::Standard => 40_000,
        CardLevel::Plus => 60_000,
        CardLevel::Metal => 200_000,
        CardLevel::Virtual | CardLevel::VirtualPartner => 20_000,
        CardLevel::Flash => FLASH_LIFESPAN_MAX_EUROS,
        CardLevel::Advertising => 200_000,
    })
}

/// The monthly payment limit a card gets when its creator gives none (spec §3.2). Flash cards
/// take their budget from `payment_lifespan_limit` instead.
pub fn default_payment_monthly(level: CardLevel) -> Cents {
    Cents::euros(match level {
        CardLevel::Standard => 2_000,
        CardLevel::Plus => 3_000,
        CardLevel::Metal => 5_000,
        CardLevel::Virtual | CardLevel::VirtualPartner | CardLevel::Advertising => 1_000,
        CardLevel::Flash => FLASH_LIFESPAN_MAX_EUROS,
    })
}

/// Maximum monthly ATM limit per level; zero where cash withdrawals do not exist.
pub fn max_atm_monthly(level: CardLevel) -> Cents {
    Cents::euros(match level {
        CardLevel::Standard => 3_000,
        CardLevel::Plus => 5_000,
        CardLevel::Metal => 10_000,
        _ => 0,
    })
}

pub const FLASH_LIFESPAN_MIN_EUROS: i64 = 5;
pub const FLASH_LIFESPAN_MAX_EUROS: i64 = 20_000;
pub const NICKNAME_MAX: usize = 40;

/// Every limit rule, on the resulting limits of a card of `level`.
pub fn check_limits(level: CardLevel, limits: &CardLimits) -> Vec<CardIssue> {
    let mut issues = Vec::new();
    let mut at_most = |field: CardField, value: Cents, max: Cents, what: String| {
        if value > max {
            issues.push(CardIssue::invalid(field, format!("{} must be at most {what}", field.as_str())));
        }
    };
    at_most(
        CardField::PaymentMonthlyLimit,
        limits.payment_monthly,
        max_payment_monthly(level),
        max_payment_monthly(level).to_string(),
    );
    at_most(CardField::AtmMonthlyLimit, limits.atm_monthly, max_atm_monthly(level), max_atm_monthly(level).to_string());
    // A daily or per-transaction limit whose option is off does not apply, so it constrains
    // nothing: lowering the monthly limit never trips over a limit that is switched off.
    if limits.payment_daily_option {
        at_most(
            CardField::PaymentDailyLimit,
            limits.payment_daily,
            limits.payment_monthly,
            "payment_monthly_limit".into(),
        );
    }
    if limits.atm_daily_option {
        at_most(CardField::AtmDailyLimit, limits.atm_daily, limits.atm_monthly, "atm_monthly_limit".into());
    }
    if limits.payment_transaction_option {
        let (ceiling, ceiling_name) = if limits.payment_daily_option {
            (limits.payment_daily, "payment_daily_limit")
        } else {
            (limits.payment_monthly, "payment_monthly_limit")
        };
        at_most(CardField::PaymentTransactionLimit, limits.payment_transaction, ceiling, ceiling_name.into());
    }
    if level == CardLevel::Flash {
        let lifespan = limits.payment_lifespan.unwrap_or(Cents::ZERO);
        let (min, max) = (Cents::euros(FLASH_LIFESPAN_MIN_EUROS), Cents::euros(FLASH_LIFESPAN_MAX_EUROS));
        if lifespan < min || lifespan > max {
            issues.push(CardIssue::invalid(
                CardField::PaymentLifespanLimit,
                format!("payment_lifespan_limit must be between {min} and {max}"),
            ));
        }
    } else if limits.payment_lifespan.is_some() {
        issues.push(CardIssue::invalid(
            CardField::PaymentLifespanLimit,
            "payment_lifespan_limit only applies to flash cards",
        ));
    }
    issues
}

/// Options a level cannot have.
pub fn check_options(level: CardLevel, options: &CardOptions) -> Vec<CardIssue> {
    let mut issues = Vec::new();
    if options.atm && !level.allows_atm() {
        issues.push(CardIssue::invalid(CardField::AtmOption, format!("atm_option is not available on {level} cards")));
    }
    if options.nfc && matches!(level, CardLevel::Flash | CardLevel::Advertising) {
        issues.push(CardIssue::invalid(
            CardField::NfcOption,
            format!("{level} cards pay online only: nfc_option must be false"),
        ));
    }
    issues
}

/// ISO weekdays: non-empty, 1..=7, no duplicates. Returns them sorted.
pub fn check_active_days(days: &[i64]) -> Result<Vec<i8>, CardIssue> {
    let field = CardField::ActiveDays;
    if days.is_empty() {
        return Err(CardIssue::new("too_short", field, "active_days must list at least one day"));
    }
    if let Some(bad) = days.iter().find(|d| !(1..=7).contains(*d)) {
        return Err(CardIssue::new(
            "not_in_list",
            field,
            format!("active_days value {bad} is not a day from 1 (Monday) to 7 (Sunday)"),
        ));
    }
    let mut sorted: Vec<i8> = days.iter().map(|d| *d as i8).collect();
    sorted.sort_unstable();
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        return Err(CardIssue::invalid(field, "active_days must not repeat a day"));
    }
    Ok(sorted)
}

/// Merchant categories from the catalog, no duplicates, in the order given.
pub fn check_categories(values: &[String]) -> Result<Vec<Category>, CardIssue> {
    let field = CardField::Categories;
    let mut categories = Vec::with_capacity(values.len());
    for value in values {
        let category = Category::parse(value).ok_or_else(|| {
            let known: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
            CardIssue::new("not_in_list", field, format!("category {value:?} is not one of: {}", known.join(", ")))
        })?;
        if categories.contains(&category) {
            return Err(CardIssue::invalid(field, format!("category {value:?} is listed twice")));
        }
        categories.push(category);
    }
    Ok(categories)
}

/// 1..=40 characters after trimming.
pub fn check_nickname(raw: &str) -> Result<String, CardIssue> {
    let nickname = raw.trim();
    let field = CardField::Nickname;
    match nickname.chars().count() {
        0 => Err(CardIssue::new("too_short", field, "nickname must not be empty")),
        n if n > NICKNAME_MAX => {
            Err(CardIssue::new("too_long", field, format!("nickname must have at most {NICKNAME_MAX} characters")))
        }
        _ => Ok(nickname.to_owned()),
    }
}

/// Every settings rule on a whole card (used after any change).
pub fn check_card(card: &Card) -> Vec<CardIssue> {
    let mut issues = check_limits(card.level, &card.limits);
    issues.extend(check_options(card.level, &card.options));
    issues
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::tests::card;
    use crate::card::Lifecycle;
    use proptest::prelude::*;

    fn limits(monthly: i64) -> CardLimits {
        card(CardLevel::Standard, Lifecycle::Live).limits.clone_with_monthly(monthly)
    }

    trait WithMonthly {
        fn clone_with_monthly(&self, monthly: i64) -> CardLimits;
    }

    impl WithMonthly for CardLimits {
        fn clone_with_monthly(&self, monthly: i64) -> CardLimits {
            CardLimits {
                payment_monthly: Cents(monthly),
                payment_daily: Cents(monthly),
                payment_transaction: Cents(monthly),
                ..*self
            }
        }
    }

    #[test]
    fn each_maximum_is_accepted_at_the_limit_and_refused_one_cent_above() {
        for level in CardLevel::ALL.iter().copied().filter(|l| *l != CardLevel::Flash) {
            let max = max_payment_monthly(level);
            assert!(check_limits(level, &limits(max.0)).is_empty(), "{level} at max");
            let issues = check_limits(level, &limits(max.0 + 1));
            assert_eq!(issues.len(), 1, "{level}: {issues:?}");
            assert_eq!(issues[0].field.as_str(), "payment_monthly_limit");
            assert_eq!(issues[0].detail, format!("payment_monthly_limit must be at most {max}"));
        }
        let mut atm = limits(10_000);
        atm.atm_monthly = max_atm_monthly(CardLevel::Plus);
        atm.atm_daily = atm.atm_monthly;
        assert!(check_limits(CardLevel::Plus, &atm).is_empty());
        atm.atm_monthly = atm.atm_monthly + Cents(1);
        assert_eq!(check_limits(CardLevel::Plus, &atm)[0].field.as_str(), "atm_monthly_limit");
    }

    #[test]
    fn daily_may_not_exceed_monthly() {
        let mut l = limits(100_000);
        l.payment_daily = Cents(100_001);
        assert!(check_limits(CardLevel::Standard, &l).is_empty(), "a daily limit that is off does not apply");
        l.payment_daily_option = true;
        let issues = check_limits(CardLevel::Standard, &l);
        assert_eq!(issues[0].field.as_str(), "payment_daily_limit");
    }

    #[test]
    fn transaction_is_bounded_by_daily_when_both_apply() {
        let mut l = limits(100_000);
        l.payment_daily = Cents(10_000);
        l.payment_transaction = Cents(20_000);
        l.payment_transaction_option = true;
        assert!(check_limits(CardLevel::Standard, &l).is_empty(), "daily option off: bounded by monthly");
        l.payment_daily_option = true;
        assert_eq!(check_limits(CardLevel::Standard, &l)[0].field.as_str(), "payment_transaction_limit");
    }

    #[test]
    fn flash_lifespan_bounds() {
        let mut l = limits(2_000_000);
        l.payment_lifespan = Some(Cents::euros(5));
        assert!(check_limits(CardLevel::Flash, &l).is_empty());
        l.payment_lifespan = Some(Cents(499));
        assert_eq!(check_limits(CardLevel::Flash, &l)[0].field.as_str(), "payment_lifespan_limit");
        l.payment_lifespan = Some(Cents::euros(20_000) + Cents(1));
        assert_eq!(check_limits(CardLevel::Flash, &l).len(), 1);
    }

    #[test]
    fn virtual_cards_have_no_atm() {
        let options = CardOptions { atm: true, nfc: true, online: true, foreign: true };
        let issues = check_options(CardLevel::Virtual, &options);
        assert_eq!(issues[0].field.as_str(), "atm_option");
        assert!(check_options(CardLevel::Standard, &options).is_empty());
    }

    #[test]
    fn restrictions() {
        assert_eq!(check_active_days(&[5, 1, 3]).unwrap(), vec![1, 3, 5]);
        assert!(check_active_days(&[]).is_err());
        assert!(check_active_days(&[0]).is_err());
        assert!(check_active_days(&[8]).is_err());
        assert!(check_active_days(&[2, 2]).is_err());
        assert!(check_categories(&["transport".into(), "tax".into()]).is_ok());
        assert_eq!(check_categories(&["casino".into()]).unwrap_err().code, "not_in_list");
        assert!(check_categories(&["tax".into(), "tax".into()]).is_err());
        assert_eq!(check_nickname("  Travel  ").unwrap(), "Travel");
        assert!(check_nickname("   ").is_err());
        assert!(check_nickname(&"x".repeat(41)).is_err());
        assert!(check_nickname(&"é".repeat(40)).is_ok());
    }

    proptest! {
        /// Whatever limits are asked for, accepted ones respect every ordering and maximum.
        #[test]
        fn accepted_limits_are_consistent(
            level in prop::sample::select(CardLevel::ALL.to_vec()),
            monthly in 0i64..30_000_000, daily in 0i64..30_000_000, txn in 0i64..30_000_000,
            atm_m in 0i64..2_000_000, atm_d in 0i64..2_000_000,
            daily_on: bool, txn_on: bool, atm_on: bool,
        ) {
            let l = CardLimits {
                atm_monthly: Cents(atm_m), atm_daily: Cents(atm_d), atm_daily_option: atm_on,
                payment_monthly: Cents(monthly), payment_daily: Cents(daily), payment_daily_option: daily_on,
                payment_transaction: Cents(txn), payment_transaction_option: txn_on,
                payment_lifespan: (level == CardLevel::Flash).then_some(Cents::euros(100)),
            };
            if check_limits(level, &l).is_empty() {
                prop_assert!(l.payment_monthly <= max_payment_monthly(level));
                prop_assert!(l.atm_monthly <= max_atm_monthly(level));
                // Every limit that applies respects the ones above it.
                if daily_on { prop_assert!(l.payment_daily <= l.payment_monthly); }
                if atm_on { prop_assert!(l.atm_daily <= l.atm_monthly); }
                if txn_on { prop_assert!(l.payment_transaction <= l.payment_monthly); }
                if daily_on && txn_on { prop_assert!(l.payment_transaction <= l.payment_daily); }
            }
        }
    }
}
