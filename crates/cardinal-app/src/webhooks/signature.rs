//! `X-Qonto-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`
//! (`qonto-reference.md` §1.6).

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const HEADER: &str = "X-Qonto-Signature";

/// The header's value for `body` sent at `t` (unix seconds).
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_qontos_test_vector() {
        assert_eq!(
            super::sign("test-secret", 1704110400, br#"{"test":"data"}"#),
            "t=1704110400,v1=56aff06dc227db80d6568a5070f912c601c31f20451745d257cbc0b5dfa93805"
        );
    }
}
