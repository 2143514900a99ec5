//! WebAssembly UDFs next to the same functions written as native DataFusion UDFs, in one process
//! and one run: rows per second over an in-memory table (one partition, one core, 8192-row
//! batches), and the cold cost of a newly registered function (compile + instantiate), of one
//! whose compiled code is on disk, and of one already loaded.
//!
//! `crates/bench/scripts/udf_bench.py` builds the examples, runs this, runs the same functions as
//! DuckDB Python UDFs, and prints the table with the ratios (see BENCHMARKS.md).
//!
//! Output: one JSON object per line.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use deltalake::datafusion::datasource::MemTable;
use deltalake::datafusion::logical_expr::{create_udf, ColumnarValue, ScalarUDF, Volatility};
use deltalake::datafusion::prelude::{SessionConfig, SessionContext};
use lakeplane_engine::arrow::array::{
    Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, StringBuilder,
};
use lakeplane_engine::arrow::datatypes::{DataType, Field, Schema};
use lakeplane_udf_host::{Limits, UdfRuntime, WasmFunction};

#[derive(Parser)]
struct Args {
    /// Rows in the table.
    #[arg(long, default_value_t = 10_000_000)]
    rows: usize,
    /// Timed runs of each query (the best is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// The built examples (`lakeplane udf build`): haversine.wasm, mask_email.wasm,
    /// null_aware.wasm, fahrenheit.wasm.
    #[arg(long)]
    modules: PathBuf,
}

/// A deterministic pseudo-random stream (xorshift), so every run reads the same rows.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn table(rows: usize) -> anyhow::Result<Vec<RecordBatch>> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("lat1", DataType::Float64, true),
        Field::new("lon1", DataType::Float64, true),
        Field::new("lat2", DataType::Float64, true),
        Field::new("lon2", DataType::Float64, true),
        Field::new("email", DataType::Utf8, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("score", DataType::Int64, true),
    ]));
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::new();
    let mut start = 0;
    while start < rows {
        let n = 8192.min(rows - start);
        let mut coord = |scale: f64| -> ArrayRef {
            Arc::new(Float64Array::from_iter_values(
                (0..n).map(|_| (rng.next() - 0.5) * scale),
            ))
        };
        let (lat1, lon1, lat2, lon2) = (coord(180.0), coord(360.0), coord(180.0), coord(360.0));
        let ids = start..start + n;
        let email: ArrayRef = Arc::new(StringArray::from_iter_values(
            ids.clone()
                .map(|i| format!("User.{i}@Example{}.com", i % 97)),
        ));
        let name: ArrayRef = Arc::new(StringArray::from_iter(
            ids.clone()
                .map(|i| (i % 10 != 0).then(|| format!("customer {i}"))),
        ));
        let score: ArrayRef = Arc::new(Int64Array::from_iter(
            ids.map(|i| (i % 7 != 0).then_some((i * 37 % 1000) as i64)),
        ));
        out.push(RecordBatch::try_new(
            schema.clone(),
            vec![lat1, lon1, lat2, lon2, email, name, score],
        )?);
        start += n;
    }
    Ok(out)
}

// ---- the native versions, as a DataFusion user writes them ----

fn haversine(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let (dp, dl) = (p2 - p1, (lon2 - lon1).to_radians());
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6371.0088 * a.sqrt().asin()
}

fn mask_email(email: &str) -> Option<String> {
    let (user, domain) = email.trim().rsplit_once('@')?;
    let mut out = String::with_capacity(email.len());
    let mut chars = user.chars();
    out.extend(chars.next()?.to_lowercase());
    out.extend(chars.map(|_| '*'));
    out.push('@');
    out.push_str(&domain.to_lowercase());
    Some(out)
}

fn label(name: Option<&str>, score: Option<i64>) -> Option<String> {
    let tier = score.map(|s| match s {
        s if s >= 900 => "gold",
        s if s >= 500 => "silver",
        _ => "bronze",
    });
    match (name, tier) {
        (Some(n), Some(t)) => Some(format!("{n} ({t})")),
        (Some(n), None) => Some(format!("{n} (unscored)")),
        (None, Some(t)) => Some(format!("anonymous ({t})")),
        (None, None) => None,
    }
}

fn arrays(
    args: &[ColumnarValue],
    rows: usize,
) -> deltalake::datafusion::error::Result<Vec<ArrayRef>> {
    args.iter().map(|a| a.clone().into_array(rows)).collect()
}

