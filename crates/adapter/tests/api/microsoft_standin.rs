//! A stand-in for the Microsoft identity platform (v2.0 token and
//! device-code endpoints) and Microsoft Graph v1.0 calendars, started by the
//! tests on 127.0.0.1 (Microsoft cannot be reached from the test machines).
//! It imitates the documented behaviour of exactly the endpoints the
//! adapter uses; each behaviour cites its page. Test-only knobs (failures
//! to inject, a clock to move, tokens to revoke, a sign-in to approve) are
//! methods on [`MicrosoftStandIn`].
//!
//! Pages cited (as `[name]` below):
//!
//! [device]: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code
//! [refresh]: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#refresh-the-access-token
//! [client-creds]: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow
//! [tokens]: https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens
//! [errors]: https://learn.microsoft.com/en-us/graph/errors
//! [throttling]: https://learn.microsoft.com/en-us/graph/throttling
//! [paging]: https://learn.microsoft.com/en-us/graph/paging
//! [auth]: https://learn.microsoft.com/en-us/graph/auth-v2-service
//! [event]: https://learn.microsoft.com/en-us/graph/api/resources/event
//! [calendar]: https://learn.microsoft.com/en-us/graph/api/calendar-get
//! [view]: https://learn.microsoft.com/en-us/graph/api/user-list-calendarview
//! [create]: https://learn.microsoft.com/en-us/graph/api/user-post-events
//! [update]: https://learn.microsoft.com/en-us/graph/api/event-update
//! [delete]: https://learn.microsoft.com/en-us/graph/api/event-delete
//! [extended]: https://learn.microsoft.com/en-us/graph/api/singlevaluelegacyextendedproperty-get
//! [recurrence]: https://learn.microsoft.com/en-us/graph/api/resources/patternedrecurrence
//!
//! And RFC 6749 §5.2 (token error answers), RFC 8628 §3.5 (`slow_down`).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use serde_json::{json, Value};

/// The app registration's id (Entra ID shows it as "Application (client) ID").
pub const CLIENT_ID: &str = "6731de76-14a6-49ae-97bc-6eba6914391e";
pub const CLIENT_SECRET: &str = "Qx8Q~standin-client-secret";
/// The practice's tenant id.
pub const TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
/// The mailbox whose calendars the stand-in keeps.
pub const MAILBOX: &str = "therapist@practice.example";
/// The id of the mailbox's second calendar (beside its default one).
pub const SECOND_CALENDAR: &str = "AAMkAGSecondCalendar";
const DEFAULT_CALENDAR: &str = "AAMkAGDefaultCalendar";

/// A failure the next Graph call answers with.
#[derive(Debug, Clone, Copy)]
pub enum Failure {
    /// [throttling] "429 Too Many Requests" with a `Retry-After` header in seconds.
    TooManyRequests { retry_after: u64 },
    /// [throttling]: "The Retry-After header is also sent with 503 Service
    /// Unavailable and 504 Gateway Timeout responses".
    Unavailable { retry_after: u64 },
    /// [errors] "500 Internal Server Error".
    Internal,
    /// The next create is carried out, but its answer is lost (answered
    /// 504), as when a connection drops after Graph acted.
    AnswerLost,
}

struct DeviceCode {
    user_code: String,
    expires_at: i64,
    /// `None` while the practice has not signed in yet.
    approved: Option<bool>,
}

#[derive(Clone, Copy, PartialEq)]
enum Access {
    /// A user's token (device code, refresh token): `/me` is that user.
    Delegated,
    /// The app's own token (client credentials): `/users/{id}` only.
    Application,
}

#[derive(Default)]
struct Inner {
    /// Stand-in clock, seconds added to real time (to expire tokens without sleeping).
    offset: i64,
    token_lifetime: i64,
    device_codes: HashMap<String, DeviceCode>,
    poll_interval: u64,
    /// How many polls to answer `slow_down` before anything else.
    slow_downs: usize,
    refresh_tokens: HashMap<String, bool>,
    /// The refresh token issued last (the one a client should keep).
    latest_refresh: Option<String>,
    access_tokens: HashMap<String, (i64, Access)>,
    /// Events by id; each has a `_calendar` (its calendar's id).
    events: BTreeMap<String, Value>,
    next_number: u64,
    failures: VecDeque<Failure>,
    down: bool,
    /// The app lacks the permission (no admin consent, or an access policy).
    denied: bool,
    page_size: usize,
    /// Every Graph request: method, what, If-Match, status.
    requests: Vec<(String, String, Option<String>, u16)>,
    /// Every token grant type that succeeded.
    grants: Vec<String>,
    unauthorized: usize,
}

