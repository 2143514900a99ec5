//! The task worker. It claims due task runs through the control plane (and so through the state store
//! port, never a database of its own), holds each under a lease renewed by heartbeats, runs its SQL on
//! the engine, and records the outcome. Several tasks run at once, up to `slots`.
//!
//! If a worker dies, its leases stop being renewed; once one expires the task is due again and
//! another worker claims it as a new attempt. Each Delta write of a task carries an application
//! transaction naming the run, the task and the statement, so a statement an earlier attempt
//! committed is not written again.
//!
//! A worker that cannot renew a lease stops that task's work at its own deadline (the time the
//! lease was last renewed until, by its monotonic clock) and records nothing: by then another
//! worker may hold it. A task's and its run's `timeout_seconds` stop the query and end the attempt
//! TIMEDOUT.
//!
//! ```no_run
//! # async fn demo(control: lakeplane_control::Control, engine: lakeplane_engine::Engine) {
//! use lakeplane_worker::{Worker, WorkerConfig};
//! let worker = Worker::new(control, engine, WorkerConfig::new("worker-1"));
//! worker.run(std::future::pending::<()>()).await;
//! # }
//! ```

mod node;
mod output;
mod statements;
mod task_sql;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use lakeplane_control::{Claim, Control, ControlError, Heartbeat, DEFAULT_QUEUE};
use lakeplane_core::run::{Finished, TaskOutput, TaskResult};
use lakeplane_engine::{Engine, ExecContext, TxnId};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tracing::Instrument;

pub use node::{NodeConfig, Notice};
pub use output::SAMPLE_ROWS;
pub use statements::Ran;

/// How a worker behaves.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// This worker's name in leases and logs; unique among live workers.
    pub id: String,
    /// Tasks run at once.
    pub slots: usize,
    /// How long a claim lasts without a heartbeat.
    pub lease: Duration,
    /// How often a running task's lease is renewed (well under `lease`).
    pub heartbeat: Duration,
    /// The longest wait between looks for due work. After finding work the worker looks again at
    /// once, and while idle it waits `poll / 8`, then twice as long each time, up to `poll`: bursts
    /// start fast, and an idle worker costs at most one store query per `poll`.
    pub poll: Duration,
    /// The most memory one task's query may hold (DataFusion's memory pool; spillable operators
    /// spill, others fail the task cleanly).
    pub memory_budget: usize,
    /// The work queues this worker claims from, in order of preference.
    pub queues: Vec<String>,
    /// Where statement results go; with one, the worker also serves the SQL warehouses' queues.
    pub results: Option<Arc<dyn lakeplane_core::sql::ResultStore>>,
    /// The size result chunks are cut at.
    pub chunk_bytes: usize,
    /// The cluster node this worker is, if any: it reports in, and drains when told.
    pub node: Option<NodeConfig>,
    /// With `results`: the warehouses whose statements this worker runs. `None` serves every
    /// running warehouse and moves warehouses on (a pool of the platform's workers); a warehouse's
    /// own cluster node names its warehouse, whose state its cluster moves.
    pub warehouses: Option<Vec<String>>,
}

impl WorkerConfig {
    pub fn new(id: impl Into<String>) -> WorkerConfig {
        WorkerConfig {
            id: id.into(),
            slots: 4,
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(5),
            poll: Duration::from_millis(100),
            memory_budget: lakeplane_engine::context::DEFAULT_MEMORY_BUDGET,
            queues: vec![DEFAULT_QUEUE.to_string()],
            results: None,
            chunk_bytes: lakeplane_engine::results::DEFAULT_CHUNK_BYTES,
            node: None,
            warehouses: None,
        }
    }
}

/// A worker over one control plane and one engine.
#[derive(Debug, Clone)]
pub struct Worker {
    control: Control,
    engine: Engine,
    config: WorkerConfig,
    signals: node::Signals,
}

/// How one task's execution ended, from the worker's side.
#[derive(Debug, Clone, PartialEq)]
pub enum Executed {
    /// The attempt's end was recorded with this result (a failure may be retried).
    Recorded(TaskResult),
    /// Another worker holds the task now, or this one could not renew its lease in time; nothing
    /// was recorded.
    LeaseLost,
    /// The worker's node is being taken away: the attempt was handed back to run elsewhere.
    HandedBack,
}

impl Worker {
    pub fn new(control: Control, engine: Engine, config: WorkerConfig) -> Worker {
        Worker {
            control,
            engine,
            config,
            signals: node::Signals::default(),
        }
    }

