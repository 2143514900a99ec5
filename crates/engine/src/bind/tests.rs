//! Binding, tested on parsed statements.

use deltalake::datafusion::sql::sqlparser::ast::Statement;

use super::values::is_plain_number;
use crate::context::{Param, Params};
use crate::error::EngineResult;
use crate::sql::ast::Command;

/// The script's statements, bound; all are ones the SQL parser knows.
fn parse(sql: &str, p: &Params) -> EngineResult<Vec<Statement>> {
    let commands = crate::sql::parse(sql, p)?;
    Ok(commands
        .into_iter()
        .map(|c| match c {
            Command::Std(s) => *s,
            Command::Lake(l) => panic!("{} is not a parser statement", l.kind()),
        })
        .collect())
}

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
fn identifier_takes_a_name_and_nothing_more() {
    let p = params(&[
        ("t", "main.sales.orders"),
        ("c", "amount"),
        ("bad", "t; DROP TABLE t"),
    ]);
    assert_eq!(
        bound("SELECT IDENTIFIER(:c) FROM IDENTIFIER(:t)", &p),
        "SELECT amount FROM main.sales.orders"
    );
    let err = parse("SELECT * FROM IDENTIFIER(:bad)", &p)
        .unwrap_err()
        .to_string();
    assert!(err.contains("is not a name"), "{err}");
    let err = parse("SELECT * FROM IDENTIFIER(1)", &p)
        .unwrap_err()
        .to_string();
    assert!(err.contains("takes one string"), "{err}");
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
