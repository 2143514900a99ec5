//! Starting runs: `run-now` and `runs/submit`. A run, its task runs and the job clusters it makes
//! are written in one transaction; a task on an existing cluster starts that cluster if needed.

use std::collections::BTreeMap;

use lakeplane_core::cluster::{Cluster, ClusterEvent, ClusterSpec, EventType};
use lakeplane_core::job::{Job, JobSettings, Task, TaskCompute};
use lakeplane_core::run::{Run, RunState, RunType, TaskRun};
use lakeplane_core::{JobId, RunId};

use super::{RunNow, Runs};
use crate::clusters::Clusters;
use crate::doc::Record;
use crate::error::{ControlError, ControlResult};
use crate::time::now_ms;

/// The most items one run's creation writes in one transaction (DynamoDB's limit).
const MAX_RUN_ITEMS: usize = 100;

impl Runs {
    /// Starts a run of a job (`jobs/run-now`).
    pub async fn run_now(
        &self,
        job_id: JobId,
        request: RunNow,
        creator: &str,
    ) -> ControlResult<RunId> {
        let job: Job = self.docs.read(&job_id).await?;
        if job.settings.tasks.is_empty() {
            return Err(ControlError::InvalidParameter(format!(
                "Job {job_id} has no tasks to run."
            )));
        }
        let mut params: BTreeMap<String, String> = job
            .settings
            .parameters
            .iter()
            .map(|p| (p.name.clone(), p.default.clone()))
            .collect();
        for (k, v) in request.job_parameters {
            if !params.contains_key(&k) {
                return Err(ControlError::InvalidParameter(format!(
                    "job_parameters: '{k}' is not a parameter of job {job_id}"
                )));
            }
            params.insert(k, v);
        }
        let run = self.new_run(
            Some(job_id),
            job.settings.display_name(),
            RunType::JobRun,
            creator,
        );
        self.start(
            Run {
                run_as: job
                    .settings
                    .run_as()
                    .unwrap_or_else(|| job.creator_user_name.clone()),
                job_parameters: params,
                sql_params: request.sql_params,
                timeout_seconds: job.settings.timeout_seconds,
                ..run
            },
            job.settings.job_clusters()?,
            job.settings.tasks,
        )
        .await
    }

    /// Starts a one-time run of tasks that belong to no job (`jobs/runs/submit`), limited to
    /// `timeout_seconds` if given.
    pub async fn submit(
        &self,
        run_name: Option<String>,
        tasks: Vec<Task>,
        timeout_seconds: Option<u64>,
        creator: &str,
    ) -> ControlResult<RunId> {
        let settings = JobSettings {
            name: run_name,
            tasks,
            timeout_seconds,
            ..Default::default()
        };
        settings.validate()?;
        if settings.tasks.is_empty() {
            return Err(ControlError::InvalidParameter(
                "tasks must not be empty".into(),
            ));
        }
        let run = Run {
            timeout_seconds: settings.timeout_seconds,
            ..self.new_run(None, settings.display_name(), RunType::SubmitRun, creator)
        };
        self.start(run, Vec::new(), settings.tasks).await
    }

    fn new_run(&self, job_id: Option<JobId>, name: &str, run_type: RunType, creator: &str) -> Run {
        Run {
            run_id: RunId(0),
            job_id,
            run_name: name.to_string(),
            run_type,
            creator_user_name: creator.to_string(),
            run_as: creator.to_string(),
            job_parameters: BTreeMap::new(),
            sql_params: BTreeMap::new(),
            state: RunState::Pending,
            state_message: String::new(),
            start_time: now_ms(),
            end_time: None,
            user_cancelled: false,
            timeout_seconds: None,
            check_at: None,
        }
    }

    /// Stores the run, one task run per task and the run's job clusters in one transaction. Task
    /// runs take the ids after the run's, from the same sequence. A task on an existing cluster
    /// starts that cluster if it is terminated.
    async fn start(
        &self,
        mut run: Run,
        job_clusters: Vec<(String, ClusterSpec)>,
        tasks: Vec<Task>,
    ) -> ControlResult<RunId> {
        let n = tasks.len() as u64;
        let computes = tasks
            .iter()
            .map(Task::compute)
            .collect::<Result<Vec<_>, _>>()?;
        let clusters = Clusters::new(self.docs.clone());
        for c in &computes {
            if let TaskCompute::Existing(id) = c {
                clusters.attach(id, &run.run_as).await?;
            }
        }
        let last = self.docs.next_ids("run", n + 1).await?;
        run.run_id = RunId(last - n);
        run.check_at = Some(run.next_check(run.start_time, self.first_check_ms));
        let mut made: BTreeMap<String, Cluster> = BTreeMap::new();
        let mut items = vec![run.to_item()?];
        for (i, (task, compute)) in tasks.into_iter().zip(computes).enumerate() {
            let id = RunId(run.run_id.0 + 1 + i as u64);
            let mut task_run = TaskRun::new(id, run.run_id, task, run.start_time);
            let (key, spec) = match compute {
                TaskCompute::Default => (None, None),
                TaskCompute::Existing(c) => {
                    task_run.cluster_id = Some(c);
                    (None, None)
                }
                TaskCompute::New(spec) => (Some(task_run.key().to_string()), Some(*spec)),
                TaskCompute::JobCluster(k) => {
                    let spec = job_clusters
                        .iter()
                        .find(|(key, _)| *key == k)
                        .map(|(_, s)| s.clone());
                    (Some(format!("jc:{k}")), spec)
                }
            };
            if let (Some(key), Some(spec)) = (key, spec) {
                let name = key.strip_prefix("jc:").unwrap_or(&key).to_string();
                let cluster = made.entry(key).or_insert_with(|| {
                    Clusters::job_cluster(spec, &name, run.run_id, &run.run_as, run.start_time)
                });
                task_run.cluster_id = Some(cluster.cluster_id.clone());
            }
            items.push(task_run.to_item()?);
        }
        if items.len() + made.len() > MAX_RUN_ITEMS {
            return Err(ControlError::InvalidParameter(format!(
                "a run may create at most {} items (tasks and job clusters) at once; this one needs {}. \
                 Share job clusters between tasks with job_clusters and job_cluster_key.",
                MAX_RUN_ITEMS - 1,
                items.len() + made.len() - 1
            )));
        }
        for c in made.values() {
            items.push(c.to_item()?);
        }
        self.docs.create_all(items).await?;
        for c in made.values() {
            clusters
                .record(
                    ClusterEvent::new(&c.cluster_id, run.start_time, EventType::Creating)
                        .with("user", run.run_as.clone())
                        .with("job_run_name", run.run_name.clone())
                        .with("target_num_workers", c.target_workers),
                )
                .await;
        }
        tracing::info!(run_id = %run.run_id, job_id = ?run.job_id.map(|j| j.0), tasks = n,
            job_clusters = made.len(), "run created");
        Ok(run.run_id)
    }
}
