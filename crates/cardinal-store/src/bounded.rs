//! The one bound every in-memory cache of derived values uses.

use std::collections::HashMap;
use std::hash::Hash;

/// Inserts into a map that holds at most `max` entries: a full map is emptied first and
/// refills by use. Simpler than tracking recency, and each cache holds values that are cheap
/// to derive again (a read, a parse, a rendering).
pub fn insert_bounded<K: Eq + Hash, V>(map: &mut HashMap<K, V>, max: usize, key: K, value: V) {
    if map.len() >= max {
        map.clear();
    }
    map.insert(key, value);
}
