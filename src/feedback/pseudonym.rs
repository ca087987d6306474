//! Raw user ids never reach disk: they are replaced by a keyed HMAC-SHA256 pseudonym.
//!
//! Keyed, not a plain hash: user ids are guessable (emails, small integers), so an unkeyed
//! hash could be reversed by hashing candidates. Without the key the pseudonym reveals
//! nothing; with it, the same user always maps to the same key, so history and training joins
//! still work.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A user's pseudonym: HMAC-SHA256(secret, raw user id).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserKey(pub [u8; 32]);

impl UserKey {
    /// Lower-case hex, as exports and logs show it.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl std::fmt::Debug for UserKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UserKey({})", &self.to_hex()[..12])
    }
}

/// Holds the secret; cheap to clone.
#[derive(Clone)]
pub struct Pseudonymizer {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymizer(<secret>)")
    }
}

/// Shortest accepted secret: 128 bits.
pub const MIN_SECRET_BYTES: usize = 16;

impl Pseudonymizer {
    /// `None` when the secret is shorter than [`MIN_SECRET_BYTES`].
    pub fn new(secret: &[u8]) -> Option<Pseudonymizer> {
        if secret.len() < MIN_SECRET_BYTES {
            return None;
        }
        let mac = Hmac::<Sha256>::new_from_slice(secret).ok()?;
        Some(Pseudonymizer { mac })
    }

    pub fn key(&self, raw_user_id: &str) -> UserKey {
        let mut mac = self.mac.clone();
        mac.update(raw_user_id.as_bytes());
        UserKey(mac.finalize().into_bytes().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_secret_same_key_other_secret_other_key() {
        let a = Pseudonymizer::new(b"0123456789abcdef").unwrap();
        let b = Pseudonymizer::new(b"0123456789abcdeX").unwrap();
        assert_eq!(a.key("alice"), a.key("alice"));
        assert_ne!(a.key("alice"), a.key("bob"));
        assert_ne!(a.key("alice"), b.key("alice"));
        assert!(!a.key("alice").to_hex().contains("alice"));
    }

    #[test]
    fn short_secret_is_refused() {
        assert!(Pseudonymizer::new(b"short").is_none());
    }

    #[test]
    fn known_vector() {
        // Computed independently: python3 -c "import hmac,hashlib;
        // print(hmac.new(b'0123456789abcdef', b'alice', hashlib.sha256).hexdigest())"
        let p = Pseudonymizer::new(b"0123456789abcdef").unwrap();
        assert_eq!(
            p.key("alice").to_hex(),
            "fdbf8b1cacd3d578e062d0e41104357d06aa63eca39f80b6fd7c83afedf1d44a"
        );
    }
}
