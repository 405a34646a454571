//! The answers' outer shapes: Qonto wraps one resource under its name (`{"membership": …}`)
//! and a page of a list under the plural, beside `meta`. Each is a type, so the handler
//! serializes exactly what the OpenAPI document derives.

use crate::Text;
use crate::{
    BankAccountBody, Card, EventBody, MembershipDetail, MembershipSummary, OrganizationBody, Time, TransactionBody,
};
use schemars::JsonSchema;
use serde::Serialize;

/// `{"<key>": item}`: one resource, wrapped under its name.
#[macro_export]
macro_rules! envelope {
    ($(#[$meta:meta])* $name:ident { $key:ident: $item:ty }) => {
        #[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
        $(#[$meta])*
        pub struct $name {
            pub $key: $item,
        }
    };
}

/// `{"<key>": [items], "meta": {...}}`: one page of a list.
#[macro_export]
macro_rules! page {
    ($(#[$meta:meta])* $name:ident { $key:ident: $item:ty }) => {
        #[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
        $(#[$meta])*
        pub struct $name {
            pub $key: Vec<$item>,
            pub meta: $crate::Meta,
        }
    };
}

page!(
    /// `GET /v2/cards`. Rendered from each card's cached bytes for speed; a test checks the
    /// bytes are what serializing this type gives.
    CardList { cards: Card }
);
page!(
    /// `GET /v2/transactions`.
    TransactionList { transactions: TransactionBody }
);
envelope!(
    /// `GET /v2/transactions/{id}`, and a settled or reversed simulated payment.
    TransactionEnvelope { transaction: TransactionBody }
);
envelope!(
    /// `GET /v2/organization`.
    OrganizationEnvelope { organization: OrganizationBody }
);
envelope!(
    /// `GET /v2/bank_accounts/{id}`, and an operator's new account.
    BankAccountEnvelope { bank_account: BankAccountBody }
);
page!(
    /// `GET /v2/bank_accounts`.
    BankAccountList { bank_accounts: BankAccountBody }
);
page!(
    /// `GET /v2/memberships`.
    MembershipList { memberships: MembershipSummary }
);
envelope!(
    /// `GET /v2/membership`, and an operator's new member.
    MembershipEnvelope { membership: MembershipDetail }
);

envelope!(
    /// `{"card": {...}}`: one card, as every card route but the list answers.
    #[schemars(rename = "CardEnvelope")]
    CardBody { card: Card }
);

/// `POST /v2/cards/bulk`: `{"cards": [{"card": {...}}, ...]}`.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
#[schemars(rename = "BulkCards")]
pub struct BulkBody {
    pub cards: Vec<CardBody>,
}

/// A card's audit trail, oldest first.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct Events {
    pub events: Vec<EventBody>,
}

/// A short acknowledgement, as Qonto's sandbox SCA routes send it: `{"message": "Success"}`.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct Message {
    pub message: Text,
}

/// `GET /healthz`, `GET /readyz`.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct Status {
    pub status: Text,
}

/// `GET /v2/cards/{id}/data_view`: a single-use, five-minute link.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct DataViewLink {
    #[schemars(extend("format" = "uri"))]
    pub iframe_url: String,
}

/// `POST /_sandbox/organizations/{id}/clock`.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct Clock {
    pub now: Time,
    /// Cards this move expired, whose expiry (and cards.expired event) was stored now.
    pub cards_expired: usize,
}

/// An SCA session as the member's device sees it.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct ScaSession {
    #[schemars(schema_with = "crate::schema::sca_result")]
    pub result: Text,
    pub canceled_at: Option<Time>,
}
