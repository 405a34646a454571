//! Qonto's lists: `page` and `per_page` in, the items and `meta` out; as one page, or as a
//! stream that fetches the next page when the last item of this one is read.

use crate::transport::Call;
use crate::wire::Meta;
use crate::{Client, Result};
use futures_util::stream::{self, Stream};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// One page of a list.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub meta: Meta,
}

impl<T: DeserializeOwned> Page<T> {
    /// The page in a list's answer, whose items are under `key`.
    pub(crate) fn of(mut body: Value, key: &str) -> Result<Page<T>> {
        Ok(Page { items: take(&mut body, key)?, meta: take(&mut body, "meta")? })
    }
}

fn take<V: DeserializeOwned>(body: &mut Value, key: &str) -> Result<V> {
    let value = body.get_mut(key).map(Value::take).unwrap_or_default();
    serde_json::from_value(value).map_err(|e| crate::Error::Decode { status: 200, detail: format!("{key}: {e}") })
}

/// A list's query: Qonto's filters as they are named (`statuses[]`, `card_levels[]`,
/// `sort_by`, `updated_at_from`, …), and the page.
#[derive(Debug, Clone, Default)]
pub struct Query {
    params: Vec<(String, String)>,
    page: Option<u32>,
    per_page: Option<u32>,
}

impl Query {
    pub fn new() -> Query {
        Query::default()
    }

    /// One more parameter; a list (`statuses[]`) is the same name given again.
    pub fn with(mut self, name: impl Into<String>, value: impl ToString) -> Query {
        self.params.push((name.into(), value.to_string()));
        self
    }

    pub fn page(mut self, page: u32) -> Query {
        self.page = Some(page);
        self
    }

    /// 1 to 100 (Qonto's default and most: 100).
    pub fn per_page(mut self, per_page: u32) -> Query {
        self.per_page = Some(per_page);
        self
    }

    pub(crate) fn pairs(&self) -> Vec<(String, String)> {
        let mut pairs = self.params.clone();
        pairs.extend(self.page.map(|p| ("page".to_owned(), p.to_string())));
        pairs.extend(self.per_page.map(|p| ("per_page".to_owned(), p.to_string())));
        pairs
    }
}

impl Client {
    /// One page of the list at `path`, whose items are under `key`.
    pub(crate) async fn page<T: DeserializeOwned>(&self, path: &str, key: &str, query: &Query) -> Result<Page<T>> {
        let body: Value = self.transport().send(&Call::get(path).query(query.pairs())).await?.json()?;
        Page::of(body, key)
    }

    /// Every item of the list at `path`, page after page, from the query's page on.
    pub(crate) fn stream<'a, T: DeserializeOwned + 'a>(
        &'a self,
        path: &'a str,
        key: &'a str,
        query: Query,
    ) -> impl Stream<Item = Result<T>> + 'a {
        let first = query.page.unwrap_or(1);
        let state = (Some(first), Vec::<T>::new().into_iter(), query);
        stream::try_unfold(state, move |(mut next, mut items, query)| async move {
            loop {
                if let Some(item) = items.next() {
                    return Ok(Some((item, (next, items, query))));
                }
                let Some(page) = next else { return Ok(None) };
                let fetched: Page<T> = self.page(path, key, &query.clone().page(page)).await?;
                next = fetched.meta.next_page;
                items = fetched.items.into_iter();
            }
        })
    }
}
