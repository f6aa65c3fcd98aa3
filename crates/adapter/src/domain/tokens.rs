//! Random identifiers and secrets.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

pub(super) fn random_text(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).expect("the operating system's random source");
    URL_SAFE_NO_PAD.encode(buffer)
}

/// A booking's own video room name (`video_url_template`'s `{token}`): 128
/// random bits, URL-safe, so nobody finds a consultation's room by guessing.
pub fn new_room_token() -> String {
    random_text(16)
}

/// A booking's public id, `bk_` and 96 random bits: unguessable, so ids leak nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BookingId(String);

impl BookingId {
    pub fn generate() -> Self {
        Self(format!("bk_{}", random_text(12)))
    }

    /// Ids come back in URLs; anything not shaped like ours cannot exist.
    pub fn parse(raw: &str) -> Option<Self> {
        let tail = raw.strip_prefix("bk_")?;
        let shaped = tail.len() == 16
            && tail
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        shaped.then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The secret that lets a visitor see and cancel their own booking: 256
/// random bits. Only its hash is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct ManageToken(String);

impl ManageToken {
    pub fn generate() -> Self {
        Self(random_text(32))
    }

    pub fn from_presented(raw: &str) -> Self {
        Self(raw.to_owned())
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0.as_bytes()).into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ManageToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ManageToken(…)")
    }
}

/// SHA-256 of a manage token, as the store keeps it.
#[derive(Debug, Clone, Copy)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    /// Compares in constant time, so response timing reveals nothing of the hash.
    pub fn matches(&self, other: &TokenHash) -> bool {
        self.0
            .iter()
            .zip(other.0)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_and_foreign_ones_do_not() {
        let id = BookingId::generate();
        assert_eq!(BookingId::parse(id.as_str()), Some(id.clone()));
        assert_ne!(BookingId::generate(), id);
        for bad in [
            "",
            "bk_",
            "bk_short",
            "xx_AAAAAAAAAAAAAAAA",
            "bk_AAAAAAAAAAAAAAA/",
        ] {
            assert_eq!(BookingId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn tokens_are_long_random_and_match_only_themselves() {
        let token = ManageToken::generate();
        assert_eq!(token.expose().len(), 43); // 256 bits in base64url
        assert!(token
            .hash()
            .matches(&ManageToken::from_presented(token.expose()).hash()));
        assert!(!token.hash().matches(&ManageToken::generate().hash()));
        assert_eq!(format!("{token:?}"), "ManageToken(…)");
    }
}
