//! OAuth 2.0 access tokens for calendar services (Google, Microsoft Graph):
//! a cached access token, refreshed before it expires and after any 401,
//! from a refresh token the practice granted with `firststep-adapter
//! connect …` (kept in the token file, replaced when the service rotates
//! it), a service account's key (a JWT signed RS256, RFC 7523), or an app's
//! own secret (client credentials, RFC 6749 §4.4). A refused grant
//! (`invalid_grant`) is [`CalendarError::Misconfigured`] with what to do.
//!
//! Also here: the consent steps of `connect` — for installed apps a
//! loopback redirect with PKCE (RFC 7636, S256), for devices the
//! device-authorization grant (RFC 8628) — and the token file, written 0600.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::CalendarError;
use crate::config::Secret;

/// An access token is renewed when fewer than this many seconds remain, so
/// a request never sets out with a token about to lapse.
const RENEW_BEFORE: Duration = Duration::from_secs(60);
/// Longest lifetime believed from a token answer (Google's are an hour).
const LONGEST_LIFETIME: u64 = 24 * 3600;
/// Largest token answer or token file read.
const MAX_TOKEN_BYTES: usize = 64 * 1024;

/// How an access token is obtained.
#[derive(Debug, Clone)]
pub enum Grant {
    /// The practice's own account: the refresh token `connect` stored.
    /// A public client (Microsoft's device code) has no secret.
    RefreshToken {
        client_id: String,
        client_secret: Option<Secret>,
        token_file: PathBuf,
    },
    /// A service account's key: a signed JWT is exchanged for a token.
    ServiceAccount(ServiceAccountKey),
    /// The app's own secret (a Microsoft 365 tenant's app registration with
    /// an application permission): no practice's consent, no refresh token.
    ClientCredentials {
        client_id: String,
        client_secret: Secret,
    },
}

/// A service account's key file (the JSON Google Cloud console downloads).
#[derive(Clone)]
pub struct ServiceAccountKey {
    /// The account's address, which the practice shares its calendar with.
    pub client_email: String,
    key_id: Option<String>,
    key: Arc<RsaKeyPair>,
}

impl fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServiceAccountKey({}, …)", self.client_email)
    }
}

