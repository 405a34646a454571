//! Converting PostgreSQL rows into Cardinal's records.

use cardinal_domain::{card::Status, Cents, Role};
use cardinal_store::{documents::card_from_document, *};
use jiff::Timestamp;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::Fail;

pub(crate) fn corrupt(what: impl std::fmt::Display) -> Fail {
    Fail::Store(StoreError::Backend(format!("unreadable row: {what}")))
}

pub fn uuid(text: &str) -> Result<Uuid, Fail> {
    Uuid::parse_str(text).map_err(corrupt)
}

pub fn timestamp(seconds: i64) -> Result<Timestamp, Fail> {
    Timestamp::from_second(seconds).map_err(corrupt)
}

pub(crate) fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, name: &str) -> Result<T, Fail> {
    row.try_get(name).map_err(|e| corrupt(format!("{name}: {e}")))
}

pub fn organization(row: &Row, p: &str) -> Result<Organization, Fail> {
    let col = |n: &str| format!("{p}_{n}");
    let sca: String = get(row, &col("sca_mode"))?;
    Ok(Organization {
        id: uuid(&get::<String>(row, &col("id"))?)?,
        slug: get(row, &col("slug"))?,
        legal_name: get(row, &col("legal_name"))?,
        locale: get(row, &col("locale"))?,
        timezone: get(row, &col("timezone"))?,
        country: get(row, &col("country"))?,
        sca_mode: ScaMode::parse(&sca).ok_or_else(|| corrupt(format!("sca mode {sca}")))?,
        clock_offset_seconds: get(row, &col("clock_offset_seconds"))?,
        created_at: timestamp(get(row, &col("created_at"))?)?,
    })
}

pub fn membership(row: &Row, p: &str) -> Result<Membership, Fail> {
    let col = |n: &str| format!("{p}_{n}");
    let role: String = get(row, &col("role"))?;
    let team: Option<String> = get(row, &col("team_id"))?;
    Ok(Membership {
        id: uuid(&get::<String>(row, &col("id"))?)?,
        organization_id: uuid(&get::<String>(row, &col("organization_id"))?)?,
        first_name: get(row, &col("first_name"))?,
        last_name: get(row, &col("last_name"))?,
        email: get(row, &col("email"))?,
        role: Role::parse(&role).ok_or_else(|| corrupt(format!("role {role}")))?,
        status: get(row, &col("status"))?,
        team_id: team.as_deref().map(uuid).transpose()?,
        locale: get(row, &col("locale"))?,
        created_at: timestamp(get(row, &col("created_at"))?)?,
    })
}

pub fn bank_account(row: &Row, p: &str) -> Result<BankAccount, Fail> {
    let col = |n: &str| format!("{p}_{n}");
    Ok(BankAccount {
        id: uuid(&get::<String>(row, &col("id"))?)?,
        organization_id: uuid(&get::<String>(row, &col("organization_id"))?)?,
        name: get(row, &col("name"))?,
        status: get(row, &col("status"))?,
        main: get(row, &col("main"))?,
        iban: get(row, &col("iban"))?,
        bic: get(row, &col("bic"))?,
        currency: get(row, &col("currency"))?,
        balance: Cents(get(row, &col("balance_cents"))?),
        authorized_balance: Cents(get(row, &col("authorized_balance_cents"))?),
        created_at: timestamp(get(row, &col("created_at"))?)?,
        updated_at: timestamp(get(row, &col("updated_at"))?)?,
    })
}

/// A credential row joined with its organization (`o`) and membership (`m`).
pub fn credential(row: &Row) -> Result<Credential, Fail> {
    let kind: String = get(row, "c_kind")?;
    let hash: Vec<u8> = get(row, "c_secret_hash")?;
    let scopes: String = get(row, "c_scopes")?;
    let expires: Option<i64> = get(row, "c_expires_at")?;
    let revoked: Option<i64> = get(row, "c_revoked_at")?;
    Ok(Credential {
        id: uuid(&get::<String>(row, "c_id")?)?,
        kind: CredentialKind::parse(&kind).ok_or_else(|| corrupt(format!("credential kind {kind}")))?,
        secret_hash: hash.try_into().map_err(|_| corrupt("secret hash length"))?,
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        expires_at: expires.map(timestamp).transpose()?,
        revoked_at: revoked.map(timestamp).transpose()?,
        grant_id: get::<Option<String>>(row, "c_grant_id")?.map(|id| uuid(&id)).transpose()?,
        organization: organization(row, "o")?.into(),
        membership: membership(row, "m")?.into(),
    })
}

