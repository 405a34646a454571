//! Qonto's JSON: field names, number formatting and every compatibility quirk live here, so
//! a change in Qonto's shape touches this module only.

use cardinal_domain::catalog::{self, Design};
use cardinal_domain::time::rfc3339;
use cardinal_domain::{CardLevel, Cents};
use cardinal_store::{AuditEvent, BankAccount, Membership, Organization, Page, PageRequest, StoredCard};
use jiff::{tz::TimeZone, Timestamp};
use serde::{Serialize, Serializer};
use uuid::Uuid;

/// Euros on the wire: whole amounts as integers (`1000`), others with up to two decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Euros(pub Cents);

impl Serialize for Euros {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let cents = self.0 .0;
        if cents % 100 == 0 {
            s.serialize_i64(cents / 100)
        } else {
            // The nearest double prints back as the shortest decimal: 1255 → 12.55.
            s.serialize_f64(cents as f64 / 100.0)
        }
    }
}

/// A card limit on the wire: whole euros, always an integer (spec §1.1). Limits are accepted
/// only in whole euros; one stored with cents by an older version shows rounded down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(pub Cents);

impl Serialize for Limit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.0 .0.div_euclid(100))
    }
}

/// A timestamp on the wire: RFC 3339, UTC, whole seconds, `Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time(pub Timestamp);

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&rfc3339(self.0))
    }
}

fn time(ts: Option<Timestamp>) -> Option<Time> {
    ts.map(Time)
}

#[derive(Serialize)]
pub struct Meta {
    pub current_page: u32,
    pub next_page: Option<u32>,
    pub prev_page: Option<u32>,
    pub total_pages: u64,
    pub total_count: u64,
    pub per_page: u32,
}

impl Meta {
    pub fn of<T>(page: &Page<T>, request: PageRequest) -> Meta {
        let per_page = u64::from(request.per_page);
        let total_pages = page.total.div_ceil(per_page);
        let current = request.page;
        Meta {
            current_page: current,
            next_page: (u64::from(current) < total_pages).then(|| current + 1),
            prev_page: (current > 1).then(|| current - 1),
            total_pages,
            total_count: page.total,
            per_page: request.per_page,
        }
    }
}

/// Where images and pages the server links to are reachable.
#[derive(Clone, Copy)]
pub struct Links<'a> {
    pub public_url: &'a str,
}

impl Links<'_> {
    pub fn asset(&self, design: &str, asset: &str) -> String {
        format!("{}/assets/cards/{design}/{asset}.svg", self.public_url)
    }
}

#[derive(Serialize)]
pub struct Assets {
    pub front_large: String,
    pub front_small: String,
    pub front_small_wallet: String,
}

#[derive(Serialize)]
pub struct Appearance {
    pub assets: Assets,
    pub theme: &'static str,
    pub gradient_hex_color: &'static str,
}

pub const ASSET_NAMES: [&str; 3] = ["front_large", "front_small", "front_small_wallet"];

impl Appearance {
    pub fn of(design: &Design, links: Links) -> Appearance {
        Appearance {
            assets: Assets {
                front_large: links.asset(design.code, "front_large"),
                front_small: links.asset(design.code, "front_small"),
                front_small_wallet: links.asset(design.code, "front_small_wallet"),
            },
            theme: design.theme.as_str(),
            gradient_hex_color: design.gradient_hex_color,
        }
    }
}

#[derive(Serialize)]
pub struct ParentCardSummary {
    pub id: Uuid,
    pub last_digits: String,
}

/// JSON types, for the OpenAPI document and the tests that check every card has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    String,
    Uuid,
    Timestamp,
    Bool,
    Number,
    Integer,
    Integers,
    Strings,
    Object,
}

