//! MLflow's search filter and order-by language, as `runs/search`, `registered-models/search`,
//! `model-versions/search` and `logged-models/search` take it:
//! `metrics.rmse < 1 and params.alpha = '0.5' and tags."mlflow.user" LIKE 'a%'`,
//! `name = 'x'`, `run_id IN ('a', 'b')`; order by `metrics.rmse DESC`, `attributes.start_time`.
//! Clauses are joined by AND (MLflow has no OR); a value is a quoted string or a number.

use std::cmp::Ordering;

use crate::{DomainError, DomainResult};

/// A value a clause compares.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Num(f64),
}

/// One comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// `metrics`, `params`, `tags`, `attributes` (or none, for the object's own fields).
    pub entity: Option<String>,
    pub key: String,
    pub op: String,
    pub values: Vec<Value>,
}

/// A parsed filter: every clause must hold.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter(pub Vec<Clause>);

const OPS: [&str; 10] = [
    "!=", "<=", ">=", "=", "<", ">", "NOT IN", "ILIKE", "LIKE", "IN",
];

fn bad(filter: &str, why: impl std::fmt::Display) -> DomainError {
    DomainError::invalid(format!("Invalid filter '{filter}': {why}"))
}

/// Splits the entity (`metrics.`, `tags.`, …) off an identifier; the key may be quoted.
fn identifier(text: &str) -> (Option<String>, String) {
    let unquote = |s: &str| s.trim().trim_matches(['`', '"']).to_string();
    match text.split_once('.') {
        Some((entity, key))
            if !entity.starts_with(['`', '"'])
                && entity.chars().all(|c| c.is_ascii_alphabetic() || c == '_') =>
        {
            let e = match entity.to_ascii_lowercase().as_str() {
                "metric" | "metrics" => "metrics",
                "param" | "params" | "parameter" | "parameters" => "params",
                "tag" | "tags" => "tags",
                "attr" | "attribute" | "attributes" | "run" => "attributes",
                other => return (Some(other.to_string()), unquote(key)),
            };
            (Some(e.to_string()), unquote(key))
        }
        _ => (None, unquote(text)),
    }
}

