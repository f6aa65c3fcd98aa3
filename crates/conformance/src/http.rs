//! [`Probe`]: every request of a run goes through it, so each answer is read
//! the same way (bounded in size and time) and what must hold for every
//! answer (no cookie, `nosniff`) is noted as it passes.

use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::HeaderMap;
pub(crate) use reqwest::Method;

use crate::verdict::{failed, NotPassed};

/// The most of a body the kit reads; the protocol's answers are far smaller.
const BODY_CAP: usize = 1024 * 1024;
/// The longest the kit waits for one answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// One answer, read whole.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    /// `METHOD /path`, for messages.
    pub(crate) request: String,
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    /// A header's value as text (the first, if repeated).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Every value of a comma-separated list header, lower-cased.
    pub(crate) fn header_list(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(|item| item.trim().to_ascii_lowercase())
            .filter(|item| !item.is_empty())
            .collect()
    }

    /// `409 application/problem+json {"type":…}`, the body cut short, for messages.
    pub(crate) fn describe(&self) -> String {
        const SHOWN: usize = 300;
        let text = String::from_utf8_lossy(&self.body);
        let mut shown: String = text.chars().take(SHOWN).collect();
        if text.chars().count() > SHOWN {
            shown.push('…');
        }
        let kind = self.header("content-type").unwrap_or("(no Content-Type)");
        format!("{} → {} {kind} {shown}", self.request, self.status)
    }
}

/// The server under test, and what was seen of it.
pub(crate) struct Probe {
    client: reqwest::Client,
    base: String,
    seen: Mutex<Seen>,
}

/// Answers that broke a rule every answer must keep, by request.
#[derive(Debug, Default, Clone)]
pub(crate) struct Seen {
    /// Requests (each once) answered with `Set-Cookie`.
    pub(crate) cookies: Vec<String>,
    /// Requests (each once) answered without `X-Content-Type-Options: nosniff`.
    pub(crate) sniffable: Vec<String>,
    /// How many answers were read.
    pub(crate) answers: usize,
}

impl Probe {
    /// `base` is the server's address, like `https://adapter.example.org`.
    pub(crate) fn new(base: &str) -> Result<Self, String> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(format!("{base:?} is not an http:// or https:// address"));
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|error| format!("setting up the HTTP client: {error}"))?;
        Ok(Self {
            client,
            base,
            seen: Mutex::default(),
        })
    }

    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// Whether `location` (absolute, or relative to the server's address)
    /// names `path` on the server, also when the server lives under a prefix.
    pub(crate) fn leads_to(&self, location: &str, path: &str) -> bool {
        let resolved =
            reqwest::Url::parse(&format!("{}/", self.base)).and_then(|base| base.join(location));
        let wanted = reqwest::Url::parse(&format!("{}{path}", self.base));
        matches!((resolved, wanted), (Ok(resolved), Ok(wanted)) if resolved == wanted)
    }

    /// A request to `path` (with its query) on the server.
    pub(crate) fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    /// Sends `request` and reads its answer; a transport error fails the check.
    pub(crate) async fn send(&self, request: reqwest::RequestBuilder) -> Result<Answer, NotPassed> {
        let request = request
            .build()
            .map_err(|error| failed("a request the kit can send", error.to_string()))?;
        let label = format!("{} {}", request.method(), request.url().path());
        let mut response = self.client.execute(request).await.map_err(|error| {
            failed(format!("{label}: an answer"), format!("no answer: {error}"))
        })?;
        let mut body = Vec::new();
        loop {
            let chunk = response.chunk().await.map_err(|error| {
                failed(
                    format!("{label}: a whole body"),
                    format!("reading it failed: {error}"),
                )
            })?;
            let Some(chunk) = chunk else { break };
            if body.len().saturating_add(chunk.len()) > BODY_CAP {
                return Err(failed(
                    format!("{label}: a body under {BODY_CAP} bytes"),
                    "a larger one",
                ));
            }
            body.extend_from_slice(&chunk);
        }
        let answer = Answer {
            request: label,
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body,
        };
        self.note(&answer);
        Ok(answer)
    }

    pub(crate) async fn get(&self, path: &str) -> Result<Answer, NotPassed> {
        self.send(self.request(Method::GET, path)).await
    }

    /// `POST /v1/bookings` with `body` as it is, and the key if given.
    pub(crate) async fn post_booking(
        &self,
        key: Option<&str>,
        body: &[u8],
    ) -> Result<Answer, NotPassed> {
        let mut request = self
            .request(Method::POST, "/v1/bookings")
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        self.send(request).await
    }

    /// What was seen so far.
    pub(crate) fn seen(&self) -> Seen {
        self.seen
            .lock()
            .map(|seen| seen.clone())
            .unwrap_or_default()
    }

    fn note(&self, answer: &Answer) {
        let Ok(mut seen) = self.seen.lock() else {
            return;
        };
        seen.answers = seen.answers.saturating_add(1);
        if answer.headers.contains_key("set-cookie") && !seen.cookies.contains(&answer.request) {
            seen.cookies.push(answer.request.clone());
        }
        let sniffable = answer.header("x-content-type-options") != Some("nosniff");
        if sniffable && !seen.sniffable.contains(&answer.request) {
            seen.sniffable.push(answer.request.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Probe;

    #[test]
    fn a_location_leads_to_a_path_absolute_or_relative_also_under_a_prefix() {
        let probe = Probe::new("https://a.example/p/riverside/").unwrap();
        let path = "/v1/bookings/bk_1";
        for location in [
            "/p/riverside/v1/bookings/bk_1",
            "v1/bookings/bk_1",
            "https://a.example/p/riverside/v1/bookings/bk_1",
        ] {
            assert!(probe.leads_to(location, path), "{location}");
        }
        for location in [
            "/v1/bookings/bk_1",
            "/p/riverside/v1/bookings/bk_2",
            "https://b.example/p/riverside/v1/bookings/bk_1",
            "",
        ] {
            assert!(!probe.leads_to(location, path), "{location}");
        }
    }
}