/// Every field of spec §2.1 with its type and nullability, in serialization order. A unit
/// test keeps this table and [`Card`] in step.
pub const CARD_FIELDS: &[(&str, FieldType, bool)] = {
    use FieldType::*;
    &[
        ("id", Uuid, false),
        ("nickname", String, false),
        ("embossed_name", String, true),
        ("status", String, false),
        ("pin_set", Bool, false),
        ("mask_pan", String, true),
        ("exp_month", String, true),
        ("exp_year", String, true),
        ("last_activity_at", Timestamp, false),
        ("last_digits", String, true),
        ("ship_to_business", Bool, false),
        ("atm_option", Bool, false),
        ("nfc_option", Bool, false),
        ("online_option", Bool, false),
        ("foreign_option", Bool, false),
        ("atm_monthly_limit", Integer, false),
        ("atm_monthly_spent", Number, false),
        ("atm_daily_limit", Integer, false),
        ("atm_daily_spent", Number, false),
        ("atm_daily_limit_option", Bool, false),
        ("payment_monthly_limit", Integer, false),
        ("payment_monthly_spent", Number, false),
        ("payment_daily_limit", Integer, false),
        ("payment_daily_spent", Number, false),
        ("payment_daily_limit_option", Bool, false),
        ("payment_transaction_limit", Integer, false),
        ("payment_transaction_limit_option", Bool, false),
        ("active_days", Integers, false),
        ("holder_id", Uuid, false),
        ("initiator_id", Uuid, false),
        ("bank_account_id", Uuid, false),
        ("organization_id", Uuid, false),
        ("updated_at", Timestamp, false),
        ("created_at", Timestamp, false),
        ("shipped_at", Timestamp, true),
        ("card_type", String, false),
        ("card_level", String, false),
        ("payment_lifespan_limit", Integer, true),
        ("payment_lifespan_spent", Number, false),
        ("pre_expires_at", Timestamp, true),
        ("categories", Strings, false),
        ("renewed", Bool, false),
        ("renewal", Bool, false),
        ("had_operation", Bool, false),
        ("had_pin_operation", Bool, false),
        ("parent_card_summary", Object, true),
        ("card_design", String, false),
        ("type_of_print", String, true),
        ("upsold", Bool, false),
        ("upsell", Bool, false),
        ("discard_on", String, true),
        ("reordered", Bool, false),
        ("appearance", Object, false),
        ("has_only_user_liftable_locks", Bool, false),
    ]
};

/// Every field of spec §2.1, in Qonto's names; nullable ones serialize as `null`.
#[derive(Serialize)]
pub struct Card {
    pub id: Uuid,
    pub nickname: String,
    pub embossed_name: Option<String>,
    pub status: &'static str,
    pub pin_set: bool,
    pub mask_pan: Option<String>,
    pub exp_month: Option<String>,
    pub exp_year: Option<String>,
    pub last_activity_at: Time,
    pub last_digits: Option<String>,
    pub ship_to_business: bool,
    pub atm_option: bool,
    pub nfc_option: bool,
    pub online_option: bool,
    pub foreign_option: bool,
    pub atm_monthly_limit: Limit,
    pub atm_monthly_spent: Euros,
    pub atm_daily_limit: Limit,
    pub atm_daily_spent: Euros,
    pub atm_daily_limit_option: bool,
    pub payment_monthly_limit: Limit,
    pub payment_monthly_spent: Euros,
    pub payment_daily_limit: Limit,
    pub payment_daily_spent: Euros,
    pub payment_daily_limit_option: bool,
    pub payment_transaction_limit: Limit,
    pub payment_transaction_limit_option: bool,
    pub active_days: Vec<i8>,
    pub holder_id: Uuid,
    pub initiator_id: Uuid,
    pub bank_account_id: Uuid,
    pub organization_id: Uuid,
    pub updated_at: Time,
    pub created_at: Time,
    pub shipped_at: Option<Time>,
    pub card_type: &'static str,
    pub card_level: &'static str,
    pub payment_lifespan_limit: Option<Limit>,
    pub payment_lifespan_spent: Euros,
    pub pre_expires_at: Option<Time>,
    pub categories: Vec<&'static str>,
    pub renewed: bool,
    pub renewal: bool,
    pub had_operation: bool,
    pub had_pin_operation: bool,
    pub parent_card_summary: Option<ParentCardSummary>,
    pub card_design: String,
    pub type_of_print: Option<&'static str>,
    pub upsold: bool,
    pub upsell: bool,
    pub discard_on: Option<String>,
    pub reordered: bool,
    pub appearance: Appearance,
    pub has_only_user_liftable_locks: bool,
}

/// What the clock shows of a card: the only inputs of its rendering besides the card itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardView {
    pub status: cardinal_domain::card::Status,
    pub spent: cardinal_domain::card::VisibleSpent,
}

impl CardView {
    /// The view at `now` on the organization's clock in `tz`.
    pub fn at(card: &cardinal_domain::Card, now: Timestamp, tz: &TimeZone) -> CardView {
        CardView { status: card.status(now), spent: card.spent.visible_at(now, tz) }
    }
}

impl Card {
    /// The card as Qonto shows it at `now` on the organization's clock in `tz`.
    pub fn of(stored: &StoredCard, now: Timestamp, tz: &TimeZone, links: Links) -> Card {
        Card::in_view(stored, CardView::at(&stored.card, now, tz), links)
    }

