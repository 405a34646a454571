//! Query strings the way Qonto clients send them (spec §1.5): `name[]=a&name[]=b`, the same
//! percent-encoded (`name%5B%5D=a`), or repeated `name=a&name=b`, plus page/per_page.

use crate::http::error::{ApiError, ApiResult};
use cardinal_store::PageRequest;
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Default)]
pub struct Params {
    values: HashMap<String, Vec<String>>,
}

impl Params {
    pub fn parse(query: Option<&str>) -> Params {
        let mut values: HashMap<String, Vec<String>> = HashMap::new();
        for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let name = key.strip_suffix("[]").unwrap_or(&key).to_owned();
            values.entry(name).or_default().push(value.into_owned());
        }
        Params { values }
    }

    /// A single-valued parameter (the last one wins if repeated). An empty value (`side=`) is
    /// a value: where the parameter takes ids, numbers or names it is refused like any other
    /// that is not one, as the OpenAPI document says.
    pub fn one(&self, name: &str) -> Option<&str> {
        self.values.get(name).and_then(|v| v.last()).map(String::as_str)
    }

    /// Every value of an array parameter.
    pub fn many(&self, name: &str) -> Vec<&str> {
        self.values.get(name).map(|v| v.iter().map(String::as_str).collect()).unwrap_or_default()
    }

    /// Parses each value of an array parameter; an unknown value is `not_in_list`.
    pub fn many_in_list<T>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Option<T>,
        allowed: &[&str],
    ) -> ApiResult<Vec<T>> {
        self.many(name)
            .into_iter()
            .map(|v| {
                parse(v).ok_or_else(|| {
                    ApiError::parameter(
                        "not_in_list",
                        format!("{name}[]"),
                        format!("{name}[] value {v:?} is not one of: {}", allowed.join(", ")),
                    )
                })
            })
            .collect()
    }

    pub fn many_uuids(&self, name: &str) -> ApiResult<Vec<Uuid>> {
        self.many(name)
            .into_iter()
            .map(|v| {
                Uuid::parse_str(v).map_err(|_| {
                    ApiError::parameter(
                        "invalid",
                        format!("{name}[]"),
                        format!("{name}[] value {v:?} is not a valid id"),
                    )
                })
            })
            .collect()
    }

    /// `page` (≥ 1, default 1) and `per_page` (1..=100, default 100).
    pub fn page(&self) -> ApiResult<PageRequest> {
        let page = self.bounded("page", 1, 1, u32::MAX)?;
        let per_page = self.bounded("per_page", 100, 1, 100)?;
        Ok(PageRequest { page, per_page })
    }

    /// An optional integer in `min..=max`.
    pub fn optional_bounded(&self, name: &str, min: u32, max: u32) -> ApiResult<Option<u32>> {
        match self.one(name) {
            None => Ok(None),
            Some(_) => self.bounded(name, min, min, max).map(Some),
        }
    }

    fn bounded(&self, name: &str, default: u32, min: u32, max: u32) -> ApiResult<u32> {
        let Some(raw) = self.one(name) else { return Ok(default) };
        let value: u64 = raw
            .trim()
            .parse()
            .map_err(|_| ApiError::parameter("invalid", name, format!("{name} must be an integer, got {raw:?}")))?;
        if value < u64::from(min) || value > u64::from(max) {
            return Err(ApiError::parameter("invalid", name, format!("{name} must be between {min} and {max}")));
        }
        Ok(value as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_array_spelling() {
        for q in [
            "statuses[]=live&statuses[]=paused",
            "statuses%5B%5D=live&statuses%5B%5D=paused",
            "statuses=live&statuses=paused",
        ] {
            assert_eq!(Params::parse(Some(q)).many("statuses"), vec!["live", "paused"], "{q}");
        }
    }

    #[test]
    fn pagination_defaults_and_bounds() {
        assert_eq!(Params::parse(None).page().unwrap(), PageRequest { page: 1, per_page: 100 });
        assert_eq!(Params::parse(Some("page=3&per_page=7")).page().unwrap(), PageRequest { page: 3, per_page: 7 });
        let err = Params::parse(Some("page=4294967296")).page().unwrap_err();
        assert_eq!(err.errors[0].detail, "page must be between 1 and 4294967295");
        for bad in ["page=0", "per_page=101", "per_page=0", "page=x", "page=-1", "page=1.5"] {
            let err = Params::parse(Some(bad)).page().unwrap_err();
            assert_eq!(err.status.as_u16(), 422, "{bad}");
        }
    }
}