#[derive(Clone)]
pub struct MicrosoftStandIn {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

impl MicrosoftStandIn {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            token_lifetime: 3600,
            page_size: 10,
            poll_interval: 1,
            ..Inner::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/{tenant}/oauth2/v2.0/devicecode", post(device_code))
            .route("/{tenant}/oauth2/v2.0/token", post(token))
            .route("/v1.0/{*path}", any(graph))
            // Not Microsoft's: lets the end-to-end test, in another process, look into the calendar.
            .route("/standin/events", axum::routing::get(all_events))
            .with_state((inner.clone(), base.clone()));
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { base, inner }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap()
    }

    /// A refresh token as a device-code sign-in would have issued it.
    pub fn issue_refresh_token(&self) -> String {
        let token = random("M.C5_refresh-");
        let mut inner = self.lock();
        inner.refresh_tokens.insert(token.clone(), true);
        inner.latest_refresh = Some(token.clone());
        token
    }

    pub fn knows_refresh_token(&self, token: &str) -> bool {
        self.lock().refresh_tokens.get(token) == Some(&true)
    }

    pub fn latest_refresh_token(&self) -> Option<String> {
        self.lock().latest_refresh.clone()
    }

    /// The practice removes the app's access (or an admin revokes sessions):
    /// every refresh token dies.
    pub fn revoke_refresh_tokens(&self) {
        for valid in self.lock().refresh_tokens.values_mut() {
            *valid = false;
        }
    }

    /// The practice signs in at the verification page with `user_code` and
    /// allows (or declines) access.
    pub fn answer_sign_in(&self, user_code: &str, allow: bool) {
        let mut inner = self.lock();
        let code = inner
            .device_codes
            .values_mut()
            .find(|c| c.user_code == user_code)
            .expect("a user code the stand-in issued");
        code.approved = Some(allow);
    }

    /// The next `count` polls are answered `slow_down`.
    pub fn slow_down(&self, count: usize) {
        self.lock().slow_downs = count;
    }

    /// Moves the stand-in's clock on, so issued tokens and codes lapse.
    pub fn advance(&self, seconds: i64) {
        self.lock().offset += seconds;
    }

    pub fn set_token_lifetime(&self, seconds: i64) {
        self.lock().token_lifetime = seconds;
    }

    pub fn fail_next(&self, failure: Failure) {
        self.lock().failures.push_back(failure);
    }

    /// While down, every request (token or Graph) answers 503.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// Graph refuses the calendar to every token: the permission is missing.
    pub fn deny_access(&self) {
        self.lock().denied = true;
    }

    pub fn set_page_size(&self, size: usize) {
        self.lock().page_size = size;
    }

    /// Adds one of the practice's own events to the default calendar (fills
    /// id, etag, and the defaults of [event]).
    pub fn add_event(&self, event: Value) -> String {
        self.add_event_to(DEFAULT_CALENDAR, event)
    }