    /// The card as `view` shows it.
    pub fn in_view(stored: &StoredCard, view: CardView, links: Links) -> Card {
        let c = &stored.card;
        let spent = view.spent;
        let design = catalog::find(c.level, &c.card_design).unwrap_or_else(|| catalog::default_design(c.level));
        Card {
            id: c.id,
            nickname: c.nickname.clone(),
            embossed_name: c.embossed_name.clone(),
            status: view.status.as_str(),
            pin_set: c.pin_set,
            mask_pan: Some(c.mask_pan()),
            exp_month: Some(c.exp_month.to_string()),
            exp_year: Some(c.exp_year.to_string()),
            last_activity_at: Time(c.last_activity_shown()),
            last_digits: Some(c.last_digits.clone()),
            ship_to_business: c.ship_to_business,
            atm_option: c.options.atm,
            nfc_option: c.options.nfc,
            online_option: c.options.online,
            foreign_option: c.options.foreign,
            atm_monthly_limit: Limit(c.limits.atm_monthly),
            atm_monthly_spent: Euros(spent.atm_monthly),
            atm_daily_limit: Limit(c.limits.atm_daily),
            atm_daily_spent: Euros(spent.atm_daily),
            atm_daily_limit_option: c.limits.atm_daily_option,
            payment_monthly_limit: Limit(c.limits.payment_monthly),
            payment_monthly_spent: Euros(spent.payment_monthly),
            payment_daily_limit: Limit(c.limits.payment_daily),
            payment_daily_spent: Euros(spent.payment_daily),
            payment_daily_limit_option: c.limits.payment_daily_option,
            payment_transaction_limit: Limit(c.limits.payment_transaction),
            payment_transaction_limit_option: c.limits.payment_transaction_option,
            active_days: c.active_days.clone(),
            holder_id: c.holder_id,
            initiator_id: c.initiator_id,
            bank_account_id: c.bank_account_id,
            organization_id: c.organization_id,
            updated_at: Time(c.updated_at),
            created_at: Time(c.created_at),
            shipped_at: time(c.shipped_at),
            card_type: "debit",
            card_level: c.level.as_str(),
            payment_lifespan_limit: c.limits.payment_lifespan.map(Limit),
            payment_lifespan_spent: Euros(spent.payment_lifespan),
            pre_expires_at: time(c.pre_expires_at),
            categories: c.categories.iter().map(|k| k.as_str()).collect(),
            renewed: c.flags.renewed,
            renewal: c.flags.renewal,
            had_operation: c.flags.had_operation,
            had_pin_operation: c.flags.had_pin_operation,
            parent_card_summary: c
                .parent_card
                .as_ref()
                .map(|p| ParentCardSummary { id: p.id, last_digits: p.last_digits.clone() }),
            card_design: c.card_design.clone(),
            type_of_print: c.type_of_print.map(|t| t.as_str()),
            upsold: c.flags.upsold,
            upsell: c.flags.upsell,
            discard_on: c.discard_on.map(|d| d.to_string()),
            reordered: c.flags.reordered,
            appearance: Appearance::of(design, links),
            has_only_user_liftable_locks: c.has_only_user_liftable_locks(),
        }
    }
}

#[derive(Serialize)]
pub struct BankAccountBody {
    pub id: Uuid,
    pub name: String,
    pub organization_id: Uuid,
    pub status: String,
    pub main: bool,
    pub iban: String,
    pub bic: String,
    pub currency: String,
    pub balance: Euros,
    pub balance_cents: i64,
    pub authorized_balance: Euros,
    pub authorized_balance_cents: i64,
    pub updated_at: Time,
}

impl From<&BankAccount> for BankAccountBody {
    fn from(b: &BankAccount) -> BankAccountBody {
        BankAccountBody {
            id: b.id,
            name: b.name.clone(),
            organization_id: b.organization_id,
            status: b.status.clone(),
            main: b.main,
            iban: b.iban.clone(),
            bic: b.bic.clone(),
            currency: b.currency.clone(),
            balance: Euros(b.balance),
            balance_cents: b.balance.0,
            authorized_balance: Euros(b.authorized_balance),
            authorized_balance_cents: b.authorized_balance.0,
            updated_at: Time(b.updated_at),
        }
    }
}

#[derive(Serialize)]
pub struct OrganizationBody {
    pub id: Uuid,
    pub slug: String,
    pub legal_name: String,
    pub locale: String,
    pub bank_accounts: Vec<BankAccountBody>,
}

