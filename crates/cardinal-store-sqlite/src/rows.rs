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

/// The columns `sql::columns(alias, names)` selected, read by position: that list is
/// contiguous and in `names`'s order, so one scan finds where it starts and each field is its
/// name's place in `names` after it. rusqlite's read by name compares the name with every
/// column's, ignoring case, and the names were formatted anew for each read: a bank
/// account's 12 fields cost every payment 17,000 instructions on the SQLite writer that way.
pub struct Prefixed<'a, 'r> {
    row: &'a Row<'r>,
    names: &'static [&'static str],
    start: usize,
}

impl<'a, 'r> Prefixed<'a, 'r> {
    pub fn find(row: &'a Row<'r>, alias: &str, names: &'static [&'static str]) -> SqlResult<Self> {
        let statement = row.as_ref();
        let first = names.first().copied().unwrap_or_default();
        let is_first = |name: &str| name.strip_prefix(alias).and_then(|rest| rest.strip_prefix('_')) == Some(first);
        let start = (0..statement.column_count())
            .find(|i| statement.column_name(*i).is_ok_and(is_first))
            .ok_or_else(|| rusqlite::Error::InvalidColumnName(format!("{alias}_{first}")))?;
        Ok(Prefixed { row, names, start })
    }

    pub fn get<T: rusqlite::types::FromSql>(&self, name: &str) -> SqlResult<T> {
        let place = self.names.iter().position(|n| *n == name);
        let place = place.ok_or_else(|| rusqlite::Error::InvalidColumnName(name.to_owned()))?;
        self.row.get(self.start + place)
    }
}

pub fn organization(row: &Row, p: &str) -> SqlResult<Organization> {
    let c = Prefixed::find(row, p, cardinal_store::sql::ORGANIZATION)?;
    let sca: String = c.get("sca_mode")?;
    Ok(Organization {
        id: uuid(c.get("id")?)?,
        slug: c.get("slug")?,
        legal_name: c.get("legal_name")?,
        locale: c.get("locale")?,
        timezone: c.get("timezone")?,
        country: c.get("country")?,
        sca_mode: ScaMode::parse(&sca).ok_or_else(|| conversion(format!("sca mode {sca}")))?,
        clock_offset_seconds: c.get("clock_offset_seconds")?,
        created_at: timestamp(c.get("created_at")?)?,
    })
}

pub fn membership(row: &Row, p: &str) -> SqlResult<Membership> {
    let c = Prefixed::find(row, p, cardinal_store::sql::MEMBERSHIP)?;
    let role: String = c.get("role")?;
    let team: Option<String> = c.get("team_id")?;
    Ok(Membership {
        id: uuid(c.get("id")?)?,
        organization_id: uuid(c.get("organization_id")?)?,
        first_name: c.get("first_name")?,
        last_name: c.get("last_name")?,
        email: c.get("email")?,
        role: Role::parse(&role).ok_or_else(|| conversion(format!("role {role}")))?,
        status: c.get("status")?,
        team_id: team.map(uuid).transpose()?,
        locale: c.get("locale")?,
        created_at: timestamp(c.get("created_at")?)?,
    })
}

pub fn bank_account(row: &Row, p: &str) -> SqlResult<BankAccount> {
    let c = Prefixed::find(row, p, cardinal_store::sql::BANK_ACCOUNT)?;
    Ok(BankAccount {
        id: uuid(c.get("id")?)?,
        organization_id: uuid(c.get("organization_id")?)?,
        name: c.get("name")?,
        status: c.get("status")?,
        main: c.get("main")?,
        iban: c.get("iban")?,
        bic: c.get("bic")?,
        currency: c.get("currency")?,
        balance: Cents(c.get("balance_cents")?),
        authorized_balance: Cents(c.get("authorized_balance_cents")?),
        created_at: timestamp(c.get("created_at")?)?,
        updated_at: timestamp(c.get("updated_at")?)?,
    })
}

/// A credential row joined with its organization (`o`) and membership (`m`).
pub fn credential(row: &Row) -> SqlResult<Credential> {
    let c = Prefixed::find(row, "c", cardinal_store::sql::CREDENTIAL)?;
    let kind: String = c.get("kind")?;
    let hash: Vec<u8> = c.get("secret_hash")?;
    let scopes: String = c.get("scopes")?;
    Ok(Credential {
        id: uuid(c.get("id")?)?,
        kind: CredentialKind::parse(&kind).ok_or_else(|| conversion(format!("credential kind {kind}")))?,
        secret_hash: hash.try_into().map_err(|_| conversion("secret hash length".into()))?,
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        expires_at: opt_timestamp(c.get("expires_at")?)?,
        revoked_at: opt_timestamp(c.get("revoked_at")?)?,
        grant_id: c.get::<Option<String>>("grant_id")?.map(uuid).transpose()?,
        organization: organization(row, "o")?.into(),
        membership: membership(row, "m")?.into(),
    })
}

/// A card row, read by position: [`cardinal_store::sql::CARD_SELECT`] and `c.version`.
pub fn stored_card(row: &Row) -> SqlResult<StoredCard> {
    let id = uuid(row.get(0)?)?;
    // Borrowed, not copied: the text is only compared with, or parsed into, the card.
    let card = card_from_document(id, row.get_ref(1)?.as_str()?).map_err(|e| conversion(e.to_string()))?;
    let team: Option<String> = row.get(4)?;
    Ok(StoredCard {
        card,
        holder: Holder { first_name: row.get(2)?, last_name: row.get(3)?, team_id: team.map(uuid).transpose()? },
        revision: row.get(5)?,
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

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn prefixed_columns_are_read_at_their_own_places() {
        let conn = Connection::open_in_memory().unwrap();
        let names: &'static [&'static str] = &["id", "name", "n"];
        let sql = format!(
            "SELECT 0 AS x, {}, {} FROM (SELECT 'a' AS id, 'first' AS name, 1 AS n) a, \
             (SELECT 'b' AS id, 'second' AS name, 2 AS n) b",
            cardinal_store::sql::columns("a", names),
            cardinal_store::sql::columns("b", names)
        );
        conn.query_row(&sql, [], |row| {
            let (a, b) = (Prefixed::find(row, "a", names)?, Prefixed::find(row, "b", names)?);
            assert_eq!((a.get::<String>("name")?, a.get::<i64>("n")?), ("first".into(), 1));
            assert_eq!(
                (b.get::<String>("id")?, b.get::<String>("name")?, b.get::<i64>("n")?),
                ("b".into(), "second".into(), 2)
            );
            assert!(a.get::<String>("missing").is_err(), "a name not in the list is an error, not another column");
            assert!(Prefixed::find(row, "c", names).is_err(), "an alias the row lacks is an error");
            Ok(())
        })
        .unwrap();
    }
}
