//! A cluster's record and its state machine.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::spec::{Autoscale, ClusterSpec};
use crate::error::{DomainError, DomainResult};
use crate::ids::RunId;
use crate::run::Lease;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClusterState {
    Pending,
    Running,
    Restarting,
    Resizing,
    Terminating,
    Terminated,
    Error,
}

impl ClusterState {
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterState::Pending => "PENDING",
            ClusterState::Running => "RUNNING",
            ClusterState::Restarting => "RESTARTING",
            ClusterState::Resizing => "RESIZING",
            ClusterState::Terminating => "TERMINATING",
            ClusterState::Terminated => "TERMINATED",
            ClusterState::Error => "ERROR",
        }
    }

    /// Whether the cluster should have nodes.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            ClusterState::Pending
                | ClusterState::Running
                | ClusterState::Restarting
                | ClusterState::Resizing
        )
    }
}

/// Who made the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClusterSource {
    Api,
    Ui,
    /// A job cluster: made for one run, terminated when it ends.
    Job,
    /// A SQL warehouse's cluster: started and stopped with its warehouse.
    Sql,
}

/// `termination_reason`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TerminationReason {
    pub code: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub parameters: Map<String, Value>,
}

impl TerminationReason {
    pub fn new(code: &str, kind: &str) -> TerminationReason {
        TerminationReason {
            code: code.into(),
            kind: kind.into(),
            parameters: Map::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<String>) -> TerminationReason {
        self.parameters
            .insert(key.into(), Value::String(value.into()));
        self
    }

    pub fn user_request(user: &str) -> TerminationReason {
        TerminationReason::new("USER_REQUEST", "SUCCESS").with("username", user)
    }

    pub fn inactivity(minutes: u32) -> TerminationReason {
        TerminationReason::new("INACTIVITY", "SUCCESS")
            .with("inactivity_duration_min", minutes.to_string())
    }

    pub fn job_finished() -> TerminationReason {
        TerminationReason::new("JOB_FINISHED", "SUCCESS")
    }

    pub fn launch_failure(message: &str) -> TerminationReason {
        TerminationReason::new("CLOUD_PROVIDER_LAUNCH_FAILURE", "CLOUD_FAILURE")
            .with("aws_error_message", message)
    }
}

/// A cluster's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    pub cluster_id: String,
    pub spec: ClusterSpec,
    pub state: ClusterState,
    #[serde(default)]
    pub state_message: String,
    pub creator_user_name: String,
    pub cluster_source: ClusterSource,
    /// The run a job cluster belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<RunId>,
    /// The job cluster key it was made for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_cluster_key: Option<String>,
    /// The SQL warehouse it serves (its nodes claim statements from the warehouse's queue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warehouse_id: Option<String>,
    /// Each start and restart begins a generation; nodes of older ones are terminated.
    #[serde(default)]
    pub generation: u32,
    /// Workers it should have now (besides the driver).
    pub target_workers: u32,
    pub start_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminated_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_restarted_time: Option<i64>,
    /// When it last had work queued or running (auto-termination counts from here).
    pub last_activity_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_reason: Option<TerminationReason>,
    #[serde(default)]
    pub pinned: bool,
    /// Permanently deleted: gone from listings once its nodes are.
    #[serde(default)]
    pub deleted: bool,
    /// Since when autoscaling has wanted fewer workers (it shrinks only after a while of that).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shrink_wanted_since: Option<i64>,
    /// The reconciler acting on it now: one at a time, so that nodes are not launched twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconciler: Option<Lease>,
}

impl Cluster {
    /// A new cluster, PENDING.
    pub fn new(
        cluster_id: String,
        spec: ClusterSpec,
        creator: &str,
        source: ClusterSource,
        now: i64,
    ) -> Cluster {
        Cluster {
            cluster_id,
            target_workers: spec.initial_workers(),
            spec,
            state: ClusterState::Pending,
            state_message: "Starting the cluster's nodes".into(),
            creator_user_name: creator.to_string(),
            cluster_source: source,
            run_id: None,
            job_cluster_key: None,
            warehouse_id: None,
            generation: 0,
            start_time: now,
            terminated_time: None,
            last_restarted_time: None,
            last_activity_time: now,
            termination_reason: None,
            pinned: false,
            deleted: false,
            shrink_wanted_since: None,
            reconciler: None,
        }
    }

    /// The work queue its nodes serve: its warehouse's, or its own.
    pub fn queue(&self) -> String {
        match &self.warehouse_id {
            Some(w) => crate::sql::warehouse_queue(w),
            None => super::cluster_queue(&self.cluster_id),
        }
    }

    /// The driver and the workers it should have.
    pub fn desired_nodes(&self) -> u32 {
        1 + self.target_workers
    }

    fn refuse(&self, action: &'static str) -> DomainError {
        DomainError::InvalidTransition {
            object: format!("cluster {}", self.cluster_id),
            action,
            state: self.state.as_str().to_string(),
        }
    }

    /// A new generation: its nodes replace the current ones.
    fn regenerate(&mut self, state: ClusterState, message: &str, now: i64) {
        self.generation += 1;
        self.state = state;
        self.state_message = message.into();
        self.last_activity_time = now;
    }

    /// `clusters/edit`: a new spec. A live cluster restarts with it; a terminated one stays so.
    pub fn edit(&mut self, spec: ClusterSpec, now: i64) -> DomainResult<()> {
        if self.state == ClusterState::Terminating {
            return Err(self.refuse("edit"));
        }
        self.target_workers = spec.initial_workers();
        self.spec = spec;
        if self.state.is_live() {
            self.regenerate(
                ClusterState::Restarting,
                "Restarting with the new spec",
                now,
            );
            self.last_restarted_time = Some(now);
        }
        Ok(())
    }

