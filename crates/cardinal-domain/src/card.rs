//! The card: lifecycle, locks, derived status and the lifecycle transitions of spec §2.2.
//!
//! Status is never stored as truth: it is derived from the lifecycle state, the set of locks
//! and the organization's clock by [`Card::status`]. No code path writes `paused`.

use crate::action::{CardAction, Transition};
use crate::error::DomainError;
use crate::money::Cents;
use jiff::{civil::Date, tz::TimeZone, Timestamp};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use crate::kinds::{CardLevel, Category, Lifecycle, Status, TypeOfPrint};

/// Why the system (not the user) locked a card: a lowercase snake_case word such as
/// `fraud_suspicion`. Only the control API sets or lifts these; `/unlock` never does.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SystemLockReason(String);

impl SystemLockReason {
    pub fn parse(text: &str) -> Option<SystemLockReason> {
        let well_formed = (1..=64).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        well_formed.then(|| SystemLockReason(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardOptions {
    pub atm: bool,
    pub nfc: bool,
    pub online: bool,
    pub foreign: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardLimits {
    pub atm_monthly: Cents,
    pub atm_daily: Cents,
    pub atm_daily_option: bool,
    pub payment_monthly: Cents,
    pub payment_daily: Cents,
    pub payment_daily_option: bool,
    pub payment_transaction: Cents,
    pub payment_transaction_option: bool,
    /// Flash cards only: the budget over the card's whole life.
    pub payment_lifespan: Option<Cents>,
}

/// Amounts spent, each tagged with the calendar window (in the organization's time zone)
/// it was counted in. A read in a later window shows zero for that window (spec §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SpentCounters {
    pub day: Option<Date>,
    /// The first day of the month counted in `*_monthly`.
    pub month: Option<Date>,
    pub atm_daily: Cents,
    pub atm_monthly: Cents,
    pub payment_daily: Cents,
    pub payment_monthly: Cents,
    pub payment_lifespan: Cents,
}

/// The spent amounts visible at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VisibleSpent {
    pub atm_daily: Cents,
    pub atm_monthly: Cents,
    pub payment_daily: Cents,
    pub payment_monthly: Cents,
    pub payment_lifespan: Cents,
}

/// The calendar windows an instant falls in, in the organization's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    pub day: Date,
    pub month: Date,
}

impl Windows {
    pub fn at(at: Timestamp, tz: &TimeZone) -> Windows {
        let day = at.to_zoned(tz.clone()).date();
        Windows { day, month: day.first_of_month() }
    }
}

impl SpentCounters {
    /// The amounts shown in the calendar `windows` of now ([`Windows::at`]): a list works the
    /// windows out once for all its cards (a time-zone lookup costs more than the rest of this).
    pub fn visible_in(&self, windows: Windows) -> VisibleSpent {
        let same_day = self.day == Some(windows.day);
        let same_month = self.month == Some(windows.month);
        let pick = |amount: Cents, current: bool| if current { amount } else { Cents::ZERO };
        VisibleSpent {
            atm_daily: pick(self.atm_daily, same_day),
            atm_monthly: pick(self.atm_monthly, same_month),
            payment_daily: pick(self.payment_daily, same_day),
            payment_monthly: pick(self.payment_monthly, same_month),
            payment_lifespan: self.payment_lifespan,
        }
    }
}

/// Why a lifecycle action was refused: the card's level never allows it, or its state does not now.
enum Refusal {
    Level(CardLevel),
    State,
}

impl Refusal {
    fn error(self, status: Status, action: CardAction) -> DomainError {
        match self {
            Refusal::Level(level) => DomainError::WrongLevel { level, action },
            Refusal::State => DomainError::InvalidTransition { status, action },
        }
    }
}

/// A shipping address for a physical card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// Who the parcel is for, when not the holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_name: Option<String>,
    pub first_line: String,
    pub second_line: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub third_line: Option<String>,
    pub zipcode: String,
    pub city: String,
    pub country: String,
}

/// Flags Qonto reports about a card's history; Cardinal keeps them so clients see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CardFlags {
    pub renewed: bool,
    pub renewal: bool,
    pub had_operation: bool,
    pub had_pin_operation: bool,
    pub upsold: bool,
    pub upsell: bool,
    pub reordered: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentCard {
    pub id: Uuid,
    pub last_digits: String,
}

/// A card as Cardinal keeps it. PAN and CVV are not here: they live encrypted in the store
/// and are decrypted only to render the data-view page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub bank_account_id: Uuid,
    pub holder_id: Uuid,
    pub initiator_id: Uuid,
    pub level: CardLevel,
    pub lifecycle: Lifecycle,
    /// The one lock `/lock` sets and `/unlock` lifts.
    pub user_locked: bool,
    /// Kept sorted and without duplicates.
    pub system_locks: Vec<SystemLockReason>,
    pub nickname: String,
    pub embossed_name: Option<String>,
    pub pin_set: bool,
    pub last_digits: String,
    pub exp_month: i8,
    pub exp_year: i16,
    /// First instant after the expiry month, in the organization's time zone at issue.
    #[serde(serialize_with = "crate::time::stored")]
    pub expires_at: Timestamp,
    #[serde(serialize_with = "crate::time::stored_option")]
    pub pre_expires_at: Option<Timestamp>,
    #[serde(serialize_with = "crate::time::stored_option")]
    pub last_activity_at: Option<Timestamp>,
    pub ship_to_business: bool,
    pub address: Option<Address>,
    pub options: CardOptions,
    pub limits: CardLimits,
    pub spent: SpentCounters,
    /// ISO weekdays, 1 = Monday; sorted, non-empty.
    pub active_days: Vec<i8>,
    pub categories: Vec<Category>,
    #[serde(serialize_with = "crate::time::stored")]
    pub created_at: Timestamp,
    #[serde(serialize_with = "crate::time::stored")]
    pub updated_at: Timestamp,
    #[serde(serialize_with = "crate::time::stored_option")]
    pub shipped_at: Option<Timestamp>,
    pub flags: CardFlags,
    pub parent_card: Option<ParentCard>,
    pub card_design: String,
    pub type_of_print: Option<TypeOfPrint>,
    pub discard_on: Option<Date>,
}

