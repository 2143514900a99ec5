//! `CREATE FUNCTION … LANGUAGE WASM`, `DROP FUNCTION`, `SHOW FUNCTIONS` and `DESCRIBE FUNCTION`.

use deltalake::datafusion::sql::sqlparser::ast::ObjectName;
use lakeplane_core::catalog::{
    CatalogError, FunctionInfo, FunctionParameter, Privilege, Securable, WASM_LANGUAGE,
};
use lakeplane_udf_host::WasmFunction;

use super::{modules, types};
use crate::error::{EngineError, EngineResult};
use crate::output::Outcome;
use crate::script::Script;
use crate::show::text_table;
use crate::sql::ast::CreateFunction;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Script<'_> {
    pub(crate) async fn create_function(&self, f: CreateFunction) -> EngineResult<Outcome> {
        let name = self.full_name(&f.name)?;
        match f.language.as_deref() {
            Some(WASM_LANGUAGE) => {}
            Some(other) => {
                return Err(EngineError::Unsupported(format!(
                    "LANGUAGE {other} functions are not supported; lakeplane runs functions \
                     compiled to WebAssembly (LANGUAGE WASM)"
                )))
            }
            None => {
                return Err(EngineError::invalid(
                    "CREATE FUNCTION needs LANGUAGE WASM AS '<path or s3:// URI of the module>'",
                ))
            }
        }
        let Some(source) = f.source else {
            return Err(EngineError::invalid(format!(
                "CREATE FUNCTION {name}: say where the module is: AS '<path or s3:// URI>'"
            )));
        };
        self.authorize(
            Securable::Schema(name.schema_name()),
            Privilege::CreateFunction,
        )
        .await?;
        let existing = match self.engine.metastore.get_function(&name).await {
            Ok(e) => Some(e),
            Err(CatalogError::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        match (&existing, f.if_not_exists, f.or_replace) {
            (Some(_), true, _) => return Ok(Outcome::Done),
            (Some(_), false, false) => {
                return Err(EngineError::AlreadyExists {
                    kind: "Function",
                    name: name.to_string(),
                })
            }
            (Some(_), false, true) => {
                self.authorize_owner(Securable::Function(name.clone()))
                    .await?
            }
            (None, ..) => {}
        }
        let mut params = Vec::with_capacity(f.params.len());
        for (i, (p, t)) in f.params.iter().enumerate() {
            params.push(FunctionParameter {
                name: p.value.clone(),
                type_text: types::sql_name(t, &format!("parameter {}", p.value))?.to_owned(),
                position: i as u32,
            });
        }
        let returns = types::sql_name(&f.returns, "the return type")?.to_owned();
        let handler = f.handler.unwrap_or_else(|| {
            f.name
                .0
                .last()
                .map(|p| p.to_string().trim_matches('`').to_owned())
                .unwrap_or_else(|| name.name.clone())
        });
        let limit = self.engine.udfs()?.limits().max_module_bytes as u64;
        let bytes = crate::files::read_file(&self.engine.sources, &source, limit).await?;
        let module = self.engine.udfs()?.load(&bytes)?.module;
        // The handler and the declared types, checked now rather than at the first call.
        let args = params
            .iter()
            .map(|p| types::arrow_type(&p.type_text))
            .collect::<EngineResult<Vec<_>>>()?;
        WasmFunction::new(
            &name.to_string(),
            module.clone(),
            &handler,
            args,
            types::arrow_type(&returns)?,
        )?;
        let location = modules::store(self.engine, module.hash(), &bytes).await?;
        let now = now_ms();
        let who = self.who().user.clone();
        let info = FunctionInfo {
            catalog_name: name.catalog.clone(),
            schema_name: name.schema.clone(),
            name: name.name.clone(),
            input_params: params,
            data_type: returns,
            external_language: WASM_LANGUAGE.into(),
            routine_definition: source,
            handler,
            module_sha256: module.hash().to_owned(),
            module_location: location.to_string(),
            module_bytes: bytes.len() as u64,
            comment: f.comment,
            owner: who.clone(),
            function_id: uuid::Uuid::new_v4().to_string(),
            created_at: now,
            created_by: who.clone(),
            updated_at: now,
            updated_by: who,
        };
        self.engine
            .metastore
            .create_function(info, f.or_replace)
            .await?;
        Ok(Outcome::Done)
    }

    pub(crate) async fn drop_function(
        &self,
        name: &ObjectName,
        if_exists: bool,
    ) -> EngineResult<Outcome> {
        let name = self.full_name(name)?;
        match self.engine.metastore.get_function(&name).await {
            Ok(_) => {}
            Err(CatalogError::NotFound { .. }) if if_exists => return Ok(Outcome::Done),
            Err(e) => return Err(e.into()),
        }
        self.authorize_owner(Securable::Function(name.clone()))
            .await?;
        self.engine.metastore.drop_function(&name).await?;
        Ok(Outcome::Done)
    }

    pub(crate) async fn show_functions(
        &self,
        schema: Option<ObjectName>,
        like: Option<String>,
        system: bool,
    ) -> EngineResult<Outcome> {
        let schema = match schema {
            Some(s) => self.schema_name(&s)?,
            None => self.current(),
        };
        let keep = |n: &str| like.as_ref().is_none_or(|p| crate::pattern::like(p, n));
        let mut rows = Vec::new();
        for f in self.engine.metastore.list_functions(&schema).await? {
            let full = f.full_name();
            if keep(&f.name) && self.visible(Securable::Function(full.clone())).await? {
                rows.push(vec![Some(full.to_string())]);
            }
        }
        if system {
            let state = self.session.state();
            let mut builtin: Vec<&String> = state.scalar_functions().keys().collect();
            builtin.extend(state.aggregate_functions().keys());
            builtin.sort();
            builtin.dedup();
            rows.extend(
                builtin
                    .into_iter()
                    .filter(|n| keep(n))
                    .map(|n| vec![Some(n.clone())]),
            );
        }
        text_table(&["function"], rows)
    }

    pub(crate) async fn describe_function(
        &self,
        name: &ObjectName,
        extended: bool,
    ) -> EngineResult<Outcome> {
        let name = self.full_name(name)?;
        let f = self
            .engine
            .metastore
            .get_function(&name)
            .await
            .map_err(EngineError::from)?;
        self.require_visible(Securable::Function(name.clone()))
            .await?;
        let params: Vec<String> = f
            .input_params
            .iter()
            .map(|p| format!("{} {}", p.name, p.type_text))
            .collect();
        let mut lines = vec![
            format!("Function: {name}"),
            "Type:     SCALAR".to_owned(),
            format!("Input:    {}", params.join(", ")),
            format!("Returns:  {}", f.data_type),
        ];
        if extended {
            lines.extend([
                format!("Comment:  {}", f.comment.clone().unwrap_or_default()),
                format!("Language: {}", f.external_language),
                format!("Body:     {}", f.routine_definition),
                format!("Handler:  {}", f.handler),
                format!(
                    "Module:   sha256:{} ({} bytes)",
                    f.module_sha256, f.module_bytes
                ),
                format!("Owner:    {}", f.owner),
                "Deterministic: true".to_owned(),
            ]);
        }
        text_table(
            &["function_desc"],
            lines.into_iter().map(|l| vec![Some(l)]).collect(),
        )
    }
}
