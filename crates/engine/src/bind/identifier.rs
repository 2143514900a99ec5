//! `IDENTIFIER('<name>')`: Databricks' way to take a name from a parameter. Runs after the values
//! are bound, so the argument is a string literal; it must parse as a (qualified) name and nothing else.

use std::ops::ControlFlow;

use deltalake::datafusion::sql::sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, ObjectName, ObjectNamePart, TableFactor,
    Value, ValueWithSpan, VisitorMut,
};
use deltalake::datafusion::sql::sqlparser::dialect::DatabricksDialect;
use deltalake::datafusion::sql::sqlparser::parser::Parser;
use deltalake::datafusion::sql::sqlparser::tokenizer::Token;

use crate::error::{EngineError, EngineResult};

/// Resolves `IDENTIFIER('<name>')` (its argument already bound) into the name it holds.
pub(super) struct Identifiers {
    pub(super) error: Option<EngineError>,
}

/// The one string literal argument of an `IDENTIFIER(...)` call.
fn identifier_arg(args: &[FunctionArg]) -> Option<&str> {
    match args {
        [FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(ValueWithSpan {
            value: Value::SingleQuotedString(s),
            ..
        })))] => Some(s),
        _ => None,
    }
}

fn is_identifier_call(name: &ObjectName) -> bool {
    matches!(name.0.as_slice(), [ObjectNamePart::Identifier(i)] if i.value.eq_ignore_ascii_case("identifier"))
}

/// Parses `text` as a (qualified) name and nothing more.
fn parse_name(text: &str) -> EngineResult<ObjectName> {
    let dialect = DatabricksDialect {};
    let bad = || EngineError::invalid(format!("IDENTIFIER: '{text}' is not a name"));
    let mut parser = Parser::new(&dialect)
        .try_with_sql(text)
        .map_err(|_| bad())?;
    let name = parser.parse_object_name(false).map_err(|_| bad())?;
    if parser.peek_token().token != Token::EOF {
        return Err(bad());
    }
    Ok(name)
}

impl Identifiers {
    fn resolve(&mut self, args: &[FunctionArg]) -> Result<ObjectName, ()> {
        let Some(text) = identifier_arg(args) else {
            self.error = Some(EngineError::invalid(
                "IDENTIFIER takes one string: a literal or a parameter marker",
            ));
            return Err(());
        };
        parse_name(text).map_err(|e| self.error = Some(e))
    }
}

impl VisitorMut for Identifiers {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table { name, args, .. } = factor {
            if let (true, Some(call)) = (is_identifier_call(name), args.as_ref()) {
                match self.resolve(&call.args) {
                    Ok(resolved) => {
                        *name = resolved;
                        *args = None;
                    }
                    Err(()) => return ControlFlow::Break(()),
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        let Expr::Function(f) = expr else {
            return ControlFlow::Continue(());
        };
        let FunctionArguments::List(list) = &f.args else {
            return ControlFlow::Continue(());
        };
        if !is_identifier_call(&f.name) {
            return ControlFlow::Continue(());
        }
        match self.resolve(&list.args) {
            Ok(name) => {
                let idents: Vec<_> = name
                    .0
                    .into_iter()
                    .filter_map(|p| match p {
                        ObjectNamePart::Identifier(i) => Some(i),
                        _ => None,
                    })
                    .collect();
                *expr = match <[_; 1]>::try_from(idents) {
                    Ok([one]) => Expr::Identifier(one),
                    Err(many) => Expr::CompoundIdentifier(many),
                };
                ControlFlow::Continue(())
            }
            Err(()) => ControlFlow::Break(()),
        }
    }
}
