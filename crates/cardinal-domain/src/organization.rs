//! The organization's legal identity as `GET /v2/organization` shows it
//! (`qonto-reference.md` §8.2): sandbox defaults, and what the control API changes of them.

use jiff::civil::Date;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LegalProfile {
    /// ISO 3166 alpha-2, upper case.
    pub country: String,
    pub form: String,
    pub address: String,
    /// The activity code (a French NAF code).
    pub sector: String,
    /// The registration number (a French SIREN: nine digits, the last a Luhn check).
    pub number: String,
    pub share_capital: f64,
    pub registration_date: Date,
    pub contract_signed_at: Timestamp,
}

impl LegalProfile {
    /// A sandbox organization's: plausible for its country, the same at every read (its number
    /// comes from its id), registered and signed the day it was created.
    pub fn sandbox_default(id: Uuid, country: &str, created_on: Date, created_at: Timestamp) -> LegalProfile {
        let country = country.to_uppercase();
        let (form, address) = match country.as_str() {
            "FR" => ("SAS", "18 rue de Navarin, 75009 Paris, France"),
            "DE" => ("GmbH", "Friedrichstraße 68, 10117 Berlin, Germany"),
            "IT" => ("S.r.l.", "Via Alessandro Manzoni 38, 20121 Milano, Italy"),
            "ES" => ("S.L.", "Calle de Alcalá 21, 28014 Madrid, Spain"),
            _ => ("Ltd", "1 Sandbox Street, Sandbox City"),
        };
        let mut number: String = id.as_bytes().iter().take(8).map(|b| char::from(b'0' + b % 10)).collect();
        number.push(char::from(b'0' + crate::luhn::luhn_check_digit(&number)));
        LegalProfile {
            country,
            form: form.into(),
            address: address.into(),
            sector: "6201Z".into(),
            number,
            share_capital: 10_000.0,
            registration_date: created_on,
            contract_signed_at: created_at,
        }
    }

    /// The profile with `change`'s fields in place of its own.
    pub fn changed(mut self, change: LegalChange) -> LegalProfile {
        let LegalChange {
            country,
            form,
            address,
            sector,
            number,
            share_capital,
            registration_date,
            contract_signed_at,
        } = change;
        if let Some(country) = country {
            self.country = country.to_uppercase();
        }
        self.form = form.unwrap_or(self.form);
        self.address = address.unwrap_or(self.address);
        self.sector = sector.unwrap_or(self.sector);
        self.number = number.unwrap_or(self.number);
        self.share_capital = share_capital.unwrap_or(self.share_capital);
        self.registration_date = registration_date.unwrap_or(self.registration_date);
        self.contract_signed_at = contract_signed_at.unwrap_or(self.contract_signed_at);
        self
    }
}

/// What the control API sets; a field left out keeps its value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LegalChange {
    pub country: Option<String>,
    pub form: Option<String>,
    pub address: Option<String>,
    pub sector: Option<String>,
    pub number: Option<String>,
    pub share_capital: Option<f64>,
    pub registration_date: Option<Date>,
    pub contract_signed_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_keeps_what_it_leaves_out() {
        let at: Timestamp = "2026-01-15T10:00:00Z".parse().unwrap();
        let base = LegalProfile::sandbox_default(Uuid::nil(), "fr", jiff::civil::date(2026, 1, 15), at);
        assert_eq!((base.country.as_str(), base.number.len()), ("FR", 9));
        let changed = base.clone().changed(LegalChange {
            form: Some("SARL".into()),
            country: Some("be".into()),
            ..LegalChange::default()
        });
        assert_eq!((changed.form.as_str(), changed.country.as_str()), ("SARL", "BE"));
        assert_eq!(changed.address, base.address);
    }
}
