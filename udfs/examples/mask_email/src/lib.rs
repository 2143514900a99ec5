//! Masks an e-mail address for analysts who may see the domain but not the person: a string UDF.
//! `Jane.Doe@Example.com` becomes `j*******@example.com`; a value that is not an address becomes
//! an error naming the row, so bad data does not pass silently.
//!
//! ```sql
//! CREATE FUNCTION main.default.mask_email(email STRING) RETURNS STRING
//!   LANGUAGE WASM AS '/path/to/mask_email.wasm';
//! ```

lakeplane_udf::udf! {
    pub fn mask_email(email: &str) -> Result<String, String> {
        let email = email.trim();
        let (user, domain) = match email.rsplit_once('@') {
            Some((u, d)) if !u.is_empty() && d.contains('.') => (u, d),
            _ => return Err(format!("'{}' is not an e-mail address", email)),
        };
        let mut out = String::with_capacity(email.len());
        let mut chars = user.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_lowercase());
        }
        out.extend(chars.map(|_| '*'));
        out.push('@');
        out.push_str(&domain.to_lowercase());
        Ok(out)
    }
}
