//! What a visitor may type into the booking form, checked by one set of
//! rules that both the widget (to spare a round trip) and the adapter (to
//! decide) call, so the two cannot drift apart.
//!
//! Plain functions without serde or extra crates: the widget ships to
//! phones. Each check trims the text and returns what is to be kept, or the
//! [`FieldProblem`] that stops it.
//!
//! Visitor text must be inert wherever it is shown again (emails, the
//! practice's terminal, pages): no control characters, no characters that
//! reorder what follows (bidi embeddings, overrides and isolates), no line
//! breaks except in the note, where every kind of line break becomes LF.

/// The protocol's name of each field, as a problem's `field` gives it.
pub const NAME_FIELD: &str = "client.name";
pub const EMAIL_FIELD: &str = "client.email";
pub const PHONE_FIELD: &str = "client.phone";
pub const NOTE_FIELD: &str = "note";

pub const NAME_MAX_CHARS: usize = 100;
/// RFC 5321's longest path (256) less its angle brackets.
pub const EMAIL_MAX_CHARS: usize = 254;
pub const PHONE_MAX_CHARS: usize = 32;
pub const NOTE_MAX_CHARS: usize = 1000;
/// The longest language tag kept (RFC 5646 advises room for 35).
pub const LOCALE_MAX_CHARS: usize = 35;

/// Why a field cannot be accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldProblem {
    /// Empty, or nothing visible in it.
    Missing,
    /// Not of the field's shape, or holding characters that cannot be used.
    Invalid,
    TooLong,
}

/// A visitor's name: trimmed, with something visible in it, at most
/// [`NAME_MAX_CHARS`] characters, on one line, nothing that reorders text.
pub fn name(raw: &str) -> Result<&str, FieldProblem> {
    let name = raw.trim();
    scan(name, false).verdict(NAME_MAX_CHARS)?;
    Ok(name)
}

/// An address the mailer can send to: `local@domain.tld` in ASCII, the
/// local part a dot-atom (RFC 5322: no leading, trailing or doubled dot),
/// the domain made of letter/digit/hyphen labels. Every address this accepts
/// is one lettre accepts too (the adapter tests this). Addresses with
/// non-ASCII characters are refused: a relay without SMTPUTF8 cannot carry
/// them, and the adapter cannot know its relay's answer in advance.
pub fn email(raw: &str) -> Result<&str, FieldProblem> {
    let email = raw.trim();
    if is_blank(email) {
        return Err(FieldProblem::Missing);
    }
    if email.len() > EMAIL_MAX_CHARS {
        return Err(FieldProblem::TooLong);
    }
    // Bytes, not `str` patterns: the widget's wasm stays smaller.
    let bytes = email.as_bytes();
    let at = bytes
        .iter()
        .rposition(|b| *b == b'@')
        .ok_or(FieldProblem::Invalid)?;
    let (local, domain) = bytes.split_at(at);
    let domain = domain.get(1..).unwrap_or_default();
    let well_formed = local.len() <= 64
        && dot_atom(local, local_label)
        && dot_atom(domain, domain_label)
        && domain.contains(&b'.');
    if well_formed {
        Ok(email)
    } else {
        Err(FieldProblem::Invalid)
    }
}

/// A phone number as people write it: digits with spaces and `- ( ) .`, a
/// `+` only in front, 5 to 20 digits, at most [`PHONE_MAX_CHARS`] characters.
pub fn phone(raw: &str) -> Result<&str, FieldProblem> {
    let phone = raw.trim();
    if is_blank(phone) {
        return Err(FieldProblem::Missing);
    }
    if phone.len() > PHONE_MAX_CHARS {
        return Err(FieldProblem::TooLong);
    }
    let mut digits = 0;
    for (at, byte) in phone.bytes().enumerate() {
        match byte {
            b'0'..=b'9' => digits += 1,
            b' ' | b'-' | b'(' | b')' | b'.' => {}
            b'+' if at == 0 => {}
            _ => return Err(FieldProblem::Invalid),
        }
    }
    if (5..=20).contains(&digits) {
        Ok(phone)
    } else {
        Err(FieldProblem::Invalid)
    }
}

