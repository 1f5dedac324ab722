//! The scripted population and its history: employees of one ministry's units, their accounts,
//! the official candidate/party accounts, a few other public accounts, and every activity, all
//! generated deterministically from a seed on a fixed calendar (never the wall clock).
//!
//! This is also the **ground truth** for tests: [`Population::activities`] lists every act the
//! simulator serves, with the id a connector sees for it (see [`Activity::id`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use jiff::Timestamp;

use super::ids;
use super::rng::Rng;
use super::texts::{self, Campaign, Entity};
use crate::model::{ActivityKind, Platform};

/// The default `--seed`.
pub const DEFAULT_SEED: u64 = 20_241_127;

/// Number of employees in a default population.
pub const EMPLOYEE_COUNT: usize = 300;

/// The simulated Mastodon instances; watched and other public accounts live on the first.
pub const MASTODON_DOMAINS: &[&str] = &["mastodon.example", "sosial.go.example", "fedi.example"];

/// Bluesky handles end with this suffix.
pub const BSKY_SUFFIX: &str = "bsky.example";

/// Start and end of the scripted history (UTC): one week before the Pilpres campaign to the
/// end of the Pilkada campaign. Live activity continues after the end.
pub fn history_start_ms() -> i64 {
    ids::utc_millis(2023, 11, 20, 0, 0)
}
pub fn history_end_ms() -> i64 {
    ids::utc_millis(2024, 11, 24, 0, 0)
}
fn campaign_window(campaign: Campaign) -> (i64, i64) {
    match campaign {
        Campaign::Pilpres => (
            ids::utc_millis(2023, 11, 28, 0, 0),
            ids::utc_millis(2024, 2, 10, 23, 0),
        ),
        Campaign::Pilkada => (
            ids::utc_millis(2024, 9, 25, 0, 0),
            ids::utc_millis(2024, 11, 23, 23, 0),
        ),
    }
}

/// Who an account belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// Index into [`Population::employees`].
    Employee(usize),
    /// An official account; `role` is `candidate`, `party` or `campaign_team`.
    Watched { entity_id: String, role: String },
    /// A public agency, news or sports account (target of neutral interactions).
    Other,
}

/// One account on one platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimAccount {
    pub index: usize,
    /// `Mastodon`, `Bluesky` or `Rss`.
    pub platform: Platform,
    /// Mastodon instance domain; empty for other platforms.
    pub domain: String,
    /// Mastodon username, Bluesky handle, or RSS feed slug.
    pub username: String,
    /// As registered: `@user@domain` (Mastodon), `name.bsky.example` (Bluesky), or the feed path
    /// `/rss/<slug>.xml` (RSS; the registry gets `http://ADDR` + path).
    pub handle: String,
    /// Permanent id: Mastodon account id, Bluesky DID, or the RSS feed path.
    pub platform_id: String,
    pub display_name: String,
    pub note: String,
    pub created_ms: i64,
    pub owner: Owner,
}

impl SimAccount {
    /// The handle as written in `employees.csv` / `watched.csv` for a simulator at `base_url`.
    pub fn registry_handle(&self, base_url: &str) -> String {
        match self.platform {
            Platform::Rss => format!("{}{}", base_url.trim_end_matches('/'), self.handle),
            _ => self.handle.clone(),
        }
    }
}

/// A registered employee (ASN or PPNPN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Employee {
    /// NIP-like 18-digit id: birth date, appointment month, sex digit, sequence.
    pub id: String,
    pub name: String,
    pub unit: String,
    pub position: String,
    /// `pns`, `pppk` or `ppnpn`.
    pub status: String,
    /// Indices into [`Population::accounts`].
    pub accounts: Vec<usize>,
}

/// What an interaction acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub account: usize,
    /// Handle of the target's author, in the same form as [`SimAccount::handle`].
    pub author_handle: String,
    /// Platform id of the target post: Mastodon status id, or Bluesky post at-URI.
    pub id: String,
}