    pub fn add_event_to(&self, calendar: &str, event: Value) -> String {
        let mut inner = self.lock();
        store_new(&mut inner, calendar, event)["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The practice edits an event in Outlook: `changes` replace its fields
    /// and it gets a new etag.
    pub fn edit_event(&self, id: &str, changes: Value) {
        let mut inner = self.lock();
        let etag = next_etag(&mut inner);
        let event = inner.events.get_mut(id).expect("an event to edit");
        for (key, value) in changes.as_object().unwrap() {
            event[key.as_str()] = value.clone();
        }
        event["@odata.etag"] = etag.into();
    }

    /// The stored event of a booking (by its `transactionId`), if it exists.
    pub fn booking_event(&self, booking_id: &str) -> Option<Value> {
        self.lock()
            .events
            .values()
            .find(|e| e["transactionId"] == booking_id)
            .cloned()
    }

    pub fn event_count(&self) -> usize {
        self.lock().events.len()
    }

    pub fn event_ids(&self) -> Vec<String> {
        self.lock().events.keys().cloned().collect()
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

    /// The `[calendar]` table for the practice's own account (device code),
    /// with a refresh token written into `folder` when given.
    pub fn calendar_table(&self, folder: &std::path::Path, refresh_token: Option<&str>) -> String {
        let token = folder.join("calendar-token.json");
        if let Some(refresh) = refresh_token {
            std::fs::write(&token, json!({"refresh_token": refresh}).to_string()).unwrap();
        }
        format!(
            "[calendar]\nbackend = \"microsoft\"\nclient_id = \"{CLIENT_ID}\"\ntoken_file = {token:?}\n\
             refresh_seconds = 5\ngraph_base = \"{base}/v1.0\"\nauthority = \"{base}\"\n",
            token = token.display().to_string(),
            base = self.base
        )
    }

    /// The `[calendar]` table for the tenant's app registration (client
    /// credentials), the client secret written into `folder`.
    pub fn app_calendar_table(&self, folder: &std::path::Path) -> String {
        let secret = folder.join("graph-client-secret");
        std::fs::write(&secret, format!("{CLIENT_SECRET}\n")).unwrap();
        format!(
            "[calendar]\nbackend = \"microsoft\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_file = {secret:?}\n\
             tenant = \"{TENANT}\"\nuser = \"{MAILBOX}\"\n\
             refresh_seconds = 5\ngraph_base = \"{base}/v1.0\"\nauthority = \"{base}\"\n",
            secret = secret.display().to_string(),
            base = self.base
        )
    }
}

type Shared = (Arc<Mutex<Inner>>, String);

fn now(inner: &Inner) -> i64 {
    Utc::now().timestamp() + inner.offset
}

fn random(prefix: &str) -> String {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).unwrap();
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// [event] `@odata.etag` values look like `W/"…"` (weak etags).
fn next_etag(inner: &mut Inner) -> String {
    inner.next_number += 1;
    format!("W/\"DwAAABYAAAB{}\"", inner.next_number)
}

/// Stores a new event with [event]'s defaults: `showAs` "busy",
/// `isCancelled` and `isAllDay` false, `type` "singleInstance".
fn store_new(inner: &mut Inner, calendar: &str, mut event: Value) -> Value {
    let etag = next_etag(inner);
    let id = event["id"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("AAMkAD{}", inner.next_number));
    event["id"] = id.clone().into();
    event["@odata.etag"] = etag.into();
    event["_calendar"] = calendar.into();
    for (key, default) in [
        ("showAs", json!("busy")),
        ("isCancelled", json!(false)),
        ("isAllDay", json!(false)),
        ("sensitivity", json!("normal")),
    ] {
        if event.get(key).is_none() {
            event[key] = default;
        }
    }
    let kind = if event.get("recurrence").is_some() {
        "seriesMaster"
    } else {
        "singleInstance"
    };
    event["type"] = kind.into();
    inner.events.insert(id, event.clone());
    event
}

/// RFC 6749 §5.2 as the identity platform gives it ([device] "Expected
/// errors", [refresh] "Error response"): `error`, `error_description`
/// (with an AADSTS code), `error_codes`, `timestamp`, `trace_id`, `correlation_id`.
fn token_error(status: StatusCode, error: &str, aadsts: u32, description: &str) -> Response {
    let body = json!({
        "error": error,
        "error_description": format!("AADSTS{aadsts}: {description}"),
        "error_codes": [aadsts],
        "timestamp": Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string(),
        "trace_id": "0000aaaa-11bb-cccc-dd22-eeeeee333333",
        "correlation_id": "aaaa0000-bb11-2222-33cc-444444dddddd",
    });
    (
        status,
        [("content-type", "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

/// [errors] "Error resource type": `{"error": {"code", "message",
/// "innerError"}}`, JSON.
fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"error": {
        "code": code,
        "message": message,
        "innerError": {"date": Utc::now().to_rfc3339(), "request-id": "b4d1e9c0-standin"},
    }});
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn json_answer(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [("content-type", "application/json; odata.metadata=minimal")],
        body.to_string(),
    )
        .into_response()
}

/// Down: 503 to everything; an app the tenant does not know
/// (AADSTS700016, [device] "Expected errors"… `unauthorized_client`).
fn admit_client(inner: &Inner, tenant: &str, form: &HashMap<String, String>) -> Option<Response> {
    if inner.down {
        return Some(StatusCode::SERVICE_UNAVAILABLE.into_response());
    }
    let client = form.get("client_id").map(String::as_str).unwrap_or("");
    (client != CLIENT_ID).then(|| {
        token_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client}' was not found in the directory '{tenant}'."
            ),
        )
    })
}

/// [device] "Device authorization request": `POST
/// /{tenant}/oauth2/v2.0/devicecode` with `client_id` and `scope`; the
/// answer has `device_code`, `user_code`, `verification_uri`, `expires_in`
/// (900), `interval` (seconds between polls; 1 here, to keep tests short)
/// and `message`. A client unknown to the tenant is refused (AADSTS700016).
async fn device_code(
    State((inner, base)): State<Shared>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut inner = inner.lock().unwrap();
    if let Some(refusal) = admit_client(&inner, &tenant, &form) {
        return refusal;
    }
    let value = |k: &str| form.get(k).cloned().unwrap_or_default();
    let scopes: Vec<String> = value("scope").split(' ').map(str::to_owned).collect();
    if !scopes.iter().any(|s| s == "Calendars.ReadWrite")
        || !scopes.iter().any(|s| s == "offline_access")
    {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            "The provided value for the input parameter 'scope' is not valid.",
        );
    }
    let device = random("DAQABAAEAAAD-");
    let user_code = format!("F{}", inner.next_number + 1000).to_uppercase();
    inner.next_number += 1;
    let expires_at = now(&inner) + 900;
    inner.device_codes.insert(
        device.clone(),
        DeviceCode {
            user_code: user_code.clone(),
            expires_at,
            approved: None,
        },
    );
    let verification = format!("{base}/devicelogin");
    json_answer(
        StatusCode::OK,
        &json!({
            "device_code": device,
            "user_code": user_code,
            "verification_uri": verification,
            "expires_in": 900,
            "interval": inner.poll_interval,
            "message": format!("To sign in, use a web browser to open the page {verification} and enter the code {user_code} to authenticate."),
        }),
    )
}

