//! The domain model: the nouns every other module speaks in.
//!
//! These types carry no behaviour beyond parsing and display. They are what the store keeps,
//! what sources produce, what detection reads and writes, and what the API shows, so each is
//! `serde`-serialisable and changes to them are schema changes (see `store`'s migrations).

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// A social platform (or feed kind) an account lives on.
///
/// The `u8` code is part of storage keys: never renumber a variant, only add new ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Mastodon,
    Bluesky,
    X,
    Rss,
    /// Seen only through imported data (`import-activities`): Netra has no Facebook connector.
    Facebook,
}

impl Platform {
    pub const ALL: [Platform; 5] = [
        Platform::Mastodon,
        Platform::Bluesky,
        Platform::X,
        Platform::Rss,
        Platform::Facebook,
    ];

    /// Stable one-byte code used in storage keys.
    pub fn code(self) -> u8 {
        match self {
            Platform::Mastodon => 1,
            Platform::Bluesky => 2,
            Platform::X => 3,
            Platform::Rss => 4,
            Platform::Facebook => 5,
        }
    }

    pub fn from_code(code: u8) -> Option<Platform> {
        Platform::ALL.into_iter().find(|p| p.code() == code)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Mastodon => "mastodon",
            Platform::Bluesky => "bluesky",
            Platform::X => "x",
            Platform::Rss => "rss",
            Platform::Facebook => "facebook",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Returned when a string names no known variant; says what was given and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{given}': expected one of {expected}")]
pub struct UnknownVariant {
    pub what: &'static str,
    pub given: String,
    pub expected: &'static str,
}

impl FromStr for Platform {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Platform::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownVariant {
                what: "platform",
                given: s.to_string(),
                expected: "mastodon, bluesky, x, rss, facebook",
            })
    }
}

/// Employment status of an ASN; all three are bound by the neutrality rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmploymentStatus {
    /// Pegawai Negeri Sipil.
    Pns,
    /// Pegawai Pemerintah dengan Perjanjian Kerja.
    Pppk,
    /// Non-ASN staff; registered when an agency chooses to watch them too.
    Ppnpn,
}

impl FromStr for EmploymentStatus {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "pns" => Ok(EmploymentStatus::Pns),
            "pppk" => Ok(EmploymentStatus::Pppk),
            "ppnpn" => Ok(EmploymentStatus::Ppnpn),
            _ => Err(UnknownVariant {
                what: "employment status",
                given: s.to_string(),
                expected: "pns, pppk, ppnpn",
            }),
        }
    }
}

/// A unit path such as `kemenkumham/kanwil-sumsel/lapas-palembang`.
///
/// Scoping (a reviewer sees a subtree) is prefix matching on whole segments, so the path is
/// normalised once here: lowercase, no empty segments, no surrounding slashes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UnitPath(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitPathError {
    #[error("unit path is empty")]
    Empty,
    #[error(
        "unit path '{path}' has an invalid segment '{segment}': use a-z, 0-9, '-', '_' and '.'"
    )]
    BadSegment { path: String, segment: String },
}