pub fn stored_card(row: &Row) -> Result<StoredCard, Fail> {
    let id: &str = get(row, "c_id")?;
    let data: &str = get(row, "c_data")?;
    let card = card_from_document(uuid(id)?, data).map_err(corrupt)?;
    let team: Option<String> = get(row, "h_team_id")?;
    let holder = Holder {
        first_name: get(row, "h_first_name")?,
        last_name: get(row, "h_last_name")?,
        team_id: team.as_deref().map(uuid).transpose()?,
    };
    Ok(StoredCard::new(card, holder))
}

fn hash32(bytes: Vec<u8>) -> Result<[u8; 32], Fail> {
    bytes.try_into().map_err(|_| corrupt("hash length"))
}

pub fn sca_session(r: &Row) -> Result<ScaSession, Fail> {
    let result: String = get(r, "result")?;
    let consumed: Option<i64> = get(r, "consumed_at")?;
    Ok(ScaSession {
        token_hash: hash32(get(r, "token_hash")?)?,
        organization_id: uuid(&get::<String>(r, "organization_id")?)?,
        membership_id: uuid(&get::<String>(r, "membership_id")?)?,
        action_type: get(r, "action_type")?,
        request_hash: hash32(get(r, "request_hash")?)?,
        result: ScaResult::parse(&result).unwrap_or(ScaResult::Deny),
        created_at: timestamp(get(r, "created_at")?)?,
        expires_at: timestamp(get(r, "expires_at")?)?,
        consumed_at: consumed.map(timestamp).transpose()?,
    })
}

pub fn transaction_row(r: &Row) -> Result<Transaction, Fail> {
    let date = |name: &str| -> Result<Option<jiff::civil::Date>, Fail> {
        let text: Option<String> = get(r, name)?;
        text.map(|t| t.parse().map_err(corrupt)).transpose()
    };
    let status: String = get(r, "status")?;
    let settled_at: Option<i64> = get(r, "settled_at")?;
    let settled_balance: Option<i64> = get(r, "settled_balance_cents")?;
    Ok(Transaction {
        id: uuid(&get::<String>(r, "id")?)?,
        organization_id: uuid(&get::<String>(r, "organization_id")?)?,
        bank_account_id: uuid(&get::<String>(r, "bank_account_id")?)?,
        card_id: uuid(&get::<String>(r, "card_id")?)?,
        holder_id: uuid(&get::<String>(r, "holder_id")?)?,
        slug: get(r, "slug")?,
        amount: Cents(get(r, "amount_cents")?),
        currency: get(r, "currency")?,
        side: get(r, "side")?,
        operation_type: get(r, "operation_type")?,
        status: TransactionStatus::parse(&status).unwrap_or(TransactionStatus::Declined),
        decline_reason: get(r, "decline_reason")?,
        label: get(r, "label")?,
        category: get(r, "category")?,
        merchant_country: get(r, "merchant_country")?,
        channel: get(r, "channel")?,
        counted_day: date("counted_day")?,
        counted_month: date("counted_month")?,
        card_last_digits: get(r, "card_last_digits")?,
        emitted_at: timestamp(get(r, "emitted_at")?)?,
        settled_at: settled_at.map(timestamp).transpose()?,
        settled_balance: settled_balance.map(Cents),
        created_at: timestamp(get(r, "created_at")?)?,
        updated_at: timestamp(get(r, "updated_at")?)?,
        attachment_ids: cardinal_store::ids_of_column(&get::<String>(r, "attachment_ids")?).map_err(corrupt)?,
        label_ids: cardinal_store::ids_of_column(&get::<String>(r, "label_ids")?).map_err(corrupt)?,
    })
}

pub fn audit_event(r: &Row) -> Result<AuditEvent, Fail> {
    let actor_type: String = get(r, "actor_type")?;
    let actor_id: Option<String> = get(r, "actor_id")?;
    let from: Option<String> = get(r, "from_status")?;
    let to: String = get(r, "to_status")?;
    let changes: String = get(r, "changes")?;
    let status = |s: &str| Status::parse(s).ok_or_else(|| corrupt(format!("status {s}")));
    Ok(AuditEvent {
        id: uuid(&get::<String>(r, "id")?)?,
        card_id: uuid(&get::<String>(r, "card_id")?)?,
        action: get(r, "action")?,
        actor: Actor {
            kind: ActorKind::parse(&actor_type).unwrap_or(ActorKind::System),
            id: actor_id.as_deref().map(uuid).transpose()?,
        },
        from_status: from.as_deref().map(status).transpose()?,
        to_status: status(&to)?,
        changes: serde_json::from_str(&changes).unwrap_or(serde_json::Value::Null),
        request_id: get(r, "request_id")?,
        at: timestamp(get(r, "at")?)?,
    })
}
