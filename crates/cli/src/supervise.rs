//! `lakeplane dev` keeps its worker processes alive: one that exits or is killed is started again
//! after a backoff, and every restart is logged. Its tasks are not lost meanwhile: their leases
//! expire and another worker (or the restarted one) takes them over.

use std::time::Duration;

use tokio::process::Child;
use tokio::time::Instant;

/// The first wait before restarting a worker that died; it doubles with each quick death.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest wait between restarts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A worker that stayed up this long resets the backoff.
const HEALTHY_AFTER: Duration = Duration::from_secs(60);

/// Keeps worker `n` running until the returned future is dropped; `spawn(n)` starts it.
pub async fn keep_running<F>(n: usize, spawn: F)
where
    F: Fn(usize) -> anyhow::Result<Child>,
{
    let mut backoff = FIRST_BACKOFF;
    loop {
        let started = Instant::now();
        let status = match spawn(n) {
            Ok(mut child) => {
                let pid = child.id();
                tracing::info!(worker = n, pid, "worker started");
                child.wait().await.map(|s| s.to_string())
            }
            Err(e) => Ok(format!("could not start: {e:#}")),
        };
        if started.elapsed() >= HEALTHY_AFTER {
            backoff = FIRST_BACKOFF;
        }
        let status = status.unwrap_or_else(|e| e.to_string());
        tracing::warn!(worker = n, %status, restart_in_ms = backoff.as_millis() as u64,
            "worker exited; restarting it");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}
