//! The console's sign-in sessions (spec §10): whoever presents the admin token gets a random
//! session token in an `HttpOnly`, `SameSite=Strict` cookie. Only the token's SHA-256 is kept,
//! in memory: a restart signs everyone out, and a stale cookie is one no session answers to.
//! Each session has its own CSRF token, which every form of the console carries back.

use crate::secrets::{hash_secret, new_token};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A session unused this long is gone: the next page asks to sign in again.
pub const IDLE: Duration = Duration::from_secs(12 * 3600);
/// The most sessions kept: past it, the least recently used is dropped (signing in is cheap,
/// memory is not).
const MOST: usize = 4096;

/// What the next page tells the person, once: the outcome of the form they sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub ok: bool,
    pub lines: Vec<String>,
    /// Secrets shown once, each with its label and a copy control (members' new tokens);
    /// never logged.
    pub secrets: Vec<(String, String)>,
}

impl Notice {
    pub fn done(text: impl Into<String>) -> Notice {
        Notice { ok: true, lines: vec![text.into()], secrets: Vec::new() }
    }

    pub fn refused(lines: Vec<String>) -> Notice {
        Notice { ok: false, lines, secrets: Vec::new() }
    }
}

struct Session {
    csrf: String,
    last_seen: Instant,
    notice: Option<Notice>,
}

/// The signed-in sessions, by the hash of their cookie's token.
#[derive(Default)]
pub struct ConsoleSessions {
    sessions: Mutex<HashMap<[u8; 32], Session>>,
}

impl ConsoleSessions {
    /// A new session: its cookie token and its CSRF token.
    pub fn open(&self) -> (String, String) {
        let (token, csrf) = (new_token(), new_token());
        let mut sessions = self.lock();
        let now = Instant::now();
        sessions.retain(|_, s| now.duration_since(s.last_seen) < IDLE);
        if sessions.len() >= MOST {
            if let Some(oldest) = sessions.iter().min_by_key(|(_, s)| s.last_seen).map(|(k, _)| *k) {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(hash_secret(&token), Session { csrf: csrf.clone(), last_seen: now, notice: None });
        (token, csrf)
    }

    /// The session's CSRF token, if `token` names a live session (which it keeps alive).
    pub fn csrf_of(&self, token: &str) -> Option<String> {
        let mut sessions = self.lock();
        let key = hash_secret(token);
        let session = sessions.get_mut(&key)?;
        let now = Instant::now();
        if now.duration_since(session.last_seen) >= IDLE {
            sessions.remove(&key);
            return None;
        }
        session.last_seen = now;
        Some(session.csrf.clone())
    }

    pub fn close(&self, token: &str) {
        self.lock().remove(&hash_secret(token));
    }

    pub fn tell(&self, token: &str, notice: Notice) {
        if let Some(session) = self.lock().get_mut(&hash_secret(token)) {
            session.notice = Some(notice);
        }
    }

    /// The notice left for the next page, taken: it shows once.
    pub fn take_notice(&self, token: &str) -> Option<Notice> {
        self.lock().get_mut(&hash_secret(token)).and_then(|s| s.notice.take())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        // A panic while holding the lock leaves the map whole: every change above is one call.
        self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_answers_to_its_token_only_and_its_notice_shows_once() {
        let sessions = ConsoleSessions::default();
        let (token, csrf) = sessions.open();
        assert_eq!(sessions.csrf_of(&token), Some(csrf));
        assert_eq!(sessions.csrf_of("someone-else"), None);
        sessions.tell(&token, Notice::done("locked"));
        assert_eq!(sessions.take_notice(&token), Some(Notice::done("locked")));
        assert_eq!(sessions.take_notice(&token), None);
        sessions.close(&token);
        assert_eq!(sessions.csrf_of(&token), None, "signed out");
    }
}