impl OrganizationBody {
    pub fn of(o: &Organization, accounts: &[BankAccount]) -> OrganizationBody {
        OrganizationBody {
            id: o.id,
            slug: o.slug.clone(),
            legal_name: o.legal_name.clone(),
            locale: o.locale.clone(),
            bank_accounts: accounts.iter().map(BankAccountBody::from).collect(),
        }
    }
}

/// A member as `GET /v2/memberships` lists them.
#[derive(Serialize)]
pub struct MembershipSummary {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub role: &'static str,
    pub status: String,
    pub team_id: Option<Uuid>,
}

impl From<&Membership> for MembershipSummary {
    fn from(m: &Membership) -> MembershipSummary {
        MembershipSummary {
            id: m.id,
            first_name: m.first_name.clone(),
            last_name: m.last_name.clone(),
            role: m.role.as_str(),
            status: m.status.clone(),
            team_id: m.team_id,
        }
    }
}

/// The caller, as `GET /v2/membership` shows them.
#[derive(Serialize)]
pub struct MembershipDetail {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub role: &'static str,
    pub status: String,
    pub team_id: Option<Uuid>,
    pub locale: String,
}

impl From<&Membership> for MembershipDetail {
    fn from(m: &Membership) -> MembershipDetail {
        MembershipDetail {
            id: m.id,
            first_name: m.first_name.clone(),
            last_name: m.last_name.clone(),
            email: m.email.clone(),
            role: m.role.as_str(),
            status: m.status.clone(),
            team_id: m.team_id,
            locale: m.locale.clone(),
        }
    }
}

#[derive(Serialize)]
pub struct ActorBody {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: Option<Uuid>,
}

#[derive(Serialize)]
pub struct EventBody {
    pub id: Uuid,
    pub action: String,
    pub actor: ActorBody,
    pub from_status: Option<&'static str>,
    pub to_status: &'static str,
    pub changes: serde_json::Value,
    pub request_id: String,
    pub at: Time,
}

impl From<&AuditEvent> for EventBody {
    fn from(e: &AuditEvent) -> EventBody {
        EventBody {
            id: e.id,
            action: e.action.clone(),
            actor: ActorBody { kind: e.actor.kind.as_str(), id: e.actor.id },
            from_status: e.from_status.map(|s| s.as_str()),
            to_status: e.to_status.as_str(),
            changes: e.changes.clone(),
            request_id: e.request_id.clone(),
            at: Time(e.at),
        }
    }
}

/// A card transaction as Qonto shows it (spec §6.3).
#[derive(Serialize)]
pub struct TransactionBody {
    pub id: Uuid,
    pub transaction_id: String,
    pub amount: Euros,
    pub amount_cents: i64,
    pub currency: String,
    pub local_amount: Euros,
    pub local_amount_cents: i64,
    pub local_currency: String,
    pub side: String,
    pub operation_type: String,
    /// `pending`, `completed` or `declined` (reversed transactions show as declined).
    pub status: &'static str,
    pub label: String,
    pub clean_counterparty_name: String,
    pub category: String,
    pub settled_balance: Option<Euros>,
    pub settled_balance_cents: Option<i64>,
    pub emitted_at: Time,
    pub settled_at: Option<Time>,
    pub created_at: Time,
    pub updated_at: Time,
    pub initiator_id: Uuid,
    pub card_last_digits: String,
    pub bank_account_id: Uuid,
    pub subject_type: &'static str,
    pub note: Option<String>,
    pub reference: Option<String>,
    pub attachment_ids: Vec<String>,
    pub label_ids: Vec<String>,
    pub attachment_lost: bool,
    pub attachment_required: bool,
    pub is_external_transaction: bool,
}

impl From<&cardinal_store::Transaction> for TransactionBody {
    fn from(t: &cardinal_store::Transaction) -> TransactionBody {
        use cardinal_store::TransactionStatus::*;
        TransactionBody {
            id: t.id,
            transaction_id: t.slug.clone(),
            amount: Euros(t.amount),
            amount_cents: t.amount.0,
            currency: t.currency.clone(),
            local_amount: Euros(t.amount),
            local_amount_cents: t.amount.0,
            local_currency: t.currency.clone(),
            side: t.side.clone(),
            operation_type: t.operation_type.clone(),
            status: match t.status {
                Pending => "pending",
                Completed => "completed",
                Reversed | Declined => "declined",
            },
            label: t.label.clone(),
            clean_counterparty_name: t.label.clone(),
            category: t.category.clone(),
            settled_balance: t.settled_balance.map(Euros),
            settled_balance_cents: t.settled_balance.map(|b| b.0),
            emitted_at: Time(t.emitted_at),
            settled_at: time(t.settled_at),
            created_at: Time(t.created_at),
            updated_at: Time(t.updated_at),
            initiator_id: t.holder_id,
            card_last_digits: t.card_last_digits.clone(),
            bank_account_id: t.bank_account_id,
            subject_type: "card",
            note: None,
            reference: None,
            attachment_ids: vec![],
            label_ids: vec![],
            attachment_lost: false,
            attachment_required: false,
            is_external_transaction: false,
        }
    }
}

