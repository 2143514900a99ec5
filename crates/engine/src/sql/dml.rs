//! Grammar of the Databricks data statements: MERGE (with `UPDATE SET *`, `INSERT *` and
//! `WHEN NOT MATCHED BY SOURCE`), `INSERT INTO … REPLACE WHERE`, COPY INTO, RESTORE, OPTIMIZE and
//! VACUUM.

use deltalake::datafusion::sql::sqlparser::ast::Expr;
use deltalake::datafusion::sql::sqlparser::parser::{IsOptional, Parser};
use deltalake::datafusion::sql::sqlparser::tokenizer::Token;

use super::ast::{CopyInto, Lake, Merge, MergeAction, MergeClause, MergeWhen, TimeTravel};
use super::words::{eat, eat_all, expect, peek_is, properties, rewind, PResult};

/// `INSERT INTO [TABLE] t REPLACE WHERE pred query`, or `None` (nothing consumed) for other INSERTs.
pub(super) fn insert_replace_where(p: &mut Parser) -> PResult<Option<Lake>> {
    let start = p.index();
    if !eat_all(p, &["INSERT", "INTO"]) {
        return Ok(None);
    }
    eat(p, "TABLE");
    let table = p.parse_object_name(false)?;
    if !eat_all(p, &["REPLACE", "WHERE"]) {
        rewind(p, start);
        return Ok(None);
    }
    let predicate = p.parse_expr()?;
    Ok(Some(Lake::InsertReplaceWhere {
        table,
        predicate,
        query: p.parse_query()?,
    }))
}

/// `MERGE [WITH SCHEMA EVOLUTION] INTO target USING source ON cond WHEN …`.
pub(super) fn merge(p: &mut Parser) -> PResult<Lake> {
    expect(p, "MERGE")?;
    let schema_evolution = eat_all(p, &["WITH", "SCHEMA", "EVOLUTION"]);
    expect(p, "INTO")?;
    let target = p.parse_table_factor()?;
    expect(p, "USING")?;
    let source = p.parse_table_factor()?;
    expect(p, "ON")?;
    let on = p.parse_expr()?;
    let mut clauses = Vec::new();
    while eat(p, "WHEN") {
        let when = if eat(p, "MATCHED") {
            MergeWhen::Matched
        } else if eat_all(p, &["NOT", "MATCHED"]) {
            if eat_all(p, &["BY", "SOURCE"]) {
                MergeWhen::NotMatchedBySource
            } else {
                eat_all(p, &["BY", "TARGET"]);
                MergeWhen::NotMatched
            }
        } else {
            return p.expected("MATCHED or NOT MATCHED", p.peek_token());
        };
        let condition = if eat(p, "AND") {
            Some(p.parse_expr()?)
        } else {
            None
        };
        expect(p, "THEN")?;
        let action = merge_action(p, when)?;
        clauses.push(MergeClause {
            when,
            condition,
            action,
        });
    }
    if clauses.is_empty() {
        return p.expected("WHEN MATCHED or WHEN NOT MATCHED", p.peek_token());
    }
    Ok(Lake::Merge(Box::new(Merge {
        target,
        source,
        on,
        clauses,
        schema_evolution,
    })))
}

fn merge_action(p: &mut Parser, when: MergeWhen) -> PResult<MergeAction> {
    let insert = when == MergeWhen::NotMatched;
    if !insert && eat(p, "DELETE") {
        return Ok(MergeAction::Delete);
    }
    if !insert && eat_all(p, &["UPDATE", "SET"]) {
        if when == MergeWhen::Matched && p.consume_token(&Token::Mul) {
            return Ok(MergeAction::UpdateAll);
        }
        return Ok(MergeAction::Update(
            p.parse_comma_separated(Parser::parse_assignment)?,
        ));
    }
    if insert && eat(p, "INSERT") {
        if p.consume_token(&Token::Mul) {
            return Ok(MergeAction::InsertAll);
        }
        let columns = p.parse_parenthesized_column_list(IsOptional::Mandatory, false)?;
        expect(p, "VALUES")?;
        p.expect_token(&Token::LParen)?;
        let values = p.parse_comma_separated(Parser::parse_expr)?;
        p.expect_token(&Token::RParen)?;
        return Ok(MergeAction::Insert { columns, values });
    }
    let expected = match when {
        MergeWhen::NotMatched => "INSERT",
        MergeWhen::Matched => "UPDATE SET or DELETE",
        MergeWhen::NotMatchedBySource => "UPDATE SET (with assignments) or DELETE",
    };
    p.expected(expected, p.peek_token())
}

