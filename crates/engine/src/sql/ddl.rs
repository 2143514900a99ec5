//! Grammar of the Databricks DDL statements: CREATE/DROP CATALOG, CREATE SCHEMA, CREATE TABLE
//! (USING, PARTITIONED BY, LOCATION, COMMENT, TBLPROPERTIES, AS), CREATE VIEW, ALTER TABLE and USE
//! (SHOW and DESCRIBE are in `show.rs`).

use deltalake::datafusion::sql::sqlparser::parser::Parser;
use deltalake::datafusion::sql::sqlparser::tokenizer::Token;

use super::ast::{AlterAction, CreateTable, CreateView, Lake, UseKind};
use super::words::{
    comment, eat, eat_all, expect, peek_is, properties, property_keys, rewind, PResult,
};

/// `CREATE …` when it is one of ours; `None` (nothing consumed) otherwise.
pub(super) fn create(p: &mut Parser) -> PResult<Option<Lake>> {
    let start = p.index();
    expect(p, "CREATE")?;
    let or_replace = eat_all(p, &["OR", "REPLACE"]);
    let external = eat(p, "EXTERNAL");
    if eat(p, "CATALOG") && !or_replace && !external {
        let if_not_exists = eat_all(p, &["IF", "NOT", "EXISTS"]);
        let name = p.parse_identifier()?;
        let comment = if eat(p, "COMMENT") { comment(p)? } else { None };
        return Ok(Some(Lake::CreateCatalog {
            name,
            if_not_exists,
            comment,
        }));
    }
    if (eat(p, "SCHEMA") || eat(p, "DATABASE")) && !or_replace && !external {
        return schema(p).map(Some);
    }
    if eat(p, "TABLE") {
        return table(p, or_replace).map(Some);
    }
    if eat(p, "VIEW") && !external {
        return view(p, or_replace).map(Some);
    }
    if eat(p, "FUNCTION") && !external {
        return super::function::create(p, or_replace).map(Some);
    }
    if peek_is(p, 0, "TEMPORARY") && peek_is(p, 1, "FUNCTION") {
        return p.expected(
            "FUNCTION in a schema (temporary functions are not supported)",
            p.peek_token(),
        );
    }
    rewind(p, start);
    Ok(None)
}

fn schema(p: &mut Parser) -> PResult<Lake> {
    let if_not_exists = eat_all(p, &["IF", "NOT", "EXISTS"]);
    let name = p.parse_object_name(false)?;
    let (mut comment_text, mut props) = (None, Vec::new());
    loop {
        if eat(p, "COMMENT") {
            comment_text = comment(p)?;
        } else if eat_all(p, &["WITH", "DBPROPERTIES"]) || eat(p, "DBPROPERTIES") {
            props = properties(p)?;
        } else if eat_all(p, &["MANAGED", "LOCATION"]) || eat(p, "LOCATION") {
            return p.expected(
                "COMMENT or WITH DBPROPERTIES (a schema's own location is not supported: \
                 managed tables of every schema live under the storage root)",
                p.peek_token(),
            );
        } else {
            break;
        }
    }
    Ok(Lake::CreateSchema {
        name,
        if_not_exists,
        comment: comment_text,
        properties: props,
    })
}

fn table(p: &mut Parser, or_replace: bool) -> PResult<Lake> {
    let if_not_exists = eat_all(p, &["IF", "NOT", "EXISTS"]);
    let name = p.parse_object_name(false)?;
    let mut ct = CreateTable {
        name,
        or_replace,
        if_not_exists,
        columns: vec![],
        checks: vec![],
        partitioned_by: vec![],
        location: None,
        comment: None,
        properties: vec![],
        query: None,
    };
    if p.consume_token(&Token::LParen) {
        loop {
            if eat(p, "CONSTRAINT") {
                let cname = p.parse_identifier()?;
                expect(p, "CHECK")?;
                p.expect_token(&Token::LParen)?;
                let expr = p.parse_expr()?;
                p.expect_token(&Token::RParen)?;
                ct.checks.push((cname, expr));
            } else {
                ct.columns.push(p.parse_column_def()?);
            }
            if !p.consume_token(&Token::Comma) {
                break;
            }
        }
        p.expect_token(&Token::RParen)?;
    }
    loop {
        if eat(p, "USING") {
            let format = p.parse_identifier()?;
            if !format.value.eq_ignore_ascii_case("delta") {
                return p.expected("USING DELTA (every table is a Delta table)", p.peek_token());
            }
        } else if eat_all(p, &["PARTITIONED", "BY"]) {
            p.expect_token(&Token::LParen)?;
            ct.partitioned_by = p.parse_comma_separated(|p| p.parse_identifier())?;
            p.expect_token(&Token::RParen)?;
        } else if eat(p, "LOCATION") {
            ct.location = Some(p.parse_literal_string()?);
        } else if eat(p, "COMMENT") {
            ct.comment = comment(p)?;
        } else if eat(p, "TBLPROPERTIES") {
            ct.properties = properties(p)?;
        } else {
            break;
        }
    }
    if eat(p, "AS") {
        ct.query = Some(p.parse_query()?);
    }
    Ok(Lake::CreateTable(Box::new(ct)))
}