/// The token endpoint, `POST /{tenant}/oauth2/v2.0/token`. Grants:
/// - `urn:ietf:params:oauth:grant-type:device_code` ([device]
///   "Authenticating the user": `client_id`, `device_code`; while the
///   practice has not signed in: `authorization_pending`; declined:
///   `authorization_declined`; past `expires_in`: `expired_token`;
///   RFC 8628 §3.5 `slow_down`; success: `access_token`, `refresh_token`
///   (with `offline_access`), `expires_in`, `scope`, `token_type`);
/// - `refresh_token` ([refresh]: `client_id`, `scope`, `refresh_token`; the
///   answer carries a new refresh token — "refresh tokens replace
///   themselves with a fresh token upon every use" ([tokens]); a revoked
///   one is `invalid_grant`, AADSTS50173/700082);
/// - `client_credentials` ([client-creds] "First case: Access token request
///   with a shared secret": `client_id`, `client_secret`, `scope` =
///   `https://graph.microsoft.com/.default`; the tenant must be named — not
///   `common` — and the answer has no refresh token).
async fn token(
    State((inner, _)): State<Shared>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut inner = inner.lock().unwrap();
    if let Some(refusal) = admit_client(&inner, &tenant, &form) {
        return refusal;
    }
    let value = |k: &str| form.get(k).cloned().unwrap_or_default();
    let grant = value("grant_type");
    let (access, refresh) = match grant.as_str() {
        "urn:ietf:params:oauth:grant-type:device_code" => {
            let now = now(&inner);
            let device = value("device_code");
            if inner.slow_downs > 0 && inner.device_codes.contains_key(&device) {
                inner.slow_downs -= 1;
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "slow_down",
                    70019,
                    "The client is polling too quickly.",
                );
            }
            let Some(code) = inner.device_codes.get(&device) else {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "bad_verification_code",
                    70000,
                    "The device_code was not recognized.",
                );
            };
            if code.expires_at <= now {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "expired_token",
                    70020,
                    "The provided value for the input parameter 'device_code' is expired.",
                );
            }
            match code.approved {
                None => {
                    return token_error(
                        StatusCode::BAD_REQUEST,
                        "authorization_pending",
                        70016,
                        "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
                    )
                }
                Some(false) => {
                    inner.device_codes.remove(&device);
                    return token_error(
                        StatusCode::BAD_REQUEST,
                        "authorization_declined",
                        70021,
                        "The end user denied the authorization request.",
                    );
                }
                Some(true) => {}
            }
            inner.device_codes.remove(&device);
            (Access::Delegated, Some(()))
        }
        "refresh_token" => {
            if inner.refresh_tokens.get(&value("refresh_token")) != Some(&true) {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    700082,
                    "The refresh token has expired due to inactivity or was revoked.",
                );
            }
            if !value("scope")
                .split(' ')
                .any(|s| s == "Calendars.ReadWrite")
            {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    70011,
                    "The provided value for the input parameter 'scope' is not valid.",
                );
            }
            (Access::Delegated, Some(()))
        }
        "client_credentials" => {
            if matches!(tenant.as_str(), "common" | "organizations" | "consumers") {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    7000133,
                    "The tenant is required for client credentials: use the tenant's id or domain instead of /common.",
                );
            }
            if value("client_secret") != CLIENT_SECRET {
                return token_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    7000215,
                    "Invalid client secret provided.",
                );
            }
            if value("scope") != "https://graph.microsoft.com/.default" {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    1002012,
                    "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.",
                );
            }
            (Access::Application, None)
        }
        _ => {
            return token_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                70003,
                "The app requested an unsupported grant type.",
            )
        }
    };
    let token = random("eyJ0eXAiOiJKV1Qi.");
    let expires = now(&inner) + inner.token_lifetime;
    inner.access_tokens.insert(token.clone(), (expires, access));
    inner.grants.push(grant);
    let mut body = json!({
        "token_type": "Bearer",
        "expires_in": inner.token_lifetime,
        "ext_expires_in": inner.token_lifetime,
        "access_token": token,
    });
    if refresh.is_some() {
        let rotated = random("M.C5_refresh-");
        inner.refresh_tokens.insert(rotated.clone(), true);
        inner.latest_refresh = Some(rotated.clone());
        body["refresh_token"] = rotated.into();
        body["scope"] = "https://graph.microsoft.com/Calendars.ReadWrite".into();
    }
    json_answer(StatusCode::OK, &body)
}

