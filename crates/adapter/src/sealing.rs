//! Sealed boxes for secrets the store must keep but must not show: the
//! replayed answer to a booking (it holds the visitor's manage token) and the
//! manage token waiting for the visitor's first email and reminders.
//!
//! ChaCha20-Poly1305 with a fresh random nonce per box; the key is derived
//! with HKDF-SHA256 from a secret that is *not* in the store (the client's
//! `Idempotency-Key`, or the mail settings' `link_secret`), one purpose per
//! key, so a copy of the database alone opens nothing.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::hkdf::{Salt, HKDF_SHA256};

use crate::config::MailSettings;
use crate::store::Delivery;

/// A key for one purpose, derived from a secret kept outside the store.
pub struct SealingKey(LessSafeKey);

impl SealingKey {
    /// Derives the key of `purpose` from `secret` (the purpose separates keys
    /// made from the same secret).
    pub fn derive(secret: &[u8], purpose: &str) -> Self {
        let prk = Salt::new(HKDF_SHA256, purpose.as_bytes()).extract(secret);
        let okm = prk
            .expand(&[b"chacha20-poly1305"], &CHACHA20_POLY1305)
            .expect("HKDF gives 32 bytes for a ChaCha20 key");
        Self(LessSafeKey::new(UnboundKey::from(okm)))
    }

    /// Seals `plaintext`, bound to `context` (it must be given again to open):
    /// the nonce followed by the ciphertext and its tag.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).expect("the operating system's random source");
        let mut sealed = plaintext.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut sealed,
            )
            .expect("ChaCha20-Poly1305 seals any length a request can have");
        let mut out = nonce.to_vec();
        out.append(&mut sealed);
        out
    }

    /// Opens a box made by [`SealingKey::seal`]; `None` if the key or the
    /// context differ, or the box was altered.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Option<Vec<u8>> {
        let (nonce, ciphertext) = sealed.split_at_checked(NONCE_LEN)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = ciphertext.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(context), &mut buffer)
            .ok()?;
        Some(plain.to_vec())
    }
}

/// What marks a sealed outbox payload; a payload without it was written
/// before tokens were sealed.
const SEALED_PAYLOAD: &str = "sealed:v1:";

/// The key that seals manage tokens waiting in the outbox, from the link
/// secret (mail only: without mail, no email will ever carry a token).
pub fn payload_key(mail: &MailSettings) -> SealingKey {
    SealingKey::derive(
        mail.link_secret.expose().as_bytes(),
        "firststep outbox payload v1",
    )
}

/// The payload carrying `manage_token` to an email of `booking_id` (the
/// first, a reminder).
pub fn seal_payload(key: &SealingKey, booking_id: &str, manage_token: &str) -> String {
    let sealed = key.seal(manage_token.as_bytes(), booking_id.as_bytes());
    format!("{SEALED_PAYLOAD}{}", URL_SAFE_NO_PAD.encode(sealed))
}

/// The manage token in an outbox payload; `None` if it cannot be opened
/// (the link secret changed since). A payload from before sealing is the
/// token itself.
pub fn open_payload(key: &SealingKey, booking_id: &str, payload: &str) -> Option<String> {
    let Some(sealed) = payload.strip_prefix(SEALED_PAYLOAD) else {
        return Some(payload.to_owned());
    };
    let sealed = URL_SAFE_NO_PAD.decode(sealed).ok()?;
    String::from_utf8(key.open(&sealed, booking_id.as_bytes())?).ok()
}

/// The manage token a delivery carries to the visitor (their first email, a
/// reminder), if any.
pub fn delivery_token(mail: &MailSettings, delivery: &Delivery) -> Option<String> {
    let payload = delivery.payload.as_deref()?;
    let token = open_payload(&payload_key(mail), &delivery.booking_id, payload);
    if token.is_none() {
        tracing::warn!(
            booking = delivery.booking_id,
            "the manage token of this email cannot be opened (was mail.link_secret changed?); sent without the manage link"
        );
    }
    token
}

/// Whether a payload is already sealed.
pub fn is_sealed_payload(payload: &str) -> bool {
    payload.starts_with(SEALED_PAYLOAD)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_box_opens_with_its_key_and_context_only() {
        let key = SealingKey::derive(b"a secret", "purpose one");
        let sealed = key.seal(b"the token", b"bk_1");
        assert_eq!(
            key.open(&sealed, b"bk_1").as_deref(),
            Some(&b"the token"[..])
        );
        assert_eq!(key.open(&sealed, b"bk_2"), None, "another context");
        let other_purpose = SealingKey::derive(b"a secret", "purpose two");
        assert_eq!(
            other_purpose.open(&sealed, b"bk_1"),
            None,
            "another purpose"
        );
        let other_secret = SealingKey::derive(b"another secret", "purpose one");
        assert_eq!(other_secret.open(&sealed, b"bk_1"), None, "another secret");
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(key.open(&altered, b"bk_1"), None, "altered");
        assert_eq!(key.open(&sealed[..5], b"bk_1"), None, "cut short");
    }

    #[test]
    fn each_box_has_a_fresh_nonce() {
        let key = SealingKey::derive(b"a secret", "purpose");
        assert_ne!(key.seal(b"same", b""), key.seal(b"same", b""));
    }

    #[test]
    fn payloads_hide_the_token_and_legacy_ones_still_read() {
        let key = SealingKey::derive(b"0123456789abcdef0123456789abcdef", "p");
        let payload = seal_payload(&key, "bk_1", "tok-en");
        assert!(is_sealed_payload(&payload));
        assert!(!payload.contains("tok-en"));
        assert_eq!(
            open_payload(&key, "bk_1", &payload).as_deref(),
            Some("tok-en")
        );
        assert_eq!(open_payload(&key, "bk_2", &payload), None);
        assert_eq!(
            open_payload(&key, "bk_1", "legacy").as_deref(),
            Some("legacy")
        );
    }
}