type DfResult<T> = deltalake::datafusion::error::Result<T>;

fn downcast<'a, T: 'static>(a: &'a ArrayRef, what: &str) -> DfResult<&'a T> {
    a.as_any().downcast_ref().ok_or_else(|| {
        deltalake::datafusion::error::DataFusionError::Execution(format!("expected {what}"))
    })
}

fn f64s(a: &ArrayRef) -> DfResult<&Float64Array> {
    downcast(a, "DOUBLE")
}

fn strs(a: &ArrayRef) -> DfResult<&StringArray> {
    downcast(a, "STRING")
}

fn native(name: &str) -> ScalarUDF {
    let f64x = DataType::Float64;
    match name {
        "haversine" => create_udf(
            "haversine",
            vec![f64x.clone(); 4],
            f64x,
            Volatility::Immutable,
            Arc::new(|args: &[ColumnarValue]| {
                let rows = args.iter().find_map(|a| match a {
                    ColumnarValue::Array(a) => Some(a.len()),
                    _ => None,
                });
                let a = arrays(args, rows.unwrap_or(1))?;
                let (w, x, y, z) = (f64s(&a[0])?, f64s(&a[1])?, f64s(&a[2])?, f64s(&a[3])?);
                let out: Float64Array = (0..w.len())
                    .map(|i| {
                        (w.is_valid(i) && x.is_valid(i) && y.is_valid(i) && z.is_valid(i))
                            .then(|| haversine(w.value(i), x.value(i), y.value(i), z.value(i)))
                    })
                    .collect();
                Ok(ColumnarValue::Array(Arc::new(out)))
            }),
        ),
        "mask_email" => create_udf(
            "mask_email",
            vec![DataType::Utf8],
            DataType::Utf8,
            Volatility::Immutable,
            Arc::new(|args: &[ColumnarValue]| {
                let a = arrays(args, 1)?;
                let e = strs(&a[0])?;
                let mut b = StringBuilder::with_capacity(e.len(), e.value_data().len());
                for v in e.iter() {
                    b.append_option(v.and_then(mask_email));
                }
                Ok(ColumnarValue::Array(Arc::new(b.finish())))
            }),
        ),
        "customer_label" => create_udf(
            "customer_label",
            vec![DataType::Utf8, DataType::Int64],
            DataType::Utf8,
            Volatility::Immutable,
            Arc::new(|args: &[ColumnarValue]| {
                let a = arrays(args, 1)?;
                let (n, s) = (strs(&a[0])?, downcast::<Int64Array>(&a[1], "BIGINT")?);
                let mut b = StringBuilder::with_capacity(n.len(), n.len() * 24);
                for (n, s) in n.iter().zip(s.iter()) {
                    b.append_option(label(n, s));
                }
                Ok(ColumnarValue::Array(Arc::new(b.finish())))
            }),
        ),
        _ => create_udf(
            "fahrenheit",
            vec![f64x.clone()],
            f64x,
            Volatility::Immutable,
            Arc::new(|args: &[ColumnarValue]| {
                let a = arrays(args, 1)?;
                let out: Float64Array = lakeplane_engine::arrow::compute::kernels::arity::unary(
                    f64s(&a[0])?,
                    |c: f64| c * 9.0 / 5.0 + 32.0,
                );
                Ok(ColumnarValue::Array(Arc::new(out)))
            }),
        ),
    }
}

/// The WebAssembly version under the same name and signature.
fn wasm(f: WasmFunction, sql_name: &str) -> ScalarUDF {
    let args = f.arg_types().to_vec();
    let ret = f.return_type().clone();
    create_udf(
        sql_name,
        args,
        ret,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let rows = args
                .iter()
                .find_map(|a| match a {
                    ColumnarValue::Array(a) => Some(a.len()),
                    _ => None,
                })
                .unwrap_or(1);
            let a = arrays(args, rows)?;
            let out = f.call(&a, rows).map_err(|e| {
                deltalake::datafusion::error::DataFusionError::Execution(e.to_string())
            })?;
            Ok(ColumnarValue::Array(out))
        }),
    )
}

struct Case {
    udf: &'static str,
    file: &'static str,
    export: &'static str,
    query: &'static str,
}

