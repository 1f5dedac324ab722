//! Who may do what: users, roles, unit scopes, API tokens, and the one policy function every
//! API handler asks.
//!
//! The policy is deny-by-default and pure: [`authorize`] sees the subject, the action and the
//! unit of the resource *as stored*, never as the request claims it. Out-of-scope and missing
//! resources look the same to the caller (the HTTP layer answers 404 for both), so a reviewer
//! learns nothing about another unit's findings by guessing ids.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{UnitPath, UnknownVariant};

/// Prefix of every API token, so secret scanners recognise a leaked one.
pub const TOKEN_PREFIX: &str = "asnt_";

/// What a user is for. Each role's powers are listed in [`authorize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Users, tokens, watched accounts, alert endpoints; everything in its scope.
    Admin,
    /// Registers employees and their accounts.
    Registrar,
    /// Works the review queue (Tim Pengawas Internal).
    Reviewer,
    /// Reads findings (pseudonymised) and the audit log; changes nothing.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Registrar, Role::Reviewer, Role::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Registrar => "registrar",
            Role::Reviewer => "reviewer",
            Role::Auditor => "auditor",
        }
    }
}

impl FromStr for Role {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s.trim())
            .ok_or_else(|| UnknownVariant {
                what: "role",
                given: s.to_string(),
                expected: "admin, registrar, reviewer, auditor",
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The part of the organisation a user acts on: everything, or one unit and all below it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Scope {
    All,
    Unit(UnitPath),
}

impl Scope {
    /// `/` (or `*`) is the whole agency; anything else is a unit path.
    pub fn parse(raw: &str) -> Result<Scope, String> {
        match raw.trim() {
            "/" | "*" => Ok(Scope::All),
            other => UnitPath::parse(other)
                .map(Scope::Unit)
                .map_err(|error| error.to_string()),
        }
    }

    /// True when a resource of `unit` lies in this scope. A resource with no unit (an activity
    /// of nobody registered) is visible to agency-wide users only.
    pub fn covers(&self, unit: Option<&UnitPath>) -> bool {
        match (self, unit) {
            (Scope::All, _) => true,
            (Scope::Unit(scope), Some(unit)) => unit.is_within(scope),
            (Scope::Unit(_), None) => false,
        }
    }

    /// True when every unit of `other` is also in `self` (an admin may only hand out what it has).
    pub fn contains_scope(&self, other: &Scope) -> bool {
        match (self, other) {
            (Scope::All, _) => true,
            (Scope::Unit(_), Scope::All) => false,
            (Scope::Unit(mine), Scope::Unit(theirs)) => theirs.is_within(mine),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::All => f.write_str("/"),
            Scope::Unit(unit) => f.write_str(unit.as_str()),
        }
    }
}

impl From<Scope> for String {
    fn from(scope: Scope) -> String {
        scope.to_string()
    }
}

impl TryFrom<String> for Scope {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Scope::parse(&value)
    }
}

/// Store-assigned number of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub u64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A person (or a service) that uses the API or the web page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    /// Login name, unique, lowercase.
    pub name: String,
    pub role: Role,
    pub scope: Scope,
    /// A senior reviewer may reopen decided findings.
    #[serde(default)]
    pub senior: bool,
    /// The user's own NIP, if they are an employee: they never see or review their own findings.
    #[serde(default)]
    pub employee_id: Option<String>,
    /// Disabled users are refused at once, sessions and tokens alike.
    pub active: bool,
    pub created_at: Timestamp,
}

impl User {
    /// The actor string written to the audit log.
    pub fn actor(&self) -> String {
        format!("user:{}:{}", self.id, self.name)
    }
}

/// Store-assigned number of an API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenId(pub u64);

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An API token as stored: only the SHA-256 of the secret, never the secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: TokenId,
    pub user_id: UserId,
    /// Hex SHA-256 of the whole token string.
    pub sha256: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// A new token's secret: 256 random bits, hex, behind [`TOKEN_PREFIX`]. Shown once.
pub fn new_token_secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)?;
    Ok(format!("{TOKEN_PREFIX}{}", hex::encode(bytes)))
}