    /// `clusters/start`: a terminated cluster starts again; a live one is left as it is.
    pub fn start(&mut self, now: i64) -> DomainResult<bool> {
        match self.state {
            ClusterState::Terminated | ClusterState::Error => {
                self.regenerate(ClusterState::Pending, "Starting the cluster's nodes", now);
                self.target_workers = self.spec.initial_workers();
                self.start_time = now;
                self.terminated_time = None;
                self.termination_reason = None;
                Ok(true)
            }
            ClusterState::Terminating => Err(self.refuse("start")),
            _ => Ok(false),
        }
    }

    /// `clusters/restart`: new nodes replace the current ones.
    pub fn restart(&mut self, now: i64) -> DomainResult<()> {
        match self.state {
            ClusterState::Running | ClusterState::Resizing | ClusterState::Restarting => {
                self.regenerate(
                    ClusterState::Restarting,
                    "Restarting the cluster's nodes",
                    now,
                );
                self.last_restarted_time = Some(now);
                Ok(())
            }
            ClusterState::Pending => Ok(()),
            _ => Err(self.refuse("restart")),
        }
    }

    /// `clusters/resize`: a new fixed size or autoscale range.
    pub fn resize(
        &mut self,
        num_workers: Option<u32>,
        autoscale: Option<Autoscale>,
        now: i64,
    ) -> DomainResult<()> {
        if !self.state.is_live() {
            return Err(self.refuse("resize"));
        }
        match (num_workers, autoscale) {
            (_, Some(a)) => {
                self.spec.autoscale = Some(a);
                self.spec.num_workers = None;
                self.target_workers = self.target_workers.clamp(a.min_workers, a.max_workers);
            }
            (Some(n), None) => {
                self.spec.autoscale = None;
                self.spec.num_workers = Some(n);
                self.target_workers = n;
            }
            (None, None) => {
                return Err(DomainError::invalid(
                    "resize needs num_workers or autoscale",
                ))
            }
        }
        self.spec.validate()?;
        if self.state == ClusterState::Running {
            self.state = ClusterState::Resizing;
            self.state_message = format!("Resizing to {} workers", self.target_workers);
        }
        self.last_activity_time = now;
        Ok(())
    }

    /// Autoscaling: the target for `busy` tasks queued or running when each node runs `slots` at
    /// once, within the autoscale range. `None` when the cluster does not autoscale or the target
    /// does not change.
    pub fn autoscale_target(&self, busy: u64, slots: u32) -> Option<u32> {
        let range = self.spec.autoscale?;
        let nodes_needed = busy.div_ceil(u64::from(slots.max(1)));
        // The driver runs tasks too.
        let workers = u32::try_from(nodes_needed.saturating_sub(1)).unwrap_or(u32::MAX);
        let target = workers.clamp(range.min_workers, range.max_workers);
        (target != self.target_workers).then_some(target)
    }

    /// One autoscaling step at `now` for `busy` tasks: it grows at once, and shrinks only once it has
    /// wanted to for `cooldown_ms` (so that a bursty queue does not make nodes come and go). The new
    /// target if it changed.
    pub fn autoscale(&mut self, busy: u64, slots: u32, now: i64, cooldown_ms: i64) -> Option<u32> {
        match self.autoscale_target(busy, slots) {
            Some(t) if t > self.target_workers => {
                self.shrink_wanted_since = None;
                self.scale_to(t);
                Some(t)
            }
            Some(t) => {
                let since = *self.shrink_wanted_since.get_or_insert(now);
                if now - since >= cooldown_ms {
                    self.shrink_wanted_since = None;
                    self.scale_to(t);
                    return Some(t);
                }
                None
            }
            None => {
                self.shrink_wanted_since = None;
                None
            }
        }
    }

    /// Sets an autoscaled target (see [`Cluster::autoscale_target`]).
    pub fn scale_to(&mut self, target: u32) {
        self.target_workers = target;
        if self.state == ClusterState::Running {
            self.state = ClusterState::Resizing;
            self.state_message = format!("Autoscaling to {target} workers");
        }
    }

    /// `clusters/delete` and every other end: `→ TERMINATING` with `reason`.
    pub fn terminate(&mut self, reason: TerminationReason) -> bool {
        if matches!(
            self.state,
            ClusterState::Terminating | ClusterState::Terminated
        ) {
            return false;
        }
        self.state = ClusterState::Terminating;
        self.state_message = format!("Terminating: {}", reason.code);
        self.termination_reason = Some(reason);
        true
    }

    /// `TERMINATING → TERMINATED`, once its nodes are gone.
    pub fn terminated(&mut self, now: i64) {
        if self.state == ClusterState::Terminating {
            self.state = ClusterState::Terminated;
            self.state_message = String::new();
            self.terminated_time = Some(now);
        }
    }

    /// `PENDING | RESTARTING | RESIZING → RUNNING`: its driver reported in, and (resizing) its
    /// workers. Whether it changed.
    pub fn became_running(&mut self) -> bool {
        if matches!(
            self.state,
            ClusterState::Pending | ClusterState::Restarting | ClusterState::Resizing
        ) {
            self.state = ClusterState::Running;
            self.state_message = String::new();
            return true;
        }
        false
    }

    /// Whether it has been idle longer than `autotermination_minutes` (a minute being
    /// `minute_ms`); the minutes if so. Job clusters end with their run instead.
    pub fn idle_too_long(&self, now: i64, minute_ms: i64) -> Option<u32> {
        let minutes = self.spec.idle_limit_minutes()?;
        (self.state == ClusterState::Running
            && matches!(self.cluster_source, ClusterSource::Api | ClusterSource::Ui)
            && now - self.last_activity_time >= i64::from(minutes) * minute_ms)
            .then_some(minutes)
    }
}
