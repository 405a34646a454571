//! Plain records crossing the storage boundary.

use cardinal_domain::card::Status;
use cardinal_domain::{Card, CardLevel, Cents, Role};
use jiff::{tz::TimeZone, Timestamp};
use std::borrow::Cow;
use std::sync::Arc;
use uuid::Uuid;

/// How an organization treats sensitive actions (spec §1.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaMode {
    Required,
    Disabled,
    NotEnrolled,
}

impl ScaMode {
    pub const ALL: [ScaMode; 3] = [ScaMode::Required, ScaMode::Disabled, ScaMode::NotEnrolled];

    pub fn as_str(self) -> &'static str {
        match self {
            ScaMode::Required => "required",
            ScaMode::Disabled => "disabled",
            ScaMode::NotEnrolled => "not_enrolled",
        }
    }

    pub fn parse(text: &str) -> Option<ScaMode> {
        ScaMode::ALL.into_iter().find(|m| m.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: Uuid,
    pub slug: String,
    pub legal_name: String,
    pub locale: String,
    /// IANA name, e.g. `Europe/Paris`: spending windows and expiry follow it.
    pub timezone: String,
    pub country: String,
    pub sca_mode: ScaMode,
    /// How far this organization's clock is ahead of real time (sandbox time travel).
    pub clock_offset_seconds: i64,
    pub created_at: Timestamp,
}

impl Organization {
    /// The organization's clock at the given real time, at the wire's second precision.
    pub fn now_at(&self, real_now: Timestamp) -> Timestamp {
        let second = real_now.as_second().saturating_add(self.clock_offset_seconds);
        Timestamp::from_second(second).unwrap_or(Timestamp::MAX)
    }

    /// The organization's clock now.
    pub fn now(&self) -> Timestamp {
        self.now_at(Timestamp::now())
    }

    pub fn time_zone(&self) -> TimeZone {
        // Stored zones are validated on creation; UTC only guards against a vanished tzdb.
        TimeZone::get(&self.timezone).unwrap_or(TimeZone::UTC)
    }
}

/// How an organization's sandbox clock moves (its offset ahead of real time, in seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockChange {
    /// Adds this many seconds to the offset: twenty concurrent advances of an hour move the
    /// clock twenty hours.
    By(i64),
    /// Sets the offset to this value unless it already is further ahead.
    ToAtLeast(i64),
}

impl ClockChange {
    pub fn seconds(self) -> i64 {
        match self {
            ClockChange::By(seconds) | ClockChange::ToAtLeast(seconds) => seconds,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankAccount {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub status: String,
    pub main: bool,
    pub iban: String,
    pub bic: String,
    pub currency: String,
    pub balance: Cents,
    pub authorized_balance: Cents,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub role: Role,
    pub status: String,
    pub team_id: Option<Uuid>,
    pub locale: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// An OAuth access token of one membership.
    AccessToken,
    /// The organization's `slug:secret` key; acts as the owner, read-only.
    ApiKey,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::AccessToken => "access_token",
            CredentialKind::ApiKey => "api_key",
        }
    }

    pub fn parse(text: &str) -> Option<CredentialKind> {
        match text {
            "access_token" => Some(CredentialKind::AccessToken),
            "api_key" => Some(CredentialKind::ApiKey),
            _ => None,
        }
    }
}

/// A credential as written. Only the SHA-256 of the secret is ever stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCredential {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub membership_id: Uuid,
    pub kind: CredentialKind,
    pub secret_hash: [u8; 32],
    pub scopes: Vec<String>,
    pub expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    /// The OAuth grant that issued it (`None` for API keys and control-API tokens).
    pub grant_id: Option<Uuid>,
}

/// A credential as read, with the organization and member it acts for.
///
/// Every authenticated request reads one (from a cache on SQLite) and keeps its parts for the
/// request's life: shared, so that reading one copies no strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub id: Uuid,
    pub kind: CredentialKind,
    pub secret_hash: [u8; 32],
    pub scopes: Arc<[String]>,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    /// The OAuth grant that issued it, if one did.
    pub grant_id: Option<Uuid>,
    pub organization: Arc<Organization>,
    pub membership: Arc<Membership>,
}

/// PAN and CVV, encrypted by the API layer before they reach the store. The fingerprint is a
/// keyed hash of the PAN so uniqueness can be enforced without storing it in clear.
#[derive(Clone, PartialEq, Eq)]
pub struct CardSecrets {
    pub pan_ciphertext: Vec<u8>,
    pub cvv_ciphertext: Vec<u8>,
    pub pan_fingerprint: [u8; 32],
}

impl std::fmt::Debug for CardSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardSecrets(..)")
    }
}

#[derive(Debug, Clone)]
pub struct NewCard {
    pub card: Card,
    pub secrets: CardSecrets,
}

/// The holder fields card reads need (visibility, search, embossing) without a second query.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Holder {
    pub first_name: String,
    pub last_name: String,
    pub team_id: Option<Uuid>,
}

