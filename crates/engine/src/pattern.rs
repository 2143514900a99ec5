//! Name patterns: globs (`*` any run of characters, `?` one character) for COPY INTO's `PATTERN`,
//! and Databricks' `LIKE` patterns of SHOW (`*` and `|` between alternatives, any case).

/// Whether `name` matches the glob `pattern`.
pub(crate) fn glob(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    go(
        &pattern.chars().collect::<Vec<_>>(),
        &name.chars().collect::<Vec<_>>(),
    )
}

/// Whether `name` matches a SHOW … LIKE pattern: alternatives split by `|`, any case.
pub(crate) fn like(pattern: &str, name: &str) -> bool {
    let name = name.to_lowercase();
    pattern
        .to_lowercase()
        .split('|')
        .any(|alt| glob(alt.trim(), &name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_likes_match() {
        assert!(glob("*.csv", "a.csv"));
        assert!(glob("day=*/part-?.csv", "day=1/part-3.csv"));
        assert!(!glob("*.csv", "a.json"));
        assert!(!glob("a?", "a"));
        assert!(like("M*|sales", "main"));
        assert!(like("M*|sales", "Sales"));
        assert!(!like("m*", "default"));
    }
}
