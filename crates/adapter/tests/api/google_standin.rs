//! A stand-in for Google's OAuth 2.0 endpoints and Calendar API v3, started
//! by the tests on 127.0.0.1 (Google cannot be reached from the test
//! machines). It imitates the documented behaviour of exactly the endpoints
//! the adapter uses; each behaviour cites its page. Test-only knobs (failures
//! to inject, a clock to move, tokens to revoke) are methods on
//! [`GoogleStandIn`].
//!
//! Pages cited (as `[name]` below):
//!
//! [errors]: https://developers.google.com/calendar/api/guides/errors
//! [etags]: https://developers.google.com/calendar/api/guides/version-resources
//! [event]: https://developers.google.com/calendar/api/v3/reference/events
//! [insert]: https://developers.google.com/calendar/api/v3/reference/events/insert
//! [list]: https://developers.google.com/calendar/api/v3/reference/events/list
//! [patch]: https://developers.google.com/calendar/api/v3/reference/events/patch
//! [delete]: https://developers.google.com/calendar/api/v3/reference/events/delete
//! [native]: https://developers.google.com/identity/protocols/oauth2/native-app
//! [sa]: https://developers.google.com/identity/protocols/oauth2/service-account
//!
//! And RFC 6749 §5.2 (token error answers), RFC 7636 §4.6 (PKCE S256).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{json, Value};

pub const CLIENT_ID: &str = "standin-client.apps.googleusercontent.com";
pub const CLIENT_SECRET: &str = "GOCSPX-standin-client-secret";
/// The stand-in's one calendar answers to "primary" and to this address.
pub const CALENDAR_ADDRESS: &str = "therapist@practice.example";

/// A failure the next Calendar API call answers with.
#[derive(Debug, Clone, Copy)]
pub enum Failure {
    /// [errors] "429: Too many requests … rateLimitExceeded", with `Retry-After` seconds.
    TooManyRequests { retry_after: u64 },
    /// [errors] "403: User Rate Limit Exceeded … userRateLimitExceeded".
    UserRateLimit,
    /// [errors] "500: Backend error" (here as 503, the same advice: retry with backoff).
    Backend,
    /// The next insert is carried out, but its answer is lost (answered
    /// 503), as when a connection drops after Google acted.
    AnswerLost,
}

#[derive(Default)]
struct Inner {
    /// Stand-in clock, seconds added to real time (to expire tokens without sleeping).
    offset: i64,
    token_lifetime: i64,
    codes: HashMap<String, PendingCode>,
    refresh_tokens: HashMap<String, bool>,
    access_tokens: HashMap<String, i64>,
    service_account: Option<(String, Vec<u8>)>,
    /// Events by id, deleted ones kept with status "cancelled" ([delete]).
    events: BTreeMap<String, Value>,
    next_etag: u64,
    failures: VecDeque<Failure>,
    down: bool,
    page_size: usize,
    /// Every Calendar API request: method, path, If-Match, status.
    requests: Vec<(String, String, Option<String>, u16)>,
    /// Every token grant type that succeeded.
    grants: Vec<String>,
    unauthorized: usize,
}

struct PendingCode {
    redirect_uri: String,
    challenge: String,
}

#[derive(Clone)]
pub struct GoogleStandIn {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

impl GoogleStandIn {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            token_lifetime: 3600,
            page_size: 250,
            ..Inner::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/auth", get(authorize))
            .route("/token", axum::routing::post(token))
            .route(
                "/calendar/v3/calendars/{calendar}/events",
                get(list).post(insert),
            )
            .route(
                "/calendar/v3/calendars/{calendar}/events/{id}",
                get(fetch).patch(patch).delete(delete),
            )
            // Not Google's: lets the end-to-end test, in another process, look into the calendar.
            .route("/standin/events", get(all_events))
            .with_state(inner.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { base, inner }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap()
    }

    /// A refresh token as a consent would have issued it.
    pub fn issue_refresh_token(&self) -> String {
        let token = random("1//refresh-");
        self.lock().refresh_tokens.insert(token.clone(), true);
        token
    }

    pub fn knows_refresh_token(&self, token: &str) -> bool {
        self.lock().refresh_tokens.get(token) == Some(&true)
    }