/// `= 'x'` or `= word`, as text.
fn assigned(p: &mut Parser) -> PResult<String> {
    p.expect_token(&Token::Eq)?;
    match p.next_token().token {
        Token::SingleQuotedString(s) => Ok(s),
        Token::Word(w) => Ok(w.value),
        _ => {
            p.prev_token();
            p.expected("a value", p.peek_token())
        }
    }
}

/// `COPY INTO t FROM 'path' FILEFORMAT = fmt [FILES = (…) | PATTERN = '…'] [FORMAT_OPTIONS (…)]
/// [COPY_OPTIONS (…)]`, or `None` for other COPYs.
pub(super) fn copy_into(p: &mut Parser) -> PResult<Option<Lake>> {
    if !peek_is(p, 1, "INTO") {
        return Ok(None);
    }
    expect(p, "COPY")?;
    expect(p, "INTO")?;
    let table = p.parse_object_name(false)?;
    expect(p, "FROM")?;
    let from = p.parse_literal_string()?;
    let mut copy = CopyInto {
        table,
        from,
        format: String::new(),
        files: vec![],
        pattern: None,
        format_options: vec![],
        copy_options: vec![],
    };
    loop {
        if eat(p, "FILEFORMAT") {
            copy.format = assigned(p)?.to_ascii_uppercase();
        } else if eat(p, "FILES") {
            p.expect_token(&Token::Eq)?;
            p.expect_token(&Token::LParen)?;
            copy.files = p.parse_comma_separated(Parser::parse_literal_string)?;
            p.expect_token(&Token::RParen)?;
        } else if eat(p, "PATTERN") {
            copy.pattern = Some(assigned(p)?);
        } else if eat(p, "FORMAT_OPTIONS") {
            copy.format_options = properties(p)?;
        } else if eat(p, "COPY_OPTIONS") {
            copy.copy_options = properties(p)?;
        } else {
            break;
        }
    }
    if copy.format.is_empty() {
        return p.expected("FILEFORMAT = CSV | JSON | PARQUET", p.peek_token());
    }
    Ok(Some(Lake::CopyInto(Box::new(copy))))
}

/// `{VERSION | TIMESTAMP} AS OF expr`.
fn time_travel(p: &mut Parser) -> PResult<TimeTravel> {
    let version = if eat(p, "VERSION") {
        true
    } else if eat(p, "TIMESTAMP") {
        false
    } else {
        return p.expected("VERSION AS OF or TIMESTAMP AS OF", p.peek_token());
    };
    expect(p, "AS")?;
    expect(p, "OF")?;
    let e: Expr = p.parse_expr()?;
    Ok(match version {
        true => TimeTravel::Version(e),
        false => TimeTravel::Timestamp(e),
    })
}

/// `RESTORE [TABLE] t [TO] {VERSION | TIMESTAMP} AS OF x`.
pub(super) fn restore(p: &mut Parser) -> PResult<Lake> {
    expect(p, "RESTORE")?;
    eat(p, "TABLE");
    let table = p.parse_object_name(false)?;
    eat(p, "TO");
    Ok(Lake::Restore {
        table,
        to: time_travel(p)?,
    })
}

/// `OPTIMIZE t [WHERE pred] [ZORDER BY (cols) | ZORDER BY col, …]`.
pub(super) fn optimize(p: &mut Parser) -> PResult<Lake> {
    expect(p, "OPTIMIZE")?;
    let table = p.parse_object_name(false)?;
    let predicate = if eat(p, "WHERE") {
        Some(p.parse_expr()?)
    } else {
        None
    };
    let mut zorder = vec![];
    if eat_all(p, &["ZORDER", "BY"]) {
        let paren = p.consume_token(&Token::LParen);
        zorder = p.parse_comma_separated(|p| p.parse_identifier())?;
        if paren {
            p.expect_token(&Token::RParen)?;
        }
    }
    Ok(Lake::Optimize {
        table,
        predicate,
        zorder,
    })
}

/// `VACUUM t [RETAIN n HOURS] [DRY RUN]`.
pub(super) fn vacuum(p: &mut Parser) -> PResult<Lake> {
    expect(p, "VACUUM")?;
    let table = p.parse_object_name(false)?;
    let mut retain_hours = None;
    if eat(p, "RETAIN") {
        let n = match p.next_token().token {
            Token::Number(n, _) => n,
            _ => {
                p.prev_token();
                return p.expected("a number of hours", p.peek_token());
            }
        };
        let hours: f64 = n.parse().map_err(|_| {
            deltalake::datafusion::sql::sqlparser::parser::ParserError::ParserError(format!(
                "'{n}' is not a number of hours"
            ))
        })?;
        expect(p, "HOURS")?;
        retain_hours = Some(hours);
    }
    let dry_run = eat_all(p, &["DRY", "RUN"]);
    Ok(Lake::Vacuum {
        table,
        retain_hours,
        dry_run,
    })
}
