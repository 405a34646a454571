//! The authorization decision (spec §6.1) as a pure function, and what an approval or a
//! reversal does to a card's spent counters (spec §4). Checks run in the contract's order;
//! the first failure is the decline reason.

use crate::card::{Card, CardLevel, Category, SpentCounters, Status, Windows};
use crate::kinds::wire_enum;
use crate::money::Cents;
use jiff::{tz::TimeZone, Timestamp};

wire_enum! {
    /// How the card is used at the merchant.
    Channel { Chip = "chip", Contactless = "contactless", Online = "online", Atm = "atm" }
}

wire_enum! {
    /// Why an authorization was declined, in check order.
    DeclineReason {
        CardExpired = "card_expired",
        CardNotActive = "card_not_active",
        OptionDisabled = "option_disabled",
        DayNotAllowed = "day_not_allowed",
        CategoryNotAllowed = "category_not_allowed",
        TransactionLimitExceeded = "transaction_limit_exceeded",
        DailyLimitExceeded = "daily_limit_exceeded",
        MonthlyLimitExceeded = "monthly_limit_exceeded",
        LifespanLimitExceeded = "lifespan_limit_exceeded",
        AtmDailyLimitExceeded = "atm_daily_limit_exceeded",
        AtmMonthlyLimitExceeded = "atm_monthly_limit_exceeded",
        InsufficientFunds = "insufficient_funds",
    }
}

/// A merchant's category: one of the card categories, or anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MerchantCategory {
    Known(Category),
    Other,
}

impl MerchantCategory {
    pub fn parse(text: &str) -> Option<MerchantCategory> {
        if text == "other" {
            return Some(MerchantCategory::Other);
        }
        Category::parse(text).map(MerchantCategory::Known)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MerchantCategory::Known(c) => c.as_str(),
            MerchantCategory::Other => "other",
        }
    }

    /// The card category of a merchant category code (ISO 18245), as card programs group
    /// them; a code in none of the groups is `Other` (what a card restricted to categories
    /// declines).
    pub fn of_mcc(mcc: u16) -> MerchantCategory {
        use Category::*;
        let category = match mcc {
            5812..=5814 => RestaurantAndBar,
            5411 | 5422 | 5441 | 5451 | 5462 | 5499 => FoodAndGrocery,
            3000..=3299 | 3351..=3441 | 4111..=4131 | 4411..=4789 | 5541 | 5542 | 7512 | 7523 => Transport,
            4812 | 4814 | 4816 | 4899 | 4900 => Utility,
            9311 => Tax,
            8111 | 8931 => LegalAndAccounting,
            6010 | 6011 => Atm,
            5111 | 5943 | 5044 => OfficeSupply,
            5045 | 5732 | 5734 | 5946 => ItAndElectronics,
            5072 | 5200 | 5211 | 5251 | 5085 => HardwareAndEquipment,
            6012 | 6051 | 6211 | 6300 => Finance,
            _ => return MerchantCategory::Other,
        };
        MerchantCategory::Known(category)
    }
}

#[cfg(test)]
mod mcc_tests {
    use super::*;

    #[test]
    fn merchant_codes_map_to_card_categories() {
        assert_eq!(MerchantCategory::of_mcc(5812).as_str(), "restaurant_and_bar");
        assert_eq!(MerchantCategory::of_mcc(6011).as_str(), "atm");
        assert_eq!(MerchantCategory::of_mcc(4121).as_str(), "transport");
        assert_eq!(MerchantCategory::of_mcc(7995).as_str(), "other");
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub amount: Cents,
    pub channel: Channel,
    pub category: MerchantCategory,
    /// ISO 3166 alpha-2.
    pub merchant_country: String,
    /// On the organization's clock.
    pub at: Timestamp,
}

/// What the decision needs besides the card.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub organization_country: &'a str,
    pub time_zone: &'a TimeZone,
    /// The bank account's authorized balance.
    pub available: Cents,
}

/// The spent counters as they stand in `windows`: amounts from earlier windows read as zero.
fn spent_in(counters: &SpentCounters, windows: Windows) -> SpentCounters {
    let same_day = counters.day == Some(windows.day);
    let same_month = counters.month == Some(windows.month);
    SpentCounters {
        day: Some(windows.day),
        month: Some(windows.month),
        atm_daily: if same_day { counters.atm_daily } else { Cents::ZERO },
        payment_daily: if same_day { counters.payment_daily } else { Cents::ZERO },
        atm_monthly: if same_month { counters.atm_monthly } else { Cents::ZERO },
        payment_monthly: if same_month { counters.payment_monthly } else { Cents::ZERO },
        payment_lifespan: counters.payment_lifespan,
    }
}