    /// The practice removes the app's access: every refresh token dies.
    pub fn revoke_refresh_tokens(&self) {
        for valid in self.lock().refresh_tokens.values_mut() {
            *valid = false;
        }
    }

    /// Moves the stand-in's clock on, so issued access tokens lapse.
    pub fn advance(&self, seconds: i64) {
        self.lock().offset += seconds;
    }

    pub fn set_token_lifetime(&self, seconds: i64) {
        self.lock().token_lifetime = seconds;
    }

    pub fn trust_service_account(&self, email: &str, public_key_der: Vec<u8>) {
        self.lock().service_account = Some((email.to_owned(), public_key_der));
    }

    pub fn fail_next(&self, failure: Failure) {
        self.lock().failures.push_back(failure);
    }

    /// While down, every request (token or API) answers 503.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    pub fn set_page_size(&self, size: usize) {
        self.lock().page_size = size;
    }

    /// Adds one of the practice's own events (fills id, etag, status).
    pub fn add_event(&self, mut event: Value) -> String {
        let mut inner = self.lock();
        let id = event["id"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| random("own"));
        inner.next_etag += 1;
        event["id"] = id.clone().into();
        event["etag"] = format!("\"{}\"", inner.next_etag).into();
        event["kind"] = "calendar#event".into();
        if event.get("status").is_none() {
            event["status"] = "confirmed".into();
        }
        inner.events.insert(id.clone(), event);
        id
    }

    /// The practice edits an event in Google Calendar: `changes` replace its
    /// fields and it gets a new etag.
    pub fn edit_event(&self, id: &str, changes: Value) {
        let mut inner = self.lock();
        inner.next_etag += 1;
        let etag = format!("\"{}\"", inner.next_etag);
        let event = inner.events.get_mut(id).expect("an event to edit");
        for (key, value) in changes.as_object().unwrap() {
            event[key.as_str()] = value.clone();
        }
        event["etag"] = etag.into();
    }

    /// The stored event of a booking, deleted ones included.
    pub fn booking_event(&self, booking_id: &str) -> Option<Value> {
        let id = firststep_adapter::calendar::google::event_id(booking_id);
        self.lock().events.get(&id).cloned()
    }

    pub fn event_count(&self) -> usize {
        self.lock().events.len()
    }

    pub fn requests(&self) -> Vec<(String, String, Option<String>, u16)> {
        self.lock().requests.clone()
    }

    pub fn grants(&self) -> Vec<String> {
        self.lock().grants.clone()
    }

    pub fn unauthorized(&self) -> usize {
        self.lock().unauthorized
    }

    /// The `[calendar]` table for the practice's own account, with the
    /// client secret and (when given) a refresh token written into `folder`.
    pub fn calendar_table(&self, folder: &std::path::Path, refresh_token: Option<&str>) -> String {
        let (secret, token) = (
            folder.join("oauth-client-secret"),
            folder.join("calendar-token.json"),
        );
        std::fs::write(&secret, format!("{CLIENT_SECRET}\n")).unwrap();
        if let Some(refresh) = refresh_token {
            std::fs::write(&token, json!({"refresh_token": refresh}).to_string()).unwrap();
        }
        format!(
            "[calendar]\nbackend = \"google\"\ncalendar_id = \"primary\"\nclient_id = \"{CLIENT_ID}\"\n\
             client_secret_file = {secret:?}\ntoken_file = {token:?}\n\
             refresh_seconds = 5\napi_base = \"{base}/calendar/v3\"\ntoken_url = \"{base}/token\"\nauth_url = \"{base}/auth\"\n",
            secret = secret.display().to_string(),
            token = token.display().to_string(),
            base = self.base
        )
    }
}

fn now(inner: &Inner) -> i64 {
    Utc::now().timestamp() + inner.offset
}

fn random(prefix: &str) -> String {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).unwrap();
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// [errors] "A JSON object in the response body": `{"error": {"errors":
/// [{"domain", "reason", "message"}], "code", "message"}}`.
fn google_error(status: StatusCode, domain: &str, reason: &str, message: &str) -> Response {
    let body = json!({"error": {
        "errors": [{"domain": domain, "reason": reason, "message": message}],
        "code": status.as_u16(),
        "message": message,
    }});
    (
        status,
        [("content-type", "application/json; charset=UTF-8")],
        body.to_string(),
    )
        .into_response()
}