impl From<&Membership> for Holder {
    fn from(m: &Membership) -> Holder {
        Holder { first_name: m.first_name.clone(), last_name: m.last_name.clone(), team_id: m.team_id }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCard {
    pub card: Card,
    pub holder: Holder,
    /// How many times the store has saved the card's row, where it counts them (SQLite's
    /// `cards.version`; 0 on PostgreSQL, which does not). A list compares it with a cached
    /// card's to use the cached card instead of parsing the row's document again.
    pub revision: i64,
}

impl StoredCard {
    /// A card at revision 0: one just inserted, or read from a store that does not count saves.
    pub fn new(card: Card, holder: Holder) -> StoredCard {
        StoredCard { card, holder, revision: 0 }
    }

    /// Lower-cased text the list `query` parameter matches against (spec §3.1), except the
    /// status, which depends on the clock and is matched separately.
    pub fn search_text(&self) -> String {
        let c = &self.card;
        [
            self.holder.first_name.as_str(),
            self.holder.last_name.as_str(),
            &c.id.to_string(),
            &c.nickname,
            &c.last_digits,
            &c.exp_month.to_string(),
            &c.exp_year.to_string(),
        ]
        .join("\u{1f}")
        .to_lowercase()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    Membership,
    ApiKey,
    System,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Membership => "membership",
            ActorKind::ApiKey => "api_key",
            ActorKind::System => "system",
        }
    }

    pub fn parse(text: &str) -> Option<ActorKind> {
        [ActorKind::Membership, ActorKind::ApiKey, ActorKind::System].into_iter().find(|k| k.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: Option<Uuid>,
}

/// One line of a card's history. Never holds PAN or CVV.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub id: Uuid,
    pub card_id: Uuid,
    pub action: String,
    pub actor: Actor,
    pub from_status: Option<Status>,
    pub to_status: Status,
    pub changes: serde_json::Value,
    pub request_id: String,
    pub at: Timestamp,
}

/// Everything an organization starts with, written in one transaction.
#[derive(Debug, Clone)]
pub struct OrganizationSeed {
    pub organization: Organization,
    pub teams: Vec<Team>,
    pub bank_accounts: Vec<BankAccount>,
    pub memberships: Vec<Membership>,
    pub credentials: Vec<NewCredential>,
    pub cards: Vec<NewCard>,
    pub events: Vec<AuditEvent>,
    /// What a sandbox reset brings the organization back to (opaque to the store, written
    /// with the organization and removed with it); `None` for an organization that cannot be
    /// reset.
    pub snapshot: Option<String>,
}

/// A label of the organization's two-level label lists (`qonto-reference.md` §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub parent_id: Option<Uuid>,
}

/// An event a change reports, written in the change's transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    /// The envelope's `id`, for receivers to de-duplicate.
    pub id: Uuid,
    pub organization_id: Uuid,
    /// `v1/cards`, `v1/transactions`, …
    pub topic: String,
    /// Deliveries with one key reach one subscription in the order they were written: the card.
    pub ordering_key: Uuid,
    /// The envelope's `data`, JSON text.
    pub data: EventData,
    /// On the organization's clock (sandbox time travel shows in `created_at`).
    pub created_at: Timestamp,
}

/// An outbox event's `data`: JSON text, or how to make it. A change makes its events before
/// the store knows whether any subscription will receive them, and most organizations have
/// none: the store renders the text only for an event it writes. (Rendering a card's
/// `v1/cards` data was a tenth of a lock's work on SQLite's single writer.)
#[derive(Clone)]
pub struct EventData(EventText);

#[derive(Clone)]
enum EventText {
    Rendered(String),
    Deferred(Arc<dyn Fn() -> String + Send + Sync>),
}

impl EventData {
    /// Data whose text `render` makes, when the store needs it (each time it is asked).
    pub fn deferred(render: impl Fn() -> String + Send + Sync + 'static) -> EventData {
        EventData(EventText::Deferred(Arc::new(render)))
    }

    /// The JSON text.
    pub fn text(&self) -> Cow<'_, str> {
        match &self.0 {
            EventText::Rendered(text) => Cow::Borrowed(text),
            EventText::Deferred(render) => Cow::Owned(render()),
        }
    }
}

impl From<String> for EventData {
    fn from(text: String) -> EventData {
        EventData(EventText::Rendered(text))
    }
}

impl From<&str> for EventData {
    fn from(text: &str) -> EventData {
        EventData(EventText::Rendered(text.to_owned()))
    }
}

/// Two data are equal when their texts are.
impl PartialEq for EventData {
    fn eq(&self, other: &EventData) -> bool {
        self.text() == other.text()
    }
}

impl Eq for EventData {}

impl std::fmt::Debug for EventData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.text().fmt(f)
    }
}