impl UnitPath {
    pub fn parse(raw: &str) -> Result<UnitPath, UnitPathError> {
        let lowered = raw.trim().to_lowercase();
        let segments: Vec<&str> = lowered.split('/').filter(|s| !s.is_empty()).collect();
        if segments.is_empty() {
            return Err(UnitPathError::Empty);
        }
        for segment in &segments {
            let valid = segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !valid {
                return Err(UnitPathError::BadSegment {
                    path: raw.to_string(),
                    segment: segment.to_string(),
                });
            }
        }
        Ok(UnitPath(segments.join("/")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when `self` is `ancestor` or lies below it (whole segments, not string prefixes:
    /// `kemenkeu-x` is not inside `kemenkeu`).
    pub fn is_within(&self, ancestor: &UnitPath) -> bool {
        self.0 == ancestor.0
            || (self.0.starts_with(&ancestor.0) && self.0.as_bytes()[ancestor.0.len()] == b'/')
    }
}

impl TryFrom<String> for UnitPath {
    type Error = UnitPathError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        UnitPath::parse(&value)
    }
}

impl From<UnitPath> for String {
    fn from(value: UnitPath) -> String {
        value.0
    }
}

impl fmt::Display for UnitPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A civil servant whose public accounts are watched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Employee {
    /// NIP (18 digits) or another id from the agency's HR system; the registry's key.
    pub employee_id: String,
    pub name: String,
    pub unit: UnitPath,
    pub position: String,
    pub status: EmploymentStatus,
    /// Deactivated employees keep their history but are no longer scanned.
    pub active: bool,
    pub registered_at: Timestamp,
}

/// Store-assigned number of a registered account; stable across handle changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountId(pub u64);

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What the last scan learned about an account; shown to registrars so a broken registration
/// is fixed rather than silently never scanned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AccountState {
    /// Registered, not yet resolved on its platform.
    Pending,
    Ok,
    NotFound,
    Suspended,
    Private,
    Failing {
        last_error: String,
    },
}

/// A public account of a registered employee.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: AccountId,
    pub employee_id: String,
    pub platform: Platform,
    /// The handle as registered or last seen (`@nama@instansi.example`, `nama.bsky.social`).
    pub handle: String,
    /// The platform's permanent id (Mastodon account id, Bluesky DID, X user id) once resolved;
    /// accounts are keyed on it so a handle change does not lose history.
    pub platform_id: Option<String>,
    pub state: AccountState,
    pub active: bool,
    pub registered_at: Timestamp,
    /// Earlier handles with the time the change was noticed, oldest first.
    #[serde(default)]
    pub previous_handles: Vec<HandleChange>,
    /// The account hides whom it follows (Mastodon "hide network", a protected X account):
    /// follows cannot be watched, which registrars should know. Set by account snapshots.
    #[serde(default)]
    pub following_hidden: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandleChange {
    pub handle: String,
    pub seen_until: Timestamp,
}

/// What a watched account speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchedRole {
    Candidate,
    Party,
    CampaignTeam,
}

/// An official candidate, party or campaign-team account. Interacting with its content is a
/// finding whatever the content says (SKB 2/2022: liking or sharing candidate posts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchedAccount {
    pub id: AccountId,
    pub platform: Platform,
    pub handle: String,
    pub platform_id: Option<String>,
    /// Entity of the word lists, e.g. `pilpres2024:02` or `party:gerindra`.
    pub entity_id: String,
    pub role: WatchedRole,
    pub active: bool,
    pub registered_at: Timestamp,
}

/// The kind of a public act. Interactions carry a [`Target`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    Post,
    Reply,
    Repost,
    Quote,
    Like,
    Follow,
    Unfollow,
    ProfileChange,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 8] = [
        ActivityKind::Post,
        ActivityKind::Reply,
        ActivityKind::Repost,
        ActivityKind::Quote,
        ActivityKind::Like,
        ActivityKind::Follow,
        ActivityKind::Unfollow,
        ActivityKind::ProfileChange,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Post => "post",
            ActivityKind::Reply => "reply",
            ActivityKind::Repost => "repost",
            ActivityKind::Quote => "quote",
            ActivityKind::Like => "like",
            ActivityKind::Follow => "follow",
            ActivityKind::Unfollow => "unfollow",
            ActivityKind::ProfileChange => "profile_change",
        }
    }
}

impl FromStr for ActivityKind {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ActivityKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            // `profile` is the eval format's name for a profile snapshot.
            .or((s.trim() == "profile").then_some(ActivityKind::ProfileChange))
            .ok_or_else(|| UnknownVariant {
                what: "activity kind",
                given: s.to_string(),
                expected: "post, reply, repost, quote, like, follow, unfollow, profile_change",
            })
    }
}

impl fmt::Display for ActivityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The content an interaction acted on, kept so a reviewer sees what was liked or shared.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Target {
    /// Handle of the target's author as the platform shows it (`@prabowo`).
    pub author: String,
    /// Permanent id of the author, when the platform gives one.
    #[serde(default)]
    pub author_platform_id: Option<String>,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub url: Option<String>,
}

/// Where the raw payload an activity was derived from is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceRef {
    /// Hex SHA-256 of the raw bytes as received; also the key of the stored payload.
    pub sha256: String,
    pub url: String,
    pub fetched_at: Timestamp,
}

/// One public act of a registered account, as a source saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    pub platform: Platform,
    /// The platform's id of the act (status id, AT URI, tweet id, like record URI).
    pub platform_activity_id: String,
    pub kind: ActivityKind,
    /// The registered account that acted.
    pub account_id: AccountId,
    /// The actor's handle when the activity was seen.
    pub actor_handle: String,
    /// The actor's own words; empty for likes and plain reposts.
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub target: Option<Target>,
    #[serde(default)]
    pub url: Option<String>,
    /// When the act happened, as exactly as the platform tells (see `time_exact`).
    pub occurred_at: Timestamp,
    /// False when the platform only bounds the time (a like seen between two scans).
    pub time_exact: bool,
    pub observed_at: Timestamp,
    #[serde(default)]
    pub evidence: Option<EvidenceRef>,
}

