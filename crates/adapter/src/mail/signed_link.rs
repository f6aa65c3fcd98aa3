//! Links that let the practice confirm or decline a request from an email:
//! HMAC-SHA256 over the booking id, the action, the expiry and the booking's
//! version, so they cannot be forged or altered, and they stop working when
//! they expire. They are single use because answering needs the request to
//! be still pending, and a visitor's move bumps the version, so links about
//! the old time stop working. Version 0 signs (and shows) no version: links
//! sent before versions existed keep working.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::store::Answer;

type HmacSha256 = Hmac<Sha256>;

pub fn action_name(answer: Answer) -> &'static str {
    match answer {
        Answer::Confirm => "confirm",
        Answer::Decline => "decline",
    }
}

fn mac(secret: &str, booking_id: &str, version: u32, answer: Answer, expires: i64) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    let mut signed = format!("{booking_id}\n{}\n{expires}", action_name(answer));
    if version > 0 {
        signed.push_str(&format!("\n{version}"));
    }
    mac.update(signed.as_bytes());
    mac
}

/// The path and query of a signed link (to follow the adapter's public
/// address) for the booking as it stands at `version`.
pub fn path(
    secret: &str,
    booking_id: &str,
    version: u32,
    answer: Answer,
    expires: DateTime<Utc>,
) -> String {
    let expires = expires.timestamp();
    let signature = hex(&mac(secret, booking_id, version, answer, expires)
        .finalize()
        .into_bytes());
    let version = match version {
        0 => String::new(),
        v => format!("&v={v}"),
    };
    format!(
        "/requests/{booking_id}/{}?expires={expires}{version}&sig={signature}",
        action_name(answer)
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProblem {
    Forged,
    Expired,
}

/// Checks a presented link; the signature is compared in constant time.
pub fn verify(
    secret: &str,
    booking_id: &str,
    version: u32,
    answer: Answer,
    expires: i64,
    signature: &str,
    now: DateTime<Utc>,
) -> Result<(), LinkProblem> {
    let bytes = unhex(signature).ok_or(LinkProblem::Forged)?;
    mac(secret, booking_id, version, answer, expires)
        .verify_slice(&bytes)
        .map_err(|_| LinkProblem::Forged)?;
    if now.timestamp() >= expires {
        return Err(LinkProblem::Expired);
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn parts(link: &str) -> (i64, String) {
        let query = link.split_once('?').unwrap().1;
        let expires = query
            .split('&')
            .find_map(|p| p.strip_prefix("expires="))
            .unwrap()
            .parse()
            .unwrap();
        let sig = query
            .split('&')
            .find_map(|p| p.strip_prefix("sig="))
            .unwrap()
            .to_owned();
        (expires, sig)
    }

    #[test]
    fn a_link_verifies_only_for_its_booking_action_and_time() {
        let now: DateTime<Utc> = "2026-12-01T12:00:00Z".parse().unwrap();
        let link = path(
            SECRET,
            "bk_1",
            0,
            Answer::Confirm,
            now + chrono::Duration::hours(72),
        );
        assert!(link.starts_with("/requests/bk_1/confirm?expires="));
        let (expires, sig) = parts(&link);
        assert_eq!(
            verify(SECRET, "bk_1", 0, Answer::Confirm, expires, &sig, now),
            Ok(())
        );
        assert_eq!(
            verify(SECRET, "bk_2", 0, Answer::Confirm, expires, &sig, now),
            Err(LinkProblem::Forged)
        );
        assert_eq!(
            verify(SECRET, "bk_1", 0, Answer::Decline, expires, &sig, now),
            Err(LinkProblem::Forged)
        );
        assert_eq!(
            verify(
                SECRET,
                "bk_1",
                0,
                Answer::Confirm,
                expires + 3600,
                &sig,
                now
            ),
            Err(LinkProblem::Forged)
        );
        assert_eq!(
            verify(
                "another secret of enough length!!",
                "bk_1",
                0,
                Answer::Confirm,
                expires,
                &sig,
                now
            ),
            Err(LinkProblem::Forged)
        );
        assert_eq!(
            verify(SECRET, "bk_1", 0, Answer::Confirm, expires, "zz", now),
            Err(LinkProblem::Forged)
        );
        let later = now + chrono::Duration::hours(73);
        assert_eq!(
            verify(SECRET, "bk_1", 0, Answer::Confirm, expires, &sig, later),
            Err(LinkProblem::Expired)
        );
    }

    #[test]
    fn a_link_works_for_its_version_only() {
        let now: DateTime<Utc> = "2026-12-01T12:00:00Z".parse().unwrap();
        let link = path(
            SECRET,
            "bk_1",
            2,
            Answer::Decline,
            now + chrono::Duration::hours(1),
        );
        assert!(link.contains("&v=2&sig="), "{link}");
        let (expires, sig) = parts(&link);
        assert_eq!(
            verify(SECRET, "bk_1", 2, Answer::Decline, expires, &sig, now),
            Ok(())
        );
        for other in [0, 1, 3] {
            assert_eq!(
                verify(SECRET, "bk_1", other, Answer::Decline, expires, &sig, now),
                Err(LinkProblem::Forged)
            );
        }
    }
}
