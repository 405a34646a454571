//! The problems a use case finds in a request that passed its schema (a card level's limits,
//! an unknown holder), each placed under the request's pointer (`/card/holder_id`,
//! `/cards/3/card/holder_id`) and all reported at once.

use cardinal_domain::{CardIssue, DomainError, FieldIssue};

/// The problems found in the part of a request at `prefix`.
pub struct Issues {
    prefix: String,
    pub list: Vec<FieldIssue>,
}

impl Issues {
    pub fn at(prefix: impl Into<String>) -> Issues {
        Issues { prefix: prefix.into(), list: Vec::new() }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn pointer(&self, name: &str) -> String {
        format!("{}/{name}", self.prefix)
    }

    pub fn add(&mut self, code: &'static str, name: &str, detail: impl Into<String>) {
        let pointer = self.pointer(name);
        self.list.push(FieldIssue::new(code, pointer, detail));
    }

    /// Whether an issue was found at `name` or within it.
    pub fn has_issue(&self, name: &str) -> bool {
        let pointer = self.pointer(name);
        self.list
            .iter()
            .any(|i| i.pointer.strip_prefix(&pointer).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')))
    }

    /// A card rule's issue, placed under this request's pointer (`/card/nickname`).
    pub fn card(&mut self, issue: CardIssue) {
        let placed = issue.at(&self.prefix);
        self.list.push(placed);
    }

    /// `Some(value)` when a card rule passed, else its issue recorded and `None`.
    pub fn check<T>(&mut self, checked: Result<T, CardIssue>) -> Option<T> {
        checked.map_err(|issue| self.card(issue)).ok()
    }

    /// Ends the checks: every issue, if any.
    pub fn finish(self) -> Result<(), DomainError> {
        if self.list.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Invalid(self.list))
        }
    }
}
