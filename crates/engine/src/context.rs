//! What one execution carries: who runs it, its bound parameters, how to cancel it, its memory
//! budget, and the transaction identity its Delta commits record.

use std::collections::BTreeMap;

use lakeplane_core::catalog::Identity;
use tokio_util::sync::CancellationToken;

/// The default memory budget of one execution: DataFusion's pool spills what can spill past it
/// (sorts, aggregations, joins) and fails the query cleanly when it cannot.
pub const DEFAULT_MEMORY_BUDGET: usize = 2 * 1024 * 1024 * 1024;

/// A parameter value bound into SQL: text (or NULL) and an optional SQL type, as in the Statement
/// Execution API (`{"name", "value", "type"}`). It becomes a literal in the parsed statement, never
/// part of the SQL text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub value: Option<String>,
    /// A SQL type (`INT`, `DATE`, `DECIMAL(10,2)`, ...); `None` is `STRING`.
    pub sql_type: Option<String>,
}

impl Param {
    /// A string value.
    pub fn text(value: impl Into<String>) -> Param {
        Param {
            value: Some(value.into()),
            sql_type: None,
        }
    }
}

/// Named parameters.
pub type Params = BTreeMap<String, Param>;

/// A Delta application transaction identity (`txn` action: app id and version). Each table write of
/// statement `i` commits with app id `<app_id>/<i>` and this version (the attempt). Before writing,
/// a statement looks its app id up in the table's log: if any attempt of the same work committed it,
/// it is not written again (exactly-once effects across re-runs), and two attempts committing at
/// once collide in Delta's conflict check (same app id), so only one commit lands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnId {
    pub app_id: String,
    pub version: i64,
}

/// The context of one execution.
#[derive(Debug, Clone)]
pub struct ExecContext {
    /// Who runs the SQL (recorded in logs; grants come with the catalog).
    pub principal: String,
    /// Values for `:name` markers and `{{name}}` references.
    pub params: Params,
    /// Cancels the execution: the running statement stops and the result is `Cancelled`.
    pub cancel: CancellationToken,
    /// The most memory the execution's operators may hold, in bytes.
    pub memory_budget: usize,
    /// The identity its Delta commits carry, if any.
    pub txn: Option<TxnId>,
    /// The catalog and schema unqualified names resolve in until a `USE`; `main` and `default`
    /// when unset.
    pub catalog: Option<String>,
    pub schema: Option<String>,
    /// Who the grants are checked for: the user, their groups, whether they are an admin.
    pub identity: Identity,
}

impl ExecContext {
    /// A trusted execution, as an admin: the platform's own work (tests, the demo, benchmarks).
    /// What a user sends runs [`ExecContext::as_user`].
    pub fn new(principal: impl Into<String>) -> ExecContext {
        let principal = principal.into();
        ExecContext::as_user(Identity::admin(principal))
    }

    /// An execution for `identity`: every table it reads or writes, and every object it creates
    /// or changes, is checked against the catalog's grants.
    pub fn as_user(identity: Identity) -> ExecContext {
        ExecContext {
            principal: identity.user.clone(),
            identity,
            params: Params::new(),
            cancel: CancellationToken::new(),
            memory_budget: DEFAULT_MEMORY_BUDGET,
            txn: None,
            catalog: None,
            schema: None,
        }
    }

    /// With these parameters, all as strings.
    pub fn with_text_params(mut self, params: &BTreeMap<String, String>) -> ExecContext {
        self.params = params
            .iter()
            .map(|(k, v)| (k.clone(), Param::text(v.clone())))
            .collect();
        self
    }
}