/// Whether the form asks for the phone number, for one service: the
/// practice's `form.phone`, except that a consultation by phone needs the
/// number (the practice calls it), so there it is required.
pub fn phone_rule(form: crate::FieldRule, location: Option<&str>) -> crate::FieldRule {
    match location {
        Some("phone") => crate::FieldRule::Required,
        _ => form,
    }
}

/// A note to the practice, as it is stored: every line break (CRLF, CR,
/// NEL, U+2028, U+2029) made LF, then trimmed; at most [`NOTE_MAX_CHARS`]
/// characters. Tabs are kept; other control characters and characters that
/// reorder text are refused rather than removed, so what the practice reads
/// is what the visitor saw when they sent it.
pub fn note(raw: &str) -> Result<String, FieldProblem> {
    let mut note = String::new();
    let mut after_cr = false;
    for c in raw.chars() {
        // The LF of a CRLF: its CR already made the line break.
        if !(after_cr && c == '\n') {
            note.push(if is_line_break(c) { '\n' } else { c });
        }
        after_cr = c == '\r';
    }
    let kept = note.trim();
    scan(kept, true).verdict(NOTE_MAX_CHARS)?;
    Ok(kept.to_owned())
}

/// A language tag worth keeping (`es-MX`, `en`): letters, digits and
/// hyphens, at most [`LOCALE_MAX_CHARS`]. Anything else is dropped, and the
/// visitor is then written to in English.
pub fn locale(raw: &str) -> Option<&str> {
    let ok = !raw.is_empty()
        && raw.len() <= LOCALE_MAX_CHARS
        && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    ok.then_some(raw)
}

/// The languages visitors are written to in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    English,
    Spanish,
}

impl Language {
    /// From a BCP 47 tag's primary subtag (`es-MX`, `es_ES`, `ES`);
    /// English for anything but Spanish.
    pub fn from_tag(tag: &str) -> Self {
        let tag = tag.as_bytes();
        let primary_es = tag.get(..2).is_some_and(|p| p.eq_ignore_ascii_case(b"es"))
            && matches!(tag.get(2), None | Some(b'-' | b'_'));
        if primary_es {
            Self::Spanish
        } else {
            Self::English
        }
    }
}

/// `text` stored before these rules held, made inert to show again: control
/// characters and characters that reorder text are dropped; line breaks and
/// tabs stay, for whoever shows it to place (emails quote them line by line).
pub fn inert(text: &str) -> String {
    text.chars()
        .filter(|c| *c == '\t' || is_line_break(*c) || !is_unsafe(*c))
        .collect()
}

/// Whether nothing visible is in `text`: every check calls such a field
/// [`FieldProblem::Missing`], and an optional field so left counts as not given.
pub fn is_blank(text: &str) -> bool {
    !scan(text, true).visible
}

/// What one pass over a trimmed text finds (one pass: the widget's wasm
/// carries one UTF-8 decoding loop instead of one per question).
struct Scan {
    visible: bool,
    chars: usize,
    /// A character the field cannot hold.
    unusable: bool,
}

impl Scan {
    fn verdict(&self, max_chars: usize) -> Result<(), FieldProblem> {
        if !self.visible {
            Err(FieldProblem::Missing)
        } else if self.chars > max_chars {
            Err(FieldProblem::TooLong)
        } else if self.unusable {
            Err(FieldProblem::Invalid)
        } else {
            Ok(())
        }
    }
}

/// Scans `text`; `multiline` texts (a note, its line breaks already LF) may
/// hold LF and tab.
fn scan(text: &str, multiline: bool) -> Scan {
    let mut found = Scan {
        visible: false,
        chars: 0,
        unusable: false,
    };
    for c in text.chars() {
        found.chars += 1;
        found.visible |= is_visible(c);
        let allowed_break = multiline && (c == '\n' || c == '\t');
        found.unusable |= !allowed_break && (is_unsafe(c) || is_line_break(c));
    }
    found
}

