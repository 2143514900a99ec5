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
//!
//! Where a name must come from a parameter, Databricks' `IDENTIFIER(:name)` takes it: in `FROM`/`JOIN`
//! and in expressions, the value is parsed as a (qualified) identifier and nothing else — anything
//! more than a name is refused.

use std::ops::ControlFlow;

use deltalake::datafusion::sql::sqlparser::ast::VisitMut;
use deltalake::datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan};

mod identifier;
#[cfg(test)]
mod tests;
mod values;

use crate::context::Params;
use crate::error::{EngineError, EngineResult};
use crate::sql::ast::Command;
use identifier::Identifiers;
use values::Binder;

/// The prefix of the placeholder a legacy `{{name}}` becomes while parsing.
const LEGACY: &str = "{{";

/// Binds `params` into every command, and resolves `IDENTIFIER(…)` names.
pub(crate) fn bind(commands: &mut [Command], params: &Params) -> EngineResult<()> {
    let mut binder = Binder {
        params,
        error: None,
    };
    let mut names = Identifiers { error: None };
    for c in commands {
        let (values, idents) = match c {
            Command::Std(s) => (s.visit(&mut binder), s.visit(&mut names)),
            Command::Lake(l) => (l.visit(&mut binder), l.visit(&mut names)),
        };
        if let ControlFlow::Break(()) = values {
            return Err(binder
                .error
                .unwrap_or_else(|| EngineError::invalid("parameter binding failed")));
        }
        if let ControlFlow::Break(()) = idents {
            return Err(names
                .error
                .unwrap_or_else(|| EngineError::invalid("IDENTIFIER() failed")));
        }
    }
    Ok(())
}

/// Turns each `{{ name }}` outside quotes and comments (two adjacent `{`, a word, two adjacent `}`;
/// whitespace around the word allowed) into one placeholder token.
pub(crate) fn legacy_references(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
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
