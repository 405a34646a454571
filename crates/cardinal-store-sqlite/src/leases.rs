//! Webhook delivery leases in this process's memory: one process owns a SQLite database, so a
//! claim is a read and a lease needs no write (docs/decisions.md).

use jiff::Timestamp;
use uuid::Uuid;

/// This process's delivery leases: delivery id → (owner, until, in real milliseconds).
#[derive(Default)]
pub(crate) struct Leases(std::sync::Mutex<std::collections::HashMap<String, (Uuid, i64)>>);

impl Leases {
    fn map(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, (Uuid, i64)>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The deliveries leased at `now` (expired leases are dropped).
    pub(crate) fn held(&self, now: Timestamp) -> std::collections::HashSet<String> {
        let mut map = self.map();
        map.retain(|_, (_, until)| *until > now.as_millisecond());
        map.keys().cloned().collect()
    }

    /// Leases up to `limit` of the candidates that nobody holds at `now` to `owner`.
    pub(crate) fn take(
        &self,
        owner: Uuid,
        now: Timestamp,
        until: Timestamp,
        candidates: Vec<String>,
        limit: usize,
    ) -> Vec<String> {
        let mut map = self.map();
        let mut taken = Vec::new();
        for id in candidates {
            if taken.len() == limit {
                break;
            }
            let free = map.get(&id).is_none_or(|(_, lease_until)| *lease_until <= now.as_millisecond());
            if free {
                map.insert(id.clone(), (owner, until.as_millisecond()));
                taken.push(id);
            }
        }
        taken
    }

    /// Whether anyone holds an unexpired lease of a delivery.
    pub(crate) fn is_leased(&self, id: &str, now: Timestamp) -> bool {
        self.map().get(id).is_some_and(|(_, until)| *until > now.as_millisecond())
    }

    /// Whether `owner` holds the lease of a delivery (it may have run out: nobody took it over).
    pub(crate) fn holds(&self, owner: Uuid, id: &str) -> bool {
        self.map().get(id).is_some_and(|(holder, _)| *holder == owner)
    }

    /// Gives up `owner`'s lease of a delivery, if it holds it.
    pub(crate) fn release(&self, owner: Uuid, id: &str) {
        let mut map = self.map();
        if map.get(id).is_some_and(|(holder, _)| *holder == owner) {
            map.remove(id);
        }
    }

    /// Drops any lease of a delivery (a retry makes it due now, for whoever claims it).
    pub(crate) fn forget(&self, id: &str) {
        self.map().remove(id);
    }
}
