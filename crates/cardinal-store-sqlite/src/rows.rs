//! Converting between Cardinal's records and SQLite rows.

use cardinal_domain::{card::Status, Cents, Role};
pub use cardinal_store::sql::CardIndex;
use cardinal_store::{documents::card_from_document, *};
use jiff::Timestamp;
use rusqlite::{Row, ToSql};
use uuid::Uuid;

pub type SqlResult<T> = rusqlite::Result<T>;

pub fn seconds(ts: Timestamp) -> i64 {
    ts.as_second()
}

pub fn timestamp(seconds: i64) -> SqlResult<Timestamp> {
    Timestamp::from_second(seconds).map_err(|e| conversion(e.to_string()))
}

pub fn uuid(text: String) -> SqlResult<Uuid> {
    Uuid::parse_str(&text).map_err(|e| conversion(e.to_string()))
}

fn conversion(message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, message.into())
}

fn opt_timestamp(value: Option<i64>) -> SqlResult<Option<Timestamp>> {
    value.map(timestamp).transpose()
}

pub fn organization(row: &Row, p: &str) -> SqlResult<Organization> {
    let col = |n: &str| format!("{p}_{n}");
    let sca: String = row.get(col("sca_mode").as_str())?;
    Ok(Organization {
        id: uuid(row.get(col("id").as_str())?)?,
        slug: row.get(col("slug").as_str())?,
        legal_name: row.get(col("legal_name").as_str())?,
        locale: row.get(col("locale").as_str())?,
        timezone: row.get(col("timezone").as_str())?,
        country: row.get(col("country").as_str())?,
        sca_mode: ScaMode::parse(&sca).ok_or_else(|| conversion(format!("sca mode {sca}")))?,
        clock_offset_seconds: row.get(col("clock_offset_seconds").as_str())?,
        created_at: timestamp(row.get(col("created_at").as_str())?)?,
    })
}

pub fn membership(row: &Row, p: &str) -> SqlResult<Membership> {
    let col = |n: &str| format!("{p}_{n}");
    let role: String = row.get(col("role").as_str())?;
    let team: Option<String> = row.get(col("team_id").as_str())?;
    Ok(Membership {
        id: uuid(row.get(col("id").as_str())?)?,
        organization_id: uuid(row.get(col("organization_id").as_str())?)?,
        first_name: row.get(col("first_name").as_str())?,
        last_name: row.get(col("last_name").as_str())?,
        email: row.get(col("email").as_str())?,
        role: Role::parse(&role).ok_or_else(|| conversion(format!("role {role}")))?,
        status: row.get(col("status").as_str())?,
        team_id: team.map(uuid).transpose()?,
        locale: row.get(col("locale").as_str())?,
        created_at: timestamp(row.get(col("created_at").as_str())?)?,
    })
}

pub fn bank_account(row: &Row, p: &str) -> SqlResult<BankAccount> {
    let col = |n: &str| format!("{p}_{n}");
    Ok(BankAccount {
        id: uuid(row.get(col("id").as_str())?)?,
        organization_id: uuid(row.get(col("organization_id").as_str())?)?,
        name: row.get(col("name").as_str())?,
        status: row.get(col("status").as_str())?,
        main: row.get(col("main").as_str())?,
        iban: row.get(col("iban").as_str())?,
        bic: row.get(col("bic").as_str())?,
        currency: row.get(col("currency").as_str())?,
        balance: Cents(row.get(col("balance_cents").as_str())?),
        authorized_balance: Cents(row.get(col("authorized_balance_cents").as_str())?),
        created_at: timestamp(row.get(col("created_at").as_str())?)?,
        updated_at: timestamp(row.get(col("updated_at").as_str())?)?,
    })
}

/// A credential row joined with its organization (`o`) and membership (`m`).
pub fn credential(row: &Row) -> SqlResult<Credential> {
    let kind: String = row.get("c_kind")?;
    let hash: Vec<u8> = row.get("c_secret_hash")?;
    let scopes: String = row.get("c_scopes")?;
    Ok(Credential {
        id: uuid(row.get("c_id")?)?,
        kind: CredentialKind::parse(&kind).ok_or_else(|| conversion(format!("credential kind {kind}")))?,
        secret_hash: hash.try_into().map_err(|_| conversion("secret hash length".into()))?,
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        expires_at: opt_timestamp(row.get("c_expires_at")?)?,
        revoked_at: opt_timestamp(row.get("c_revoked_at")?)?,
        grant_id: row.get::<_, Option<String>>("c_grant_id")?.map(uuid).transpose()?,
        organization: organization(row, "o")?.into(),
        membership: membership(row, "m")?.into(),
    })
}

/// A card row, read by position: [`cardinal_store::sql::CARD_SELECT`] starts every card query.
pub fn stored_card(row: &Row) -> SqlResult<StoredCard> {
    let id = uuid(row.get(0)?)?;
    // Borrowed, not copied: the text is only compared with, or parsed into, the card.
    let card = card_from_document(id, row.get_ref(1)?.as_str()?).map_err(|e| conversion(e.to_string()))?;
    let team: Option<String> = row.get(4)?;
    Ok(StoredCard {
        card,
        holder: Holder { first_name: row.get(2)?, last_name: row.get(3)?, team_id: team.map(uuid).transpose()? },
    })
}

/// The card's indexed copies, in the order of [`CARD_INDEX_COLUMNS`].
pub fn card_index_values(stored: &StoredCard) -> Result<Vec<Box<dyn ToSql>>, cardinal_store::StoreError> {
    let i = CardIndex::of(stored)?;
    Ok(vec![
        Box::new(i.level),
        Box::new(i.base_status),
        Box::new(i.terminal),
        Box::new(i.expires_at),
        Box::new(i.pre_expires_at),
        Box::new(i.nickname),
        Box::new(i.last_activity_at),
        Box::new(i.search_text),
        Box::new(i.data),
    ])
}

pub const CARD_INDEX_COLUMNS: &[&str] = &[
    "card_level",
    "base_status",
    "terminal",
    "expires_at",
    "pre_expires_at",
    "nickname",
    "last_activity_at",
    "search_text",
    "data",
];

pub fn status_from(text: &str) -> SqlResult<Status> {
    Status::parse(text).ok_or_else(|| conversion(format!("status {text}")))
}