/// One scripted act. `id` is what a connector sees:
///
/// | platform | kind | `id` | `target.id` |
/// |---|---|---|---|
/// | mastodon | post, reply, quote | the status id | reply: `in_reply_to_id`; quote: `quote.quoted_status.id` |
/// | mastodon | repost | the boost's own (outer) status id | `reblog.id` |
/// | mastodon | like | the liked status id (likes have no public id; seen via `favourited_by`) | same as `id` |
/// | bluesky | post, reply, quote | `at://<did>/app.bsky.feed.post/<rkey>` | reply parent / quoted post URI |
/// | bluesky | repost | `at://<did>/app.bsky.feed.repost/<rkey>` (`reason.uri`) | the reposted post URI |
/// | bluesky | like | `at://<did>/app.bsky.feed.like/<rkey>` (listRecords `uri`) | `subject.uri` |
/// | rss | post | the item `<guid>` (`tag:blog.example,2024:<slug>/<n>`) | — |
///
/// `target.author_handle` is the target author's [`SimAccount::handle`]. Only posts are ever
/// targeted (never a reply or boost), so a Bluesky reply's root and parent are the same post.
/// Mastodon ids are shared by all simulated instances, so a target id can be fetched from any
/// of them. See [`Population::observable_activities`] for what a watched-accounts scan can see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub platform: Platform,
    /// Index into [`Population::accounts`].
    pub actor: usize,
    pub actor_handle: String,
    pub kind: ActivityKind,
    pub id: String,
    pub created_ms: i64,
    /// Mastodon only: when the status was edited (`edited_at`).
    pub edited_ms: Option<i64>,
    /// The actor's own words; empty for likes and reposts. Mastodon replies are rendered with a
    /// leading mention of the parent's author before these words.
    pub text: String,
    pub target: Option<Target>,
    /// Entity id when the act is partisan (`pilpres2024:02`, `party:gerindra`, …).
    pub partisan: Option<String>,
    /// Added by `--live` after the scripted history.
    pub live: bool,
    /// Bluesky record key (TID) of the post/repost/like record; empty elsewhere.
    pub rkey: String,
    /// Bluesky record CID; empty elsewhere.
    pub cid: String,
    /// Mastodon like: the internal Favourite id used as the `favourited_by` paging cursor.
    pub favourite_id: u64,
}

impl Activity {
    pub fn created_at(&self) -> Timestamp {
        Timestamp::from_millisecond(self.created_ms).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    /// Whether the act is a status of its own on Mastodon (everything but likes).
    pub fn is_mastodon_status(&self) -> bool {
        self.platform == Platform::Mastodon && self.kind != ActivityKind::Like
    }

    /// Whether the act is an `app.bsky.feed.post` record (post, reply, quote).
    pub fn is_bsky_post(&self) -> bool {
        self.platform == Platform::Bluesky
            && matches!(
                self.kind,
                ActivityKind::Post | ActivityKind::Reply | ActivityKind::Quote
            )
    }
}

/// Lookup tables over the activities, kept in step with every append.
#[derive(Debug, Clone, Default)]
pub struct Indexes {
    /// Activities of each account, oldest first.
    pub by_actor: Vec<Vec<usize>>,
    /// Mastodon statuses (own and boosts) of each account: how many, and when the newest was
    /// made. Every rendered status embeds its author's Account entity, so counting them per
    /// render made a page cost its authors' whole histories.
    pub mastodon_statuses: Vec<(usize, Option<i64>)>,
    /// Mastodon status id (own statuses and boosts) → activity.
    pub status: HashMap<String, usize>,
    /// Bluesky record URI (posts, reposts, likes) → activity.
    pub record: HashMap<String, usize>,
    /// Target id → interactions of each kind on it, oldest first.
    pub likes_of: HashMap<String, Vec<usize>>,
    pub reposts_of: HashMap<String, Vec<usize>>,
    pub replies_of: HashMap<String, Vec<usize>>,
    pub quotes_of: HashMap<String, Vec<usize>>,
    /// Lowercased `@user@domain`, bare username per domain, handle, DID, account id → account.
    pub mastodon_acct: HashMap<(String, String), usize>,
    pub mastodon_id: HashMap<String, usize>,
    pub bsky_handle: HashMap<String, usize>,
    pub bsky_did: HashMap<String, usize>,
    pub rss_slug: HashMap<String, usize>,
}

/// The whole simulated world.
#[derive(Debug, Clone)]
pub struct Population {
    pub seed: u64,
    pub employees: Vec<Employee>,
    pub accounts: Vec<SimAccount>,
    /// Every act, oldest first.
    pub activities: Vec<Activity>,
    pub index: Indexes,
    /// Live steps applied so far.
    pub live_steps: u64,
    /// Follows, profile edits, hidden lists and deletions, by phase ([`super::graph`]).
    pub script: super::graph::AccountScript,
    counter: u64,
    next_favourite: u64,
    used_ms: HashSet<i64>,
    leans: Vec<Option<Lean>>,
    /// (actor, kind, target id) of likes and reposts already scripted: one per pair, as on the
    /// real platforms.
    acted: HashSet<(usize, &'static str, String)>,
}

/// Partisan leaning of an employee: which entities their partisan acts are about.
#[derive(Debug, Clone)]
struct Lean {
    pilpres: &'static str,
    party: &'static str,
    pilkada: Option<&'static str>,
}

impl Population {
    /// Generates the default-sized population and its history for `seed`. Same seed, same
    /// bytes.
    pub fn generate(seed: u64) -> Population {
        Population::generate_sized(seed, EMPLOYEE_COUNT)
    }

