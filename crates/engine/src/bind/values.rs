//! Binding values: markers and legacy references become literals in the parsed statement.

use std::ops::ControlFlow;

use deltalake::datafusion::sql::sqlparser::ast::{
    CastKind, Expr, Value, ValueWithSpan, VisitorMut,
};
use deltalake::datafusion::sql::sqlparser::dialect::DatabricksDialect;
use deltalake::datafusion::sql::sqlparser::parser::Parser;
use deltalake::datafusion::sql::sqlparser::tokenizer::Token;

use super::LEGACY;
use crate::context::{Param, Params};
use crate::error::{EngineError, EngineResult};

pub(super) struct Binder<'a> {
    pub(super) params: &'a Params,
    pub(super) error: Option<EngineError>,
}

impl Binder<'_> {
    fn param(&mut self, name: &str) -> Option<&Param> {
        let found = self.params.get(name);
        if found.is_none() {
            self.error = Some(EngineError::invalid(format!(
                "the SQL references parameter '{name}', which is not set"
            )));
        }
        found
    }

    fn bind(&mut self, placeholder: &str) -> Result<Expr, ()> {
        if let Some(name) = placeholder.strip_prefix(LEGACY) {
            let param = self.param(name).ok_or(())?;
            return Ok(legacy_value(param));
        }
        let Some(name) = placeholder.strip_prefix(':') else {
            self.error = Some(EngineError::invalid(format!(
                "positional parameter '{placeholder}' is not supported; use a named marker (:name)"
            )));
            return Err(());
        };
        let param = self.param(name).ok_or(())?.clone();
        typed_value(&param).map_err(|e| {
            self.error = Some(e);
        })
    }
}

impl VisitorMut for Binder<'_> {
    type Break = ();

    fn pre_visit_value(&mut self, value: &mut ValueWithSpan) -> ControlFlow<()> {
        if let Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) = &mut value.value {
            match splice(s, self.params) {
                Ok(Some(spliced)) => *s = spliced,
                Ok(None) => {}
                Err(e) => {
                    self.error = Some(e);
                    return ControlFlow::Break(());
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Expr::Value(ValueWithSpan {
            value: Value::Placeholder(p),
            ..
        }) = expr
        {
            match self.bind(&p.clone()) {
                Ok(bound) => *expr = bound,
                Err(()) => return ControlFlow::Break(()),
            }
        }
        ControlFlow::Continue(())
    }
}

fn string(s: String) -> Expr {
    Expr::value(Value::SingleQuotedString(s))
}

/// `{{name}}` outside quotes: a number literal for a plain decimal number, else a string literal.
fn legacy_value(param: &Param) -> Expr {
    match &param.value {
        None => Expr::value(Value::Null),
        Some(v) if is_plain_number(v) => Expr::value(Value::Number(v.clone(), false)),
        Some(v) => string(v.clone()),
    }
}

pub(super) fn is_plain_number(v: &str) -> bool {
    let digits = v.strip_prefix('-').unwrap_or(v);
    let mut parts = digits.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// `:name`: a string literal, or a typed literal when the parameter has a type (a NULL is typed
/// too: STRING when the parameter has no type).
fn typed_value(param: &Param) -> EngineResult<Expr> {
    let literal = match &param.value {
        None => Expr::value(Value::Null),
        Some(v) => string(v.clone()),
    };
    let sql_type = match (param.sql_type.as_deref(), &param.value) {
        (Some(t), Some(_)) if t.eq_ignore_ascii_case("STRING") => return Ok(literal),
        (None, Some(_)) => return Ok(literal),
        (Some(t), _) => t,
        (None, None) => "STRING",
    };
    let dialect = DatabricksDialect {};
    let bad = || EngineError::invalid(format!("'{sql_type}' is not a SQL type"));
    let mut parser = Parser::new(&dialect)
        .try_with_sql(sql_type)
        .map_err(|_| bad())?;
    let data_type = parser.parse_data_type().map_err(|_| bad())?;
    if parser.peek_token().token != Token::EOF {
        return Err(bad());
    }
    Ok(Expr::Cast {
        kind: CastKind::Cast,
        expr: Box::new(literal),
        data_type,
        array: false,
        format: None,
    })
}

/// The literal's text with every `{{name}}` replaced by its value; `None` when it has none.
fn splice(s: &str, params: &Params) -> EngineResult<Option<String>> {
    if !s.contains("{{") {
        return Ok(None);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else {
            break;
        };
        let name = rest[start + 2..start + 2 + len].trim();
        let param = params.get(name).ok_or_else(|| {
            EngineError::invalid(format!(
                "the SQL references parameter '{name}', which is not set"
            ))
        })?;
        out.push_str(&rest[..start]);
        out.push_str(param.value.as_deref().unwrap_or_default());
        rest = &rest[start + 2 + len + 2..];
    }
    out.push_str(rest);
    Ok(Some(out))
}
