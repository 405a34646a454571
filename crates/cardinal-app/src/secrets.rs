//! Secrets: access tokens and API keys (stored as SHA-256), card data encryption
//! (AES-256-GCM bound to the card id), and PAN issuing.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use cardinal_domain::card::BIN;
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

pub use cardinal_domain::luhn::{luhn_check_digit, luhn_valid};

/// A fresh secret: 32 random bytes, base64url without padding.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the store keeps instead of a secret.
pub fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Constant-time equality of two hashes.
pub fn hashes_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.ct_eq(b).into()
}

/// The 32-byte master key protecting card data, given as base64 (standard or url-safe).
#[derive(Clone)]
pub struct CardKey([u8; 32]);

impl CardKey {
    pub fn generate() -> CardKey {
        CardKey(rand::random())
    }

    pub fn parse(text: &str) -> Result<CardKey, String> {
        let text = text.trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .map_err(|_| "the card-data key must be base64".to_owned())?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| "the card-data key must be 32 bytes".to_owned())?;
        Ok(CardKey(key))
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// A key check value: names the key without revealing it (an HMAC of a fixed label, of
    /// which nothing about the key can be learnt). A database records the one its cards are
    /// sealed with, so a start with another key is refused instead of sealing cards no other
    /// process can open.
    pub fn check_value(&self) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("any key length works");
        mac.update(b"cardinal card key check v1");
        let digest: [u8; 32] = mac.finalize().into_bytes().into();
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl std::fmt::Debug for CardKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardKey(..)")
    }
}

/// Encrypts and decrypts PAN and CVV. Separate keys, derived from the master key, serve
/// encryption and the PAN fingerprint, so neither use weakens the other.
pub struct CardVault {
    cipher: Aes256Gcm,
    fingerprint_key: [u8; 32],
    /// Signs download links (an attachment's `url`): one key for every replica and restart.
    link_key: [u8; 32],
}

impl CardVault {
    pub fn new(master: &CardKey) -> CardVault {
        let derive = |label: &[u8]| -> [u8; 32] {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&master.0).expect("any key length works");
            mac.update(label);
            mac.finalize().into_bytes().into()
        };
        CardVault {
            cipher: Aes256Gcm::new(&derive(b"cardinal card data encryption v1").into()),
            fingerprint_key: derive(b"cardinal pan fingerprint v1"),
            link_key: derive(b"cardinal download link v1"),
        }
    }

    /// `nonce || ciphertext`; the card id is authenticated so a ciphertext cannot be moved
    /// to another card.
    pub fn seal(&self, card_id: Uuid, plaintext: &str) -> Vec<u8> {
        let nonce: [u8; 12] = rand::random();
        let payload = Payload { msg: plaintext.as_bytes(), aad: card_id.as_bytes() };
        let sealed = self.cipher.encrypt(Nonce::from_slice(&nonce), payload).expect("AES-GCM encryption cannot fail");
        [nonce.as_slice(), &sealed].concat()
    }

    pub fn open(&self, card_id: Uuid, sealed: &[u8]) -> Option<String> {
        let (nonce, ciphertext) = sealed.split_at_checked(12)?;
        let payload = Payload { msg: ciphertext, aad: card_id.as_bytes() };
        let plain = self.cipher.decrypt(Nonce::from_slice(nonce), payload).ok()?;
        String::from_utf8(plain).ok()
    }

    /// The signature of a download link's `subject` (what it opens and until when), base64url.
    pub fn link_signature(&self, subject: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.link_key).expect("any key length works");
        mac.update(subject.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Whether `signature` is the link signature of `subject`, compared in constant time.
    pub fn link_signature_matches(&self, subject: &str, signature: &str) -> bool {
        self.link_signature(subject).as_bytes().ct_eq(signature.as_bytes()).into()
    }

    pub fn fingerprint(&self, pan: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.fingerprint_key).expect("any key length works");
        mac.update(pan.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// A new 16-digit PAN: the BIN, nine random digits, and the Luhn check digit.
pub fn new_pan() -> String {
    let mut rng = rand::rng();
    let mut digits = String::from(BIN);
    for _ in 0..9 {
        digits.push(char::from(b'0' + rng.random_range(0..10u8)));
    }
    let check = luhn_check_digit(&digits);
    digits.push(char::from(b'0' + check));
    digits
}

pub fn new_cvv() -> String {
    format!("{:03}", rand::rng().random_range(0..1000u16))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pans_are_luhn_valid_with_our_bin() {
        for _ in 0..200 {
            let pan = new_pan();
            assert_eq!(pan.len(), 16);
            assert!(pan.starts_with("511768"));
            assert!(luhn_valid(&pan), "{pan}");
        }
        assert!(luhn_valid("4539578763621486"));
        assert!(!luhn_valid("4539578763621487"));
    }

    #[test]
    fn sealed_card_data_opens_only_for_its_card() {
        let vault = CardVault::new(&CardKey::generate());
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let sealed = vault.seal(a, "5117681234567890");
        assert!(!sealed.windows(4).any(|w| w == b"5117"));
        assert_eq!(vault.open(a, &sealed).as_deref(), Some("5117681234567890"));
        assert_eq!(vault.open(b, &sealed), None);
    }

    #[test]
    fn keys_round_trip_through_base64() {
        let key = CardKey::generate();
        let again = CardKey::parse(&key.to_base64()).unwrap();
        assert_eq!(key.0, again.0);
        assert!(CardKey::parse("c2hvcnQ=").is_err());
    }
}
