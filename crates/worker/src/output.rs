//! What a finished task keeps for `runs/get-output`: how many statements ran, how many rows the last
//! one returned or wrote, and a sample of its first rows as JSON objects of text.

use futures::StreamExt;
use lakeplane_core::run::TaskOutput;
use lakeplane_engine::arrow::array::Array;
use lakeplane_engine::arrow::util::display::{ArrayFormatter, FormatOptions};
use lakeplane_engine::{EngineError, Outcome, ScriptOutput};
use serde_json::{Map, Value};

/// How many result rows a task keeps as its output sample.
pub const SAMPLE_ROWS: usize = 20;

/// Reads the script's last outcome to its end, counting rows and keeping the first [`SAMPLE_ROWS`].
pub(crate) async fn summarize(out: ScriptOutput) -> Result<TaskOutput, EngineError> {
    let statements = out.statements;
    let mut stream = match out.last {
        Outcome::Changed(changes) => {
            return Ok(TaskOutput {
                truncated: false,
                statements,
                rows: changes.affected,
                sample: vec![],
            })
        }
        Outcome::Done => {
            return Ok(TaskOutput {
                truncated: false,
                statements,
                rows: 0,
                sample: vec![],
            })
        }
        Outcome::Rows(stream) => stream,
    };
    let mut rows = 0u64;
    let mut sample = Vec::new();
    let options = FormatOptions::default().with_null("null");
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        if sample.len() < SAMPLE_ROWS {
            let schema = batch.schema();
            let formatters = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| EngineError::DataFusion(e.into()))?;
            for r in 0..batch.num_rows().min(SAMPLE_ROWS - sample.len()) {
                let mut obj = Map::new();
                for (ci, (f, fmt)) in schema.fields().iter().zip(&formatters).enumerate() {
                    let v = if batch.column(ci).is_null(r) {
                        Value::Null
                    } else {
                        Value::String(fmt.value(r).to_string())
                    };
                    obj.insert(f.name().clone(), v);
                }
                sample.push(Value::Object(obj));
            }
        }
        rows += batch.num_rows() as u64;
    }
    Ok(TaskOutput {
        statements,
        rows,
        sample,
        truncated: false,
    })
}