    /// Like [`Population::generate`] with `employees` employees (benchmarks want more). The
    /// public accounts are the same for every size.
    pub fn generate_sized(seed: u64, employees: usize) -> Population {
        let mut pop = Population {
            seed,
            employees: Vec::new(),
            accounts: Vec::new(),
            activities: Vec::new(),
            index: Indexes::default(),
            live_steps: 0,
            script: super::graph::AccountScript::default(),
            counter: 0,
            next_favourite: 48_110_000,
            used_ms: HashSet::new(),
            leans: Vec::new(),
            acted: HashSet::new(),
        };
        let mut rng = Rng::derive(seed, "population", 0);
        pop.add_public_accounts(&mut rng);
        pop.add_employees(&mut rng, employees);
        let mut drafts = pop.public_posts(&mut rng);
        pop.rebuild_index_for(&drafts);
        pop.leans = pop.draw_leans(&mut Rng::derive(seed, "leans", 0));
        let leans = pop.leans.clone();
        for (employee, lean) in leans.iter().enumerate() {
            for &account in &pop.employees[employee].accounts.clone() {
                let count = rng.range(4, 16);
                for _ in 0..count {
                    if let Some(act) =
                        pop.employee_act(&mut rng, account, lean.as_ref(), None, &drafts)
                    {
                        drafts.push(act);
                    }
                }
            }
        }
        drafts.sort_by_key(|a| a.created_ms);
        pop.activities.clear();
        pop.index = Indexes::default();
        for act in drafts {
            pop.push(act);
        }
        pop.script = super::graph::AccountScript::generate(&pop);
        pop
    }

    /// The bio of `account` now: the script's latest edit, or the generated one.
    pub fn note_of(&self, account: usize) -> &str {
        self.script
            .note(account)
            .unwrap_or(&self.accounts[account].note)
    }

    /// The employees' partisan leanings, drawn once per population (about a third lean).
    fn draw_leans(&self, rng: &mut Rng) -> Vec<Option<Lean>> {
        self.employees
            .iter()
            .map(|employee| {
                if !rng.chance(35) {
                    return None;
                }
                let (pilpres, parties): (&str, &[&str]) = *rng.pick(&[
                    (
                        "pilpres2024:01",
                        &["party:pkb", "party:nasdem", "party:pks"][..],
                    ),
                    ("pilpres2024:02", &["party:gerindra", "party:golkar"][..]),
                    ("pilpres2024:03", &["party:pdip"][..]),
                ]);
                let region = unit_region(&employee.unit);
                let local: Vec<&'static str> = texts::ENTITIES
                    .iter()
                    .filter(|e| e.region == Some(region))
                    .map(|e| e.id)
                    .collect();
                let pilkada = if local.is_empty() {
                    None
                } else {
                    Some(*rng.pick(&local))
                };
                Some(Lean {
                    pilpres,
                    party: rng.pick::<&str>(parties),
                    pilkada,
                })
            })
            .collect()
    }

    fn unique_ms(&mut self, mut t: i64) -> i64 {
        while !self.used_ms.insert(t) {
            t += 1;
        }
        t
    }