impl ServiceAccountKey {
    /// Reads the key file's text; the error says what is wrong, never the key.
    pub fn parse(text: &str) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct File {
            client_email: Option<String>,
            private_key: Option<String>,
            private_key_id: Option<String>,
        }
        let file: File = serde_json::from_str(text).map_err(|error| {
            format!(
                "not a service account key file (JSON: line {})",
                error.line()
            )
        })?;
        let (Some(client_email), Some(pem)) = (file.client_email, file.private_key) else {
            return Err("the key file lacks client_email or private_key".into());
        };
        let body: String = pem
            .lines()
            .map(str::trim)
            .filter(|line| !line.starts_with("-----"))
            .collect();
        let der = STANDARD
            .decode(body)
            .map_err(|_| "private_key is not a PEM block".to_owned())?;
        let key = RsaKeyPair::from_pkcs8(&der)
            .map_err(|_| "private_key is not an RSA key in PKCS#8 form".to_owned())?;
        Ok(Self {
            client_email,
            key_id: file.private_key_id,
            key: Arc::new(key),
        })
    }

    /// The JWT of the JWT-bearer grant: this account asks for `scope`,
    /// addressed to `audience` (the token endpoint), valid an hour.
    fn assertion(&self, scope: &str, audience: &str, now: i64) -> Result<String, CalendarError> {
        let mut header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
        if let Some(kid) = &self.key_id {
            header["kid"] = kid.clone().into();
        }
        let claims = serde_json::json!({
            "iss": self.client_email,
            "scope": scope,
            "aud": audience,
            "iat": now,
            "exp": now.saturating_add(3600),
        });
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message.as_bytes(),
                &mut signature,
            )
            .map_err(|_| {
                CalendarError::Misconfigured("signing with the service account's key failed".into())
            })?;
        Ok(format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

struct AccessToken {
    value: Secret,
    renew_at: Instant,
}

/// Access tokens for one calendar service, cached.
pub struct TokenSource {
    client: reqwest::Client,
    token_url: String,
    grant: Grant,
    scope: String,
    /// The command that gets a new refresh token ("connect google").
    connect: &'static str,
    cached: tokio::sync::Mutex<Option<AccessToken>>,
}

/// A token endpoint's answer, success or error (RFC 6749 §5.1, §5.2).
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    expires_in: Option<u64>,
    refresh_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// What the token file holds.
#[derive(serde::Serialize, Deserialize)]
struct TokenFile {
    refresh_token: String,
}

impl TokenSource {
    pub fn new(
        client: reqwest::Client,
        token_url: &str,
        grant: Grant,
        scope: &str,
        connect: &'static str,
    ) -> Self {
        Self {
            client,
            token_url: token_url.to_owned(),
            grant,
            scope: scope.to_owned(),
            connect,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// A token good for at least a minute more, from the cache or afresh.
    pub async fn access_token(&self) -> Result<Secret, CalendarError> {
        let mut cached = self.cached.lock().await;
        if let Some(token) = cached.as_ref() {
            if Instant::now() < token.renew_at {
                return Ok(token.value.clone());
            }
        }
        let (value, lifetime) = self.fetch().await?;
        let renew_at = Instant::now() + Duration::from_secs(lifetime).saturating_sub(RENEW_BEFORE);
        *cached = Some(AccessToken {
            value: value.clone(),
            renew_at,
        });
        Ok(value)
    }

    /// Forgets `used` after the service refused it (401), so the next call
    /// fetches a new one; a newer token someone else fetched meanwhile stays.
    pub async fn forget(&self, used: &Secret) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|token| token.value == *used) {
            *cached = None;
        }
    }

    async fn fetch(&self) -> Result<(Secret, u64), CalendarError> {
        let form: Vec<(&str, String)> = match &self.grant {
            Grant::RefreshToken {
                client_id,
                client_secret,
                token_file,
            } => {
                // RFC 6749 §6: the scope may be named again (Microsoft wants it).
                let mut form = vec![
                    ("grant_type", "refresh_token".into()),
                    ("client_id", client_id.clone()),
                    (
                        "refresh_token",
                        read_refresh_token(token_file, self.connect)?
                            .expose()
                            .to_owned(),
                    ),
                    ("scope", self.scope.clone()),
                ];
                if let Some(secret) = client_secret {
                    form.push(("client_secret", secret.expose().to_owned()));
                }
                form
            }
            Grant::ServiceAccount(key) => vec![
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:jwt-bearer".into(),
                ),
                (
                    "assertion",
                    // The token server checks the assertion's times against
                    // its own clock: the wall clock, never the adapter's Clock.
                    key.assertion(&self.scope, &self.token_url, chrono::Utc::now().timestamp())?,
                ),
            ],
            Grant::ClientCredentials {
                client_id,
                client_secret,
            } => vec![
                ("grant_type", "client_credentials".into()),
                ("client_id", client_id.clone()),
                ("client_secret", client_secret.expose().to_owned()),
                ("scope", self.scope.clone()),
            ],
        };
        let answer = post_form(&self.client, &self.token_url, &form, self.advice()).await?;
        if let (Grant::RefreshToken { token_file, .. }, Some(rotated)) = (
            &self.grant,
            answer.refresh_token.as_ref().filter(|t| !t.is_empty()),
        ) {
            // The service replaced the refresh token (Microsoft may): keep the new one.
            write_token_file(token_file, &Secret::new(rotated.clone())).map_err(|error| {
                CalendarError::Misconfigured(format!(
                    "storing the renewed refresh token in {}: {error}",
                    token_file.display()
                ))
            })?;
        }
        let token = answer
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                CalendarError::Unreachable(format!("{} gave no access_token", self.token_url))
            })?;
        let lifetime = answer.expires_in.unwrap_or(3600).min(LONGEST_LIFETIME);
        Ok((Secret::new(token), lifetime))
    }

    fn advice(&self) -> String {
        match &self.grant {
            Grant::RefreshToken { .. } => format!(
                "the calendar access was revoked or has expired: run firststep-adapter {} again",
                self.connect
            ),
            Grant::ServiceAccount(key) => format!(
                "the service account {} was refused: check service_account_file (a deleted or disabled key?)",
                key.client_email
            ),
            Grant::ClientCredentials { .. } => {
                "the app's credentials were refused: check client_id, the client secret and tenant".into()
            }
        }
    }
}

