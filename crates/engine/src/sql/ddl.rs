//! Grammar of the Databricks DDL and metadata statements: CREATE/DROP CATALOG, CREATE SCHEMA,
//! CREATE TABLE (USING, PARTITIONED BY, LOCATION, COMMENT, TBLPROPERTIES, AS), CREATE VIEW,
//! ALTER TABLE, USE, SHOW and DESCRIBE.

use deltalake::datafusion::sql::sqlparser::ast::Ident;
use deltalake::datafusion::sql::sqlparser::parser::Parser;
use deltalake::datafusion::sql::sqlparser::tokenizer::Token;

use super::ast::{
    AlterAction, CreateTable, CreateView, DescribeWhat, Lake, Metadata, MetadataOf, Show, UseKind,
};
use super::words::{
    comment, eat, eat_all, expect, like, peek_is, properties, property_keys, rewind, PResult,
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

fn in_schema(
    p: &mut Parser,
) -> PResult<Option<deltalake::datafusion::sql::sqlparser::ast::ObjectName>> {
    if eat(p, "IN") || eat(p, "FROM") {
        Ok(Some(p.parse_object_name(false)?))
    } else {
        Ok(None)
    }
}

/// `SHOW …` when it is one of ours; `None` otherwise.
pub(super) fn show(p: &mut Parser) -> PResult<Option<Lake>> {
    let start = p.index();
    expect(p, "SHOW")?;
    if let Some(m) = metadata(p)? {
        return Ok(Some(Lake::Show(Show::Metadata(m))));
    }
    let show = if let Some(f) = super::function::show(p)? {
        f
    } else if eat(p, "GRANTS") || eat(p, "GRANT") {
        super::grants::show_grants(p)?
    } else if eat(p, "CATALOGS") {
        Show::Catalogs { like: like(p)? }
    } else if eat(p, "SCHEMAS") || eat(p, "DATABASES") {
        let catalog: Option<Ident> = if eat(p, "IN") || eat(p, "FROM") {
            Some(p.parse_identifier()?)
        } else {
            None
        };
        Show::Schemas {
            catalog,
            like: like(p)?,
        }
    } else if eat(p, "TABLES") {
        Show::Tables {
            schema: in_schema(p)?,
            like: like(p)?,
        }
    } else if eat(p, "VIEWS") {
        Show::Views {
            schema: in_schema(p)?,
            like: like(p)?,
        }
    } else if eat(p, "COLUMNS") {
        if !(eat(p, "IN") || eat(p, "FROM")) {
            return p.expected("IN or FROM", p.peek_token()).map(Some);
        }
        let mut table = p.parse_object_name(false)?;
        if let Some(schema) = in_schema(p)? {
            let mut parts = schema.0;
            parts.extend(table.0);
            table.0 = parts;
        }
        Show::Columns { table }
    } else if eat(p, "TBLPROPERTIES") {
        let table = p.parse_object_name(false)?;
        let key = if p.consume_token(&Token::LParen) {
            let k = p.parse_literal_string()?;
            p.expect_token(&Token::RParen)?;
            Some(k)
        } else {
            None
        };
        Show::Properties { table, key }
    } else if eat_all(p, &["CREATE", "TABLE"]) {
        Show::CreateTable {
            table: p.parse_object_name(false)?,
        }
    } else {
        rewind(p, start);
        return Ok(None);
    };
    Ok(Some(Lake::Show(show)))
}

/// After `SHOW`: `SCHEMAS|TABLES|COLUMNS IN ALL CATALOGS|IN CATALOG c [SCHEMA LIKE 'p']
/// [TABLE LIKE 'p'] [LIKE 'p']`, the connector's metadata forms; `None` (nothing consumed) for
/// other SHOWs.
fn metadata(p: &mut Parser) -> PResult<Option<Metadata>> {
    let start = p.index();
    let of = if eat(p, "SCHEMAS") || eat(p, "DATABASES") {
        MetadataOf::Schemas
    } else if eat(p, "TABLES") {
        MetadataOf::Tables
    } else if eat(p, "COLUMNS") {
        MetadataOf::Columns
    } else {
        return Ok(None);
    };
    let catalog = if eat_all(p, &["IN", "ALL", "CATALOGS"]) {
        None
    } else if eat_all(p, &["IN", "CATALOG"]) {
        Some(p.parse_identifier()?.value)
    } else {
        rewind(p, start);
        return Ok(None);
    };
    let pattern_after = |p: &mut Parser, w: &str| -> PResult<Option<String>> {
        if eat_all(p, &[w, "LIKE"]) {
            Ok(Some(p.parse_literal_string()?))
        } else {
            Ok(None)
        }
    };
    let schema_like = pattern_after(p, "SCHEMA")?;
    let table_like = pattern_after(p, "TABLE")?;
    Ok(Some(Metadata {
        of,
        catalog,
        schema_like,
        table_like,
        like: like(p)?,
    }))
}

/// `DESCRIBE [TABLE] [EXTENDED] t`, `DESCRIBE DETAIL t`, `DESCRIBE HISTORY t [LIMIT n]`; `None`
/// for other DESCRIBEs (of a query).
pub(super) fn describe(p: &mut Parser) -> PResult<Option<Lake>> {
    let start = p.index();
    if !(eat(p, "DESCRIBE") || eat(p, "DESC")) {
        return Ok(None);
    }
    if let Some(f) = super::function::describe(p)? {
        return Ok(Some(f));
    }
    let what = if eat(p, "DETAIL") {
        DescribeWhat::Detail
    } else if eat(p, "HISTORY") {
        DescribeWhat::History { limit: None }
    } else {
        eat(p, "TABLE");
        let extended = eat(p, "EXTENDED") || eat(p, "FORMATTED");
        if ["SELECT", "WITH", "QUERY", "VALUES"]
            .iter()
            .any(|w| peek_is(p, 0, w))
        {
            rewind(p, start);
            return Ok(None);
        }
        DescribeWhat::Table { extended }
    };
    let table = p.parse_object_name(false)?;
    let what = match what {
        DescribeWhat::History { .. } if eat(p, "LIMIT") => DescribeWhat::History {
            limit: Some(p.parse_literal_uint()?),
        },
        w => w,
    };
    Ok(Some(Lake::Describe { table, what }))
}
