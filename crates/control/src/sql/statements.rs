//! Statements of the Statement Execution API: submitted by the API into their warehouse's queue,
//! claimed by workers under a lease (renewed by moving only the queue entry), ended by the holder
//! (every write fenced by its lease token and the version read) or cancelled by the caller.

use lakeplane_core::sql::{
    warehouse_queue, Manifest, NewStatement, Statement, StatementError, StatementState,
};

use crate::doc::{retry, Documents, Record, Versioned};
use crate::error::{ControlError, ControlResult};
use crate::layout::ENDED_STATEMENTS;
use crate::sql::{Sessions, Warehouses};
use crate::time::now_ms;

/// How many due statements one claim looks at.
const CLAIM_BATCH: usize = 8;

/// The statements area.
#[derive(Debug, Clone)]
pub struct Statements {
    docs: Documents,
    warehouses: Warehouses,
    sessions: Sessions,
}

/// A statement a worker holds, at the version it last wrote.
#[derive(Debug, Clone)]
pub struct Held {
    pub statement: Statement,
    pub version: u64,
    token: String,
}

/// What a renewal found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    /// The lease runs on.
    Held,
    /// The worker no longer holds it: it was cancelled, or its lease was taken over.
    Lost,
}

impl Statements {
    pub(crate) fn new(docs: Documents, warehouses: Warehouses, sessions: Sessions) -> Statements {
        Statements {
            docs,
            warehouses,
            sessions,
        }
    }

    /// Queues a statement on its warehouse, starting the warehouse if it is stopped. A session's
    /// catalog and schema apply unless the request names its own.
    pub async fn submit(
        &self,
        mut request: NewStatement,
        principal: &str,
    ) -> ControlResult<Statement> {
        request.validate()?;
        let warehouse = self.warehouses.usable(&request.warehouse_id).await?;
        if let Some(id) = &request.session_id {
            let session = self.sessions.get(id, principal).await?;
            if session.warehouse_id != request.warehouse_id {
                return Err(ControlError::InvalidParameter(format!(
                    "session {id} belongs to warehouse {}, not {}",
                    session.warehouse_id, request.warehouse_id
                )));
            }
            if request.catalog.is_none() {
                request.catalog = session.catalog;
            }
            if request.schema.is_none() {
                request.schema = session.schema;
            }
        }
        if matches!(
            warehouse.state,
            lakeplane_core::sql::WarehouseState::Stopped
                | lakeplane_core::sql::WarehouseState::Stopping
        ) {
            self.warehouses.start(&warehouse.id).await?;
        } else {
            self.warehouses.note_activity(&warehouse).await?;
        }
        let statement = Statement::new(
            uuid::Uuid::new_v4().to_string(),
            request,
            principal,
            now_ms(),
        );
        self.docs.create(&statement).await?;
        Ok(statement)
    }

    /// A statement of the caller's (another principal's is as missing as one that never was).
    pub async fn get(&self, id: &str, principal: &str) -> ControlResult<Statement> {
        match self.docs.find::<Statement>(&id.to_string()).await? {
            Some(s) if s.principal == principal => Ok(s),
            _ => Err(ControlError::NotFound {
                kind: "Statement",
                name: id.to_string(),
            }),
        }
    }

    /// Cancels it if it has not ended (a worker running it stops at its next renewal).
    pub async fn cancel(&self, id: &str, principal: &str) -> ControlResult<Statement> {
        self.get(id, principal).await?;
        let now = now_ms();
        let (s, _) = self
            .docs
            .update::<Statement>(&id.to_string(), |s| Ok(s.cancel(now)))
            .await?;
        Ok(s)
    }

    /// Closes it (cancelling it first if it runs); its result chunks may then be deleted.
    pub async fn close(&self, id: &str, principal: &str) -> ControlResult<Statement> {
        self.get(id, principal).await?;
        let now = now_ms();
        let (s, _) = self
            .docs
            .update::<Statement>(&id.to_string(), |s| {
                s.cancel(now);
                Ok(s.close(now))
            })
            .await?;
        Ok(s)
    }

    /// Deletes up to `limit` statements that ended before `before` (epoch ms), oldest first, and
    /// returns their ids (their result chunks are the caller's to delete, or expire with the
    /// bucket's lifecycle). Running and waiting statements are never touched.
    pub async fn expire(&self, before: i64, limit: usize) -> ControlResult<Vec<String>> {
        let page = crate::doc::PageRequest {
            limit: limit.max(1),
            ..Default::default()
        };
        let ended = self
            .docs
            .list::<Statement>(
                lakeplane_store::Index::Status,
                ENDED_STATEMENTS,
                &page,
                |s| s.finished_at.is_some_and(|f| f < before) && s.state.is_terminal(),
            )
            .await?;
        let mut gone = Vec::new();
        for s in ended.items {
            match self.docs.delete::<Statement>(&s.id).await {
                Ok(()) | Err(ControlError::NotFound { .. }) => gone.push(s.id),
                Err(e) => return Err(e),
            }
        }
        Ok(gone)
    }