/// Approves or declines `attempt` on `card`. Pure: nothing changes here.
pub fn decide(card: &Card, attempt: &Attempt, context: &Context) -> Result<(), DeclineReason> {
    use DeclineReason::*;
    let status = card.status(attempt.at);
    if matches!(status, Status::Expired | Status::PreExpired) {
        return Err(CardExpired);
    }
    let pin_blocked_online = status == Status::PinBlocked && attempt.channel == Channel::Online;
    if status != Status::Live && !pin_blocked_online {
        return Err(CardNotActive);
    }
    let options = &card.options;
    let channel_allowed = match attempt.channel {
        Channel::Atm => options.atm,
        Channel::Contactless => options.nfc,
        Channel::Online => options.online,
        Channel::Chip => true,
    };
    let foreign = !attempt.merchant_country.eq_ignore_ascii_case(context.organization_country);
    if !channel_allowed || (foreign && !options.foreign) {
        return Err(OptionDisabled);
    }
    let weekday = attempt.at.to_zoned(context.time_zone.clone()).weekday().to_monday_one_offset();
    if !card.active_days.contains(&weekday) {
        return Err(DayNotAllowed);
    }
    let category =
        if attempt.channel == Channel::Atm { MerchantCategory::Known(Category::Atm) } else { attempt.category };
    let allowed = match category {
        MerchantCategory::Known(c) => card.categories.contains(&c),
        MerchantCategory::Other => false,
    };
    if !card.categories.is_empty() && !allowed {
        return Err(CategoryNotAllowed);
    }
    check_limits(card, attempt, context.time_zone)?;
    if context.available < attempt.amount {
        return Err(InsufficientFunds);
    }
    Ok(())
}

fn check_limits(card: &Card, attempt: &Attempt, tz: &TimeZone) -> Result<(), DeclineReason> {
    use DeclineReason::*;
    let limits = &card.limits;
    let spent = spent_in(&card.spent, Windows::at(attempt.at, tz));
    let amount = attempt.amount;
    let over = |spent: Cents, limit: Cents| spent + amount > limit;
    if attempt.channel == Channel::Atm {
        if limits.atm_daily_option && over(spent.atm_daily, limits.atm_daily) {
            return Err(AtmDailyLimitExceeded);
        }
        if over(spent.atm_monthly, limits.atm_monthly) {
            return Err(AtmMonthlyLimitExceeded);
        }
        return Ok(());
    }
    if limits.payment_transaction_option && amount > limits.payment_transaction {
        return Err(TransactionLimitExceeded);
    }
    if limits.payment_daily_option && over(spent.payment_daily, limits.payment_daily) {
        return Err(DailyLimitExceeded);
    }
    if over(spent.payment_monthly, limits.payment_monthly) {
        return Err(MonthlyLimitExceeded);
    }
    if card.level == CardLevel::Flash {
        if let Some(lifespan) = limits.payment_lifespan {
            if over(spent.payment_lifespan, lifespan) {
                return Err(LifespanLimitExceeded);
            }
        }
    }
    Ok(())
}

/// Counts an approved amount in the windows of `at` (earlier windows' amounts drop away).
pub fn record_approval(card: &mut Card, amount: Cents, channel: Channel, at: Timestamp, tz: &TimeZone) -> Windows {
    let windows = Windows::at(at, tz);
    let mut spent = spent_in(&card.spent, windows);
    if channel == Channel::Atm {
        spent.atm_daily = spent.atm_daily + amount;
        spent.atm_monthly = spent.atm_monthly + amount;
    } else {
        spent.payment_daily = spent.payment_daily + amount;
        spent.payment_monthly = spent.payment_monthly + amount;
        spent.payment_lifespan = spent.payment_lifespan + amount;
    }
    card.spent = spent;
    card.flags.had_operation = true;
    card.last_activity_at = Some(at);
    windows
}