/// True when `part` is labels joined by single dots, each passing `label`.
fn dot_atom(part: &[u8], label: fn(&[u8]) -> bool) -> bool {
    part.split(|b| *b == b'.')
        .all(|l| !l.is_empty() && label(l))
}

fn local_label(label: &[u8]) -> bool {
    label.iter().all(|b| is_atext(*b))
}

/// A DNS label: letters, digits and inner hyphens, at most 63.
fn domain_label(label: &[u8]) -> bool {
    label.len() <= 63
        && label
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && label.first() != Some(&b'-')
        && label.last() != Some(&b'-')
}

/// RFC 5322 `atext`, ASCII only: printable, not a special.
fn is_atext(b: u8) -> bool {
    b.is_ascii_graphic() && !b"\"(),.:;<>@[\\]".contains(&b)
}

/// Every kind of line break a mail reader or terminal may honour.
pub fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Control characters, and bidi embeddings, overrides and isolates
/// (U+202A–U+202E, U+2066–U+2069): they can make the text after them read
/// in another order. The marks U+200E, U+200F and U+061C stay allowed:
/// right-to-left names need them and they cannot reorder other letters.
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Whether a character leaves a mark: not a space, a control or one of
/// Unicode's default-ignorable code points (zero-width spaces and joiners,
/// bidi controls, variation selectors, fillers that render blank).
fn is_visible(c: char) -> bool {
    const BLANK: &[(char, char)] = &[
        ('\u{AD}', '\u{AD}'),
        ('\u{34F}', '\u{34F}'),
        ('\u{61C}', '\u{61C}'),
        ('\u{115F}', '\u{1160}'),
        ('\u{17B4}', '\u{17B5}'),
        ('\u{180B}', '\u{180F}'),
        ('\u{200B}', '\u{200F}'),
        ('\u{202A}', '\u{202E}'),
        ('\u{2060}', '\u{206F}'),
        ('\u{2800}', '\u{2800}'),
        ('\u{3164}', '\u{3164}'),
        ('\u{FE00}', '\u{FE0F}'),
        ('\u{FEFF}', '\u{FEFF}'),
        ('\u{FFA0}', '\u{FFA0}'),
        ('\u{FFF0}', '\u{FFF8}'),
        ('\u{1BCA0}', '\u{1BCA3}'),
        ('\u{1D173}', '\u{1D17A}'),
        ('\u{E0000}', '\u{E0FFF}'),
    ];
    if c.is_whitespace() || c.is_control() {
        return false;
    }
    for &(from, to) in BLANK {
        if from <= c && c <= to {
            return false;
        }
    }
    true
}

/// One input and what the rules make of it: the table that the protocol's,
/// the widget's and the adapter's tests all run, so each side is held to
/// the same answers.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    /// The protocol's field name ([`NAME_FIELD`], …).
    pub field: &'static str,
    pub input: &'static str,
    /// What is kept, or why it is refused.
    pub verdict: Result<&'static str, FieldProblem>,
}

const fn kept(field: &'static str, input: &'static str, kept: &'static str) -> Example {
    Example {
        field,
        input,
        verdict: Ok(kept),
    }
}

const fn refused(field: &'static str, input: &'static str, problem: FieldProblem) -> Example {
    Example {
        field,
        input,
        verdict: Err(problem),
    }
}