/// Posts a form to a token endpoint and sorts the answer (RFC 6749 §5.2):
/// `invalid_grant` → misconfigured with `advice`; another refusal →
/// misconfigured naming the error; 429, 5xx or no answer → unreachable.
async fn post_form(
    client: &reqwest::Client,
    token_url: &str,
    form: &[(&str, String)],
    advice: String,
) -> Result<TokenAnswer, CalendarError> {
    let (status, answer) = request_token(client, token_url, form).await?;
    match answer.error.as_deref() {
        None if status.is_success() => Ok(answer),
        Some("invalid_grant") => Err(CalendarError::Misconfigured(advice)),
        error => Err(refused(token_url, status, error, &answer)),
    }
}

fn refused(
    token_url: &str,
    status: reqwest::StatusCode,
    error: Option<&str>,
    answer: &TokenAnswer,
) -> CalendarError {
    CalendarError::Misconfigured(format!(
        "{token_url} refused the request ({status}, {}: {}); check client_id and the client secret",
        error.unwrap_or("no error code"),
        printable(answer.error_description.as_deref().unwrap_or(""), 200),
    ))
}

/// Posts a form to a token endpoint; its answer, error or not. 429, 5xx or
/// no answer → unreachable; an answer that is not JSON → misconfigured.
async fn request_token(
    client: &reqwest::Client,
    token_url: &str,
    form: &[(&str, String)],
) -> Result<(reqwest::StatusCode, TokenAnswer), CalendarError> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    let response = client
        .post(token_url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|error| {
            CalendarError::Unreachable(format!(
                "asking {token_url} for a token: {}",
                error.without_url()
            ))
        })?;
    let status = response.status();
    if status.as_u16() == 429 || status.is_server_error() {
        return Err(CalendarError::Unreachable(format!(
            "{token_url} answered {status}"
        )));
    }
    let text = super::capped_body::body_text(response, MAX_TOKEN_BYTES)
        .await
        .map_err(|error| {
            CalendarError::Unreachable(format!("reading {token_url}'s answer: {error}"))
        })?;
    let answer: TokenAnswer = serde_json::from_str(&text).map_err(|_| {
        CalendarError::Misconfigured(format!(
            "{token_url} answered {status} without a token answer (is the address right?)"
        ))
    })?;
    Ok((status, answer))
}

/// A server's text, cut to `max` characters and without control characters
/// (it goes into logs).
pub fn printable(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(max).collect()
}

fn read_refresh_token(file: &Path, connect: &str) -> Result<Secret, CalendarError> {
    let missing = |why: String| {
        CalendarError::Misconfigured(format!(
            "token_file {}: {why}; run firststep-adapter {connect} --config <your file>",
            file.display()
        ))
    };
    let text = crate::config::read_bounded(file, crate::config::MAX_SECRET_BYTES)
        .map_err(|error| missing(error.to_string()))?;
    let parsed: TokenFile =
        serde_json::from_str(&text).map_err(|_| missing("not a token file".into()))?;
    Ok(Secret::new(parsed.refresh_token))
}

/// Writes the refresh token, readable by its owner only (created 0600, then
/// moved into place, so a reader never sees half a file).
pub fn write_token_file(file: &Path, refresh_token: &Secret) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut partial = file.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let _ = std::fs::remove_file(&partial);
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial)?;
    let text = serde_json::to_string(&TokenFile {
        refresh_token: refresh_token.expose().to_owned(),
    })?;
    out.write_all(text.as_bytes())?;
    out.sync_all()?;
    std::fs::rename(&partial, file)
}

/// One consent of the installed-app flow, from the printed address to the
/// stored refresh token.
pub struct Consent {
    /// The address to open in a browser.
    pub url: String,
    listener: tokio::net::TcpListener,
    redirect_uri: String,
    verifier: Secret,
    state: String,
}

/// What identifies the OAuth client in the consent flow.
pub struct InstalledClient<'a> {
    pub auth_url: &'a str,
    pub token_url: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a Secret,
    pub scope: &'a str,
}

