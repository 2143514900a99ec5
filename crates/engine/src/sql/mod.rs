//! Parsing scripts: `;`-separated statements in Databricks SQL, with parameters bound as values
//! ([`crate::bind`]). The statements the SQL parser's Databricks dialect lacks or shapes for other
//! databases (see [`ast::Lake`]) are parsed here from the same token stream, statement by
//! statement, so that both kinds mix freely in one script.

pub(crate) mod ast;
mod ddl;
mod dml;
mod function;
mod grants;
mod show;
#[cfg(test)]
mod tests;
mod words;

use deltalake::datafusion::sql::sqlparser::dialect::DatabricksDialect;
use deltalake::datafusion::sql::sqlparser::parser::Parser;
use deltalake::datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

use crate::context::Params;
use crate::error::{EngineError, EngineResult};
use ast::{Command, Lake};
use words::{is_word, PResult};

/// The most statements one script may hold.
pub const MAX_STATEMENTS: usize = 1000;

/// Parses a script and binds `params` into every statement.
pub(crate) fn parse(sql: &str, params: &Params) -> EngineResult<Vec<Command>> {
    let dialect = DatabricksDialect {};
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| EngineError::Parse(e.into()))?;
    let mut p =
        Parser::new(&dialect).with_tokens_with_locations(crate::bind::legacy_references(tokens));
    let mut commands = Vec::new();
    loop {
        while p.consume_token(&Token::SemiColon) {}
        if p.peek_token().token == Token::EOF {
            break;
        }
        if commands.len() == MAX_STATEMENTS {
            return Err(EngineError::invalid(format!(
                "a script holds at most {MAX_STATEMENTS} statements"
            )));
        }
        let command = match lake(&mut p)? {
            Some(l) => Command::Lake(Box::new(l)),
            None => Command::Std(Box::new(p.parse_statement()?)),
        };
        commands.push(command);
        let next = p.peek_token();
        if !matches!(next.token, Token::SemiColon | Token::EOF) {
            return Err(p
                .expected::<()>("end of statement", next)
                .unwrap_err_parse());
        }
    }
    crate::bind::bind(&mut commands, params)?;
    Ok(commands)
}

/// The error of an `expected(…)` call.
trait ParseErr {
    fn unwrap_err_parse(self) -> EngineError;
}

impl ParseErr for PResult<()> {
    fn unwrap_err_parse(self) -> EngineError {
        match self {
            Err(e) => EngineError::Parse(e),
            Ok(()) => EngineError::invalid("a statement did not end where expected"),
        }
    }
}

/// One of lakeplane's own statements, if one starts here; nothing is consumed otherwise.
fn lake(p: &mut Parser) -> PResult<Option<Lake>> {
    let first = p.peek_token().token;
    let w = |s: &str| is_word(&first, s);
    if w("CREATE") {
        ddl::create(p)
    } else if w("DROP") {
        match function::drop(p)? {
            Some(l) => Ok(Some(l)),
            None => ddl::drop_catalog(p),
        }
    } else if w("ALTER") {
        ddl::alter(p)
    } else if w("USE") {
        ddl::use_(p).map(Some)
    } else if w("SHOW") {
        show::show(p)
    } else if w("GRANT") || w("REVOKE") {
        grants::grant(p).map(Some)
    } else if w("DESCRIBE") || w("DESC") {
        show::describe(p)
    } else if w("INSERT") {
        dml::insert_replace_where(p)
    } else if w("MERGE") {
        dml::merge(p).map(Some)
    } else if w("COPY") {
        dml::copy_into(p)
    } else if w("RESTORE") {
        dml::restore(p).map(Some)
    } else if w("OPTIMIZE") {
        dml::optimize(p).map(Some)
    } else if w("VACUUM") {
        dml::vacuum(p).map(Some)
    } else {
        Ok(None)
    }
}
