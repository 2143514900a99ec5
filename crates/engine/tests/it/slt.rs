//! The SQL surface pinned by sqllogictest: every `.slt` file under `tests/slt` runs against a
//! fresh lake (a catalog in SQLite, tables in a temporary folder), one session per file, so `USE`
//! lasts from one record to the next as it does in a SQL session. `${DATA}` (with `control
//! substitution on`) names a folder holding a copy of `tests/slt/data` that SQL may read.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use deltalake::arrow::datatypes::DataType;
use deltalake::arrow::util::display::{ArrayFormatter, FormatOptions};
use futures::TryStreamExt;
use lakeplane_engine::{Engine, EngineError, ExecContext, Outcome};
use sqllogictest::{DBOutput, DefaultColumnType};

use crate::Lake;

/// One SQL session over a lake.
struct Session {
    engine: Engine,
    catalog: Option<String>,
    schema: Option<String>,
}

fn column_type(t: &DataType) -> DefaultColumnType {
    match t {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => DefaultColumnType::Integer,
        DataType::Float16
        | DataType::Float32
        | DataType::Float64
        | DataType::Decimal128(_, _)
        | DataType::Decimal256(_, _) => DefaultColumnType::FloatingPoint,
        _ => DefaultColumnType::Text,
    }
}

#[async_trait]
impl sqllogictest::AsyncDB for Session {
    type Error = EngineError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, EngineError> {
        let mut ctx = ExecContext::new("slt@example.com");
        ctx.catalog = self.catalog.clone();
        ctx.schema = self.schema.clone();
        let out = self.engine.execute(&ctx, sql).await?;
        self.catalog = Some(out.current.catalog.clone());
        self.schema = Some(out.current.schema.clone());
        let stream = match out.last {
            Outcome::Rows(s) => s,
            Outcome::Changed(c) => return Ok(DBOutput::StatementComplete(c.affected)),
            Outcome::Done => return Ok(DBOutput::StatementComplete(0)),
        };
        let types = stream
            .schema()
            .fields()
            .iter()
            .map(|f| column_type(f.data_type()))
            .collect();
        let batches: Vec<_> = stream.try_collect().await?;
        let options = FormatOptions::default().with_null("NULL");
        let mut rows = Vec::new();
        for b in &batches {
            let formatters = b
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
                .collect::<Result<Vec<_>, _>>()?;
            for r in 0..b.num_rows() {
                rows.push(
                    formatters
                        .iter()
                        .map(|f| match f.value(r).to_string() {
                            s if s.is_empty() => "(empty)".to_string(),
                            s => s,
                        })
                        .collect(),
                );
            }
        }
        Ok(DBOutput::Rows { types, rows })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "lakeplane"
    }

    async fn sleep(dur: std::time::Duration) {
        tokio::time::sleep(dur).await;
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

pub(crate) fn slt_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/slt")
}

async fn run_file(path: &Path) {
    run_file_in(&Lake::new().await, path).await;
}

/// Runs one `.slt` file against `lake`.
pub(crate) async fn run_file_in(lake: &Lake, path: &Path) {
    let data = lake.dir.path().join("data");
    copy_dir(&slt_dir().join("data"), &data);
    let engine = lake.engine.clone();
    let mut runner = sqllogictest::Runner::new(move || {
        let engine = engine.clone();
        async move {
            Ok(Session {
                engine,
                catalog: None,
                schema: None,
            })
        }
    });
    runner.set_var("DATA".into(), data.display().to_string());
    if let Err(e) = runner.run_file_async(path).await {
        panic!("{}: {}", path.display(), e.display(true));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sql_surface_matches_the_slt_files() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(slt_dir())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "slt"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no .slt files under {}",
        slt_dir().display()
    );
    for f in files {
        run_file(&f).await;
    }
}
