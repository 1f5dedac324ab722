//! The review workflow as pure rules: which state a finding may move to, by whom, with what.
//!
//! ```text
//! new ──claim──▶ in_review ──decide──▶ dismissed | escalated | needs_info
//! needs_info ──claim──▶ in_review          escalated ──decide──▶ reported
//! dismissed | escalated | reported | needs_info ──reopen (senior)──▶ new
//! ```
//!
//! A claim is a lease: it ends at `until`, and a finding whose lease ran out is free again
//! (its effective state is the one before the claim). The store applies these rules inside the
//! transaction that writes the change, so two reviewers racing for one finding cannot both win.

use std::fmt;
use std::str::FromStr;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::access::UserId;
use crate::model::{Finding, FindingId, ReviewState, UnknownVariant};

/// How long a claim lasts unless renewed.
pub const DEFAULT_LEASE: SignedDuration = SignedDuration::from_secs(15 * 60);

/// Most findings one bulk decision may cover.
pub const MAX_BULK: usize = 500;

/// A reviewer's hold on a finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    pub user_id: UserId,
    pub until: Timestamp,
    /// The state to fall back to on release or expiry.
    pub previous: ReviewState,
}

/// The sanction a reviewer recommends on escalation (PP 94/2021).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Sanksi moral / kode etik.
    Etik,
    DisiplinSedang,
    DisiplinBerat,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Etik, Level::DisiplinSedang, Level::DisiplinBerat];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Etik => "etik",
            Level::DisiplinSedang => "disiplin_sedang",
            Level::DisiplinBerat => "disiplin_berat",
        }
    }
}

impl FromStr for Level {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Level::ALL
            .into_iter()
            .find(|level| level.as_str() == s.trim())
            .ok_or_else(|| UnknownVariant {
                what: "recommended level",
                given: s.to_string(),
                expected: "etik, disiplin_sedang, disiplin_berat",
            })
    }
}

/// What a reviewer asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Claim,
    Release,
    Decide(Verdict),
    Reopen { note: String },
}

/// A decision: the new state, a note, and for escalations the recommended level and SKB form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub to: ReviewState,
    pub note: String,
    #[serde(default)]
    pub level: Option<Level>,
    /// The SKB 2/2022 form the behaviour falls under (a category id such as `like_candidate`).
    #[serde(default)]
    pub skb_form: Option<String>,
}

/// One appended line of a finding's history. Never rewritten.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: Timestamp,
    pub user_id: UserId,
    pub user_name: String,
    pub action: String,
    pub from: ReviewState,
    pub to: ReviewState,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub level: Option<Level>,
    #[serde(default)]
    pub skb_form: Option<String>,
}

/// Why a command is refused. Each names the finding and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    #[error("finding {id} is held by another reviewer until {until}")]
    HeldByOther { id: FindingId, until: Timestamp },
    #[error("finding {id} is not held by you; claim it first")]
    NotHeld { id: FindingId },
    #[error("finding {id} is '{from}' and cannot become '{to}'")]
    IllegalTransition {
        id: FindingId,
        from: &'static str,
        to: &'static str,
    },
    #[error("finding {id}: {reason}")]
    BadVerdict { id: FindingId, reason: String },
}

/// The state a finding is in now: an expired claim no longer counts.
pub fn effective_state(finding: &Finding, now: Timestamp) -> ReviewState {
    match &finding.claim {
        Some(claim) if claim.until <= now => claim.previous,
        _ => finding.review_state,
    }
}

/// The claim that still holds, if any.
pub fn live_claim(finding: &Finding, now: Timestamp) -> Option<&Claim> {
    finding.claim.as_ref().filter(|claim| claim.until > now)
}

/// The outcome of applying a command: the new finding and the history line to append.
#[derive(Debug, Clone)]
pub struct Applied {
    pub finding: Finding,
    pub entry: HistoryEntry,
}

/// Who is acting.
#[derive(Debug, Clone, Copy)]
pub struct Reviewer<'a> {
    pub id: UserId,
    pub name: &'a str,
}