/// Which calendar a Graph path names, and what comes after it.
struct Target {
    calendar: String,
    rest: Vec<String>,
}

/// Reads `me/calendar/…`, `me/calendars/{id}/…`, `users/{id}/calendar/…`
/// ([calendar] "HTTP request"); a user's calendars need an application
/// token or that user's own; `/me` needs a user's token ([auth]: "/me
/// request is only valid with delegated authentication flow").
fn target(path: &str, access: Access) -> Result<Target, Box<Response>> {
    let parts: Vec<String> = path.split('/').map(percent_decode).collect();
    let (owner_is_me, rest) = match parts.first().map(String::as_str) {
        Some("me") => (true, &parts[1..]),
        Some("users") if parts.len() > 1 => {
            if !parts[1].eq_ignore_ascii_case(MAILBOX) {
                return Err(Box::new(graph_error(
                    StatusCode::NOT_FOUND,
                    "ErrorInvalidUser",
                    &format!("The requested user '{}' is invalid.", parts[1]),
                )));
            }
            (false, &parts[2..])
        }
        _ => {
            return Err(Box::new(graph_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Resource not found for the segment.",
            )))
        }
    };
    if owner_is_me && access == Access::Application {
        return Err(Box::new(graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "/me request is only valid with delegated authentication flow.",
        )));
    }
    let (calendar, rest) = match rest.first().map(String::as_str) {
        Some("calendar") => (DEFAULT_CALENDAR.to_owned(), &rest[1..]),
        Some("calendars") if rest.len() > 1 => {
            if rest[1] != DEFAULT_CALENDAR && rest[1] != SECOND_CALENDAR {
                return Err(Box::new(graph_error(
                    StatusCode::NOT_FOUND,
                    "ErrorItemNotFound",
                    "The specified object was not found in the store.",
                )));
            }
            (rest[1].clone(), &rest[2..])
        }
        _ => {
            return Err(Box::new(graph_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Resource not found for the segment.",
            )))
        }
    };
    Ok(Target {
        calendar,
        rest: rest.to_vec(),
    })
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Every Graph call: the bearer token, injected failures, then the
/// operation. [errors] "401 Unauthorized: Required authentication
/// information is either missing or not valid" (`InvalidAuthenticationToken`).
async fn graph(
    State((inner, base)): State<Shared>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let mut inner = inner.lock().unwrap();
    let if_match = headers
        .get("if-match")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let raw_path = uri.path().trim_start_matches("/v1.0/").to_owned();
    let (what, response) = answer(
        &mut inner, &base, &method, &headers, &raw_path, &query, &body,
    );
    inner.requests.push((
        method.to_string(),
        what,
        if_match,
        response.status().as_u16(),
    ));
    response
}

