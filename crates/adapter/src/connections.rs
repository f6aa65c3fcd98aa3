//! The HTTP/1.1 connection loop in front of the router, with the limits an
//! open-internet server needs and axum's own `serve` does not have:
//! - **header read**: a request's headers must be complete within
//!   [`ConnectionLimits::header_read_timeout`] of the connection's start or of
//!   the previous response's end (hyper's clock runs from both), so a
//!   connection that trickles its headers, or that idles kept-alive, is closed;
//! - **idle**: a connection on which no byte moves either way for
//!   [`ConnectionLimits::idle_timeout`] is closed — a body sent a byte at a
//!   time and a client that stops reading its answer hold no connection for ever;
//! - **cap**: at most [`ConnectionLimits::max_connections`] at once. When all
//!   are taken the loop stops accepting until one closes: newcomers wait in
//!   the kernel's queue and are served a moment later, rather than being
//!   turned away while a burst passes (the two timeouts above make every
//!   connection give its place back soon);
//! - **graceful stop**: the listener closes at once (new connections are
//!   refused), idle connections close, requests under way finish — within
//!   [`ConnectionLimits::drain_timeout`], after which the rest are dropped.
//!
//! Every request carries the peer's `ConnectInfo<SocketAddr>`, as with axum's serve.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::ServiceExt;

/// The connection limits; the defaults suit a practice's site on any server.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Time to send a request's headers (and the longest a kept-alive
    /// connection waits for its next request).
    pub header_read_timeout: Duration,
    /// Time without a byte moving either way before a connection is closed.
    pub idle_timeout: Duration,
    /// Time from a request's headers to its answer: a body trickled a byte at
    /// a time, which keeps the idle clock from running out, is cut off here
    /// with 408 (handlers themselves answer in milliseconds).
    pub request_timeout: Duration,
    /// Connections served at once. Under the usual soft limit of 1,024 open
    /// files per process a full house can run out of descriptors: accepting
    /// then pauses instead of spinning (a service manager's `LimitNOFILE=`
    /// of a few thousand gives room).
    pub max_connections: usize,
    /// Time given to requests under way when the process is asked to stop.
    pub drain_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            max_connections: 1024,
            drain_timeout: Duration::from_secs(10),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then stops as the
/// module doc says. Returns once every connection has closed or been dropped.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let room = connections.len() < limits.max_connections;
        tokio::select! {
            () = &mut shutdown => break,
            Some(ended) = connections.join_next(), if !connections.is_empty() => {
                if let Err(error) = ended {
                    tracing::error!(%error, "a connection's task failed");
                }
            }
            accepted = listener.accept(), if room => match accepted {
                Ok((tcp, peer)) => {
                    connections.spawn(serve_connection(
                        tcp,
                        peer,
                        app.clone(),
                        http.clone(),
                        limits.idle_timeout,
                        stopping.clone(),
                    ));
                }
                Err(error) => {
                    // Mostly out of file descriptors: wait for some to close.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    drop(listener);
    let _ = stop.send(true);
    tracing::info!(
        under_way = connections.len(),
        "stopping: no new connections; finishing the requests under way"
    );
    let drained = tokio::time::timeout(limits.drain_timeout, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            dropped = connections.len(),
            "connections still busy after the drain time were closed"
        );
        connections.shutdown().await;
    }
}

/// One connection, from accept to close.
async fn serve_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    app: Router,
    http: http1::Builder,
    idle_timeout: Duration,
    mut stopping: watch::Receiver<bool>,
) {
    // Responses go out at once: with Nagle's algorithm on, a response
    // written in two parts on a kept-alive connection (headers, then a
    // file's body) waited for the client's delayed ACK, some 40 ms.
    if let Err(error) = tcp.set_nodelay(true) {
        tracing::warn!(%error, "could not turn off Nagle's algorithm");
    }
    let io = Watched::new(tcp);
    let progress = io.progress.clone();
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(request)
    });
    let mut connection = pin!(http.serve_connection(TokioIo::new(io), service));
    let mut stop_asked = *stopping.borrow();
    if stop_asked {
        connection.as_mut().graceful_shutdown();
    }
    loop {
        let quiet_since = progress.last();
        tokio::select! {
            ended = connection.as_mut() => {
                if let Err(error) = ended {
                    // Timeouts, resets and malformed requests: the client's doing.
                    tracing::debug!(%error, "connection ended");
                }
                return;
            }
            changed = stopping.changed(), if !stop_asked => {
                stop_asked = true;
                if changed.is_ok() {
                    connection.as_mut().graceful_shutdown();
                }
            }
            () = tokio::time::sleep_until(quiet_since + idle_timeout) => {
                if progress.last() == quiet_since {
                    tracing::debug!("closing a connection idle for {idle_timeout:?}");
                    return;
                }
            }
        }
    }
}

/// The time of the last byte read or written on one connection.
#[derive(Clone)]
struct Progress(Arc<AtomicU64>);

impl Progress {
    fn epoch() -> Instant {
        static EPOCH: OnceLock<Instant> = OnceLock::new();
        *EPOCH.get_or_init(Instant::now)
    }

    fn now() -> Self {
        let progress = Self(Arc::new(AtomicU64::new(0)));
        progress.mark();
        progress
    }

    fn mark(&self) {
        let millis = u64::try_from(Self::epoch().elapsed().as_millis()).unwrap_or(u64::MAX);
        self.0.store(millis, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        Self::epoch() + Duration::from_millis(self.0.load(Ordering::Relaxed))
    }
}

/// A stream that notes when bytes move.
struct Watched {
    tcp: TcpStream,
    progress: Progress,
}

impl Watched {
    fn new(tcp: TcpStream) -> Self {
        Self {
            tcp,
            progress: Progress::now(),
        }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.tcp).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.progress.mark();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.tcp).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.progress.mark();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.tcp).poll_write_vectored(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.progress.mark();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}