    fn next_counter(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    #[allow(clippy::too_many_arguments)]
    fn add_account(
        &mut self,
        platform: Platform,
        domain: &str,
        username: &str,
        display_name: &str,
        note: &str,
        created_ms: i64,
        owner: Owner,
    ) -> usize {
        let index = self.accounts.len();
        let (handle, platform_id) = match platform {
            Platform::Mastodon => (
                format!("@{username}@{domain}"),
                ids::snowflake(created_ms, index as u64),
            ),
            Platform::Bluesky => (username.to_string(), ids::did_plc(self.seed, index)),
            _ => {
                let path = format!("/rss/{username}.xml");
                (path.clone(), path)
            }
        };
        self.accounts.push(SimAccount {
            index,
            platform,
            domain: domain.to_string(),
            username: username.to_string(),
            handle,
            platform_id,
            display_name: display_name.to_string(),
            note: note.to_string(),
            created_ms,
            owner,
        });
        index
    }

    fn add_public_accounts(&mut self, rng: &mut Rng) {
        let domain = MASTODON_DOMAINS[0];
        for spec in texts::WATCHED {
            let created = ids::utc_millis(2022, 11, 7, 0, 0) + rng.range(0, 200) * 86_400_000;
            let owner = Owner::Watched {
                entity_id: spec.entity.into(),
                role: spec.role.into(),
            };
            let note = format!("Akun resmi {}.", spec.display_name);
            self.add_account(
                Platform::Mastodon,
                domain,
                spec.username,
                spec.display_name,
                &note,
                created,
                owner.clone(),
            );
            let handle = format!("{}.{BSKY_SUFFIX}", spec.bsky);
            self.add_account(
                Platform::Bluesky,
                "",
                &handle,
                spec.display_name,
                &note,
                created,
                owner,
            );
        }
        for spec in texts::OTHERS {
            let created = ids::utc_millis(2022, 12, 1, 0, 0) + rng.range(0, 100) * 86_400_000;
            let note = format!("Akun resmi {}.", spec.display_name);
            self.add_account(
                Platform::Mastodon,
                domain,
                spec.username,
                spec.display_name,
                &note,
                created,
                Owner::Other,
            );
            let handle = format!("{}.{BSKY_SUFFIX}", spec.bsky);
            self.add_account(
                Platform::Bluesky,
                "",
                &handle,
                spec.display_name,
                &note,
                created,
                Owner::Other,
            );
        }
    }

    fn add_employees(&mut self, rng: &mut Rng, count: usize) {
        let mut nips = HashSet::new();
        let mut usernames = HashSet::new();
        for number in 0..count {
            let first = *rng.pick(texts::FIRST_NAMES);
            let last = *rng.pick(texts::LAST_NAMES);
            let name = format!("{first} {last}");
            let unit = rng.pick(texts::UNITS);
            let status = match rng.below(100) {
                0..=69 => "pns",
                70..=89 => "pppk",
                _ => "ppnpn",
            };
            let birth_year = rng.range(1968, 2000);
            let appointed = (birth_year + rng.range(22, 30)).min(2023);
            let mut sequence = (number % 900) as i64 + 1;
            let nip = loop {
                let candidate = format!(
                    "{birth_year:04}{:02}{:02}{appointed:04}{:02}{}{sequence:03}",
                    rng.range(1, 12),
                    rng.range(1, 28),
                    rng.range(1, 12),
                    rng.range(1, 2),
                );
                if nips.insert(candidate.clone()) {
                    break candidate;
                }
                sequence = (sequence % 999) + 1;
            };
            let base = format!("{}{}", first.to_lowercase(), last.to_lowercase());
            let mut username = base.clone();
            let mut suffix = 1;
            while !usernames.insert(username.clone()) {
                suffix += 1;
                username = format!("{base}{suffix}");
            }
            let employee = self.employees.len();
            let created = ids::utc_millis(2022, 1, 1, 0, 0) + rng.range(0, 600) * 86_400_000;
            let note = format!(
                "{} di {}. Akun pribadi.",
                rng.pick(texts::POSITIONS),
                unit.name
            );
            let owner = Owner::Employee(employee);
            let mut accounts = Vec::new();
            let roll = rng.below(100);
            if roll < 4 {
                let slug = format!(
                    "{}-{}{}",
                    first.to_lowercase(),
                    last.to_lowercase(),
                    if suffix > 1 {
                        suffix.to_string()
                    } else {
                        String::new()
                    }
                );
                accounts.push(self.add_account(
                    Platform::Rss,
                    "",
                    &slug,
                    &name,
                    &note,
                    created,
                    owner.clone(),
                ));
            } else {
                if !(62..88).contains(&roll) {
                    let domain = match rng.below(100) {
                        0..=49 => MASTODON_DOMAINS[0],
                        50..=84 => MASTODON_DOMAINS[1],
                        _ => MASTODON_DOMAINS[2],
                    };
                    let user = if rng.chance(50) {
                        format!("{}_{}", first.to_lowercase(), last.to_lowercase())
                            + &if suffix > 1 {
                                suffix.to_string()
                            } else {
                                String::new()
                            }
                    } else {
                        username.clone()
                    };
                    accounts.push(self.add_account(
                        Platform::Mastodon,
                        domain,
                        &user,
                        &name,
                        &note,
                        created,
                        owner.clone(),
                    ));
                }
                if roll >= 62 {
                    let handle = format!("{username}.{BSKY_SUFFIX}");
                    accounts.push(self.add_account(
                        Platform::Bluesky,
                        "",
                        &handle,
                        &name,
                        &note,
                        created,
                        owner.clone(),
                    ));
                }
            }
            self.employees.push(Employee {
                id: nip,
                name,
                unit: unit.path.to_string(),
                position: rng.pick(texts::POSITIONS).to_string(),
                status: status.to_string(),
                accounts,
            });
        }
    }

    /// Posts of the watched and other public accounts (the targets of interactions).
    fn public_posts(&mut self, rng: &mut Rng) -> Vec<Activity> {
        let mut drafts = Vec::new();
        for account in 0..self.accounts.len() {
            let owner = self.accounts[account].owner.clone();
            match owner {
                Owner::Watched { entity_id, .. } => {
                    let Some(entity) = texts::entity(&entity_id) else {
                        continue;
                    };
                    let (start, end) = campaign_window(entity.campaign);
                    for _ in 0..rng.range(8, 14) {
                        let t = rng.range(start, end);
                        let text = texts::campaign_post(rng, entity);
                        drafts.push(self.make(
                            rng,
                            account,
                            ActivityKind::Post,
                            t,
                            text,
                            None,
                            Some(entity.id.to_string()),
                            false,
                        ));
                    }
                }
                Owner::Other => {
                    let Some(spec) = texts::OTHERS.iter().find(|s| {
                        s.username == self.accounts[account].username
                            || format!("{}.{BSKY_SUFFIX}", s.bsky)
                                == self.accounts[account].username
                    }) else {
                        continue;
                    };
                    // The news account posts a lot, so paging caps (40 per page) are reachable.
                    let rounds = if spec.posts.len() >= 6 { 8 } else { 2 };
                    for _ in 0..rounds {
                        for text in spec.posts {
                            let t = rng.range(history_start_ms(), history_end_ms());
                            drafts.push(self.make(
                                rng,
                                account,
                                ActivityKind::Post,
                                t,
                                text.to_string(),
                                None,
                                None,
                                false,
                            ));
                        }
                    }
                }
                Owner::Employee(_) => {}
            }
        }
        drafts
    }

    /// Builds one activity with its ids; `t` is made unique first.
    #[allow(clippy::too_many_arguments)]
    fn make(
        &mut self,
        rng: &mut Rng,
        actor: usize,
        kind: ActivityKind,
        t: i64,
        text: String,
        target: Option<Target>,
        partisan: Option<String>,
        live: bool,
    ) -> Activity {
        let t = self.unique_ms(t);
        let counter = self.next_counter();
        let account = &self.accounts[actor];
        let platform = account.platform;
        let mut act = Activity {
            platform,
            actor,
            actor_handle: account.handle.clone(),
            kind,
            id: String::new(),
            created_ms: t,
            edited_ms: None,
            text,
            target,
            partisan,
            live,
            rkey: String::new(),
            cid: String::new(),
            favourite_id: 0,
        };
        match platform {
            Platform::Mastodon => {
                if kind == ActivityKind::Like {
                    act.id = act
                        .target
                        .as_ref()
                        .map(|t| t.id.clone())
                        .unwrap_or_default();
                } else {
                    act.id = ids::snowflake(t, counter);
                    if matches!(
                        kind,
                        ActivityKind::Post | ActivityKind::Reply | ActivityKind::Quote
                    ) && rng.chance(8)
                    {
                        act.edited_ms = Some(t + rng.range(60_000, 1_800_000));
                    }
                }
            }
            Platform::Bluesky => {
                let collection = match kind {
                    ActivityKind::Like => "app.bsky.feed.like",
                    ActivityKind::Repost => "app.bsky.feed.repost",
                    _ => "app.bsky.feed.post",
                };
                act.rkey = ids::tid(t, counter);
                act.id = format!("at://{}/{collection}/{}", account.platform_id, act.rkey);
                act.cid = ids::cid_for(&format!("{}|{}|{}", act.id, act.text, t));
            }
            _ => {
                act.id = format!("tag:blog.example,2024:{}/{counter}", account.username);
            }
        }
        act
    }

    /// Indexes the public posts so employee acts can find targets before the final sort.
    fn rebuild_index_for(&mut self, drafts: &[Activity]) {
        self.index = Indexes::default();
        self.index.by_actor = vec![Vec::new(); self.accounts.len()];
        for (i, act) in drafts.iter().enumerate() {
            self.index.by_actor[act.actor].push(i);
        }
    }

    /// Posts (not interactions) of `account` among `acts`, as (index, created_ms).
    fn posts_of<'a>(&self, account: usize, acts: &'a [Activity]) -> Vec<&'a Activity> {
        self.index
            .by_actor
            .get(account)
            .map(|list| {
                list.iter()
                    .filter_map(|&i| acts.get(i))
                    .filter(|a| a.kind == ActivityKind::Post)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Public accounts on `platform` matching `want` (watched of an entity, or other).
    fn public_accounts(&self, platform: Platform, entity: Option<&str>) -> Vec<usize> {
        self.accounts
            .iter()
            .filter(|a| a.platform == platform)
            .filter(|a| match (&a.owner, entity) {
                (Owner::Watched { entity_id, .. }, Some(want)) => entity_id == want,
                (Owner::Other, None) => true,
                _ => false,
            })
            .map(|a| a.index)
            .collect()
    }

    /// One act of an employee's account. `live` forces the time into `[t0, t1)`; otherwise the
    /// time follows the kind (partisan acts inside their campaign). `pool` holds the acts that
    /// may be targeted.
    fn employee_act(
        &mut self,
        rng: &mut Rng,
        account: usize,
        lean: Option<&Lean>,
        live: Option<(i64, i64)>,
        pool: &[Activity],
    ) -> Option<Activity> {
        let platform = self.accounts[account].platform;
        let unit_name = match &self.accounts[account].owner {
            Owner::Employee(e) => unit_name(&self.employees[*e].unit),
            _ => "kantor",
        };
        let pick_time = |rng: &mut Rng, window: (i64, i64)| match live {
            Some((t0, t1)) => rng.range(t0, t1 - 1),
            None => rng.range(window.0, window.1),
        };
        let whole = (history_start_ms(), history_end_ms());
        let roll = rng.below(100);
        let roll = if platform == Platform::Rss {
            roll % 63
        } else {
            roll
        };
        let partisan_entity = |rng: &mut Rng| -> Option<&'static Entity> {
            let lean = lean?;
            let id = match rng.below(100) {
                0..=49 => lean.pilpres,
                50..=64 => lean.party,
                _ => lean.pilkada.unwrap_or(lean.pilpres),
            };
            texts::entity(id)
        };
        let is_live = live.is_some();
        if roll < 48 {
            let t = pick_time(rng, whole);
            let text = texts::ordinary_post(rng, unit_name);
            return Some(self.make(
                rng,
                account,
                ActivityKind::Post,
                t,
                text,
                None,
                None,
                is_live,
            ));
        }
        if roll < 58 || (roll < 63 && lean.is_none()) {
            let campaign = if rng.chance(50) {
                Campaign::Pilpres
            } else {
                Campaign::Pilkada
            };
            let t = pick_time(rng, campaign_window(campaign));
            let text = texts::neutral_election_post(rng, unit_name);
            return Some(self.make(
                rng,
                account,
                ActivityKind::Post,
                t,
                text,
                None,
                None,
                is_live,
            ));
        }
        if roll < 63 {
            let entity = partisan_entity(rng)?;
            let t = pick_time(rng, campaign_window(entity.campaign));
            let text = texts::partisan_post(rng, entity);
            return Some(self.make(
                rng,
                account,
                ActivityKind::Post,
                t,
                text,
                None,
                Some(entity.id.into()),
                is_live,
            ));
        }
        // Interactions: with a watched account's post (partisan when the employee leans, else a
        // neutral reply only) or with another public account's post (always neutral).
        let kind = match roll {
            63..=70 => ActivityKind::Reply,
            71..=79 => ActivityKind::Repost,
            80..=84 => ActivityKind::Quote,
            _ => ActivityKind::Like,
        };
        let entity = if rng.chance(60) {
            partisan_entity(rng)
        } else {
            None
        };
        let neutral_reply_to_candidate =
            entity.is_none() && kind == ActivityKind::Reply && rng.chance(20);
        let candidates = match (entity, neutral_reply_to_candidate) {
            (Some(e), _) => self.public_accounts(platform, Some(e.id)),
            (None, true) => {
                let any = texts::ENTITIES[rng.below(texts::ENTITIES.len() as u64) as usize].id;
                self.public_accounts(platform, Some(any))
            }
            (None, false) => self.public_accounts(platform, None),
        };
        if candidates.is_empty() {
            return None;
        }
        let target_account = *rng.pick(&candidates);
        let posts = self.posts_of(target_account, pool);
        if posts.is_empty() {
            return None;
        }
        let target = *rng.pick(&posts);
        if matches!(kind, ActivityKind::Like | ActivityKind::Repost)
            && !self
                .acted
                .insert((account, kind.as_str(), target.id.clone()))
        {
            return None;
        }
        let t = match live {
            Some(_) => pick_time(rng, whole),
            None => {
                (target.created_ms + rng.range(300_000, 2 * 86_400_000)).min(history_end_ms() - 1)
            }
        };
        let target_ref = Target {
            account: target_account,
            author_handle: self.accounts[target_account].handle.clone(),
            id: target.id.clone(),
        };
        let (text, partisan) = match (kind, entity) {
            (ActivityKind::Reply, Some(e)) => {
                (texts::partisan_reply(rng, e), Some(e.id.to_string()))
            }
            (ActivityKind::Reply, None) if neutral_reply_to_candidate => {
                (texts::neutral_reply_to_candidate(rng), None)
            }
            (ActivityKind::Reply, None) => (texts::reply_to_other(rng), None),
            (ActivityKind::Quote, Some(e)) => {
                (texts::partisan_quote(rng, e), Some(e.id.to_string()))
            }
            (ActivityKind::Quote, None) => (texts::neutral_quote(rng), None),
            (_, Some(e)) => (String::new(), Some(e.id.to_string())),
            (_, None) => (String::new(), None),
        };
        Some(self.make(
            rng,
            account,
            kind,
            t,
            text,
            Some(target_ref),
            partisan,
            is_live,
        ))
    }

    /// Appends an activity (which must not be older than the last one) and indexes it.
    fn push(&mut self, mut act: Activity) {
        let i = self.activities.len();
        if self.index.by_actor.len() < self.accounts.len() {
            self.index.by_actor.resize(self.accounts.len(), Vec::new());
            self.index
                .mastodon_statuses
                .resize(self.accounts.len(), (0, None));
            self.index_accounts();
        }
        if act.platform == Platform::Mastodon && act.kind == ActivityKind::Like {
            self.next_favourite += 1 + (act.created_ms as u64 % 5);
            act.favourite_id = self.next_favourite;
        }
        self.index.by_actor[act.actor].push(i);
        if act.is_mastodon_status() {
            self.index.status.insert(act.id.clone(), i);
            let (count, newest_ms) = &mut self.index.mastodon_statuses[act.actor];
            *count += 1;
            *newest_ms = Some(act.created_ms);
        }
        if act.platform == Platform::Bluesky {
            self.index.record.insert(act.id.clone(), i);
        }
        if let Some(target) = &act.target {
            let list = match act.kind {
                ActivityKind::Like => &mut self.index.likes_of,
                ActivityKind::Repost => &mut self.index.reposts_of,
                ActivityKind::Reply => &mut self.index.replies_of,
                _ => &mut self.index.quotes_of,
            };
            list.entry(target.id.clone()).or_default().push(i);
        }
        self.activities.push(act);
    }

    fn index_accounts(&mut self) {
        for account in &self.accounts {
            match account.platform {
                Platform::Mastodon => {
                    self.index.mastodon_acct.insert(
                        (account.domain.clone(), account.username.to_lowercase()),
                        account.index,
                    );
                    self.index
                        .mastodon_id
                        .insert(account.platform_id.clone(), account.index);
                }
                Platform::Bluesky => {
                    self.index
                        .bsky_handle
                        .insert(account.username.to_lowercase(), account.index);
                    self.index
                        .bsky_did
                        .insert(account.platform_id.clone(), account.index);
                }
                _ => {
                    self.index
                        .rss_slug
                        .insert(account.username.clone(), account.index);
                }
            }
        }
    }

    /// Adds the activity of live step `step` (1, 2, …): one to three acts of random employees
    /// timed inside `[end + (step-1)·interval, end + step·interval)` on the simulated clock, and
    /// now and then a new post of a watched account. Deterministic in (seed, step).
    pub fn live_step(&mut self, step: u64, interval_ms: i64) {
        let mut rng = Rng::derive(self.seed, "live", step);
        let t0 = history_end_ms() + (step as i64 - 1) * interval_ms;
        let t1 = t0 + interval_ms.max(2);
        let mut new = Vec::new();
        if rng.chance(30) {
            let watched: Vec<usize> = self
                .accounts
                .iter()
                .filter(|a| matches!(a.owner, Owner::Watched { .. }) && a.platform != Platform::Rss)
                .map(|a| a.index)
                .collect();
            let account = *rng.pick(&watched);
            if let Owner::Watched { entity_id, .. } = self.accounts[account].owner.clone() {
                if let Some(entity) = texts::entity(&entity_id) {
                    let text = texts::campaign_post(&mut rng, entity);
                    let t = rng.range(t0, t1 - 1);
                    new.push(self.make(
                        &mut rng,
                        account,
                        ActivityKind::Post,
                        t,
                        text,
                        None,
                        Some(entity_id),
                        true,
                    ));
                }
            }
        }
        let leans = self.leans.clone();
        let acts = if self.employees.is_empty() {
            0
        } else {
            rng.range(1, 3)
        };
        for _ in 0..acts {
            let employee = rng.below(self.employees.len() as u64) as usize;
            let accounts = self.employees[employee].accounts.clone();
            let account = *rng.pick(&accounts);
            let pool = std::mem::take(&mut self.activities);
            let act = self.employee_act(
                &mut rng,
                account,
                leans[employee].as_ref(),
                Some((t0, t1)),
                &pool,
            );
            self.activities = pool;
            if let Some(act) = act {
                new.push(act);
            }
        }
        new.sort_by_key(|a| a.created_ms);
        for act in new {
            self.push(act);
        }
        self.live_steps = step;
    }

    /// Watched (official) accounts.
    pub fn watched_accounts(&self) -> impl Iterator<Item = &SimAccount> {
        self.accounts
            .iter()
            .filter(|a| matches!(a.owner, Owner::Watched { .. }))
    }

    /// Accounts of employees.
    pub fn employee_accounts(&self) -> impl Iterator<Item = &SimAccount> {
        self.accounts
            .iter()
            .filter(|a| matches!(a.owner, Owner::Employee(_)))
    }

    /// Activities of employees (what a full scan should find).
    pub fn employee_activities(&self) -> impl Iterator<Item = &Activity> {
        self.activities
            .iter()
            .filter(|a| matches!(self.accounts[a.actor].owner, Owner::Employee(_)))
    }

    /// Employee acts a connector can see when it reads every employee account and the reverse
    /// interactions (`favourited_by`) of the **watched** accounts' posts only: all employee acts
    /// except Mastodon likes of non-watched accounts (agency, news and sports posts). Those
    /// likes are neutral hard negatives; they are listed by `favourited_by` of their status, but
    /// a scan that only follows watched accounts never asks for it.
    pub fn observable_activities(&self) -> impl Iterator<Item = &Activity> {
        self.employee_activities().filter(|a| {
            !(a.platform == Platform::Mastodon
                && a.kind == ActivityKind::Like
                && a.target.as_ref().is_some_and(|t| {
                    !matches!(self.accounts[t.account].owner, Owner::Watched { .. })
                }))
        })
    }

    /// Finds an account by its registry handle form (`@user@domain`, Bluesky handle or DID, RSS
    /// slug or feed path).
    pub fn find_account(&self, handle: &str) -> Option<usize> {
        let h = handle.trim();
        if let Some(rest) = h.strip_prefix('@') {
            let (user, domain) = rest.split_once('@')?;
            return self
                .index
                .mastodon_acct
                .get(&(domain.to_lowercase(), user.to_lowercase()))
                .copied();
        }
        if h.starts_with("did:") {
            return self.index.bsky_did.get(h).copied();
        }
        if let Some(slug) = h.rsplit('/').next().and_then(|f| f.strip_suffix(".xml")) {
            return self.index.rss_slug.get(slug).copied();
        }
        self.index
            .bsky_handle
            .get(&h.to_lowercase())
            .copied()
            .or_else(|| self.index.rss_slug.get(h).copied())
    }

    /// Counts per kind, for logs and the demo banner.
    pub fn summary(&self) -> BTreeMap<&'static str, usize> {
        let mut out = BTreeMap::new();
        for act in &self.activities {
            *out.entry(act.kind.as_str()).or_insert(0) += 1;
        }
        out
    }
}

fn unit_region(unit: &str) -> &'static str {
    texts::UNITS
        .iter()
        .find(|u| u.path == unit)
        .map(|u| u.region)
        .unwrap_or("dki")
}

fn unit_name(unit: &str) -> &'static str {
    texts::UNITS
        .iter()
        .find(|u| u.path == unit)
        .map(|u| u.name)
        .unwrap_or("kantor")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_seed_sensitive() {
        let a = Population::generate(1);
        let b = Population::generate(1);
        let c = Population::generate(2);
        assert_eq!(a.accounts, b.accounts);
        assert_eq!(a.activities, b.activities);
        assert_ne!(a.activities, c.activities);
    }

