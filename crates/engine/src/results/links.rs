//! Signed, expiring links to locally served result chunks: HMAC-SHA256 over the statement, the
//! chunk and the expiry, with a key that never leaves the API process.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Signs and checks served links.
#[derive(Clone)]
pub struct LinkSigner {
    key: [u8; 32],
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkSigner(..)")
    }
}

impl LinkSigner {
    /// A signer with a fresh random key.
    pub fn random() -> LinkSigner {
        let mut key = [0u8; 32];
        key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        LinkSigner { key }
    }

    fn mac(&self, statement: &str, chunk: u64, expires_at: i64) -> Hmac<Sha256> {
        // A 32-byte key is always accepted.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
        mac.update(format!("{statement}/{chunk}/{expires_at}").as_bytes());
        mac
    }

    /// The signature of a link, hex.
    pub fn sign(&self, statement: &str, chunk: u64, expires_at: i64) -> String {
        hex::encode(
            self.mac(statement, chunk, expires_at)
                .finalize()
                .into_bytes(),
        )
    }

    /// Whether `signature` is this signer's for the link and it has not expired at `now`.
    pub fn verify(
        &self,
        statement: &str,
        chunk: u64,
        expires_at: i64,
        signature: &str,
        now: i64,
    ) -> bool {
        let Ok(bytes) = hex::decode(signature) else {
            return false;
        };
        now <= expires_at
            && self
                .mac(statement, chunk, expires_at)
                .verify_slice(&bytes)
                .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_every_part_and_expire() {
        let s = LinkSigner::random();
        let sig = s.sign("st", 3, 1000);
        assert!(s.verify("st", 3, 1000, &sig, 999));
        assert!(!s.verify("st", 3, 1000, &sig, 1001), "expired");
        assert!(!s.verify("st", 4, 1000, &sig, 0), "another chunk");
        assert!(!s.verify("su", 3, 1000, &sig, 0), "another statement");
        assert!(!s.verify("st", 3, 2000, &sig, 0), "a later expiry");
        assert!(
            !LinkSigner::random().verify("st", 3, 1000, &sig, 0),
            "another key"
        );
        assert!(!s.verify("st", 3, 1000, "zz", 0));
    }
}
