//! Checking a request body against the JSON Schema derived from its type, before serde reads
//! it: every problem is reported at once, each with the JSON pointer of its field and one of
//! Qonto's error codes (`required`, `invalid`, `not_in_list`, `too_short`, `too_long`).
//!
//! The same schema is the one the OpenAPI document shows, so the document and the parser
//! cannot disagree. The validator knows the keywords the derived schemas use ([`KEYWORDS`]);
//! a test walks every request schema and fails on any other, so a constraint can never be
//! documented without being enforced.

use jiff::Timestamp;
use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde_json::{Map, Value};
use std::any::TypeId;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{OnceLock, RwLock};

mod pattern;
use pattern::Pattern;

/// One problem of a body: where, which of Qonto's codes, and a sentence for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub pointer: String,
    pub code: &'static str,
    pub detail: String,
}

/// The keywords [`violations`] enforces.
pub const KEYWORDS: &[&str] = &[
    "type",
    "enum",
    "const",
    "properties",
    "required",
    "items",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "multipleOf",
    "anyOf",
    "oneOf",
    "additionalProperties",
];

/// Keywords that describe and constrain nothing.
pub const ANNOTATIONS: &[&str] = &["description", "title", "default", "examples", "deprecated", "x-unit", "$schema"];

/// The schema of `T` as requests are checked against it: every subschema inlined, so it
/// stands alone. Built once per type.
pub fn schema_of<T: JsonSchema + 'static>() -> &'static Value {
    static SCHEMAS: PerType<Value> = OnceLock::new();
    once_per_type::<T, _>(&SCHEMAS, || {
        let generator = SchemaSettings::draft2020_12()
            .for_deserialize()
            .with(|s| {
                s.inline_subschemas = true;
                s.meta_schema = None;
            })
            .into_generator();
        generator.into_root_schema_for::<T>().to_value()
    })
}

/// Every problem of `value` against `schema`, in the order of the schema's fields. Compiles
/// the schema first: for a request type's schema, [`violations_of`] keeps it compiled.
pub fn violations(schema: &Value, value: &Value) -> Vec<Violation> {
    Compiled::new(schema).violations(value)
}

/// Every problem of `value` against `T`'s schema ([`schema_of`]), compiled once per type.
pub fn violations_of<T: JsonSchema + 'static>(value: &Value) -> Vec<Violation> {
    static COMPILED: PerType<Compiled<'static>> = OnceLock::new();
    once_per_type::<T, _>(&COMPILED, || Compiled::new(schema_of::<T>())).violations(value)
}

/// Values kept one per Rust type for the life of the process.
type PerType<V> = OnceLock<RwLock<HashMap<TypeId, &'static V>>>;