    #[test]
    fn population_has_every_kind_and_unique_ids() {
        let pop = Population::generate(DEFAULT_SEED);
        let summary = pop.summary();
        for kind in ["post", "reply", "repost", "quote", "like"] {
            assert!(
                summary.get(kind).copied().unwrap_or(0) > 10,
                "{kind}: {summary:?}"
            );
        }
        let mut ids = HashSet::new();
        for act in &pop.activities {
            if !(act.platform == Platform::Mastodon && act.kind == ActivityKind::Like) {
                assert!(ids.insert(act.id.clone()), "duplicate id {}", act.id);
            }
        }
        assert!(pop
            .employee_activities()
            .any(|a| a.partisan.is_some() && a.kind == ActivityKind::Like));
        assert!(pop.accounts.iter().any(|a| a.platform == Platform::Rss));
    }

    #[test]
    fn live_steps_append_newer_activity() {
        let mut pop = Population::generate(3);
        let before = pop.activities.len();
        let last = pop.activities.last().map(|a| a.created_ms).unwrap_or(0);
        for step in 1..=5 {
            pop.live_step(step, 20_000);
        }
        assert!(pop.activities.len() > before);
        assert!(pop.activities[before..]
            .iter()
            .all(|a| a.live && a.created_ms > last));
        let mut again = Population::generate(3);
        for step in 1..=5 {
            again.live_step(step, 20_000);
        }
        assert_eq!(pop.activities, again.activities);
    }