/// Cuts `s` at the first `AND` outside quotes (case-insensitive).
fn split_and(s: &str) -> Vec<String> {
    let mut parts = vec![];
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' || c == '`' => quote = Some(c),
            None => {
                let rest: String = chars[i..].iter().take(5).collect();
                let before = i == 0 || chars[i - 1].is_whitespace();
                if before && rest.len() >= 4 && rest[..4].eq_ignore_ascii_case("and ") {
                    parts.push(std::mem::take(&mut cur));
                    i += 4;
                    continue;
                }
            }
        }
        cur.push(c);
        i += 1;
    }
    parts.push(cur);
    parts
}

fn literal(filter: &str, text: &str) -> DomainResult<Value> {
    let t = text.trim();
    if t.len() >= 2
        && (t.starts_with('\'') && t.ends_with('\'') || t.starts_with('"') && t.ends_with('"'))
    {
        return Ok(Value::Str(t[1..t.len() - 1].to_string()));
    }
    t.parse::<f64>().map(Value::Num).map_err(|_| {
        bad(
            filter,
            format!("expected a quoted string or a number, got {t}"),
        )
    })
}

impl Filter {
    pub fn parse(filter: &str) -> DomainResult<Filter> {
        if filter.trim().is_empty() {
            return Ok(Filter::default());
        }
        let mut clauses = vec![];
        for part in split_and(filter) {
            let upper = part.to_ascii_uppercase();
            let found = OPS.iter().filter_map(|op| {
                let at = if op.chars().all(|c| c.is_ascii_alphabetic() || c == ' ') {
                    upper.find(&format!(" {op} ")).map(|i| i + 1)
                } else {
                    upper.find(op)
                };
                at.map(|i| (i, *op))
            });
            let Some((at, op)) = found.min_by_key(|(i, op)| (*i, std::cmp::Reverse(op.len())))
            else {
                return Err(bad(filter, format!("no comparison in '{}'", part.trim())));
            };
            let (entity, key) = identifier(part[..at].trim());
            let rhs = part[at + op.len()..].trim();
            let values = if op.ends_with("IN") {
                let inner = rhs
                    .strip_prefix('(')
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or_else(|| bad(filter, "IN takes a list in parentheses"))?;
                inner
                    .split(',')
                    .map(|v| literal(filter, v))
                    .collect::<DomainResult<Vec<_>>>()?
            } else {
                vec![literal(filter, rhs)?]
            };
            if key.is_empty() {
                return Err(bad(filter, "a comparison names no field"));
            }
            clauses.push(Clause {
                entity,
                key,
                op: op.to_string(),
                values,
            });
        }
        Ok(Filter(clauses))
    }

    /// Whether `lookup(entity, key)` satisfies every clause.
    pub fn matches(&self, lookup: impl Fn(Option<&str>, &str) -> Option<Value>) -> bool {
        self.0.iter().all(|c| {
            let Some(have) = lookup(c.entity.as_deref(), &c.key) else {
                return c.op == "!=" || c.op == "NOT IN";
            };
            let want = &c.values[0];
            match c.op.as_str() {
                "IN" => c
                    .values
                    .iter()
                    .any(|v| compare(&have, v) == Some(Ordering::Equal)),
                "NOT IN" => !c
                    .values
                    .iter()
                    .any(|v| compare(&have, v) == Some(Ordering::Equal)),
                "LIKE" | "ILIKE" => match (&have, want) {
                    (Value::Str(h), Value::Str(p)) if c.op == "ILIKE" => {
                        like(&h.to_lowercase(), &p.to_lowercase())
                    }
                    (Value::Str(h), Value::Str(p)) => like(h, p),
                    _ => false,
                },
                op => compare(&have, want).is_some_and(|o| match op {
                    "=" => o.is_eq(),
                    "!=" => o.is_ne(),
                    "<" => o.is_lt(),
                    "<=" => o.is_le(),
                    ">" => o.is_gt(),
                    _ => o.is_ge(),
                }),
            }
        })
    }
}

fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Num(x), Value::Num(y)) => x.partial_cmp(y),
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        (Value::Num(x), Value::Str(y)) => y.parse::<f64>().ok().and_then(|y| x.partial_cmp(&y)),
        (Value::Str(x), Value::Num(y)) => x.parse::<f64>().ok().and_then(|x| x.partial_cmp(y)),
    }
}

/// SQL LIKE: `%` any run of characters, `_` one character.
fn like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    let (mut ti, mut pi, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '_' || p[pi] == t[ti]) {
            ti += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '%')
}

/// One `order_by` term: a field and its direction.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub entity: Option<String>,
    pub key: String,
    pub ascending: bool,
}

/// Parses `order_by` terms (`metrics.rmse DESC`, `name`).
pub fn parse_order(terms: &[String]) -> DomainResult<Vec<Order>> {
    terms
        .iter()
        .filter(|t| !t.trim().is_empty())
        .map(|t| {
            let t = t.trim();
            let (field, dir) = match t.rsplit_once(' ') {
                Some((f, d)) if d.eq_ignore_ascii_case("asc") => (f, true),
                Some((f, d)) if d.eq_ignore_ascii_case("desc") => (f, false),
                Some(_) => return Err(DomainError::invalid(format!("Invalid order_by '{t}'"))),
                None => (t, true),
            };
            let (entity, key) = identifier(field.trim());
            Ok(Order {
                entity,
                key,
                ascending: dir,
            })
        })
        .collect()
}

/// Sorts by `orders`, then by `fallback` (missing values last).
pub fn sort<T>(
    items: &mut [T],
    orders: &[Order],
    lookup: impl Fn(&T, Option<&str>, &str) -> Option<Value>,
    fallback: impl Fn(&T, &T) -> Ordering,
) {
    items.sort_by(|a, b| {
        for o in orders {
            let (x, y) = (
                lookup(a, o.entity.as_deref(), &o.key),
                lookup(b, o.entity.as_deref(), &o.key),
            );
            let ord = match (x, y) {
                (Some(x), Some(y)) => {
                    let ord = compare(&x, &y).unwrap_or(Ordering::Equal);
                    if o.ascending {
                        ord
                    } else {
                        ord.reverse()
                    }
                }
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            };
            if ord.is_ne() {
                return ord;
            }
        }
        fallback(a, b)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(entity: Option<&str>, key: &str) -> Option<Value> {
        match (entity, key) {
            (Some("metrics"), "rmse") => Some(Value::Num(0.5)),
            (Some("params"), "alpha") => Some(Value::Str("0.1".into())),
            (Some("tags"), "mlflow.user") => Some(Value::Str("Ann".into())),
            (None, "name") => Some(Value::Str("sales-model".into())),
            _ => None,
        }
    }

    #[test]
    fn filters_parse_and_match() {
        let yes = [
            "metrics.rmse < 1",
            "metrics.rmse <= 0.5 and params.alpha = '0.1'",
            "tags.`mlflow.user` ILIKE 'a%'",
            "tags.\"mlflow.user\" LIKE 'A_n'",
            "name = 'sales-model'",
            "name IN ('x', 'sales-model')",
            "params.missing != 'x'",
            "",
        ];
        for f in yes {
            assert!(Filter::parse(f).unwrap().matches(run), "{f}");
        }
        let no = [
            "metrics.rmse > 1",
            "name LIKE 'x%'",
            "params.missing = 'x'",
            "name NOT IN ('sales-model')",
        ];
        for f in no {
            assert!(!Filter::parse(f).unwrap().matches(run), "{f}");
        }
        for f in ["metrics.rmse", "name = unquoted", "name IN 'x'"] {
            assert!(Filter::parse(f).is_err(), "{f}");
        }
    }

    #[test]
    fn order_terms_parse() {
        let o = parse_order(&["metrics.rmse DESC".into(), "name".into()]).unwrap();
        assert_eq!(o[0].entity.as_deref(), Some("metrics"));
        assert!(!o[0].ascending && o[1].ascending);
        assert!(parse_order(&["a sideways".into()]).is_err());
    }
}