impl Activity {
    /// What findings about this activity are deduplicated on, with the platform and the rule.
    /// For most kinds it is the activity id. A follow is an episode (`follow:…:<snapshot>`),
    /// but what a reviewer judges is the relation: following a campaign account, unfollowing
    /// and following it again is one finding, not two. So follows dedupe on
    /// `follow:<account number>:<target id>`.
    pub fn finding_subject(&self) -> std::borrow::Cow<'_, str> {
        match (self.kind, &self.target) {
            (ActivityKind::Follow, Some(target)) => {
                let followed = target
                    .author_platform_id
                    .clone()
                    .unwrap_or_else(|| target.author.trim_start_matches('@').to_lowercase());
                std::borrow::Cow::Owned(format!("follow:{}:{followed}", self.account_id))
            }
            _ => std::borrow::Cow::Borrowed(&self.platform_activity_id),
        }
    }
}

/// How much attention a finding needs; ordered so `>=` means "at least as serious".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

impl FromStr for Severity {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            _ => Err(UnknownVariant {
                what: "severity",
                given: s.to_string(),
                expected: "low, medium, high",
            }),
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The form of violation, after the annex of SKB 2/2022 as it shows on social media.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    SupportPost,
    InviteToVote,
    NegativeCampaign,
    ShareCampaign,
    SupportComment,
    LikeCandidate,
    HandSign,
    PartyAttribute,
    PhotoWithCandidate,
    FollowCampaignAccount,
    PartyMembership,
    SupportProfile,
}

impl Category {
    pub const ALL: [Category; 12] = [
        Category::SupportPost,
        Category::InviteToVote,
        Category::NegativeCampaign,
        Category::ShareCampaign,
        Category::SupportComment,
        Category::LikeCandidate,
        Category::HandSign,
        Category::PartyAttribute,
        Category::PhotoWithCandidate,
        Category::FollowCampaignAccount,
        Category::PartyMembership,
        Category::SupportProfile,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::SupportPost => "support_post",
            Category::InviteToVote => "invite_to_vote",
            Category::NegativeCampaign => "negative_campaign",
            Category::ShareCampaign => "share_campaign",
            Category::SupportComment => "support_comment",
            Category::LikeCandidate => "like_candidate",
            Category::HandSign => "hand_sign",
            Category::PartyAttribute => "party_attribute",
            Category::PhotoWithCandidate => "photo_with_candidate",
            Category::FollowCampaignAccount => "follow_campaign_account",
            Category::PartyMembership => "party_membership",
            Category::SupportProfile => "support_profile",
        }
    }

    /// The form's name as reviewers know it, in Bahasa Indonesia.
    pub fn label_id(self) -> &'static str {
        match self {
            Category::SupportPost => "unggahan dukungan",
            Category::InviteToVote => "ajakan memilih",
            Category::NegativeCampaign => "kampanye negatif",
            Category::ShareCampaign => "membagikan konten kampanye",
            Category::SupportComment => "komentar dukungan",
            Category::LikeCandidate => "menyukai konten peserta pemilu",
            Category::HandSign => "simbol tangan nomor urut",
            Category::PartyAttribute => "atribut partai",
            Category::PhotoWithCandidate => "foto bersama calon",
            Category::FollowCampaignAccount => "mengikuti akun pemenangan",
            Category::PartyMembership => "keanggotaan partai",
            Category::SupportProfile => "profil berisi dukungan",
        }
    }
}

impl FromStr for Category {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == s.trim())
            .ok_or_else(|| UnknownVariant {
                what: "category",
                given: s.to_string(),
                expected: "support_post, invite_to_vote, negative_campaign, share_campaign, \
                           support_comment, like_candidate, hand_sign, party_attribute, \
                           photo_with_candidate, follow_campaign_account, party_membership, \
                           support_profile",
            })
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a finding stands in review. History lives in the review log; this is the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    New,
    InReview,
    NeedsInfo,
    Dismissed,
    Escalated,
    Reported,
}

impl ReviewState {
    pub const ALL: [ReviewState; 6] = [
        ReviewState::New,
        ReviewState::InReview,
        ReviewState::NeedsInfo,
        ReviewState::Dismissed,
        ReviewState::Escalated,
        ReviewState::Reported,
    ];

