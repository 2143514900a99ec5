//! A label for a customer from an optional name and an optional score: a null-aware UDF. Its
//! arguments are `Option`s, so it is called for rows with nulls too (a plain argument would make
//! the row null without a call), and it returns null itself when it has nothing to say.
//!
//! ```sql
//! CREATE FUNCTION main.default.customer_label(name STRING, score BIGINT) RETURNS STRING
//!   LANGUAGE WASM AS '/path/to/null_aware.wasm' HANDLER 'customer_label';
//! ```

lakeplane_udf::udf! {
    pub fn customer_label(name: Option<&str>, score: Option<i64>) -> Option<String> {
        let tier = score.map(|s| match s {
            s if s >= 900 => "gold",
            s if s >= 500 => "silver",
            _ => "bronze",
        });
        match (name, tier) {
            (Some(n), Some(t)) => Some(format!("{} ({})", n, t)),
            (Some(n), None) => Some(format!("{} (unscored)", n)),
            (None, Some(t)) => Some(format!("anonymous ({})", t)),
            (None, None) => None,
        }
    }
}