/// The BIN every Cardinal PAN starts with (spec §3.2).
pub const BIN: &str = "511768";

/// Whether an action changed the card or found it already in the asked-for state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Changed,
    Unchanged,
}

impl Card {
    /// The lifecycle as the organization's clock sees it: a usable card past its validity
    /// reads as `pre_expired` (flash budget window) or `expired`, and that is final.
    pub fn effective_lifecycle(&self, now: Timestamp) -> Lifecycle {
        if self.lifecycle.is_terminal() {
            return self.lifecycle;
        }
        match self.pre_expires_at {
            Some(end) if now >= end => Lifecycle::PreExpired,
            _ if now >= self.expires_at => Lifecycle::Expired,
            _ => self.lifecycle,
        }
    }

    /// Whether the clock has made this card `expired` while it is not stored so: the change
    /// [`Card::settle_expiry`] makes, which announces the expiry (`cards.expired`) once.
    pub fn expiry_due(&self, now: Timestamp) -> bool {
        !self.lifecycle.is_terminal() && self.effective_lifecycle(now) == Lifecycle::Expired
    }

    /// Stores the expiry the clock shows (the status read does not change: it already read
    /// `expired`). Unchanged when it is not due.
    pub fn settle_expiry(&mut self, now: Timestamp) -> Outcome {
        if !self.expiry_due(now) {
            return Outcome::Unchanged;
        }
        self.lifecycle = Lifecycle::Expired;
        self.updated_at = now;
        Outcome::Changed
    }

    /// The `status` field (spec §2.2). The one place status is computed.
    pub fn status(&self, now: Timestamp) -> Status {
        let state = self.effective_lifecycle(now);
        if state.shows_locks() && self.is_locked() {
            Status::Paused
        } else {
            state.into()
        }
    }

    /// Status ignoring the clock: what the store indexes. Storage backends derive the
    /// time-dependent part with the same rule as [`Card::effective_lifecycle`].
    pub fn status_ignoring_expiry(&self) -> Status {
        if self.lifecycle.shows_locks() && self.is_locked() {
            Status::Paused
        } else {
            self.lifecycle.into()
        }
    }

    pub fn is_locked(&self) -> bool {
        self.user_locked || !self.system_locks.is_empty()
    }

