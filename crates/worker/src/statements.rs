//! SQL warehouses served by this worker's slots: it moves warehouses on (a starting one runs, an
//! idle one stops), claims statements from the running ones' queues under a lease, runs each on the
//! engine and writes its result chunks to the result store. A statement cancelled by its caller, or
//! taken over after this worker's lease lapsed, is dropped at the next renewal without a write.

use std::sync::Arc;
use std::time::Duration;

use lakeplane_control::sql::{Held, Renewal};
use lakeplane_core::sql::{ResultStore, StatementError};
use lakeplane_engine::results::{write_result, ResultRequest};
use lakeplane_engine::{ExecContext, Param, TxnId};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tracing::Instrument;

use crate::Worker;

/// How a statement this process took on ended, from its side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ran {
    /// Its outcome was recorded.
    Ended,
    /// It was cancelled or taken over, or its lease lapsed; nothing was recorded.
    Dropped,
    /// It outgrew the inline budget and went back to its warehouse's queue.
    Released,
    /// It was no longer waiting (a worker had it, or it was cancelled).
    NotMine,
}

/// How often the worker looks at the warehouses (to move them on and to learn which run).
const SERVE_EVERY: Duration = Duration::from_millis(500);

impl Worker {
    /// Claims and runs statements until `shutdown`, sharing `slots` with tasks.
    pub(crate) async fn serve_statements(
        self,
        results: Arc<dyn ResultStore>,
        slots: Arc<Semaphore>,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        let lease_ms = self.config.lease.as_millis() as i64;
        let shortest = (self.config.poll / 8).max(Duration::from_millis(1));
        // Someone is waiting on a statement's answer: an idle worker looks four times as often
        // for statements as for tasks.
        let longest = (self.config.poll / 4).max(shortest);
        let mut idle = shortest;
        let mut running: Vec<String> = Vec::new();
        let mut served_at: Option<Instant> = None;
        tokio::pin!(shutdown);
        loop {
            if let Some(only) = &self.config.warehouses {
                // A warehouse's own node: its warehouse, whose state its cluster moves.
                running = only.clone();
            } else if served_at.is_none_or(|t| t.elapsed() >= SERVE_EVERY) {
                match self
                    .control
                    .warehouses()
                    .serve(lakeplane_control::time::now_ms())
                    .await
                {
                    Ok(ids) => running = ids,
                    Err(e) => tracing::warn!(error = %e, "could not read the warehouses"),
                }
                served_at = Some(Instant::now());
            }
            let permit = tokio::select! {
                _ = &mut shutdown => break,
                _ = self.signals.draining.cancelled() => break,
                p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            };
            if self.signals.draining.is_cancelled() {
                break;
            }
            match self
                .control
                .statements()
                .claim_next(&self.config.id, &running, lease_ms)
                .await
            {
                Ok(Some(held)) => {
                    idle = shortest;
                    let (me, results) = (self.clone(), results.clone());
                    tokio::spawn(async move {
                        let _permit = permit;
                        me.run_statement(held, results.as_ref(), None).await;
                    });
                }
                Ok(None) => {
                    drop(permit);
                    tokio::select! {
                        _ = &mut shutdown => break,
                        _ = tokio::time::sleep(idle) => {}
                    }
                    idle = (idle * 2).min(longest);
                }
                Err(e) => {
                    drop(permit);
                    tracing::warn!(error = %e, "claiming a statement failed; retrying");
                    tokio::time::sleep(self.config.poll * 5).await;
                }
            }
        }
    }

    /// Runs one statement here and now if it is still waiting, within `budget`: what a function
    /// serving the API does with small statements. Past the budget the work stops and the
    /// statement goes back to its warehouse's queue for a worker ([`Ran::Released`]); a re-run
    /// writes nothing twice (its Delta commits carry the statement's transaction identity).
    pub async fn run_inline(
        &self,
        statement_id: &str,
        results: &dyn ResultStore,
        budget: Duration,
    ) -> Ran {
        let lease_ms = self.config.lease.as_millis() as i64;
        match self
            .control
            .statements()
            .claim(statement_id, &self.config.id, lease_ms)
            .await
        {
            Ok(Some(held)) => self.run_statement(held, results, Some(budget)).await,
            Ok(None) => Ran::NotMine,
            Err(e) => {
                tracing::warn!(error = %e, statement_id, "could not claim a statement to run inline");
                Ran::NotMine
            }
        }
    }

