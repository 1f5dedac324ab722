//! Users and API tokens. Tokens are kept as SHA-256 digests only; the secret is shown once by
//! the caller and never reaches the store. Every change is audited in its own transaction.

use super::kv::Transactional;
use super::kv::TransactionalTree;
use jiff::Timestamp;

use super::audit::{append, AuditDraft};
use super::records::{abort, decode_tx};
use super::{codec, keys, next_id, tx_error, Store, StoreError, TxResult};
use crate::access::{ApiToken, Role, Scope, TokenId, User, UserId};

const META_NEXT_USER_ID: &[u8] = b"next_user_id";
const META_NEXT_TOKEN_ID: &[u8] = b"next_token_id";

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub name: String,
    pub role: Role,
    pub scope: Scope,
    pub senior: bool,
    pub employee_id: Option<String>,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub role: Option<Role>,
    pub scope: Option<Scope>,
    pub senior: Option<bool>,
    pub active: Option<bool>,
}

/// User names: short, lowercase, safe in logs and URLs.
pub fn check_user_name(name: &str) -> Result<String, String> {
    let name = name.trim().to_lowercase();
    if name.is_empty() || name.len() > 64 {
        return Err("a user name needs 1 to 64 characters".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(format!(
            "user name '{name}' may hold only letters, digits, '-', '_' and '.'"
        ));
    }
    Ok(name)
}

fn user_in_tx(users: &TransactionalTree, id: UserId) -> TxResult<User> {
    let key = keys::u64_key(id.0);
    match users.get(key)? {
        Some(bytes) => decode_tx("users", &key, &bytes),
        None => abort(StoreError::NotFound {
            what: "user",
            id: id.to_string(),
        }),
    }
}

const META_PSEUDONYM_KEY: &[u8] = b"pseudonym_key";

impl Store {
    /// The key of the NIP pseudonyms shown to auditors, made on first use. It lives in the
    /// store so pseudonyms stay stable across restarts and restores.
    pub fn pseudonym_key(&self) -> Result<Vec<u8>, StoreError> {
        let meta = &self.trees.meta;
        if let Some(key) = meta
            .get(META_PSEUDONYM_KEY)
            .map_err(StoreError::backend("reading the pseudonym key"))?
        {
            return Ok(key.to_vec());
        }
        let mut fresh = [0u8; 32];
        getrandom::getrandom(&mut fresh).map_err(|error| StoreError::Invalid {
            what: "pseudonym key",
            reason: format!("no randomness available: {error}"),
        })?;
        let _gate = self.read_gate();
        // Two processes racing here both keep the first key written.
        meta.insert_if_absent(META_PSEUDONYM_KEY, fresh)
            .map_err(StoreError::backend("saving the pseudonym key"))?;
        self.flush()?;
        let key = meta
            .get(META_PSEUDONYM_KEY)
            .map_err(StoreError::backend("reading the pseudonym key"))?
            .map(|k| k.to_vec())
            .unwrap_or_else(|| fresh.to_vec());
        Ok(key)
    }

    /// Creates a user; the name must be new.
    pub fn add_user(&self, new: NewUser, actor: &str, now: Timestamp) -> Result<User, StoreError> {
        let name = check_user_name(&new.name).map_err(|reason| StoreError::Invalid {
            what: "user name",
            reason,
        })?;
        let trees = &self.trees;
        let _gate = self.read_gate();
        let user = (&trees.meta, &trees.audit, &trees.users, &trees.user_by_name)
            .transaction(|(meta, audit, users, by_name)| {
                if by_name.get(name.as_bytes())?.is_some() {
                    return abort(StoreError::AlreadyExists {
                        what: "user",
                        id: name.clone(),
                    });
                }
                let user = User {
                    id: UserId(next_id(meta, META_NEXT_USER_ID)?),
                    name: name.clone(),
                    role: new.role,
                    scope: new.scope.clone(),
                    senior: new.senior,
                    employee_id: new.employee_id.clone(),
                    active: true,
                    created_at: now,
                };
                let key = keys::u64_key(user.id.0);
                users.insert(key, codec::encode(&user))?;
                by_name.insert(name.as_bytes(), &key)?;
                let draft = AuditDraft::new(actor, "user.add", format!("user:{}", user.id))
                    .change(None::<&User>, Some(&user))
                    .detail(format!(
                        "{} sebagai {} untuk unit {}",
                        user.name, user.role, user.scope
                    ));
                append(meta, audit, &draft, now)?;
                Ok(user)
            })
            .map_err(tx_error("adding a user"))?;
        self.flush()?;
        Ok(user)
    }

    /// Changes a user's role, scope, seniority or active flag; takes effect on the next request.
    pub fn change_user(
        &self,
        id: UserId,
        change: &UserChange,
        actor: &str,
        now: Timestamp,
    ) -> Result<User, StoreError> {
        let trees = &self.trees;
        let _gate = self.read_gate();
        let user = (&trees.meta, &trees.audit, &trees.users)
            .transaction(|(meta, audit, users)| {
                let before = user_in_tx(users, id)?;
                let mut after = before.clone();
                if let Some(role) = change.role {
                    after.role = role;
                }
                if let Some(scope) = &change.scope {
                    after.scope = scope.clone();
                }
                if let Some(senior) = change.senior {
                    after.senior = senior;
                }
                if let Some(active) = change.active {
                    after.active = active;
                }
                users.insert(keys::u64_key(id.0), codec::encode(&after))?;
                let draft = AuditDraft::new(actor, "user.change", format!("user:{id}"))
                    .change(Some(&before), Some(&after));
                append(meta, audit, &draft, now)?;
                Ok(after)
            })
            .map_err(tx_error("changing a user"))?;
        self.flush()?;
        Ok(user)
    }

    pub fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.get_record("users", &self.trees.users, &keys::u64_key(id.0))
    }

    pub fn user_by_name(&self, name: &str) -> Result<Option<User>, StoreError> {
        let name = name.trim().to_lowercase();
        let Some(key) = self
            .trees
            .user_by_name
            .get(name.as_bytes())
            .map_err(StoreError::backend("looking up a user by name"))?
        else {
            return Ok(None);
        };
        self.get_record("users", &self.trees.users, &key)
    }

    pub fn users(&self) -> Result<Vec<User>, StoreError> {
        self.all_records("users", &self.trees.users)
    }

    /// Records a new token for a user. `sha256` is the digest of the secret the caller shows once.
    pub fn add_token(
        &self,
        user_id: UserId,
        sha256: &str,
        actor: &str,
        now: Timestamp,
    ) -> Result<ApiToken, StoreError> {
        let digest = token_key(sha256)?;
        let trees = &self.trees;
        let _gate = self.read_gate();
        let token = (
            &trees.meta,
            &trees.audit,
            &trees.users,
            &trees.tokens,
            &trees.token_by_hash,
        )
            .transaction(|(meta, audit, users, tokens, by_hash)| {
                let user = user_in_tx(users, user_id)?;
                let token = ApiToken {
                    id: TokenId(next_id(meta, META_NEXT_TOKEN_ID)?),
                    user_id,
                    sha256: sha256.to_lowercase(),
                    created_at: now,
                    revoked_at: None,
                };
                let key = keys::u64_key(token.id.0);
                tokens.insert(key, codec::encode(&token))?;
                by_hash.insert(digest, &key)?;
                let draft = AuditDraft::new(actor, "token.create", format!("token:{}", token.id))
                    .detail(format!("untuk pengguna {}", user.name));
                append(meta, audit, &draft, now)?;
                Ok(token)
            })
            .map_err(tx_error("creating a token"))?;
        self.flush()?;
        Ok(token)
    }

    /// Revokes a token; the next request with it is refused.
    pub fn revoke_token(
        &self,
        id: TokenId,
        actor: &str,
        now: Timestamp,
    ) -> Result<ApiToken, StoreError> {
        let trees = &self.trees;
        let _gate = self.read_gate();
        let token = (&trees.meta, &trees.audit, &trees.tokens)
            .transaction(|(meta, audit, tokens)| {
                let key = keys::u64_key(id.0);
                let Some(bytes) = tokens.get(key)? else {
                    return abort(StoreError::NotFound {
                        what: "token",
                        id: id.to_string(),
                    });
                };
                let mut token: ApiToken = decode_tx("tokens", &key, &bytes)?;
                if token.revoked_at.is_none() {
                    token.revoked_at = Some(now);
                    tokens.insert(key, codec::encode(&token))?;
                    let draft = AuditDraft::new(actor, "token.revoke", format!("token:{id}"));
                    append(meta, audit, &draft, now)?;
                }
                Ok(token)
            })
            .map_err(tx_error("revoking a token"))?;
        self.flush()?;
        Ok(token)
    }

    pub fn token(&self, id: TokenId) -> Result<Option<ApiToken>, StoreError> {
        self.get_record("tokens", &self.trees.tokens, &keys::u64_key(id.0))
    }

    pub fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        self.all_records("tokens", &self.trees.tokens)
    }

    /// The live token with this digest and its active user, or `None` (unknown, revoked, or
    /// the user is disabled): every request checks, so revocation is immediate.
    pub fn authenticate(&self, sha256: &str) -> Result<Option<(ApiToken, User)>, StoreError> {
        let Ok(digest) = token_key(sha256) else {
            return Ok(None);
        };
        let Some(key) = self
            .trees
            .token_by_hash
            .get(digest)
            .map_err(StoreError::backend("looking up a token"))?
        else {
            return Ok(None);
        };
        let Some(token) = self.get_record::<ApiToken>("tokens", &self.trees.tokens, &key)? else {
            return Ok(None);
        };
        if token.revoked_at.is_some() {
            return Ok(None);
        }
        match self.user(token.user_id)? {
            Some(user) if user.active => Ok(Some((token, user))),
            _ => Ok(None),
        }
    }
}

fn token_key(sha256: &str) -> Result<[u8; 32], StoreError> {
    let bytes = hex::decode(sha256.trim()).map_err(|_| StoreError::Invalid {
        what: "token digest",
        reason: "not hex".into(),
    })?;
    bytes.try_into().map_err(|_| StoreError::Invalid {
        what: "token digest",
        reason: "not 32 bytes".into(),
    })
}
