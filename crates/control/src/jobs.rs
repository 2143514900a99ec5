//! Jobs: create, read, list, change and delete job definitions.

use lakeplane_core::job::{Job, JobSettings};
use lakeplane_core::JobId;
use lakeplane_store::Index;
use serde_json::{Map, Value};

use crate::doc::{Documents, PageRequest, Paged};
use crate::error::ControlResult;
use crate::layout::{jobs_named, JOBS};
use crate::time::now_ms;

/// The jobs area.
#[derive(Debug, Clone)]
pub struct Jobs {
    docs: Documents,
}

impl Jobs {
    pub(crate) fn new(docs: Documents) -> Jobs {
        Jobs { docs }
    }

    /// Validates and stores a new job.
    pub async fn create(&self, settings: JobSettings, creator: &str) -> ControlResult<JobId> {
        settings.validate()?;
        let job = Job {
            job_id: JobId(self.docs.next_ids("job", 1).await?),
            created_time: now_ms(),
            creator_user_name: creator.to_string(),
            settings,
        };
        self.docs.create(&job).await?;
        tracing::info!(job_id = %job.job_id, "job created");
        Ok(job.job_id)
    }

    pub async fn get(&self, id: JobId) -> ControlResult<Job> {
        self.docs.read(&id).await
    }

    /// Jobs in id order. `name` keeps only jobs with exactly that name (case-insensitive), read
    /// from the listing of that name rather than filtered out of all jobs.
    pub async fn list(
        &self,
        request: &PageRequest,
        name: Option<&str>,
    ) -> ControlResult<Paged<Job>> {
        match name {
            Some(n) => {
                let n = n.to_lowercase();
                self.docs
                    .list(Index::Parent, &jobs_named(&n), request, |j: &Job| {
                        j.settings.display_name().to_lowercase() == n
                    })
                    .await
            }
            None => {
                self.docs
                    .list(Index::Collection, JOBS, request, |_: &Job| true)
                    .await
            }
        }
    }

    /// Replaces a job's settings (`jobs/reset`).
    pub async fn reset(&self, id: JobId, settings: JobSettings) -> ControlResult<()> {
        settings.validate()?;
        self.modify(id, |_| Ok(settings.clone())).await
    }

    /// Partially updates a job's settings (`jobs/update`).
    pub async fn update(
        &self,
        id: JobId,
        new_settings: Map<String, Value>,
        fields_to_remove: Vec<String>,
    ) -> ControlResult<()> {
        self.modify(id, |s| {
            Ok(s.apply_update(new_settings.clone(), &fields_to_remove)?)
        })
        .await
    }

    async fn modify(
        &self,
        id: JobId,
        f: impl Fn(&JobSettings) -> ControlResult<JobSettings>,
    ) -> ControlResult<()> {
        self.docs
            .update(&id, |job: &mut Job| {
                job.settings = f(&job.settings)?;
                Ok(true)
            })
            .await
            .map(|_| ())
    }

    pub async fn delete(&self, id: JobId) -> ControlResult<()> {
        self.docs.delete::<Job>(&id).await
    }
}