/// Applies `command` to `finding` at `now`, or says why not. Pure: the store calls it inside
/// its transaction with the stored finding.
pub fn apply(
    finding: &Finding,
    command: &Command,
    by: Reviewer<'_>,
    now: Timestamp,
    lease: SignedDuration,
) -> Result<Applied, ReviewError> {
    let id = finding.id;
    let from = effective_state(finding, now);
    let held_by_other = live_claim(finding, now).filter(|claim| claim.user_id != by.id);
    let mut next = finding.clone();
    let mut entry = HistoryEntry {
        at: now,
        user_id: by.id,
        user_name: by.name.to_string(),
        action: String::new(),
        from,
        to: from,
        note: None,
        level: None,
        skb_form: None,
    };
    let illegal = |to: ReviewState| ReviewError::IllegalTransition {
        id,
        from: from.as_str(),
        to: to.as_str(),
    };
    match command {
        Command::Claim => {
            if let Some(claim) = held_by_other {
                return Err(ReviewError::HeldByOther {
                    id,
                    until: claim.until,
                });
            }
            let previous = match from {
                ReviewState::New | ReviewState::NeedsInfo => from,
                // Renewing one's own lease keeps what it falls back to.
                ReviewState::InReview => match &finding.claim {
                    Some(claim) => claim.previous,
                    None => ReviewState::New,
                },
                other => return Err(illegal_claim(id, other)),
            };
            next.review_state = ReviewState::InReview;
            next.claim = Some(Claim {
                user_id: by.id,
                until: now + lease,
                previous,
            });
            entry.action = "claim".into();
            entry.to = ReviewState::InReview;
        }
        Command::Release => {
            let Some(claim) = live_claim(finding, now).filter(|c| c.user_id == by.id) else {
                return Err(ReviewError::NotHeld { id });
            };
            next.review_state = claim.previous;
            next.claim = None;
            entry.action = "release".into();
            entry.to = claim.previous;
        }
        Command::Decide(verdict) => {
            if let Some(claim) = held_by_other {
                return Err(ReviewError::HeldByOther {
                    id,
                    until: claim.until,
                });
            }
            check_verdict(id, verdict)?;
            let allowed = match verdict.to {
                ReviewState::Dismissed | ReviewState::Escalated | ReviewState::NeedsInfo => {
                    matches!(
                        from,
                        ReviewState::New | ReviewState::InReview | ReviewState::NeedsInfo
                    ) && !(from == ReviewState::NeedsInfo && verdict.to == ReviewState::NeedsInfo)
                }
                ReviewState::Reported => from == ReviewState::Escalated,
                ReviewState::New | ReviewState::InReview => false,
            };
            if !allowed {
                return Err(illegal(verdict.to));
            }
            next.review_state = verdict.to;
            next.claim = None;
            entry.action = "decide".into();
            entry.to = verdict.to;
            entry.note = Some(verdict.note.trim().to_string());
            entry.level = verdict.level;
            entry.skb_form = verdict.skb_form.clone();
        }
        Command::Reopen { note } => {
            if let Some(claim) = held_by_other {
                return Err(ReviewError::HeldByOther {
                    id,
                    until: claim.until,
                });
            }
            if matches!(from, ReviewState::New | ReviewState::InReview) {
                return Err(illegal(ReviewState::New));
            }
            if note.trim().is_empty() {
                return Err(ReviewError::BadVerdict {
                    id,
                    reason: "reopening needs a note saying why".into(),
                });
            }
            next.review_state = ReviewState::New;
            next.claim = None;
            entry.action = "reopen".into();
            entry.to = ReviewState::New;
            entry.note = Some(note.trim().to_string());
        }
    }
    Ok(Applied {
        finding: next,
        entry,
    })
}

/// Ends a claim that ran out, returning the finding to the state before it. Refused when the
/// claim was renewed, released or decided meanwhile.
pub fn expire(finding: &Finding, now: Timestamp) -> Result<Applied, ReviewError> {
    let claim = match &finding.claim {
        Some(claim) if claim.until <= now => claim,
        _ => return Err(ReviewError::NotHeld { id: finding.id }),
    };
    let mut next = finding.clone();
    next.review_state = claim.previous;
    next.claim = None;
    let entry = HistoryEntry {
        at: now,
        user_id: claim.user_id,
        user_name: "sistem".into(),
        action: "expire".into(),
        from: ReviewState::InReview,
        to: claim.previous,
        note: Some("klaim kedaluwarsa".into()),
        level: None,
        skb_form: None,
    };
    Ok(Applied {
        finding: next,
        entry,
    })
}

fn illegal_claim(id: FindingId, from: ReviewState) -> ReviewError {
    ReviewError::IllegalTransition {
        id,
        from: from.as_str(),
        to: ReviewState::InReview.as_str(),
    }
}

fn check_verdict(id: FindingId, verdict: &Verdict) -> Result<(), ReviewError> {
    let bad = |reason: &str| {
        Err(ReviewError::BadVerdict {
            id,
            reason: reason.to_string(),
        })
    };
    if verdict.note.trim().is_empty() {
        return bad("a decision needs a note");
    }
    if verdict.note.len() > 4000 {
        return bad("the note is longer than 4000 bytes");
    }
    match verdict.to {
        ReviewState::Escalated => {
            if verdict.level.is_none() {
                return bad("an escalation needs a recommended level (etik, disiplin_sedang, disiplin_berat)");
            }
            match verdict.skb_form.as_deref().map(str::trim) {
                None | Some("") => return bad("an escalation needs the SKB form (skb_form)"),
                Some(form) if form.parse::<crate::model::Category>().is_err() => {
                    return bad(&format!("skb_form '{form}' is not a known SKB category"));
                }
                Some(_) => {}
            }
        }
        _ if verdict.level.is_some() => {
            return bad("only an escalation carries a recommended level");
        }
        _ => {}
    }
    Ok(())
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
