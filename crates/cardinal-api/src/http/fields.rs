//! Reading JSON request bodies field by field, collecting every problem with a JSON pointer
//! (`/card/payment_monthly_limit`, `/cards/3/card/holder_id`) instead of stopping at the first.

use crate::http::error::{ApiError, ApiResult};
use cardinal_domain::{Cents, FieldIssue};
use jiff::Timestamp;
use serde_json::{Map, Value};
use uuid::Uuid;

/// The object at `pointer` of a body, and the issues found while reading it.
pub struct Fields<'a> {
    object: &'a Map<String, Value>,
    pointer: String,
    pub issues: Vec<FieldIssue>,
}

/// The JSON object wrapped under `key` (`{"card": {...}}`); a 422 when it is missing.
pub fn wrapped<'a>(body: &'a Value, key: &str) -> ApiResult<&'a Map<String, Value>> {
    body.get(key).and_then(Value::as_object).ok_or_else(|| {
        ApiError::field("required", format!("/{key}"), format!("the body must be {{\"{key}\": {{...}}}}"))
    })
}

impl<'a> Fields<'a> {
    pub fn new(object: &'a Map<String, Value>, pointer: impl Into<String>) -> Fields<'a> {
        Fields { object, pointer: pointer.into(), issues: Vec::new() }
    }

    pub fn pointer(&self, name: &str) -> String {
        format!("{}/{name}", self.pointer)
    }

    pub fn prefix(&self) -> &str {
        &self.pointer
    }

    /// A present, non-null value.
    pub fn raw(&self, name: &str) -> Option<&'a Value> {
        self.object.get(name).filter(|v| !v.is_null())
    }

    pub fn has(&self, name: &str) -> bool {
        self.raw(name).is_some()
    }

    pub fn issue(&mut self, code: &'static str, name: &str, detail: impl Into<String>) {
        let pointer = self.pointer(name);
        self.issues.push(FieldIssue::new(code, pointer, detail));
    }

    pub fn push(&mut self, issue: FieldIssue) {
        self.issues.push(issue);
    }

    /// A card rule's issue, placed under this body's pointer (`/card/nickname`).
    pub fn push_card_issue(&mut self, issue: cardinal_domain::CardIssue) {
        let placed = crate::http::error::placed(&issue, &self.pointer);
        self.issues.push(placed);
    }

    /// Records `required` when the value is missing.
    pub fn required<T>(&mut self, name: &str, value: Option<T>) -> Option<T> {
        if value.is_none() && !self.issues.iter().any(|i| i.pointer == self.pointer(name)) {
            self.issue("required", name, format!("{name} is required"));
        }
        value
    }

    fn typed<T>(&mut self, name: &str, what: &str, read: impl FnOnce(&Value) -> Option<T>) -> Option<T> {
        let value = self.raw(name)?;
        let parsed = read(value);
        if parsed.is_none() {
            self.issue("invalid", name, format!("{name} must be {what}"));
        }
        parsed
    }

    pub fn string(&mut self, name: &str) -> Option<String> {
        self.typed(name, "a string", |v| v.as_str().map(str::to_owned))
    }

