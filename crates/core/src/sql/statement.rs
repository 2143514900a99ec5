//! A statement of the Statement Execution API: what was asked, its state machine
//! (`PENDING → RUNNING → SUCCEEDED | FAILED | CANCELED`, then `CLOSED`), the worker's lease while it
//! runs, and the manifest of its result.

use serde::{Deserialize, Serialize};

use crate::error::{DomainError, DomainResult};
use crate::run::bound_message;

pub use super::manifest::{Chunk, Column, Compression, Disposition, Format, Manifest, MAX_CHUNKS};
use crate::run::MAX_CLOCK_SKEW_MS;

/// The longest statement text, in bytes (the document must fit in one store item).
pub const MAX_STATEMENT_BYTES: usize = 128 * 1024;
/// The most parameters, and the longest parameter value in bytes.
pub const MAX_PARAMETERS: usize = 256;
pub const MAX_PARAMETER_BYTES: usize = 16 * 1024;
/// How long an ended statement (and its result) is kept, in milliseconds: a day.
pub const STATEMENT_RETENTION_MS: i64 = 24 * 60 * 60 * 1000;
/// How many times a statement may lose its worker before it fails instead of running again.
pub const MAX_STATEMENT_ATTEMPTS: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StatementState {
    Pending,
    Running,
    Succeeded,
    Failed,
    Canceled,
    Closed,
}

impl StatementState {
    pub fn is_terminal(self) -> bool {
        !matches!(self, StatementState::Pending | StatementState::Running)
    }
}

/// A named parameter: `:name` in the SQL, bound as a value of `type` (STRING when unset).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementParam {
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default, rename = "type")]
    pub sql_type: Option<String>,
}

/// A failed statement's error, as the API reports it in `status.error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementError {
    /// A Databricks `ServiceErrorCode`: BAD_REQUEST, NOT_FOUND, ALREADY_EXISTS, ABORTED,
    /// RESOURCE_EXHAUSTED, CANCELLED, DEADLINE_EXCEEDED, PERMISSION_DENIED, INTERNAL_ERROR, ...
    pub error_code: String,
    pub message: String,
    /// The SQLSTATE, when one applies (`42501` for missing privileges).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql_state: Option<String>,
}

impl StatementError {
    pub fn new(code: &str, message: impl Into<String>) -> StatementError {
        StatementError {
            error_code: code.into(),
            message: bound_message(message.into()),
            sql_state: None,
        }
    }

    /// With a SQLSTATE.
    pub fn with_sql_state(mut self, state: Option<&str>) -> StatementError {
        self.sql_state = state.map(str::to_string);
        self
    }
}

/// What a client asks to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewStatement {
    pub warehouse_id: String,
    #[serde(default)]
    pub session_id: Option<String>,
    pub statement: String,
    #[serde(default)]
    pub catalog: Option<String>,
    #[serde(default)]
    pub schema: Option<String>,
    #[serde(default)]
    pub parameters: Vec<StatementParam>,
    pub disposition: Disposition,
    pub format: Format,
    #[serde(default)]
    pub compression: Compression,
    #[serde(default)]
    pub row_limit: Option<u64>,
    #[serde(default)]
    pub byte_limit: Option<u64>,
}

impl NewStatement {
    /// Checks sizes and combinations, naming what is wrong.
    pub fn validate(&self) -> DomainResult<()> {
        if self.statement.trim().is_empty() {
            return Err(DomainError::invalid("statement must not be empty"));
        }
        if self.statement.len() > MAX_STATEMENT_BYTES {
            return Err(DomainError::invalid(format!(
                "statement is {} bytes; the limit is {MAX_STATEMENT_BYTES}",
                self.statement.len()
            )));
        }
        if self.parameters.len() > MAX_PARAMETERS {
            return Err(DomainError::invalid(format!(
                "at most {MAX_PARAMETERS} parameters are accepted"
            )));
        }
        for p in &self.parameters {
            if p.name.is_empty() || p.name.len() > 255 {
                return Err(DomainError::invalid(
                    "a parameter name must be 1 to 255 bytes",
                ));
            }
            if p.value
                .as_ref()
                .is_some_and(|v| v.len() > MAX_PARAMETER_BYTES)
            {
                return Err(DomainError::invalid(format!(
                    "parameter '{}' is longer than {MAX_PARAMETER_BYTES} bytes",
                    p.name
                )));
            }
        }
        if self.disposition == Disposition::Inline && self.format == Format::Csv {
            return Err(DomainError::invalid(
                "format CSV is only available with disposition EXTERNAL_LINKS",
            ));
        }
        if self.row_limit == Some(0) || self.byte_limit == Some(0) {
            return Err(DomainError::invalid(
                "row_limit and byte_limit must be positive",
            ));
        }
        Ok(())
    }
}

/// A worker's hold on a running statement; every write it makes is fenced by `token`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementLease {
    pub token: String,
    pub owner: String,
    pub expires_at: i64,
}

/// A statement as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    pub id: String,
    #[serde(flatten)]
    pub request: NewStatement,
    pub principal: String,
    pub state: StatementState,
    #[serde(default)]
    pub error: Option<StatementError>,
    #[serde(default)]
    pub manifest: Option<Manifest>,
    pub created_at: i64,
    #[serde(default)]
    pub finished_at: Option<i64>,
    /// Claims so far (a lost worker's attempt counts).
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub lease: Option<StatementLease>,
    /// The catalog and schema current when it ended (a session keeps them: `USE` lasts).
    #[serde(default)]
    pub current: Option<(String, String)>,
}

