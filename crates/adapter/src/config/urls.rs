//! URLs in the file, each checked against the rule for its use
//! ([`UrlUse`]): what it may be depends on who sees it and whether secrets
//! travel with it. A problem never repeats a secret address.

use toml::Spanned;
use url::Url;

use super::checks::Checker;

impl Checker<'_> {
    /// Checks a URL against the rule for its use; on a problem, says what
    /// is wrong (never repeating a secret address) and gives `None`.
    pub(super) fn url(&mut self, at: &Spanned<String>, key: &str, usage: UrlUse) -> Option<Url> {
        let problem = match Url::parse(at.get_ref()) {
            Err(error) => format!("not a URL ({error}): write it like \"https://example.org/…\""),
            Ok(url) if !matches!(url.scheme(), "https" | "http") => {
                "must start with https:// (or http://)".to_owned()
            }
            Ok(url)
                if usage != UrlUse::SecretAddress
                    && (!url.username().is_empty() || url.password().is_some()) =>
            {
                "must not hold a user name or password (they would show wherever the address does)"
                    .to_owned()
            }
            Ok(url)
                if usage != UrlUse::Public && url.scheme() == "http" && !on_this_machine(&url) =>
            {
                "must start with https:// (secrets travel with it; http:// only to this machine)"
                    .to_owned()
            }
            Ok(url) => return Some(url),
        };
        self.problem(at, key, problem);
        None
    }

    /// An optional URL: `Some(None)` when absent, `None` when it has a problem.
    pub(super) fn optional_url(
        &mut self,
        raw: Option<Spanned<String>>,
        key: &str,
        usage: UrlUse,
    ) -> Option<Option<String>> {
        match raw {
            None => Some(None),
            Some(raw) => self.url(&raw, key, usage).map(|_| Some(raw.into_inner())),
        }
    }
}

/// What a URL in the file is for, which sets what it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum UrlUse {
    /// Shown to visitors or browsers (the privacy page, the booking page, an
    /// origin): http(s), no user name or password in it.
    Public,
    /// Secrets travel with it (CalDAV with its password, the adapter's own
    /// address in links that carry tokens): https, or http to this machine;
    /// no user name or password in it (those are keys of their own).
    Secret,
    /// The address itself is the secret (a private busy feed, never shown):
    /// https, or http to this machine; a user name and password may be in it.
    SecretAddress,
}