/// RFC 6749 §5.2: `{"error": code, "error_description": text}`, 400 (401 for a bad client).
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = json!({"error": error, "error_description": description});
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// [native] Step 2, "Send a request to Google's OAuth 2.0 server": the
/// consent page. The practice's "Allow" is taken as given: it redirects to
/// `redirect_uri` with `code` and `state` (Step 4, "Handle the OAuth 2.0
/// server response"). Loopback redirects are `http://127.0.0.1:port`
/// ("Loopback IP address"); `code_challenge_method` is "S256" or "plain"
/// and the challenge is required here, as the adapter always sends one.
async fn authorize(
    State(inner): State<Arc<Mutex<Inner>>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let value = |k: &str| query.get(k).cloned().unwrap_or_default();
    if value("client_id") != CLIENT_ID {
        return (StatusCode::BAD_REQUEST, "Error 401: invalid_client").into_response();
    }
    let redirect = value("redirect_uri");
    let loopback = url::Url::parse(&redirect).is_ok_and(|u| {
        u.scheme() == "http" && u.host_str() == Some("127.0.0.1") && u.port().is_some()
    });
    if !loopback
        || value("response_type") != "code"
        || value("code_challenge_method") != "S256"
        || value("code_challenge").is_empty()
        || value("scope") != "https://www.googleapis.com/auth/calendar.events"
    {
        return (StatusCode::BAD_REQUEST, "Error 400: invalid_request").into_response();
    }
    let code = random("4/code-");
    inner.lock().unwrap().codes.insert(
        code.clone(),
        PendingCode {
            redirect_uri: redirect.clone(),
            challenge: value("code_challenge"),
        },
    );
    let mut back = url::Url::parse(&redirect).unwrap();
    back.query_pairs_mut()
        .append_pair("state", &value("state"))
        .append_pair("code", &code)
        .append_pair("scope", &value("scope"));
    (StatusCode::FOUND, [("location", back.to_string())]).into_response()
}

