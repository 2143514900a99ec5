//! A catalog function as a DataFusion scalar UDF: arguments coerced to the declared types, the
//! whole batch handed to the module in one call ([`WasmFunction::call`]).

use std::hash::{Hash, Hasher};

use deltalake::arrow::datatypes::DataType;
use deltalake::datafusion::common::{DataFusionError, Result};
use deltalake::datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use lakeplane_udf_host::WasmFunction;

/// A WASM function under the name a statement calls it by.
#[derive(Debug)]
pub(crate) struct WasmUdf {
    /// The name DataFusion looks the call up by (as written in the statement).
    pub(crate) key: String,
    pub(crate) function: WasmFunction,
    pub(crate) signature: Signature,
}

impl WasmUdf {
    pub(crate) fn new(key: String, function: WasmFunction) -> WasmUdf {
        WasmUdf {
            key,
            function,
            // The declared types are enforced by `coerce_types`: DataFusion casts each argument.
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl PartialEq for WasmUdf {
    fn eq(&self, other: &WasmUdf) -> bool {
        self.key == other.key
            && self.function.name() == other.function.name()
            && self.function.module().hash() == other.function.module().hash()
    }
}

impl Eq for WasmUdf {}

impl Hash for WasmUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
        self.function.module().hash().hash(state);
    }
}

impl ScalarUDFImpl for WasmUdf {
    fn name(&self) -> &str {
        &self.key
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(self.function.return_type().clone())
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let want = self.function.arg_types();
        if args.len() != want.len() {
            return Err(DataFusionError::Plan(format!(
                "function {} takes {} argument(s), got {}",
                self.function.name(),
                want.len(),
                args.len()
            )));
        }
        Ok(want.to_vec())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = args
            .args
            .into_iter()
            .map(|a| a.into_array(rows))
            .collect::<Result<Vec<_>>>()?;
        let out = self
            .function
            .call(&arrays, rows)
            .map_err(|e| DataFusionError::Execution(e.to_string()))?;
        Ok(ColumnarValue::Array(out))
    }
}
