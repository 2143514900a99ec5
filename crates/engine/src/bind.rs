//! Parsing SQL with parameters bound as values, never pasted into the text.
//!
//! Two forms of reference, both resolved on the parsed statement:
//! - Databricks' named parameter markers, `:name`, wherever a literal may stand. The value becomes a
//!   string literal, or `CAST('<value>' AS <type>)` when the parameter has a type.
//! - The legacy `{{name}}` of SQL tasks. Outside quotes it stands for a value, like a marker: a
//!   number literal when the value is a plain decimal number, a string literal otherwise. Inside a
//!   string literal (`'{{name}}.csv'`) the value is spliced into that one literal, which stays one
//!   literal whatever the value holds.
//!
//! Either way a value can only ever be a literal: `x'); DROP TABLE t; --` is data. A reference to a
//! parameter that is not set fails with a message naming it.

use std::ops::ControlFlow;

use deltalake::datafusion::sql::sqlparser::ast::{
    CastKind, Expr, Statement, Value, ValueWithSpan, VisitMut, VisitorMut,
};
use deltalake::datafusion::sql::sqlparser::dialect::DatabricksDialect;
use deltalake::datafusion::sql::sqlparser::parser::Parser;
use deltalake::datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use crate::context::{Param, Params};
use crate::error::{EngineError, EngineResult};

/// The prefix of the placeholder a legacy `{{name}}` becomes while parsing.
const LEGACY: &str = "{{";

/// Parses a script and binds `params` into every statement.
pub(crate) fn parse(sql: &str, params: &Params) -> EngineResult<Vec<Statement>> {
    let dialect = DatabricksDialect {};
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| EngineError::Parse(e.into()))?;
    let mut statements = Parser::new(&dialect)
        .with_tokens_with_locations(legacy_references(tokens))
        .parse_statements()?;
    let mut binder = Binder {
        params,
        error: None,
    };
    for s in &mut statements {
        if let ControlFlow::Break(()) = s.visit(&mut binder) {
            return Err(binder
                .error
                .unwrap_or_else(|| EngineError::invalid("parameter binding failed")));
        }
    }
    Ok(statements)
}

/// Turns each `{{ name }}` outside quotes and comments (two adjacent `{`, a word, two adjacent `}`;
/// whitespace around the word allowed) into one placeholder token.
fn legacy_references(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        match legacy_at(&tokens, i) {
            Some((name, end)) => {
                let span = tokens[i].span.union(&tokens[end].span);
                let token = Token::Placeholder(format!("{LEGACY}{name}"));
                out.push(TokenWithSpan::new(token, span));
                i = end + 1;
            }
            None => {
                out.push(tokens[i].clone());
                i += 1;
            }
        }
    }
    out
}

/// If a `{{ name }}` starts at `i`, its name and the index of its last token.
fn legacy_at(tokens: &[TokenWithSpan], i: usize) -> Option<(String, usize)> {
    let tok = |j: usize| tokens.get(j).map(|t| &t.token);
    let skip_space = |mut j: usize| {
        while matches!(tok(j), Some(Token::Whitespace(_))) {
            j += 1;
        }
        j
    };
    if tok(i) != Some(&Token::LBrace) || tok(i + 1) != Some(&Token::LBrace) {
        return None;
    }
    let word = skip_space(i + 2);
    let Some(Token::Word(w)) = tok(word) else {
        return None;
    };
    let close = skip_space(word + 1);
    if tok(close) != Some(&Token::RBrace) || tok(close + 1) != Some(&Token::RBrace) {
        return None;
    }
    Some((w.value.clone(), close + 1))
}

struct Binder<'a> {
    params: &'a Params,
    error: Option<EngineError>,
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

fn is_plain_number(v: &str) -> bool {
    let digits = v.strip_prefix('-').unwrap_or(v);
    let mut parts = digits.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// `:name`: a string literal, or a typed literal when the parameter has a type.
fn typed_value(param: &Param) -> EngineResult<Expr> {
    let literal = match &param.value {
        None => Expr::value(Value::Null),
        Some(v) => string(v.clone()),
    };
    let Some(sql_type) = param
        .sql_type
        .as_deref()
        .filter(|t| !t.eq_ignore_ascii_case("STRING"))
    else {
        return Ok(literal);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Param::text(*v)))
            .collect()
    }

    fn bound(sql: &str, p: &Params) -> String {
        parse(sql, p)
            .unwrap()
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    }

    #[test]
    fn values_become_literals_whatever_they_hold() {
        let evil = "x'); DROP TABLE t; --";
        let p = params(&[("v", evil), ("n", "42"), ("d", "2024-01-01")]);
        let one = parse("SELECT * FROM t WHERE a = :v", &p).unwrap();
        assert_eq!(one.len(), 1, "still one statement");
        let Statement::Query(q) = &one[0] else {
            panic!()
        };
        assert!(q.to_string().contains("'x''); DROP TABLE t; --'"), "{q}");
        assert_eq!(
            bound("SELECT {{n}}, {{ d }}", &p),
            "SELECT 42, '2024-01-01'"
        );
        assert_eq!(
            bound("SELECT '{{d}}.csv', '{{ v }}'", &p),
            "SELECT '2024-01-01.csv', 'x''); DROP TABLE t; --'"
        );
        assert_eq!(parse("SELECT {{v}}; SELECT 1", &p).unwrap().len(), 2);
    }

    #[test]
    fn typed_markers_cast_and_bad_types_are_refused() {
        let mut p = Params::new();
        p.insert(
            "d".into(),
            Param {
                value: Some("2024-01-01".into()),
                sql_type: Some("DATE".into()),
            },
        );
        assert_eq!(bound("SELECT :d", &p), "SELECT CAST('2024-01-01' AS DATE)");
        p.get_mut("d").unwrap().sql_type = Some("INT) FROM x; --".into());
        assert!(parse("SELECT :d", &p)
            .unwrap_err()
            .to_string()
            .contains("not a SQL type"));
    }

    #[test]
    fn unset_and_positional_parameters_are_errors() {
        let p = params(&[]);
        for sql in ["SELECT :nope", "SELECT {{nope}}", "SELECT '{{nope}}'"] {
            let e = parse(sql, &p).unwrap_err().to_string();
            assert!(e.contains("'nope', which is not set"), "{sql}: {e}");
        }
        assert!(parse("SELECT $1", &p)
            .unwrap_err()
            .to_string()
            .contains("positional"));
        // Braces that are not a reference are left to the parser, and text without any is untouched.
        assert_eq!(bound("SELECT '{{' ", &p), "SELECT '{{'");
    }

    #[test]
    fn numbers_are_recognised_strictly() {
        for n in ["0", "42", "-7", "3.25"] {
            assert!(is_plain_number(n), "{n}");
        }
        for s in ["", "-", "1.", ".5", "1e9", "1;", "0x10", "1 OR 1=1"] {
            assert!(!is_plain_number(s), "{s}");
        }
    }
}