    /// Claims one due statement from the first of `queues` (warehouse ids) that has one.
    pub async fn claim_next(
        &self,
        worker: &str,
        warehouses: &[String],
        lease_ms: i64,
    ) -> ControlResult<Option<Held>> {
        for warehouse in warehouses {
            let now = now_ms();
            let queue = warehouse_queue(warehouse);
            for found in self.docs.due::<Statement>(&queue, now, CLAIM_BATCH).await? {
                let Versioned { mut doc, version } = found;
                let token = uuid::Uuid::new_v4().to_string();
                let claimed = match doc.claim(worker, token.clone(), now_ms(), lease_ms) {
                    Ok(c) => c,
                    Err(_) => continue,
                };
                match self.docs.replace(&doc, version).await {
                    Ok(version) if claimed => {
                        return Ok(Some(Held {
                            statement: doc,
                            version,
                            token,
                        }))
                    }
                    Ok(_) => {
                        tracing::warn!(statement = %doc.id, "a statement lost its workers too often and failed");
                    }
                    Err(e) if e.is_conflict() => continue,
                    Err(ControlError::NotFound { .. }) => continue,
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(None)
    }

    /// Claims one statement by its id (a function running small statements itself); `None` when
    /// it is no longer waiting.
    pub async fn claim(
        &self,
        id: &str,
        worker: &str,
        lease_ms: i64,
    ) -> ControlResult<Option<Held>> {
        let Versioned { mut doc, version } = self.docs.get::<Statement>(&id.to_string()).await?;
        if doc.state != StatementState::Pending {
            return Ok(None);
        }
        let token = uuid::Uuid::new_v4().to_string();
        if !doc.claim(worker, token.clone(), now_ms(), lease_ms)? {
            return Ok(None);
        }
        match self.docs.replace(&doc, version).await {
            Ok(version) => Ok(Some(Held {
                statement: doc,
                version,
                token,
            })),
            Err(e) if e.is_conflict() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Hands a held statement back to its warehouse's queue, as if never claimed (a function that
    /// ran out of its time budget): a worker takes it at once. Returns false when it was no
    /// longer held.
    pub async fn release(&self, held: &Held) -> ControlResult<bool> {
        let id = held.statement.id.clone();
        retry(Statement::KIND, &id, |n| {
            let id = id.clone();
            async move {
                let Versioned { mut doc, version } = match n {
                    0 => Versioned {
                        doc: held.statement.clone(),
                        version: held.version,
                    },
                    _ => self.docs.get::<Statement>(&id).await?,
                };
                if !doc.held_by(&held.token) {
                    return Ok(false);
                }
                doc.release();
                self.docs.replace(&doc, version).await?;
                Ok(true)
            }
        })
        .await
    }

    /// Renews the lease for `lease_ms` more. `Lost` when the statement was cancelled or another
    /// worker took it over: the holder stops and writes nothing.
    pub async fn renew(&self, held: &mut Held, lease_ms: i64) -> ControlResult<Renewal> {
        let mut doc = held.statement.clone();
        if let Some(lease) = doc.lease.as_mut() {
            lease.expires_at = now_ms() + lease_ms;
        }
        match self.docs.touch(&doc, held.version).await {
            Ok(v) => {
                held.version = v;
                held.statement = doc;
                Ok(Renewal::Held)
            }
            Err(e) if e.is_conflict() => {
                // Someone else wrote it: still ours only if the token is.
                let current = self.docs.get::<Statement>(&doc.id).await?;
                if current.doc.held_by(&held.token) {
                    held.statement = current.doc;
                    held.version = current.version;
                    return Box::pin(self.renew(held, lease_ms)).await;
                }
                Ok(Renewal::Lost)
            }
            Err(ControlError::NotFound { .. }) => Ok(Renewal::Lost),
            Err(e) => Err(e),
        }
    }

    /// Records how the held statement ended. Returns false when the lease was lost first (nothing
    /// is written then).
    pub async fn finish(
        &self,
        held: &Held,
        outcome: Result<Manifest, StatementError>,
        current: Option<(String, String)>,
    ) -> ControlResult<bool> {
        let id = held.statement.id.clone();
        let written = retry(Statement::KIND, &id, |n| {
            let outcome = outcome.clone();
            let current = current.clone();
            let id = id.clone();
            async move {
                let Versioned { mut doc, version } = match n {
                    0 => Versioned {
                        doc: held.statement.clone(),
                        version: held.version,
                    },
                    _ => self.docs.get::<Statement>(&id).await?,
                };
                if !doc.held_by(&held.token) {
                    return Ok(None);
                }
                let now = now_ms();
                match outcome {
                    Ok(manifest) => {
                        doc.manifest = Some(manifest);
                        doc.end(StatementState::Succeeded, None, now);
                    }
                    Err(error) => doc.end(StatementState::Failed, Some(error), now),
                }
                doc.current = current;
                self.docs.replace(&doc, version).await?;
                Ok(Some(doc))
            }
        })
        .await?;
        if let Some(doc) = &written {
            if let (Some(session), Some((catalog, schema))) =
                (&doc.request.session_id, &doc.current)
            {
                self.sessions.set_current(session, catalog, schema).await?;
            }
        }
        Ok(written.is_some())
    }
}
