//! The servers the kit is run against in its tests.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use firststep_adapter::config::Settings;
use firststep_adapter::store::StoreLocation;
use firststep_adapter::Application;

/// The practice of these tests and of the run in scripts/test.sh.
pub const PRACTICE: &str = include_str!("../practice.toml");
/// An origin `PRACTICE` allows.
pub const ORIGIN: &str = "https://practice.example.org";

/// The real adapter on a loopback port, with a fresh store; stops when dropped.
pub struct Adapter {
    pub url: String,
    _folder: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

pub async fn start_adapter() -> Adapter {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let mut settings =
        Settings::from_toml(PRACTICE, folder.path()).expect("tests/practice.toml is valid");
    settings.server.store = StoreLocation::Sqlite(folder.path().join("bookings.sqlite3"));
    let app = Application::build(settings)
        .await
        .expect("the adapter starts");
    let url = format!("http://{}", app.address());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    Adapter {
        url,
        _folder: folder,
        _stop: stop,
    }
}

/// What the stub was asked.
pub struct Asked {
    pub method: Method,
    pub path: String,
    pub query: String,
}

/// What the adapter answered, for a fault to change before it is sent on.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    /// Changes the body as JSON (left alone when it is not JSON).
    pub fn edit_json(&mut self, change: impl FnOnce(&mut serde_json::Value)) {
        if let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&self.body) {
            change(&mut value);
            self.body = value.to_string().into_bytes();
        }
    }

    /// The body's `code`, when it is a problem.
    pub fn code(&self) -> Option<String> {
        let value: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        value.get("code")?.as_str().map(str::to_owned)
    }
}

/// One way of misbehaving: changes the adapter's reply to what it was asked.
pub type Fault = fn(&Asked, &mut Reply);

struct Stub {
    upstream: String,
    client: reqwest::Client,
    fault: Fault,
}

/// A server that forwards every request to `upstream` and changes each
/// answer by `fault`; its address.
pub async fn start_stub(upstream: &str, fault: Fault) -> String {
    let stub = Arc::new(Stub {
        upstream: upstream.to_owned(),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client"),
        fault,
    });
    let app = axum::Router::new().fallback(forward).with_state(stub);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let address: SocketAddr = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

async fn forward(State(stub): State<Arc<Stub>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1024 * 1024)
        .await
        .unwrap_or_default();
    let asked = Asked {
        method: parts.method.clone(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
    };
    let target = format!(
        "{}{}",
        stub.upstream,
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut headers = parts.headers.clone();
    for hop in ["host", "content-length", "connection"] {
        headers.remove(hop);
    }
    let answer = stub
        .client
        .request(parts.method, target)
        .headers(headers)
        .body(body)
        .send()
        .await
        .expect("the adapter answers the stub");
    let mut reply = Reply {
        status: answer.status(),
        headers: answer.headers().clone(),
        body: answer.bytes().await.expect("a body").to_vec(),
    };
    (stub.fault)(&asked, &mut reply);
    for hop in ["content-length", "transfer-encoding", "connection"] {
        reply.headers.remove(hop);
    }
    let mut response = (reply.status, Body::from(reply.body)).into_response();
    *response.headers_mut() = reply.headers;
    response
}
