//! API tokens: stored as SHA-256 hashes, each naming the principal it authenticates.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::doc::{retry, Documents, PageRequest, Record};
use crate::error::{ControlError, ControlResult};
use crate::layout::tokens_of;
use crate::time::now_ms;

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
    /// The id the token API lists and deletes it by (tokens made by the API have one).
    #[serde(default)]
    pub token_id: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub created_at: i64,
    /// Epoch milliseconds after which it no longer authenticates; `None` never expires.
    #[serde(default)]
    pub expires_at: Option<i64>,
}

impl Token {
    fn new(token_hash: String, user_name: &str) -> Token {
        Token {
            token_hash,
            principal: Principal {
                user_name: user_name.to_string(),
            },
            token_id: None,
            comment: None,
            created_at: now_ms(),
            expires_at: None,
        }
    }
}

/// The longest comment kept on a token, in bytes.
pub const MAX_TOKEN_COMMENT_BYTES: usize = 1024;
/// How many tokens one principal may hold.
pub const MAX_TOKENS_PER_PRINCIPAL: usize = 600;

/// A new token's value and what is kept of it.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub value: String,
    pub info: Token,
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

    /// The principal a token belongs to, or `None` for an unknown or expired token.
    pub async fn authenticate(&self, token: &str) -> ControlResult<Option<Principal>> {
        let now = now_ms();
        Ok(self
            .docs
            .find::<Token>(&hash_token(token))
            .await?
            .filter(|t| t.expires_at.is_none_or(|e| e > now))
            .map(|t| t.principal))
    }

    /// A new token for `user_name` (`dapi…`, as Databricks' personal access tokens look), valid for
    /// `lifetime_seconds` (forever when `None` or 0).
    pub async fn create(
        &self,
        user_name: &str,
        lifetime_seconds: Option<u64>,
        comment: Option<String>,
    ) -> ControlResult<NewToken> {
        if comment
            .as_ref()
            .is_some_and(|c| c.len() > MAX_TOKEN_COMMENT_BYTES)
        {
            return Err(ControlError::InvalidParameter(format!(
                "a token comment is at most {MAX_TOKEN_COMMENT_BYTES} bytes"
            )));
        }
        if self.list(user_name).await?.len() >= MAX_TOKENS_PER_PRINCIPAL {
            return Err(ControlError::InvalidParameter(format!(
                "a principal holds at most {MAX_TOKENS_PER_PRINCIPAL} tokens; delete some first"
            )));
        }
        let value = format!(
            "dapi{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let mut info = Token::new(hash_token(&value), user_name);
        info.token_id = Some(hex::encode(&Sha256::digest(value.as_bytes())[..16]));
        info.comment = comment;
        info.expires_at = lifetime_seconds.filter(|s| *s > 0).map(|s| {
            info.created_at
                .saturating_add((s.min(100 * 365 * 86_400) * 1000) as i64)
        });
        self.docs.create(&info).await?;
        Ok(NewToken { value, info })
    }

    /// The tokens of `user_name` made by the token API.
    pub async fn list(&self, user_name: &str) -> ControlResult<Vec<Token>> {
        let mut out = Vec::new();
        let mut page = PageRequest {
            limit: 1000,
            ..PageRequest::default()
        };
        loop {
            let listed = self
                .docs
                .list::<Token>(
                    lakeplane_store::Index::Parent,
                    &tokens_of(user_name),
                    &page,
                    |_| true,
                )
                .await?;
            out.extend(listed.items);
            match listed.next_page_token {
                Some(t) => page.page_token = Some(t),
                None => return Ok(out),
            }
        }
    }

    /// Deletes a token of `user_name` by its id. Errors: `NotFound` (also for another's token).
    pub async fn delete(&self, user_name: &str, token_id: &str) -> ControlResult<()> {
        let found = self
            .list(user_name)
            .await?
            .into_iter()
            .find(|t| t.token_id.as_deref() == Some(token_id))
            .ok_or_else(|| ControlError::NotFound {
                kind: "Token",
                name: token_id.to_string(),
            })?;
        self.docs.delete::<Token>(&found.token_hash).await
    }
}
