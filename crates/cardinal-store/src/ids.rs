//! Identifiers Cardinal mints.
//!
//! Both kinds are RFC 9562 UUIDs, as Qonto's ids are. Their random bits come from the
//! thread-local generator, not a `getrandom` system call per id.

use jiff::Timestamp;
use uuid::{Builder, Uuid};

/// A random (version 4) id: for records whose ids must say nothing about them (cards,
/// members, credentials).
pub fn random() -> Uuid {
    Builder::from_random_bytes(rand::random()).into_uuid()
}

/// A time-ordered (version 7) id, for append-only records (audit events, transactions,
/// webhook events and deliveries):
/// successive ids sort together, so their primary-key and by-account index entries land on
/// the same last B-tree pages instead of one random page each. On a durable write, every page
/// touched is written to disk before the answer, so this halves what an authorization writes.
/// The id reveals its creation millisecond, which these records show anyway.
pub fn time_ordered() -> Uuid {
    let millis = Timestamp::now().as_millisecond().max(0) as u64;
    Builder::from_unix_timestamp_millis(millis, &rand::random()).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_order() {
        assert_eq!(random().get_version_num(), 4);
        let first = time_ordered();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let later = time_ordered();
        assert_eq!(first.get_version_num(), 7);
        assert!(later > first, "ids minted later sort later");
        assert_ne!(random(), random());
    }
}