    /// Stable one-byte code used in queue index keys: never renumber.
    pub fn code(self) -> u8 {
        match self {
            ReviewState::New => 1,
            ReviewState::InReview => 2,
            ReviewState::NeedsInfo => 3,
            ReviewState::Dismissed => 4,
            ReviewState::Escalated => 5,
            ReviewState::Reported => 6,
        }
    }

    pub fn from_code(code: u8) -> Option<ReviewState> {
        ReviewState::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::New => "new",
            ReviewState::InReview => "in_review",
            ReviewState::NeedsInfo => "needs_info",
            ReviewState::Dismissed => "dismissed",
            ReviewState::Escalated => "escalated",
            ReviewState::Reported => "reported",
        }
    }
}

impl FromStr for ReviewState {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReviewState::ALL
            .into_iter()
            .find(|state| state.as_str() == s.trim())
            .ok_or_else(|| UnknownVariant {
                what: "review state",
                given: s.to_string(),
                expected: "new, in_review, needs_info, dismissed, escalated, reported",
            })
    }
}

/// Whether a rule's findings reach reviewers. Shadow rules are evaluated and counted only, so a
/// new rule can be measured on live traffic before anyone is bothered by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleStatus {
    Active,
    Shadow,
}

/// A byte range of the text a finding was raised on, with the text itself for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// Which text the span points into: the actor's own words or the target's.
    pub field: SpanField,
    pub start: usize,
    pub end: usize,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanField {
    Text,
    TargetText,
    TargetAuthor,
}

/// What detection concluded about one activity under one rule. Pure output of `detect`: no ids,
/// no clock, so the same activity always yields the same detections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub rule_id: String,
    pub category: Category,
    pub severity: Severity,
    pub status: RuleStatus,
    /// 0.0–1.0: how sure the rule is; the review threshold applies to it.
    pub score: f32,
    pub entities: Vec<String>,
    pub spans: Vec<Span>,
    /// One line in Bahasa Indonesia a reviewer can read without knowing the rules.
    pub reason: String,
}

/// Store-assigned number of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FindingId(pub u64);

impl fmt::Display for FindingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A detection recorded against an activity of a registered account, with its review state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub id: FindingId,
    pub platform: Platform,
    pub platform_activity_id: String,
    pub account_id: AccountId,
    pub employee_id: String,
    pub detection: Detection,
    pub review_state: ReviewState,
    pub created_at: Timestamp,
    /// The employee's unit when the finding was made; scoping and filters read it here.
    #[serde(default)]
    pub unit: Option<UnitPath>,
    /// The case this finding is grouped into (one employee, one entity, one time window).
    #[serde(default)]
    pub case_id: Option<CaseId>,
    /// A reviewer's lease, while one holds it.
    #[serde(default)]
    pub claim: Option<crate::review::Claim>,
    /// When a re-check last found the flagged post still online (see `scan.recheck_interval_secs`).
    #[serde(default)]
    pub last_seen_at: Option<Timestamp>,
    /// When a re-check first found the flagged post gone (404/410, or missing from a lookup).
    /// The stored evidence is untouched; this only tells the reviewer.
    #[serde(default)]
    pub gone_at: Option<Timestamp>,
}

/// Store-assigned number of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CaseId(pub u64);

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Findings of one employee about one entity close together in time: the queue shows people,
/// not noise. A finding more than the case window after the case's last one opens a new case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub id: CaseId,
    pub employee_id: String,
    #[serde(default)]
    pub unit: Option<UnitPath>,
    /// The entity the findings are about; empty when the findings name none.
    pub entity: String,
    pub first_at: Timestamp,
    pub last_at: Timestamp,
    pub finding_ids: Vec<FindingId>,
    /// A legal hold (with its reason) keeps the case from retention's purge.
    #[serde(default)]
    pub legal_hold: Option<String>,
}

/// A raw response as received from a platform (or a line of an import), kept so a finding
/// still stands when the post is deleted and anyone can check what Netra saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceBlob {
    /// Hex SHA-256 of `body`: the key, and what a finding's [`EvidenceRef`] points at.
    pub sha256: String,
    pub url: String,
    pub fetched_at: Timestamp,
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// Where scanning of one account (registered or watched) stands. Persisted so a restart
/// resumes: the cursor moves in the same transaction as the activities it covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanState {
    /// The platform's position after the last stored page (opaque to everyone but the source).
    pub cursor: Option<String>,
    pub next_due_at: Timestamp,
    pub last_scan_at: Option<Timestamp>,
    pub last_success_at: Option<Timestamp>,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    /// Smoothed activities per day, which sets how often the account is polled.
    pub activity_per_day: f64,
}