/// The token endpoint. Grants:
/// - `authorization_code` ([native] Step 5, "Exchange authorization code
///   for refresh and access tokens": `code`, `client_id`, `client_secret`,
///   `code_verifier`, `redirect_uri`; the answer has `access_token`,
///   `expires_in`, `refresh_token`, `scope`, `token_type`), the verifier
///   checked as RFC 7636 §4.6: BASE64URL(SHA256(verifier)) == challenge;
/// - `refresh_token` ([native] "Refreshing an access token"; a revoked one
///   answers 400 `invalid_grant`, "Token has been expired or revoked.");
/// - `urn:ietf:params:oauth:grant-type:jwt-bearer` ([sa] "Preparing to make
///   an authorized API call": a JWT `{"alg":"RS256","typ":"JWT"}` with
///   claims `iss`, `scope`, `aud` (the token endpoint), `exp` at most an
///   hour after `iat`, signed RSA SHA-256; the answer has no refresh token).
async fn token(
    State(inner): State<Arc<Mutex<Inner>>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut inner = inner.lock().unwrap();
    if inner.down {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let value = |k: &str| form.get(k).cloned().unwrap_or_default();
    let client_ok = value("client_id") == CLIENT_ID && value("client_secret") == CLIENT_SECRET;
    let grant = value("grant_type");
    let refresh = match grant.as_str() {
        "authorization_code" => {
            if !client_ok {
                return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Unauthorized");
            }
            let Some(pending) = inner.codes.remove(&value("code")) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Malformed auth code.",
                );
            };
            let digest =
                ring::digest::digest(&ring::digest::SHA256, value("code_verifier").as_bytes());
            if URL_SAFE_NO_PAD.encode(digest) != pending.challenge {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid code verifier.",
                );
            }
            if value("redirect_uri") != pending.redirect_uri {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "redirect_uri_mismatch",
                    "Bad Request",
                );
            }
            let token = random("1//refresh-");
            inner.refresh_tokens.insert(token.clone(), true);
            Some(token)
        }
        "refresh_token" => {
            if !client_ok {
                return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Unauthorized");
            }
            if inner.refresh_tokens.get(&value("refresh_token")) != Some(&true) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Token has been expired or revoked.",
                );
            }
            None
        }
        "urn:ietf:params:oauth:grant-type:jwt-bearer" => {
            let now = now(&inner);
            if let Err(why) = verify_assertion(&inner, &value("assertion"), now) {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", why);
            }
            None
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Invalid grant_type",
            )
        }
    };
    let access = random("ya29.");
    let expires = now(&inner) + inner.token_lifetime;
    inner.access_tokens.insert(access.clone(), expires);
    inner.grants.push(grant);
    let mut body = json!({
        "access_token": access,
        "expires_in": inner.token_lifetime,
        "token_type": "Bearer",
        "scope": "https://www.googleapis.com/auth/calendar.events",
    });
    if let Some(refresh) = refresh {
        body["refresh_token"] = refresh.into();
    }
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn verify_assertion(inner: &Inner, assertion: &str, now: i64) -> Result<(), &'static str> {
    let (email, key) = inner
        .service_account
        .as_ref()
        .ok_or("Invalid JWT Signature.")?;
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header, claims, signature] = parts[..] else {
        return Err(
            "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.",
        );
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| "Invalid JWT Signature.")
    };
    let signed = format!("{header}.{claims}");
    ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, key)
        .verify(signed.as_bytes(), &decode(signature)?)
        .map_err(|_| "Invalid JWT Signature.")?;
    let header: Value =
        serde_json::from_slice(&decode(header)?).map_err(|_| "Invalid JWT Signature.")?;
    let claims: Value =
        serde_json::from_slice(&decode(claims)?).map_err(|_| "Invalid JWT Signature.")?;
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap_or(0),
        claims["exp"].as_i64().unwrap_or(0),
    );
    if header["alg"] != "RS256"
        || claims["iss"] != email.as_str()
        || claims["aud"]
            .as_str()
            .is_none_or(|aud| !aud.ends_with("/token"))
        || claims["scope"] != "https://www.googleapis.com/auth/calendar.events"
        || exp <= now
        || exp - iat > 3600
    {
        return Err(
            "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.",
        );
    }
    Ok(())
}

/// Checks the calendar, the bearer token and injected failures; logs the
/// request. `Some` is the refusal to answer with.
/// [errors] "401: Invalid Credentials … The access token you're using is
/// either expired or invalid" (`authError`); "404: Not Found" (`notFound`).
fn admit(
    inner: &mut Inner,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    calendar: &str,
) -> Option<Response> {
    let if_match = headers
        .get("if-match")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let log = |status: u16| {
        (
            method.to_string(),
            path.to_owned(),
            if_match.clone(),
            status,
        )
    };
    let outcome = (|| {
        if inner.down {
            return Some(google_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "global",
                "backendError",
                "Backend Error",
            ));
        }
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if inner
            .access_tokens
            .get(token)
            .is_none_or(|expires| *expires <= now(inner))
        {
            inner.unauthorized += 1;
            return Some(google_error(
                StatusCode::UNAUTHORIZED,
                "global",
                "authError",
                "Invalid Credentials",
            ));
        }
        if calendar != "primary" && calendar != CALENDAR_ADDRESS {
            return Some(google_error(
                StatusCode::NOT_FOUND,
                "global",
                "notFound",
                "Not Found",
            ));
        }
        match inner.failures.front().copied() {
            Some(Failure::TooManyRequests { retry_after }) => {
                inner.failures.pop_front();
                let mut response = google_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "usageLimits",
                    "rateLimitExceeded",
                    "Rate Limit Exceeded",
                );
                response
                    .headers_mut()
                    .insert("retry-after", retry_after.to_string().parse().unwrap());
                Some(response)
            }
            Some(Failure::UserRateLimit) => {
                inner.failures.pop_front();
                Some(google_error(
                    StatusCode::FORBIDDEN,
                    "usageLimits",
                    "userRateLimitExceeded",
                    "User Rate Limit Exceeded",
                ))
            }
            Some(Failure::Backend) => {
                inner.failures.pop_front();
                Some(google_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "global",
                    "backendError",
                    "Backend Error",
                ))
            }
            Some(Failure::AnswerLost) | None => None,
        }
    })();
    let status = outcome.as_ref().map_or(0, |r| r.status().as_u16());
    let entry = log(status);
    inner.requests.push(entry);
    outcome
}

