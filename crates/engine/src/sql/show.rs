//! Grammar of the metadata statements: SHOW (catalogs, schemas, tables, views, columns,
//! properties, CREATE TABLE, grants, functions, and the SQL connector's metadata listings) and
//! DESCRIBE (tables, DETAIL, HISTORY, functions).

use deltalake::datafusion::sql::sqlparser::ast::Ident;
use deltalake::datafusion::sql::sqlparser::parser::Parser;
use deltalake::datafusion::sql::sqlparser::tokenizer::Token;

use super::ast::{DescribeWhat, Lake, Metadata, MetadataOf, Show};
use super::words::{eat, eat_all, expect, like, peek_is, rewind, PResult};

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
