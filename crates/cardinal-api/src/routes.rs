//! Every route Cardinal serves, once. The router is built from this table and so is the
//! OpenAPI document (`/openapi.json`): a route cannot exist without being documented.

use crate::http::{auth::scope, health};
use crate::oauth::{consent, discovery, token};
use crate::operator::{self, cards as operator_cards, members, organizations, tokens};
use crate::sandbox::{clock, invitations, labels as control_labels, legal, oauth_clients, payments, requests, reset};
use crate::v2::cards::CardBody;
use crate::v2::cards::{self, actions, create, data_view};
use crate::v2::requests as card_requests;
use crate::v2::sca::ScaAction;
use crate::v2::{
    assets, attachments, consents, iban_certificate, labels, organization, sca, teams, transactions,
    webhook_subscriptions,
};
use crate::wire::answers::*;
use crate::wire::card_requests::*;
use crate::wire::oauth::*;
use crate::wire::requests::*;
use crate::AppState;
use axum::routing::MethodRouter;
use schemars::{JsonSchema, Schema, SchemaGenerator};

mod queries;
use queries::*;

/// A type's schema in the document: a `$ref` to its component, added on first use.
pub type SchemaOf = fn(&mut SchemaGenerator) -> Schema;

/// The schema of answer type `T`: the type the handler serializes.
pub fn answer<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// The schema of request body type `T`: the one [`crate::http::body::JsonBody`] checks
/// bodies against, so the document and the parser cannot disagree.
pub fn body<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// Which part of the server a route belongs to; it decides authentication and layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Surface {
    /// Qonto's `/v2` API: member credentials, staging token, idempotency keys.
    Qonto,
    /// Qonto's sandbox SCA approval routes (sandbox mode only; the session token is the key).
    MockedSca,
    /// Cardinal's operator API (both modes; operator token): provisioning and operations.
    Operator,
    /// Cardinal's sandbox control API (sandbox mode only; operator token): clocks, simulated
    /// payments, resets.
    Control,
    /// The OAuth 2.0 authorization server (sandbox mode only): the consent page, the token
    /// and revocation endpoints (the client authenticates in the form or with HTTP Basic),
    /// the discovery documents.
    OAuth,
    /// No credential: health, images, the data-view page, this document.
    Public,
}

impl Surface {
    pub fn sandbox_only(self) -> bool {
        matches!(self, Surface::MockedSca | Surface::Control | Surface::OAuth)
    }
}

/// Which surfaces a server serves: the sandbox-only ones in sandbox mode, the operator API
/// when an operator token is configured (always in the sandbox, which generates one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Served {
    pub mode: crate::Mode,
    pub operator_api: bool,
}

impl Served {
    pub fn of(config: &crate::ApiConfig) -> Served {
        Served { mode: config.mode, operator_api: config.operator_token_hash.is_some() }
    }

    pub fn surface(self, surface: Surface) -> bool {
        match surface {
            Surface::MockedSca | Surface::Control | Surface::OAuth => self.mode == crate::Mode::Sandbox,
            Surface::Operator => self.operator_api,
            Surface::Qonto | Surface::Public => true,
        }
    }

