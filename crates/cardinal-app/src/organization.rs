//! The organization's legal identity (`qonto-reference.md` §8.2): sandbox defaults from its
//! country and id until the control API sets some of it, kept as a document beside it.

use crate::App;
use cardinal_domain::organization::{LegalChange, LegalProfile};
use cardinal_domain::{DomainError, FieldIssue};
use cardinal_store::{Organization, StoreError, StoreResult};
use uuid::Uuid;

/// The longest text field.
const TEXT_MAX: usize = 200;

/// What `GET /v2/organization` shows of `organization`.
pub async fn legal_profile(app: &App, organization: &Organization) -> StoreResult<LegalProfile> {
    match app.store.legal_profile(organization.id).await? {
        Some(document) => serde_json::from_str(&document)
            .map_err(|e| StoreError::Backend(format!("a stored legal profile is unreadable: {e}"))),
        None => Ok(default_of(organization)),
    }
}

/// Sets what `change` names of organization `id`'s legal identity (the control API's).
pub async fn set_legal_profile(app: &App, id: Uuid, change: LegalChange) -> StoreResult<(Organization, LegalProfile)> {
    check(&change)?;
    let organization = app.store.organization(id).await?.ok_or(DomainError::Missing("organization"))?;
    let profile = legal_profile(app, &organization).await?.changed(change);
    let document = serde_json::to_string(&profile).map_err(|e| StoreError::Backend(e.to_string()))?;
    match app.store.set_legal_profile(id, document).await? {
        true => Ok((organization, profile)),
        false => Err(DomainError::Missing("organization").into()),
    }
}

fn default_of(o: &Organization) -> LegalProfile {
    LegalProfile::sandbox_default(o.id, &o.country, o.created_at.to_zoned(o.time_zone()).date(), o.created_at)
}

fn check(change: &LegalChange) -> Result<(), DomainError> {
    let mut issues = Vec::new();
    if let Some(country) = &change.country {
        if country.len() != 2 || !country.chars().all(|c| c.is_ascii_alphabetic()) {
            issues.push(FieldIssue::invalid("/legal_country", "legal_country must be an ISO 3166 alpha-2 code"));
        }
    }
    for (pointer, text) in [
        ("/legal_form", &change.form),
        ("/legal_address", &change.address),
        ("/legal_sector", &change.sector),
        ("/legal_number", &change.number),
    ] {
        if text.as_ref().is_some_and(|t| t.trim().is_empty() || t.chars().count() > TEXT_MAX) {
            issues.push(FieldIssue::invalid(pointer, format!("must be 1 to {TEXT_MAX} characters")));
        }
    }
    if change.share_capital.is_some_and(|c| !c.is_finite() || c < 0.0) {
        issues.push(FieldIssue::invalid("/legal_share_capital", "legal_share_capital must be zero or more"));
    }
    DomainError::check(issues)
}
