//! Serving the shell on a TCP listener (`lakeplane dev`), with bounds on what a client can hold: a
//! cap on open connections, a deadline for each request's headers (which also closes connections
//! idle between requests), a deadline for its body, and a cap on header size. A few clients sending
//! a byte a second cannot hold the server: their connections are closed at the header deadline, and
//! the cap is far above what they can open in that time.
//!
//! On AWS, API Gateway does this in front of the Lambda functions.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// What one client may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeLimits {
    /// Open connections at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Time to send a request's headers, counted from the first byte of the request or from the
    /// end of the previous response (so an idle keep-alive connection closes after it too).
    pub header_timeout: Duration,
    /// How long graceful shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// hyper's own read buffer bound (headers past the shell's 16 KiB limit but under this get the
/// shell's JSON 431; past this, hyper's bare 431).
const MAX_BUF_BYTES: usize = 64 * 1024;

/// Serves `router` on `listener` until `shutdown` completes, then lets requests in flight finish
/// (up to [`ServeLimits::shutdown_grace`]).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_BUF_BYTES);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
        };
        let stream = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight at shutdown were dropped");
    }
    Ok(())
}
