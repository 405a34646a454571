//! Idempotency keys: what a backend stores for a key, and the one decision about a key it
//! finds already stored.

use jiff::Timestamp;

/// The first step of an idempotent request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// The key is new (or expired): run the request, then finish or abandon.
    Started,
    /// The same request already succeeded: answer this again.
    Replay { status: u16, body: Vec<u8> },
    /// The same key is running right now.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRequest {
    /// Hash of the credential the key belongs to.
    pub scope_hash: [u8; 32],
    pub key: String,
    /// Hash of method, path and body.
    pub request_hash: [u8; 32],
    pub now: Timestamp,
    /// How long a finished answer is replayed.
    pub keep_for_seconds: i64,
    /// After this long a `running` entry is taken to be abandoned by a crashed process.
    pub abandon_after_seconds: i64,
    /// A random token naming this claim: only its holder finishes or releases it, so a
    /// release retried late (after a failover) never frees a later request's claim.
    pub claim: [u8; 16],
}

impl IdempotencyRequest {
    /// The claim this request makes when it starts.
    pub fn claimed(&self) -> IdempotencyClaim {
        IdempotencyClaim { scope_hash: self.scope_hash, key: self.key.clone(), claim: self.claim }
    }
}

/// A started key, as its holder names it to finish or release it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    pub scope_hash: [u8; 32],
    pub key: String,
    pub claim: [u8; 16],
}

/// Where a claimed key stands (the `state` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Its first request is running (or its process died: the claim is then abandoned).
    Running,
    /// Its first request answered; the answer is kept to be replayed.
    Done,
}

impl KeyState {
    /// The column's text.
    pub const fn as_str(self) -> &'static str {
        match self {
            KeyState::Running => "running",
            KeyState::Done => "done",
        }
    }

    /// The state a column holds. Only `done` has an answer to replay: anything else is taken
    /// as running, refused until abandoned, so no answer is ever made up.
    pub fn of_column(text: &str) -> KeyState {
        if text == KeyState::Done.as_str() {
            KeyState::Done
        } else {
            KeyState::Running
        }
    }
}

/// A key's row as a backend found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredIdempotencyKey {
    pub request_hash: Vec<u8>,
    pub state: KeyState,
    pub status: Option<u16>,
    pub response: Option<Vec<u8>>,
    pub created_at: i64,
}

/// What to do with a request whose key is already stored — the one decision both backends
/// make: a stale entry (an answer kept past its time, or a claim its process abandoned) is
/// taken over; a fresh one replays, waits, or refuses a different request.
pub fn decide_idempotent(stored: &StoredIdempotencyKey, request: &IdempotencyRequest) -> IdempotencyDecision {
    let age = request.now.as_second() - stored.created_at;
    let done = stored.state == KeyState::Done;
    let stale = if done { age >= request.keep_for_seconds } else { age >= request.abandon_after_seconds };
    if stale {
        return IdempotencyDecision::TakeOver;
    }
    if stored.request_hash != request.request_hash {
        return IdempotencyDecision::Answer(IdempotencyBegin::Mismatch);
    }
    IdempotencyDecision::Answer(match (done, stored.status, &stored.response) {
        (true, Some(status), Some(body)) => IdempotencyBegin::Replay { status, body: body.clone() },
        _ => IdempotencyBegin::InProgress,
    })
}

/// The outcome of [`decide_idempotent`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyDecision {
    /// Claim the key again for this request (the backend rewrites the row as `running`).
    TakeOver,
    /// Answer without claiming.
    Answer(IdempotencyBegin),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(hash: u8, now: i64) -> IdempotencyRequest {
        IdempotencyRequest {
            scope_hash: [0; 32],
            key: "k".into(),
            request_hash: [hash; 32],
            now: Timestamp::from_second(now).unwrap(),
            keep_for_seconds: 100,
            abandon_after_seconds: 10,
            claim: [0; 16],
        }
    }

    fn stored(state: &str, created_at: i64) -> StoredIdempotencyKey {
        StoredIdempotencyKey {
            request_hash: vec![1; 32],
            state: KeyState::of_column(state),
            status: (state == "done").then_some(201),
            response: (state == "done").then(|| b"x".to_vec()),
            created_at,
        }
    }

    #[test]
    fn the_idempotency_decision() {
        use IdempotencyBegin::*;
        use IdempotencyDecision::*;
        let replay = Answer(Replay { status: 201, body: b"x".to_vec() });
        assert_eq!(decide_idempotent(&stored("done", 0), &request(1, 99)), replay);
        assert_eq!(decide_idempotent(&stored("done", 0), &request(2, 99)), Answer(Mismatch));
        assert_eq!(decide_idempotent(&stored("done", 0), &request(2, 100)), TakeOver, "kept 100 s only");
        assert_eq!(decide_idempotent(&stored("running", 0), &request(1, 9)), Answer(InProgress));
        assert_eq!(decide_idempotent(&stored("running", 0), &request(2, 9)), Answer(Mismatch));
        assert_eq!(decide_idempotent(&stored("running", 0), &request(1, 10)), TakeOver, "abandoned after 10 s");
    }
}
