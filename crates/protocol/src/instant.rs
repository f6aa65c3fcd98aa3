//! Instants on the wire: RFC 3339 and nothing else,
//! `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` with a four-digit year.
//!
//! chrono's own readers also take signed six-digit years (`+262142-12-31…`),
//! which pass parsing and then overflow date arithmetic far from here. One
//! reader keeps every timestamp field and query string to the protocol's shape.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

/// Why a text is not an instant of the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstantError;

impl fmt::Display for InstantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an instant must be RFC 3339 with a four-digit year, like 2026-12-01T14:00:00Z")
    }
}

impl std::error::Error for InstantError {}

/// Reads an RFC 3339 instant, in any offset, as UTC.
pub fn parse(text: &str) -> Result<DateTime<Utc>, InstantError> {
    if !has_rfc3339_shape(text.as_bytes()) {
        return Err(InstantError);
    }
    // The shape is right; chrono checks the values (month 13, February 30, offset 25:00).
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| InstantError)
}

/// `YYYY-MM-DDTHH:MM:SS`, an optional `.` and digits, then `Z` or `±HH:MM`.
fn has_rfc3339_shape(text: &[u8]) -> bool {
    const DATE_TIME: &[u8; 19] = b"0000-00-00T00:00:00";
    let Some((date_time, rest)) = text.split_at_checked(DATE_TIME.len()) else {
        return false;
    };
    let same_shape = |pattern: &[u8], bytes: &[u8]| {
        pattern.len() == bytes.len()
            && pattern.iter().zip(bytes).all(|(want, got)| match want {
                b'0' => got.is_ascii_digit(),
                _ => want == got,
            })
    };
    if !same_shape(DATE_TIME, date_time) {
        return false;
    }
    let rest = match rest.strip_prefix(b".") {
        Some(fraction) => {
            let digits = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 {
                return false;
            }
            &fraction[digits..]
        }
        None => rest,
    };
    match rest {
        b"Z" => true,
        [b'+' | b'-', offset @ ..] => same_shape(b"00:00", offset),
        _ => false,
    }
}

/// `#[serde(deserialize_with = "instant::deserialize")]` for a `DateTime<Utc>` field.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
    parse(&text).map_err(serde::de::Error::custom)
}

/// The same for an `Option<DateTime<Utc>>` field (`null` is `None`).
pub fn deserialize_option<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    let text = <Option<std::borrow::Cow<'de, str>>>::deserialize(deserializer)?;
    text.map(|text| parse(&text).map_err(serde::de::Error::custom))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn reads_rfc3339_in_any_offset_with_or_without_a_fraction() {
        assert_eq!(
            parse("2026-12-01T14:00:00Z"),
            Ok(at("2026-12-01T14:00:00Z"))
        );
        assert_eq!(
            parse("2026-12-01T15:00:00+01:00"),
            Ok(at("2026-12-01T14:00:00Z"))
        );
        assert_eq!(
            parse("2026-12-01T09:00:00.5-05:00"),
            Ok(at("2026-12-01T14:00:00.5Z"))
        );
        assert_eq!(
            parse("0000-01-01T00:00:00Z"),
            Ok(at("0000-01-01T00:00:00Z"))
        );
        assert_eq!(
            parse("9999-12-31T23:59:59.999999999Z"),
            Ok(at("9999-12-31T23:59:59.999999999Z"))
        );
    }

    /// chrono's readers take all of these; the protocol does not.
    #[test]
    fn refuses_six_digit_years_and_every_other_shape() {
        for text in [
            "+262142-12-31T23:59:59Z",
            "-262143-01-01T00:00:00Z",
            "+2026-12-01T14:00:00Z",
            "12026-12-01T14:00:00Z",
            "2026-12-01 14:00:00Z",
            "2026-12-01t14:00:00z",
            "2026-12-01T14:00Z",
            "2026-12-01T14:00:00",
            "2026-12-01T14:00:00.Z",
            "2026-12-01T14:00:00+0100",
            "2026-12-01T14:00:00+01",
            "2026-12-01T14:00:00Z ",
            " 2026-12-01T14:00:00Z",
            "2026-12-01",
            "2026-13-01T14:00:00Z",
            "2026-02-30T14:00:00Z",
            "2026-12-01T24:00:00Z",
            "2026-12-01T14:00:00+24:00",
            "２０２６-12-01T14:00:00Z",
            "",
        ] {
            assert_eq!(parse(text), Err(InstantError), "{text:?}");
        }
    }

    #[test]
    fn serde_fields_use_this_reader() {
        #[derive(Deserialize)]
        struct Both {
            #[serde(deserialize_with = "deserialize")]
            at: DateTime<Utc>,
            #[serde(default, deserialize_with = "deserialize_option")]
            until: Option<DateTime<Utc>>,
        }
        let read = |json: &str| serde_json::from_str::<Both>(json).map(|b| (b.at, b.until));
        assert_eq!(
            read(r#"{"at":"2026-12-01T14:00:00Z","until":null}"#).unwrap(),
            (at("2026-12-01T14:00:00Z"), None)
        );
        assert_eq!(
            read(r#"{"at":"2026-12-01T14:00:00Z"}"#).unwrap(),
            (at("2026-12-01T14:00:00Z"), None)
        );
        assert_eq!(
            read(r#"{"at":"2026-12-01T14:00:00Z","until":"2026-12-02T14:00:00Z"}"#)
                .unwrap()
                .1,
            Some(at("2026-12-02T14:00:00Z"))
        );
        // An escaped string is read too (serde hands it over as an owned copy).
        assert!(read(r#"{"at":"2026-12-01T14:00:00\u005A"}"#).is_ok());
        for bad in [
            r#"{"at":"+262142-12-31T23:59:59Z"}"#,
            r#"{"at":"2026-12-01T14:00:00Z","until":"-262143-01-01T00:00:00Z"}"#,
            r#"{"at":1764597600}"#,
        ] {
            let error = read(bad).unwrap_err().to_string();
            assert!(
                error.contains("RFC 3339") || error.contains("invalid type"),
                "{bad}: {error}"
            );
        }
    }
}
