//! A small iCalendar (RFC 5545) reader, enough to check a booking's
//! `calendar.ics` by its structure rather than by matching strings: CRLF
//! content lines (§3.1), unfolding, names, parameters and values, nested
//! `BEGIN`/`END` components, TEXT unescaping (§3.3.11) and UTC DATE-TIMEs
//! (§3.3.5).

use chrono::{DateTime, NaiveDateTime, Utc};

/// A component (`VCALENDAR`, `VEVENT`, …) with its properties and children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Component {
    pub(crate) name: String,
    pub(crate) properties: Vec<Property>,
    pub(crate) children: Vec<Component>,
}

/// One content line: `NAME;PARAM=VALUE:value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Property {
    pub(crate) name: String,
    pub(crate) parameters: Vec<(String, String)>,
    /// As written: TEXT values are still escaped (see [`unescape_text`]).
    pub(crate) value: String,
}

impl Component {
    /// The first property called `name` (case-insensitive).
    pub(crate) fn property(&self, name: &str) -> Option<&Property> {
        self.properties
            .iter()
            .find(|property| property.name.eq_ignore_ascii_case(name))
    }

    /// Every property value and parameter value of this component and those
    /// inside it, values read as TEXT (for what must be nowhere in the file).
    pub(crate) fn all_texts(&self) -> Vec<String> {
        let mut texts = Vec::new();
        for property in &self.properties {
            texts.push(unescape_text(&property.value));
            texts.extend(property.parameters.iter().map(|(_, value)| value.clone()));
        }
        for child in &self.children {
            texts.extend(child.all_texts());
        }
        texts
    }

    /// The children called `name`.
    pub(crate) fn children_named<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Component> {
        self.children
            .iter()
            .filter(move |child| child.name.eq_ignore_ascii_case(name))
    }
}

/// Reads a whole iCalendar object: one `VCALENDAR`, nothing around it.
pub(crate) fn parse(text: &str) -> Result<Component, String> {
    let Some(body) = text.strip_suffix("\r\n") else {
        return Err("the last line does not end with CRLF".into());
    };
    let mut lines: Vec<(usize, String)> = Vec::new();
    for (index, physical) in body.split("\r\n").enumerate() {
        let number = index + 1;
        if physical.contains(['\r', '\n']) {
            return Err(format!(
                "line {number}: a bare CR or LF (lines end with CRLF)"
            ));
        }
        match physical.strip_prefix([' ', '\t']) {
            Some(continued) => match lines.last_mut() {
                Some((_, line)) => line.push_str(continued),
                None => {
                    return Err(format!(
                        "line {number}: a continuation with nothing before it"
                    ))
                }
            },
            None => lines.push((number, physical.to_owned())),
        }
    }

    let mut open: Vec<Component> = Vec::new();
    let mut done: Option<Component> = None;
    for (number, line) in lines {
        let property =
            content_line(&line).map_err(|problem| format!("line {number}: {problem}"))?;
        if done.is_some() {
            return Err(format!(
                "line {number}: content after the END of the calendar"
            ));
        }
        if property.name.eq_ignore_ascii_case("BEGIN") {
            open.push(Component {
                name: property.value.to_ascii_uppercase(),
                properties: Vec::new(),
                children: Vec::new(),
            });
        } else if property.name.eq_ignore_ascii_case("END") {
            let component = open
                .pop()
                .ok_or_else(|| format!("line {number}: END:{} with no BEGIN", property.value))?;
            if !component.name.eq_ignore_ascii_case(&property.value) {
                return Err(format!(
                    "line {number}: END:{} closes BEGIN:{}",
                    property.value, component.name
                ));
            }
            match open.last_mut() {
                Some(parent) => parent.children.push(component),
                None => done = Some(component),
            }
        } else {
            open.last_mut()
                .ok_or_else(|| format!("line {number}: a property outside any component"))?
                .properties
                .push(property);
        }
    }
    if let Some(unclosed) = open.last() {
        return Err(format!("BEGIN:{} is never closed", unclosed.name));
    }
    let calendar = done.ok_or("no component at all")?;
    if calendar.name != "VCALENDAR" {
        return Err(format!(
            "the object is a {}, not a VCALENDAR",
            calendar.name
        ));
    }
    Ok(calendar)
}

