//! A read cache of credentials, cards and organizations, coherent by construction: SQLite has
//! one writer, in this process, and it refreshes or drops entries right after each commit, in
//! commit order. A reader that missed fills the cache only if no commit happened while it read the
//! database (the write epoch did not move), so it can never put back an older value.
//! Only the API's reads use it; operations on the writer thread always read the database,
//! where they see the uncommitted changes of their own batch.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, RwLock,
    },
};

use cardinal_store::{bounded::insert_bounded, Credential, Organization, StoredCard};
use uuid::Uuid;

/// Each map holds at most this many entries: a new one then takes the place of one already
/// there ([`insert_bounded`]).
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct Cache {
    epoch: AtomicU64,
    credentials: RwLock<HashMap<[u8; 32], Credential>>,
    /// Shared: a hit hands out the card without copying it.
    cards: RwLock<HashMap<Uuid, Arc<StoredCard>>>,
    organizations: RwLock<HashMap<Uuid, Organization>>,
}

impl Cache {
    /// Read before a database read that may fill the cache.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    pub fn credential(&self, hash: &[u8; 32]) -> Option<Credential> {
        self.credentials.read().ok()?.get(hash).cloned()
    }

    pub fn card(&self, id: Uuid) -> Option<Arc<StoredCard>> {
        self.cards.read().ok()?.get(&id).cloned()
    }

    /// The card, if the cache holds it at this `revision` (a row's `version`).
    pub fn card_at(&self, id: Uuid, revision: i64) -> Option<Arc<StoredCard>> {
        self.card(id).filter(|card| card.revision == revision)
    }

    pub fn organization(&self, id: Uuid) -> Option<Organization> {
        self.organizations.read().ok()?.get(&id).cloned()
    }

    pub fn fill_credential(&self, epoch: u64, credential: &Credential) {
        self.fill(&self.credentials, epoch, credential.secret_hash, credential);
    }

    pub fn fill_card(&self, epoch: u64, card: &Arc<StoredCard>) {
        self.fill(&self.cards, epoch, card.card.id, card);
    }

    pub fn fill_organization(&self, epoch: u64, organization: &Organization) {
        self.fill(&self.organizations, epoch, organization.id, organization);
    }

    /// Fills after a miss, unless a commit happened since `epoch` was read.
    fn fill<K: Eq + Hash, V: Clone>(&self, map: &RwLock<HashMap<K, V>>, epoch: u64, key: K, value: &V) {
        if let Ok(mut map) = map.write() {
            if self.epoch() == epoch {
                insert_bounded(&mut map, MAX_ENTRIES, key, value.clone());
            }
        }
    }

    /// Writer thread, after a commit that wrote these cards.
    pub fn committed_cards<'a>(&self, cards: impl IntoIterator<Item = &'a StoredCard>) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut map) = self.cards.write() {
            for card in cards {
                insert_bounded(&mut map, MAX_ENTRIES, card.card.id, Arc::new(card.clone()));
            }
        }
    }

    /// Writer thread, after a commit that changed credentials or what they embed (revocation,
    /// an organization's clock) or removed data (an organization deleted).
    pub fn committed_other(&self, drop_cards: bool) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        clear(&self.credentials);
        clear(&self.organizations);
        if drop_cards {
            clear(&self.cards);
        }
    }
}

fn clear<K, V>(map: &RwLock<HashMap<K, V>>) {
    if let Ok(mut map) = map.write() {
        map.clear();
    }
}
