//! Who is told when an organization's pending SCA sessions change: the console's live list.

use tokio::sync::broadcast;
use uuid::Uuid;

/// Tells whoever watches an organization's pending sessions that they changed. A watcher
/// that falls behind only misses announcements it would have acted on the same way.
pub struct ScaChanges(broadcast::Sender<Uuid>);

impl Default for ScaChanges {
    fn default() -> ScaChanges {
        ScaChanges(broadcast::channel(256).0)
    }
}

impl ScaChanges {
    pub(crate) fn announce(&self, organization_id: Uuid) {
        // No receiver is the common case (no console open): nothing to tell.
        if self.0.receiver_count() > 0 {
            let _ = self.0.send(organization_id);
        }
    }

    /// Announcements from now on, of every organization (the watcher filters its own).
    pub fn watch(&self) -> broadcast::Receiver<Uuid> {
        self.0.subscribe()
    }
}