/// `name *(";" param) ":" value` (RFC 5545 §3.1), parameters possibly quoted.
fn content_line(line: &str) -> Result<Property, String> {
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .ok_or("a line with no `:`")?;
    let (name, mut rest) = line.split_at(name_end);
    if name.is_empty() {
        return Err(format!("no property name in {line:?}"));
    }
    let mut parameters = Vec::new();
    while let Some(after) = rest.strip_prefix(';') {
        let (parameter, remainder) = after
            .split_once('=')
            .ok_or_else(|| format!("a parameter without `=` in {line:?}"))?;
        let (value, remainder) = match remainder.strip_prefix('"') {
            Some(quoted) => {
                let (value, after_quote) = quoted
                    .split_once('"')
                    .ok_or_else(|| format!("an unclosed quote in {line:?}"))?;
                (value, after_quote)
            }
            None => {
                let end = remainder.find([';', ':']).unwrap_or(remainder.len());
                remainder.split_at(end)
            }
        };
        parameters.push((parameter.to_ascii_uppercase(), value.to_owned()));
        rest = remainder;
    }
    let value = rest
        .strip_prefix(':')
        .ok_or_else(|| format!("no `:` after the name and parameters in {line:?}"))?;
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(format!("a control character in the value of {name}"));
    }
    Ok(Property {
        name: name.to_ascii_uppercase(),
        parameters,
        value: value.to_owned(),
    })
}

/// A TEXT value as the person reads it: `\\`, `\;`, `\,` and `\n` undone.
pub(crate) fn unescape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// A DATE-TIME in UTC form, `20261201T140000Z` (§3.3.5, form #2).
pub(crate) fn utc_date_time(value: &str) -> Option<DateTime<Utc>> {
    let local = value.strip_suffix('Z')?;
    NaiveDateTime::parse_from_str(local, "%Y%m%dT%H%M%S")
        .ok()
        .map(|naive| naive.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Kit//EN\r\nBEGIN:VEVENT\r\n\
UID:bk_1@firststep\r\nDTSTART:20261201T140000Z\r\nSUMMARY;LANGUAGE=en:Free consultation\\, 15 \r\n minutes — Riverside\r\n\
X-NOTE;X-Q=\"a;b:c\":x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    #[test]
    fn reads_components_properties_folding_and_quoted_parameters() {
        let calendar = parse(EVENT).unwrap();
        assert_eq!(calendar.property("version").unwrap().value, "2.0");
        let event = calendar.children_named("VEVENT").next().unwrap();
        let summary = event.property("SUMMARY").unwrap();
        assert_eq!(summary.parameters, vec![("LANGUAGE".into(), "en".into())]);
        assert_eq!(
            unescape_text(&summary.value),
            "Free consultation, 15 minutes — Riverside"
        );
        assert_eq!(event.property("X-NOTE").unwrap().parameters[0].1, "a;b:c");
        assert_eq!(
            utc_date_time(&event.property("DTSTART").unwrap().value),
            Some("2026-12-01T14:00:00Z".parse().unwrap())
        );
    }

    #[test]
    fn refuses_what_is_not_an_icalendar_object() {
        let refused = [
            EVENT.replace("\r\n", "\n"),
            EVENT.trim_end().to_owned(),
            EVENT.replace("END:VEVENT\r\n", ""),
            EVENT.replace("END:VEVENT", "END:VTODO"),
            EVENT.replace("BEGIN:VCALENDAR", "BEGIN:VEVENT"),
            format!("{EVENT}BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"),
            EVENT.replace("UID:", "UID"),
            EVENT.replace("X-Q=\"a;b:c\"", "X-Q=\"a;b:c"),
            String::new(),
        ];
        for text in refused {
            assert!(parse(&text).is_err(), "{text:?} was read");
        }
        assert_eq!(utc_date_time("20261201T140000"), None);
    }
}