/// Gives a reversed amount back to the windows it was counted in, where they are still
/// the card's current ones; the lifespan budget always gets it back.
pub fn record_reversal(card: &mut Card, amount: Cents, channel: Channel, counted_in: Windows) {
    let back = |spent: &mut Cents| *spent = Cents((spent.0 - amount.0).max(0));
    let s = &mut card.spent;
    let same_day = s.day == Some(counted_in.day);
    let same_month = s.month == Some(counted_in.month);
    if channel == Channel::Atm {
        if same_day {
            back(&mut s.atm_daily);
        }
        if same_month {
            back(&mut s.atm_monthly);
        }
    } else {
        if same_day {
            back(&mut s.payment_daily);
        }
        if same_month {
            back(&mut s.payment_monthly);
        }
        back(&mut s.payment_lifespan);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::tests::{card, ts};
    use crate::card::{Lifecycle, SystemLockReason};
    use jiff::civil::Date;
    use proptest::prelude::*;

    fn paris() -> TimeZone {
        TimeZone::get("Europe/Paris").unwrap()
    }

    fn attempt(euros: i64, channel: Channel, at: &str) -> Attempt {
        Attempt {
            amount: Cents::euros(euros),
            channel,
            category: MerchantCategory::Known(Category::Transport),
            merchant_country: "FR".into(),
            at: ts(at),
        }
    }

    fn ctx(tz: &TimeZone) -> Context<'_> {
        Context { organization_country: "FR", time_zone: tz, available: Cents::euros(1_000_000) }
    }

    const MONDAY: &str = "2026-02-02T10:00:00Z";

    #[test]
    fn each_check_in_order() {
        let tz = paris();
        let base = card(CardLevel::Standard, Lifecycle::Live);
        let ok = attempt(10, Channel::Chip, MONDAY);
        assert_eq!(decide(&base, &ok, &ctx(&tz)), Ok(()));

        let mut expired = base.clone();
        expired.expires_at = ts("2026-01-01T00:00:00Z");
        expired.user_locked = true;
        assert_eq!(decide(&expired, &ok, &ctx(&tz)), Err(DeclineReason::CardExpired), "expired wins over locked");

        let mut locked = base.clone();
        locked.user_locked = true;
        let huge = attempt(999_999, Channel::Chip, MONDAY);
        assert_eq!(decide(&locked, &huge, &ctx(&tz)), Err(DeclineReason::CardNotActive), "locked wins over limits");
        let mut system = base.clone();
        system.system_locks.push(SystemLockReason::parse("fraud_suspicion").unwrap());
        assert_eq!(decide(&system, &ok, &ctx(&tz)), Err(DeclineReason::CardNotActive));

        let mut pin_blocked = base.clone();
        pin_blocked.lifecycle = Lifecycle::PinBlocked;
        assert_eq!(decide(&pin_blocked, &ok, &ctx(&tz)), Err(DeclineReason::CardNotActive));
        assert_eq!(
            decide(&pin_blocked, &attempt(10, Channel::Online, MONDAY), &ctx(&tz)),
            Ok(()),
            "pin_blocked pays online"
        );

        let mut no_nfc = base.clone();
        no_nfc.options.nfc = false;
        assert_eq!(
            decide(&no_nfc, &attempt(10, Channel::Contactless, MONDAY), &ctx(&tz)),
            Err(DeclineReason::OptionDisabled)
        );
        let mut no_foreign = base.clone();
        no_foreign.options.foreign = false;
        let abroad = Attempt { merchant_country: "DE".into(), ..ok.clone() };
        assert_eq!(decide(&no_foreign, &abroad, &ctx(&tz)), Err(DeclineReason::OptionDisabled));
        assert_eq!(
            decide(&base, &attempt(10, Channel::Atm, MONDAY), &ctx(&tz)),
            Err(DeclineReason::OptionDisabled),
            "fixture has no ATM"
        );

        let mut weekend_only = base.clone();
        weekend_only.active_days = vec![6, 7];
        assert_eq!(decide(&weekend_only, &ok, &ctx(&tz)), Err(DeclineReason::DayNotAllowed));

        let mut restaurants = base.clone();
        restaurants.categories = vec![Category::RestaurantAndBar];
        assert_eq!(decide(&restaurants, &ok, &ctx(&tz)), Err(DeclineReason::CategoryNotAllowed));
        let other = Attempt { category: MerchantCategory::Other, ..ok.clone() };
        assert_eq!(decide(&restaurants, &other, &ctx(&tz)), Err(DeclineReason::CategoryNotAllowed));

        let mut txn = base.clone();
        txn.limits.payment_transaction_option = true;
        txn.limits.payment_transaction = Cents::euros(5);
        assert_eq!(decide(&txn, &ok, &ctx(&tz)), Err(DeclineReason::TransactionLimitExceeded));

        let poor = Context { available: Cents::euros(9), ..ctx(&tz) };
        assert_eq!(decide(&base, &ok, &poor), Err(DeclineReason::InsufficientFunds));
    }

    #[test]
    fn the_weekday_is_local() {
        let tz = paris();
        let mut weekdays = card(CardLevel::Virtual, Lifecycle::Live);
        weekdays.active_days = vec![1, 2, 3, 4, 5];
        // Friday 23:30 UTC is already Saturday in Paris.
        assert_eq!(
            decide(&weekdays, &attempt(1, Channel::Online, "2026-02-06T23:30:00Z"), &ctx(&tz)),
            Err(DeclineReason::DayNotAllowed)
        );
        assert_eq!(decide(&weekdays, &attempt(1, Channel::Online, "2026-02-06T22:30:00Z"), &ctx(&tz)), Ok(()));
    }

    #[test]
    fn daily_window_turns_at_local_midnight_across_dst() {
        let tz = paris();
        let mut c = card(CardLevel::Virtual, Lifecycle::Live);
        c.limits.payment_daily_option = true;
        c.limits.payment_daily = Cents::euros(100);
        // 2026-03-29 is the spring-forward day in Paris (UTC+1 → UTC+2).
        let before = "2026-03-28T22:30:00Z"; // 23:30 on the 28th in Paris
        record_approval(&mut c, Cents::euros(60), Channel::Online, ts(before), &tz);
        assert_eq!(
            decide(&c, &attempt(50, Channel::Online, before), &ctx(&tz)),
            Err(DeclineReason::DailyLimitExceeded)
        );
        let after_midnight = "2026-03-28T23:00:00Z"; // 00:00 on the 29th in Paris
        assert_eq!(decide(&c, &attempt(50, Channel::Online, after_midnight), &ctx(&tz)), Ok(()));
        record_approval(&mut c, Cents::euros(50), Channel::Online, ts(after_midnight), &tz);
        let seen = c.spent.visible_in(Windows::at(ts("2026-03-29T21:59:59Z"), &tz)); // 23:59:59 local, UTC+2
        assert_eq!((seen.payment_daily, seen.payment_monthly), (Cents::euros(50), Cents::euros(110)));
        let next_day = c.spent.visible_in(Windows::at(ts("2026-03-29T22:00:00Z"), &tz));
        assert_eq!(next_day.payment_daily, Cents::ZERO);
        // Autumn: 2026-10-25 has 25 hours in Paris; the window still ends at local midnight.
        let mut d = card(CardLevel::Virtual, Lifecycle::Live);
        record_approval(&mut d, Cents::euros(5), Channel::Online, ts("2026-10-24T22:30:00Z"), &tz); // 00:30 on the 25th
        assert_eq!(d.spent.visible_in(Windows::at(ts("2026-10-25T22:59:59Z"), &tz)).payment_daily, Cents::euros(5));
        assert_eq!(d.spent.visible_in(Windows::at(ts("2026-10-25T23:00:00Z"), &tz)).payment_daily, Cents::ZERO);
    }

    #[test]
    fn months_reset_and_reversals_return_to_their_window() {
        let tz = paris();
        let mut c = card(CardLevel::Virtual, Lifecycle::Live);
        let january = record_approval(&mut c, Cents::euros(900), Channel::Online, ts("2026-01-31T12:00:00Z"), &tz);
        assert_eq!(
            decide(&c, &attempt(200, Channel::Online, "2026-01-31T13:00:00Z"), &ctx(&tz)),
            Err(DeclineReason::MonthlyLimitExceeded)
        );
        assert_eq!(
            decide(&c, &attempt(200, Channel::Online, "2026-02-01T00:00:00Z"), &ctx(&tz)),
            Ok(()),
            "Paris is already in February"
        );
        record_approval(&mut c, Cents::euros(200), Channel::Online, ts("2026-02-01T00:00:00Z"), &tz);
        record_reversal(&mut c, Cents::euros(900), Channel::Online, january);
        assert_eq!(c.spent.payment_monthly, Cents::euros(200), "January's reversal does not touch February");
        let feb = Windows::at(ts("2026-02-01T00:00:00Z"), &tz);
        record_reversal(&mut c, Cents::euros(200), Channel::Online, feb);
        assert_eq!(c.spent.payment_monthly, Cents::ZERO);
    }

    #[test]
    fn atm_and_lifespan_limits() {
        let tz = paris();
        let mut atm = card(CardLevel::Standard, Lifecycle::Live);
        atm.options.atm = true;
        atm.limits.atm_monthly = Cents::euros(100);
        atm.limits.atm_daily = Cents::euros(50);
        atm.limits.atm_daily_option = true;
        assert_eq!(
            decide(&atm, &attempt(60, Channel::Atm, MONDAY), &ctx(&tz)),
            Err(DeclineReason::AtmDailyLimitExceeded)
        );
        atm.limits.atm_daily_option = false;
        assert_eq!(
            decide(&atm, &attempt(101, Channel::Atm, MONDAY), &ctx(&tz)),
            Err(DeclineReason::AtmMonthlyLimitExceeded)
        );
        let mut cash_only = atm.clone();
        cash_only.categories = vec![Category::Atm];
        assert_eq!(
            decide(&cash_only, &attempt(10, Channel::Atm, MONDAY), &ctx(&tz)),
            Ok(()),
            "ATM counts as the atm category"
        );

        let mut flash = card(CardLevel::Flash, Lifecycle::Live);
        flash.limits.payment_lifespan = Some(Cents::euros(30));
        record_approval(&mut flash, Cents::euros(25), Channel::Online, ts("2026-01-02T10:00:00Z"), &tz);
        assert_eq!(
            decide(&flash, &attempt(6, Channel::Online, MONDAY), &ctx(&tz)),
            Err(DeclineReason::LifespanLimitExceeded)
        );
        flash.pre_expires_at = Some(ts("2026-02-01T00:00:00Z"));
        assert_eq!(decide(&flash, &attempt(1, Channel::Online, MONDAY), &ctx(&tz)), Err(DeclineReason::CardExpired));
    }

    proptest! {
        /// For any sequence of amounts, times and channels, what is approved never exceeds
        /// any limit in any window, nor the balance.
        #[test]
        fn approved_totals_never_exceed_any_limit(
            steps in prop::collection::vec((1i64..5_000, 0i64..(40 * 86_400), prop::sample::select(vec![Channel::Online, Channel::Chip, Channel::Atm])), 1..80),
            daily in 1i64..20_000, monthly in 1i64..60_000, txn in 1i64..10_000, atm_m in 0i64..20_000, balance in 0i64..200_000,
        ) {
            let tz = paris();
            let mut c = card(CardLevel::Standard, Lifecycle::Live);
            c.options.atm = true;
            c.limits.payment_daily = Cents(daily); c.limits.payment_daily_option = true;
            c.limits.payment_monthly = Cents(monthly);
            c.limits.payment_transaction = Cents(txn); c.limits.payment_transaction_option = true;
            c.limits.atm_monthly = Cents(atm_m);
            let mut available = Cents(balance);
            let start = ts("2026-01-01T00:00:00Z").as_second();
            let mut sorted = steps.clone();
            sorted.sort_by_key(|s| s.1);
            let mut by_day: std::collections::HashMap<Date, i64> = Default::default();
            let mut by_month: std::collections::HashMap<Date, i64> = Default::default();
            let mut atm_by_month: std::collections::HashMap<Date, i64> = Default::default();
            for (amount, offset, channel) in sorted {
                let at = Timestamp::from_second(start + offset).unwrap();
                let a = Attempt { amount: Cents(amount), channel, category: MerchantCategory::Other, merchant_country: "FR".into(), at };
                let context = Context { organization_country: "FR", time_zone: &tz, available };
                if decide(&c, &a, &context).is_ok() {
                    let w = record_approval(&mut c, a.amount, channel, at, &tz);
                    available = available - a.amount;
                    if channel == Channel::Atm {
                        *atm_by_month.entry(w.month).or_default() += amount;
                    } else {
                        prop_assert!(amount <= txn);
                        *by_day.entry(w.day).or_default() += amount;
                        *by_month.entry(w.month).or_default() += amount;
                    }
                }
            }
            prop_assert!(available.0 >= 0);
            prop_assert!(by_day.values().all(|v| *v <= daily));
            prop_assert!(by_month.values().all(|v| *v <= monthly));
            prop_assert!(atm_by_month.values().all(|v| *v <= atm_m));
        }
    }
}