    /// Runs one held statement to its end and records the outcome (unless the lease is lost, or
    /// `budget` runs out first: then it goes back to the queue).
    pub async fn run_statement(
        &self,
        mut held: Held,
        results: &dyn ResultStore,
        budget: Option<Duration>,
    ) -> Ran {
        let statement = held.statement.clone();
        let span = tracing::info_span!("statement", statement_id = %statement.id,
            warehouse_id = %statement.request.warehouse_id, attempt = statement.attempts);
        async move {
            let lease_ms = self.config.lease.as_millis() as i64;
            let mut lease_until = Instant::now() + self.config.lease;
            let ctx = match self.statement_context(&statement).await {
                Ok(ctx) => ctx,
                Err(e) => {
                    let error = StatementError::new("TEMPORARILY_UNAVAILABLE", format!("could not resolve the caller: {e}"));
                    if let Err(e) = self.control.statements().finish(&held, Err(error), None).await {
                        tracing::error!(error = %e, "could not record the statement's end");
                    }
                    return Ran::Ended;
                }
            };
            let request = ResultRequest {
                format: statement.request.format,
                compression: statement.request.compression,
                row_limit: statement.request.row_limit,
                byte_limit: statement.request.byte_limit,
                chunk_bytes: self.config.chunk_bytes,
            };
            let work = async {
                let out = self.engine.execute(&ctx, &statement.request.statement).await?;
                let current = (out.current.catalog.clone(), out.current.schema.clone());
                let manifest = write_result(out.into_stream(), request, results, &statement.id).await?;
                Ok::<_, lakeplane_engine::EngineError>((manifest, current))
            };
            tokio::pin!(work);
            let mut beat = tokio::time::interval(self.config.heartbeat);
            beat.tick().await;
            let out_of_budget = async move {
                match budget {
                    Some(b) => tokio::time::sleep(b).await,
                    None => std::future::pending().await,
                }
            };
            tokio::pin!(out_of_budget);
            let interrupted = self.signals.interrupted.clone();
            let outcome = loop {
                tokio::select! {
                    r = &mut work => break r,
                    _ = async { tokio::select! { _ = &mut out_of_budget => {}, _ = interrupted.cancelled() => {} } } => {
                        ctx.cancel.cancel();
                        return match self.control.statements().release(&held).await {
                            Ok(true) => {
                                tracing::info!("the statement outgrew its inline budget or its node is being taken away; queued for another worker");
                                Ran::Released
                            }
                            Ok(false) => Ran::Dropped,
                            Err(e) => {
                                tracing::warn!(error = %e, "could not hand a statement back; its lease will lapse");
                                Ran::Dropped
                            }
                        };
                    }
                    _ = tokio::time::sleep_until(lease_until) => {
                        ctx.cancel.cancel();
                        tracing::warn!("the statement's lease ran out; it is dropped");
                        return Ran::Dropped;
                    }
                    _ = beat.tick() => {
                        let sent = Instant::now();
                        match self.control.statements().renew(&mut held, lease_ms).await {
                            Ok(Renewal::Held) => lease_until = sent + self.config.lease,
                            Ok(Renewal::Lost) => {
                                ctx.cancel.cancel();
                                tracing::info!("the statement was cancelled or taken over; it is dropped");
                                return Ran::Dropped;
                            }
                            Err(e) => tracing::warn!(error = %e, "renewing a statement's lease failed"),
                        }
                    }
                }
            };
            let (outcome, current) = match outcome {
                Ok((manifest, current)) => (Ok(manifest), Some(current)),
                Err(e) => (
                    Err(StatementError::new(e.service_code(), e.to_string()).with_sql_state(e.sql_state())),
                    None,
                ),
            };
            let failed = outcome.is_err();
            match self.control.statements().finish(&held, outcome, current).await {
                Ok(true) => {
                    tracing::info!(failed, "statement ended");
                    Ran::Ended
                }
                Ok(false) => {
                    tracing::info!("the statement was cancelled or taken over before it ended");
                    Ran::Dropped
                }
                Err(e) => {
                    tracing::error!(error = %e, "could not record the statement's end; it will run again");
                    Ran::Dropped
                }
            }
        }
        .instrument(span)
        .await
    }

    /// A statement's execution context: its caller, parameters as typed values, catalog and schema,
    /// and a Delta transaction naming the statement (a re-run after a lost worker writes nothing
    /// twice).
    async fn statement_context(
        &self,
        s: &lakeplane_core::sql::Statement,
    ) -> Result<ExecContext, lakeplane_control::ControlError> {
        let identity = self.control.principals().identity(&s.principal).await?;
        let mut ctx = ExecContext::as_user(identity);
        ctx.params = s
            .request
            .parameters
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    Param {
                        value: p.value.clone(),
                        sql_type: p.sql_type.clone(),
                    },
                )
            })
            .collect();
        ctx.catalog = s.request.catalog.clone();
        ctx.schema = s.request.schema.clone();
        ctx.memory_budget = self.config.memory_budget;
        ctx.txn = Some(TxnId {
            app_id: format!("lakeplane/statement-{}", s.id),
            version: i64::from(s.attempts),
        });
        Ok(ctx)
    }
}