impl Statement {
    pub fn new(id: String, request: NewStatement, principal: &str, now: i64) -> Statement {
        Statement {
            id,
            request,
            principal: principal.to_string(),
            state: StatementState::Pending,
            error: None,
            manifest: None,
            created_at: now,
            finished_at: None,
            attempts: 0,
            lease: None,
            current: None,
        }
    }

    /// When a worker may take it: now while PENDING, after the lease (and clock skew) while RUNNING.
    pub fn due_at(&self) -> Option<i64> {
        match (self.state, &self.lease) {
            (StatementState::Pending, _) => Some(self.created_at),
            (StatementState::Running, Some(l)) => Some(l.expires_at + MAX_CLOCK_SKEW_MS),
            _ => None,
        }
    }

    /// Takes it for `owner` under a fresh lease: a PENDING one, or a RUNNING one whose worker
    /// stopped renewing. After [`MAX_STATEMENT_ATTEMPTS`] lost workers it fails instead (returns
    /// false). Errors when it cannot be claimed now.
    pub fn claim(
        &mut self,
        owner: &str,
        token: String,
        now: i64,
        lease_ms: i64,
    ) -> DomainResult<bool> {
        match self.state {
            StatementState::Pending => {}
            StatementState::Running if self.due_at().is_some_and(|d| d <= now) => {}
            _ => {
                return Err(DomainError::InvalidTransition {
                    object: format!("statement {}", self.id),
                    action: "claim",
                    state: format!("{:?}", self.state),
                })
            }
        }
        if self.attempts >= MAX_STATEMENT_ATTEMPTS {
            self.end(
                StatementState::Failed,
                Some(StatementError::new(
                    "INTERNAL_ERROR",
                    format!(
                        "the statement lost its worker {} times; it is not run again",
                        self.attempts
                    ),
                )),
                now,
            );
            return Ok(false);
        }
        self.attempts += 1;
        self.state = StatementState::Running;
        self.lease = Some(StatementLease {
            token,
            owner: owner.to_string(),
            expires_at: now + lease_ms,
        });
        Ok(true)
    }

    /// Back to PENDING, unclaimed: its holder gave it up before doing anything that counts (the
    /// claim does not count as an attempt).
    pub fn release(&mut self) {
        if self.state == StatementState::Running {
            self.state = StatementState::Pending;
            self.lease = None;
            self.attempts = self.attempts.saturating_sub(1);
        }
    }

    /// Whether `token` still holds it.
    pub fn held_by(&self, token: &str) -> bool {
        self.state == StatementState::Running
            && self.lease.as_ref().is_some_and(|l| l.token == token)
    }

    /// Records how it ended; the lease goes.
    pub fn end(&mut self, state: StatementState, error: Option<StatementError>, now: i64) {
        self.state = state;
        self.error = error;
        self.lease = None;
        self.finished_at = Some(now);
    }

    /// Cancels it if it has not ended; returns whether anything changed.
    pub fn cancel(&mut self, now: i64) -> bool {
        if self.state.is_terminal() {
            return false;
        }
        self.end(
            StatementState::Canceled,
            Some(StatementError::new(
                "CANCELLED",
                "The statement was canceled.",
            )),
            now,
        );
        true
    }

    /// Closes it: its result is gone. Returns whether anything changed.
    pub fn close(&mut self, now: i64) -> bool {
        if self.state == StatementState::Closed {
            return false;
        }
        let error = self.error.take();
        self.end(StatementState::Closed, error, now);
        self.manifest = None;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stmt() -> Statement {
        let req = NewStatement {
            warehouse_id: "w".into(),
            session_id: None,
            statement: "SELECT 1".into(),
            catalog: None,
            schema: None,
            parameters: vec![],
            disposition: Disposition::Inline,
            format: Format::JsonArray,
            compression: Compression::None,
            row_limit: None,
            byte_limit: None,
        };
        Statement::new("s".into(), req, "me", 0)
    }

    #[test]
    fn a_lost_lease_is_taken_over_until_attempts_run_out() {
        let mut s = stmt();
        assert!(s.claim("a", "t1".into(), 0, 1000).unwrap());
        assert!(
            s.claim("b", "t2".into(), 500, 1000).is_err(),
            "lease still held"
        );
        assert!(s.claim("b", "t2".into(), 2001, 1000).unwrap());
        assert!(s.held_by("t2") && !s.held_by("t1"));
        assert!(s.claim("c", "t3".into(), 5000, 1000).unwrap());
        assert!(!s.claim("d", "t4".into(), 9000, 1000).unwrap());
        assert_eq!(s.state, StatementState::Failed);
    }

    #[test]
    fn cancel_and_close() {
        let mut s = stmt();
        assert!(s.cancel(1));
        assert!(!s.cancel(2));
        assert_eq!(s.due_at(), None);
        assert!(s.close(3));
        assert_eq!(s.state, StatementState::Closed);
    }

    #[test]
    fn csv_is_for_links_only() {
        let mut s = stmt();
        s.request.format = Format::Csv;
        assert!(s.request.validate().is_err());
        s.request.disposition = Disposition::ExternalLinks;
        assert!(s.request.validate().is_ok());
    }
}