impl Consent {
    /// Listens on 127.0.0.1 (any free port) and builds the consent address
    /// with a PKCE challenge (S256) and a state value.
    pub async fn begin(client: &InstalledClient<'_>) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let redirect_uri = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
        let verifier = random_text(48);
        let challenge = URL_SAFE_NO_PAD.encode(ring::digest::digest(
            &ring::digest::SHA256,
            verifier.as_bytes(),
        ));
        let state = random_text(16);
        let mut url = url::Url::parse(client.auth_url)?;
        url.query_pairs_mut()
            .append_pair("client_id", client.client_id)
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", client.scope)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", &state)
            // A refresh token, and a new one on every consent.
            .append_pair("access_type", "offline")
            .append_pair("prompt", "consent");
        Ok(Self {
            url: url.into(),
            listener,
            redirect_uri,
            verifier: Secret::new(verifier),
            state,
        })
    }

    /// Waits (up to `wait`) for the browser to come back with the code,
    /// exchanges it, and stores the refresh token in `token_file`.
    pub async fn finish(
        self,
        client: &InstalledClient<'_>,
        token_file: &Path,
        wait: Duration,
    ) -> anyhow::Result<()> {
        let code = tokio::time::timeout(wait, self.receive_code())
            .await
            .map_err(|_| {
                anyhow::anyhow!("no answer from the browser within {} s", wait.as_secs())
            })??;
        let form = [
            ("grant_type", "authorization_code".to_owned()),
            ("code", code),
            ("code_verifier", self.verifier.expose().to_owned()),
            ("redirect_uri", self.redirect_uri.clone()),
            ("client_id", client.client_id.to_owned()),
            ("client_secret", client.client_secret.expose().to_owned()),
        ];
        let http = connect_http()?;
        let answer = post_form(
            &http,
            client.token_url,
            &form,
            "the code was refused; run connect again".into(),
        )
        .await?;
        let refresh = answer.refresh_token.filter(|t| !t.is_empty()).ok_or_else(|| {
            anyhow::anyhow!("{} gave no refresh_token (remove the app's access in the account's security settings, then connect again)", client.token_url)
        })?;
        write_token_file(token_file, &Secret::new(refresh))?;
        Ok(())
    }

    /// Serves the loopback redirect until one carries our state and a code.
    async fn receive_code(&self) -> anyhow::Result<String> {
        loop {
            let (mut stream, _) = self.listener.accept().await?;
            let mut buffer = vec![0u8; 8192];
            let mut read = 0;
            while read < buffer.len() && !buffer[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buffer[read..]).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => read += n,
                }
            }
            let head = String::from_utf8_lossy(&buffer[..read]);
            let target = head
                .lines()
                .next()
                .and_then(|line| line.split(' ').nth(1))
                .unwrap_or("/");
            let query: Vec<(String, String)> =
                url::Url::parse(&format!("http://127.0.0.1{target}"))
                    .map(|u| u.query_pairs().into_owned().collect())
                    .unwrap_or_default();
            let value = |name: &str| {
                query
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            };
            let (page, outcome) = match (value("state"), value("code"), value("error")) {
                (Some(state), Some(code), _) if state == self.state => {
                    ("Connected. You can close this window.", Some(Ok(code)))
                }
                (Some(state), _, Some(error)) if state == self.state => (
                    "Access was not granted. You can close this window.",
                    Some(Err(anyhow::anyhow!(
                        "the consent was not given ({})",
                        printable(&error, 100)
                    ))),
                ),
                _ => ("Waiting for the consent.", None),
            };
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = stream.write_all(reply.as_bytes()).await;
            let _ = stream.shutdown().await;
            if let Some(outcome) = outcome {
                return outcome;
            }
        }
    }
}

/// What identifies the app in the device-authorization grant (RFC 8628).
pub struct DeviceClient<'a> {
    /// Where a code is asked for (Microsoft: `{authority}/{tenant}/oauth2/v2.0/devicecode`).
    pub device_url: &'a str,
    pub token_url: &'a str,
    pub client_id: &'a str,
    pub scope: &'a str,
}

/// One device-code sign-in: the code the practice enters on another device,
/// then the polling until they have (RFC 8628 §3.2–§3.5).
pub struct DeviceCode {
    /// What the practice types in at [`DeviceCode::verification_uri`].
    pub user_code: String,
    pub verification_uri: String,
    device_code: Secret,
    interval: Duration,
    expires_at: Instant,
}

