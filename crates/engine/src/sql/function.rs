//! Grammar of the function statements: `CREATE [OR REPLACE] FUNCTION [IF NOT EXISTS] name(p type,
//! …) RETURNS type LANGUAGE WASM AS 'module' [HANDLER 'export'] [COMMENT '…']` (the clauses after
//! `RETURNS` in any order, as Databricks' characteristics are), `DROP FUNCTION [IF EXISTS] name`,
//! `SHOW [USER|SYSTEM|ALL] FUNCTIONS [IN schema] [[LIKE] 'pattern']` and `DESCRIBE FUNCTION
//! [EXTENDED] name`.

use deltalake::datafusion::sql::sqlparser::parser::Parser;
use deltalake::datafusion::sql::sqlparser::tokenizer::Token;

use super::ast::{CreateFunction, Lake, Show};
use super::words::{comment, eat, eat_all, expect, like, peek_is, PResult};

/// After `CREATE [OR REPLACE] FUNCTION`.
pub(super) fn create(p: &mut Parser, or_replace: bool) -> PResult<Lake> {
    let if_not_exists = eat_all(p, &["IF", "NOT", "EXISTS"]);
    let name = p.parse_object_name(false)?;
    p.expect_token(&Token::LParen)?;
    let mut params = Vec::new();
    if !p.consume_token(&Token::RParen) {
        loop {
            let param = p.parse_identifier()?;
            let ty = p.parse_data_type()?;
            // `DEFAULT …` and per-parameter comments are Databricks' too; not for WASM functions.
            params.push((param, ty));
            if !p.consume_token(&Token::Comma) {
                break;
            }
        }
        p.expect_token(&Token::RParen)?;
    }
    expect(p, "RETURNS")?;
    if peek_is(p, 0, "TABLE") {
        return p.expected(
            "a scalar return type (table functions are not supported)",
            p.peek_token(),
        );
    }
    let returns = p.parse_data_type()?;
    let mut f = CreateFunction {
        name,
        or_replace,
        if_not_exists,
        params,
        returns,
        language: None,
        source: None,
        handler: None,
        comment: None,
    };
    loop {
        if eat(p, "LANGUAGE") {
            f.language = Some(p.parse_identifier()?.value.to_ascii_uppercase());
        } else if eat(p, "AS") {
            f.source = Some(p.parse_literal_string()?);
        } else if eat(p, "HANDLER") {
            let _ = p.consume_token(&Token::Eq);
            f.handler = Some(p.parse_literal_string()?);
        } else if eat(p, "COMMENT") {
            f.comment = comment(p)?;
        } else if eat(p, "DETERMINISTIC") || eat_all(p, &["NOT", "DETERMINISTIC"]) {
            // Accepted: a WASM function cannot see anything but its arguments, so it is.
        } else if eat_all(p, &["NO", "SQL"]) {
        } else if eat(p, "RETURN") {
            return p.expected(
                "LANGUAGE WASM AS '<module>' (SQL-bodied functions are not supported)",
                p.peek_token(),
            );
        } else {
            break;
        }
    }
    Ok(Lake::CreateFunction(Box::new(f)))
}

/// `DROP [TEMPORARY] FUNCTION [IF EXISTS] name`, if that comes next; nothing consumed otherwise.
pub(super) fn drop(p: &mut Parser) -> PResult<Option<Lake>> {
    let temporary = peek_is(p, 1, "TEMPORARY");
    if !(peek_is(p, 1, "FUNCTION") || (temporary && peek_is(p, 2, "FUNCTION"))) {
        return Ok(None);
    }
    expect(p, "DROP")?;
    if temporary {
        return p.expected(
            "FUNCTION (temporary functions are not supported)",
            p.peek_token(),
        );
    }
    expect(p, "FUNCTION")?;
    let if_exists = eat_all(p, &["IF", "EXISTS"]);
    let name = p.parse_object_name(false)?;
    Ok(Some(Lake::DropFunction { name, if_exists }))
}

/// After `SHOW`: `[USER|SYSTEM|ALL] FUNCTIONS …`, if that comes next.
pub(super) fn show(p: &mut Parser) -> PResult<Option<Show>> {
    let scoped =
        ["USER", "SYSTEM", "ALL"].iter().any(|w| peek_is(p, 0, w)) && peek_is(p, 1, "FUNCTIONS");
    if !(scoped || peek_is(p, 0, "FUNCTIONS")) {
        return Ok(None);
    }
    let system = if scoped {
        let w = p.next_token().token.to_string().to_ascii_uppercase();
        w != "USER"
    } else {
        true
    };
    expect(p, "FUNCTIONS")?;
    let schema = if eat(p, "IN") || eat(p, "FROM") {
        Some(p.parse_object_name(false)?)
    } else {
        None
    };
    Ok(Some(Show::Functions {
        schema,
        like: like(p)?,
        system,
    }))
}

/// After `DESCRIBE`: `FUNCTION [EXTENDED] name`, if that comes next.
pub(super) fn describe(p: &mut Parser) -> PResult<Option<Lake>> {
    if !eat(p, "FUNCTION") {
        return Ok(None);
    }
    let extended = eat(p, "EXTENDED");
    let name = p.parse_object_name(false)?;
    Ok(Some(Lake::DescribeFunction { name, extended }))
}