/// After a handler acted: for an insert (`lose`), an injected `AnswerLost`
/// replaces its answer.
fn deliver(inner: &mut Inner, response: Response) -> Response {
    finish(inner, response, false)
}

fn finish(inner: &mut Inner, response: Response, lose: bool) -> Response {
    let response = match inner.failures.front() {
        Some(Failure::AnswerLost) if lose => {
            inner.failures.pop_front();
            google_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "global",
                "backendError",
                "Backend Error",
            )
        }
        _ => response,
    };
    if let Some(last) = inner.requests.last_mut() {
        last.3 = response.status().as_u16();
    }
    response
}

fn ok(event: &Value) -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/json; charset=UTF-8")],
        event.to_string(),
    )
        .into_response()
}

/// An event's start or end; all-day dates at midnight in the calendar's
/// zone, which is UTC here ([event] `start.date`: "The date, in the format
/// yyyy-mm-dd, if this is an all-day event").
fn instant(time: &Value) -> Option<DateTime<Utc>> {
    if let Some(text) = time["dateTime"].as_str() {
        return DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(time["date"].as_str()?, "%Y-%m-%d").ok()?;
    Some(day.and_hms_opt(0, 0, 0)?.and_utc())
}

/// [list] `singleEvents`: "Whether to expand recurring events into
/// instances and only return single one-off events and instances of
/// recurring events, but not the underlying recurring events themselves."
/// Instances carry `recurringEventId` and `originalStartTime` ([event]).
/// The stand-in knows one recurrence rule, `RRULE:FREQ=DAILY;COUNT=n`.
fn instances(event: &Value) -> Vec<Value> {
    let Some(rule) = event["recurrence"][0].as_str() else {
        return vec![event.clone()];
    };
    let count: i64 = rule
        .strip_prefix("RRULE:FREQ=DAILY;COUNT=")
        .and_then(|n| n.parse().ok())
        .expect("the stand-in knows RRULE:FREQ=DAILY;COUNT=n only");
    let (start, end) = (
        instant(&event["start"]).unwrap(),
        instant(&event["end"]).unwrap(),
    );
    (0..count)
        .map(|day| {
            let (s, e) = (start + Duration::days(day), end + Duration::days(day));
            let mut one = event.clone();
            let fields = one.as_object_mut().unwrap();
            fields.remove("recurrence");
            fields.insert(
                "id".into(),
                format!(
                    "{}_{}",
                    event["id"].as_str().unwrap(),
                    s.format("%Y%m%dT%H%M%SZ")
                )
                .into(),
            );
            fields.insert("recurringEventId".into(), event["id"].clone());
            fields.insert(
                "originalStartTime".into(),
                json!({"dateTime": s.to_rfc3339()}),
            );
            fields.insert("start".into(), json!({"dateTime": s.to_rfc3339()}));
            fields.insert("end".into(), json!({"dateTime": e.to_rfc3339()}));
            one
        })
        .collect()
}

/// [list] `GET …/calendars/calendarId/events`. `timeMin`: "Lower bound
/// (exclusive) for an event's end time to filter by"; `timeMax`: "Upper
/// bound (exclusive) for an event's start time to filter by". `showDeleted`:
/// "Whether to include deleted events (with status equals "cancelled") in
/// the result … The default is False." `maxResults`: "The number of events
/// in the resulting page may be less than this value, or none at all, even
/// if there are more events matching the query. Incomplete pages can be
/// detected by a non-empty nextPageToken field in the response. By default
/// the value is 250 events. The page size can never be larger than 2500
/// events." (The stand-in's own page size can be set smaller, to test paging.)
async fn list(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    headers: HeaderMap,
    Path(calendar): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut inner = inner.lock().unwrap();
    if let Some(response) = admit(&mut inner, &method, "events.list", &headers, &calendar) {
        return response;
    }
    let bound = |k: &str| {
        query
            .get(k)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let (from, to) = (bound("timeMin"), bound("timeMax"));
    let single = query.get("singleEvents").is_some_and(|v| v == "true");
    let show_deleted = query.get("showDeleted").is_some_and(|v| v == "true");
    let mut matching: Vec<Value> = inner
        .events
        .values()
        .flat_map(|e| {
            if single {
                instances(e)
            } else {
                vec![e.clone()]
            }
        })
        .filter(|e| show_deleted || e["status"] != "cancelled")
        .filter(|e| {
            let (Some(start), Some(end)) = (instant(&e["start"]), instant(&e["end"])) else {
                return false;
            };
            // A recurring event's master matches through its later instances too.
            let end = if e.get("recurrence").is_some() {
                end + Duration::days(3650)
            } else {
                end
            };
            from.is_none_or(|f| end > f) && to.is_none_or(|t| start < t)
        })
        .collect();
    matching.sort_by_key(|e| (instant(&e["start"]), e["id"].as_str().map(str::to_owned)));
    let asked = query
        .get("maxResults")
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(250)
        .min(2500);
    let size = asked.min(inner.page_size).max(1);
    let offset = match query.get("pageToken") {
        None => 0,
        Some(token) => match token
            .strip_prefix("page-")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(offset) => offset,
            None => {
                return deliver(
                    &mut inner,
                    google_error(
                        StatusCode::BAD_REQUEST,
                        "global",
                        "invalid",
                        "Invalid Value",
                    ),
                )
            }
        },
    };
    let page: Vec<Value> = matching.iter().skip(offset).take(size).cloned().collect();
    let mut body = json!({"kind": "calendar#events", "timeZone": "UTC", "items": page});
    if offset + size < matching.len() {
        body["nextPageToken"] = format!("page-{}", offset + size).into();
    }
    deliver(&mut inner, ok(&body))
}

/// [insert] `POST …/events`. [event] `id`: "characters allowed in the ID
/// are those used in base32hex encoding, i.e. lowercase letters a-v and
/// digits 0-9 … the length of the ID must be between 5 and 1024
/// characters … the ID must be unique per calendar". [etags]: "There is no
/// support for conditional modifications for insert operations. Instead, it
/// is guaranteed that if you are allowed to provide a resource ID, then the
/// operation will only succeed if no existing entry has that ID" — answered
/// 409 `duplicate`, "The requested identifier already exists." ([errors]
/// "409: The requested identifier already exists"); deleted events keep
/// their id. `status` defaults to "confirmed".
async fn insert(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    headers: HeaderMap,
    Path(calendar): Path<String>,
    body: Bytes,
) -> Response {
    let mut inner = inner.lock().unwrap();
    if let Some(response) = admit(&mut inner, &method, "events.insert", &headers, &calendar) {
        return response;
    }
    let Ok(mut event) = serde_json::from_slice::<Value>(&body) else {
        return deliver(
            &mut inner,
            google_error(
                StatusCode::BAD_REQUEST,
                "global",
                "parseError",
                "Parse Error",
            ),
        );
    };
    if instant(&event["start"]).is_none() || instant(&event["end"]).is_none() {
        return deliver(
            &mut inner,
            google_error(
                StatusCode::BAD_REQUEST,
                "global",
                "required",
                "Missing end time.",
            ),
        );
    }
    let id = match event["id"].as_str() {
        Some(id) => id.to_owned(),
        None => random("")
            .to_lowercase()
            .replace(|c: char| !matches!(c, '0'..='9' | 'a'..='v'), "0"),
    };
    if !(5..=1024).contains(&id.len()) || !id.chars().all(|c| matches!(c, '0'..='9' | 'a'..='v')) {
        return deliver(
            &mut inner,
            google_error(
                StatusCode::BAD_REQUEST,
                "global",
                "invalid",
                "Invalid resource id value.",
            ),
        );
    }
    if inner.events.contains_key(&id) {
        return deliver(
            &mut inner,
            google_error(
                StatusCode::CONFLICT,
                "global",
                "duplicate",
                "The requested identifier already exists.",
            ),
        );
    }
    inner.next_etag += 1;
    event["id"] = id.clone().into();
    event["etag"] = format!("\"{}\"", inner.next_etag).into();
    event["kind"] = "calendar#event".into();
    if event.get("status").is_none() {
        event["status"] = "confirmed".into();
    }
    inner.events.insert(id, event.clone());
    finish(&mut inner, ok(&event), true)
}

/// `GET …/events/eventId`: the event, deleted ones too (status "cancelled").
async fn fetch(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    headers: HeaderMap,
    Path((calendar, id)): Path<(String, String)>,
) -> Response {
    let mut inner = inner.lock().unwrap();
    if let Some(response) = admit(&mut inner, &method, "events.get", &headers, &calendar) {
        return response;
    }
    let response = match inner.events.get(&id) {
        Some(event) => ok(event),
        None => google_error(StatusCode::NOT_FOUND, "global", "notFound", "Not Found"),
    };
    deliver(&mut inner, response)
}

/// [patch] `PATCH …/events/eventId`: "Updates an event. This method
/// supports patch semantics" — fields in the body replace the event's.
/// [etags] "If you want to update or delete a resource only if it has not
/// changed since you last retrieved it, you can specify an If-Match header
/// … Otherwise, you will get a 412 (Precondition failed) response code."
/// The answer is the new version "with the new etag".
async fn patch(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    headers: HeaderMap,
    Path((calendar, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let mut inner = inner.lock().unwrap();
    if let Some(response) = admit(&mut inner, &method, "events.patch", &headers, &calendar) {
        return response;
    }
    let Ok(Value::Object(changes)) = serde_json::from_slice::<Value>(&body) else {
        return deliver(
            &mut inner,
            google_error(
                StatusCode::BAD_REQUEST,
                "global",
                "parseError",
                "Parse Error",
            ),
        );
    };
    let etag = inner.next_etag + 1;
    let Some(event) = inner.events.get_mut(&id) else {
        return deliver(
            &mut inner,
            google_error(StatusCode::NOT_FOUND, "global", "notFound", "Not Found"),
        );
    };
    if let Some(expected) = headers.get("if-match").and_then(|v| v.to_str().ok()) {
        if event["etag"] != expected {
            return deliver(
                &mut inner,
                google_error(
                    StatusCode::PRECONDITION_FAILED,
                    "global",
                    "conditionNotMet",
                    "Precondition Failed",
                ),
            );
        }
    }
    for (key, value) in changes {
        if key != "id" && key != "etag" {
            event[key.as_str()] = value;
        }
    }
    event["etag"] = format!("\"{etag}\"").into();
    let event = event.clone();
    inner.next_etag = etag;
    deliver(&mut inner, ok(&event))
}

/// [delete] `DELETE …/events/eventId`: "If successful, this method returns
/// an empty response body" (204). A deleted event stays with status
/// "cancelled" ([list] `showDeleted`), and deleting it again answers 410
/// `deleted`, "Resource has been deleted" ([errors] "410: Gone").
async fn delete(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    headers: HeaderMap,
    Path((calendar, id)): Path<(String, String)>,
) -> Response {
    let mut inner = inner.lock().unwrap();
    if let Some(response) = admit(&mut inner, &method, "events.delete", &headers, &calendar) {
        return response;
    }
    let etag = inner.next_etag + 1;
    let response = match inner.events.get_mut(&id) {
        None => google_error(StatusCode::NOT_FOUND, "global", "notFound", "Not Found"),
        Some(event) if event["status"] == "cancelled" => google_error(
            StatusCode::GONE,
            "global",
            "deleted",
            "Resource has been deleted",
        ),
        Some(event) => {
            event["status"] = "cancelled".into();
            event["etag"] = format!("\"{etag}\"").into();
            StatusCode::NO_CONTENT.into_response()
        }
    };
    if response.status() == StatusCode::NO_CONTENT {
        inner.next_etag = etag;
    }
    deliver(&mut inner, response)
}

/// Every stored event, deleted ones included (the stand-in's own route).
async fn all_events(State(inner): State<Arc<Mutex<Inner>>>) -> Response {
    let events: Vec<Value> = inner.lock().unwrap().events.values().cloned().collect();
    ok(&json!({"items": events}))
}

/// The ids of the calendar's live (not deleted) events.
pub fn live_ids(standin: &GoogleStandIn) -> HashSet<String> {
    standin
        .lock()
        .events
        .iter()
        .filter(|(_, e)| e["status"] != "cancelled")
        .map(|(id, _)| id.clone())
        .collect()
}
