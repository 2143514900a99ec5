//! Functions in the catalog: user-defined SQL functions whose code is a WebAssembly module, kept
//! by the SHA-256 of its bytes so that a function's code cannot change under a running query.

use serde::{Deserialize, Serialize};

use super::{check_comment, CatalogError, CatalogResult, FullName};

/// The most parameters a function takes.
pub const MAX_FUNCTION_PARAMETERS: usize = 64;
/// `LANGUAGE WASM`: the only external language lakeplane runs.
pub const WASM_LANGUAGE: &str = "WASM";

/// One parameter of a function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionParameter {
    pub name: String,
    /// The SQL type, upper case (`DOUBLE`, `STRING`, `BIGINT`, …).
    pub type_text: String,
    pub position: u32,
}

/// A function: its signature, and where its code is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionInfo {
    pub catalog_name: String,
    pub schema_name: String,
    pub name: String,
    pub input_params: Vec<FunctionParameter>,
    /// The SQL return type, upper case.
    pub data_type: String,
    /// `WASM`.
    pub external_language: String,
    /// Where the module was read from when the function was created, as the user wrote it.
    pub routine_definition: String,
    /// The module's exported entry point this function calls.
    pub handler: String,
    /// The SHA-256 of the module's bytes, hex: the code this function runs.
    pub module_sha256: String,
    /// Where lakeplane keeps that code (under the storage root, named by its hash).
    pub module_location: String,
    pub module_bytes: u64,
    #[serde(default)]
    pub comment: Option<String>,
    pub owner: String,
    pub function_id: String,
    pub created_at: i64,
    pub created_by: String,
    pub updated_at: i64,
    pub updated_by: String,
}

impl FunctionInfo {
    pub fn full_name(&self) -> FullName {
        FullName {
            catalog: self.catalog_name.clone(),
            schema: self.schema_name.clone(),
            name: self.name.clone(),
        }
    }

    /// `name(a DOUBLE, b STRING) RETURNS DOUBLE`.
    pub fn signature(&self) -> String {
        let params: Vec<String> = self
            .input_params
            .iter()
            .map(|p| format!("{} {}", p.name, p.type_text))
            .collect();
        format!(
            "{}({}) RETURNS {}",
            self.full_name(),
            params.join(", "),
            self.data_type
        )
    }

    /// Checks what a user wrote into the entry: parameter count and names, the comment.
    pub fn validate(&self) -> CatalogResult<()> {
        check_comment(self.comment.as_deref())?;
        if self.input_params.len() > MAX_FUNCTION_PARAMETERS {
            return Err(CatalogError::Invalid(format!(
                "a function takes at most {MAX_FUNCTION_PARAMETERS} parameters"
            )));
        }
        let mut seen = std::collections::BTreeSet::new();
        for p in &self.input_params {
            super::check_name("parameter", &p.name)?;
            if !seen.insert(p.name.to_lowercase()) {
                return Err(CatalogError::Invalid(format!(
                    "parameter '{}' appears twice",
                    p.name
                )));
            }
        }
        if self.handler.is_empty() || self.handler.len() > 255 {
            return Err(CatalogError::Invalid(
                "a function's handler is 1 to 255 characters".into(),
            ));
        }
        Ok(())
    }
}