fn answer(
    inner: &mut Inner,
    base: &str,
    method: &Method,
    headers: &HeaderMap,
    path: &str,
    query: &HashMap<String, String>,
    body: &[u8],
) -> (String, Response) {
    let unknown = || "unknown".to_owned();
    if inner.down {
        return (
            unknown(),
            graph_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceNotAvailable",
                "The service is temporarily unavailable.",
            ),
        );
    }
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let now = now(inner);
    let Some(&(_, access)) = inner
        .access_tokens
        .get(token)
        .filter(|(expires, _)| *expires > now)
    else {
        inner.unauthorized += 1;
        return (
            unknown(),
            graph_error(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "Access token has expired or is not yet valid.",
            ),
        );
    };
    if inner.denied {
        // [errors] "403 Forbidden: Access is denied to the requested resource."
        return (
            unknown(),
            graph_error(
                StatusCode::FORBIDDEN,
                "ErrorAccessDenied",
                "Access is denied. Check credentials and try again.",
            ),
        );
    }
    let target = match target(path, access) {
        Ok(target) => target,
        Err(refusal) => return (unknown(), *refusal),
    };
    let rest: Vec<&str> = target.rest.iter().map(String::as_str).collect();
    let what = match (method.as_str(), rest.as_slice()) {
        ("GET", []) => "calendar.get",
        ("GET", ["calendarView"]) => "calendarView",
        ("GET", ["events"]) => "events.list",
        ("POST", ["events"]) => "events.create",
        ("PATCH", ["events", _]) => "events.update",
        ("DELETE", ["events", _]) => "events.delete",
        _ => {
            return (
                unknown(),
                graph_error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "BadRequest",
                    "The method is not allowed for the resource.",
                ),
            )
        }
    };
    if let Some(failure) = injected(inner) {
        return (what.to_owned(), failure);
    }
    let response = match (what, rest.as_slice()) {
        ("calendar.get", _) => json_answer(
            StatusCode::OK,
            &json!({"id": target.calendar, "name": "Calendar", "canEdit": true}),
        ),
        ("calendarView", _) => calendar_view(inner, base, path, &target.calendar, query),
        ("events.list", _) => list_marked(inner, &target.calendar, query),
        ("events.create", _) => {
            let created = create(inner, &target.calendar, body);
            if created.status().is_success()
                && matches!(inner.failures.front(), Some(Failure::AnswerLost))
            {
                inner.failures.pop_front();
                graph_error(
                    StatusCode::GATEWAY_TIMEOUT,
                    "UnknownError",
                    "The request timed out.",
                )
            } else {
                created
            }
        }
        ("events.update", [_, id]) => update(inner, &target.calendar, id, headers, body),
        ("events.delete", [_, id]) => delete(inner, &target.calendar, id),
        _ => unreachable!(),
    };
    (what.to_owned(), response)
}

/// An injected failure for this call, if one is due ([throttling], [errors]).
fn injected(inner: &mut Inner) -> Option<Response> {
    let failure = *inner.failures.front()?;
    let with_retry_after = |mut response: Response, seconds: u64| {
        response
            .headers_mut()
            .insert("retry-after", seconds.to_string().parse().unwrap());
        response
    };
    let response = match failure {
        Failure::TooManyRequests { retry_after } => with_retry_after(
            graph_error(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "Please retry after the time given in Retry-After.",
            ),
            retry_after,
        ),
        Failure::Unavailable { retry_after } => with_retry_after(
            graph_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceNotAvailable",
                "The service is temporarily unavailable.",
            ),
            retry_after,
        ),
        Failure::Internal => graph_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "generalException",
            "An unexpected error occurred.",
        ),
        // Left for the create, which acts first and then loses its answer.
        Failure::AnswerLost => return None,
    };
    inner.failures.pop_front();
    Some(response)
}

/// A `dateTimeTimeZone` read as UTC; the stand-in knows the zone "UTC" only
/// ([event] `start`: "By default, the start time is in UTC").
fn instant(time: &Value) -> Option<DateTime<Utc>> {
    let zone = time["timeZone"].as_str().unwrap_or("UTC");
    if zone != "UTC" {
        return None;
    }
    let text = time["dateTime"].as_str()?;
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}

/// [event] `dateTime` in answers: "2017-04-15T11:00:00.0000000".
fn graph_time(t: DateTime<Utc>) -> Value {
    json!({"dateTime": t.format("%Y-%m-%dT%H:%M:%S.0000000").to_string(), "timeZone": "UTC"})
}

/// [view]: "Get the occurrences, exceptions, and single instances of events
/// in a calendar view" — a series master is replaced by its occurrences
/// (`type` "occurrence", `seriesMasterId`). The stand-in knows [recurrence]
/// pattern `daily` with range `numbered` (`numberOfOccurrences`).
fn occurrences(event: &Value) -> Vec<Value> {
    let Some(recurrence) = event.get("recurrence").filter(|r| !r.is_null()) else {
        return vec![event.clone()];
    };
    assert_eq!(
        recurrence["pattern"]["type"], "daily",
        "the stand-in knows daily only"
    );
    let count = recurrence["range"]["numberOfOccurrences"]
        .as_i64()
        .expect("a numbered range");
    let interval = recurrence["pattern"]["interval"].as_i64().unwrap_or(1);
    let (start, end) = (
        instant(&event["start"]).unwrap(),
        instant(&event["end"]).unwrap(),
    );
    (0..count)
        .map(|n| {
            let shift = Duration::days(n * interval);
            let mut one = event.clone();
            let fields = one.as_object_mut().unwrap();
            fields.remove("recurrence");
            fields.insert(
                "id".into(),
                format!("{}_{n}", event["id"].as_str().unwrap()).into(),
            );
            fields.insert("type".into(), "occurrence".into());
            fields.insert("seriesMasterId".into(), event["id"].clone());
            fields.insert("start".into(), graph_time(start + shift));
            fields.insert("end".into(), graph_time(end + shift));
            one
        })
        .collect()
}