fn view(p: &mut Parser, or_replace: bool) -> PResult<Lake> {
    let if_not_exists = eat_all(p, &["IF", "NOT", "EXISTS"]);
    let name = p.parse_object_name(false)?;
    let (mut comment_text, mut props) = (None, vec![]);
    loop {
        if eat(p, "COMMENT") {
            comment_text = comment(p)?;
        } else if eat(p, "TBLPROPERTIES") {
            props = properties(p)?;
        } else {
            break;
        }
    }
    expect(p, "AS")?;
    Ok(Lake::CreateView(Box::new(CreateView {
        name,
        or_replace,
        if_not_exists,
        comment: comment_text,
        properties: props,
        query: p.parse_query()?,
    })))
}

/// `DROP CATALOG [IF EXISTS] name [CASCADE | RESTRICT]`, or `None`.
pub(super) fn drop_catalog(p: &mut Parser) -> PResult<Option<Lake>> {
    if !peek_is(p, 1, "CATALOG") {
        return Ok(None);
    }
    expect(p, "DROP")?;
    expect(p, "CATALOG")?;
    let if_exists = eat_all(p, &["IF", "EXISTS"]);
    let name = p.parse_identifier()?;
    let cascade = eat(p, "CASCADE");
    if !cascade {
        eat(p, "RESTRICT");
    }
    Ok(Some(Lake::DropCatalog {
        name,
        if_exists,
        cascade,
    }))
}

fn column_defs(
    p: &mut Parser,
) -> PResult<Vec<deltalake::datafusion::sql::sqlparser::ast::ColumnDef>> {
    if p.consume_token(&Token::LParen) {
        let cols = p.parse_comma_separated(|p| p.parse_column_def())?;
        p.expect_token(&Token::RParen)?;
        Ok(cols)
    } else {
        p.parse_comma_separated(|p| p.parse_column_def())
    }
}

/// `ALTER TABLE name action`, or `None` for other ALTERs.
pub(super) fn alter(p: &mut Parser) -> PResult<Option<Lake>> {
    if !peek_is(p, 1, "TABLE") {
        return Ok(None);
    }
    expect(p, "ALTER")?;
    expect(p, "TABLE")?;
    let table = p.parse_object_name(false)?;
    let action = if eat_all(p, &["ADD", "CONSTRAINT"]) {
        let name = p.parse_identifier()?;
        expect(p, "CHECK")?;
        p.expect_token(&Token::LParen)?;
        let expr = p.parse_expr()?;
        p.expect_token(&Token::RParen)?;
        AlterAction::AddCheck {
            name,
            expr: Box::new(expr),
        }
    } else if eat_all(p, &["ADD", "COLUMNS"]) || eat_all(p, &["ADD", "COLUMN"]) {
        AlterAction::AddColumns(column_defs(p)?)
    } else if eat_all(p, &["RENAME", "TO"]) {
        AlterAction::RenameTo(p.parse_object_name(false)?)
    } else if eat_all(p, &["SET", "TBLPROPERTIES"]) {
        AlterAction::SetProperties(properties(p)?)
    } else if eat_all(p, &["UNSET", "TBLPROPERTIES"]) {
        let if_exists = eat_all(p, &["IF", "EXISTS"]);
        AlterAction::UnsetProperties {
            keys: property_keys(p)?,
            if_exists,
        }
    } else if eat_all(p, &["DROP", "CONSTRAINT"]) {
        let if_exists = eat_all(p, &["IF", "EXISTS"]);
        AlterAction::DropConstraint {
            name: p.parse_identifier()?,
            if_exists,
        }
    } else if eat(p, "ALTER") || eat(p, "CHANGE") {
        eat(p, "COLUMN");
        let column = p.parse_identifier()?;
        expect(p, "COMMENT")?;
        AlterAction::ColumnComment {
            column,
            comment: p.parse_literal_string()?,
        }
    } else {
        return p.expected(
            "ADD COLUMNS, RENAME TO, SET TBLPROPERTIES, UNSET TBLPROPERTIES, ALTER COLUMN … COMMENT, ADD CONSTRAINT or DROP CONSTRAINT",
            p.peek_token(),
        );
    };
    Ok(Some(Lake::Alter { table, action }))
}

/// `USE [CATALOG | SCHEMA | DATABASE] name`.
pub(super) fn use_(p: &mut Parser) -> PResult<Lake> {
    expect(p, "USE")?;
    let kind = if eat(p, "CATALOG") {
        UseKind::Catalog
    } else if eat(p, "SCHEMA") || eat(p, "DATABASE") {
        UseKind::Schema
    } else {
        UseKind::Either
    };
    Ok(Lake::Use {
        kind,
        name: p.parse_object_name(false)?,
    })
}