    /// `last_activity_at` as Qonto shows it: the last payment attempt, or the creation time
    /// while there was none — never null, strict clients reject a null (spec §2.1).
    pub fn last_activity_shown(&self) -> Timestamp {
        self.last_activity_at.unwrap_or(self.created_at)
    }

    /// True when `/unlock` would lift every current lock (also true with no lock at all).
    pub fn has_only_user_liftable_locks(&self) -> bool {
        self.system_locks.is_empty()
    }

    pub fn mask_pan(&self) -> String {
        format!("{BIN}******{}", self.last_digits)
    }

    /// Applies a lifecycle action of spec §2.2's table. Settings updates are not lifecycle
    /// actions; they only need [`Card::ensure_not_terminal`].
    pub fn apply(&mut self, transition: Transition, now: Timestamp) -> Result<Outcome, DomainError> {
        let action = CardAction::from(transition);
        let state = self.effective_lifecycle(now);
        let status = self.status(now);
        let refuse = || DomainError::InvalidTransition { status, action };
        let outcome = match transition {
            Transition::Lock | Transition::Unlock => {
                if !matches!(state, Lifecycle::Live | Lifecycle::PinBlocked) {
                    return Err(refuse());
                }
                let locked = transition == Transition::Lock;
                self.set(|card| std::mem::replace(&mut card.user_locked, locked) != locked)
            }
            Transition::ReportLost | Transition::ReportStolen => {
                let target = if transition == Transition::ReportLost { Lifecycle::Lost } else { Lifecycle::Stolen };
                self.terminate(state, target, self.level.is_physical()).map_err(|why| why.error(status, action))?
            }
            Transition::Discard => self
                .terminate(state, Lifecycle::Discarded, !self.level.is_physical())
                .map_err(|why| why.error(status, action))?,
            Transition::Activate => {
                if !self.level.is_physical() {
                    return Err(DomainError::WrongLevel { level: self.level, action });
                }
                if state != Lifecycle::Pending {
                    return Err(refuse());
                }
                self.lifecycle = Lifecycle::Live;
                self.pin_set = true;
                Outcome::Changed
            }
        };
        if outcome == Outcome::Changed {
            self.updated_at = now;
        }
        Ok(outcome)
    }

    /// Moves to a final state; repeating the same report is a no-op.
    fn terminate(&mut self, state: Lifecycle, target: Lifecycle, level_allows: bool) -> Result<Outcome, Refusal> {
        if state == target {
            return Ok(Outcome::Unchanged);
        }
        if !level_allows {
            return Err(Refusal::Level(self.level));
        }
        if state.is_terminal() {
            return Err(Refusal::State);
        }
        self.lifecycle = target;
        Ok(Outcome::Changed)
    }

    fn set(&mut self, change: impl FnOnce(&mut Card) -> bool) -> Outcome {
        if change(self) {
            Outcome::Changed
        } else {
            Outcome::Unchanged
        }
    }

    /// Settings (limits, options, restrictions, nickname) change on any non-terminal card.
    pub fn ensure_not_terminal(&self, action: CardAction, now: Timestamp) -> Result<(), DomainError> {
        if self.effective_lifecycle(now).is_terminal() {
            return Err(DomainError::InvalidTransition { status: self.status(now), action });
        }
        Ok(())
    }

    /// A system lock holds until the control API lifts it; `/unlock` leaves it in place.
    pub fn add_system_lock(&mut self, reason: SystemLockReason, now: Timestamp) -> Result<Outcome, DomainError> {
        self.ensure_not_terminal(CardAction::SystemLock, now)?;
        if let Err(at) = self.system_locks.binary_search(&reason) {
            self.system_locks.insert(at, reason);
            self.updated_at = now;
            return Ok(Outcome::Changed);
        }
        Ok(Outcome::Unchanged)
    }