/// `T`'s value in `kept`, made by `make` at the type's first call. Every later call only reads:
/// a request takes the read lock, and only a type's first request the write lock.
fn once_per_type<T: 'static, V: Sync + 'static>(kept: &'static PerType<V>, make: impl FnOnce() -> V) -> &'static V {
    let kept = kept.get_or_init(Default::default);
    let found = kept.read().unwrap_or_else(|poison| poison.into_inner()).get(&TypeId::of::<T>()).copied();
    found.unwrap_or_else(|| {
        let mut kept = kept.write().unwrap_or_else(|poison| poison.into_inner());
        *kept.entry(TypeId::of::<T>()).or_insert_with(|| Box::leak(Box::new(make())))
    })
}

/// A schema with its keywords looked up, and its pattern compiled, once. Checking a body
/// against the schema's JSON looked each keyword up in each node's map at each request: 13,400
/// instructions of a sandbox authorization's 48,000 on the HTTP workers.
pub struct Compiled<'s> {
    /// The schema itself, for the sentences of problems.
    schema: &'s Map<String, Value>,
    /// `anyOf`, or else `oneOf`.
    branches: Vec<Compiled<'s>>,
    /// The `type` keyword's types as a set of [`TYPES`] bits; `None` when it says nothing.
    types: Option<u8>,
    allowed: Option<&'s [Value]>,
    constant: Option<&'s Value>,
    required: Vec<&'s str>,
    properties: Vec<(&'s str, Compiled<'s>)>,
    additional: Additional<'s>,
    items: Option<Box<Compiled<'s>>>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    /// The pattern's text, and the pattern compiled.
    pattern: Option<(&'s str, Pattern)>,
    format: Option<&'s str>,
    minimum: Option<f64>,
    exclusive_minimum: Option<f64>,
    maximum: Option<f64>,
    multiple_of: Option<f64>,
}

/// What `additionalProperties` says of a field `properties` does not name.
enum Additional<'s> {
    Ignored,
    Refused,
    Checked(Box<Compiled<'s>>),
}

/// JSON Schema's types, a bit each in [`Compiled::types`].
const NULL: u8 = 1;
const BOOLEAN: u8 = 1 << 1;
const OBJECT: u8 = 1 << 2;
const ARRAY: u8 = 1 << 3;
const STRING: u8 = 1 << 4;
const NUMBER: u8 = 1 << 5;
const INTEGER: u8 = 1 << 6;
const TYPES: [(&str, u8); 7] = [
    ("null", NULL),
    ("boolean", BOOLEAN),
    ("object", OBJECT),
    ("array", ARRAY),
    ("string", STRING),
    ("number", NUMBER),
    ("integer", INTEGER),
];

impl<'s> Compiled<'s> {
    pub fn new(schema: &'s Value) -> Compiled<'s> {
        static EMPTY: OnceLock<Map<String, Value>> = OnceLock::new();
        let Some(schema) = schema.as_object() else {
            // Not an object (`true`): it constrains nothing.
            return Compiled::of_map(EMPTY.get_or_init(Map::new));
        };
        Compiled::of_map(schema)
    }

    fn of_map(schema: &'s Map<String, Value>) -> Compiled<'s> {
        let number = |keyword: &str| schema.get(keyword).and_then(Value::as_f64);
        let count = |keyword: &str| schema.get(keyword).and_then(Value::as_u64);
        let text = |keyword: &str| schema.get(keyword).and_then(Value::as_str);
        let branches = schema.get("anyOf").or_else(|| schema.get("oneOf")).and_then(Value::as_array);
        let required = schema.get("required").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        let properties = schema.get("properties").and_then(Value::as_object);
        Compiled {
            schema,
            branches: branches.into_iter().flatten().map(Compiled::new).collect(),
            types: type_bits(schema.get("type")),
            allowed: schema.get("enum").and_then(Value::as_array).map(Vec::as_slice),
            constant: schema.get("const"),
            required: required.iter().filter_map(Value::as_str).collect(),
            properties: properties
                .into_iter()
                .flatten()
                .map(|(name, field)| (name.as_str(), Compiled::new(field)))
                .collect(),
            additional: match schema.get("additionalProperties") {
                Some(extra) if extra.is_object() => Additional::Checked(Box::new(Compiled::new(extra))),
                Some(Value::Bool(false)) => Additional::Refused,
                _ => Additional::Ignored,
            },
            items: schema.get("items").map(|item| Box::new(Compiled::new(item))),
            min_items: count("minItems"),
            max_items: count("maxItems"),
            min_length: count("minLength"),
            max_length: count("maxLength"),
            pattern: text("pattern").map(|pattern| (pattern, Pattern::new(pattern))),
            format: text("format"),
            minimum: number("minimum"),
            exclusive_minimum: number("exclusiveMinimum"),
            maximum: number("maximum"),
            multiple_of: number("multipleOf"),
        }
    }

    /// Every problem of `value`, in the order of the schema's fields.
    pub fn violations(&self, value: &Value) -> Vec<Violation> {
        let mut found = Vec::new();
        self.check(value, &mut String::new(), &mut found);
        found
    }

    /// Checks `value` at `pointer`. The pointer is one buffer the walk extends and restores,
    /// and names and sentences are made only for a problem: a valid body costs the walk no
    /// allocation but the buffer's growth.
    fn check(&self, value: &Value, pointer: &mut String, found: &mut Vec<Violation>) {
        if !self.branches.is_empty() {
            if let Some(best) = self.closest_branch(value, pointer) {
                found.extend(best);
            }
        }
        if self.types.is_some_and(|types| types & type_bits_of(value) == 0) {
            found.push(wrong_type(self.schema, pointer));
            return;
        }
        if let Some(allowed) = self.allowed {
            if !allowed.contains(value) {
                found.push(not_in_list(allowed, pointer));
                return;
            }
        }
        if let Some(constant) = self.constant {
            if constant != value {
                found.push(not_in_list(std::slice::from_ref(constant), pointer));
                return;
            }
        }
        match value {
            Value::Object(object) => self.check_object(object, pointer, found),
            Value::Array(items) => self.check_array(items, pointer, found),
            Value::String(text) => self.check_string(text, pointer, found),
            Value::Number(_) => self.check_number(value, pointer, found),
            _ => {}
        }
    }

    /// Of the branches of an `anyOf`, none if one fits; else the problems of the one that fits
    /// best: one whose own shape fits (no wrong type, no missing field at this level), then the
    /// one with the fewest problems.
    fn closest_branch(&self, value: &Value, pointer: &mut String) -> Option<Vec<Violation>> {
        let mut tried: Vec<Vec<Violation>> = Vec::new();
        for branch in &self.branches {
            let mut problems = Vec::new();
            branch.check(value, pointer, &mut problems);
            if problems.is_empty() {
                return None;
            }
            tried.push(problems);
        }
        let shape_misfits = |problems: &Vec<Violation>| {
            problems
                .iter()
                .filter(|v| v.pointer == *pointer || parent(&v.pointer) == pointer.as_str() && v.code == "required")
                .count()
        };
        tried.into_iter().min_by_key(|problems| (shape_misfits(problems), problems.len()))
    }

    fn check_object(&self, object: &Map<String, Value>, pointer: &mut String, found: &mut Vec<Violation>) {
        for name in &self.required {
            if !object.contains_key(*name) {
                let at = format!("{pointer}/{}", escape(name));
                found.push(Violation { detail: format!("{name} is required"), pointer: at, code: "required" });
            }
        }
        for (name, field) in object {
            let schema = match self.properties.iter().find(|(known, _)| *known == name.as_str()) {
                Some((_, property)) => property,
                None => match &self.additional {
                    Additional::Checked(extra) => extra,
                    Additional::Refused => {
                        let at = format!("{pointer}/{}", escape(name));
                        let detail = format!("{name} is not a known field");
                        found.push(Violation { detail, pointer: at, code: "invalid" });
                        continue;
                    }
                    Additional::Ignored => continue,
                },
            };
            let length = pointer.len();
            pointer.push('/');
            pointer.push_str(&escape(name));
            schema.check(field, pointer, found);
            pointer.truncate(length);
        }
    }

    fn check_array(&self, items: &[Value], pointer: &mut String, found: &mut Vec<Violation>) {
        let name = || field_name(pointer);
        if let Some(min) = self.min_items.filter(|min| (items.len() as u64) < *min) {
            found.push(Violation {
                detail: format!("{} must hold at least {min} items", name()),
                pointer: pointer.clone(),
                code: "too_short",
            });
        }
        if let Some(max) = self.max_items.filter(|max| items.len() as u64 > *max) {
            found.push(Violation {
                detail: format!("{} must hold at most {max} items", name()),
                pointer: pointer.clone(),
                code: "too_long",
            });
        }
        if let Some(item) = &self.items {
            for (i, value) in items.iter().enumerate() {
                let length = pointer.len();
                // Writing to a String cannot fail.
                let _ = write!(pointer, "/{i}");
                item.check(value, pointer, found);
                pointer.truncate(length);
            }
        }
    }

    fn check_string(&self, text: &str, pointer: &str, found: &mut Vec<Violation>) {
        let name = || field_name(pointer);
        let length = text.chars().count() as u64;
        let mut problem = |code, detail: String| found.push(Violation { pointer: pointer.into(), code, detail });
        if let Some(min) = self.min_length.filter(|min| length < *min) {
            problem("too_short", format!("{} must have at least {min} characters", name()));
        } else if let Some(max) = self.max_length.filter(|max| length > *max) {
            problem("too_long", format!("{} must have at most {max} characters", name()));
        } else if let Some((pattern, compiled)) = &self.pattern {
            if !compiled.is_match(text) {
                problem("invalid", format!("{} must match {pattern}", name()));
            }
        }
        match self.format {
            Some("uuid") if uuid::Uuid::try_parse(text).is_err() => {
                problem("invalid", format!("{} must be a valid id", name()))
            }
            Some("date-time") if text.parse::<Timestamp>().is_err() => {
                problem("invalid", format!("{} must be an RFC 3339 timestamp such as 2025-01-31T23:59:59Z", name()))
            }
            _ => {}
        }
    }

    fn check_number(&self, value: &Value, pointer: &str, found: &mut Vec<Violation>) {
        let number = value.as_f64().unwrap_or(f64::NAN);
        let name = || field_name(pointer);
        let detail = if let Some(min) = self.minimum.filter(|min| number < *min) {
            if min == 0.0 {
                format!("{} must not be negative", name())
            } else {
                format!("{} must be at least {min}", name())
            }
        } else if let Some(min) = self.exclusive_minimum.filter(|min| number <= *min) {
            format!("{} must be more than {min}", name())
        } else if let Some(max) = self.maximum.filter(|max| number > *max) {
            format!("{} must be at most {max}", name())
        } else if let Some(step) = self.multiple_of.filter(|step| !is_multiple(number, *step)) {
            if step == 0.01 {
                format!("{} must have at most two decimals", name())
            } else {
                format!("{} must be a multiple of {step}", name())
            }
        } else {
            return;
        };
        found.push(Violation { pointer: pointer.into(), code: "invalid", detail });
    }
}

fn parent(pointer: &str) -> &str {
    pointer.rsplit_once('/').map_or("", |(parent, _)| parent)
}

/// Whether `number` is a whole number of `step`s, as its decimal text reads (0.1 is ten
/// 0.01s, though not in binary); an amount so small it rounds to zero is not.
fn is_multiple(number: f64, step: f64) -> bool {
    let steps = number / step;
    (steps - steps.round()).abs() <= 1e-6 * steps.abs().max(1.0) && !(steps.round() == 0.0 && number != 0.0)
}

/// The `type` keyword as a set of [`TYPES`] bits: a name it does not know adds none, so
/// nothing matches it; no keyword (or one of another shape) is `None`, which anything matches.
fn type_bits(keyword: Option<&Value>) -> Option<u8> {
    let bit = |name: &str| TYPES.iter().find(|(known, _)| *known == name).map_or(0, |(_, bit)| *bit);
    match keyword {
        Some(Value::String(one)) => Some(bit(one)),
        Some(Value::Array(many)) => Some(many.iter().filter_map(Value::as_str).fold(0, |set, name| set | bit(name))),
        _ => None,
    }
}

/// The [`TYPES`] `value` is an instance of: a number is also an integer when it is whole
/// (JSON Schema's integers are mathematical: 1000.0 is one).
fn type_bits_of(value: &Value) -> u8 {
    match value {
        Value::Null => NULL,
        Value::Bool(_) => BOOLEAN,
        Value::Object(_) => OBJECT,
        Value::Array(_) => ARRAY,
        Value::String(_) => STRING,
        Value::Number(number) => {
            let whole = number.is_i64() || number.is_u64() || number.as_f64().is_some_and(|f| f.fract() == 0.0);
            if whole {
                NUMBER | INTEGER
            } else {
                NUMBER
            }
        }
    }
}

fn wrong_type(schema: &Map<String, Value>, pointer: &str) -> Violation {
    let name = field_name(pointer);
    let names: Vec<&str> = match schema.get("type") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).filter(|n| *n != "null").collect(),
        _ => vec![],
    };
    let unit = schema.get("x-unit").and_then(Value::as_str);
    let described: Vec<String> = names
        .iter()
        .map(|kind| match (*kind, unit) {
            ("integer", Some(unit)) => format!("a whole number of {unit}"),
            ("integer", None) => "a whole number".into(),
            ("boolean", _) => "true or false".into(),
            ("object", _) => "an object".into(),
            ("array", _) => "an array".into(),
            ("string", _) if schema.get("format").and_then(Value::as_str) == Some("uuid") => "a valid id".into(),
            ("null", _) => "null".into(),
            (other, _) => format!("a {other}"),
        })
        .collect();
    Violation { pointer: pointer.into(), code: "invalid", detail: format!("{name} must be {}", described.join(" or ")) }
}

fn not_in_list(allowed: &[Value], pointer: &str) -> Violation {
    let listed: Vec<String> = allowed.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)).collect();
    let name = field_name(pointer);
    Violation {
        pointer: pointer.into(),
        code: "not_in_list",
        detail: format!("{name} must be one of: {}", listed.join(", ")),
    }
}