/// What an operator adds to an existing organization, all or nothing.
#[derive(Debug, Clone, Default)]
pub struct OrganizationParts {
    pub teams: Vec<Team>,
    pub labels: Vec<Label>,
    pub bank_accounts: Vec<BankAccount>,
    pub memberships: Vec<Membership>,
    pub credentials: Vec<NewCredential>,
    /// The webhook events the addition reports (`v1/memberships`), written with it.
    pub events: Vec<OutboxEvent>,
}

impl OrganizationParts {
    /// The parts of a new organization.
    pub fn of(seed: &OrganizationSeed) -> OrganizationParts {
        OrganizationParts {
            teams: seed.teams.clone(),
            labels: Vec::new(),
            bank_accounts: seed.bank_accounts.clone(),
            memberships: seed.memberships.clone(),
            credentials: seed.credentials.clone(),
            events: Vec::new(),
        }
    }
}

/// A sandbox organization brought back to how it was seeded: every card, transaction, audit
/// event, SCA session, data-view link and webhook event it has goes; these cards (with their
/// events) come back, the accounts get these balances, and the clock its real time. Members,
/// teams, tokens, API keys and webhook subscriptions stay.
#[derive(Debug, Clone)]
pub struct OrganizationReset {
    pub cards: Vec<NewCard>,
    pub events: Vec<AuditEvent>,
    /// (bank account, balance); the authorized balance becomes the balance.
    pub balances: Vec<(Uuid, Cents)>,
}

impl OrganizationSeed {
    /// The holder of a seeded card, among the seeded members.
    pub fn holder_of(&self, holder_id: Uuid) -> Option<Holder> {
        self.memberships.iter().find(|m| m.id == holder_id).map(Holder::from)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

impl PageRequest {
    pub fn offset(&self) -> u64 {
        u64::from(self.page.saturating_sub(1)) * u64::from(self.per_page)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

impl<T> Page<T> {
    /// A page whose list was not counted: its total is its own length.
    pub fn uncounted(items: Vec<T>) -> Page<T> {
        Page { total: items.len() as u64, items }
    }
}

/// Which cards a caller may see (spec §2.3), as the store filters them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    All,
    /// Cards held by this membership.
    HeldBy(Uuid),
    /// Cards held by this membership or by members of this team.
    HeldByOrTeam(Uuid, Option<Uuid>),
    /// No card (a role whose permission row sees none).
    Nothing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardSortField {
    Status,
    Nickname,
    LastActivityAt,
    CreatedAt,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardQuery {
    pub organization_id: Uuid,
    pub visibility: Visibility,
    /// Case-insensitive substring; see [`StoredCard::search_text`].
    pub search: Option<String>,
    pub holder_ids: Vec<Uuid>,
    pub statuses: Vec<Status>,
    pub bank_account_ids: Vec<Uuid>,
    pub levels: Vec<CardLevel>,
    pub ids: Vec<Uuid>,
    pub sort: CardSortField,
    pub descending: bool,
    pub page: PageRequest,
    /// The organization's clock: status filters and sorting see expiry as of this instant.
    pub now: Timestamp,
}

impl CardQuery {
    /// Everything visible in the organization, newest first.
    pub fn all(organization_id: Uuid, now: Timestamp) -> CardQuery {
        CardQuery {
            organization_id,
            visibility: Visibility::All,
            search: None,
            holder_ids: vec![],
            statuses: vec![],
            bank_account_ids: vec![],
            levels: vec![],
            ids: vec![],
            sort: CardSortField::CreatedAt,
            descending: true,
            page: PageRequest { page: 1, per_page: 100 },
            now,
        }
    }
}

/// An SCA approval request (spec §1.8), bound to one member and one exact request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaSession {
    pub token_hash: [u8; 32],
    pub organization_id: Uuid,
    pub membership_id: Uuid,
    pub action_type: String,
    pub request_hash: [u8; 32],
    pub result: ScaResult,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub consumed_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaResult {
    Waiting,
    Allow,
    Deny,
}

impl ScaResult {
    pub fn as_str(self) -> &'static str {
        match self {
            ScaResult::Waiting => "waiting",
            ScaResult::Allow => "allow",
            ScaResult::Deny => "deny",
        }
    }

    pub fn parse(text: &str) -> Option<ScaResult> {
        [ScaResult::Waiting, ScaResult::Allow, ScaResult::Deny].into_iter().find(|r| r.as_str() == text)
    }
}

impl ScaSession {
    /// The result a client sees at `now`: an expired session reads as denied.
    pub fn result_at(&self, now: Timestamp) -> ScaResult {
        if now >= self.expires_at && self.consumed_at.is_none() {
            ScaResult::Deny
        } else {
            self.result
        }
    }
}

/// A single-use link to a card's details (spec §3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataViewToken {
    pub token_hash: [u8; 32],
    pub card_id: Uuid,
    pub organization_id: Uuid,
    pub membership_id: Uuid,
    pub expires_at: Timestamp,
}

/// Builds the audit event of a data view from the card, the member who asked for the link and
/// the organization's time of the view.
pub type DataViewAudit = Box<dyn FnMut(&StoredCard, Uuid, Timestamp) -> AuditEvent + Send + 'static>;
