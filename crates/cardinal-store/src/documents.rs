//! Card documents parsed once per version.
//!
//! A card is stored as a JSON document, and parsing it was the largest cost of reading cards:
//! most of a page of 100 cards' time, and a fifth of each write's (every change first loads
//! the card). Parsing is a pure function of the text, so the result is kept per card with the
//! exact text it came from, and reused only when a row's text is byte for byte the same:
//! nothing to invalidate, and a changed card simply parses again. Memory is bounded: past
//! [`MAX_ENTRIES`] cards a new one takes the place of one already there.

use crate::bounded::insert_bounded;
use cardinal_domain::Card;
use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};
use uuid::Uuid;

const MAX_ENTRIES: usize = 20_000;

struct Parsed {
    text: Box<str>,
    card: Card,
}

static PARSED: LazyLock<RwLock<HashMap<Uuid, Parsed>>> = LazyLock::new(Default::default);

/// The card whose stored document (in the `data` column) is `text`; `id` is the row's key.
pub fn card_from_document(id: Uuid, text: &str) -> serde_json::Result<Card> {
    if let Some(card) = parsed_earlier(id, text) {
        return Ok(card);
    }
    let card: Card = serde_json::from_str(text)?;
    remember(id, text, &card);
    Ok(card)
}

/// The document to store for `card`. It is remembered as parsed: the next read of the row
/// (a change loads the card it last saved) finds it without parsing. Written by
/// `cardinal_json`, serde_json's text at a fraction of its cost: every change of a card
/// writes its document.
pub fn document_of(card: &Card) -> Result<String, cardinal_json::Error> {
    let text = cardinal_json::to_string(card)?;
    remember(card.id, &text, card);
    Ok(text)
}

fn remember(id: Uuid, text: &str, card: &Card) {
    if let Ok(mut map) = PARSED.write() {
        insert_bounded(&mut map, MAX_ENTRIES, id, Parsed { text: text.into(), card: card.clone() });
    }
}

fn parsed_earlier(id: Uuid, text: &str) -> Option<Card> {
    let map = PARSED.read().ok()?;
    let entry = map.get(&id)?;
    (*entry.text == *text).then(|| entry.card.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cardinal_domain::issuing::Blueprint;

    fn sample(id: Uuid) -> Card {
        let now = jiff::Timestamp::from_second(1_700_000_000).unwrap();
        Card::issue(Blueprint { id, ..Blueprint::example() }, now, &jiff::tz::TimeZone::UTC)
    }

    #[test]
    fn a_document_parses_to_the_same_card_whether_seen_before_or_not() {
        let id = Uuid::new_v4();
        let card = sample(id);
        let text = serde_json::to_string(&card).unwrap();
        assert_eq!(card_from_document(id, &text).unwrap(), card);
        assert_eq!(card_from_document(id, &text).unwrap(), card, "from the memo");

        let mut renamed = card.clone();
        renamed.nickname = "Renamed".into();
        let changed = serde_json::to_string(&renamed).unwrap();
        assert_eq!(card_from_document(id, &changed).unwrap(), renamed, "a new text is parsed again");
        assert_eq!(card_from_document(id, &text).unwrap(), card, "and the old one still answers itself");
    }

    #[test]
    fn a_stored_document_reads_back_as_the_card_it_was_made_of() {
        let mut card = sample(Uuid::new_v4());
        let first = document_of(&card).unwrap();
        card.nickname = "Saved".into();
        let second = document_of(&card).unwrap();
        assert_eq!(card_from_document(card.id, &second).unwrap(), card);
        assert_eq!(card_from_document(card.id, &first).unwrap().nickname, sample(card.id).nickname);
    }

    #[test]
    fn a_corrupt_document_is_an_error_not_an_old_card() {
        let id = Uuid::new_v4();
        let text = serde_json::to_string(&sample(id)).unwrap();
        card_from_document(id, &text).unwrap();
        assert!(card_from_document(id, &text[..text.len() - 1]).is_err());
    }
}
