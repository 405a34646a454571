//! The one bound every in-memory cache of derived values uses.

use std::collections::HashMap;
use std::hash::Hash;

/// Inserts into a map that holds at most `max` entries. A new key in a full map takes the
/// place of one entry already there: the first in the map's own order, which follows the
/// keys' hashes (seeded at random per map), not their use. Simpler than tracking recency, and
/// each cache holds values that are cheap to derive again (a read, a parse, a rendering). A
/// key already there is replaced and evicts nothing.
///
/// The map used to be emptied whenever it was full. With as many active cards as the map
/// holds (10,000 in the benchmarks), every change of a card then emptied it, and each card
/// read after that was a miss until it was read again.
pub fn insert_bounded<K: Eq + Hash, V>(map: &mut HashMap<K, V>, max: usize, key: K, value: V) {
    if map.len() >= max && !map.contains_key(&key) {
        let surplus = map.len() + 1 - max.max(1);
        // Dropping the iterator keeps every entry it did not yield.
        map.extract_if(|_, _| true).take(surplus).for_each(drop);
    }
    map.insert(key, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_map_makes_room_for_a_new_key_by_one_entry_and_replaces_a_known_one_in_place() {
        let mut map = HashMap::new();
        for key in 0..100 {
            insert_bounded(&mut map, 100, key, key);
        }
        assert_eq!(map.len(), 100);
        insert_bounded(&mut map, 100, 7, 700);
        assert_eq!((map.len(), map[&7]), (100, 700), "a known key evicts nothing");
        insert_bounded(&mut map, 100, 1000, 1000);
        assert_eq!(map.len(), 100, "a new key evicts one entry");
        assert_eq!(map[&1000], 1000);
        assert_eq!((0..100).filter(|key| map.contains_key(key)).count(), 99);
    }

    #[test]
    fn a_map_over_its_bound_shrinks_to_it() {
        let mut map: HashMap<u32, u32> = (0..10).map(|key| (key, key)).collect();
        insert_bounded(&mut map, 4, 99, 99);
        assert_eq!(map.len(), 4);
        assert!(map.contains_key(&99));
        insert_bounded(&mut map, 0, 100, 100);
        assert_eq!(map.len(), 1, "a bound of 0 still keeps the value just inserted");
    }
}