    /// A string naming one of a closed set of values: an unknown one is `not_in_list`, with
    /// `unknown` (the allowed values) as its detail.
    pub fn choice<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Option<T>,
        unknown: impl FnOnce() -> String,
    ) -> Option<T> {
        let text = self.string(name)?;
        let parsed = parse(&text);
        if parsed.is_none() {
            self.issue("not_in_list", name, unknown());
        }
        parsed
    }

    pub fn boolean(&mut self, name: &str) -> Option<bool> {
        self.typed(name, "true or false", Value::as_bool)
    }

    pub fn uuid(&mut self, name: &str) -> Option<Uuid> {
        self.typed(name, "a valid id", |v| v.as_str().and_then(|s| Uuid::parse_str(s).ok()))
    }

    pub fn timestamp(&mut self, name: &str) -> Option<Timestamp> {
        self.typed(name, "an RFC 3339 timestamp such as 2025-01-31T23:59:59Z", |v| {
            v.as_str().and_then(|s| s.parse::<Timestamp>().ok())
        })
    }

    /// A non-negative amount in euros with at most two decimals (spec §1.1).
    pub fn money(&mut self, name: &str) -> Option<Cents> {
        let value = self.raw(name)?;
        match euros(value) {
            Ok(cents) => Some(cents),
            Err(why) => {
                self.issue("invalid", name, format!("{name} {why}"));
                None
            }
        }
    }

    /// A card limit: whole euros, not negative (spec §1.1: limits are integers in and out).
    pub fn limit(&mut self, name: &str) -> Option<Cents> {
        let cents = self.money(name)?;
        if cents.0 % 100 != 0 {
            self.issue("invalid", name, format!("{name} must be a whole number of euros"));
            return None;
        }
        Some(cents)
    }

    pub fn integers(&mut self, name: &str) -> Option<Vec<i64>> {
        self.typed(name, "an array of integers", |v| v.as_array()?.iter().map(Value::as_i64).collect())
    }

    pub fn strings(&mut self, name: &str) -> Option<Vec<String>> {
        self.typed(name, "an array of strings", |v| {
            v.as_array()?.iter().map(|s| s.as_str().map(str::to_owned)).collect()
        })
    }

    pub fn object(&mut self, name: &str) -> Option<&'a Map<String, Value>> {
        let value: &'a Value = self.raw(name)?;
        let object = value.as_object();
        if object.is_none() {
            self.issue("invalid", name, format!("{name} must be an object"));
        }
        object
    }

    /// Ends reading: a 422 listing every issue, if any.
    pub fn finish(self) -> ApiResult<()> {
        if self.issues.is_empty() {
            Ok(())
        } else {
            Err(ApiError::issues(self.issues))
        }
    }
}

/// Euros as cents: a JSON number, not negative, at most two decimals.
pub fn euros(value: &Value) -> Result<Cents, &'static str> {
    let number = value.as_number().ok_or("must be a number")?;
    if let Some(whole) = number.as_i64() {
        return whole.checked_mul(100).filter(|c| *c >= 0).map(Cents).ok_or("must not be negative");
    }
    let value = number.as_f64().ok_or("must be a number")?;
    let cents = (value * 100.0).round();
    // The second test catches amounts too small for the first: 1e-308 is not zero euros.
    if (value * 100.0 - cents).abs() > 1e-6 || (cents == 0.0 && value != 0.0) {
        return Err("must have at most two decimals");
    }
    if cents < 0.0 {
        return Err("must not be negative");
    }
    if cents > 1e15 {
        return Err("is too large");
    }
    Ok(Cents(cents as i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn euros_accept_at_most_two_decimals() {
        assert_eq!(euros(&json!(1000)), Ok(Cents(100_000)));
        assert_eq!(euros(&json!(12.5)), Ok(Cents(1250)));
        assert_eq!(euros(&json!(12.55)), Ok(Cents(1255)));
        assert_eq!(euros(&json!(0.1)), Ok(Cents(10)));
        assert_eq!(euros(&json!(40000.01)), Ok(Cents(4_000_001)));
        assert!(euros(&json!(12.555)).is_err());
        assert!(euros(&json!(1e-308)).is_err(), "not silently zero");
        assert_eq!(euros(&json!(0.0)), Ok(Cents(0)));
        assert!(euros(&json!(-1)).is_err());
        assert!(euros(&json!(-0.5)).is_err());
        assert!(euros(&json!("12")).is_err());
    }

    #[test]
    fn every_issue_is_collected_with_its_pointer() {
        let body = json!({"card": {"a": "x", "b": 1.234, "c": true}});
        let map = wrapped(&body, "card").unwrap();
        let mut f = Fields::new(map, "/card");
        assert_eq!(f.uuid("a"), None);
        assert_eq!(f.money("b"), None);
        assert_eq!(f.boolean("c"), Some(true));
        let missing = f.uuid("d");
        f.required("d", missing);
        let pointers: Vec<_> = f.issues.iter().map(|i| i.pointer.as_str()).collect();
        assert_eq!(pointers, ["/card/a", "/card/b", "/card/d"]);
    }
}
