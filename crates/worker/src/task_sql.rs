//! What a task runs: its SQL text, resolved from where the task says it lives (a saved query or a
//! `.sql` file). Parameters are not pasted in here: the claim carries them, resolved by precedence
//! (`lakeplane_core::params`), and the engine binds them as values.

use lakeplane_control::Control;
use lakeplane_core::job::{SqlSource, TaskKind};
use lakeplane_core::run::TaskRun;
use lakeplane_engine::Engine;

/// The SQL of a task run, or the message its failure records.
pub(crate) async fn resolve(
    control: &Control,
    engine: &Engine,
    task: &TaskRun,
) -> Result<String, String> {
    let sql = match &task.task.kind {
        Some(TaskKind::Sql(sql)) => sql,
        Some(other) => return Err(format!("{} tasks do not run on workers", other.field())),
        None => return Err("the task has no task type".into()),
    };
    match sql.source().map_err(|e| e.to_string())? {
        SqlSource::Query(id) => control
            .queries()
            .get(id)
            .await
            .map(|q| q.query_text)
            .map_err(|e| e.to_string()),
        SqlSource::File(path) => engine
            .read_sql_file(path)
            .await
            .map_err(|e| format!("cannot read SQL file: {e}")),
    }
}