/// What is stored of a token and what a presented token is looked up by.
pub fn token_digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Something a subject asks to do. Each maps to the roles allowed in [`authorize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// List and read findings and cases (summaries).
    ReadFindings,
    /// Read a finding's evidence: raw payloads, original text. Audited.
    ReadEvidence,
    /// Claim, release and decide findings.
    Review,
    /// Reopen a decided finding.
    Reopen,
    /// Read employees, accounts and their scan state.
    ReadRegistry,
    /// Register, import, deactivate employees and accounts.
    WriteRegistry,
    /// Read watched (candidate/party) accounts.
    ReadWatched,
    /// Register watched accounts.
    WriteWatched,
    /// Users and tokens.
    ManageUsers,
    /// The audit log.
    ReadAudit,
    /// Run the detector on a text.
    Check,
    /// Alert endpoints and dead deliveries.
    ManageAlerts,
}

/// The result of asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// The role never may: 403.
    Forbidden,
    /// The role may, but not on this resource (other unit, or the subject's own findings):
    /// answered exactly like a missing resource.
    Hidden,
}

/// The resource an action is about, as the store holds it.
#[derive(Debug, Clone, Copy)]
pub struct Resource<'a> {
    pub unit: Option<&'a UnitPath>,
    /// The employee a finding or account belongs to, for the own-account rule.
    pub employee_id: Option<&'a str>,
}

impl Resource<'_> {
    /// A collection or a capability not tied to one unit (lists filter by scope themselves).
    pub const NONE: Resource<'static> = Resource {
        unit: None,
        employee_id: None,
    };
}

/// Whether a role may do an action at all.
pub fn role_allows(role: Role, action: Action) -> bool {
    use Action::*;
    match role {
        Role::Admin => true,
        Role::Registrar => matches!(action, ReadRegistry | WriteRegistry | ReadWatched | Check),
        Role::Reviewer => matches!(
            action,
            ReadFindings | ReadEvidence | Review | Reopen | ReadRegistry | ReadWatched | Check
        ),
        Role::Auditor => matches!(
            action,
            ReadFindings | ReadRegistry | ReadWatched | ReadAudit | Check
        ),
    }
}

/// The one policy function. `resource` is `None` for collection-level actions (the list then
/// filters by [`Scope::covers`] itself).
pub fn authorize(user: &User, action: Action, resource: Option<Resource<'_>>) -> Decision {
    if !user.active || !role_allows(user.role, action) {
        return Decision::Forbidden;
    }
    if action == Action::Reopen && user.role == Role::Reviewer && !user.senior {
        return Decision::Forbidden;
    }
    let Some(resource) = resource else {
        return Decision::Allow;
    };
    if (resource.unit.is_some() || matches!(user.scope, Scope::Unit(_)))
        && !user.scope.covers(resource.unit)
    {
        return Decision::Hidden;
    }
    let own = matches!(
        (&user.employee_id, resource.employee_id),
        (Some(mine), Some(theirs)) if mine == theirs
    );
    let about_findings = matches!(
        action,
        Action::ReadFindings | Action::ReadEvidence | Action::Review | Action::Reopen
    );
    if own && about_findings {
        return Decision::Hidden;
    }
    Decision::Allow
}

/// Whether a user sees a finding of `employee_id` in `unit` in lists.
pub fn sees_finding(user: &User, unit: Option<&UnitPath>, employee_id: &str) -> bool {
    authorize(
        user,
        Action::ReadFindings,
        Some(Resource {
            unit,
            employee_id: Some(employee_id),
        }),
    ) == Decision::Allow
}

/// A stable pseudonym for a NIP, for auditors: keyed, so nobody without the store's key can
/// test a guessed NIP against it.
pub fn pseudonym(key: &[u8], employee_id: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(key);
    hasher.update([0u8]);
    hasher.update(employee_id.as_bytes());
    format!("p-{}", &hex::encode(hasher.finalize())[..12])
}

/// A name shown to auditors: the first letter of each word.
pub fn mask_name(name: &str) -> String {
    name.split_whitespace()
        .map(|word| {
            let first: String = word.chars().take(1).collect();
            format!("{first}***")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role, scope: &str) -> User {
        User {
            id: UserId(1),
            name: "u".into(),
            role,
            scope: Scope::parse(scope).unwrap(),
            senior: false,
            employee_id: Some("199001012015011001".into()),
            active: true,
            created_at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn scope_is_a_subtree_not_a_string_prefix() {
        let scope = Scope::parse("kemenkeu").unwrap();
        assert!(scope.covers(Some(&UnitPath::parse("kemenkeu/djp").unwrap())));
        assert!(!scope.covers(Some(&UnitPath::parse("kemenkeu-x").unwrap())));
        assert!(!scope.covers(None));
        assert!(Scope::All.covers(None));
    }

    #[test]
    fn own_findings_are_hidden_even_from_admins() {
        let admin = user(Role::Admin, "/");
        let own = Resource {
            unit: None,
            employee_id: Some("199001012015011001"),
        };
        assert_eq!(
            authorize(&admin, Action::Review, Some(own)),
            Decision::Hidden
        );
        assert_eq!(
            authorize(&admin, Action::WriteRegistry, Some(own)),
            Decision::Allow
        );
    }

    #[test]
    fn reopening_needs_a_senior_reviewer() {
        let mut reviewer = user(Role::Reviewer, "a");
        assert_eq!(
            authorize(&reviewer, Action::Reopen, None),
            Decision::Forbidden
        );
        reviewer.senior = true;
        assert_eq!(authorize(&reviewer, Action::Reopen, None), Decision::Allow);
    }

    #[test]
    fn disabled_users_may_do_nothing() {
        let mut admin = user(Role::Admin, "/");
        admin.active = false;
        assert_eq!(authorize(&admin, Action::Check, None), Decision::Forbidden);
    }

    #[test]
    fn tokens_are_long_random_and_stored_as_digests() {
        let a = new_token_secret().unwrap();
        let b = new_token_secret().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 64);
        assert_eq!(token_digest(&a).len(), 64);
        assert_ne!(token_digest(&a), token_digest(&b));
    }
}
