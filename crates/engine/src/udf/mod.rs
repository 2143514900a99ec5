//! WebAssembly functions in SQL: `CREATE FUNCTION … LANGUAGE WASM`, `DROP FUNCTION`, and calls.
//!
//! A function lives in the catalog ([`FunctionInfo`]) with its declared signature and the SHA-256
//! of its module, whose bytes are kept under the storage root by that hash ([`modules`]). Before
//! a statement runs, every function it calls that the catalog has is checked for `EXECUTE` (by the
//! caller, or by a view's owner inside the view) and registered in the statement's session as a
//! DataFusion UDF over the engine's one [`lakeplane_udf_host::UdfRuntime`]. So the same SQL works
//! in a job task, a statement, a SQL connector session and the `sql` Lambda.

pub mod ai_query;
mod ddl;
mod modules;
mod scalar;
mod types;

use std::ops::ControlFlow;

use deltalake::datafusion::logical_expr::ScalarUDF;
use deltalake::datafusion::sql::sqlparser::ast::{Expr, ObjectName, ObjectNamePart, VisitorMut};
use lakeplane_core::catalog::{
    CatalogError, FullName, FunctionInfo, Identity, Privilege, SchemaName, Securable,
};
use lakeplane_udf_host::WasmFunction;

use crate::error::{EngineError, EngineResult};
use crate::script::Script;

/// Collects the names of the functions a statement calls.
#[derive(Default)]
pub(crate) struct Calls(pub(crate) Vec<ObjectName>);

impl VisitorMut for Calls {
    type Break = ();

    fn pre_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
        if let Expr::Function(f) = e {
            if !self.0.contains(&f.name) {
                self.0.push(f.name.clone());
            }
        }
        ControlFlow::Continue(())
    }
}

/// The name DataFusion's planner looks a call up by: a one-part name normalized as an identifier
/// (lower case unless quoted), a longer one as written.
fn lookup_key(n: &ObjectName) -> Option<String> {
    match n.0.as_slice() {
        [ObjectNamePart::Identifier(i)] if i.quote_style.is_some() => Some(i.value.clone()),
        [ObjectNamePart::Identifier(i)] => Some(i.value.to_lowercase()),
        [_, ..] => Some(n.to_string()),
        [] => None,
    }
}

impl Script<'_> {
    /// Registers the catalog functions among `calls` for a statement run by `who` with names
    /// resolving in `current`. A one-part name that is a built-in, or that the catalog lacks, is
    /// left to DataFusion; a qualified name the catalog lacks is an error.
    pub(crate) async fn register_functions(
        &self,
        calls: Calls,
        current: &SchemaName,
        who: &Identity,
    ) -> EngineResult<()> {
        let state = self.session.state();
        // A built-in, not a WASM function an earlier statement of the script registered (which
        // is looked up again: it may have been replaced since).
        let builtin = |key: &str| {
            let wasm = |u: &std::sync::Arc<ScalarUDF>| {
                let inner: &dyn std::any::Any = u.inner().as_ref();
                inner.is::<scalar::WasmUdf>()
            };
            state.scalar_functions().get(key).is_some_and(|u| !wasm(u))
                || state.aggregate_functions().contains_key(key)
                || state.window_functions().contains_key(key)
        };
        for name in calls.0 {
            let Some(key) = lookup_key(&name) else {
                continue;
            };
            let Ok(parts) = crate::catalog::parts(&name) else {
                continue;
            };
            if parts.len() == 1 && key == "ai_query" {
                let calls = self.engine.models.clone().ok_or_else(|| {
                    EngineError::invalid(
                        "ai_query needs model serving, which this process is not connected to",
                    )
                })?;
                self.session.register_udf(ai_query::udf(calls, who.clone()));
                continue;
            }
            if parts.len() == 1 && builtin(&key) {
                continue;
            }
            if parts.len() > 3 {
                continue;
            }
            let full = FullName::resolve(&parts, current)?;
            let info = match self.engine.metastore.get_function(&full).await {
                Ok(info) => info,
                Err(CatalogError::NotFound { .. }) if parts.len() == 1 => continue,
                Err(CatalogError::NotFound { .. }) => {
                    return Err(EngineError::not_found("Function", full))
                }
                Err(e) => return Err(e.into()),
            };
            self.authorize_for(who, Securable::Function(full.clone()), Privilege::Execute)
                .await?;
            let function = self.wasm_function(&info).await?;
            let udf = scalar::WasmUdf::new(key, function);
            self.session.register_udf(ScalarUDF::new_from_impl(udf));
        }
        Ok(())
    }

    /// The function's code, loaded (from the runtime's caches, or from storage).
    async fn wasm_function(&self, info: &FunctionInfo) -> EngineResult<WasmFunction> {
        let runtime = self.engine.udfs()?;
        let module = match runtime.cached(&info.module_sha256) {
            Some(m) => m,
            None => {
                let bytes =
                    modules::load(self.engine, &info.module_location, &info.module_sha256).await?;
                runtime.load(&bytes)?.module
            }
        };
        let args = info
            .input_params
            .iter()
            .map(|p| types::arrow_type(&p.type_text))
            .collect::<EngineResult<Vec<_>>>()?;
        Ok(WasmFunction::new(
            &info.full_name().to_string(),
            module,
            &info.handler,
            args,
            types::arrow_type(&info.data_type)?,
        )?)
    }
}
