//! The `[calendar]` section checked: which backend holds the practice's
//! calendar (`local` with its busy feeds, `caldav`, `google`, `microsoft`) and, for each,
//! the keys it needs, its secrets and its endpoints. A backend is a branch
//! here, its keys are fields of `RawCalendar` (`raw.rs`), its settings a
//! variant of `CalendarSettings` (`settings.rs`).

use std::path::Path;

use toml::Spanned;

use super::checks::Checker;
use super::raw::{defaults, RawCalendar};
use super::urls::UrlUse;
use super::{
    read_bounded, CalDavSettings, CalendarSettings, GoogleSettings, MicrosoftSettings, Secret,
    MAX_SECRET_BYTES,
};

impl Checker<'_> {
    pub(super) fn calendar(
        &mut self,
        raw: Option<RawCalendar>,
        base: &Path,
    ) -> Option<CalendarSettings> {
        let Some(raw) = raw else {
            return Some(CalendarSettings::Local {
                busy_feeds: Vec::new(),
                refresh_seconds: defaults::refresh(),
            });
        };
        self.calendar_at("calendar", raw, base)
    }

    /// A calendar section at `section` (`calendar`, or a clinician's own,
    /// `clinicians[0].calendar`), its problems under that name.
    pub(super) fn calendar_at(
        &mut self,
        section: &str,
        raw: RawCalendar,
        base: &Path,
    ) -> Option<CalendarSettings> {
        let key = |name: &str| format!("{section}.{name}");
        match raw.backend.get_ref().as_str() {
            "local" => {
                let mut feeds = Vec::new();
                for (i, url) in raw.busy_feeds.iter().enumerate() {
                    let key = format!("{section}.busy_feeds[{i}]");
                    if self.url(url, &key, UrlUse::SecretAddress).is_some() {
                        feeds.push(Secret::new(url.get_ref().clone()));
                    }
                }
                return (feeds.len() == raw.busy_feeds.len()).then(|| CalendarSettings::Local {
                    busy_feeds: feeds,
                    refresh_seconds: raw.refresh_seconds.max(5),
                });
            }
            "caldav" => {}
            "google" => return self.google(section, raw, base),
            "microsoft" => return self.microsoft(section, raw, base),
            other => {
                self.problem(
                    &raw.backend,
                    key("backend"),
                    format!(
                        "\"{other}\" is not a backend: use \"local\", \"caldav\", \"google\" or \"microsoft\""
                    ),
                );
                return None;
            }
        }
        let url = match raw.url {
            Some(url) => {
                self.url(&url, &key("url"), UrlUse::Secret)?;
                url.into_inner()
            }
            None => {
                return self.missing(
                    &raw.backend,
                    key("url"),
                    "the CalDAV calendar's address is needed",
                )
            }
        };
        let Some(user) = raw.user.map(Spanned::into_inner) else {
            return self.missing(&raw.backend, key("user"), "the CalDAV user name is needed");
        };
        let password = self.secret(
            raw.password_env,
            raw.password_file,
            base,
            &format!("{section}.password"),
        )?;
        Some(CalendarSettings::CalDav(CalDavSettings {
            url,
            user,
            password,
            refresh_seconds: raw.refresh_seconds.max(5),
            event_title: raw
                .event_title
                .unwrap_or_else(|| "Consultation request".into()),
            include_client_name: raw.include_client_name,
        }))
    }

    fn google(&mut self, section: &str, raw: RawCalendar, base: &Path) -> Option<CalendarSettings> {
        use crate::calendar::oauth::{Grant, ServiceAccountKey};
        let key = |name: &str| format!("{section}.{name}");
        let mut endpoint = |raw: Option<Spanned<String>>, name: &str, default: &str| match raw {
            Some(url) => self.url(&url, &key(name), UrlUse::Secret).map(String::from),
            None => Some(default.to_owned()),
        };
        let api_base = endpoint(
            raw.api_base,
            "api_base",
            "https://www.googleapis.com/calendar/v3",
        );
        let token_url = endpoint(
            raw.token_url,
            "token_url",
            "https://oauth2.googleapis.com/token",
        );
        let auth_url = endpoint(
            raw.auth_url,
            "auth_url",
            "https://accounts.google.com/o/oauth2/v2/auth",
        );
        let calendar_id = raw
            .calendar_id
            .unwrap_or_else(|| Spanned::new(0..0, "primary".into()));
        let grant = match raw.service_account_file {
            Some(file) => {
                if let Some(other) = raw.client_id.as_ref().or(raw.token_file.as_ref()) {
                    return self.missing(
                        other,
                        key("service_account_file"),
                        "give either service_account_file or client_id with token_file, not both",
                    );
                }
                if calendar_id.get_ref() == "primary" {
                    return self.missing(
                        &file,
                        key("calendar_id"),
                        "with a service account, calendar_id is the shared calendar's id (its address), not \"primary\"",
                    );
                }
                let path = base.join(file.get_ref());
                let parsed = read_bounded(&path, MAX_SECRET_BYTES)
                    .map_err(|error| format!("cannot read {}: {error}", path.display()))
                    .and_then(|text| ServiceAccountKey::parse(&text));
                match parsed {
                    Ok(key) => Grant::ServiceAccount(key),
                    Err(problem) => {
                        return self.missing(&file, key("service_account_file"), problem)
                    }
                }
            }
            None => {
                let Some(client_id) = raw.client_id else {
                    return self.missing(
                        &raw.backend,
                        key("client_id"),
                        "the OAuth client's id is needed (or service_account_file)",
                    );
                };
                let Some(token_file) = raw.token_file else {
                    return self.missing(
                        &raw.backend,
                        key("token_file"),
                        "where `firststep-adapter connect google` keeps the token is needed",
                    );
                };
                let client_secret = self.secret(
                    raw.client_secret_env,
                    raw.client_secret_file,
                    base,
                    &format!("{section}.client_secret"),
                )?;
                Grant::RefreshToken {
                    client_id: client_id.into_inner(),
                    client_secret: Some(client_secret),
                    token_file: base.join(token_file.get_ref()),
                }
            }
        };
        Some(CalendarSettings::Google(GoogleSettings {
            calendar_id: calendar_id.into_inner(),
            grant,
            refresh_seconds: raw.refresh_seconds.max(5),
            event_title: raw
                .event_title
                .unwrap_or_else(|| "Consultation request".into()),
            include_client_name: raw.include_client_name,
            api_base: api_base?,
            token_url: token_url?,
            auth_url: auth_url?,
        }))
    }

    /// Microsoft Graph: the practice's own account (device code: client_id
    /// and token_file) or the tenant's app (client credentials: client_id,
    /// a client secret, user and a named tenant).
    fn microsoft(
        &mut self,
        section: &str,
        raw: RawCalendar,
        base: &Path,
    ) -> Option<CalendarSettings> {
        use crate::calendar::oauth::Grant;
        let key = |name: &str| format!("{section}.{name}");
        for (other, name) in [
            (&raw.service_account_file, "service_account_file"),
            (&raw.api_base, "api_base"),
            (&raw.token_url, "token_url"),
            (&raw.auth_url, "auth_url"),
        ] {
            if let Some(other) = other {
                self.problem(
                    other,
                    key(name),
                    format!("{name} is a Google key; Microsoft's endpoints are graph_base and authority"),
                );
            }
        }
        let mut endpoint = |raw: Option<Spanned<String>>, name: &str, default: &str| match raw {
            Some(url) => self
                .url(&url, &key(name), UrlUse::Secret)
                .map(|url| String::from(url).trim_end_matches('/').to_owned()),
            None => Some(default.to_owned()),
        };
        let graph_base = endpoint(
            raw.graph_base,
            "graph_base",
            "https://graph.microsoft.com/v1.0",
        );
        let authority = endpoint(
            raw.authority,
            "authority",
            "https://login.microsoftonline.com",
        );
        let tenant = raw
            .tenant
            .unwrap_or_else(|| Spanned::new(raw.backend.span(), "common".into()));
        let tenant_shaped = !tenant.get_ref().is_empty()
            && tenant
                .get_ref()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if !tenant_shaped {
            self.problem(
                &tenant,
                key("tenant"),
                "tenant is \"common\", \"organizations\", \"consumers\", or the tenant's id or domain",
            );
        }
        let calendar_id = match raw.calendar_id {
            Some(id) if id.get_ref().trim().is_empty() => {
                return self.missing(
                    &id,
                    key("calendar_id"),
                    "calendar_id is a calendar's id; leave it out for the default calendar",
                )
            }
            id => id.map(Spanned::into_inner),
        };
        let Some(client_id) = raw.client_id else {
            return self.missing(
                &raw.backend,
                key("client_id"),
                "the app registration's id (Application (client) ID) is needed",
            );
        };
        let client_id = client_id.into_inner();
        let with_secret = raw.client_secret_env.is_some() || raw.client_secret_file.is_some();
        let (grant, user) = if with_secret {
            // Client credentials: the app reads the mailbox `user` of a named tenant.
            if let Some(file) = &raw.token_file {
                self.problem(
                    file,
                    key("token_file"),
                    "token_file is for an account connected with `connect microsoft`; with a client secret (a tenant's app) leave it out",
                );
            }
            let Some(user) = raw.user else {
                return self.missing(
                    &raw.backend,
                    key("user"),
                    "with a client secret (a tenant's app), user = the mailbox whose calendar is used is needed",
                );
            };
            if matches!(
                tenant.get_ref().as_str(),
                "common" | "organizations" | "consumers"
            ) {
                self.problem(
                    &tenant,
                    key("tenant"),
                    "with a client secret (a tenant's app), tenant is the tenant's id or domain, not \"common\", \"organizations\" or \"consumers\"",
                );
            }
            let client_secret = self.secret(
                raw.client_secret_env,
                raw.client_secret_file,
                base,
                &format!("{section}.client_secret"),
            )?;
            (
                Grant::ClientCredentials {
                    client_id,
                    client_secret,
                },
                Some(user.into_inner()),
            )
        } else {
            // The practice's own account, signed in with `connect microsoft`.
            if let Some(user) = &raw.user {
                self.problem(
                    user,
                    key("user"),
                    "user is for a tenant's app (with client_secret_file); an account connected with `connect microsoft` uses its own calendar",
                );
            }
            let Some(token_file) = raw.token_file else {
                return self.missing(
                    &raw.backend,
                    key("token_file"),
                    "where `firststep-adapter connect microsoft` keeps the token is needed (or client_secret_file with user, for a tenant's app)",
                );
            };
            (
                Grant::RefreshToken {
                    client_id,
                    client_secret: None,
                    token_file: base.join(token_file.get_ref()),
                },
                None,
            )
        };
        Some(CalendarSettings::Microsoft(MicrosoftSettings {
            calendar_id,
            user,
            tenant: tenant.into_inner(),
            grant,
            refresh_seconds: raw.refresh_seconds.max(5),
            event_title: raw
                .event_title
                .unwrap_or_else(|| "Consultation request".into()),
            include_client_name: raw.include_client_name,
            graph_base: graph_base?,
            authority: authority?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::{problems, GOOD};
    use crate::config::{CalendarSettings, Secret, Settings};
    use std::path::Path;

    #[test]
    fn a_caldav_calendar_needs_its_address_user_and_a_password_that_never_prints() {
        std::env::set_var("FIRSTSTEP_TEST_CALDAV_PASSWORD", "hunter2");
        let text = format!(
            "{GOOD}\n[calendar]\nbackend = \"caldav\"\nurl = \"https://dav.example.org/cal/\"\nuser = \"therapist\"\npassword_env = \"FIRSTSTEP_TEST_CALDAV_PASSWORD\"\n"
        );
        let settings = Settings::from_toml(&text, Path::new("/etc")).unwrap();
        let CalendarSettings::CalDav(caldav) = &settings.calendar else {
            panic!("a CalDAV calendar")
        };
        assert_eq!(caldav.password.expose(), "hunter2");
        assert_eq!(caldav.event_title, "Consultation request");
        assert!(!format!("{settings:?}").contains("hunter2"));

        let unset = text.replace(
            "FIRSTSTEP_TEST_CALDAV_PASSWORD",
            "FIRSTSTEP_TEST_UNSET_VARIABLE",
        );
        let found = problems(&unset);
        assert_eq!(found[0].key, "calendar.password_env");
        assert!(found[0]
            .message
            .contains("FIRSTSTEP_TEST_UNSET_VARIABLE is not set"));
        let found = problems(&format!("{GOOD}\n[calendar]\nbackend = \"exchange\"\n"));
        assert_eq!(found[0].key, "calendar.backend");
    }

    #[test]
    fn a_google_calendar_takes_the_issues_keys_and_never_prints_the_client_secret() {
        let folder = tempfile::tempdir().unwrap();
        std::fs::write(
            folder.path().join("oauth-client-secret"),
            "GOCSPX-hunter2\n",
        )
        .unwrap();
        let text = format!(
            "{GOOD}\n[calendar]\nbackend = \"google\"\nclient_id = \"123.apps.googleusercontent.com\"\n\
             client_secret_file = \"oauth-client-secret\"\ntoken_file = \"calendar-token.json\"\n\
             refresh_seconds = 30\nevent_title = \"Hold\"\n"
        );
        let settings = Settings::from_toml(&text, folder.path()).unwrap();
        let CalendarSettings::Google(google) = &settings.calendar else {
            panic!("a Google calendar")
        };
        assert_eq!(google.calendar_id, "primary");
        assert_eq!(google.api_base, "https://www.googleapis.com/calendar/v3");
        assert_eq!(google.token_url, "https://oauth2.googleapis.com/token");
        assert_eq!(
            google.auth_url,
            "https://accounts.google.com/o/oauth2/v2/auth"
        );
        assert_eq!(
            (google.refresh_seconds, google.event_title.as_str()),
            (30, "Hold")
        );
        let crate::calendar::oauth::Grant::RefreshToken {
            client_secret,
            token_file,
            ..
        } = &google.grant
        else {
            panic!("the practice's own account")
        };
        assert_eq!(
            client_secret.as_ref().map(Secret::expose),
            Some("GOCSPX-hunter2")
        );
        assert_eq!(token_file, &folder.path().join("calendar-token.json"));
        assert!(!format!("{settings:?}").contains("hunter2"));
    }

    #[test]
    fn google_problems_are_reported_at_their_keys() {
        let folder = tempfile::tempdir().unwrap();
        let base = format!("{GOOD}\n[calendar]\nbackend = \"google\"\n");
        let at = |text: &str| -> Vec<(usize, String)> {
            Settings::from_toml(text, folder.path())
                .unwrap_err()
                .into_iter()
                .map(|p| (p.line, p.key))
                .collect()
        };
        let line = |text: &str, needle: &str| {
            text.lines().position(|l| l.starts_with(needle)).unwrap() + 1
        };

        let no_client = base.clone();
        assert_eq!(
            at(&no_client),
            [(line(&no_client, "backend"), "calendar.client_id".to_owned())]
        );

        let bad_key = format!("{base}calendar_id = \"therapist@practice.example\"\nservice_account_file = \"sa.json\"\n");
        std::fs::write(folder.path().join("sa.json"), r#"{"client_email": "a@b.iam.gserviceaccount.com", "private_key": "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n"}"#).unwrap();
        assert_eq!(
            at(&bad_key),
            [(
                line(&bad_key, "service_account_file"),
                "calendar.service_account_file".to_owned()
            )]
        );

        let primary = format!("{base}service_account_file = \"sa.json\"\n");
        assert_eq!(
            at(&primary),
            [(
                line(&primary, "service_account_file"),
                "calendar.calendar_id".to_owned()
            )]
        );

        let both = format!("{base}calendar_id = \"x@y.example\"\nclient_id = \"c\"\nservice_account_file = \"sa.json\"\n");
        assert_eq!(
            at(&both),
            [(
                line(&both, "client_id"),
                "calendar.service_account_file".to_owned()
            )]
        );

        let plain = format!("{base}client_id = \"c\"\nclient_secret_env = \"PATH\"\ntoken_file = \"t\"\ntoken_url = \"http://oauth.example.org/token\"\n");
        assert_eq!(
            at(&plain),
            [(line(&plain, "token_url"), "calendar.token_url".to_owned())]
        );
    }

    #[test]
    fn a_microsoft_calendar_takes_the_issues_keys_with_microsofts_endpoints_by_default() {
        use crate::calendar::oauth::Grant;
        let folder = tempfile::tempdir().unwrap();
        let text = format!(
            "{GOOD}\n[calendar]\nbackend = \"microsoft\"\nclient_id = \"6731de76-14a6-49ae-97bc-6eba6914391e\"\n\
             token_file = \"calendar-token.json\"\nrefresh_seconds = 1\nevent_title = \"Hold\"\n"
        );
        let settings = Settings::from_toml(&text, folder.path()).unwrap();
        let CalendarSettings::Microsoft(graph) = &settings.calendar else {
            panic!("a Microsoft calendar")
        };
        assert_eq!(graph.calendar_id, None, "the default calendar");
        assert_eq!(graph.user, None);
        assert_eq!(graph.tenant, "common");
        assert_eq!(graph.graph_base, "https://graph.microsoft.com/v1.0");
        assert_eq!(graph.authority, "https://login.microsoftonline.com");
        assert_eq!(
            (graph.refresh_seconds, graph.event_title.as_str()),
            (5, "Hold"),
            "busy time is read at most every 5 s"
        );
        let Grant::RefreshToken {
            client_secret,
            token_file,
            ..
        } = &graph.grant
        else {
            panic!("the practice's own account")
        };
        assert!(client_secret.is_none(), "a public client: no secret");
        assert_eq!(token_file, &folder.path().join("calendar-token.json"));
    }

    #[test]
    fn a_tenants_app_takes_a_secret_a_mailbox_and_a_calendar_and_never_prints_the_secret() {
        use crate::calendar::oauth::Grant;
        let folder = tempfile::tempdir().unwrap();
        std::fs::write(folder.path().join("graph-secret"), "Qx8Q~hunter2\n").unwrap();
        let text = format!(
            "{GOOD}\n[calendar]\nbackend = \"microsoft\"\nclient_id = \"c\"\nclient_secret_file = \"graph-secret\"\n\
             tenant = \"practice.onmicrosoft.com\"\nuser = \"therapist@practice.example\"\ncalendar_id = \"AAMkAGI2\"\n\
             graph_base = \"https://graph.microsoft.us/v1.0/\"\nauthority = \"https://login.microsoftonline.us\"\n"
        );
        let settings = Settings::from_toml(&text, folder.path()).unwrap();
        let CalendarSettings::Microsoft(graph) = &settings.calendar else {
            panic!("a Microsoft calendar")
        };
        assert_eq!(graph.user.as_deref(), Some("therapist@practice.example"));
        assert_eq!(graph.calendar_id.as_deref(), Some("AAMkAGI2"));
        assert_eq!(graph.tenant, "practice.onmicrosoft.com");
        assert_eq!(graph.graph_base, "https://graph.microsoft.us/v1.0");
        assert_eq!(graph.authority, "https://login.microsoftonline.us");
        let Grant::ClientCredentials { client_secret, .. } = &graph.grant else {
            panic!("client credentials")
        };
        assert_eq!(client_secret.expose(), "Qx8Q~hunter2");
        assert!(!format!("{settings:?}").contains("hunter2"));
    }

    #[test]
    fn microsoft_problems_are_reported_at_their_keys() {
        let folder = tempfile::tempdir().unwrap();
        std::fs::write(folder.path().join("graph-secret"), "Qx8Q~hunter2\n").unwrap();
        let base = format!("{GOOD}\n[calendar]\nbackend = \"microsoft\"\n");
        let at = |text: &str| -> Vec<(usize, String)> {
            let problems = Settings::from_toml(text, folder.path()).unwrap_err();
            for problem in &problems {
                assert!(!problem.message.contains("hunter2"), "{problem:?}");
            }
            problems.into_iter().map(|p| (p.line, p.key)).collect()
        };
        let line = |text: &str, needle: &str| {
            text.lines().position(|l| l.starts_with(needle)).unwrap() + 1
        };
        let expect = |text: &str, needle: &str, key: &str| {
            assert_eq!(
                at(text),
                [(line(text, needle), format!("calendar.{key}"))],
                "{text}"
            );
        };

        expect(&base, "backend", "client_id");
        let device = format!("{base}client_id = \"c\"\n");
        expect(&device, "backend", "token_file");
        expect(
            &format!("{device}token_file = \"t\"\nuser = \"someone@practice.example\"\n"),
            "user",
            "user",
        );
        expect(
            &format!("{device}token_file = \"t\"\ntenant = \"a/b\"\n"),
            "tenant",
            "tenant",
        );
        expect(
            &format!("{device}token_file = \"t\"\ncalendar_id = \" \"\n"),
            "calendar_id",
            "calendar_id",
        );
        expect(
            &format!("{device}token_file = \"t\"\napi_base = \"https://www.googleapis.com/calendar/v3\"\n"),
            "api_base",
            "api_base",
        );
        expect(
            &format!(
                "{device}token_file = \"t\"\ngraph_base = \"http://graph.example.org/v1.0\"\n"
            ),
            "graph_base",
            "graph_base",
        );

        let app = format!("{device}client_secret_file = \"graph-secret\"\n");
        expect(&app, "backend", "user");
        let with_user = format!("{app}user = \"therapist@practice.example\"\n");
        // The default tenant, "common", cannot issue an app's own token.
        expect(&with_user, "backend", "tenant");
        expect(
            &format!("{with_user}tenant = \"organizations\"\n"),
            "tenant",
            "tenant",
        );
        let named = format!("{with_user}tenant = \"9188040d-6c67-4c5b-b112-36a304b66dad\"\n");
        assert!(Settings::from_toml(&named, folder.path()).is_ok());
        expect(
            &format!("{named}token_file = \"t\"\n"),
            "token_file",
            "token_file",
        );
    }
}
