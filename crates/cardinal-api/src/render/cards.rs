//! Card documents rendered once and served again while nothing they show has changed.
//!
//! A card's JSON is a pure function of the stored card, of what the clock shows of it (its
//! status and the spent amounts of the current windows: [`wire::CardView`]) and of the
//! server's public URL. An entry keeps the inputs it was rendered from and is used only when
//! the request's inputs are equal, so a hit answers exactly what rendering would: no
//! invalidation to get wrong, and a change of day or an expiry simply misses.

use crate::wire::{self, CardView, Links};
use axum::body::Bytes;
use cardinal_json::Error as JsonError;
use cardinal_store::bounded::insert_bounded;
use cardinal_store::StoredCard;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use uuid::Uuid;

/// The map holds at most this many cards: a new one then takes the place of one already
/// there (`cardinal_store::bounded::insert_bounded`).
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct RenderedCards(RwLock<HashMap<Uuid, Rendered>>);

struct Rendered {
    /// Shared with the store's cache: the card a request brings is most often this very one.
    stored: Arc<StoredCard>,
    view: CardView,
    body: Bytes,
}

#[derive(Serialize)]
struct CardBody<'a> {
    card: &'a wire::Card,
}

/// `{"card":` before the card's own document in a rendered body, and `}` after it.
const CARD_BODY_OPENING: usize = br#"{"card":"#.len();

impl RenderedCards {
    /// `{"card": …}` for `stored` as `view` shows it.
    pub fn card_body(&self, stored: &Arc<StoredCard>, view: CardView, links: Links) -> Result<Bytes, JsonError> {
        if let Some(hit) = self.rendered(stored, view) {
            return Ok(hit);
        }
        let card = wire::Card::in_view(stored, view, links);
        let body = Bytes::from(cardinal_json::to_vec(&CardBody { card: &card })?);
        if let Ok(mut map) = self.0.write() {
            let entry = Rendered { stored: stored.clone(), view, body: body.clone() };
            insert_bounded(&mut map, MAX_ENTRIES, stored.card.id, entry);
        }
        Ok(body)
    }

    /// The card's own document, as it appears inside `{"card": …}` and in lists: the same
    /// rendering, sliced out without a copy.
    pub fn card_document(&self, stored: &Arc<StoredCard>, view: CardView, links: Links) -> Result<Bytes, JsonError> {
        let body = self.card_body(stored, view, links)?;
        Ok(body.slice(CARD_BODY_OPENING..body.len() - 1))
    }

    /// `{"cards": […], "meta": …}`: a page of cards, each as [`Self::card_document`] renders it,
    /// exactly as serializing the list would.
    pub fn card_list_body<'a>(
        &self,
        cards: impl IntoIterator<Item = (&'a Arc<StoredCard>, CardView)>,
        meta: &wire::Meta,
        links: Links,
    ) -> Result<Bytes, JsonError> {
        let documents = cards
            .into_iter()
            .map(|(stored, view)| self.card_document(stored, view, links))
            .collect::<Result<Vec<Bytes>, _>>()?;
        // Sized once: growing a buffer of 100 cards by doubling copied it several times.
        let mut out = Vec::with_capacity(documents.iter().map(|d| d.len() + 1).sum::<usize>() + 256);
        out.extend_from_slice(br#"{"cards":["#);
        for (index, document) in documents.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            out.extend_from_slice(document);
        }
        out.extend_from_slice(br#"],"meta":"#);
        cardinal_json::write(&mut out, meta)?;
        out.push(b'}');
        Ok(out.into())
    }

    /// The body rendered earlier from exactly these inputs, if any.
    fn rendered(&self, stored: &Arc<StoredCard>, view: CardView) -> Option<Bytes> {
        let map = self.0.read().ok()?;
        let entry = map.get(&stored.card.id)?;
        // The same allocation holds the same card (a cached card is never changed in place):
        // then there is nothing to compare.
        let same = Arc::ptr_eq(&entry.stored, stored) || entry.stored == *stored;
        (entry.view == view && same).then(|| entry.body.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cardinal_domain::issuing::Blueprint;
    use jiff::tz::TimeZone;
    use jiff::Timestamp;

    fn stored() -> Arc<StoredCard> {
        let now = Timestamp::from_second(1_700_000_000).unwrap();
        let card = cardinal_domain::Card::issue(Blueprint::example(), now, &TimeZone::UTC);
        Arc::new(StoredCard::new(card, Default::default()))
    }

    fn rendered_fresh(stored: &Arc<StoredCard>, view: CardView) -> Bytes {
        RenderedCards::default().card_body(stored, view, Links { public_url: "http://x" }).unwrap()
    }

    #[test]
    fn a_hit_answers_what_rendering_would() {
        let cache = RenderedCards::default();
        let links = Links { public_url: "http://x" };
        let mut card = stored();
        let now = card.card.created_at;
        let view = CardView::at(&card.card, now, &TimeZone::UTC);
        assert_eq!(cache.card_body(&card, view, links).unwrap(), rendered_fresh(&card, view));
        assert_eq!(cache.card_body(&card, view, links).unwrap(), rendered_fresh(&card, view), "served from the cache");

        Arc::make_mut(&mut card).card.nickname = "Travel".into();
        let changed = cache.card_body(&card, view, links).unwrap();
        assert_eq!(changed, rendered_fresh(&card, view), "a changed card is rendered again");
        assert!(String::from_utf8_lossy(&changed).contains("Travel"));

        let expired = CardView::at(&card.card, card.card.expires_at, &TimeZone::UTC);
        let later = cache.card_body(&card, expired, links).unwrap();
        assert!(String::from_utf8_lossy(&later).contains(r#""status":"expired""#), "the clock is an input");
    }

    #[test]
    fn a_list_body_is_what_serializing_the_list_gives() {
        let cache = RenderedCards::default();
        let links = Links { public_url: "http://x" };
        let cards = [stored(), stored(), stored()];
        let now = cards[0].card.created_at;
        let views: Vec<CardView> = cards.iter().map(|c| CardView::at(&c.card, now, &TimeZone::UTC)).collect();
        cache.card_body(&cards[1], views[1], links).unwrap(); // one of them already rendered
        let page = cardinal_store::Page { items: vec![(); 3], total: 7 };
        let meta = wire::Meta::of(&page, cardinal_store::PageRequest { page: 1, per_page: 3 });
        let body = cache.card_list_body(cards.iter().zip(views.iter().copied()), &meta, links).unwrap();

        // The type the OpenAPI document derives `GET /v2/cards`'s answer from.
        let cards = cards.iter().zip(&views).map(|(c, v)| wire::Card::in_view(c, *v, links)).collect();
        let same_meta = wire::Meta::of(&page, cardinal_store::PageRequest { page: 1, per_page: 3 });
        let expected = serde_json::to_vec(&wire::answers::CardList { cards, meta: same_meta }).unwrap();
        assert_eq!(String::from_utf8_lossy(&body), String::from_utf8_lossy(&expected), "byte for byte");

        let empty = cache.card_list_body([], &meta, links).unwrap();
        assert!(empty.starts_with(br#"{"cards":[],"meta":{"#));
    }
}