    /// Claims and runs tasks until `shutdown` completes; tasks already running are left to their
    /// leases (another worker takes them over if this process ends).
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tracing::info!(worker = %self.config.id, slots = self.config.slots, "worker started");
        let slots = Arc::new(Semaphore::new(self.config.slots.max(1)));
        let stop = tokio_util::sync::CancellationToken::new();
        let sql = self.config.results.clone().map(|results| {
            let stopped = stop.clone().cancelled_owned();
            tokio::spawn(
                self.clone()
                    .serve_statements(results, slots.clone(), stopped),
            )
        });
        let total = self.config.slots.max(1);
        let agent = self.config.node.clone().map(|n| {
            let free = slots.clone();
            tokio::spawn(node::agent(
                self.control.clone(),
                n,
                self.signals.clone(),
                move || free.available_permits() == total,
            ))
        });
        let draining = self.signals.draining.clone();
        let lease_ms = self.config.lease.as_millis() as i64;
        let shortest = (self.config.poll / 8).max(Duration::from_millis(1));
        let mut idle = shortest;
        tokio::pin!(shutdown);
        let mut shut = false;
        loop {
            let permit = tokio::select! {
                _ = &mut shutdown => { shut = true; break }
                _ = draining.cancelled() => break,
                p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            };
            if draining.is_cancelled() {
                break;
            }
            // Before the claim is written: the lease runs until at least this + lease.
            let asked = Instant::now();
            match self
                .control
                .leases()
                .claim_next(&self.config.id, &self.config.queues, lease_ms)
                .await
            {
                Ok(Some(claim)) => {
                    idle = shortest;
                    let me = self.clone();
                    tokio::spawn(async move {
                        let _permit = permit;
                        me.execute_from(claim, asked).await;
                    });
                }
                Ok(None) => {
                    drop(permit);
                    tokio::select! {
                        _ = &mut shutdown => { shut = true; break }
                        _ = draining.cancelled() => break,
                        _ = tokio::time::sleep(idle) => {}
                    }
                    idle = (idle * 2).min(self.config.poll);
                }
                Err(e) => {
                    drop(permit);
                    tracing::warn!(error = %e, "claiming failed; retrying");
                    tokio::time::sleep(self.config.poll * 5).await;
                }
            }
        }
        stop.cancel();
        if let Some(sql) = sql {
            let _ = sql.await;
        }
        if let Some(agent) = agent {
            if draining.is_cancelled() && !shut {
                // Running tasks finish (or are handed back); the agent reports the node drained.
                tokio::select! {
                    _ = self.signals.stop.cancelled() => {}
                    _ = &mut shutdown => {}
                }
            }
            agent.abort();
        }
        tracing::info!(worker = %self.config.id, "worker stopping");
    }

    /// Runs one claimed task to its end and records the outcome.
    pub async fn execute(&self, claim: Claim) -> Executed {
        self.execute_from(claim, Instant::now()).await
    }

    /// [`Worker::execute`], for a claim asked for at `asked` (its lease runs until at least
    /// `asked + lease`).
    async fn execute_from(&self, mut claim: Claim, asked: Instant) -> Executed {
        let span = tracing::info_span!("task", run_id = %claim.task.parent_run_id,
            task_run_id = %claim.task.run_id, task_key = %claim.task.key(),
            attempt = claim.task.attempt_number, worker = %self.config.id);
        async move {
            if claim.task.cancel_requested {
                // The run was cancelled between the claim's read and its write.
                return self.record(claim, TaskResult::Canceled, "Run was cancelled".into(), None).await;
            }
            tracing::info!("task started");
            let lease_ms = self.config.lease.as_millis() as i64;
            let mut lease_until = asked + self.config.lease;
            let ctx = match self.context(&claim).await {
                Ok(ctx) => ctx,
                Err(e) => {
                    let message = format!("could not resolve who the task runs as: {e}");
                    return self.record(claim, TaskResult::Failed, message, None).await;
                }
            };
            // The task's or the run's time limit, on this host's monotonic clock.
            let (stop_at, timeout_message) = match &claim.deadline {
                Some(d) => {
                    let left = d.at.saturating_sub(lakeplane_control::time::now_ms()).max(0);
                    (Some(Instant::now() + Duration::from_millis(left as u64)), d.message.clone())
                }
                None => (None, String::new()),
            };
            // The heartbeat below rewrites `claim`; the SQL runs from this copy of its task.
            let task = claim.task.clone();
            let work = self.run_sql(&task, &ctx);
            tokio::pin!(work);
            let mut beat = tokio::time::interval(self.config.heartbeat);
            beat.tick().await;
            let timed_out = async move {
                match stop_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::pin!(timed_out);
            let outcome = loop {
                tokio::select! {
                    r = &mut work => break r,
                    _ = &mut timed_out => {
                        ctx.cancel.cancel();
                        tracing::warn!(message = %timeout_message, "task timed out");
                        break Err((TaskResult::TimedOut, timeout_message.clone()));
                    }
                    _ = self.signals.interrupted.cancelled() => {
                        ctx.cancel.cancel();
                        return match self.control.leases().hand_back(claim, "its node is being taken away (spot interruption)").await {
                            Ok(()) => Executed::HandedBack,
                            Err(e) => {
                                tracing::warn!(error = %e, "could not hand the task back; its lease will expire");
                                Executed::LeaseLost
                            }
                        };
                    }
                    _ = tokio::time::sleep_until(lease_until) => {
                        // Not renewed in time: another worker may hold the task by now.
                        ctx.cancel.cancel();
                        tracing::warn!("the lease could not be renewed before it ran out; the work is stopped and nothing is recorded");
                        return Executed::LeaseLost;
                    }
                    _ = beat.tick() => {
                        let sent = Instant::now();
                        match self.control.leases().heartbeat(&mut claim, lease_ms).await {
                            Ok(Heartbeat::Continue) => lease_until = sent + self.config.lease,
                            Ok(Heartbeat::Cancel) => {
                                ctx.cancel.cancel();
                                break Err((TaskResult::Canceled, "Run was cancelled".to_string()));
                            }
                            Err(e @ ControlError::LeaseLost { .. }) => {
                                ctx.cancel.cancel();
                                tracing::warn!(reason = %e, "lease lost; dropping the task");
                                return Executed::LeaseLost;
                            }
                            // A missed heartbeat is survivable while the lease lasts.
                            Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
                        }
                    },
                }
            };
            let (result, message, output) = match outcome {
                Ok(out) => (TaskResult::Success, String::new(), Some(out)),
                Err((result, message)) => (result, message, None),
            };
            if Instant::now() >= lease_until {
                tracing::warn!("the lease ran out as the task ended; nothing is recorded");
                return Executed::LeaseLost;
            }
            self.record(claim, result, message, output).await
        }
        .instrument(span)
        .await
    }

    /// Records the attempt's end.
    async fn record(
        &self,
        claim: Claim,
        result: TaskResult,
        message: String,
        output: Option<TaskOutput>,
    ) -> Executed {
        match self
            .control
            .leases()
            .complete(claim, result, message, output)
            .await
        {
            Ok(Finished::Retrying) => {
                tracing::info!(?result, "attempt ended; the task will be retried");
                Executed::Recorded(result)
            }
            Ok(_) => Executed::Recorded(result),
            Err(e @ ControlError::LeaseLost { .. }) => {
                tracing::warn!(reason = %e, "lease lost before completion; outcome dropped");
                Executed::LeaseLost
            }
            Err(e) => {
                // The lease will expire and the task will run again as a new attempt.
                tracing::error!(error = %e, "could not record the task's outcome");
                Executed::LeaseLost
            }
        }
    }

    /// The execution context of a claimed task: its parameters bound as values, and a Delta
    /// transaction identity naming the task run and this attempt.
    /// The task runs as its run's principal (`Claim::run_as`): its SQL is checked against that
    /// principal's grants.
    async fn context(&self, claim: &Claim) -> Result<ExecContext, ControlError> {
        let task = &claim.task;
        let identity = self.control.principals().identity(&claim.run_as).await?;
        let mut ctx = ExecContext::as_user(identity).with_text_params(&claim.parameters);
        ctx.memory_budget = self.config.memory_budget;
        ctx.txn = Some(TxnId {
            app_id: format!("lakeplane/run-{}/task-{}", task.parent_run_id, task.key()),
            version: i64::from(task.attempt_number),
        });
        Ok(ctx)
    }

    /// Resolves the task's SQL, runs it, and keeps a summary of what it produced.
    async fn run_sql(
        &self,
        task: &lakeplane_core::run::TaskRun,
        ctx: &ExecContext,
    ) -> Result<TaskOutput, (TaskResult, String)> {
        let failed = |m: String| (TaskResult::Failed, m);
        let sql = task_sql::resolve(&self.control, &self.engine, task)
            .await
            .map_err(failed)?;
        let out = self
            .engine
            .execute(ctx, &sql)
            .await
            .map_err(|e| failed(e.to_string()))?;
        output::summarize(out)
            .await
            .map_err(|e| failed(e.to_string()))
    }
}