/// An event as answered: `$select`ed properties only (with `id` and
/// `@odata.etag`, which Graph always gives), times in UTC; an all-day event
/// from midnight to midnight of its dates in the asked zone, UTC here
/// ([view] `Prefer: outlook.timezone`). `transactionId` only when set
/// ([event]: "only returned in a response payload if an app has set it").
fn shaped(event: &Value, select: Option<&str>) -> Value {
    let mut out = event.clone();
    let fields = out.as_object_mut().unwrap();
    fields.retain(|k, v| !k.starts_with('_') && !v.is_null());
    if event["isAllDay"] == true {
        for key in ["start", "end"] {
            let day = event[key]["dateTime"]
                .as_str()
                .and_then(|t| t.get(..10))
                .unwrap_or("");
            if let Ok(day) = NaiveDate::parse_from_str(day, "%Y-%m-%d") {
                fields.insert(
                    key.into(),
                    graph_time(day.and_hms_opt(0, 0, 0).unwrap().and_utc()),
                );
            }
        }
    }
    if let Some(select) = select {
        let keep: Vec<&str> = select.split(',').map(str::trim).collect();
        fields.retain(|k, _| k == "id" || k == "@odata.etag" || keep.contains(&k.as_str()));
    }
    out
}

/// [view] `GET …/calendar/calendarView?startDateTime=…&endDateTime=…`:
/// both required ("ErrorInvalidParameter" otherwise); events overlapping
/// the range. [paging]: a page holds up to `$top` (a server may give
/// fewer); "@odata.nextLink … contains the URL of the next page", to be
/// used as it is.
fn calendar_view(
    inner: &mut Inner,
    base: &str,
    path: &str,
    calendar: &str,
    query: &HashMap<String, String>,
) -> Response {
    let bound = |k: &str| {
        query
            .get(k)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let (Some(from), Some(to)) = (bound("startDateTime"), bound("endDateTime")) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidParameter",
            "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.",
        );
    };
    let mut matching: Vec<Value> = inner
        .events
        .values()
        .filter(|e| e["_calendar"] == calendar)
        .flat_map(occurrences)
        .filter(|e| {
            let all_day = e["isAllDay"] == true;
            let time = |key: &str| {
                if all_day {
                    instant(&shaped(e, None)[key])
                } else {
                    instant(&e[key])
                }
            };
            matches!((time("start"), time("end")), (Some(s), Some(end)) if s < to && end > from)
        })
        .collect();
    matching.sort_by_key(|e| (instant(&e["start"]), e["id"].as_str().map(str::to_owned)));
    let top = query
        .get("$top")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(10)
        .min(1000);
    let size = top.min(inner.page_size).max(1);
    let skip = query
        .get("$skip")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0);
    let select = query.get("$select").map(String::as_str);
    let page: Vec<Value> = matching
        .iter()
        .skip(skip)
        .take(size)
        .map(|e| shaped(e, select))
        .collect();
    let mut body = json!({"@odata.context": format!("{base}/v1.0/$metadata#Collection(event)"), "value": page});
    if skip + size < matching.len() {
        let mut next = url::Url::parse(&format!("{base}/v1.0/{path}")).unwrap();
        {
            let mut pairs = next.query_pairs_mut();
            for (k, v) in query.iter().filter(|(k, _)| *k != "$skip") {
                pairs.append_pair(k, v);
            }
            pairs.append_pair("$skip", &(skip + size).to_string());
        }
        body["@odata.nextLink"] = next.to_string().into();
    }
    json_answer(StatusCode::OK, &body)
}