/// `GET /v2/cards/appearances`: one entry per level, every design it offers.
pub fn appearances(links: Links) -> serde_json::Value {
    let levels: Vec<serde_json::Value> = CardLevel::ALL
        .iter()
        .map(|level| {
            let designs: Vec<serde_json::Value> = catalog::designs_of(*level)
                .map(|d| {
                    let a = Appearance::of(d, links);
                    serde_json::json!({
                        "design": d.code,
                        "assets": a.assets,
                        "theme": a.theme,
                        "gradient_hex_color": a.gradient_hex_color,
                        "is_active": d.is_active,
                    })
                })
                .collect();
            serde_json::json!({"card_level": level.as_str(), "appearances": designs})
        })
        .collect();
    serde_json::json!({"card_type_appearances": [{"card_type": "debit", "card_level_appearances": levels}]})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn euros_print_like_qonto() {
        let json = |c: i64| serde_json::to_string(&Euros(Cents(c))).unwrap();
        assert_eq!(json(100_000), "1000");
        assert_eq!(json(1250), "12.5");
        assert_eq!(json(1255), "12.55");
        assert_eq!(json(1), "0.01");
        assert_eq!(json(2_000_000_099), "20000000.99");
    }

    #[test]
    fn the_card_field_table_matches_what_is_serialized() {
        let card = cardinal_domain::issuing::Blueprint {
            id: Uuid::nil(),
            organization_id: Uuid::nil(),
            bank_account_id: Uuid::nil(),
            holder_id: Uuid::nil(),
            holder_first_name: "A".into(),
            holder_last_name: "B".into(),
            initiator_id: Uuid::nil(),
            level: CardLevel::Standard,
            payment_monthly_limit: Cents(1255),
            atm_monthly_limit: Cents::ZERO,
            last_digits: "1234".into(),
        };
        let now = Timestamp::UNIX_EPOCH;
        let stored =
            StoredCard { card: cardinal_domain::Card::issue(card, now, &TimeZone::UTC), holder: Default::default() };
        let json = serde_json::to_value(Card::of(&stored, now, &TimeZone::UTC, Links { public_url: "" })).unwrap();
        let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        let mut expected: Vec<&str> = CARD_FIELDS.iter().map(|(name, _, _)| *name).collect();
        let mut sorted_keys = keys.clone();
        sorted_keys.sort_unstable();
        expected.sort_unstable();
        assert_eq!(sorted_keys, expected);
        for (name, kind, nullable) in CARD_FIELDS {
            let value = &json[*name];
            if value.is_null() {
                assert!(nullable, "{name} is null but not nullable");
                continue;
            }
            let ok = match kind {
                FieldType::String | FieldType::Uuid | FieldType::Timestamp => value.is_string(),
                FieldType::Bool => value.is_boolean(),
                FieldType::Number => value.is_number(),
                FieldType::Integer => value.is_i64(),
                FieldType::Integers => value.as_array().is_some_and(|a| a.iter().all(|v| v.is_i64())),
                FieldType::Strings => value.as_array().is_some_and(|a| a.iter().all(|v| v.is_string())),
                FieldType::Object => value.is_object(),
            };
            assert!(ok, "{name} is {value}, not {kind:?}");
        }
    }

    #[test]
    fn meta_follows_the_contract() {
        let page = Page { items: vec![0; 100], total: 250 };
        let m = Meta::of(&page, PageRequest { page: 1, per_page: 100 });
        assert_eq!((m.next_page, m.prev_page, m.total_pages), (Some(2), None, 3));
        let m = Meta::of(&page, PageRequest { page: 3, per_page: 100 });
        assert_eq!((m.next_page, m.prev_page), (None, Some(2)));
        let empty: Page<u8> = Page { items: vec![], total: 0 };
        let m = Meta::of(&empty, PageRequest { page: 1, per_page: 100 });
        assert_eq!((m.total_pages, m.next_page), (0, None));
    }
}