/// The shared table (see [`Example`]). Every refused entry is one the other
/// fields of a booking are fine for, so a refusal names this field alone.
pub const EXAMPLES: &[Example] = {
    use FieldProblem::{Invalid, Missing, TooLong};
    &[
        kept(NAME_FIELD, "  Sam Lee ", "Sam Lee"),
        kept(NAME_FIELD, "Zoë O'Brien-Núñez", "Zoë O'Brien-Núñez"),
        kept(NAME_FIELD, "{decline_link}", "{decline_link}"),
        kept(NAME_FIELD, "\u{5D3}\u{5E0}\u{200F} Lee", "\u{5D3}\u{5E0}\u{200F} Lee"),
        kept(NAME_FIELD, "Sam\u{200D}Lee", "Sam\u{200D}Lee"),
        refused(NAME_FIELD, "   ", Missing),
        refused(NAME_FIELD, "\u{200B}\u{200C}\u{FEFF}", Missing),
        refused(NAME_FIELD, " \u{3164}\u{2060} ", Missing),
        refused(NAME_FIELD, "Sam\u{202E}eeL", Invalid),
        refused(NAME_FIELD, "Sam\u{2067}Lee\u{2069}", Invalid),
        refused(NAME_FIELD, "Sam\nBcc: x@example.org", Invalid),
        refused(NAME_FIELD, "Sam\u{2028}Confirm", Invalid),
        refused(NAME_FIELD, "Sam\u{7}", Invalid),
        refused(
            NAME_FIELD,
            "ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé",
            TooLong,
        ),
        kept(EMAIL_FIELD, " sam@example.org ", "sam@example.org"),
        kept(EMAIL_FIELD, "s.lee+first@mail.example.co.uk", "s.lee+first@mail.example.co.uk"),
        kept(EMAIL_FIELD, "o'brien@example-mail.org", "o'brien@example-mail.org"),
        refused(EMAIL_FIELD, "", Missing),
        refused(EMAIL_FIELD, "\u{200B}", Missing),
        refused(EMAIL_FIELD, "sam", Invalid),
        refused(EMAIL_FIELD, "sam@", Invalid),
        refused(EMAIL_FIELD, "@example.org", Invalid),
        refused(EMAIL_FIELD, "sam@example", Invalid),
        refused(EMAIL_FIELD, "sam @example.org", Invalid),
        refused(EMAIL_FIELD, "sam..lee@example.org", Invalid),
        refused(EMAIL_FIELD, "sam.@example.org", Invalid),
        refused(EMAIL_FIELD, ".sam@example.org", Invalid),
        refused(EMAIL_FIELD, "sam@example..org", Invalid),
        refused(EMAIL_FIELD, "sam@.example.org", Invalid),
        refused(EMAIL_FIELD, "sam@-example.org", Invalid),
        refused(EMAIL_FIELD, "sam@example_mail.org", Invalid),
        refused(EMAIL_FIELD, "a@b@example.org", Invalid),
        refused(EMAIL_FIELD, "\"sam lee\"@example.org", Invalid),
        refused(EMAIL_FIELD, "ÿ@example.org", Invalid),
        refused(EMAIL_FIELD, "sam@exämple.org", Invalid),
        refused(EMAIL_FIELD, "sam@example.org\r\nBcc: x@example.org", Invalid),
        refused(EMAIL_FIELD, "sam\u{202E}@example.org", Invalid),
        kept(PHONE_FIELD, "+1 (555) 010-0199", "+1 (555) 010-0199"),
        kept(PHONE_FIELD, " 030 1234567 ", "030 1234567"),
        kept(PHONE_FIELD, "555.0100", "555.0100"),
        refused(PHONE_FIELD, " \u{FEFF} ", Missing),
        refused(PHONE_FIELD, "call me", Invalid),
        refused(PHONE_FIELD, "123", Invalid),
        refused(PHONE_FIELD, "1+555 0100", Invalid),
        refused(PHONE_FIELD, "+1 555 0100 ext. 4", Invalid),
        refused(PHONE_FIELD, "555 0100\u{202E}", Invalid),
        refused(PHONE_FIELD, "111111111111111111111111111111111", TooLong),
        kept(NOTE_FIELD, "Evenings\r\nplease", "Evenings\nplease"),
        kept(NOTE_FIELD, "a\rb\u{2028}c\u{85}d", "a\nb\nc\nd"),
        kept(NOTE_FIELD, "  tab\there\n", "tab\there"),
        kept(
            NOTE_FIELD,
            "Confirm this request: {confirm_link}",
            "Confirm this request: {confirm_link}",
        ),
        refused(NOTE_FIELD, "\u{200B}\r\n\u{200B}", Missing),
        refused(NOTE_FIELD, "bell\u{7}", Invalid),
        refused(NOTE_FIELD, "evil\u{202E}txt.exe", Invalid),
        refused(NOTE_FIELD, "line\u{C}feed", Invalid),
    ]
};