/// A loopback host (127.0.0.0/8, ::1, localhost): http never leaves the machine.
fn on_this_machine(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::{problems, GOOD};
    use crate::config::Settings;
    use std::path::Path;

    #[test]
    fn every_url_must_parse_and_be_http_or_https() {
        let text = GOOD.replace(
            "time_zone = \"America/New_York\"",
            "time_zone = \"America/New_York\"\nprivacy_url = \"javascript:alert(1)\"",
        ) + "[server]\nallowed_origins = [\"https://Example.org:443/\", \"https://example.org/app\", \"https://user:pw@example.org\", \"not a url\"]\n";
        let found = problems(&text);
        let summary: Vec<(usize, &str)> = found.iter().map(|p| (p.line, p.key.as_str())).collect();
        assert_eq!(
            summary,
            [
                (5, "practice.privacy_url"),
                (14, "server.allowed_origins[1]"),
                (14, "server.allowed_origins[2]"),
                (14, "server.allowed_origins[3]"),
            ]
        );
        assert!(
            found[0].message.contains("https://"),
            "{}",
            found[0].message
        );
        assert!(
            found[2].message.contains("user name or password"),
            "{}",
            found[2].message
        );
        assert!(
            found[3].message.starts_with("not a URL"),
            "{}",
            found[3].message
        );

        let fixed = text
            .replace("javascript:alert(1)", "http://example.org/privacy")
            .replace(
                ", \"https://example.org/app\", \"https://user:pw@example.org\", \"not a url\"",
                "",
            );
        let settings = Settings::from_toml(&fixed, Path::new("/etc")).unwrap();
        assert_eq!(
            settings.server.allowed_origins,
            ["https://example.org"],
            "as browsers send it"
        );
        assert_eq!(
            settings.practice.privacy_url.as_deref(),
            Some("http://example.org/privacy")
        );
    }

    #[test]
    fn addresses_that_carry_secrets_need_https_except_on_this_machine() {
        let feeds = |list: &str| {
            format!("{GOOD}[calendar]\nbackend = \"local\"\nbusy_feeds = [\n{list}]\n")
        };
        let good = feeds(
            "\"https://calendar.example.org/private-abc/basic.ics\",\n\
             \"https://user:secret@cloud.example.org/export.ics\",\n\
             \"http://127.0.0.1:8080/busy.ics\",\n\"http://[::1]/busy.ics\",\n\"http://localhost/busy.ics\",\n",
        );
        assert!(Settings::from_toml(&good, Path::new("/etc")).is_ok());
        let found = problems(&feeds("\"http://calendar.example.org/private-abc/basic.ics\",\n\"calendar.example.org/x.ics\",\n"));
        let summary: Vec<(usize, &str)> = found.iter().map(|p| (p.line, p.key.as_str())).collect();
        assert_eq!(
            summary,
            [
                (15, "calendar.busy_feeds[0]"),
                (16, "calendar.busy_feeds[1]")
            ]
        );
        assert!(
            found[0].message.contains("https://"),
            "{}",
            found[0].message
        );
        for problem in &found {
            assert!(
                !problem.message.contains("private-abc") && !problem.message.contains("x.ics"),
                "a feed's address is a secret: {}",
                problem.message
            );
        }

        std::env::set_var("FIRSTSTEP_TEST_URL_PASSWORD", "hunter2");
        let caldav = |url: &str| {
            format!("{GOOD}[calendar]\nbackend = \"caldav\"\nurl = \"{url}\"\nuser = \"therapist\"\npassword_env = \"FIRSTSTEP_TEST_URL_PASSWORD\"\n")
        };
        assert!(
            Settings::from_toml(&caldav("http://127.0.0.1:5232/cal/"), Path::new("/etc")).is_ok()
        );
        for (url, says) in [
            ("http://dav.example.org/cal/", "https://"),
            (
                "https://therapist:hunter2@dav.example.org/cal/",
                "user name or password",
            ),
            ("ftp://dav.example.org/cal/", "https://"),
        ] {
            let found = problems(&caldav(url));
            assert_eq!(
                (found.len(), found[0].line, found[0].key.as_str()),
                (1, 14, "calendar.url"),
                "{url}"
            );
            assert!(
                found[0].message.contains(says),
                "{url}: {}",
                found[0].message
            );
        }
    }

    #[test]
    fn the_mail_addresses_are_checked_as_urls() {
        std::env::set_var(
            "FIRSTSTEP_TEST_LINK_SECRET",
            "a-link-secret-of-more-than-32-characters",
        );
        let mail = |public: &str, booking: &str| {
            format!(
                "{GOOD}[mail]\nsmtp_host = \"127.0.0.1\"\nfrom = \"P <p@example.org>\"\npractice_to = \"t@example.org\"\n\
                 public_url = \"{public}\"\nbooking_page_url = \"{booking}\"\nlink_secret_env = \"FIRSTSTEP_TEST_LINK_SECRET\"\n"
            )
        };
        let settings = Settings::from_toml(
            &mail("https://booking.example.org/", "http://example.org/#book"),
            Path::new("/etc"),
        )
        .unwrap();
        let mail_settings = settings.mail.unwrap();
        assert_eq!(mail_settings.public_url, "https://booking.example.org");
        assert_eq!(
            mail_settings.booking_page_url.as_deref(),
            Some("http://example.org/#book")
        );
        assert!(Settings::from_toml(
            &mail("http://127.0.0.1:8787", "https://example.org/"),
            Path::new("/etc")
        )
        .is_ok());

        for (public, booking, key, says) in [
            (
                "http://booking.example.org",
                "https://example.org/",
                "mail.public_url",
                "https://",
            ),
            (
                "https://booking.example.org/?x=1",
                "https://example.org/",
                "mail.public_url",
                "without ? or #",
            ),
            (
                "booking.example.org",
                "https://example.org/",
                "mail.public_url",
                "not a URL",
            ),
            (
                "https://booking.example.org",
                "https://user:pw@example.org/",
                "mail.booking_page_url",
                "user name or password",
            ),
            (
                "https://booking.example.org",
                "mailto:book@example.org",
                "mail.booking_page_url",
                "https://",
            ),
        ] {
            let found = problems(&mail(public, booking));
            let line = if key == "mail.public_url" { 16 } else { 17 };
            assert_eq!(
                (found.len(), found[0].line, found[0].key.as_str()),
                (1, line, key),
                "{public} {booking}"
            );
            assert!(found[0].message.contains(says), "{}", found[0].message);
        }
    }
}
