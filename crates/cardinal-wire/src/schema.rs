//! JSON Schemas of the wire's own value types and of the fields whose values come from a
//! fixed list, for `#[derive(JsonSchema)]` on the wire types: the OpenAPI document is derived
//! from the structs that serialize the answers, so it cannot drift from them.

use super::{Euros, Limit, Money, Time};
use cardinal_domain::authorization::Channel;
use cardinal_domain::card::{Category, Status, TypeOfPrint};
use cardinal_domain::{CardLevel, Role};
use cardinal_store::ScaMode;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use std::borrow::Cow;

/// A wire value type whose schema is written inline wherever it is used.
macro_rules! inline_schema {
    ($($type:ident => $schema:tt),+ $(,)?) => {$(
        impl JsonSchema for $type {
            fn schema_name() -> Cow<'static, str> {
                stringify!($type).into()
            }

            fn inline_schema() -> bool {
                true
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!($schema)
            }
        }
    )+};
}

inline_schema! {
    Euros => {"type": "number", "description": "euros: an integer when whole, else up to two decimals"},
    Limit => {"type": "integer", "minimum": 0, "maximum": 10_000_000_000_000i64, "x-unit": "euros", "description": "whole euros"},
    Money => {"type": "number", "minimum": 0, "maximum": 10_000_000_000_000i64, "multipleOf": 0.01, "description": "euros, up to two decimals"},
    Time => {"type": "string", "format": "date-time"},
}

/// A string from a fixed list.
pub fn one_of(values: impl IntoIterator<Item = &'static str>) -> Schema {
    json_schema!({"type": "string", "enum": values.into_iter().collect::<Vec<_>>()})
}

pub fn card_status(_: &mut SchemaGenerator) -> Schema {
    one_of(Status::ALL.iter().map(|s| s.as_str()))
}

pub fn card_level(_: &mut SchemaGenerator) -> Schema {
    one_of(CardLevel::ALL.iter().map(|l| l.as_str()))
}

pub fn role(_: &mut SchemaGenerator) -> Schema {
    one_of(Role::ALL.iter().map(|r| r.as_str()))
}

pub fn categories(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "array", "items": one_of(Category::ALL.iter().map(|c| c.as_str()))})
}

/// ISO weekdays, Monday 1 to Sunday 7.
pub fn weekdays(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "array", "items": {"type": "integer", "enum": [1, 2, 3, 4, 5, 6, 7]}})
}

/// `schema`, or `null` (an optional field given as `null` reads as absent).
pub fn nullable(schema: Schema) -> Schema {
    json_schema!({"anyOf": [schema, {"type": "null"}]})
}

pub fn nullable_weekdays(generator: &mut SchemaGenerator) -> Schema {
    nullable(weekdays(generator))
}

pub fn nullable_categories(generator: &mut SchemaGenerator) -> Schema {
    nullable(categories(generator))
}

pub fn nullable_type_of_print(_: &mut SchemaGenerator) -> Schema {
    nullable(one_of(TypeOfPrint::ALL.iter().map(|t| t.as_str())))
}

/// Qonto's webhook topics: at least one.
pub fn topics(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "array", "minItems": 1, "items": one_of(crate::webhooks::TOPICS)})
}

pub fn nullable_topics(generator: &mut SchemaGenerator) -> Schema {
    nullable(topics(generator))
}

pub fn nullable_scopes(_: &mut SchemaGenerator) -> Schema {
    nullable(json_schema!({"type": "array", "items": one_of(crate::scope::ALL.iter().copied())}))
}

pub fn currency(_: &mut SchemaGenerator) -> Schema {
    nullable(one_of(["EUR"]))
}

pub fn channel(_: &mut SchemaGenerator) -> Schema {
    one_of(Channel::ALL.iter().map(|c| c.as_str()))
}

/// A card category, or `other`.
pub fn merchant_category(_: &mut SchemaGenerator) -> Schema {
    one_of(Category::ALL.iter().map(|c| c.as_str()).chain(["other"]))
}

pub fn nullable_sca_mode(_: &mut SchemaGenerator) -> Schema {
    nullable(one_of(ScaMode::ALL.iter().map(|m| m.as_str())))
}

pub fn sca_result(_: &mut SchemaGenerator) -> Schema {
    one_of(["waiting", "allow", "deny"])
}

pub fn sca_mode(_: &mut SchemaGenerator) -> Schema {
    one_of(ScaMode::ALL.iter().map(|m| m.as_str()))
}

pub fn decision(_: &mut SchemaGenerator) -> Schema {
    one_of(["approved", "declined"])
}

/// A list of `items`.
pub fn list_of(items: Schema) -> Schema {
    json_schema!({"type": "array", "items": items})
}

/// A date (`2026-12-02`) or an RFC 3339 timestamp.
pub fn date_or_time() -> Schema {
    json_schema!({"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]})
}

/// Bytes, such as a PDF.
pub fn binary() -> Schema {
    json_schema!({"type": "string", "format": "binary"})
}