impl ScanState {
    /// A never-scanned account, due at once.
    pub fn new(now: Timestamp) -> ScanState {
        ScanState {
            cursor: None,
            next_due_at: now,
            last_scan_at: None,
            last_success_at: None,
            consecutive_failures: 0,
            last_error: None,
            activity_per_day: 0.0,
        }
    }
}

/// An account another account follows, as a following list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowedAccount {
    /// The platform's permanent id (Mastodon account id, DID, X user id): the key of a follow.
    pub platform_id: String,
    /// `@user@domain` (Mastodon), `@handle` (Bluesky, X), as watched accounts are registered.
    pub handle: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub url: Option<String>,
}

/// One `name: value` row of a profile (Mastodon profile fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileField {
    pub name: String,
    pub value: String,
}

/// What an account says about itself: judged with the word lists like a post.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Profile {
    #[serde(default)]
    pub display_name: String,
    /// The bio as plain text (Mastodon's `note` HTML is reduced to text).
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub fields: Vec<ProfileField>,
    #[serde(default)]
    pub avatar: Option<String>,
    #[serde(default)]
    pub banner: Option<String>,
}

impl Profile {
    /// The words of the profile, one part a line: what detection reads. Avatar and banner are
    /// addresses of images, not words, and are left out.
    pub fn text(&self) -> String {
        let mut lines = Vec::new();
        for part in [&self.display_name, &self.note] {
            if !part.trim().is_empty() {
                lines.push(part.trim().to_string());
            }
        }
        for field in &self.fields {
            lines.push(format!("{}: {}", field.name.trim(), field.value.trim()));
        }
        lines.join("\n")
    }
}

/// What Netra last saw of a registered account's following list and profile, and when to look
/// again. Stored per account; the next snapshot is compared with it. It moves in the same
/// transaction as the activities the comparison yields, like a scan cursor.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SnapshotState {
    /// Snapshots stored so far. Part of the ids of the activities a snapshot yields, so ids
    /// are the same in every run that saw the same snapshots (crash tests compare runs).
    pub generation: u64,
    /// When the last stored snapshot was taken; `None` before the first.
    pub taken_at: Option<Timestamp>,
    /// Followed accounts by platform id at the last snapshot that could read them.
    #[serde(default)]
    pub following: Option<std::collections::BTreeMap<String, FollowedAccount>>,
    /// When the following list was last read (it may be older than `taken_at` when hidden).
    #[serde(default)]
    pub following_at: Option<Timestamp>,
    /// The list was hidden at the last snapshot.
    #[serde(default)]
    pub following_hidden: bool,
    #[serde(default)]
    pub profile: Option<Profile>,
    /// When the next snapshot is due; `None` means now.
    #[serde(default)]
    pub next_due_at: Option<Timestamp>,
    /// Why the last attempt failed, if it did (the next is at most an hour later).
    #[serde(default)]
    pub last_error: Option<String>,
}

/// What a re-check of a flagged post found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// Still online.
    Present,
    /// Deleted (404/410, or missing from a lookup that answers for existing posts).
    Gone,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_path_is_normalised_and_scoped_by_whole_segments() {
        let unit = UnitPath::parse(" /Kemenkumham/kanwil-sumsel/ ").unwrap();
        assert_eq!(unit.as_str(), "kemenkumham/kanwil-sumsel");
        assert!(unit.is_within(&UnitPath::parse("kemenkumham").unwrap()));
        assert!(unit.is_within(&unit));
        assert!(!UnitPath::parse("kemenkumham-x/a")
            .unwrap()
            .is_within(&UnitPath::parse("kemenkumham").unwrap()));
        assert!(UnitPath::parse("//").is_err());
        assert!(UnitPath::parse("a/b c").is_err());
    }

    #[test]
    fn codes_round_trip() {
        for p in Platform::ALL {
            assert_eq!(Platform::from_code(p.code()), Some(p));
            assert_eq!(p.as_str().parse::<Platform>().unwrap(), p);
        }
        for s in ReviewState::ALL {
            assert_eq!(ReviewState::from_code(s.code()), Some(s));
        }
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>().unwrap(), c);
        }
        assert!("myspace".parse::<Platform>().is_err());
    }
}