const CASES: [Case; 4] = [
    Case {
        udf: "haversine",
        file: "haversine.wasm",
        export: "haversine",
        query: "SELECT sum(haversine(lat1, lon1, lat2, lon2)) FROM t",
    },
    Case {
        udf: "mask_email",
        file: "mask_email.wasm",
        export: "mask_email",
        query: "SELECT count(mask_email(email)) FROM t",
    },
    Case {
        udf: "customer_label",
        file: "null_aware.wasm",
        export: "customer_label",
        query: "SELECT count(customer_label(name, score)) FROM t",
    },
    Case {
        udf: "fahrenheit",
        file: "fahrenheit.wasm",
        export: "fahrenheit",
        query: "SELECT sum(fahrenheit(lat1)) FROM t",
    },
];

fn types(udf: &str) -> (Vec<DataType>, DataType) {
    match udf {
        "haversine" => (vec![DataType::Float64; 4], DataType::Float64),
        "mask_email" => (vec![DataType::Utf8], DataType::Utf8),
        "customer_label" => (vec![DataType::Utf8, DataType::Int64], DataType::Utf8),
        _ => (vec![DataType::Float64], DataType::Float64),
    }
}

async fn timed(ctx: &SessionContext, sql: &str, runs: usize) -> anyhow::Result<(Duration, String)> {
    let mut best = Duration::MAX;
    let mut answer = String::new();
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let batches = ctx.sql(sql).await?.collect().await?;
        best = best.min(t.elapsed());
        answer = lakeplane_engine::arrow::util::pretty::pretty_format_batches(&batches)?
            .to_string()
            .lines()
            .nth(3)
            .unwrap_or_default()
            .to_owned();
    }
    Ok((best, answer))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let batches = table(args.rows)?;
    let schema = batches[0].schema();
    let mem = Arc::new(MemTable::try_new(schema, vec![batches])?);
    let runtime = UdfRuntime::new(Limits::default(), None)?;
    for case in CASES {
        let bytes = std::fs::read(args.modules.join(case.file))
            .with_context(|| format!("reading {}", case.file))?;
        let (arg_types, ret) = types(case.udf);
        let module = runtime.load(&bytes)?.module;
        let function = WasmFunction::new(case.udf, module, case.export, arg_types, ret)?;
        for (kind, udf) in [
            ("native", native(case.udf)),
            ("wasm", wasm(function.clone(), case.udf)),
        ] {
            let ctx =
                SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1));
            ctx.register_table("t", mem.clone())?;
            ctx.register_udf(udf);
            let (took, answer) = timed(&ctx, case.query, args.runs).await?;
            println!(
                "{}",
                serde_json::json!({
                    "udf": case.udf, "impl": kind, "rows": args.rows,
                    "seconds": took.as_secs_f64(),
                    "rows_per_s": args.rows as f64 / took.as_secs_f64(),
                    "answer": answer.trim(),
                })
            );
        }
        println!(
            "{}",
            serde_json::json!({"udf": case.udf, "cold": cold(&bytes, case)?})
        );
    }
    Ok(())
}

/// First-call costs: a module never seen (compile + instantiate + call one row), one compiled
/// before and read from the disk cache, and one already loaded in the process.
fn cold(bytes: &[u8], case: Case) -> anyhow::Result<serde_json::Value> {
    let dir = tempfile::tempdir()?;
    let (arg_types, ret) = types(case.udf);
    let one: Vec<ArrayRef> = arg_types
        .iter()
        .map(|t| -> ArrayRef {
            match t {
                DataType::Utf8 => Arc::new(StringArray::from(vec!["a@b.co"])),
                DataType::Int64 => Arc::new(Int64Array::from(vec![1])),
                _ => Arc::new(Float64Array::from(vec![1.0])),
            }
        })
        .collect();
    let first = |rt: &UdfRuntime| -> anyhow::Result<Duration> {
        let t = Instant::now();
        let module = rt.load(bytes)?.module;
        let f = WasmFunction::new(
            case.udf,
            module,
            case.export,
            arg_types.clone(),
            ret.clone(),
        )?;
        f.call(&one, 1)?;
        Ok(t.elapsed())
    };
    let fresh = UdfRuntime::new(Limits::default(), Some(dir.path().to_path_buf()))?;
    let compiled = first(&fresh)?;
    let loaded = first(&fresh)?;
    let restarted = UdfRuntime::new(Limits::default(), Some(dir.path().to_path_buf()))?;
    let from_disk = first(&restarted)?;
    Ok(serde_json::json!({
        "module_bytes": bytes.len(),
        "compile_ms": ms(compiled), "disk_cache_ms": ms(from_disk), "loaded_ms": ms(loaded),
    }))
}