    /// Lifts one system lock. `None` when the card has no lock with that reason.
    pub fn remove_system_lock(&mut self, reason: &SystemLockReason, now: Timestamp) -> Option<Outcome> {
        let at = self.system_locks.binary_search(reason).ok()?;
        self.system_locks.remove(at);
        self.updated_at = now;
        Some(Outcome::Changed)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    pub fn card(level: CardLevel, lifecycle: Lifecycle) -> Card {
        let now = ts("2026-01-15T10:00:00Z");
        Card {
            id: Uuid::from_u128(1),
            organization_id: Uuid::from_u128(2),
            bank_account_id: Uuid::from_u128(3),
            holder_id: Uuid::from_u128(4),
            initiator_id: Uuid::from_u128(4),
            level,
            lifecycle,
            user_locked: false,
            system_locks: vec![],
            nickname: level.default_nickname().into(),
            embossed_name: None,
            pin_set: false,
            last_digits: "1234".into(),
            exp_month: 1,
            exp_year: 2029,
            expires_at: ts("2029-01-31T23:00:00Z"),
            pre_expires_at: None,
            last_activity_at: None,
            ship_to_business: false,
            address: None,
            options: CardOptions { atm: false, nfc: true, online: true, foreign: true },
            limits: CardLimits {
                atm_monthly: Cents::ZERO,
                atm_daily: Cents::ZERO,
                atm_daily_option: false,
                payment_monthly: Cents::euros(1000),
                payment_daily: Cents::euros(1000),
                payment_daily_option: false,
                payment_transaction: Cents::euros(1000),
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
            card_design: "virtual.default.2017".into(),
            type_of_print: None,
            discard_on: None,
        }
    }

    fn now() -> Timestamp {
        ts("2026-02-01T09:00:00Z")
    }

    fn reason(text: &str) -> SystemLockReason {
        SystemLockReason::parse(text).unwrap()
    }

    #[test]
    fn lock_pauses_and_repeats_unchanged() {
        let mut c = card(CardLevel::Virtual, Lifecycle::Live);
        assert_eq!(c.apply(Transition::Lock, now()), Ok(Outcome::Changed));
        assert_eq!(c.status(now()), Status::Paused);
        assert_eq!(c.updated_at, now());
        assert_eq!(c.apply(Transition::Lock, now()), Ok(Outcome::Unchanged));
        assert_eq!(c.status(now()), Status::Paused);
        assert_eq!(c.apply(Transition::Unlock, now()), Ok(Outcome::Changed));
        assert_eq!(c.status(now()), Status::Live);
        assert_eq!(c.apply(Transition::Unlock, now()), Ok(Outcome::Unchanged));
    }

    #[test]
    fn system_lock_survives_unlock() {
        let mut c = card(CardLevel::Standard, Lifecycle::Live);
        c.apply(Transition::Lock, now()).unwrap();
        c.add_system_lock(reason("fraud_suspicion"), now()).unwrap();
        assert!(!c.has_only_user_liftable_locks());
        c.apply(Transition::Unlock, now()).unwrap();
        assert_eq!(c.status(now()), Status::Paused);
        assert!(!c.has_only_user_liftable_locks());
        c.remove_system_lock(&reason("fraud_suspicion"), now()).unwrap();
        assert_eq!(c.status(now()), Status::Live);
        assert!(c.has_only_user_liftable_locks());
    }

    #[test]
    fn lock_on_pending_card_is_invalid() {
        let mut c = card(CardLevel::Standard, Lifecycle::Pending);
        let err = c.apply(Transition::Lock, now()).unwrap_err();
        assert_eq!(err, DomainError::InvalidTransition { status: Status::Pending, action: CardAction::Lock });
        assert_eq!(err.to_string(), "a pending card cannot be locked");
    }

    #[test]
    fn lost_only_for_physical_discard_only_for_virtual() {
        let mut v = card(CardLevel::Virtual, Lifecycle::Live);
        assert!(v.apply(Transition::ReportLost, now()).is_err());
        assert_eq!(v.apply(Transition::Discard, now()), Ok(Outcome::Changed));
        assert_eq!(v.apply(Transition::Discard, now()), Ok(Outcome::Unchanged));
        assert!(v.apply(Transition::Lock, now()).is_err());

        let mut p = card(CardLevel::Metal, Lifecycle::Pending);
        assert!(p.apply(Transition::Discard, now()).is_err());
        assert_eq!(p.apply(Transition::ReportStolen, now()), Ok(Outcome::Changed));
        assert_eq!(p.apply(Transition::ReportStolen, now()), Ok(Outcome::Unchanged));
        assert!(p.apply(Transition::ReportLost, now()).is_err());
    }

    #[test]
    fn expiry_reads_through_the_clock() {
        let mut c = card(CardLevel::Virtual, Lifecycle::Live);
        c.user_locked = true;
        assert_eq!(c.status(ts("2029-01-31T22:59:59Z")), Status::Paused);
        assert_eq!(c.status(ts("2029-01-31T23:00:00Z")), Status::Expired);
        assert!(c.apply(Transition::Unlock, ts("2029-02-01T00:00:00Z")).is_err());

        let mut flash = card(CardLevel::Flash, Lifecycle::Live);
        flash.pre_expires_at = Some(ts("2026-03-01T00:00:00Z"));
        assert_eq!(flash.status(ts("2026-03-01T00:00:00Z")), Status::PreExpired);
    }

    #[test]
    fn activate_only_pending_physical() {
        let mut p = card(CardLevel::Standard, Lifecycle::Pending);
        assert_eq!(p.apply(Transition::Activate, now()), Ok(Outcome::Changed));
        assert!(p.pin_set);
        assert_eq!(p.status(now()), Status::Live);
        assert!(p.apply(Transition::Activate, now()).is_err());
        assert!(card(CardLevel::Virtual, Lifecycle::Live).apply(Transition::Activate, now()).is_err());
    }

    #[test]
    fn system_lock_reasons_are_snake_case_words() {
        assert!(SystemLockReason::parse("sca_failures").is_some());
        assert!(SystemLockReason::parse("").is_none());
        assert!(SystemLockReason::parse("Fraud").is_none());
        assert!(SystemLockReason::parse("a b").is_none());
    }

    #[derive(Debug, Clone)]
    enum Step {
        Act(Transition),
        SystemLock(u8),
        LiftSystemLock(u8),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            prop::sample::select(vec![
                Transition::Lock,
                Transition::Unlock,
                Transition::ReportLost,
                Transition::ReportStolen,
                Transition::Discard,
                Transition::Activate,
            ])
            .prop_map(Step::Act),
            (0u8..3).prop_map(Step::SystemLock),
            (0u8..3).prop_map(Step::LiftSystemLock),
        ]
    }

    proptest! {
        /// No sequence of lock/unlock/system-lock actions yields a wrong status: the status is
        /// always what the lifecycle and the set of locks say it is, terminal states never
        /// leave, and a card is never usable while any lock remains.
        #[test]
        fn status_always_matches_locks_and_lifecycle(
            level in prop::sample::select(CardLevel::ALL.to_vec()),
            start in prop::sample::select(vec![Lifecycle::Pending, Lifecycle::Live, Lifecycle::PinBlocked]),
            steps in prop::collection::vec(step(), 0..40),
        ) {
            let mut c = card(level, start);
            let mut user_lock = false;
            let mut system: std::collections::BTreeSet<u8> = Default::default();
            let mut terminal_at: Option<Lifecycle> = None;
            for s in steps {
                let before = c.clone();
                let result = match &s {
                    Step::Act(a) => c.apply(*a, now()).map(|_| ()),
                    Step::SystemLock(n) => c.add_system_lock(reason(&format!("r{n}")), now()).map(|_| ()),
                    Step::LiftSystemLock(n) => { c.remove_system_lock(&reason(&format!("r{n}")), now()); Ok(()) }
                };
                if result.is_err() {
                    prop_assert_eq!(&c, &before, "a refused action must not change the card");
                } else {
                    match s {
                        Step::Act(Transition::Lock) => user_lock = true,
                        Step::Act(Transition::Unlock) => user_lock = false,
                        Step::SystemLock(n) => { system.insert(n); }
                        Step::LiftSystemLock(n) => { system.remove(&n); }
                        _ => {}
                    }
                }
                if let Some(t) = terminal_at {
                    prop_assert_eq!(c.lifecycle, t, "terminal states are final");
                }
                if c.lifecycle.is_terminal() { terminal_at = Some(c.lifecycle); }
                let locked = user_lock || !system.is_empty();
                prop_assert_eq!(c.is_locked(), locked);
                prop_assert_eq!(c.has_only_user_liftable_locks(), system.is_empty());
                let status = c.status(now());
                if matches!(c.lifecycle, Lifecycle::Live | Lifecycle::PinBlocked) && locked {
                    prop_assert_eq!(status, Status::Paused);
                } else {
                    prop_assert_eq!(status, Status::from(c.lifecycle));
                }
            }
        }
    }
}
