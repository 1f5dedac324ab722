//! The account-level script: whom employees follow, what their profiles say, which accounts
//! hide their following list, and which partisan posts get deleted, in **phases**.
//!
//! Phase 0 is the state when Netra first looks; [`super::SimState::advance_account_phase`]
//! moves to the next phase, so a test can take a snapshot, advance, take another, and compare
//! with the script. Everything is drawn from its own random stream (`accounts`), so the posts
//! and interactions of the population are the same as without it.
//!
//! | phase | what happens (for part of the employees) |
//! |---|---|
//! | 0 | follows of public accounts and of watched accounts; partisan profiles; hidden lists |
//! | 1 | new follows of watched accounts; partisan and neutral profile edits |
//! | 2 | unfollows of watched accounts; partisan profile edits; partisan posts deleted |
//! | 3 | the unfollowed watched accounts followed again; profiles made neutral again |

use std::collections::BTreeSet;

use super::population::{Owner, Population};
use super::rng::Rng;
use super::texts;
use crate::model::{ActivityKind, Platform};

/// The last phase with events.
pub const LAST_PHASE: u32 = 3;

/// One change to one account, effective from `phase` on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountEvent {
    pub phase: u32,
    /// Index into [`Population::accounts`].
    pub actor: usize,
    pub change: AccountChange,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountChange {
    /// Starts following the account with this index.
    Follow(usize),
    Unfollow(usize),
    /// The bio (note) becomes this; `partisan` names the entity when it is partisan.
    Profile {
        note: String,
        partisan: Option<String>,
    },
    /// The account hides whom it follows (Mastodon "hide your social graph").
    HideFollowing,
    /// The activity with this index (a partisan post of the actor) is deleted.
    Delete(usize),
}

/// The script and the current phase.
#[derive(Debug, Clone, Default)]
pub struct AccountScript {
    pub events: Vec<AccountEvent>,
    pub phase: u32,
}

impl AccountScript {
    /// The script of `pop`, deterministic in its seed.
    pub fn generate(pop: &Population) -> AccountScript {
        let mut events = Vec::new();
        let watched = |platform: Platform| -> Vec<usize> {
            pop.accounts
                .iter()
                .filter(|a| {
                    a.platform == platform
                        && matches!(&a.owner, Owner::Watched { entity_id, .. }
                            if entity_id.starts_with("pilpres") || entity_id.starts_with("party:"))
                })
                .map(|a| a.index)
                .collect()
        };
        let others = |platform: Platform| -> Vec<usize> {
            pop.accounts
                .iter()
                .filter(|a| a.platform == platform && a.owner == Owner::Other)
                .map(|a| a.index)
                .collect()
        };
        for account in pop.employee_accounts() {
            if !matches!(account.platform, Platform::Mastodon | Platform::Bluesky) {
                continue;
            }
            let actor = account.index;
            let mut rng = Rng::derive(pop.seed, "accounts", actor as u64);
            let mut push = |phase: u32, change: AccountChange| {
                events.push(AccountEvent {
                    phase,
                    actor,
                    change,
                })
            };
            if account.platform == Platform::Mastodon && rng.chance(6) {
                push(0, AccountChange::HideFollowing);
            }
            let public = others(account.platform);
            for _ in 0..rng.range(1, 2) {
                push(0, AccountChange::Follow(*rng.pick(&public)));
            }
            if rng.chance(30) {
                let target = *rng.pick(&watched(account.platform));
                push(rng.range(0, 1) as u32, AccountChange::Follow(target));
                if rng.chance(40) {
                    push(2, AccountChange::Unfollow(target));
                    push(3, AccountChange::Follow(target));
                }
            }
            if rng.chance(12) {
                let target = *rng.pick(&watched(account.platform));
                let spec = &pop.accounts[target];
                let Owner::Watched { entity_id, role } = &spec.owner else {
                    continue;
                };
                let note = if role == "party" {
                    format!("Kader {}.", spec.display_name)
                } else {
                    format!("Relawan {}. Siap menangkan!", spec.display_name)
                };
                let phase = rng.range(0, 2) as u32;
                push(
                    phase,
                    AccountChange::Profile {
                        note,
                        partisan: Some(entity_id.clone()),
                    },
                );
                if phase < 2 && rng.chance(30) {
                    push(3, neutral_profile(&mut rng));
                }
            } else if rng.chance(15) {
                push(1, neutral_profile(&mut rng));
            }
            for &i in &pop.index.by_actor[actor] {
                let act = &pop.activities[i];
                if act.kind == ActivityKind::Post && act.partisan.is_some() && rng.chance(30) {
                    push(2, AccountChange::Delete(i));
                }
            }
        }
        AccountScript { events, phase: 0 }
    }

    fn effective(&self) -> impl Iterator<Item = &AccountEvent> {
        let phase = self.phase;
        self.events.iter().filter(move |e| e.phase <= phase)
    }

    /// Accounts `actor` follows now, in index order.
    pub fn following(&self, actor: usize) -> Vec<usize> {
        let mut set = BTreeSet::new();
        let mut events: Vec<&AccountEvent> =
            self.effective().filter(|e| e.actor == actor).collect();
        events.sort_by_key(|e| e.phase);
        for event in events {
            match event.change {
                AccountChange::Follow(target) => {
                    set.insert(target);
                }
                AccountChange::Unfollow(target) => {
                    set.remove(&target);
                }
                _ => {}
            }
        }
        set.into_iter().collect()
    }

    pub fn following_hidden(&self, actor: usize) -> bool {
        self.effective()
            .any(|e| e.actor == actor && e.change == AccountChange::HideFollowing)
    }

    /// The bio now, if the script changed it.
    pub fn note(&self, actor: usize) -> Option<&str> {
        let mut latest: Option<(u32, &str)> = None;
        for event in self.effective().filter(|e| e.actor == actor) {
            if let AccountChange::Profile { note, .. } = &event.change {
                if latest.is_none_or(|(phase, _)| event.phase >= phase) {
                    latest = Some((event.phase, note.as_str()));
                }
            }
        }
        latest.map(|(_, note)| note)
    }

    /// Whether activity `i` has been deleted.
    pub fn deleted(&self, i: usize) -> bool {
        self.effective()
            .any(|e| e.change == AccountChange::Delete(i))
    }
}

fn neutral_profile(rng: &mut Rng) -> AccountChange {
    AccountChange::Profile {
        note: format!(
            "{} di unit kerja. Suka bersepeda dan kopi.",
            rng.pick(texts::POSITIONS)
        ),
        partisan: None,
    }
}
