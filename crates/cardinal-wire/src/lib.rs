//! Qonto's JSON: field names, number formatting and every compatibility quirk live here, so
//! a change in Qonto's shape touches this crate only. It has no server dependency: a typed
//! client can use exactly the server's types.
//!
//! One module per resource; numbers, times, pages and links are here, shared by all.

/// A text the server usually writes from a constant and a client reads as an owned string:
/// borrowed when serialized (no allocation), owned when deserialized.
pub type Text = std::borrow::Cow<'static, str>;

pub mod answers;
pub mod attachments;
mod card;
pub mod card_requests;
pub mod deliveries;
mod events;
pub mod oauth;
pub mod operator;
mod organization;
pub mod requests;
pub mod schema;
pub mod teams;
mod transactions;
pub mod validate;
pub mod webhooks;

/// The OAuth scopes of the card API (Qonto's names).
pub mod scope {
    pub const CARD_READ: &str = "card.read";
    pub const CARD_WRITE: &str = "card.write";
    pub const ORGANIZATION_READ: &str = "organization.read";
    pub const MEMBERSHIP_READ: &str = "membership.read";
    pub const WEBHOOK: &str = "webhook";
    pub const REQUEST_CARDS_WRITE: &str = "request_cards.write";
    pub const REQUEST_REVIEW_WRITE: &str = "request_review.write";
    pub const TEAM_READ: &str = "team.read";
    pub const TEAM_WRITE: &str = "team.write";
    pub const MEMBERSHIP_WRITE: &str = "membership.write";
    pub const ATTACHMENT_WRITE: &str = "attachment.write";
    /// Every scope of this surface: what sandbox members' tokens get.
    pub const ALL: &[&str] = &[
        CARD_READ,
        CARD_WRITE,
        ORGANIZATION_READ,
        MEMBERSHIP_READ,
        WEBHOOK,
        REQUEST_CARDS_WRITE,
        REQUEST_REVIEW_WRITE,
        TEAM_READ,
        TEAM_WRITE,
        MEMBERSHIP_WRITE,
        ATTACHMENT_WRITE,
    ];
    /// What an API key may do: read, never write (spec §1.2).
    pub const API_KEY: &[&str] = &[ORGANIZATION_READ, MEMBERSHIP_READ, CARD_READ];
    /// Every scope Qonto's authorization server grants (`qonto-reference.md` §2.4), OAuth's
    /// own (`offline_access`, `openid`) aside: what a client may ask for.
    pub const QONTO: &[&str] = &[
        "organization.read",
        "membership.read",
        "membership.write",
        "attachment.read",
        "attachment.write",
        "internal_transfer.write",
        "payment.write",
        "supplier_invoice.read",
        "supplier_invoice.write",
        "client_invoices.read",
        "client_invoice.write",
        "client.read",
        "client.write",
        "product.read",
        "product.write",
        "request_review.read",
        "request_review.write",
        "request_cards.write",
        "request_transfers.write",
        "team.read",
        "team.write",
        "insurance_contract.read",
        "insurance_contract.write",
        "card.read",
        "card.write",
        "bank_account.write",
        "beneficiary.trust",
        "webhook",
        "payment_link.read",
        "payment_link.write",
        "sepa_direct_debit.read",
        "sepa_direct_debit.write",
        "terminal.read",
        "terminal.write",
    ];
}

pub use card::*;
pub use events::*;
pub use organization::*;
pub use transactions::*;

use cardinal_domain::time::Rfc3339;
use cardinal_domain::Cents;
use cardinal_store::{Page, PageRequest};
use jiff::Timestamp;
use schemars::JsonSchema;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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

impl<'de> Deserialize<'de> for Euros {
    /// Any amount in euros, negative ones included (what a client reads back).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Euros, D::Error> {
        let number = serde_json::Number::deserialize(d)?;
        match number.as_i64() {
            Some(whole) => {
                whole.checked_mul(100).map(|c| Euros(Cents(c))).ok_or_else(|| D::Error::custom("is too large"))
            }
            None => Ok(Euros(Cents((number.as_f64().unwrap_or_default() * 100.0).round() as i64))),
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

impl<'de> Deserialize<'de> for Limit {
    /// Whole euros, not negative; `1000.0` is whole.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Limit, D::Error> {
        let Money(cents) = Money::deserialize(d)?;
        if cents.0 % 100 != 0 {
            return Err(D::Error::custom("must be a whole number of euros"));
        }
        Ok(Limit(cents))
    }
}

/// An amount a request gives: euros, not negative, at most two decimals (spec §1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money(pub Cents);

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
        let number = serde_json::Number::deserialize(d)?;
        euros(&number).map(Money).map_err(D::Error::custom)
    }
}

impl Serialize for Money {
    /// As [`Euros`]: what a client sends.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Euros(self.0).serialize(s)
    }
}

/// Euros as cents: a JSON number, not negative, at most two decimals.
pub fn euros(number: &serde_json::Number) -> Result<Cents, &'static str> {
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

/// Whether a text is a timestamp as the wire writes it: `2023-11-07T05:31:56Z` (spec §1.1).
pub fn is_wire_timestamp(text: &str) -> bool {
    text.len() == 20 && text.ends_with('Z') && text.parse::<Timestamp>().is_ok()
}

/// A timestamp on the wire: RFC 3339, UTC, whole seconds, `Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time(pub Timestamp);

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(Rfc3339::of(self.0).as_str())
    }
}

impl<'de> Deserialize<'de> for Time {
    /// Any RFC 3339 timestamp, with any offset.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Time, D::Error> {
        let text = String::deserialize(d)?;
        text.parse::<Timestamp>().map(Time).map_err(|_| D::Error::custom("must be an RFC 3339 timestamp"))
    }
}

pub(crate) fn time(ts: Option<Timestamp>) -> Option<Time> {
    ts.map(Time)
}

/// Where a page of a list is.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct Meta {
    pub current_page: u32,
    pub next_page: Option<u32>,
    pub prev_page: Option<u32>,
    pub total_pages: u64,
    pub total_count: u64,
    pub per_page: u32,
}

impl Meta {
    /// Page `request` of `all`, and its meta: for lists kept whole (teams, labels).
    pub fn slice<T>(all: Vec<T>, request: PageRequest) -> (Vec<T>, Meta) {
        let shown: Page<()> = Page { items: Vec::new(), total: all.len() as u64 };
        let skip = usize::try_from(request.offset()).unwrap_or(usize::MAX);
        let items = all.into_iter().skip(skip).take(request.per_page as usize).collect();
        (items, Meta::of(&shown, request))
    }

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