    /// Whether the `/_sandbox/…` aliases of operator routes are served (sandbox mode only).
    pub fn aliases(self) -> bool {
        self.mode == crate::Mode::Sandbox && self.operator_api
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Reply {
    /// A JSON body of this type (see [`answer`]), with this status.
    Json(u16, SchemaOf),
    NoContent,
    /// `200` without a body (RFC 7009's revocation answer).
    EmptyOk,
    /// `302` to the client's redirect URI.
    Redirect,
    /// `text/event-stream`: server-sent events.
    EventStream,
    Html,
    Svg,
    Pdf,
    /// A stored file: a PDF, a JPEG or a PNG.
    File,
    /// Prometheus's text exposition format.
    Metrics,
}

/// What a query parameter takes, as exactly as the handler checks it: the OpenAPI document
/// says no more and no less, so a schema-driven client or fuzzer finds nothing undocumented.
#[derive(Debug, Clone, Copy)]
pub enum ParamKind {
    /// An integer in `min..=max`.
    Integer {
        min: u64,
        max: u64,
    },
    String,
    Strings,
    Uuid,
    Uuids,
    /// One of the listed values.
    OneOf(fn() -> Vec<&'static str>),
    /// Any number of the listed values.
    AnyOf(fn() -> Vec<&'static str>),
    /// A date (`2026-12-02`) or an RFC 3339 timestamp.
    DateOrTime,
}

#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub kind: ParamKind,
    pub description: &'static str,
}

const fn param(name: &'static str, kind: ParamKind, description: &'static str) -> Param {
    Param { name, kind, description }
}

#[derive(Debug, Clone, Copy)]
pub struct Operation {
    pub method: &'static str,
    pub path: &'static str,
    pub operation_id: &'static str,
    pub summary: &'static str,
    pub surface: Surface,
    pub scope: Option<&'static str>,
    /// The strong customer authentication the route needs (spec §1.8): enforced by
    /// [`crate::v2::sca::ScaStep`], which reads it here.
    pub sca: Option<ScaAction>,
    pub query: &'static [Param],
    /// The request body's type, as the schema it derives (see [`body`]).
    pub request: Option<SchemaOf>,
    /// An `application/x-www-form-urlencoded` body's fields, as a schema (the OAuth forms).
    pub form: Option<SchemaOf>,
    /// A `multipart/form-data` body with a file in part `file` (the attachment uploads); its
    /// body limit is [`crate::http::files::UPLOAD_BODY_LIMIT`].
    pub upload: bool,
    pub reply: Reply,
    /// The path the route also answers at in the sandbox, where it lived before the operator
    /// API (`/_sandbox/organizations` for `/_operator/organizations`); documented as deprecated.
    pub alias: Option<&'static str>,
}

impl Operation {
    /// Whether the route honours `X-Qonto-Idempotency-Key` (spec §1.6: Qonto's `POST`, `PUT`
    /// and `PATCH`). The router puts the idempotency layer on these and the OpenAPI document
    /// declares the header on these: one rule for both.
    pub fn takes_idempotency_keys(&self) -> bool {
        self.surface == Surface::Qonto && matches!(self.method, "post" | "put" | "patch")
    }

    const fn new(
        method: &'static str,
        path: &'static str,
        operation_id: &'static str,
        summary: &'static str,
        surface: Surface,
    ) -> Operation {
        Operation {
            method,
            path,
            operation_id,
            summary,
            surface,
            scope: None,
            sca: None,
            query: &[],
            request: None,
            form: None,
            upload: false,
            reply: Reply::Json(200, answer::<CardBody>),
            alias: None,
        }
    }
}

/// One table row: the documented operation and the handler serving it, with the method
/// written once for both.
macro_rules! operation {
    ($method:ident $path:literal => $handler:path; $surface:ident, $id:literal, $summary:literal $(, $field:ident = $value:expr)* $(,)?) => {{
        #[allow(unused_mut)]
        let mut op = Operation::new(stringify!($method), $path, $id, $summary, Surface::$surface);
        $( op.$field = $value; )*
        (op, axum::routing::$method($handler))
    }};
}

pub fn operations() -> Vec<(Operation, MethodRouter<AppState>)> {
    use scope::*;
    vec![
        operation!(get "/v2/cards" => cards::list; Qonto, "listCards", "List the cards the caller may see",
            scope = Some(CARD_READ), query = CARD_LIST_QUERY, reply = Reply::Json(200, answer::<CardList>)),
        operation!(post "/v2/cards" => create::create; Qonto, "createCard", "Create a card (owners and admins)",
            scope = Some(CARD_WRITE), sca = Some(ScaAction::CreateCard), request = Some(body::<CreateCardRequest>)),
        operation!(post "/v2/cards/bulk" => create::bulk; Qonto, "bulkCreateCards", "Create 1 to 50 cards, all or nothing",
            scope = Some(CARD_WRITE), sca = Some(ScaAction::BulkCreateCards), request = Some(body::<BulkCreateRequest>), reply = Reply::Json(200, answer::<create::BulkBody>)),
        operation!(get "/v2/cards/appearances" => cards::appearances; Qonto, "listCardAppearances", "Card designs per level",
            scope = Some(CARD_READ), reply = Reply::Json(200, answer::<crate::wire::Appearances>)),
        operation!(get "/v2/cards/{id}" => cards::show; Qonto, "getCard", "Show a card", scope = Some(CARD_READ)),
        operation!(get "/v2/cards/{id}/data_view" => data_view::link; Qonto, "getCardDataView",
            "A single-use, five-minute link to a page showing the card number", scope = Some(CARD_READ),
            reply = Reply::Json(200, answer::<DataViewLink>)),
        operation!(put "/v2/cards/{id}/lock" => actions::lock; Qonto, "lockCard", "Lock a card", scope = Some(CARD_WRITE)),
        operation!(put "/v2/cards/{id}/unlock" => actions::unlock; Qonto, "unlockCard",
            "Lift the user lock (owners and admins); system locks stay", scope = Some(CARD_WRITE), sca = Some(ScaAction::Unlock)),
        operation!(put "/v2/cards/{id}/lost" => actions::lost; Qonto, "reportCardLost", "Report a physical card lost",
            scope = Some(CARD_WRITE)),
        operation!(put "/v2/cards/{id}/stolen" => actions::stolen; Qonto, "reportCardStolen",
            "Report a physical card stolen", scope = Some(CARD_WRITE)),
        operation!(put "/v2/cards/{id}/discard" => actions::discard; Qonto, "discardCard", "Discard a virtual card",
            scope = Some(CARD_WRITE)),
        operation!(patch "/v2/cards/{id}/limits" => actions::limits; Qonto, "updateCardLimits",
            "Change limits (owners and admins)", scope = Some(CARD_WRITE), sca = Some(ScaAction::UpdateLimits), request = Some(body::<LimitsUpdate>)),
        operation!(patch "/v2/cards/{id}/nickname" => actions::nickname; Qonto, "updateCardNickname",
            "Rename a card", scope = Some(CARD_WRITE), request = Some(body::<NicknameUpdate>)),
        operation!(patch "/v2/cards/{id}/options" => actions::options; Qonto, "updateCardOptions",
            "Set the four payment options", scope = Some(CARD_WRITE), request = Some(body::<OptionsUpdate>)),
        operation!(patch "/v2/cards/{id}/restrictions" => actions::restrictions; Qonto, "updateCardRestrictions",
            "Restrict active days and merchant categories", scope = Some(CARD_WRITE), request = Some(body::<RestrictionsUpdate>)),
        operation!(get "/v2/sca_sessions/{token}" => sca::show; Qonto, "getScaSession", "Poll an SCA session",
            reply = Reply::Json(200, answer::<ScaSession>)),
        operation!(get "/v2/organization" => organization::organization; Qonto, "getOrganization",
            "The caller's organization and its bank accounts", scope = Some(ORGANIZATION_READ),
            reply = Reply::Json(200, answer::<OrganizationEnvelope>)),
        operation!(get "/v2/bank_accounts" => organization::bank_accounts; Qonto, "listBankAccounts", "List bank accounts",
            scope = Some(ORGANIZATION_READ), query = &PAGINATION, reply = Reply::Json(200, answer::<BankAccountList>)),
        operation!(get "/v2/bank_accounts/{id}" => organization::bank_account; Qonto, "getBankAccount", "Show a bank account",
            scope = Some(ORGANIZATION_READ), reply = Reply::Json(200, answer::<BankAccountEnvelope>)),
        operation!(get "/v2/bank_accounts/{id}/iban_certificate" => iban_certificate::download; Qonto,
            "downloadIbanCertificate", "The account's IBAN certificate (PDF)", scope = Some(ORGANIZATION_READ),
            query = IBAN_CERTIFICATE_QUERY,
            reply = Reply::Pdf),
        operation!(get "/v2/memberships" => organization::memberships; Qonto, "listMemberships", "List the organization's members",
            scope = Some(ORGANIZATION_READ), query = &PAGINATION, reply = Reply::Json(200, answer::<MembershipList>)),
        operation!(get "/v2/membership" => organization::membership; Qonto, "getMembership", "The caller's membership",
            scope = Some(MEMBERSHIP_READ), reply = Reply::Json(200, answer::<MembershipEnvelope>)),
        operation!(get "/v2/transactions" => transactions::list; Qonto, "listTransactions",
            "Transactions of one bank account (bank_account_id or iban required)", scope = Some(ORGANIZATION_READ),
            query = TRANSACTION_QUERY, reply = Reply::Json(200, answer::<TransactionList>)),
        operation!(get "/v2/transactions/{id}" => transactions::show; Qonto, "getTransaction", "Show a transaction",
            scope = Some(ORGANIZATION_READ), query = TRANSACTION_SHOW_QUERY, reply = Reply::Json(200, answer::<TransactionEnvelope>)),
        operation!(post "/v2/attachments" => attachments::upload; Qonto, "uploadAttachment",
            "Upload a receipt (PDF, JPEG or PNG, 15 MB at most; checked by content)", scope = Some(ATTACHMENT_WRITE),
            upload = true, reply = Reply::Json(200, answer::<crate::wire::attachments::UploadedAttachment>)),
        operation!(get "/v2/attachments/{id}" => attachments::show; Qonto, "getAttachment",
            "An attachment, with a download link valid 30 minutes", scope = Some(ORGANIZATION_READ),
            reply = Reply::Json(200, answer::<crate::wire::attachments::AttachmentEnvelope>)),
        operation!(get "/v2/transactions/{id}/attachments" => attachments::of_transaction; Qonto,
            "listTransactionAttachments", "A transaction's receipts, oldest first", scope = Some(ORGANIZATION_READ),
            query = &PAGINATION, reply = Reply::Json(200, answer::<crate::wire::attachments::AttachmentList>)),
        operation!(post "/v2/transactions/{id}/attachments" => attachments::attach; Qonto, "attachToTransaction",
            "Attach a receipt to a transaction the caller sees (200, no body)", scope = Some(ATTACHMENT_WRITE),
            upload = true, reply = Reply::EmptyOk),
        operation!(delete "/v2/transactions/{id}/attachments" => attachments::remove_all; Qonto,
            "removeTransactionAttachments", "Remove every receipt of a transaction (200, no body)",
            scope = Some(ATTACHMENT_WRITE), reply = Reply::EmptyOk),
        operation!(delete "/v2/transactions/{id}/attachments/{attachment_id}" => attachments::remove; Qonto,
            "removeTransactionAttachment", "Remove one receipt of a transaction (200, no body)",
            scope = Some(ATTACHMENT_WRITE), reply = Reply::EmptyOk),
        operation!(get "/v2/labels" => labels::list; Qonto, "listLabels", "The organization's labels, by name",
            scope = Some(ORGANIZATION_READ), query = &PAGINATION, reply = Reply::Json(200, answer::<crate::wire::attachments::LabelList>)),
        operation!(get "/v2/labels/{id}" => labels::show; Qonto, "getLabel", "Show a label",
            scope = Some(ORGANIZATION_READ), reply = Reply::Json(200, answer::<crate::wire::attachments::LabelEnvelope>)),
        operation!(get "/v2/requests" => card_requests::list; Qonto, "listRequests",
            "Card requests the caller may see: their own, a manager's team's, all for owners and admins",
            scope = Some(ORGANIZATION_READ), query = REQUEST_QUERY, reply = Reply::Json(200, answer::<CardRequestList>)),
        operation!(post "/v2/requests/flash_cards" => card_requests::create_flash; Qonto, "requestFlashCard",
            "Ask for a flash card (employees and managers)", scope = Some(REQUEST_CARDS_WRITE),
            request = Some(body::<FlashCardRequestBody>), reply = Reply::Json(200, answer::<CardRequestEnvelope>)),
        operation!(post "/v2/requests/virtual_cards" => card_requests::create_virtual; Qonto, "requestVirtualCard",
            "Ask for a virtual card (employees and managers)", scope = Some(REQUEST_CARDS_WRITE),
            request = Some(body::<VirtualCardRequestBody>), reply = Reply::Json(200, answer::<CardRequestEnvelope>)),
        operation!(post "/v2/requests/{request_type}/{id}/approve" => card_requests::approve; Qonto, "approveRequest",
            "Approve a card request (owners and admins, SCA): the card is issued to the requester",
            scope = Some(REQUEST_REVIEW_WRITE), sca = Some(ScaAction::CreateCard), request = Some(body::<ApproveRequestBody>),
            reply = Reply::Json(200, answer::<CardRequestEnvelope>)),
        operation!(post "/v2/requests/{request_type}/{id}/decline" => card_requests::decline; Qonto, "declineRequest",
            "Decline a card request with a note (owners and admins)", scope = Some(REQUEST_REVIEW_WRITE),
            request = Some(body::<DeclineRequestBody>), reply = Reply::Json(200, answer::<CardRequestEnvelope>)),
        operation!(get "/v2/teams" => teams::list; Qonto, "listTeams", "The organization's teams, by name",
            scope = Some(TEAM_READ), query = &PAGINATION, reply = Reply::Json(200, answer::<crate::wire::teams::TeamList>)),
        operation!(post "/v2/teams" => teams::create; Qonto, "createTeam", "Make a team (owners and admins)",
            scope = Some(TEAM_WRITE), request = Some(body::<crate::wire::teams::TeamRequest>),
            reply = Reply::Json(201, answer::<crate::wire::teams::TeamEnvelope>)),
        operation!(post "/v2/memberships/invite_employee_or_accountant" => teams::invite; Qonto, "inviteMembership",
            "Invite an employee or an accountant, optionally into a team (owners and admins)",
            scope = Some(MEMBERSHIP_WRITE), request = Some(body::<crate::wire::teams::InviteRequest>),
            reply = Reply::Json(200, answer::<MembershipEnvelope>)),
        operation!(get "/v2/webhook_subscriptions" => webhook_subscriptions::list; Qonto, "listWebhookSubscriptions",
            "The caller's webhook subscriptions", scope = Some(WEBHOOK), query = &PAGINATION,
            reply = Reply::Json(200, answer::<webhook_subscriptions::SubscriptionList>)),
        operation!(post "/v2/webhook_subscriptions" => webhook_subscriptions::create; Qonto, "createWebhookSubscription",
            "Subscribe a callback URL to event types (owners and admins); the secret is shown once",
            scope = Some(WEBHOOK), request = Some(body::<SubscriptionRequest>),
            reply = Reply::Json(201, answer::<webhook_subscriptions::SubscriptionWithSecret>)),
        operation!(get "/v2/webhook_subscriptions/{id}" => webhook_subscriptions::show; Qonto, "getWebhookSubscription",
            "Show a webhook subscription", scope = Some(WEBHOOK), reply = Reply::Json(200, answer::<webhook_subscriptions::SubscriptionShown>)),
        operation!(put "/v2/webhook_subscriptions/{id}" => webhook_subscriptions::replace; Qonto,
            "updateWebhookSubscription", "Replace a subscription's URL, types and description", scope = Some(WEBHOOK),
            request = Some(body::<SubscriptionUpdate>), reply = Reply::Json(200, answer::<webhook_subscriptions::SubscriptionShown>)),
        operation!(delete "/v2/webhook_subscriptions/{id}" => webhook_subscriptions::delete; Qonto,
            "deleteWebhookSubscription", "Delete a webhook subscription", scope = Some(WEBHOOK), reply = Reply::NoContent),
        operation!(delete "/v2/oauth2/consents" => consents::withdraw; Qonto, "withdrawOAuthConsent",
            "Disconnect the calling application: every token it holds for the member stops working",
            scope = Some(ORGANIZATION_READ), reply = Reply::NoContent),
        operation!(get "/oauth2/auth" => consent::page; OAuth, "oauthAuthorize",
            "The sign-in and consent page of an authorization request (HTML)", query = AUTHORIZE_QUERY, reply = Reply::Html),
        operation!(get "/v2/oauth2/auth" => consent::page; OAuth, "oauthAuthorizeV2",
            "The consent page at the path Qonto's newest reference names", query = AUTHORIZE_QUERY, reply = Reply::Html),
        operation!(post "/oauth2/auth" => consent::decide; OAuth, "oauthDecide",
            "The member's decision: 302 to the client with a code, or with access_denied",
            form = Some(body::<ConsentForm>), reply = Reply::Redirect),
        operation!(post "/oauth2/token" => token::token; OAuth, "oauthToken",
            "Exchange a code, or rotate a refresh token", form = Some(body::<TokenForm>),
            reply = Reply::Json(200, answer::<TokenAnswer>)),
        operation!(post "/v2/oauth2/token" => token::token; OAuth, "oauthTokenV2",
            "The token endpoint at the path Qonto's newest reference names", form = Some(body::<TokenForm>),
            reply = Reply::Json(200, answer::<TokenAnswer>)),
        operation!(post "/oauth2/revoke" => token::revoke; OAuth, "oauthRevoke",
            "Revoke an access or refresh token (RFC 7009): 200 whether or not it was one", form = Some(body::<RevocationForm>),
            reply = Reply::EmptyOk),
        operation!(get "/.well-known/oauth-authorization-server" => discovery::authorization_server; OAuth,
            "oauthMetadata", "The authorization server's metadata (RFC 8414)", reply = Reply::Json(200, answer::<ServerMetadata>)),
        operation!(get "/.well-known/openid-configuration" => discovery::openid_configuration; OAuth,
            "openidConfiguration", "The OpenID Connect discovery document", reply = Reply::Json(200, answer::<ServerMetadata>)),
        operation!(get "/.well-known/jwks.json" => discovery::jwks; OAuth, "jwks",
            "The ID-token signing key (RS256)", reply = Reply::Json(200, answer::<JwkSetSchema>)),
        operation!(get "/_sandbox/oauth_clients" => oauth_clients::list; Control, "listOAuthClients",
            "The registered OAuth clients, oldest first", query = &PAGINATION, reply = Reply::Json(200, answer::<OAuthClientList>)),
        operation!(post "/_sandbox/oauth_clients" => oauth_clients::create; Control, "createOAuthClient",
            "Register an OAuth client; its secret is shown once", request = Some(body::<OAuthClientRequest>),
            reply = Reply::Json(201, answer::<OAuthClientCreated>)),
        operation!(delete "/_sandbox/oauth_clients/{client_id}" => oauth_clients::delete; Control, "deleteOAuthClient",
            "Delete an OAuth client: every token it was issued stops working", reply = Reply::NoContent),
        operation!(get "/v2/mocked_sca_sessions/{token}" => sca::mocked_show; MockedSca, "getMockedScaSession",
            "Sandbox: see an SCA session", reply = Reply::Json(200, answer::<ScaSession>)),
        operation!(post "/v2/mocked_sca_sessions/{token}/{decision}" => sca::mocked_decide; MockedSca, "decideMockedScaSession",
            "Sandbox: allow or deny an SCA session as the member would", reply = Reply::Json(200, answer::<Message>)),
        operation!(get "/_operator/organizations" => organizations::list; Operator, "listOrganizations",
            "Every organization, oldest first", query = &PAGINATION, alias = Some("/_sandbox/organizations"),
            reply = Reply::Json(200, answer::<crate::wire::operator::OrganizationList>)),
        operation!(post "/_operator/organizations" => organizations::create; Operator, "createOrganization",
            "Create an organization with members and their tokens (and, in the sandbox, demo cards)",
            request = Some(body::<OrganizationRequest>), alias = Some("/_sandbox/organizations"),
            reply = Reply::Json(201, answer::<crate::wire::operator::CreatedOrganization>)),
        operation!(get "/_operator/organizations/{id}" => organizations::show; Operator, "getOrganizationDetails",
            "An organization with its bank accounts, teams and member count",
            reply = Reply::Json(200, answer::<crate::wire::operator::OrganizationEnvelope>)),
        operation!(delete "/_operator/organizations/{id}" => organizations::delete; Operator, "deleteOrganization",
            "Remove an organization and everything in it", alias = Some("/_sandbox/organizations/{id}"),
            reply = Reply::NoContent),
        operation!(post "/_operator/organizations/{id}/bank_accounts" => members::add_bank_account; Operator,
            "addBankAccount", "Open another bank account for the organization",
            request = Some(body::<BankAccountRequest>), reply = Reply::Json(201, answer::<BankAccountEnvelope>)),
        operation!(post "/_operator/organizations/{id}/memberships" => members::add_membership; Operator,
            "addMembership", "Add a member with a role (and a team, made if new)",
            request = Some(body::<MembershipRequest>), reply = Reply::Json(201, answer::<MembershipEnvelope>)),
        operation!(post "/_operator/organizations/{id}/api_key" => tokens::issue_api_key; Operator, "issueApiKey",
            "Issue the organization's API key (the previous one stops working); the secret is shown once",
            reply = Reply::Json(201, answer::<crate::wire::operator::ApiKey>)),
        operation!(delete "/_operator/organizations/{id}/api_key" => tokens::revoke_api_key; Operator, "revokeApiKey",
            "Revoke the organization's API key", reply = Reply::NoContent),
        operation!(post "/_operator/tokens" => tokens::create_token; Operator, "createAccessToken",
            "Issue an access token for a member", request = Some(body::<TokenRequest>), alias = Some("/_sandbox/tokens"),
            reply = Reply::Json(201, answer::<crate::wire::operator::AccessToken>)),
        operation!(delete "/_operator/tokens/{token}" => tokens::revoke_token; Operator, "revokeAccessToken",
            "Revoke an access token", alias = Some("/_sandbox/tokens/{token}"), reply = Reply::NoContent),
        operation!(post "/_operator/cards/{id}/system_locks" => operator_cards::add_system_lock; Operator, "addSystemLock",
            "Put a system lock on a card", request = Some(body::<SystemLockRequest>),
            alias = Some("/_sandbox/cards/{id}/system_locks")),
        operation!(delete "/_operator/cards/{id}/system_locks/{reason}" => operator_cards::remove_system_lock; Operator,
            "removeSystemLock", "Lift a system lock", alias = Some("/_sandbox/cards/{id}/system_locks/{reason}")),
        operation!(post "/_operator/cards/{id}/activate" => operator_cards::activate; Operator, "activateCard",
            "Activate a pending physical card", alias = Some("/_sandbox/cards/{id}/activate")),
        operation!(get "/_operator/cards/{id}/events" => operator_cards::events; Operator, "listCardEvents",
            "A card's audit events, oldest first", query = CARD_EVENTS_QUERY, alias = Some("/_sandbox/cards/{id}/events"),
            reply = Reply::Json(200, answer::<Events>)),
        operation!(get "/_operator/organizations/{id}/webhook_deliveries" => operator::webhooks::list; Operator,
            "listWebhookDeliveries", "An organization's webhook deliveries, newest first", query = DELIVERY_QUERY,
            alias = Some("/_sandbox/organizations/{id}/webhook_deliveries"),
            reply = Reply::Json(200, answer::<operator::webhooks::DeliveryList>)),
        operation!(get "/_operator/organizations/{id}/webhook_subscriptions" => operator::webhooks::subscriptions;
            Operator, "listOrganizationWebhookSubscriptions",
            "Every webhook subscription of an organization, with its receiver's health (active, slowed, disabled)",
            query = &PAGINATION, alias = Some("/_sandbox/organizations/{id}/webhook_subscriptions"),
            reply = Reply::Json(200, answer::<operator::webhooks::SubscriptionHealthList>)),
        operation!(post "/_operator/organizations/{id}/webhook_subscriptions/{subscription}/enable" =>
            operator::webhooks::enable; Operator, "enableWebhookSubscription",
            "Make a slowed or disabled webhook subscription active again",
            alias = Some("/_sandbox/organizations/{id}/webhook_subscriptions/{subscription}/enable"),
            reply = Reply::Json(200, answer::<operator::webhooks::SubscriptionHealthEnvelope>)),
        operation!(get "/_operator/webhook_deliveries/{id}" => operator::webhooks::show; Operator, "getWebhookDelivery",
            "A delivery: the exact body sent and every attempt", alias = Some("/_sandbox/webhook_deliveries/{id}"),
            reply = Reply::Json(200, answer::<operator::webhooks::DeliveryEnvelope>)),
        operation!(post "/_operator/webhook_deliveries/{id}/retry" => operator::webhooks::retry; Operator,
            "retryWebhookDelivery", "Attempt a delivery now, whatever its state",
            alias = Some("/_sandbox/webhook_deliveries/{id}/retry"), reply = Reply::Json(200, answer::<operator::webhooks::DeliveryEnvelope>)),
        operation!(post "/_sandbox/organizations/{id}/clock" => clock::clock; Control, "moveOrganizationClock",
            "Move an organization's clock forward", request = Some(body::<ClockRequest>), reply = Reply::Json(200, answer::<Clock>)),
        operation!(get "/_sandbox/organizations/{id}/requests" => requests::list; Control, "listOrganizationRequests",
            "The organization's last 1,000 /v2 requests, newest first: bodies cut at 16 KiB, secrets never kept",
            query = REQUEST_LOG_QUERY, reply = Reply::Json(200, answer::<crate::wire::operator::LoggedRequestList>)),
        operation!(get "/_sandbox/organizations/{id}/requests/stream" => requests::stream; Control,
            "streamOrganizationRequests", "The organization's new /v2 requests as server-sent events (`request`, and `lost` for a reader that fell behind)",
            query = &REQUEST_LOG_FILTER, reply = Reply::EventStream),
        operation!(post "/_sandbox/organizations/{id}/reset" => reset::reset; Control, "resetOrganization",
            "Bring a sandbox organization back to how it was seeded: cards, transactions, balances, clock (members and tokens stay)",
            reply = Reply::Json(200, answer::<crate::wire::operator::Reset>)),
        operation!(post "/_sandbox/cards/{id}/authorizations" => payments::authorize; Control, "simulateAuthorization",
            "Simulate a card payment at a merchant: approved or declined, as the card's settings decide",
            request = Some(body::<AuthorizationRequest>), reply = Reply::Json(200, answer::<crate::wire::operator::AuthorizationEnvelope>)),
        operation!(post "/_sandbox/organizations/{id}/labels" => control_labels::create; Control, "createLabel",
            "Make a label list, or a label in one (parent_id)", request = Some(body::<crate::wire::attachments::LabelRequest>),
            reply = Reply::Json(201, answer::<crate::wire::attachments::LabelEnvelope>)),
        operation!(post "/_sandbox/memberships/{id}/accept" => invitations::accept; Control, "acceptInvitation",
            "An invited member joins, as if they had followed the e-mail's link (reported to v1/memberships)",
            reply = Reply::Json(200, answer::<MembershipEnvelope>)),
        operation!(patch "/_sandbox/organizations/{id}/legal" => legal::set; Control, "setOrganizationLegalProfile",
            "Set the legal identity GET /v2/organization shows (fields left out keep their value)",
            request = Some(body::<crate::wire::LegalRequest>), reply = Reply::Json(200, answer::<OrganizationEnvelope>)),
        operation!(put "/_sandbox/transactions/{id}/labels" => control_labels::label_transaction; Control,
            "labelTransaction", "Put exactly these labels on a transaction (an empty list takes them off)",
            request = Some(body::<crate::wire::attachments::TransactionLabels>), reply = Reply::Json(200, answer::<TransactionEnvelope>)),
        operation!(post "/_sandbox/transactions/{id}/settle" => payments::settle; Control, "settleTransaction",
            "Settle a pending transaction", reply = Reply::Json(200, answer::<TransactionEnvelope>)),
        operation!(post "/_sandbox/transactions/{id}/reverse" => payments::reverse; Control, "reverseTransaction",
            "Reverse a pending transaction", reply = Reply::Json(200, answer::<TransactionEnvelope>)),
        operation!(get "/card_data/{token}" => data_view::page; Public, "showCardData",
            "The card-details page a data-view link opens (once)", reply = Reply::Html),
        operation!(get "/assets/cards/{design}/{file}" => assets::card_image; Public, "getCardImage",
            "A card design's image", reply = Reply::Svg),
        operation!(get "/files/{organization_id}/{id}" => attachments::file; Public, "downloadFile",
            "The file an attachment's `url` opens for 30 minutes: saved, never rendered", query = FILE_LINK_QUERY,
            reply = Reply::File),
        operation!(get "/metrics" => crate::http::metrics::metrics; Operator, "metrics",
            "The process's metrics in Prometheus's text format (operator token)", reply = Reply::Metrics),
        operation!(get "/healthz" => health::healthz; Public, "healthz", "Alive", reply = Reply::Json(200, answer::<Status>)),
        operation!(get "/readyz" => health::readyz; Public, "readyz", "Ready: the database takes a write",
            reply = Reply::Json(200, answer::<Status>)),
        operation!(get "/openapi.json" => health::openapi_document; Public, "openapi", "This document",
            reply = Reply::Json(200, answer::<health::OpenApiDocument>)),
    ]
}
