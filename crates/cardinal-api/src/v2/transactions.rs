//! `GET /v2/transactions` and `GET /v2/transactions/{id}` (spec §6.3): card transactions of
//! one bank account, with Qonto's filters, sorting and pagination; employees see only their
//! own cards' transactions, managers also their team's.

use crate::app::transactions::Embedded;
use crate::http::auth::Principal;
use crate::http::error::{ApiError, ApiResult};
use crate::http::json::Json;
use crate::http::params::Params;
use crate::v2::attachments;
use crate::wire::answers::{TransactionEnvelope, TransactionList};
use crate::wire::attachments::LabelBody;
use crate::wire::{Meta, TransactionBody, VatDetails};
use crate::AppState;
use axum::extract::{Path, RawQuery, State};
use cardinal_store::staleness::may_be_stale;
use cardinal_store::{TimeRange, TransactionQuery, TransactionSortField, TransactionStatus};
use jiff::Timestamp;
use uuid::Uuid;

pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<TransactionList>> {
    let params = Params::parse(query.as_deref());
    let bank_account_id = account_of(&state, &principal, &params).await?;
    let statuses = statuses(&params)?;
    let side = params.one("side").map(str::to_owned);
    if let Some(side) = &side {
        if !SIDES.contains(&side.as_str()) {
            return Err(ApiError::parameter("not_in_list", "side", "side must be credit or debit"));
        }
    }
    let (sort, descending) = sort(params.one("sort_by"))?;
    let includes = Includes::of(&params)?;
    let with_attachments = with_attachments(&params)?;
    let page = params.page()?;
    let q = TransactionQuery {
        card_id: None,
        organization_id: principal.organization.id,
        bank_account_id,
        visibility: principal.card_visibility(),
        statuses,
        side,
        operation_types: params.many("operation_type").into_iter().map(str::to_owned).collect(),
        settled_at: range(&params, "settled_at")?,
        updated_at: range(&params, "updated_at")?,
        emitted_at: range(&params, "emitted_at")?,
        created_at: range(&params, "created_at")?,
        with_attachments,
        sort,
        descending,
        page,
        counted: true,
    };
    // A list and a show write nothing: a read replica may serve them (--read-database).
    let (found, embedded) = may_be_stale(crate::app::transactions::list(&state.app, &q, includes.embeds())).await?;
    let now = principal.organization.now();
    let transactions: Vec<TransactionBody> =
        found.items.iter().map(|t| includes.render(&state, t, &embedded, now)).collect();
    Ok(Json(TransactionList { transactions, meta: Meta::of(&found, page) }))
}

pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<TransactionEnvelope>> {
    let includes = Includes::of(&Params::parse(query.as_deref()))?;
    let id = Uuid::parse_str(&raw).map_err(|_| ApiError::not_found("transaction"))?;
    let organization = &principal.organization;
    let member = principal.member();
    let transaction = may_be_stale(crate::app::transactions::visible(&state.app, organization, &member, id)).await?;
    let embedded = crate::app::transactions::embedded(
        &state.app,
        organization.id,
        std::slice::from_ref(&transaction),
        includes.embeds(),
    )
    .await?;
    Ok(Json(TransactionEnvelope { transaction: includes.render(&state, &transaction, &embedded, organization.now()) }))
}

/// `bank_account_id` or `iban` is required; either must name one of the caller's accounts.
async fn account_of(state: &AppState, principal: &Principal, params: &Params) -> ApiResult<Uuid> {
    let org = principal.organization.id;
    if let Some(raw) = params.one("bank_account_id") {
        let unknown =
            || ApiError::parameter("invalid", "bank_account_id", "bank_account_id is not one of your accounts");
        let id = Uuid::parse_str(raw).map_err(|_| unknown())?;
        return state.store.bank_account(org, id).await?.map(|a| a.id).ok_or_else(unknown);
    }
    if let Some(iban) = params.one("iban") {
        let wanted: String = iban.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
        let accounts = state.store.bank_accounts(org, cardinal_store::PageRequest { page: 1, per_page: 100 }).await?;
        return accounts
            .items
            .iter()
            .find(|a| a.iban == wanted)
            .map(|a| a.id)
            .ok_or_else(|| ApiError::parameter("invalid", "iban", "iban is not one of your accounts"));
    }
    Err(ApiError::parameter("required", "bank_account_id", "bank_account_id or iban is required"))
}

/// `status[]`: `pending`, `declined` (reversed ones included), `completed`.
fn statuses(params: &Params) -> ApiResult<Vec<TransactionStatus>> {
    let mut statuses = Vec::new();
    for value in params.many("status") {
        match value {
            "pending" => statuses.push(TransactionStatus::Pending),
            "completed" => statuses.push(TransactionStatus::Completed),
            "declined" => statuses.extend([TransactionStatus::Declined, TransactionStatus::Reversed]),
            other => {
                return Err(ApiError::parameter(
                    "not_in_list",
                    "status[]",
                    format!("status[] value {other:?} is not one of: {}", STATUSES.join(", ")),
                ))
            }
        }
    }
    Ok(statuses)
}

