//! The card (spec §2.1) and the card-design catalog as Qonto shows them.

use super::{schema, time, Euros, Limit, Links, Time};
use crate::Text;
use cardinal_domain::card::Windows;
use cardinal_domain::catalog::{self, Design};
use cardinal_domain::CardLevel;
use cardinal_store::StoredCard;
use jiff::{tz::TimeZone, Timestamp};
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
#[schemars(rename = "AppearanceAssets")]
pub struct Assets {
    pub front_large: String,
    pub front_small: String,
    pub front_small_wallet: String,
}

#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct Appearance {
    pub assets: Assets,
    pub theme: Text,
    pub gradient_hex_color: Text,
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
            theme: design.theme.as_str().into(),
            gradient_hex_color: design.gradient_hex_color.into(),
        }
    }
}

#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
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

impl FieldType {
    /// Whether a JSON value is of this type exactly as Qonto sends it (uuids that parse,
    /// RFC 3339 seconds with `Z`, integers for whole-euro limits): what strict clients check.
    pub fn admits(self, value: &serde_json::Value) -> bool {
        match self {
            FieldType::String => value.is_string(),
            FieldType::Uuid => value.as_str().is_some_and(|s| Uuid::parse_str(s).is_ok()),
            FieldType::Timestamp => value.as_str().is_some_and(super::is_wire_timestamp),
            FieldType::Bool => value.is_boolean(),
            FieldType::Number => value.is_number(),
            FieldType::Integer => value.is_i64(),
            FieldType::Integers => value.as_array().is_some_and(|a| a.iter().all(|v| v.is_i64())),
            FieldType::Strings => value.as_array().is_some_and(|a| a.iter().all(|v| v.is_string())),
            FieldType::Object => value.is_object(),
        }
    }
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
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct Card {
    pub id: Uuid,
    pub nickname: String,
    pub embossed_name: Option<String>,
    #[schemars(schema_with = "schema::card_status")]
    pub status: Text,
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
    #[schemars(schema_with = "schema::weekdays")]
    pub active_days: Vec<i8>,
    pub holder_id: Uuid,
    pub initiator_id: Uuid,
    pub bank_account_id: Uuid,
    pub organization_id: Uuid,
    pub updated_at: Time,
    pub created_at: Time,
    pub shipped_at: Option<Time>,
    pub card_type: Text,
    #[schemars(schema_with = "schema::card_level")]
    pub card_level: Text,
    pub payment_lifespan_limit: Option<Limit>,
    pub payment_lifespan_spent: Euros,
    pub pre_expires_at: Option<Time>,
    #[schemars(schema_with = "schema::categories")]
    pub categories: Vec<Text>,
    pub renewed: bool,
    pub renewal: bool,
    pub had_operation: bool,
    pub had_pin_operation: bool,
    pub parent_card_summary: Option<ParentCardSummary>,
    pub card_design: String,
    pub type_of_print: Option<Text>,
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
        CardView::in_windows(card, now, Windows::at(now, tz))
    }

    /// The same, with the calendar windows of `now` worked out already (once for a list).
    pub fn in_windows(card: &cardinal_domain::Card, now: Timestamp, windows: Windows) -> CardView {
        CardView { status: card.status(now), spent: card.spent.visible_in(windows) }
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
            status: view.status.as_str().into(),
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
            card_type: "debit".into(),
            card_level: c.level.as_str().into(),
            payment_lifespan_limit: c.limits.payment_lifespan.map(Limit),
            payment_lifespan_spent: Euros(spent.payment_lifespan),
            pre_expires_at: time(c.pre_expires_at),
            categories: c.categories.iter().map(|k| k.as_str().into()).collect(),
            renewed: c.flags.renewed,
            renewal: c.flags.renewal,
            had_operation: c.flags.had_operation,
            had_pin_operation: c.flags.had_pin_operation,
            parent_card_summary: c
                .parent_card
                .as_ref()
                .map(|p| ParentCardSummary { id: p.id, last_digits: p.last_digits.clone() }),
            card_design: c.card_design.clone(),
            type_of_print: (c.type_of_print.map(|t| t.as_str())).map(Into::into),
            upsold: c.flags.upsold,
            upsell: c.flags.upsell,
            discard_on: c.discard_on.map(|d| d.to_string()),
            reordered: c.flags.reordered,
            appearance: Appearance::of(design, links),
            has_only_user_liftable_locks: c.has_only_user_liftable_locks(),
        }
    }
}

/// `GET /v2/cards/appearances`: one entry per level, every design it offers.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct Appearances {
    pub card_type_appearances: Vec<CardTypeAppearances>,
}

/// The levels of one card type (Cardinal issues debit cards only).
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct CardTypeAppearances {
    pub card_type: Text,
    pub card_level_appearances: Vec<LevelAppearances>,
}

#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct LevelAppearances {
    #[schemars(schema_with = "crate::schema::card_level")]
    pub card_level: Text,
    pub appearances: Vec<DesignAppearance>,
}

/// One design: its images and colours, and whether new cards may take it.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct DesignAppearance {
    pub design: Text,
    #[serde(flatten)]
    pub appearance: Appearance,
    pub is_active: bool,
}

pub fn appearances(links: Links) -> Appearances {
    let card_level_appearances = CardLevel::ALL
        .iter()
        .map(|level| LevelAppearances {
            card_level: level.as_str().into(),
            appearances: catalog::designs_of(*level)
                .map(|d| DesignAppearance {
                    design: d.code.into(),
                    appearance: Appearance::of(d, links),
                    is_active: d.is_active,
                })
                .collect(),
        })
        .collect();
    Appearances {
        card_type_appearances: vec![CardTypeAppearances { card_type: "debit".into(), card_level_appearances }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cardinal_domain::Cents;

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
        let stored = StoredCard::new(cardinal_domain::Card::issue(card, now, &TimeZone::UTC), Default::default());
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
            let ok = kind.admits(value);
            assert!(ok, "{name} is {value}, not {kind:?}");
        }
    }
}