    #[test]
    fn accounts_are_found_by_every_handle_form() {
        let pop = Population::generate(DEFAULT_SEED);
        for account in &pop.accounts {
            assert_eq!(
                pop.find_account(&account.handle),
                Some(account.index),
                "{}",
                account.handle
            );
            if account.platform == Platform::Bluesky {
                assert_eq!(pop.find_account(&account.platform_id), Some(account.index));
            }
            if account.platform == Platform::Rss {
                assert_eq!(pop.find_account(&account.username), Some(account.index));
                let url = account.registry_handle("http://127.0.0.1:9");
                assert_eq!(pop.find_account(&url), Some(account.index));
            }
        }
        assert_eq!(
            pop.find_account("@Prabowo@MASTODON.example")
                .map(|i| pop.accounts[i].username.as_str()),
            Some("prabowo")
        );
        assert_eq!(pop.find_account("@nobody@mastodon.example"), None);
        assert_eq!(pop.find_account("did:plc:nobody"), None);
    }

    #[test]
    fn larger_populations_keep_ids_unique() {
        let pop = Population::generate_sized(5, 1_200);
        assert_eq!(pop.employees.len(), 1_200);
        let nips: HashSet<&str> = pop.employees.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(nips.len(), 1_200);
        assert!(pop.employees.iter().all(|e| e.id.len() == 18));
        let handles: HashSet<&str> = pop.accounts.iter().map(|a| a.handle.as_str()).collect();
        assert_eq!(handles.len(), pop.accounts.len());
    }

    #[test]
    fn every_template_slot_is_filled() {
        for seed in [1, 2, DEFAULT_SEED] {
            let pop = Population::generate(seed);
            for act in &pop.activities {
                assert!(
                    !act.text.contains('{') && !act.text.contains('}'),
                    "{}",
                    act.text
                );
            }
        }
    }
}