#[cfg(test)]
mod tests {
    use super::*;

    /// The table's own verdicts, through the functions the two sides call.
    #[test]
    fn every_example_gets_its_verdict() {
        for example in EXAMPLES {
            let verdict = match example.field {
                NAME_FIELD => name(example.input).map(str::to_owned),
                EMAIL_FIELD => email(example.input).map(str::to_owned),
                PHONE_FIELD => phone(example.input).map(str::to_owned),
                NOTE_FIELD => note(example.input),
                other => panic!("unknown field {other}"),
            };
            assert_eq!(
                verdict.as_deref().map_err(|p| *p),
                example.verdict,
                "{example:?}"
            );
        }
    }

    #[test]
    fn text_stored_before_the_rules_is_made_inert_keeping_its_lines() {
        assert_eq!(
            inert("Sam \u{202E}eeL\u{1B}[2J\u{7} \u{2067}x\u{2069}"),
            "Sam eeL[2J x"
        );
        assert_eq!(inert("hi\rthere\n\tyou"), "hi\rthere\n\tyou");
        assert_eq!(inert("Zoë \u{5D3}\u{200F}"), "Zoë \u{5D3}\u{200F}");
    }

    #[test]
    fn limits_are_counted_in_characters_and_after_normalising() {
        assert_eq!(name(&"é".repeat(100)), Ok("é".repeat(100).as_str()));
        assert_eq!(name(&"é".repeat(101)), Err(FieldProblem::TooLong));
        let note_of = |n: usize| "ab\r\n".repeat(n);
        // 333 × "ab\n" = 999 characters once CRLF is LF (the last LF trimmed).
        assert!(note(&note_of(333)).is_ok());
        assert_eq!(note(&note_of(334)), Err(FieldProblem::TooLong));
        let long = format!("{}@{}.org", "a".repeat(60), "b".repeat(200));
        assert_eq!(email(&long), Err(FieldProblem::TooLong));
        let long_local = format!("{}@example.org", "a".repeat(65));
        assert_eq!(email(&long_local), Err(FieldProblem::Invalid));
        let long_label = format!("sam@{}.org", "b".repeat(64));
        assert_eq!(email(&long_label), Err(FieldProblem::Invalid));
    }

    #[test]
    fn a_note_keeps_no_bare_carriage_return() {
        let kept = note("one\rtwo\r\n\rthree\u{2029}").unwrap();
        assert_eq!(kept, "one\ntwo\n\nthree");
        assert!(!kept.contains('\r'));
    }

    #[test]
    fn locales_are_tags_and_languages_their_primary_subtag() {
        assert_eq!(locale("es-MX"), Some("es-MX"));
        assert_eq!(locale(""), None);
        assert_eq!(locale("es MX"), None);
        assert_eq!(locale("en\r\nX: y"), None);
        assert_eq!(locale(&"a".repeat(36)), None);
        assert_eq!(Language::from_tag("es-MX"), Language::Spanish);
        assert_eq!(Language::from_tag("ES"), Language::Spanish);
        assert_eq!(Language::from_tag("es_ES"), Language::Spanish);
        assert_eq!(Language::from_tag("en-GB"), Language::English);
        assert_eq!(Language::from_tag("esperanto"), Language::English);
        assert_eq!(Language::from_tag(""), Language::English);
    }
}
