//! The connection loop: hyper's HTTP/1 server under the router, with the limits a public
//! server needs against slow or idle clients (`axum::serve` sets none of them): a time
//! to send the headers, a time to send the body, and a cap on connections served at once.
//!
//! Each request carries the client's address (`ConnectInfo`, for per-address limits) and
//! the address it reached the server at ([`LocalAddr`], for absolute links that do not
//! trust the `Host` header).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{watch, Semaphore};
use tower_service::Service;

use crate::WebError;

/// How long clients may take, and how many may be served at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Time a client has to send a request's headers. Hyper starts the same timer when a
    /// keep-alive connection goes idle, so this is also how long an idle connection stays
    /// open.
    pub header_read: Duration,
    /// Time a client has to send a whole request body, from the end of its headers.
    /// Generous, since watchlist uploads may be large; small forms are also capped in size.
    pub body_read: Duration,
    /// Connections served at once (at most 2^20). Beyond this, new connections wait in
    /// the kernel's listen queue until one ends, so slow clients cannot exhaust file
    /// descriptors.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            header_read: Duration::from_secs(10),
            body_read: Duration::from_secs(300),
            max_connections: 1024,
        }
    }
}

/// The server's address as the client reached it (the accepted socket's local address).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LocalAddr(pub SocketAddr);

/// The error a request body gives when its client was too slow to send it.
#[derive(Debug, thiserror::Error)]
#[error("the request body was not sent in time")]
pub(crate) struct BodyTimedOut;

/// Whether `e` (or what caused it) is [`BodyTimedOut`].
pub(crate) fn body_timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if c.is::<BodyTimedOut>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// A request body that fails with [`BodyTimedOut`] once its deadline passes.
struct TimedBody {
    inner: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut)))),
                Poll::Pending => Poll::Pending,
            },
            ready => ready,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Serve `app` on `listener` until `shutdown` completes, then let the connections finish
/// their requests in flight.
pub(crate) async fn run(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WebError> {
    let slots = limits.max_connections.clamp(1, 1 << 20);
    let free = Arc::new(Semaphore::new(slots));
    let (stop, stopping) = watch::channel(false);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .keep_alive(true);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A slot first, then accept: at the cap, connections queue in the kernel.
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = free.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: retrying at once would spin.
                    log::warn!("accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let local = stream.local_addr().ok();
        let app = app.clone();
        let body_read = limits.body_read;
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(remote));
            if let Some(local) = local {
                req.extensions_mut().insert(LocalAddr(local));
            }
            let req = req.map(|body| {
                Body::new(TimedBody {
                    inner: Body::new(body),
                    deadline: Box::pin(tokio::time::sleep(body_read)),
                })
            });
            let mut app = app.clone();
            async move { app.call(req).await }
        });
        let conn = http.serve_connection(TokioIo::new(stream), service);
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let mut conn = std::pin::pin!(conn);
            let done = tokio::select! {
                done = conn.as_mut() => done,
                _ = async { stopping.wait_for(|s| *s).await.is_ok() } => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = done {
                // Timeouts and clients that went away: the client's problem, not ours.
                log::debug!("connection from {remote}: {e}");
            }
            drop(slot);
        });
    }
    // The receivers wait for `true`; an error only means no connection is left.
    let _ = stop.send(true);
    // Every slot back means every connection has ended.
    let _ = free.acquire_many(slots as u32).await;
    Ok(())
}
