//! What a task run keeps of its attempts, bounded so that it always fits in one store item.

use serde::{Deserialize, Serialize};

use super::TaskResult;
use crate::ids::RunId;

/// The longest state message kept, in bytes (longer ones are cut at a character boundary).
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024;

/// The most bytes of sample rows kept with an output (a DynamoDB item holds at most 400 KiB).
pub const MAX_SAMPLE_BYTES: usize = 64 * 1024;

/// How many earlier attempts a task run keeps (the newest); `max_retries = -1` could grow without end.
pub const MAX_ATTEMPTS_KEPT: usize = 20;

/// What a finished task leaves behind for `runs/get-output`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskOutput {
    /// How many statements ran.
    pub statements: usize,
    /// Rows written or returned by the last statement.
    pub rows: u64,
    /// The first rows of the last statement's result, as JSON objects, when it returned rows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sample: Vec<serde_json::Value>,
    /// Whether rows were dropped from `sample` to keep it under [`MAX_SAMPLE_BYTES`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl TaskOutput {
    /// Drops sample rows from the end until the sample fits in [`MAX_SAMPLE_BYTES`].
    pub(crate) fn bound(&mut self) {
        let mut size: usize = self.sample.iter().map(|r| r.to_string().len() + 1).sum();
        while size > MAX_SAMPLE_BYTES {
            match self.sample.pop() {
                Some(row) => size -= row.to_string().len() + 1,
                None => break,
            }
            self.truncated = true;
        }
    }
}

/// An earlier attempt of a task run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// The attempt's own run id.
    pub run_id: RunId,
    pub attempt_number: u32,
    pub result: TaskResult,
    #[serde(default)]
    pub state_message: String,
    #[serde(default)]
    pub start_time: Option<i64>,
    pub end_time: i64,
    /// The worker (a cluster's node) it ran on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
}

/// Cuts `message` to [`MAX_MESSAGE_BYTES`] at a character boundary, saying so.
pub fn bound_message(mut message: String) -> String {
    if message.len() > MAX_MESSAGE_BYTES {
        let mut end = MAX_MESSAGE_BYTES - 16;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push_str(" … (truncated)");
    }
    message
}