/// Every `sort_by` value [`sort`] takes (a field alone sorts descending), for the OpenAPI document.
pub const SORTS: [&str; 12] = [
    "settled_at",
    "settled_at:asc",
    "settled_at:desc",
    "updated_at",
    "updated_at:asc",
    "updated_at:desc",
    "emitted_at",
    "emitted_at:asc",
    "emitted_at:desc",
    "created_at",
    "created_at:asc",
    "created_at:desc",
];

fn sort(raw: Option<&str>) -> ApiResult<(TransactionSortField, bool)> {
    let Some(raw) = raw else { return Ok((TransactionSortField::SettledAt, true)) };
    let (field, direction) = raw.split_once(':').unwrap_or((raw, "desc"));
    let bad = || {
        ApiError::parameter(
            "not_in_list",
            "sort_by",
            "sort_by must be settled_at, updated_at, emitted_at or created_at, then :asc or :desc",
        )
    };
    let field = match field {
        "settled_at" => TransactionSortField::SettledAt,
        "updated_at" => TransactionSortField::UpdatedAt,
        "emitted_at" => TransactionSortField::EmittedAt,
        "created_at" => TransactionSortField::CreatedAt,
        _ => return Err(bad()),
    };
    let descending = match direction {
        "asc" => false,
        "desc" => true,
        _ => return Err(bad()),
    };
    Ok((field, descending))
}

/// `<name>_from` / `<name>_to`, inclusive: an RFC 3339 timestamp, or a `YYYY-MM-DD` date
/// meaning that whole day in UTC (from its first second, to its last).
pub(crate) fn range(params: &Params, name: &str) -> ApiResult<TimeRange> {
    let read = |suffix: &str, day_end: bool| -> ApiResult<Option<Timestamp>> {
        let key = format!("{name}_{suffix}");
        let Some(raw) = params.one(&key) else { return Ok(None) };
        bound(raw, day_end).map(Some).ok_or_else(|| {
            ApiError::parameter(
                "invalid",
                key.clone(),
                format!("{key} must be a date (2026-12-02) or an RFC 3339 timestamp (2026-12-02T10:00:00Z)"),
            )
        })
    };
    Ok(TimeRange { from: read("from", false)?, to: read("to", true)? })
}

fn bound(raw: &str, day_end: bool) -> Option<Timestamp> {
    if let Ok(at) = raw.parse::<Timestamp>() {
        return Some(at);
    }
    let day: jiff::civil::Date = raw.parse().ok()?;
    let time = if day_end { jiff::civil::time(23, 59, 59, 999_999_999) } else { jiff::civil::Time::midnight() };
    day.to_datetime(time).to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp())
}

/// `with_attachments=true|false`.
fn with_attachments(params: &Params) -> ApiResult<Option<bool>> {
    match params.one("with_attachments") {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => Err(ApiError::parameter("invalid", "with_attachments", "with_attachments must be true or false")),
    }
}

/// What `side` and `status[]` take (the OpenAPI document lists the same).
pub const SIDES: [&str; 2] = ["credit", "debit"];
pub const STATUSES: [&str; 3] = ["pending", "declined", "completed"];

pub const INCLUDES: [&str; 3] = ["labels", "attachments", "vat_details"];

/// `includes[]`: the related objects Qonto adds to a transaction on request.
#[derive(Debug, Default, Clone, Copy)]
struct Includes {
    labels: bool,
    attachments: bool,
    vat_details: bool,
}

impl Includes {
    fn of(params: &Params) -> ApiResult<Includes> {
        let mut includes = Includes::default();
        for name in params.many("includes") {
            match name {
                "labels" => includes.labels = true,
                "attachments" => includes.attachments = true,
                "vat_details" => includes.vat_details = true,
                other => {
                    return Err(ApiError::parameter(
                        "not_in_list",
                        "includes[]",
                        format!("includes[] value {other:?} is not one of: {}", INCLUDES.join(", ")),
                    ))
                }
            }
        }
        Ok(includes)
    }

    fn embeds(self) -> crate::app::transactions::Includes {
        crate::app::transactions::Includes { attachments: self.attachments, labels: self.labels }
    }

    /// The transaction with the included keys (download links made at `now`).
    fn render(
        self,
        state: &AppState,
        t: &cardinal_store::Transaction,
        embedded: &Embedded,
        now: Timestamp,
    ) -> TransactionBody {
        let attachments = || embedded.attachments_of(t).into_iter().map(|a| attachments::body(state, a, now)).collect();
        TransactionBody {
            labels: self.labels.then(|| embedded.labels_of(t).into_iter().map(LabelBody::from).collect()),
            attachments: self.attachments.then(attachments),
            vat_details: self.vat_details.then(VatDetails::default),
            ..TransactionBody::from(t)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_cover_their_whole_day_in_utc() {
        assert_eq!(bound("2026-12-02", false), Some("2026-12-02T00:00:00Z".parse().unwrap()));
        assert_eq!(bound("2026-12-02", true), Some("2026-12-02T23:59:59.999999999Z".parse().unwrap()));
        assert_eq!(bound("2026-12-02T10:00:00+01:00", true), Some("2026-12-02T09:00:00Z".parse().unwrap()));
        assert_eq!(bound("02/12/2026", false), None);
    }
}
