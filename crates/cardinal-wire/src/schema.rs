//! JSON Schemas of the wire's own value types and of the fields whose values come from a
//! fixed list, for `#[derive(JsonSchema)]` on the wire types: the OpenAPI document is derived
//! from the structs that serialize the answers, so it cannot drift from them.

use super::{Euros, Limit, Time};
use cardinal_domain::card::{Category, Status};
use cardinal_domain::{CardLevel, Role};
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
    Limit => {"type": "integer", "minimum": 0, "description": "whole euros"},
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
    json_schema!({"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 7}})
}