/// What a field is called in a sentence: its name, or `cards[3]` for an item of a list.
fn field_name(pointer: &str) -> String {
    let (parent, last) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    if last.is_empty() {
        return "the body".into();
    }
    if last.bytes().all(|b| b.is_ascii_digit()) {
        return format!("{}[{last}]", field_name(parent));
    }
    last.replace("~1", "/").replace("~0", "~")
}

/// A name as a JSON pointer segment (RFC 6901).
fn escape(name: &str) -> std::borrow::Cow<'_, str> {
    // Bytes, not a search for either of two chars: every field of every body is asked.
    if name.bytes().any(|b| b == b'~' || b == b'/') {
        name.replace('~', "~0").replace('/', "~1").into()
    } else {
        name.into()
    }
}

/// Every keyword a schema uses, with where, for the test that they are all enforced.
pub fn keywords(schema: &Value) -> Vec<String> {
    let mut found = Vec::new();
    collect_keywords(schema, &mut found);
    found
}

fn collect_keywords(schema: &Value, found: &mut Vec<String>) {
    let Some(object) = schema.as_object() else { return };
    for (keyword, value) in object {
        found.push(keyword.clone());
        match keyword.as_str() {
            "properties" => {
                value.as_object().into_iter().flat_map(|p| p.values()).for_each(|s| collect_keywords(s, found))
            }
            "items" | "additionalProperties" => collect_keywords(value, found),
            "anyOf" | "oneOf" => value.as_array().into_iter().flatten().for_each(|s| collect_keywords(s, found)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn codes(schema: Value, value: Value) -> Vec<(String, &'static str)> {
        violations(&schema, &value).into_iter().map(|v| (v.pointer, v.code)).collect()
    }

    #[test]
    fn every_problem_is_found_with_its_pointer() {
        let schema = json!({"type": "object", "required": ["a", "b"], "properties": {
            "a": {"type": "string", "format": "uuid"}, "b": {"type": "integer", "minimum": 0},
            "c": {"type": "array", "maxItems": 1, "items": {"enum": ["x"]}},
            "d": {"type": ["string", "null"], "maxLength": 2}}});
        let found = codes(schema.clone(), json!({"a": "nope", "c": ["x", "y"], "d": "abc"}));
        assert_eq!(
            found,
            [
                ("/b".into(), "required"),
                ("/a".into(), "invalid"),
                ("/c".into(), "too_long"),
                ("/c/1".into(), "not_in_list"),
                ("/d".into(), "too_long"),
            ]
        );
        assert!(codes(schema, json!({"a": uuid::Uuid::nil(), "b": 1000.0, "d": null})).is_empty(), "1000.0 is whole");
    }

    #[test]
    fn amounts_have_at_most_two_decimals() {
        let money = json!({"type": "number", "minimum": 0, "multipleOf": 0.01});
        for fine in [json!(0), json!(12.55), json!(0.1), json!(40000.01), json!(1e9)] {
            assert!(violations(&money, &fine).is_empty(), "{fine}");
        }
        for bad in [json!(12.555), json!(1e-308), json!(-1), json!("12")] {
            assert_eq!(violations(&money, &bad).len(), 1, "{bad}");
        }
    }

    #[test]
    fn the_closest_branch_is_reported() {
        let item =
            json!({"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "format": "uuid"}}});
        let either = json!({"anyOf": [{"type": "object", "required": ["card"], "properties": {"card": item}}, item]});
        assert_eq!(codes(either.clone(), json!({"card": {"id": "x"}})), [("/card/id".into(), "invalid")]);
        assert_eq!(codes(either.clone(), json!({"id": "x"})), [("/id".into(), "invalid")]);
        assert!(codes(either, json!({"id": uuid::Uuid::nil()})).is_empty());
    }

    #[test]
    fn patterns_and_names() {
        let reason = json!({"type": "string", "pattern": "^[a-z0-9_]{1,64}$"});
        assert!(violations(&reason, &json!("fraud_suspicion")).is_empty());
        assert_eq!(violations(&reason, &json!("Fraud!"))[0].code, "invalid");
        assert_eq!(field_name("/cards/3"), "cards[3]");
        assert_eq!(field_name("/a~1b"), "a/b");
    }
}