/// [extended] "Get resource instances that contain a single-value extended
/// property that matches a filter": `GET …/events?$filter=
/// singleValueExtendedProperties/Any(ep: ep/id eq '{id}' and ep/value eq
/// '{value}')`. Other filters are not known to the stand-in (400).
fn list_marked(inner: &mut Inner, calendar: &str, query: &HashMap<String, String>) -> Response {
    let filter = query.get("$filter").map(String::as_str).unwrap_or("");
    let parsed = filter
        .strip_prefix("singleValueExtendedProperties/Any(ep: ep/id eq '")
        .and_then(|rest| rest.strip_suffix("')"))
        .and_then(|rest| rest.split_once("' and ep/value eq '"));
    let Some((id, value)) = parsed else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidUrlQueryFilter",
            "The query filter contains one or more invalid nodes.",
        );
    };
    let value = value.replace("''", "'");
    let select = query.get("$select").map(String::as_str);
    let found: Vec<Value> = inner
        .events
        .values()
        .filter(|e| e["_calendar"] == calendar)
        .filter(|e| {
            e["singleValueExtendedProperties"]
                .as_array()
                .is_some_and(|props| {
                    props
                        .iter()
                        .any(|p| p["id"] == id && p["value"] == value.as_str())
                })
        })
        .map(|e| shaped(e, select))
        .collect();
    json_answer(StatusCode::OK, &json!({"value": found}))
}

/// [create] `POST …/events`: "If successful, this method returns 201
/// Created response code and event object in the response body". [event]
/// `transactionId`: "A custom identifier specified by a client app for the
/// server to avoid redundant POST operations in case of client retries to
/// create the same event". The page does not say what a retry is
/// answered; the stand-in answers it like the first create, 201 with the
/// event that create made, unchanged (no second event).
fn create(inner: &mut Inner, calendar: &str, body: &[u8]) -> Response {
    let Ok(mut event) = serde_json::from_slice::<Value>(body) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "RequestBodyRead",
            "Cannot read the request body.",
        );
    };
    if instant(&event["start"]).is_none() || instant(&event["end"]).is_none() {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidRequest",
            "Your request can't be completed. An event needs a start and an end.",
        );
    }
    if let Some(transaction) = event["transactionId"].as_str() {
        if let Some(existing) = inner
            .events
            .values()
            .find(|e| e["transactionId"] == transaction && e["_calendar"] == calendar)
        {
            return json_answer(StatusCode::CREATED, &shaped(existing, None));
        }
    }
    if let Some(fields) = event.as_object_mut() {
        fields.remove("id");
    }
    let stored = store_new(inner, calendar, event);
    json_answer(StatusCode::CREATED, &shaped(&stored, None))
}

/// [update] `PATCH …/events/{id}`: "Only the properties you provide are
/// changed"; the answer is 200 with the updated event. `If-Match` with a
/// stale `@odata.etag` is [errors] "412 Precondition Failed: A
/// precondition provided in the request (such as an if-match header)
/// doesn't match the resource's current state." An unknown id is 404
/// `ErrorItemNotFound`. [event] `transactionId` "cannot change … in a
/// subsequent update".
fn update(
    inner: &mut Inner,
    calendar: &str,
    id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let Ok(Value::Object(changes)) = serde_json::from_slice::<Value>(body) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "RequestBodyRead",
            "Cannot read the request body.",
        );
    };
    let etag = next_etag(inner);
    let Some(event) = inner
        .events
        .get_mut(id)
        .filter(|e| e["_calendar"] == calendar)
    else {
        return not_found();
    };
    if let Some(expected) = headers.get("if-match").and_then(|v| v.to_str().ok()) {
        if event["@odata.etag"] != expected {
            return graph_error(
                StatusCode::PRECONDITION_FAILED,
                "ErrorIrresolvableConflict",
                "The change key passed in the request does not match the current change key for the item.",
            );
        }
    }
    if changes.contains_key("transactionId") {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidPropertyUpdateSentAsUpdate",
            "transactionId cannot be changed.",
        );
    }
    for (key, value) in changes {
        if key != "id" {
            event[key.as_str()] = value;
        }
    }
    event["@odata.etag"] = etag.into();
    let answer = shaped(event, None);
    json_answer(StatusCode::OK, &answer)
}

/// [delete] `DELETE …/events/{id}`: "If successful, this method returns 204
/// No Content"; the event is gone (404 afterwards).
fn delete(inner: &mut Inner, calendar: &str, id: &str) -> Response {
    let owned = inner
        .events
        .get(id)
        .is_some_and(|e| e["_calendar"] == calendar);
    if !owned {
        return not_found();
    }
    inner.events.remove(id);
    StatusCode::NO_CONTENT.into_response()
}

fn not_found() -> Response {
    graph_error(
        StatusCode::NOT_FOUND,
        "ErrorItemNotFound",
        "The specified object was not found in the store.",
    )
}

/// Every stored event (the stand-in's own route).
async fn all_events(State((inner, _)): State<Shared>) -> Response {
    let events: Vec<Value> = inner.lock().unwrap().events.values().cloned().collect();
    json_answer(StatusCode::OK, &json!({"value": events}))
}