/// The device-authorization answer (RFC 8628 §3.2; Microsoft's has the same fields).
#[derive(Deserialize)]
struct DeviceAnswer {
    device_code: Option<String>,
    user_code: Option<String>,
    verification_uri: Option<String>,
    expires_in: Option<u64>,
    interval: Option<u64>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Longest wait believed for a device code (Microsoft's last 15 minutes).
const LONGEST_DEVICE_CODE: u64 = 30 * 60;
/// Longest polling interval believed.
const LONGEST_INTERVAL: u64 = 60;

impl DeviceCode {
    /// Asks for a code for `scope`.
    pub async fn begin(client: &DeviceClient<'_>) -> anyhow::Result<Self> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", client.client_id)
            .append_pair("scope", client.scope)
            .finish();
        let response = connect_http()?
            .post(client.device_url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "asking {} for a code: {}",
                    client.device_url,
                    e.without_url()
                )
            })?;
        let status = response.status();
        let text = super::capped_body::body_text(response, MAX_TOKEN_BYTES).await?;
        let answer: DeviceAnswer = serde_json::from_str(&text).map_err(|_| {
            anyhow::anyhow!(
                "{} answered {status} without a device code (is authority right?)",
                client.device_url
            )
        })?;
        if let Some(error) = answer.error {
            anyhow::bail!(
                "{} refused ({status}, {}: {}); check client_id, tenant, and that the app registration allows public client flows",
                client.device_url,
                printable(&error, 60),
                printable(answer.error_description.as_deref().unwrap_or(""), 200)
            );
        }
        let (Some(device_code), Some(user_code), Some(verification_uri)) = (
            answer.device_code,
            answer.user_code,
            answer.verification_uri,
        ) else {
            anyhow::bail!("{} gave no device code", client.device_url);
        };
        let lifetime = answer.expires_in.unwrap_or(900).min(LONGEST_DEVICE_CODE);
        Ok(Self {
            user_code: printable(&user_code, 40),
            verification_uri: printable(&verification_uri, 200),
            device_code: Secret::new(device_code),
            // RFC 8628 §3.2: "If no value is provided, clients MUST use 5 as the default."
            interval: Duration::from_secs(answer.interval.unwrap_or(5).clamp(1, LONGEST_INTERVAL)),
            expires_at: Instant::now() + Duration::from_secs(lifetime),
        })
    }

    /// Polls the token endpoint every `interval` until the practice has
    /// signed in (or declined, or the code lapsed), then stores the refresh
    /// token in `token_file`.
    pub async fn finish(
        mut self,
        client: &DeviceClient<'_>,
        token_file: &Path,
    ) -> anyhow::Result<()> {
        let http = connect_http()?;
        let form = [
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:device_code".to_owned(),
            ),
            ("client_id", client.client_id.to_owned()),
            ("device_code", self.device_code.expose().to_owned()),
        ];
        loop {
            if Instant::now() >= self.expires_at {
                anyhow::bail!("the code expired before it was entered; run connect again");
            }
            tokio::time::sleep(self.interval).await;
            let (status, answer) = match request_token(&http, client.token_url, &form).await {
                Ok(answer) => answer,
                // Out of reach for a moment: ask again at the next interval.
                Err(CalendarError::Unreachable(_)) => continue,
                Err(error) => return Err(error.into()),
            };
            match answer.error.as_deref() {
                None if status.is_success() => {
                    let refresh =
                        answer
                            .refresh_token
                            .filter(|t| !t.is_empty())
                            .ok_or_else(|| {
                                anyhow::anyhow!(
                                    "{} gave no refresh_token (was offline_access granted?)",
                                    client.token_url
                                )
                            })?;
                    write_token_file(token_file, &Secret::new(refresh))?;
                    return Ok(());
                }
                // RFC 8628 §3.5: keep polling; slow_down adds 5 seconds for good.
                Some("authorization_pending") => {}
                Some("slow_down") => {
                    self.interval = (self.interval + Duration::from_secs(5))
                        .min(Duration::from_secs(LONGEST_INTERVAL));
                }
                Some("expired_token") => {
                    anyhow::bail!("the code expired before it was entered; run connect again")
                }
                Some("authorization_declined" | "access_denied") => {
                    anyhow::bail!("access was declined at the sign-in page")
                }
                error => return Err(refused(client.token_url, status, error, &answer).into()),
            }
        }
    }
}

/// The HTTP client of the `connect` steps.
fn connect_http() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
}

/// `bytes` random bytes as URL-safe text (PKCE verifiers take 43–128 characters).
fn random_text(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).expect("the operating system's random source");
    URL_SAFE_NO_PAD.encode(buffer)
}
