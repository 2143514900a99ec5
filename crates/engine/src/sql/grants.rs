//! `GRANT privileges ON kind name TO principal`, `REVOKE … FROM principal` and
//! `SHOW GRANTS [principal] ON kind name`. Privileges: `ALL [PRIVILEGES]`, `USE CATALOG`,
//! `USE SCHEMA`, `CREATE SCHEMA`, `CREATE TABLE`, `SELECT`, `MODIFY`, `CREATE FUNCTION`,
//! `EXECUTE`; kinds: `CATALOG`, `SCHEMA` (`DATABASE`), `TABLE`, `VIEW`, `FUNCTION` (a name alone
//! is a table). Principals are identifiers, quoted
//! with backticks when they hold `@` or spaces.

use deltalake::datafusion::sql::sqlparser::parser::Parser;
use deltalake::datafusion::sql::sqlparser::tokenizer::Token;
use lakeplane_core::catalog::{Kind, Privilege};

use super::ast::{Grant, Lake, Show};
use super::words::PResult;
use super::words::{eat, expect, is_word};

fn privilege(p: &mut Parser) -> PResult<Privilege> {
    let first = p.parse_identifier()?.value;
    let two = |p: &mut Parser, first: &str| -> PResult<String> {
        let second = p.parse_identifier()?.value;
        Ok(format!("{first} {second}"))
    };
    let text = match first.to_ascii_uppercase().as_str() {
        "ALL" => {
            eat(p, "PRIVILEGES");
            "ALL".to_string()
        }
        "USE" | "CREATE" => two(p, &first)?,
        _ => first,
    };
    match Privilege::parse(&text) {
        Some(pr) => Ok(pr),
        None => p.expected(
            "a privilege (ALL PRIVILEGES, USE CATALOG, USE SCHEMA, CREATE SCHEMA, CREATE TABLE, SELECT, MODIFY, CREATE FUNCTION, EXECUTE)",
            p.peek_token(),
        ),
    }
}

fn kind(p: &mut Parser) -> Kind {
    for (w, k) in [
        ("CATALOG", Kind::Catalog),
        ("SCHEMA", Kind::Schema),
        ("DATABASE", Kind::Schema),
        ("TABLE", Kind::Table),
        ("VIEW", Kind::Table),
        ("FUNCTION", Kind::Function),
    ] {
        if eat(p, w) {
            return k;
        }
    }
    Kind::Table
}

fn principal(p: &mut Parser) -> PResult<String> {
    match p.peek_token().token {
        Token::SingleQuotedString(_) => p.parse_literal_string(),
        _ => Ok(p.parse_identifier()?.value),
    }
}

/// `GRANT …` or `REVOKE …`, after checking the first word.
pub(super) fn grant(p: &mut Parser) -> PResult<Lake> {
    let revoke = eat(p, "REVOKE");
    if !revoke {
        expect(p, "GRANT")?;
    }
    let mut privileges = vec![privilege(p)?];
    while p.consume_token(&Token::Comma) {
        privileges.push(privilege(p)?);
    }
    expect(p, "ON")?;
    let kind = kind(p);
    let name = p.parse_object_name(false)?;
    expect(p, if revoke { "FROM" } else { "TO" })?;
    let principal = principal(p)?;
    Ok(Lake::Grant(Box::new(Grant {
        revoke,
        privileges,
        kind,
        name,
        principal,
    })))
}

/// After `SHOW GRANTS`: `[principal] ON kind name`.
pub(super) fn show_grants(p: &mut Parser) -> PResult<Show> {
    let principal = match is_word(&p.peek_token().token, "ON") {
        true => None,
        false => Some(principal(p)?),
    };
    expect(p, "ON")?;
    let kind = kind(p);
    let name = p.parse_object_name(false)?;
    Ok(Show::Grants {
        principal,
        kind,
        name,
    })
}
