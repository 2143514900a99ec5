//! API tokens: stored as SHA-256 hashes, each naming the principal it authenticates.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::doc::{retry, Documents, Record};
use crate::error::{ControlError, ControlResult};

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub user_name: String,
}

/// A stored token: its hash and its principal. The token itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    #[serde(default)]
    pub token_hash: String,
    #[serde(flatten)]
    pub principal: Principal,
}

impl Token {
    fn new(token_hash: String, user_name: &str) -> Token {
        Token {
            token_hash,
            principal: Principal {
                user_name: user_name.to_string(),
            },
        }
    }
}

/// SHA-256 of a token, hex.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The tokens area.
#[derive(Debug, Clone)]
pub struct Tokens {
    docs: Documents,
}

impl Tokens {
    pub(crate) fn new(docs: Documents) -> Tokens {
        Tokens { docs }
    }

    /// Stores `token` for `user_name`, replacing whatever principal it named before.
    pub async fn add(&self, token: &str, user_name: &str) -> ControlResult<()> {
        let record = Token::new(hash_token(token), user_name);
        let id = record.token_hash.clone();
        retry(Token::KIND, "(hidden)", |_| async {
            match self.docs.create(&record).await {
                Err(ControlError::AlreadyExists { .. }) => {
                    let current = self.docs.get::<Token>(&id).await?;
                    self.docs
                        .replace(&record, current.version)
                        .await
                        .map(|_| ())
                }
                other => other,
            }
        })
        .await
    }

    /// Makes sure the token whose SHA-256 hash (hex) is `hash` authenticates `user_name`: how a
    /// deployment receives its first admin token without the token itself ever being stored or
    /// passed in clear (a SAM parameter holds the hash). Leaves an existing entry as it is.
    pub async fn ensure_hashed(&self, hash: &str, user_name: &str) -> ControlResult<()> {
        let hash = hash.trim().to_ascii_lowercase();
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ControlError::InvalidParameter(
                "a token hash is 64 hexadecimal characters (sha256sum of the token)".into(),
            ));
        }
        let record = Token::new(hash, user_name);
        match self.docs.create(&record).await {
            Ok(()) | Err(ControlError::AlreadyExists { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The principal a token belongs to, or `None` for an unknown token.
    pub async fn authenticate(&self, token: &str) -> ControlResult<Option<Principal>> {
        Ok(self
            .docs
            .find::<Token>(&hash_token(token))
            .await?
            .map(|t| t.principal))
    }
}
