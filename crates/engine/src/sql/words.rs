//! Small parsing helpers over the SQL parser's token stream: Databricks words that are not all
//! keywords of the parser, property lists, and rewinding after a look-ahead.

use deltalake::datafusion::sql::sqlparser::ast::Value;
use deltalake::datafusion::sql::sqlparser::parser::{Parser, ParserError};
use deltalake::datafusion::sql::sqlparser::tokenizer::Token;

use super::ast::Properties;

pub(super) type PResult<T> = Result<T, ParserError>;

/// Whether `t` is the unquoted word `w` (any case).
pub(super) fn is_word(t: &Token, w: &str) -> bool {
    matches!(t, Token::Word(x) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w))
}

/// Whether the `n`-th next token is the word `w`.
pub(super) fn peek_is(p: &Parser, n: usize, w: &str) -> bool {
    is_word(&p.peek_nth_token(n).token, w)
}

/// Consumes the word `w` if it comes next.
pub(super) fn eat(p: &mut Parser, w: &str) -> bool {
    if peek_is(p, 0, w) {
        p.next_token();
        true
    } else {
        false
    }
}

/// Consumes the words `ws` if they all come next, else nothing.
pub(super) fn eat_all(p: &mut Parser, ws: &[&str]) -> bool {
    if ws.iter().enumerate().all(|(i, w)| peek_is(p, i, w)) {
        for _ in ws {
            p.next_token();
        }
        true
    } else {
        false
    }
}

/// Consumes the word `w` or fails saying it was expected.
pub(super) fn expect(p: &mut Parser, w: &str) -> PResult<()> {
    if eat(p, w) {
        Ok(())
    } else {
        p.expected(w, p.peek_token())
    }
}

/// Goes back to token `index` (after a look-ahead that did not match). Stepping back skips
/// whitespace, so it may pass `index` by one token (when whitespace sat at `index`); that token is
/// then read again.
pub(super) fn rewind(p: &mut Parser, index: usize) {
    while p.index() > index {
        p.prev_token();
    }
    if p.index() < index {
        p.next_token();
    }
}

/// `[COMMENT] 'text'` after `COMMENT` was seen.
pub(super) fn comment(p: &mut Parser) -> PResult<Option<String>> {
    Ok(Some(p.parse_literal_string()?))
}

/// A property key: a string literal or a dotted name.
fn property_key(p: &mut Parser) -> PResult<String> {
    if let Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) = p.peek_token().token {
        p.next_token();
        return Ok(s);
    }
    let mut parts = vec![p.parse_identifier()?.value];
    while p.consume_token(&Token::Period) {
        parts.push(p.parse_identifier()?.value);
    }
    Ok(parts.join("."))
}

/// A property value: a string, number or boolean literal, as text.
fn property_value(p: &mut Parser) -> PResult<String> {
    let v = p.parse_value()?;
    Ok(match v.value {
        Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s,
        Value::Number(n, _) => n.to_string(),
        Value::Boolean(b) => b.to_string(),
        other => other.to_string(),
    })
}

/// `( key [=] value, … )`.
pub(super) fn properties(p: &mut Parser) -> PResult<Properties> {
    p.expect_token(&Token::LParen)?;
    let mut out = Vec::new();
    if p.consume_token(&Token::RParen) {
        return Ok(out);
    }
    loop {
        let key = property_key(p)?;
        let _ = p.consume_token(&Token::Eq);
        out.push((key, property_value(p)?));
        if !p.consume_token(&Token::Comma) {
            break;
        }
    }
    p.expect_token(&Token::RParen)?;
    Ok(out)
}

/// `( key, … )` (for UNSET TBLPROPERTIES).
pub(super) fn property_keys(p: &mut Parser) -> PResult<Vec<String>> {
    p.expect_token(&Token::LParen)?;
    let keys = p.parse_comma_separated(property_key)?;
    p.expect_token(&Token::RParen)?;
    Ok(keys)
}

/// `[LIKE] 'pattern'`, if present.
pub(super) fn like(p: &mut Parser) -> PResult<Option<String>> {
    let had_like = eat(p, "LIKE");
    match p.peek_token().token {
        Token::SingleQuotedString(_) => Ok(Some(p.parse_literal_string()?)),
        _ if had_like => p.expected("a pattern", p.peek_token()),
        _ => Ok(None),
    }
}
